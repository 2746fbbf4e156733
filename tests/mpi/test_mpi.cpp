// Data-parallel training over MPI: run as 2 ranks (`ctest -L mpi`, i.e.
// mpirun --oversubscribe -np 2 vhmn_mpi_tests). Each rank also trains the
// single-process reference itself, so every comparison is local.
//
// Tolerances: a 2-rank step sums each gradient as (rows of rank 0) + (rows
// of rank 1), a single process in its gemm's own order over all rows; the
// two float sums round differently (relative 1e-7 per step), and training
// amplifies that a little each step. Everything computed before the first
// parameter update (the first step's loss, its bank writes) is bit-identical,
// because a sample's forward does not depend on the other rows of its batch.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "../test_run_util.hpp"
#include "vhmn/core/threads.hpp"
#include "vhmn/data/idx.hpp"
#include "vhmn/train/mpi_communicator.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
namespace fs = std::filesystem;

static std::shared_ptr<train::MpiCommunicator> g_comm;

static const char* kFashionDir = "/usr/share/datasets/fashion-mnist";
static bool have_fashion() { return fs::exists(fs::path(kFashionDir) / "train-labels-idx1-ubyte.gz"); }

static data::Dataset first_n(const data::Dataset& ds, index_t n) {
  std::vector<index_t> idx(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  return ds.subset(idx);
}

static ModelConfig quick_config() {
  ModelConfig c = ModelConfig::preset("fmnist-small");
  c.dim = c.latent = 32;
  c.depth = 2;
  c.local_slots = 100;
  c.global_slots = 50;
  return c;
}

static void barrier() {
  double x = 0;
  g_comm->sum(&x, 1);
}

/// Rank 0's pid names the run directories, so both ranks use the same ones.
static std::string shared_temp_dir(const std::string& name) {
  double pid = g_comm->rank() == 0 ? double(::getpid()) : 0.0;
  g_comm->sum(&pid, 1);
  const fs::path p = fs::temp_directory_path() / ("vhmn_mpi_" + std::to_string(std::int64_t(pid)) + "_" + name);
  if (g_comm->rank() == 0) fs::remove_all(p);
  barrier();
  return p.string();
}

/// Bit for bit (not ==, which lets -0 equal +0).
static bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.numel() == b.numel() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

/// max |a - b| / max(1, max |b|) over a tensor.
static double rel_diff(const Tensor<float>& a, const Tensor<float>& b) {
  double diff = 0, scale = 1;
  for (index_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

template <class F>
static void for_each_bank_pair(VHMN<float>& a, VHMN<float>& b, F f) {
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    f(a.blocks[i]->local.path.prefix(), a.blocks[i]->local.path.bank, b.blocks[i]->local.path.bank);
    f(a.blocks[i]->global.path.prefix(), a.blocks[i]->global.path.bank, b.blocks[i]->global.path.bank);
  }
}

struct Fashion {
  data::Dataset train, test;
  data::Normalization norm;
};
static const Fashion& fashion() {
  static const Fashion f = [] {
    Fashion x;
    x.train = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Train), 480);
    x.test = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Test), 203);  // 102 + 101 per rank
    x.norm = data::compute_normalization(x.train);
    return x;
  }();
  return f;
}

static data::LoaderOptions loader_options(index_t batch) {
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.num_workers = 1;
  lo.seed = 3;
  lo.augment.crop = 1.0;  // augmentation and MixUp partners must not depend on the ranks
  lo.augment.flip = 0.5;
  lo.augment.mixup = 0.5;
  return lo;
}

TEST_CASE("2 ranks: shares of a global batch cover it once, in order") {
  for (index_t B : {2, 7, 40, 41}) {
    index_t next = 0;
    for (int r = 0; r < 2; ++r) {
      const train::Share s = train::share_of(B, r, 2);
      CHECK(s.first == next);
      next += s.count;
    }
    CHECK(next == B);
  }
  CHECK(train::share_of(41, 0, 2).count == 21);  // the first B % R ranks take one more
}

TEST_CASE("2 ranks with global batch B train like 1 rank with batch B (Fashion-MNIST)") {
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed");
    return;
  }
  REQUIRE(g_comm->size() == 2);
  const Fashion& f = fashion();
  train::TrainOptions to;
  to.epochs = 2;
  to.warmup_epochs = 0.5;
  to.lr = 0.05;
  // SGD: Adam's first steps move every weight by about lr whatever the
  // gradient's size, so a gradient that is zero in exact arithmetic (the
  // attention pool's bias: softmax ignores a shift) becomes a full step of
  // rounding noise that differs between summation orders.
  to.optimizer.kind = train::OptimizerKind::SGD;
  to.optimizer.momentum = 0.9;

  SUBCASE("one step: provenance exact, bank vectors and the update agree to float tolerance") {
    const data::Dataset one_batch = first_n(f.train, 41);  // 21 + 20 rows
    to.epochs = 1;
    VHMN<float> single(quick_config(), 5), parallel(quick_config(), 5);
    train::Trainer<float>(single, one_batch, nullptr, f.norm, loader_options(41), to).fit();
    train::TrainOptions po = to;
    po.parallel.communicator = g_comm;
    po.parallel.check_every = 1;
    po.parallel.overlap = true;  // gradient sums started during the backward (off: the next test)
    train::Trainer<float>(parallel, one_batch, nullptr, f.norm, loader_options(41), po).fit();
    double worst = 0;
    for_each_bank_pair(parallel, single, [&](const std::string& name, const MemoryBank<float>& p,
                                             const MemoryBank<float>& s) {
      CAPTURE(name);
      CHECK(p.written_count() > 0);
      CHECK(p.writes() == s.writes());
      CHECK(p.source_index() == s.source_index());
      CHECK(p.source_token() == s.source_token());
      // the same parameters wrote them; only the gemm tiling of 20/21 rows against 41 differs
      worst = std::max(worst, rel_diff(p.memory(), s.memory()));
    });
    MESSAGE("one step, bank vectors: max relative difference " << worst);
    CHECK(worst < 1e-5);
    CHECK(parallel.memory_rng().state() == single.memory_rng().state());
    auto pp = parallel.parameters(), ps = single.parameters();
    for (std::size_t i = 0; i < pp.size(); ++i) {
      CAPTURE(pp[i]->name);
      CHECK(rel_diff(pp[i]->value, ps[i]->value) < 1e-6);
    }
  }

  SUBCASE("two epochs: losses, metrics and parameters agree to tolerance; provenance exactly") {
    VHMN<float> single(quick_config(), 5), parallel(quick_config(), 5);
    std::vector<train::EpochStats> ls, lp;
    std::vector<double> step_loss_s, step_loss_p;
    {
      train::Trainer<float> t(single, f.train, &f.test, f.norm, loader_options(40), to);
      t.on_epoch = [&](const train::EpochStats& s) { ls.push_back(s); };
      t.on_step = [&](const train::StepInfo& s) { step_loss_s.push_back(s.loss); };
      t.fit();
    }
    {
      train::TrainOptions po = to;
      po.parallel.communicator = g_comm;
      po.parallel.check_every = 4;
      po.parallel.overlap = true;
      train::Trainer<float> t(parallel, f.train, &f.test, f.norm, loader_options(40), po);
      t.on_epoch = [&](const train::EpochStats& s) { lp.push_back(s); };
      t.on_step = [&](const train::StepInfo& s) { step_loss_p.push_back(s.loss); };
      t.fit();
    }
    REQUIRE(lp.size() == 2);
    REQUIRE(step_loss_p.size() == step_loss_s.size());
    CHECK(step_loss_p.size() == 24);
    CHECK(step_loss_p[0] == doctest::Approx(step_loss_s[0]).epsilon(1e-12));  // before any update
    for (std::size_t i = 0; i < step_loss_p.size(); ++i) CHECK(step_loss_p[i] == doctest::Approx(step_loss_s[i]).epsilon(1e-4));
    for (std::size_t e = 0; e < 2; ++e) {
      CHECK(lp[e].train_loss == doctest::Approx(ls[e].train_loss).epsilon(1e-4));
      CHECK(lp[e].test_loss == doctest::Approx(ls[e].test_loss).epsilon(1e-4));
      // accuracy counts can flip for a sample on a decision boundary: at most 1 of 203 here
      CHECK(std::fabs(lp[e].test_acc - ls[e].test_acc) <= 1.0 / 203 + 1e-12);
    }
    auto pp = parallel.parameters(), ps = single.parameters();
    for (std::size_t i = 0; i < pp.size(); ++i) {
      CAPTURE(pp[i]->name);
      CHECK(rel_diff(pp[i]->value, ps[i]->value) < 1e-3);
    }
    for_each_bank_pair(parallel, single, [](const std::string& name, const MemoryBank<float>& p,
                                            const MemoryBank<float>& s) {
      CAPTURE(name);
      CHECK(p.writes() == s.writes());
      CHECK(p.source_index() == s.source_index());
      CHECK(p.source_token() == s.source_token());
      CHECK(rel_diff(p.memory(), s.memory()) < 1e-3);
    });
  }
}

TEST_CASE("2 ranks: gradient sums overlapped with the backward or not give the same bits (Fashion-MNIST)") {
  // Each gradient element is summed over the two ranks as a + b either way
  // (MPI_Iallreduce per group vs one MPI_Allreduce), and float addition of
  // two addends does not depend on their order: everything must be equal.
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed");
    return;
  }
  REQUIRE(g_comm->size() == 2);
  const Fashion& f = fashion();
  train::TrainOptions to;
  to.epochs = 1;
  to.warmup_epochs = 0.5;
  to.clip_norm = 0.5;  // reads every gradient, a frozen group's too
  to.parallel.communicator = g_comm;
  to.parallel.check_every = 1;
  struct Run {
    std::vector<double> losses;
    std::vector<train::EpochStats> epochs;
    train::CommStats stats;
  };
  auto train_run = [&](VHMN<float>& model, bool overlap) {
    Run r;
    train::TrainOptions o = to;
    o.parallel.overlap = overlap;
    train::Trainer<float> t(model, f.train, &f.test, f.norm, loader_options(40), o);
    t.on_step = [&](const train::StepInfo& s) { r.losses.push_back(s.loss); };
    t.on_epoch = [&](const train::EpochStats& s) { r.epochs.push_back(s); };
    t.fit();
    r.stats = t.data_parallel()->stats();
    return r;
  };
  index_t expect_buckets = 0;
  VHMN<float> on(quick_config(), 6), off(quick_config(), 6);
  SUBCASE("every group trainable: one sum per group (4), started from the hook") {
    expect_buckets = 4;  // {norm, pool, head}, blocks.1, blocks.0, patch embedding
  }
  SUBCASE("a frozen block between trainable ones: its gradients summed after the backward") {
    // LayerNorm and refinement compute gradients of frozen parameters too;
    // the clip reads them, so they must be summed like the rest
    on.freeze("blocks.1.*");
    off.freeze("blocks.1.*");
    expect_buckets = 4;  // 3 from the hook, then blocks.1 after the backward
  }
  const Run a = train_run(on, true), b = train_run(off, false);
  CHECK(a.stats.gradient_buckets == expect_buckets);
  CHECK(b.stats.gradient_buckets == 1);
  CHECK(a.stats.gradient_bytes == b.stats.gradient_bytes);
  REQUIRE(a.losses.size() == 12);
  CHECK(a.losses == b.losses);
  REQUIRE(a.epochs.size() == 1);
  REQUIRE(b.epochs.size() == 1);
  CHECK(a.epochs[0].train_loss == b.epochs[0].train_loss);
  CHECK(a.epochs[0].train_acc == b.epochs[0].train_acc);
  CHECK(a.epochs[0].test_loss == b.epochs[0].test_loss);
  CHECK(a.epochs[0].test_acc == b.epochs[0].test_acc);
  auto pa = on.parameters(), pb = off.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(same_bits(pa[i]->value, pb[i]->value));
  }
  for_each_bank_pair(on, off, [](const std::string& name, const MemoryBank<float>& p, const MemoryBank<float>& s) {
    CAPTURE(name);
    CHECK(p.written_count() > 0);
    CHECK(p.writes() == s.writes());
    CHECK(p.source_index() == s.source_index());
    CHECK(p.source_token() == s.source_token());
    CHECK(same_bits(p.memory(), s.memory()));
  });
  CHECK(on.memory_rng().state() == off.memory_rng().state());
}

TEST_CASE("2 ranks: banks and parameters stay identical on both ranks (T = 1, wrapped ring buffers)") {
  using vhmn_test_run::tiny_config;
  using vhmn_test_run::tiny_set;
  const data::Dataset train_set = tiny_set(96, 1);
  const data::Normalization norm = data::compute_normalization(train_set);
  ModelConfig c = tiny_config();
  c.iters = 1;
  VHMN<float> model(c, 2);
  train::TrainOptions to;
  to.epochs = 3;
  to.parallel.communicator = g_comm;
  to.parallel.check_every = 1;  // checksums compared after every step
  data::LoaderOptions lo = loader_options(16);
  train::Trainer<float> trainer(model, train_set, nullptr, norm, lo, to);
  trainer.fit();
  for (auto& blk : model.blocks)
    for (const auto* path : {&blk->local.path, &blk->global.path}) {
      CAPTURE(path->prefix());
      for (auto w : path->bank.writes()) CHECK(w > path->bank.slots_per_class());  // every ring wrapped
      // the bytes themselves, not only their checksums: rank 1's equal rank 0's
      std::vector<unsigned char> all;
      std::vector<std::size_t> at;
      const auto& m = path->bank.memory();
      g_comm->gather_all(m.data(), static_cast<std::size_t>(m.numel()) * sizeof(float), all, at);
      CHECK(std::memcmp(all.data(), all.data() + at[1], at[1]) == 0);
    }

  // A bank that differs on one rank stops both, naming the step and the tensor.
  train::DataParallel<float> dp(g_comm, 1);
  if (g_comm->rank() == 1) model.blocks[0]->global.path.bank.mutable_memory()[3] += 1.0f;
  CHECK_THROWS_WITH(dp.check_consistent("after step 18", model, trainer.optimizer()),
                    doctest::Contains("data-parallel ranks disagree after step 18: 'blocks.0.global.memory' on rank 1 differs from rank 0's"));
  if (g_comm->rank() == 1) model.blocks[0]->global.path.bank.mutable_memory()[3] -= 1.0f;

  // Too small a last batch for two ranks is refused up front.
  const data::Dataset odd = tiny_set(33, 1);  // batches of 16, 16, 1
  CHECK_THROWS_WITH(train::Trainer<float>(model, odd, nullptr, norm, lo, to),
                    doctest::Contains("the last batch of an epoch holds only 1 samples"));
}

TEST_CASE("2 ranks: evaluation split over the ranks gives one process's counts") {
  if (!have_fashion()) return;
  const Fashion& f = fashion();
  VHMN<float> model(quick_config(), 5);
  model.train();
  train::TrainOptions to;
  to.epochs = 1;
  train::Trainer<float>(model, first_n(f.train, 40), nullptr, f.norm, loader_options(40), to).fit();  // banks
  train::DataParallel<float> dp(g_comm, 0);
  const train::EvalResult one = train::evaluate(model, f.test, f.norm, 32);
  const train::EvalResult two = dp.evaluate(model, f.test, f.norm, 32);
  CHECK(two.count == 203);
  CHECK(two.top1 == one.top1);
  CHECK(two.top5 == one.top5);
  CHECK(two.confusion == one.confusion);
  CHECK(two.per_class == one.per_class);
  CHECK(two.loss == doctest::Approx(one.loss).epsilon(1e-6));  // summed in another order
}

TEST_CASE("2 ranks: a 2-rank checkpoint resumes with 2 ranks exactly, and with 1 rank") {
  if (!have_fashion()) return;
  const Fashion& f = fashion();
  train::TrainOptions to;
  to.epochs = 3;
  to.warmup_epochs = 1;
  to.parallel.communicator = g_comm;
  to.parallel.check_every = 5;
  const data::LoaderOptions lo = loader_options(40);

  const std::string straight_dir = shared_temp_dir("straight");
  to.run_dir = straight_dir;
  VHMN<float> a(quick_config(), 4);
  train::Trainer<float>(a, f.train, &f.test, f.norm, lo, to).fit();

  to.run_dir = shared_temp_dir("interrupted");
  {
    VHMN<float> b(quick_config(), 4);
    train::Trainer<float>(b, f.train, &f.test, f.norm, lo, to).fit(1);
  }
  barrier();  // rank 0 has written the checkpoint
  const std::string ckpt = to.run_dir + "/last.safetensors";
  // a copy for the single-process resume, made before the 2-rank resume appends to the run
  const std::string single_dir = to.run_dir + "_single";
  if (g_comm->rank() == 0) {
    fs::create_directories(single_dir);
    fs::copy_file(ckpt, single_dir + "/last.safetensors");
    fs::copy_file(to.run_dir + "/metrics.jsonl", single_dir + "/metrics.jsonl");
  }
  barrier();
  VHMN<float> c(quick_config(), 777);  // everything must come from the checkpoint
  {
    train::Trainer<float> resumed(c, f.train, &f.test, f.norm, lo, to);
    resumed.resume(ckpt);
    CHECK(resumed.epochs_done() == 1);
    resumed.fit();
  }
  barrier();
  const auto straight = vhmn_test_run::read_lines(straight_dir + "/metrics.jsonl");
  const auto again = vhmn_test_run::read_lines(to.run_dir + "/metrics.jsonl");
  REQUIRE(again.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(vhmn_test_run::strip_time(again[i]) == vhmn_test_run::strip_time(straight[i]));
  auto pa = a.parameters(), pc = c.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(std::equal(pa[i]->value.begin(), pa[i]->value.end(), pc[i]->value.begin()));
  }

  // rank 0 alone: the same checkpoint resumed by one process continues to
  // epoch 3, close to the 2-rank run (float tolerance, see the top)
  if (g_comm->rank() == 0) {
    train::TrainOptions so = to;
    so.parallel = {};
    so.run_dir = single_dir;
    VHMN<float> d(quick_config(), 777);
    train::Trainer<float> single(d, f.train, &f.test, f.norm, lo, so);
    single.resume(single_dir + "/last.safetensors");
    CHECK(single.epochs_done() == 1);
    single.fit();
    const auto lines = vhmn_test_run::read_lines(single_dir + "/metrics.jsonl");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == again[0]);  // the 2-rank epoch, kept as it was
    auto pd = d.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
      CAPTURE(pa[i]->name);
      CHECK(rel_diff(pd[i]->value, pa[i]->value) < 1e-3);
    }
  }
  barrier();
}

int main(int argc, char** argv) {
  g_comm = std::make_shared<train::MpiCommunicator>();
  set_num_threads(1);  // 2 ranks x 1 thread on a 2-core machine
  doctest::Context context(argc, argv);
  const int failed = context.run();
  double failures = failed ? 1 : 0;
  g_comm->sum(&failures, 1);
  g_comm.reset();  // finalises MPI
  return failures > 0 ? 1 : 0;
}
