// vhmn/data/file.hpp — whole-file reads with errors that name the file.
//
// The readers (CIFAR, IDX, image folders) load each file into memory once and
// parse from there; every failure goes through VHMN_FAIL with the path.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"

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

/// Reads a whole file. Fails naming the file when it is missing or unreadable.
inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::error_code dir_ec;
  VHMN_CHECK(!std::filesystem::is_directory(path, dir_ec), "cannot read '" << path << "': it is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int err = errno;
    VHMN_FAIL("cannot open '" << path << "': " << std::strerror(err));
  }
  // The size is only a hint: we read until end of file, so a pipe or a file
  // that changes while we read still gives exactly what was read. The +1
  // lets the first read see end of file without a second allocation.
  std::error_code ec;
  const std::uintmax_t hint = std::filesystem::file_size(path, ec);
  std::vector<std::uint8_t> bytes(ec ? std::size_t(1) << 16 : static_cast<std::size_t>(hint) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const std::size_t n = std::fread(bytes.data() + used, 1, bytes.size() - used, f);
    used += n;
    if (n == 0) break;
  }
  bytes.resize(used);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  VHMN_CHECK(!failed, "error while reading '" << path << "'");
  return bytes;
}

}  // namespace data
}  // namespace vhmn
