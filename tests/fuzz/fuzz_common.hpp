// tests/fuzz/fuzz_common.hpp — what every libFuzzer harness shares.
//
// A harness feeds the input bytes to one reader of outside files. A
// vhmn::Error is the reader's correct answer to bad bytes and is swallowed;
// anything else (another exception, a sanitizer report, a violated round
// trip, a timeout, memory beyond -rss_limit_mb) is a finding. expect()
// aborts, so libFuzzer saves the input that broke an invariant.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/threads.hpp"

namespace vhmn_fuzz {

using Bytes = std::vector<std::uint8_t>;

/// Runs f(); a vhmn::Error is the expected outcome for bad input.
template <class F>
void tolerate_errors(F&& f) {
  try {
    f();
  } catch (const vhmn::Error&) {
  }
}

/// An invariant of the reader; failing it is a finding.
inline void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

/// A scratch directory of this process (created once, emptied by callers).
inline const std::filesystem::path& scratch_dir(const char* tag) {
  static const std::filesystem::path dir = [&] {
    const std::filesystem::path p =
        std::filesystem::temp_directory_path() / ("vhmn_fuzz_" + std::string(tag) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p;
  }();
  return dir;
}

/// Reads bytes off the front of the input, deterministically; zeros once it runs out.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  Bytes take(std::size_t k) {
    k = k < n ? k : n;
    Bytes out(p, p + k);
    p += k;
    n -= k;
    return out;
  }
};

}  // namespace vhmn_fuzz
