// Run directories (issue 10, defects 7-9): one trainer per directory with
// the holder named, stale temporaries removed by exact pattern, and every
// ordering of a kill at the end of an epoch recovered so that resuming gives
// exactly the uninterrupted run's metrics and weights. Tiny synthetic data,
// in process; tests/crash/ kills real processes.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "test_data_util.hpp"
#include "test_run_util.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
namespace fs = std::filesystem;
using vhmn_test_data::TempDir;

using vhmn_test_run::tiny_config;
using vhmn_test_run::tiny_set;

namespace {

using vhmn_test_run::read_lines;
using vhmn_test_run::strip_time;

/// The tensors of a checkpoint (metadata holds timings, so it is left out).
std::vector<io::RawTensor> tensors_of(const std::string& path) { return io::read_safetensors(path).tensors; }
bool same_tensors(const std::string& a, const std::string& b) {
  const auto x = tensors_of(a), y = tensors_of(b);
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i].name != y[i].name || x[i].shape != y[i].shape || x[i].bytes != y[i].bytes) return false;
  return true;
}

struct Run {
  data::Dataset train = tiny_set(24, 1), test = tiny_set(12, 2);
  data::Normalization norm = data::compute_normalization(train);
  data::LoaderOptions lo;
  train::TrainOptions to;
  Run() {
    lo.batch_size = 8;
    lo.num_workers = 0;
    lo.seed = 5;
    to.epochs = 3;
    to.lr = 5e-3;
  }
  /// Trains `dir` from its last checkpoint (or from scratch) for `epochs` more epochs (-1: to the end).
  void go(const std::string& dir, index_t epochs = -1, bool resume = false) {
    to.run_dir = dir;
    VHMN<float> model(tiny_config(), 3);
    train::Trainer<float> t(model, train, &test, norm, lo, to);
    if (resume) t.resume(dir + "/last.safetensors");
    t.fit(epochs);
  }
};

void copy(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("a second trainer on a locked run directory is refused, naming the holder; released on destruction") {
  Run r;
  TempDir dir("lock");
  r.to.run_dir = dir / "run";
  VHMN<float> m1(tiny_config(), 1), m2(tiny_config(), 2);
  {
    train::Trainer<float> first(m1, r.train, &r.test, r.norm, r.lo, r.to);
    const std::string holder = "is in use by another trainer (pid " + std::to_string(::getpid()) + " on host ";
    const std::string lock_file = r.to.run_dir + "/.lock";
    CHECK_THROWS_WITH_AS(train::Trainer<float>(m2, r.train, &r.test, r.norm, r.lo, r.to),
                         doctest::Contains(holder.c_str()), Error);
    CHECK_THROWS_WITH_AS(train::Trainer<float>(m2, r.train, &r.test, r.norm, r.lo, r.to),
                         doctest::Contains(lock_file.c_str()), Error);
  }
  train::Trainer<float> second(m2, r.train, &r.test, r.norm, r.lo, r.to);  // the first is gone
  second.fit(1);
  CHECK(read_lines(r.to.run_dir + "/metrics.jsonl").size() == 1);
}

TEST_CASE("stale temporaries of our files are removed at start; nothing else is touched") {
  Run r;
  TempDir dir("tmp");
  const std::string run = dir / "run";
  fs::create_directories(run);
  const std::vector<std::string> ours = {"last.safetensors.tmp-0123456789ab", "best.safetensors.tmp-ffffffffffff",
                                         "metrics.jsonl.tmp-000000000000"};
  const std::vector<std::string> others = {"last.safetensors.tmp-0123",          // too short
                                           "last.safetensors.tmp-0123456789AB",  // not our digits
                                           "last.safetensors.tmp-0123456789abc",  // too long
                                           "notes.txt.tmp-0123456789ab",          // not our file
                                           "last.safetensorsXtmp-0123456789ab", "keep.safetensors"};
  for (const auto& n : ours) vhmn_test_data::write_text(run + "/" + n, std::string(1000, 'x'));
  for (const auto& n : others) vhmn_test_data::write_text(run + "/" + n, "mine");
  fs::create_directories(run + "/best.safetensors.tmp-aaaaaaaaaaaa");  // a folder is not ours either
  r.go(run, 1);
  for (const auto& n : ours) CHECK_MESSAGE(!fs::exists(run + "/" + n), n);
  for (const auto& n : others) CHECK_MESSAGE(fs::exists(run + "/" + n), n);
  CHECK(fs::is_directory(run + "/best.safetensors.tmp-aaaaaaaaaaaa"));
  for (const auto& e : fs::directory_iterator(run)) {  // and the epoch's own writes left none
    const std::string name = e.path().filename().string();
    const bool fine = name.find(".tmp-") == std::string::npos || fs::is_directory(e.path()) ||
                      std::find(others.begin(), others.end(), name) != others.end();
    CHECK_MESSAGE(fine, name);
  }
}

TEST_CASE("every ordering of a kill at the end of an epoch resumes to the uninterrupted run") {
  Run r;
  TempDir dir("order");
  const std::string ref = dir / "ref";
  r.go(ref);
  const auto ref_metrics = read_lines(ref + "/metrics.jsonl");
  REQUIRE(ref_metrics.size() == 3);
  // epoch-1 and epoch-2 states of the same run, to build each interrupted directory from
  const std::string snap = dir / "snap";
  r.go(snap, 1);
  copy(snap + "/last.safetensors", dir / "last1");
  copy(snap + "/metrics.jsonl", dir / "metrics1");
  r.go(snap, 1, true);
  copy(snap + "/last.safetensors", dir / "last2");
  copy(snap + "/metrics.jsonl", dir / "metrics2");

  auto finish_and_compare = [&](const std::string& run) {
    r.go(run, -1, true);
    const auto got = read_lines(run + "/metrics.jsonl");
    REQUIRE(got.size() == ref_metrics.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(strip_time(got[i]) == strip_time(ref_metrics[i]));
    CHECK(same_tensors(run + "/last.safetensors", ref + "/last.safetensors"));
  };

  SUBCASE("killed after best, before last, in the first epoch: best becomes last") {
    const std::string run = dir / "a";
    fs::create_directories(run);
    copy(dir / "last1", run + "/best.safetensors");  // epoch 1 improved (from nothing): best written, then the kill
    finish_and_compare(run);
  }
  SUBCASE("killed after best, before last, in a later epoch: best (epoch 2) is newer than last (epoch 1)") {
    const std::string run = dir / "b";
    fs::create_directories(run);
    copy(dir / "last1", run + "/last.safetensors");
    copy(dir / "last2", run + "/best.safetensors");
    copy(dir / "metrics1", run + "/metrics.jsonl");
    finish_and_compare(run);
  }
  SUBCASE("killed after last, before its metrics line: the line comes back from the checkpoint") {
    const std::string run = dir / "c";
    fs::create_directories(run);
    copy(dir / "last2", run + "/last.safetensors");
    copy(dir / "metrics1", run + "/metrics.jsonl");
    finish_and_compare(run);
  }
  SUBCASE("killed inside the metrics append: a torn last line is replaced") {
    const std::string run = dir / "d";
    fs::create_directories(run);
    copy(dir / "last2", run + "/last.safetensors");
    const auto lines = read_lines(dir / "metrics2");
    vhmn_test_data::write_text(run + "/metrics.jsonl", lines[0] + "\n" + lines[1].substr(0, 20));
    finish_and_compare(run);
  }
  SUBCASE("metrics ahead of the checkpoint (metrics appended first, as vhmn did): extra lines dropped") {
    const std::string run = dir / "e";
    fs::create_directories(run);
    copy(dir / "last1", run + "/last.safetensors");
    copy(dir / "metrics2", run + "/metrics.jsonl");
    finish_and_compare(run);
  }
}

TEST_CASE("metrics without any checkpoint: a fresh run starts and keeps them aside") {
  Run r;
  TempDir dir("orphan");
  const std::string run = dir / "run";
  vhmn_test_data::write_text(run + "/metrics.jsonl", "{\"epoch\":1,\"train_loss\":9}\n");
  r.go(run, 1);
  CHECK(read_lines(run + "/metrics.jsonl").size() == 1);
  // now it holds a resumable run: a fresh one is refused
  VHMN<float> other(tiny_config(), 7);
  train::Trainer<float> fresh(other, r.train, &r.test, r.norm, r.lo, r.to);
  CHECK_THROWS_WITH_AS(fresh.fit(), doctest::Contains("already holds a run (last.safetensors)"), Error);
  CHECK(read_lines(run + "/metrics.jsonl")[0].find("\"train_loss\":9}") == std::string::npos);
  CHECK(read_lines(run + "/metrics.jsonl.orphaned") == std::vector<std::string>{"{\"epoch\":1,\"train_loss\":9}"});
}
