// Crash tests (issue 10): real `vhmn train` processes on a tiny CIFAR-format
// data set, killed with SIGKILL inside every checkpoint write and at random
// times, stopped with SIGINT / SIGTERM (once, and twice), run twice into one
// directory, and run out of file space (RLIMIT_FSIZE). After every kill the
// run directory must parse, and resuming it to the end must give exactly the
// uninterrupted run's metrics and weights.
//
// This program is its own child: `vhmn_crash_tests --child-train ARGS...`
// runs `vhmn train ARGS...` (cmd_train.cpp is compiled in), so the test
// needs no other binary. ctest runs it as crash.rundir (label "crash").
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../tools/vhmn/cmd_train.cpp"
#include "../test_data_util.hpp"
#include "../test_run_util.hpp"

namespace fs = std::filesystem;
using vhmn_test_data::TempDir;

namespace {

std::string g_self;  // this program, for the children

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
using vhmn_test_run::read_lines;
using vhmn_test_run::strip_time;

struct Child {
  pid_t pid = -1;
  std::string out, err;  // files holding its stdout / stderr
};
struct Options {
  std::string kill_write;    // VHMN_FAULT_KILL_WRITE value, "" = none
  rlim_t file_limit = 0;     // RLIMIT_FSIZE in bytes, 0 = none
};

/// Starts `self --child-train args...`. Everything the child needs is built
/// before fork(), so the child only calls async-signal-safe functions.
Child spawn(const std::vector<std::string>& args, const std::string& log_prefix, const Options& o = {}) {
  Child c;
  c.out = log_prefix + ".out";
  c.err = log_prefix + ".err";
  std::vector<std::string> argv_s = {g_self, "--child-train"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("VHMN_FAULT_KILL_WRITE=", 0) != 0) env_s.push_back(*e);
  if (!o.kill_write.empty()) env_s.push_back("VHMN_FAULT_KILL_WRITE=" + o.kill_write);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  const int out_fd = ::open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = ::open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(out_fd >= 0);
  REQUIRE(err_fd >= 0);
  std::fflush(nullptr);
  c.pid = ::fork();
  REQUIRE(c.pid >= 0);
  if (c.pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (o.file_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing
      struct rlimit rl = {o.file_limit, o.file_limit};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    ::execve(g_self.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  return c;
}

int wait_status(const Child& c) {
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}
int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status); }

/// A tiny CIFAR-10 data set (40 train / 10 test images) and a model small
/// enough that an epoch takes milliseconds.
struct Fixture {
  TempDir dir{"crash"};
  std::string data;
  Fixture() {
    data = dir / "cifar";
    for (int b = 1; b <= 5; ++b) {
      std::vector<int> labels;
      for (int r = 0; r < 8; ++r) labels.push_back(((b - 1) * 8 + r) % 10);
      vhmn_test_data::write_bytes(data + "/data_batch_" + std::to_string(b) + ".bin",
                                  vhmn_test_data::cifar_records(labels, (b - 1) * 8));
    }
    vhmn_test_data::write_bytes(data + "/test_batch.bin",
                                vhmn_test_data::cifar_records({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 100));
  }
  std::vector<std::string> fresh(const std::string& run, int epochs) const {
    return {"--data", "cifar10", "--data-dir", data, "--out", run, "--epochs", std::to_string(epochs),
            "--patch", "8", "--dim", "8", "--latent", "8", "--depth", "1", "--local-slots", "10",
            "--global-slots", "10", "--batch", "8", "--augment", "crop,flip", "--threads", "1", "--workers", "1",
            "--lr", "0.01", "--warmup", "0.5"};
  }
  static std::vector<std::string> resume(const std::string& run) { return {"--resume", run}; }

  /// Runs one child to its end; returns its exit code (negative: killed by that signal).
  int run(const std::vector<std::string>& args, const std::string& tag, const Options& o = {}) const {
    return exit_code(wait_status(spawn(args, dir / tag, o)));
  }
};

bool has_checkpoint(const std::string& run) {
  return fs::exists(run + "/last.safetensors") || fs::exists(run + "/best.safetensors");
}

/// What must hold after any kill: every checkpoint there parses as a
/// complete training checkpoint, and every metrics line but a torn last one
/// is a JSON object.
void check_loadable(const std::string& run) {
  for (const char* name : {"last.safetensors", "best.safetensors"}) {
    const std::string p = run + "/" + name;
    if (!fs::exists(p)) continue;
    CAPTURE(p);
    REQUIRE_NOTHROW(vhmn::train::checkpoint_epoch(p));
    const auto f = vhmn::io::read_safetensors(p);
    CHECK(f.find("train.memory_rng") != nullptr);
  }
}

/// Resumes (or restarts, when no epoch was saved) to the end, unkilled.
void run_to_end(const Fixture& fx, const std::string& run, int epochs, const std::string& tag) {
  auto args = has_checkpoint(run) ? Fixture::resume(run) : fx.fresh(run, epochs);
  args.insert(args.end(), {"--stop-after", "1000"});  // the saved command line may hold a --stop-after
  const int rc = fx.run(args, tag + "_end");
  CHECK_MESSAGE(rc == 0, "finishing " << run << " exited " << rc << ": " << read_text(fx.dir / (tag + "_end.err")));
}

struct Reference {
  std::vector<std::string> metrics;
  std::vector<vhmn::io::RawTensor> last, best;
};

void check_same_as(const Reference& ref, const std::string& run) {
  const auto got = read_lines(run + "/metrics.jsonl");
  REQUIRE(got.size() == ref.metrics.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(strip_time(got[i]) == strip_time(ref.metrics[i]));
  for (const auto& file : {std::pair{"last.safetensors", &ref.last}, {"best.safetensors", &ref.best}}) {
    const std::string name = file.first;
    const auto* tensors = file.second;
    const auto t = vhmn::io::read_safetensors(run + "/" + name).tensors;
    REQUIRE(t.size() == tensors->size());
    bool same = true;
    for (std::size_t i = 0; i < t.size(); ++i) same = same && t[i].bytes == (*tensors)[i].bytes;
    CHECK_MESSAGE(same, run << "/" << name << " differs from the uninterrupted run");
  }
  for (const auto& e : fs::directory_iterator(run))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp-") == std::string::npos, e.path());
}

constexpr int kEpochs = 3;

const Reference& reference(const Fixture& fx) {
  static Reference ref = [&] {
    Reference r;
    const std::string run = fx.dir / "reference";
    REQUIRE(fx.run(fx.fresh(run, kEpochs), "reference") == 0);
    r.metrics = read_lines(run + "/metrics.jsonl");
    r.last = vhmn::io::read_safetensors(run + "/last.safetensors").tensors;
    r.best = vhmn::io::read_safetensors(run + "/best.safetensors").tensors;
    return r;
  }();
  return ref;
}

/// Waits (up to 60 s) until `pred` holds; false if it never did.
template <class F>
bool wait_for(F pred) {
  for (int i = 0; i < 6000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("SIGKILL inside every checkpoint write, at 0, 7, 4096 bytes and before the rename") {
  Fixture fx;
  const Reference& ref = reference(fx);
  REQUIRE(ref.metrics.size() == kEpochs);
  int kills = 0;
  for (int write_no = 1; write_no <= 2 * kEpochs; ++write_no)
    for (const char* bytes : {"0", "7", "4096", "1000000000"}) {
      const std::string tag = "w" + std::to_string(write_no) + "_" + bytes;
      const std::string run = fx.dir / tag;
      CAPTURE(tag);
      Options o;
      o.kill_write = std::to_string(write_no) + ":" + bytes;
      const int rc = fx.run(fx.fresh(run, kEpochs), tag, o);
      CHECK((rc == -SIGKILL || rc == 0));  // 0: the run made fewer writes than write_no
      kills += rc == -SIGKILL;
      check_loadable(run);
      run_to_end(fx, run, kEpochs, tag);
      check_same_as(ref, run);
    }
  MESSAGE(kills << " runs were killed inside a checkpoint write");
  CHECK(kills >= 2 * kEpochs);
}

TEST_CASE("SIGKILL at random times, repeatedly, resumes to the uninterrupted run") {
  Fixture fx;
  const Reference& ref = reference(fx);
  // how long a whole run takes here, to spread the kills over it
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(fx.run(fx.fresh(fx.dir / "timing", kEpochs), "timing") == 0);
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 gen(12345);
  std::uniform_real_distribution<double> when(0.0, run_ms);
  int kills = 0;
  for (int trial = 0; trial < 8; ++trial) {
    const std::string run = fx.dir / ("random" + std::to_string(trial));
    for (int attempt = 0; attempt < 6; ++attempt) {
      const auto args = has_checkpoint(run) ? Fixture::resume(run) : fx.fresh(run, kEpochs);
      const Child c = spawn(args, fx.dir / ("random" + std::to_string(trial) + "_" + std::to_string(attempt)));
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(1000 * when(gen))));
      ::kill(c.pid, SIGKILL);
      const int rc = exit_code(wait_status(c));
      if (rc == 0) break;  // it finished first
      CHECK(rc == -SIGKILL);
      ++kills;
      check_loadable(run);
    }
    run_to_end(fx, run, kEpochs, "random" + std::to_string(trial));
    check_same_as(ref, run);
  }
  MESSAGE(kills << " random kills over 8 runs (a run takes " << run_ms << " ms)");
  CHECK(kills > 0);
}

TEST_CASE("a second trainer on one --out is refused naming the first; after a SIGKILL a new one starts") {
  Fixture fx;
  const std::string run = fx.dir / "shared";
  const Child first = spawn(fx.fresh(run, 100000), fx.dir / "first");
  const std::string holder = "pid " + std::to_string(first.pid) + " on host ";
  REQUIRE(wait_for([&] { return read_text(run + "/.lock").rfind(holder, 0) == 0; }));
  CHECK(fx.run(fx.fresh(run, 3), "second") == 1);
  const std::string err = read_text(fx.dir / "second.err");
  CHECK(err.find("is in use by another trainer (" + holder) != std::string::npos);
  CHECK(err.find(run + "/.lock") != std::string::npos);
  ::kill(first.pid, SIGKILL);
  CHECK(exit_code(wait_status(first)) == -SIGKILL);
  // the dead holder's lock does not block: resume what it saved (or start again)
  auto args = has_checkpoint(run) ? Fixture::resume(run) : fx.fresh(run, 100000);
  args.insert(args.end(), {"--stop-after", "1"});
  CHECK(fx.run(args, "third") == 0);
  CHECK(read_text(run + "/.lock").empty());  // released at exit
}

TEST_CASE("SIGINT / SIGTERM stop after the step, keep the checkpoint, say how to resume, exit 130 / 143") {
  Fixture fx;
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string name = sig == SIGINT ? "sigint" : "sigterm";
    CAPTURE(name);
    const std::string run = fx.dir / name;
    const Child c = spawn(fx.fresh(run, 100000), fx.dir / name);
    REQUIRE(wait_for([&] { return read_lines(run + "/metrics.jsonl").size() >= 2; }));
    ::kill(c.pid, sig);
    const int status = wait_status(c);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + sig);
    const std::string out = read_text(c.out);
    CHECK(out.find(std::string("stopped by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM")) != std::string::npos);
    CHECK(out.find("resume with: vhmn train --resume " + run + "\n") != std::string::npos);
    CHECK(read_text(c.err).find("stopping after the current step") != std::string::npos);
    // consistent: the checkpoint's epoch is the last metrics line
    const long long epoch = vhmn::train::checkpoint_epoch(run + "/last.safetensors");
    CHECK(static_cast<long long>(read_lines(run + "/metrics.jsonl").size()) == epoch);
    // and the printed command works
    CHECK(fx.run({"--resume", run, "--stop-after", "1"}, name + "_resume") == 0);
    CHECK(static_cast<long long>(read_lines(run + "/metrics.jsonl").size()) == epoch + 1);
  }
}

TEST_CASE("a second signal aborts at once; the run directory still resumes") {
  Fixture fx;
  const std::string run = fx.dir / "twice";
  const Child c = spawn(fx.fresh(run, 100000), fx.dir / "twice");
  REQUIRE(wait_for([&] { return read_lines(run + "/metrics.jsonl").size() >= 1; }));
  // both pending while stopped, so the second arrives during the first's handling
  ::kill(c.pid, SIGSTOP);
  ::kill(c.pid, SIGINT);
  ::kill(c.pid, SIGTERM);
  ::kill(c.pid, SIGCONT);
  const int status = wait_status(c);
  CHECK(WIFSIGNALED(status));  // died by the signal, without finishing the step or writing anything
  check_loadable(run);
  CHECK(fx.run({"--resume", run, "--stop-after", "1"}, "twice_resume") == 0);
}

TEST_CASE("a full disk (RLIMIT_FSIZE) ends with a clear error and the previous checkpoint intact") {
  Fixture fx;
  const Reference& ref = reference(fx);
  const std::string run = fx.dir / "full";
  auto args = fx.fresh(run, kEpochs);
  args.insert(args.end(), {"--stop-after", "1"});
  REQUIRE(fx.run(args, "full1") == 0);
  const std::string last = read_text(run + "/last.safetensors"), best = read_text(run + "/best.safetensors");
  const auto metrics = read_lines(run + "/metrics.jsonl");
  REQUIRE(metrics.size() == 1);
  Options o;
  o.file_limit = last.size() / 2;  // no checkpoint fits any more
  CHECK(fx.run(Fixture::resume(run), "full2", o) == 1);
  const std::string err = read_text(fx.dir / "full2.err");
  CAPTURE(err);
  CHECK(err.find("cannot write safetensors file '" + run + "/") != std::string::npos);
  CHECK(err.find("File too large") != std::string::npos);
  CHECK(err.find("is left as it was") != std::string::npos);
  CHECK(read_text(run + "/last.safetensors") == last);
  CHECK(read_text(run + "/best.safetensors") == best);
  CHECK(read_lines(run + "/metrics.jsonl") == metrics);  // no line for the epoch that was not saved
  for (const auto& e : fs::directory_iterator(run))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp-") == std::string::npos, e.path());
  run_to_end(fx, run, kEpochs, "full3");  // space again: it continues as if nothing happened
  check_same_as(ref, run);
}

TEST_CASE("metrics but no checkpoint: --resume says why it cannot, --out starts over keeping the old lines") {
  Fixture fx;
  const std::string run = fx.dir / "orphan";
  vhmn_test_data::write_text(run + "/metrics.jsonl", "{\"epoch\":1}\n");
  CHECK(fx.run(Fixture::resume(run), "orphan_resume") == 1);
  CHECK(read_text(fx.dir / "orphan_resume.err").find("--resume " + run + ": no checkpoint (last.safetensors)") !=
        std::string::npos);
  auto args = fx.fresh(run, kEpochs);
  args.insert(args.end(), {"--stop-after", "1"});
  CHECK(fx.run(args, "orphan_fresh") == 0);
  CHECK(read_lines(run + "/metrics.jsonl").size() == 1);
  CHECK(read_text(run + "/metrics.jsonl.orphaned") == "{\"epoch\":1}\n");
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--child-train") {
    // as tools/vhmn/main.cpp runs a command
    try {
      return vhmn::cli::cmd_train(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vhmn train: error: %s\n", e.what());
      return 1;
    }
  }
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  g_self = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string(argv[0]);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
