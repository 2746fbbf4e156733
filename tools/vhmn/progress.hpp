// tools/vhmn/progress.hpp — training feedback: a live bar on a terminal,
// plain lines (a few per epoch) when output goes to a file or pipe.
#pragma once

#include <cstdio>
#include <string>
#include <unistd.h>

#include <vhmn/train/trainer.hpp>

namespace vhmn::cli {

inline std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

class Progress {
 public:
  Progress(index_t total_epochs) : total_(total_epochs), tty_(isatty(fileno(stdout)) != 0) {}

  void step(const train::StepInfo& s) {
    if (tty_) {
      const int width = 24;
      const int filled = static_cast<int>(double(width) * double(s.step + 1) / double(s.steps_per_epoch));
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(static_cast<std::size_t>(width), '.');
      std::printf("\repoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.3f %.0f img/s ETA %s   ",
                  static_cast<long long>(s.epoch + 1), static_cast<long long>(total_), bar.c_str(),
                  static_cast<long long>(s.step + 1), static_cast<long long>(s.steps_per_epoch), s.running_loss,
                  s.running_acc, s.images_per_s, format_duration(s.eta_s).c_str());
      std::fflush(stdout);
    } else {
      const index_t every = std::max<index_t>(1, s.steps_per_epoch / 4);
      if ((s.step + 1) % every == 0 && s.step + 1 != s.steps_per_epoch) {
        std::printf("epoch %lld/%lld step %lld/%lld loss %.4f acc %.3f lr %.2e %.0f img/s ETA %s\n",
                    static_cast<long long>(s.epoch + 1), static_cast<long long>(total_),
                    static_cast<long long>(s.step + 1), static_cast<long long>(s.steps_per_epoch), s.running_loss,
                    s.running_acc, s.lr, s.images_per_s, format_duration(s.eta_s).c_str());
        std::fflush(stdout);
      }
    }
  }

  void epoch(const train::EpochStats& e) {
    if (tty_) std::printf("\r%100s\r", "");
    std::printf("epoch %lld/%lld  train loss %.4f acc %.4f", static_cast<long long>(e.epoch),
                static_cast<long long>(total_), e.train_loss, e.train_acc);
    if (e.has_test) std::printf("  test loss %.4f acc %.4f%s", e.test_loss, e.test_acc, e.best ? " (best)" : "");
    std::printf("  lr %.2e  %.0f img/s  elapsed %s\n", e.lr, e.images_per_s, format_duration(e.elapsed_s).c_str());
    std::fflush(stdout);
  }

 private:
  index_t total_;
  bool tty_;
};

}  // namespace vhmn::cli
