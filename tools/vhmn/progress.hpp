// tools/vhmn/progress.hpp — training feedback: a live bar on a terminal,
// plain lines (a few per epoch) when output goes to a file or pipe.
//
// The live line is redrawn in place ("\r", then erase to the end of the line)
// and never wider than the terminal minus one column, so it cannot wrap: the
// width is asked of the terminal (TIOCGWINSZ) and asked again after a resize
// (SIGWINCH). What does not fit is dropped, least useful first (img/s, then
// accuracy, the run's ETA, the bar, ...); the bar shrinks before anything goes.
// A terminal that re-wraps its lines when it gets narrower (tmux, VTE, kitty,
// ...) spreads the last, wider line over several rows: the next draw moves up
// over them first, so a resize leaves no fragment behind. The summary printed
// after each epoch is broken into lines that fit the width of that moment.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>
#define VHMN_CLI_HAVE_WINSIZE 1
#endif

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

/// One part of a status line; lower `keep` is dropped first when space runs out.
struct StatusField {
  std::string text;
  int keep = 0;
};

/// "head [####....] count field field ..." in at most columns - 1 characters
/// (the last column would make some terminals wrap). Fields keep their order;
/// while the line is too long the least useful part goes: the field with the
/// lowest `keep`, or the bar (of at least 8 cells) once only fields with
/// keep >= kBarKeep are left; in the end the line is cut.
inline constexpr int kBarKeep = 4;

inline std::string compose_status_line(const std::string& head, double fraction, const std::string& count,
                                       std::vector<StatusField> fields, int columns) {
  constexpr int kMinBar = 8, kMaxBar = 30;
  const int room = std::max(columns - 1, 1);
  auto text_without_bar = [&]() {
    std::string s = head + " " + count;
    for (const StatusField& f : fields) s += " " + f.text;
    return static_cast<int>(s.size());
  };
  bool with_bar = true;
  while (text_without_bar() + (with_bar ? kMinBar + 3 : 0) > room && (with_bar || !fields.empty())) {
    auto lowest = std::min_element(fields.begin(), fields.end(),
                                   [](const StatusField& a, const StatusField& b) { return a.keep < b.keep; });
    if (with_bar && (lowest == fields.end() || lowest->keep >= kBarKeep))
      with_bar = false;
    else
      fields.erase(lowest);
  }
  std::string line = head;
  if (with_bar) {
    const int bar = std::min(kMaxBar, room - text_without_bar() - 3);
    const double f = std::clamp(fraction, 0.0, 1.0);
    const int filled = static_cast<int>(double(bar) * f);
    line += " [" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(bar - filled), '.') + "]";
  }
  line += " " + count;
  for (const StatusField& field : fields) line += " " + field.text;
  if (static_cast<int>(line.size()) > room) line.resize(static_cast<std::size_t>(room));
  return line;
}

/// The epoch summary's parts ("epoch 1/2", "train loss 1.7 acc 0.4", "lr
/// 2e-3", ...) joined by two spaces into lines of at most columns - 1
/// characters, so that none wraps: a part that does not fit on the line goes
/// to the next, indented two spaces; a part wider than a whole line is broken
/// between its words (and a word wider than that, cut).
inline std::vector<std::string> pack_summary(const std::vector<std::string>& parts, int columns) {
  const std::size_t room = static_cast<std::size_t>(std::max(columns - 1, 1));
  const std::string indent = "  ";
  std::vector<std::string> lines(1);
  auto empty = [&] { return lines.back().empty() || lines.back() == indent; };
  auto put = [&](const std::string& piece, const char* sep) {
    if (!empty() && lines.back().size() + std::strlen(sep) + piece.size() > room) lines.push_back(indent);
    lines.back() += (empty() ? "" : sep) + piece;
    if (lines.back().size() > room) lines.back().resize(room);
  };
  for (const std::string& part : parts) {
    if (lines.back().size() + (empty() ? 0 : 2) + part.size() <= room || indent.size() + part.size() <= room) {
      put(part, "  ");
      continue;
    }
    std::size_t start = 0;  // too wide for any line: word by word
    for (bool first = true; start < part.size(); first = false) {
      const std::size_t space = std::min(part.find(' ', start), part.size());
      put(part.substr(start, space - start), first ? "  " : " ");
      start = space + 1;
    }
  }
  return lines;
}

namespace detail {
inline std::atomic<bool>& terminal_resized() {
  static std::atomic<bool> flag{true};  // true: ask the first time
  return flag;
}
extern "C" inline void on_sigwinch(int) { terminal_resized().store(true); }
}  // namespace detail

/// Columns of the terminal on stdout, asked again after each SIGWINCH; 0 when
/// stdout is not a terminal. Installs the SIGWINCH handler while it lives.
class TerminalWidth {
 public:
  TerminalWidth() : tty_(isatty(fileno(stdout)) != 0) {
    detail::terminal_resized().store(true);  // ask anew: an earlier one in this process took the last answer
#ifdef VHMN_CLI_HAVE_WINSIZE
    if (tty_) {
      struct sigaction sa {};
      sa.sa_handler = detail::on_sigwinch;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;  // a resize must not interrupt a read or write
      sigaction(SIGWINCH, &sa, &old_);
      installed_ = true;
    }
#endif
  }
  ~TerminalWidth() {
#ifdef VHMN_CLI_HAVE_WINSIZE
    if (installed_) sigaction(SIGWINCH, &old_, nullptr);
#endif
  }
  TerminalWidth(const TerminalWidth&) = delete;
  TerminalWidth& operator=(const TerminalWidth&) = delete;

  bool tty() const { return tty_; }
  /// Whether the terminal re-wraps ("reflows") its lines when it gets
  /// narrower, as tmux, VTE (GNOME Terminal), kitty, Alacritty, iTerm2 and
  /// Windows Terminal do: a live line drawn wider than the new width then
  /// covers several rows. xterm ($XTERM_VERSION) and the Linux console
  /// (TERM=linux) cut such a line instead.
  static bool reflows() {
    const char* term = std::getenv("TERM");
    return std::getenv("XTERM_VERSION") == nullptr && !(term && std::strcmp(term, "linux") == 0);
  }
  int columns() {
    if (!tty_) return 0;
    if (detail::terminal_resized().exchange(false)) {
      columns_ = 80;  // what a terminal that does not say is assumed to have
#ifdef VHMN_CLI_HAVE_WINSIZE
      struct winsize ws {};
      if (ioctl(fileno(stdout), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) columns_ = ws.ws_col;
#endif
    }
    return columns_;
  }

 private:
  bool tty_;
  int columns_ = 80;
#ifdef VHMN_CLI_HAVE_WINSIZE
  struct sigaction old_ {};
  bool installed_ = false;
#endif
};

class Progress {
 public:
  /// total_epochs: the run's length (a resumed run counts on from where it stopped).
  /// time_left_s: what is left of a time budget (--time-limit) when training
  /// starts, 0 for none; the run's ETA never goes past it.
  explicit Progress(index_t total_epochs, double time_left_s = 0)
      : total_(total_epochs), time_left_s_(time_left_s), start_(std::chrono::steady_clock::now()) {}

  void step(const train::StepInfo& s) {
    const double this_epoch_s = s.images_per_s > 0 ? seconds_since_epoch_start() : 0.0;
    const double run_eta = run_eta_s(s.epoch, s.eta_s, this_epoch_s + s.eta_s);
    if (width_.tty()) {
      char loss[32], acc[32], speed[32];
      std::snprintf(loss, sizeof loss, "loss %.4f", s.running_loss);
      std::snprintf(acc, sizeof acc, "acc %.3f", s.running_acc);
      std::snprintf(speed, sizeof speed, "%.0f img/s", s.images_per_s);
      const std::string count = std::to_string(s.step + 1) + "/" + std::to_string(s.steps_per_epoch);
      const int columns = width_.columns();
      draw(compose_status_line(epoch_head(s.epoch), double(s.step + 1) / double(std::max<index_t>(s.steps_per_epoch, 1)),
                               count,
                               {{loss, 5}, {acc, 2}, {speed, 1}, {"ETA " + format_duration(s.eta_s), 4},
                                {"run " + format_duration(run_eta), 3}},
                               columns),
           columns);
    } else {
      const index_t every = std::max<index_t>(1, s.steps_per_epoch / 4);
      if ((s.step + 1) % every == 0 && s.step + 1 != s.steps_per_epoch) {
        std::printf("epoch %lld/%lld step %lld/%lld loss %.4f acc %.3f lr %.2e %.0f img/s ETA %s (run %s)\n",
                    static_cast<long long>(s.epoch + 1), static_cast<long long>(total_),
                    static_cast<long long>(s.step + 1), static_cast<long long>(s.steps_per_epoch), s.running_loss,
                    s.running_acc, s.lr, s.images_per_s, format_duration(s.eta_s).c_str(),
                    format_duration(run_eta).c_str());
        std::fflush(stdout);
      }
    }
    last_epoch_index_ = s.epoch;
    if (s.step + 1 == s.steps_per_epoch) {
      train_done_at_ = std::chrono::steady_clock::now();
      eval_start_set_ = true;
    }
  }

  /// The test set's evaluation after an epoch: images done of total.
  void evaluation(index_t done, index_t total) {
    if (!width_.tty()) return;
    const auto now = std::chrono::steady_clock::now();
    const double spent = eval_start_set_ ? std::chrono::duration<double>(now - train_done_at_).count() : 0.0;
    const double eta = done > 0 ? spent / double(done) * double(total - done) : 0.0;
    const double epoch_s = std::chrono::duration<double>(now - epoch_start_).count() + eta;
    const double run_eta = run_eta_s(last_epoch_index_, eta, epoch_s);
    const int columns = width_.columns();
    draw(compose_status_line(epoch_head(last_epoch_index_) + " test", double(done) / double(std::max<index_t>(total, 1)),
                             std::to_string(done) + "/" + std::to_string(total),
                             {{"ETA " + format_duration(eta), 4}, {"run " + format_duration(run_eta), 3}},
                             columns),
         columns);
  }

  void epoch(const train::EpochStats& e) {
    char buf[96];
    std::vector<std::string> parts = {"epoch " + std::to_string(e.epoch) + "/" + std::to_string(total_)};
    std::snprintf(buf, sizeof buf, "train loss %.4f acc %.4f", e.train_loss, e.train_acc);
    parts.push_back(buf);
    if (e.has_test) {
      std::snprintf(buf, sizeof buf, "test loss %.4f acc %.4f%s", e.test_loss, e.test_acc, e.best ? " (best)" : "");
      parts.push_back(buf);
    }
    std::snprintf(buf, sizeof buf, "lr %.2e", e.lr);
    parts.push_back(buf);
    std::snprintf(buf, sizeof buf, "%.0f img/s", e.images_per_s);
    parts.push_back(buf);
    parts.push_back("elapsed " + format_duration(e.elapsed_s));
    if (width_.tty()) {
      // over the live line, in as many lines as the terminal's width needs (none wraps)
      const int columns = width_.columns();
      const char* erase = "";
      const std::string start = live_line_start(columns, &erase);
      std::string text;
      for (const std::string& line : pack_summary(parts, columns)) text += (text.empty() ? "" : "\n") + line;
      std::printf("%s%s%s\n", start.c_str(), erase, text.c_str());
      live_length_ = 0;
    } else {
      std::string text;
      for (const std::string& part : parts) text += (text.empty() ? "" : "  ") + part;
      std::printf("%s\n", text.c_str());
    }
    std::fflush(stdout);
    const auto now = std::chrono::steady_clock::now();
    ++epochs_here_;
    epoch_seconds_here_ = std::chrono::duration<double>(now - start_).count();
    epoch_start_ = now;
    eval_start_set_ = false;
  }

 private:
  std::string epoch_head(index_t epoch) const {
    return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(total_);
  }
  double seconds_since_epoch_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  }
  /// Time left in the run: what is left of this epoch, then the epochs after
  /// it at the mean length of the epochs seen (evaluation included), or at
  /// this epoch's estimated length before one has ended.
  double run_eta_s(index_t epoch, double left_in_epoch, double this_epoch_estimate) const {
    const double per_epoch = epochs_here_ > 0 ? epoch_seconds_here_ / double(epochs_here_) : this_epoch_estimate;
    const double after = double(std::max<index_t>(0, total_ - epoch - 1));
    const double eta = left_in_epoch + after * per_epoch;
    if (time_left_s_ <= 0) return eta;
    const double budget_left = time_left_s_ - std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return std::max(0.0, std::min(eta, budget_left));  // training stops when the budget is spent
  }
  /// Back to the start of the live line: "\r", and where a reflowing
  /// terminal got narrower than the line last drawn (so that line now covers
  /// several rows), up to its first row. `erase` is what clears the rest: to
  /// the end of the row, or of the screen when rows below are involved.
  std::string live_line_start(int columns, const char** erase) const {
    *erase = "\x1b[K";
    if (live_length_ == 0 || columns >= live_columns_ || !TerminalWidth::reflows()) return "\r";
    const int rows_up = (live_length_ - 1) / std::max(columns, 1);
    if (rows_up == 0) return "\r";
    *erase = "\x1b[J";
    return "\r\x1b[" + std::to_string(rows_up) + "A";
  }
  /// Draws the live line over the previous one; `columns`: the width it was composed for.
  /// Autowrap is off while it is written ("\x1b[?7l" ... "\x1b[?7h", in the same write): a
  /// line composed for a width the terminal left meanwhile (a resize between asking the
  /// width and writing) is cut at the edge rather than wrapped onto a row below, so the
  /// next draw, which knows the new width, still covers every row the live line holds.
  void draw(const std::string& line, int columns) {
    const char* erase = "";
    const std::string start = live_line_start(columns, &erase);
    std::printf("%s\x1b[?7l%s%s\x1b[?7h", start.c_str(), line.c_str(), erase);
    std::fflush(stdout);
    live_length_ = static_cast<int>(line.size());
    live_columns_ = columns;
  }

  index_t total_;
  double time_left_s_ = 0;
  TerminalWidth width_;
  std::chrono::steady_clock::time_point start_, epoch_start_ = std::chrono::steady_clock::now(), train_done_at_;
  bool eval_start_set_ = false;
  index_t last_epoch_index_ = 0, epochs_here_ = 0;
  double epoch_seconds_here_ = 0;
  int live_length_ = 0, live_columns_ = 0;  // the live line on screen (0: none) and the width it was drawn at
};

}  // namespace vhmn::cli
