// vhmn/io/atomic_file.hpp — durable all-or-nothing file replacement, and
// the cleaning of temporaries a killed writer left behind.
//
// What this represents: write_file_atomic(path, bytes) puts the bytes in a
// fresh temporary `<path>.tmp-<12 hex digits>` next to `path`, flushes and
// fsyncs it, renames it over `path`, then fsyncs the directory. A reader
// therefore sees the old file or the complete new one, never a mix, and
// after a power cut the rename does not outlive the data it published.
// A kill during the write leaves only the temporary, which
// remove_stale_temporaries() deletes (by exact name pattern) the next time
// the run directory is opened.
//
// Test hook: the environment variable VHMN_FAULT_KILL_WRITE="N:K" makes the
// N-th atomic write of the process (counted from 1) kill the process with
// SIGKILL after K bytes of the temporary are on disk (K >= the size: after
// the fsync, just before the rename). The crash tests use it to die inside
// checkpoint writes; unset, it costs one getenv per process.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#define VHMN_HAVE_POSIX_FILES 1
#endif

namespace vhmn::io {

namespace atomic_detail {

constexpr int kTempHexDigits = 12;

/// The fault-injection plan parsed once from VHMN_FAULT_KILL_WRITE.
struct KillPlan {
  long long write_no = 0;  // 0: none
  unsigned long long after_bytes = 0;
};
inline const KillPlan& kill_plan() {
  static const KillPlan plan = [] {
    KillPlan p;
    if (const char* env = std::getenv("VHMN_FAULT_KILL_WRITE")) {
      char* end = nullptr;
      p.write_no = std::strtoll(env, &end, 10);
      if (end && *end == ':') p.after_bytes = std::strtoull(end + 1, nullptr, 10);
      else p.write_no = 0;
    }
    return p;
  }();
  return plan;
}
/// True when this write (the caller's number) is the one to die in.
inline bool should_kill(long long write_no) { return kill_plan().write_no == write_no; }
inline long long next_write_no() {
  static std::atomic<long long> count{0};
  return ++count;
}
[[noreturn]] inline void kill_self() {
#ifdef VHMN_HAVE_POSIX_FILES
  ::kill(::getpid(), SIGKILL);
#endif
  std::abort();
}

/// fsync of the directory holding `path`, so a completed rename is durable.
/// Best effort: some filesystems refuse fsync on a directory.
inline void sync_parent_dir(const std::string& path) {
#ifdef VHMN_HAVE_POSIX_FILES
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
#else
  (void)path;
#endif
}

inline bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace atomic_detail

/// True when `file_name` (a bare name, no folder) is a temporary that
/// write_file_atomic makes for `target_name`: `<target_name>.tmp-` and
/// exactly 12 lower-case hex digits.
inline bool is_atomic_temporary(const std::string& file_name, const std::string& target_name) {
  const std::string prefix = target_name + ".tmp-";
  if (file_name.size() != prefix.size() + atomic_detail::kTempHexDigits) return false;
  if (file_name.compare(0, prefix.size(), prefix) != 0) return false;
  for (std::size_t i = prefix.size(); i < file_name.size(); ++i)
    if (!atomic_detail::is_hex_digit(file_name[i])) return false;
  return true;
}

/// Replaces `path` with `size` bytes at `data`, atomically and durably (see
/// the file comment). On failure the temporary is removed, an existing
/// `path` is left untouched, and the Error names `path` and the cause
/// (e.g. "File too large", "No space left on device").
inline void write_file_atomic(const std::string& path, const void* data, std::size_t size,
                              const char* what = "file") {
  const long long write_no = atomic_detail::next_write_no();
  // A unique temporary name; "x" mode refuses to reuse an existing file.
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::string tmp;
  std::FILE* f = nullptr;
  for (int attempt = 0; attempt < 16 && f == nullptr; ++attempt) {
    static const char* hex = "0123456789abcdef";
    std::uint64_t r = gen();
    tmp = path + ".tmp-";
    for (int k = 0; k < atomic_detail::kTempHexDigits; ++k, r >>= 4) tmp += hex[r & 15];
    f = std::fopen(tmp.c_str(), "wbx");
    if (f == nullptr && errno != EEXIST) break;
  }
  VHMN_CHECK(f != nullptr, "cannot write " << what << " '" << path << "': cannot create temporary '" << tmp
                                           << "': " << std::strerror(errno));

  const auto* bytes = static_cast<const unsigned char*>(data);
  errno = 0;
  bool ok = true;
  if (atomic_detail::should_kill(write_no)) {
    // test hook: die with exactly `after_bytes` bytes of the temporary on disk
    const std::size_t k = static_cast<std::size_t>(
        std::min<unsigned long long>(atomic_detail::kill_plan().after_bytes, size));
    ok = std::fwrite(bytes, 1, k, f) == k && std::fflush(f) == 0;
    if (k < size) atomic_detail::kill_self();
    ok = ok && std::fwrite(bytes + k, 1, size - k, f) == size - k;
  } else {
    ok = std::fwrite(bytes, 1, size, f) == size;
  }
  ok = ok && std::fflush(f) == 0;
#ifdef VHMN_HAVE_POSIX_FILES
  ok = ok && ::fsync(::fileno(f)) == 0;  // the data is on disk before the rename publishes it
#endif
  int saved_errno = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    if (saved_errno == 0) saved_errno = errno;
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    VHMN_FAIL("cannot write " << what << " '" << path << "': writing '" << tmp << "' failed: "
                              << std::strerror(saved_errno) << "; the previous '" << path
                              << "' (if any) is left as it was");
  }
  if (atomic_detail::should_kill(write_no)) atomic_detail::kill_self();  // complete but not yet renamed

  // filesystem::rename replaces an existing file on every platform.
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    VHMN_FAIL("cannot write " << what << " '" << path << "': renaming the temporary over it failed: "
                              << ec.message());
  }
  atomic_detail::sync_parent_dir(path);  // the rename itself survives a power cut
}

inline void write_file_atomic(const std::string& path, const std::string& text, const char* what = "file") {
  write_file_atomic(path, text.data(), text.size(), what);
}

/// Deletes, in `dir`, the temporaries write_file_atomic left for any of
/// `target_names` (only names matching is_atomic_temporary exactly; nothing
/// else is touched). Call it only while no writer can be running there (the
/// run directory's lock is held). Returns the names removed.
inline std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                         const std::vector<std::string>& target_names) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    for (const std::string& target : target_names) {
      if (!is_atomic_temporary(name, target)) continue;
      std::error_code st;
      if (!std::filesystem::is_regular_file(it->symlink_status(st))) break;  // not something we wrote
      std::error_code rm;
      if (std::filesystem::remove(it->path(), rm)) removed.push_back(name);
      break;
    }
  }
  return removed;
}

}  // namespace vhmn::io
