// vhmn/core/file.hpp — the one way vhmn reads a whole file it did not write.
//
// What this represents: read_regular_file(path, what), used by every reader
// of outside files (checkpoints, `vhmn forward` inputs, data sets, images).
// Ensures: only a regular file is read (a directory, FIFO, socket or device
// such as /dev/zero is refused before any byte is read, and a FIFO is opened
// without blocking so the refusal cannot hang); the read is bounded by the
// size the file had when opened, so a file that grows while we read cannot
// make us allocate without limit; a file that shrinks, or any read error,
// fails. Every failure is a vhmn::Error naming `what` and the path.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define VHMN_POSIX_FILES 1
#else
#define VHMN_POSIX_FILES 0
#endif

#include "vhmn/core/error.hpp"

namespace vhmn {

namespace file_detail {
/// "a directory", "a FIFO", ... for the error message.
inline const char* kind_name(std::filesystem::file_type t) {
  using ft = std::filesystem::file_type;
  switch (t) {
    case ft::directory: return "a directory";
    case ft::fifo: return "a FIFO (named pipe)";
    case ft::socket: return "a socket";
    case ft::block: return "a block device";
    case ft::character: return "a character device";
    default: return "not a regular file";
  }
}
}  // namespace file_detail

/// Reads the whole regular file at `path`. `what` says what it is for the
/// error message ("safetensors file", "image", ...; empty: just the path).
inline std::vector<std::uint8_t> read_regular_file(const std::string& path, const std::string& what = "") {
  const std::string where = (what.empty() ? "" : what + " ") + "'" + path + "'";
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);  // follows symlinks
  // A missing file is left to open(), whose error says why (ENOENT, EACCES, ...).
  using ft = std::filesystem::file_type;
  VHMN_CHECK(st.type() == ft::regular || st.type() == ft::not_found || st.type() == ft::none,
             "cannot read " << where << ": it is " << file_detail::kind_name(st.type())
                            << ", not a regular file");
#if VHMN_POSIX_FILES
  // O_NONBLOCK: if the path was swapped for a FIFO since the check above,
  // open() must not wait for a writer; fstat below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    VHMN_FAIL("cannot open " << where << ": " << std::strerror(err));
  }
  struct ::stat sb;
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    VHMN_FAIL("cannot read " << where << ": not a regular file");
  }
  const std::uint64_t size = static_cast<std::uint64_t>(sb.st_size);
  if (size > static_cast<std::uint64_t>(SIZE_MAX / 2)) {
    ::close(fd);
    VHMN_FAIL("cannot read " << where << ": " << size << " bytes is more than this machine can address");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t used = 0;
  int err = 0;
  while (used < bytes.size()) {
    const ::ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  VHMN_CHECK(err == 0, "error while reading " << where << ": " << std::strerror(err));
  VHMN_CHECK(used == bytes.size(), "error while reading " << where << ": it shrank from " << size << " to " << used
                                                          << " bytes while being read");
  return bytes;
#else
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int err = errno;
    VHMN_FAIL("cannot open " << where << ": " << std::strerror(err));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    std::fclose(f);
    VHMN_FAIL("cannot read " << where << ": " << ec.message());
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  const std::size_t used = std::fread(bytes.data(), 1, bytes.size(), f);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  VHMN_CHECK(!failed && used == bytes.size(), "error while reading " << where);
  return bytes;
#endif
}

}  // namespace vhmn
