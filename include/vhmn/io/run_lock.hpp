// vhmn/io/run_lock.hpp — an exclusive lock on a run directory, so two
// trainers never write into the same one.
//
// What this represents: RunDirLock(dir) holds flock(LOCK_EX) on
// `<dir>/.lock` for its lifetime and writes the holder's pid, host and start
// time into that file; a second RunDirLock on the same directory (from any
// process, or from this one through another object) fails at once with an
// Error naming the holder. The kernel drops a flock when its holder dies,
// so a lock left by a killed (even SIGKILLed) process never blocks: the
// `.lock` file stays but is not locked, and the next holder overwrites it.
// The descriptor is close-on-exec, so programs the holder starts do not
// inherit the lock (a fork without exec does share it).
// Where flock is unavailable (not POSIX) the lock is a documented no-op.
// On network filesystems flock is only as good as the server's support.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>

#include "vhmn/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#define VHMN_HAVE_FLOCK 1
#endif

namespace vhmn::io {

class RunDirLock {
 public:
  /// Creates `dir` if needed and locks it; throws when another holder has it.
  explicit RunDirLock(const std::string& dir) : path_((std::filesystem::path(dir) / ".lock").string()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    VHMN_CHECK(!ec, "cannot create run directory '" << dir << "': " << ec.message());
#ifdef VHMN_HAVE_FLOCK
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    VHMN_CHECK(fd_ >= 0, "cannot open lock file '" << path_ << "': " << std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = read_holder();
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        VHMN_FAIL("run directory '" << dir << "' is in use by another trainer ("
                                    << (holder.empty() ? std::string("holder unknown") : holder)
                                    << "; lock " << path_
                                    << "): two runs must not write into one directory; wait for it to end, "
                                       "stop it, or use another directory");
      VHMN_FAIL("cannot lock run directory '" << dir << "' (" << path_ << "): " << std::strerror(err));
    }
    write_holder();
#endif
  }
  ~RunDirLock() {
#ifdef VHMN_HAVE_FLOCK
    if (fd_ >= 0) {
      (void)::ftruncate(fd_, 0);  // no stale holder text once released
      ::close(fd_);               // releases the flock
    }
#endif
  }
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

  /// `<dir>/.lock`.
  const std::string& path() const { return path_; }

 private:
#ifdef VHMN_HAVE_FLOCK
  /// "pid 123 on host h, since 2026-12-01 21:40:00 UTC", as the holder wrote it.
  std::string read_holder() const {
    char buf[512];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    return s;
  }
  void write_holder() {
    char host[256] = "unknown";
    if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
    host[sizeof host - 1] = '\0';
    const std::time_t now = std::time(nullptr);
    char when[64] = "";
    std::tm tm{};
    if (::gmtime_r(&now, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    const std::string text = "pid " + std::to_string(::getpid()) + " on host " + host + ", since " + when + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, text.data(), text.size(), 0);
  }
  int fd_ = -1;
#endif
  std::string path_;
};

}  // namespace vhmn::io
