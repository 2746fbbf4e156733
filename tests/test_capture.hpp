// tests/test_capture.hpp — what a command prints on stdout, for tests of the
// vhmn program's messages, and a tiny image folder to run it on.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "test_data_util.hpp"

namespace vhmn_test_capture {

/// Sends stdout (the C stream and fd 1) to a file while it lives; text() reads it.
class CaptureStdout {
 public:
  explicit CaptureStdout(const std::string& path) : path_(path) {
    std::fflush(stdout);
    saved_ = ::dup(1);
    std::FILE* f = std::fopen(path.c_str(), "w");
    ::dup2(fileno(f), 1);
    std::fclose(f);
  }
  ~CaptureStdout() { restore(); }
  /// Restores stdout and returns everything printed meanwhile.
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stdout);
    ::dup2(saved_, 1);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

/// root/<class>/<i>.png: `per_class` 8x8 grey images for each name, class k
/// bright in a different row band, so a model can tell them apart.
inline void write_image_folder(const std::string& root, const std::vector<std::string>& classes, int per_class) {
  for (std::size_t k = 0; k < classes.size(); ++k)
    for (int i = 0; i < per_class; ++i) {
      vhmn_test_data::Bytes px(64);
      for (int p = 0; p < 64; ++p)
        px[static_cast<std::size_t>(p)] =
            static_cast<std::uint8_t>(((p / 8) % static_cast<int>(classes.size()) == static_cast<int>(k) ? 200 : 30) +
                                      (p * 7 + i * 13) % 20);
      vhmn_test_data::write_bytes(root + "/" + classes[k] + "/" + std::to_string(i) + ".png",
                                  vhmn_test_data::png(8, 8, 1, px));
    }
}

}  // namespace vhmn_test_capture
