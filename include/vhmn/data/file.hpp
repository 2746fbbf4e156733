// vhmn/data/file.hpp — whole-file reads with errors that name the file.
//
// The readers (CIFAR, IDX, image folders) load each file into memory once and
// parse from there; every failure goes through VHMN_FAIL with the path. The
// read itself is vhmn::read_regular_file (core/file.hpp), shared with the
// checkpoint reader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/file.hpp"

namespace vhmn {
namespace data {

/// True when `path` names an existing regular file.
inline bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

/// `dir` + "/" + `name` (no separator added when `dir` is empty or already ends in one).
inline std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  const char last = dir.back();
  if (last == '/' || last == '\\') return dir + name;
  return dir + "/" + name;
}

/// Reads a whole regular file (vhmn/core/file.hpp: devices, FIFOs and
/// directories are refused; the read is bounded by the file's size).
inline std::vector<std::uint8_t> read_file(const std::string& path) { return read_regular_file(path); }

}  // namespace data
}  // namespace vhmn
