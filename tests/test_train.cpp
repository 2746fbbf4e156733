// Training: optimiser rules worked by hand, the schedule, clipping, a short
// real Fashion-MNIST run far above chance, exact resume, NaN handling, and
// the data-parallel gradient sums (overlapped or not) over a stand-in communicator.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "vhmn/data/idx.hpp"
#include "test_run_util.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
namespace fs = std::filesystem;

TEST_CASE("AdamW: one step worked by hand; decay only where the flag says") {
  Param<double> w, b;
  w.init("w", {1}, true);
  b.init("b", {1}, false);
  w.value[0] = 1.0;
  b.value[0] = 1.0;
  w.grad[0] = 0.5;
  b.grad[0] = 0.5;
  train::OptimizerOptions o;
  o.kind = train::OptimizerKind::AdamW;
  o.weight_decay = 0.1;
  train::Optimizer<double> opt({&w, &b}, o);
  opt.step(0.01);
  // first step: mhat = g, vhat = g^2 => update lr * g / (|g| + eps) = 0.01 (1 - 1e-8/0.5...)
  const double adam = 0.01 * 0.5 / (0.5 + 1e-8);
  CHECK(w.value[0] == doctest::Approx(1.0 * (1 - 0.01 * 0.1) - adam).epsilon(1e-12));
  CHECK(b.value[0] == doctest::Approx(1.0 - adam).epsilon(1e-12));  // no decay on biases
}

TEST_CASE("Adam (coupled L2) and SGD with momentum: steps worked by hand") {
  Param<double> w;
  w.init("w", {1}, true);
  w.value[0] = 2.0;
  w.grad[0] = 1.0;
  train::OptimizerOptions o;
  o.kind = train::OptimizerKind::SGD;
  o.weight_decay = 0.5;
  o.momentum = 0.9;
  train::Optimizer<double> sgd({&w}, o);
  sgd.step(0.1);  // g = 1 + 0.5*2 = 2, buf = 2, w = 2 - 0.2
  CHECK(w.value[0] == doctest::Approx(1.8));
  sgd.step(0.1);  // g = 1 + 0.9 = 1.9, buf = 0.9*2 + 1.9 = 3.7, w = 1.8 - 0.37
  CHECK(w.value[0] == doctest::Approx(1.43));

  w.value[0] = 2.0;
  o.kind = train::OptimizerKind::Adam;
  train::Optimizer<double> adam({&w}, o);
  adam.step(0.1);  // coupled: g = 2, mhat = 2, vhat = 4 -> w -= 0.1 * 2 / (2 + eps)
  CHECK(w.value[0] == doctest::Approx(2.0 - 0.1 * 2 / (2 + 1e-8)).epsilon(1e-12));
}

TEST_CASE("optimiser state round-trips through named tensors") {
  Param<float> w;
  w.init("blocks.0.x", {3}, true);
  w.grad.fill(0.25f);
  train::Optimizer<float> a({&w}, {});
  a.step(1e-2);
  a.step(1e-2);
  io::SafetensorsFile f;
  f.tensors = a.state(io::DType::F32);
  CHECK(f.find("optim.exp_avg.blocks.0.x"));
  CHECK(f.find("optim.exp_avg_sq.blocks.0.x"));
  Param<float> w2 = w;
  train::Optimizer<float> b({&w2}, {});
  b.load_state(f, "mem");
  CHECK(b.steps() == 2);
  a.step(1e-2);
  b.step(1e-2);
  CHECK(w.value[0] == w2.value[0]);
  io::SafetensorsFile empty;
  CHECK_THROWS_WITH_AS(b.load_state(empty, "x.safetensors"), doctest::Contains("optim.step"), Error);
}

TEST_CASE("warm-up then cosine; gradient-norm clipping; non-finite detection") {
  train::WarmupCosine s;
  s.lr = 1.0;
  s.min_lr = 0.1;
  s.warmup_steps = 4;
  s.total_steps = 14;
  CHECK(s.at(0) == doctest::Approx(0.25));
  CHECK(s.at(3) == doctest::Approx(1.0));
  CHECK(s.at(4) == doctest::Approx(1.0));
  CHECK(s.at(9) == doctest::Approx(0.55));  // half way: (1 + 0.1) / 2
  CHECK(s.at(14) == doctest::Approx(0.1));

  Param<double> a, b;
  a.init("a", {2}, true);
  b.init("b", {1}, false);
  a.grad[0] = 3;
  a.grad[1] = 0;
  b.grad[0] = 4;
  ParamList<double> ps{&a, &b};
  CHECK(train::clip_grad_norm(ps, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(b.grad[0] == doctest::Approx(0.8).epsilon(1e-6));
  CHECK(train::first_non_finite_grad(ps).empty());
  b.grad[0] = std::nan("");
  CHECK(train::first_non_finite_grad(ps) == "b");
}

// ---- real data ------------------------------------------------------------

static const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

static bool have_fashion() {
  return fs::exists(fs::path(kFashionDir) / "train-labels-idx1-ubyte.gz");
}

static ModelConfig quick_config() {
  ModelConfig c = ModelConfig::preset("fmnist-small");
  c.dim = c.latent = 32;
  c.depth = 2;
  c.local_slots = 100;
  c.global_slots = 50;
  return c;
}

static data::Dataset first_n(const data::Dataset& ds, index_t n) {
  std::vector<index_t> idx(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  return ds.subset(idx);
}

static std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("vhmn_train_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

using vhmn_test_run::read_lines;
using vhmn_test_run::strip_time;

TEST_CASE("evaluate: top-1 as a plain forward gives it; the model's modes are put back") {
  ModelConfig c = ModelConfig::preset("fmnist-small");
  c.image = 8;
  c.patch = 2;
  c.dim = 8;
  c.latent = 6;
  c.depth = 1;
  c.local_slots = 20;
  c.global_slots = 10;
  VHMN<float> model(c, 4);
  data::Dataset ds;
  ds.size = 7;  // evaluated in batches of 3, 3, 1
  ds.channels = 1;
  ds.height = ds.width = 8;
  ds.classes = 10;
  ds.name = "synthetic";
  ds.class_names.assign(10, "c");
  Rng rng(5);
  for (index_t i = 0; i < ds.size * 64; ++i) ds.pixels.push_back(static_cast<std::uint8_t>(rng.below(256)));
  for (index_t i = 0; i < ds.size; ++i) {
    ds.labels.push_back(static_cast<std::int32_t>(i % 10));
    ds.source_index.push_back(i);
  }
  // Banks with something in them, so retrieval runs.
  model.train();
  std::vector<float> images(static_cast<std::size_t>(ds.size * 64));
  const auto norm = data::Normalization::identity(1);
  for (std::size_t k = 0; k < images.size(); ++k) images[k] = ds.pixels[k] / 255.0f;
  model.forward(images.data(), ds.size);
  std::vector<std::int64_t> ids(ds.labels.begin(), ds.labels.end());
  model.remember(ds.labels.data(), ids.data());
  // Expected top-1 from one recording, grad-keeping eval forward of all 7.
  model.eval();
  const float* logits = model.forward(images.data(), ds.size);
  index_t right = 0;
  for (index_t b = 0; b < ds.size; ++b)
    right += std::max_element(logits + b * 10, logits + b * 10 + 10) - (logits + b * 10) == ds.labels[b];
  model.train();
  const train::EvalResult r = train::evaluate(model, ds, norm, 3);
  CHECK(r.top1 == doctest::Approx(double(right) / double(ds.size)));
  CHECK(model.training());  // put back as they were
  CHECK_FALSE(model.no_grad());
  CHECK(model.record_retrieval());
  CHECK(model.blocks[0]->local.path.refine.attention(0) == nullptr);  // evaluate's forwards kept nothing...
  model.forward(images.data(), 2);
  CHECK(model.blocks[0]->local.path.refine.attention(0) != nullptr);  // ...but the next one does again
}

TEST_CASE("a short real Fashion-MNIST run learns far above chance") {
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed (" << kFashionDir << ")");
    return;
  }
  const data::Dataset train_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Train), 4000);
  const data::Dataset test_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Test), 1000);
  VHMN<float> model(quick_config(), 1);
  data::LoaderOptions lo;
  lo.batch_size = 64;
  lo.num_workers = 1;
  lo.seed = 3;
  train::TrainOptions to;
  to.epochs = 3;
  to.lr = 3e-3;
  to.warmup_epochs = 0.5;
  train::Trainer<float> trainer(model, train_set, &test_set, data::compute_normalization(train_set), lo, to);
  std::vector<train::EpochStats> log;
  trainer.on_epoch = [&](const train::EpochStats& e) { log.push_back(e); };
  trainer.fit();
  REQUIRE(log.size() == 3);
  MESSAGE("test accuracy after 3 epochs on 4000 images: " << log.back().test_acc);
  CHECK(log.back().test_acc > 0.5);  // chance is 0.10; this run reaches 0.598, deterministically
  CHECK(log.back().train_loss < log.front().train_loss);
  // banks were written during training, with real provenance
  const auto& bank = model.blocks[1]->global.path.bank;
  CHECK(bank.written_count() == bank.slots());
  for (auto id : bank.source_index()) CHECK((id >= 0 && id < 4000));
}

TEST_CASE("resume continues exactly: metrics and weights equal an uninterrupted run") {
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed");
    return;
  }
  const data::Dataset train_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Train), 600);
  const data::Dataset test_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Test), 200);
  const data::Normalization norm = data::compute_normalization(train_set);
  data::LoaderOptions lo;
  lo.batch_size = 50;
  lo.num_workers = 2;
  lo.seed = 9;
  lo.augment.crop = 1.0;  // augmentation streams must resume too
  lo.augment.flip = 0.5;
  lo.augment.mixup = 0.5;
  train::TrainOptions to;
  to.epochs = 3;
  to.warmup_epochs = 1;

  const std::string straight_dir = temp_dir("straight");
  to.run_dir = straight_dir;
  VHMN<float> a(quick_config(), 4);
  train::Trainer<float>(a, train_set, &test_set, norm, lo, to).fit();

  to.run_dir = temp_dir("interrupted");
  {
    VHMN<float> b(quick_config(), 4);
    train::Trainer<float>(b, train_set, &test_set, norm, lo, to).fit(1);  // stop after one epoch
  }
  VHMN<float> c(quick_config(), 777);  // different init: everything must come from the checkpoint
  train::Trainer<float> resumed(c, train_set, &test_set, norm, lo, to);
  resumed.resume(to.run_dir + "/last.safetensors");
  CHECK(resumed.epochs_done() == 1);
  resumed.fit();

  const auto straight = read_lines(straight_dir + "/metrics.jsonl");
  const auto again = read_lines(to.run_dir + "/metrics.jsonl");
  REQUIRE(again.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(strip_time(again[i]) == strip_time(straight[i]));
  auto pa = a.parameters(), pc = c.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(std::equal(pa[i]->value.begin(), pa[i]->value.end(), pc[i]->value.begin()));
  }
  CHECK(a.blocks[0]->local.path.bank.source_index() == c.blocks[0]->local.path.bank.source_index());
}

TEST_CASE("a NaN stops training with a message saying where, and keeps the last good checkpoint") {
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed");
    return;
  }
  const data::Dataset train_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Train), 200);
  VHMN<float> model(quick_config(), 2);
  data::LoaderOptions lo;
  lo.batch_size = 50;
  train::TrainOptions to;
  to.epochs = 3;
  to.run_dir = temp_dir("nan");
  train::Trainer<float> trainer(model, train_set, nullptr, data::compute_normalization(train_set), lo, to);
  trainer.fit(1);
  const std::string last = to.run_dir + "/last.safetensors";
  const auto good = io::serialize_safetensors(io::read_safetensors(last));
  model.blocks[0]->mlp.fc1.weight.value[5] = std::nanf("");
  CHECK_THROWS_WITH_AS(trainer.fit(), doctest::Contains("non-finite loss (nan) at epoch 2, step 1"), Error);
  CHECK_THROWS_WITH_AS(trainer.fit(), doctest::Contains("last good checkpoint"), Error);
  CHECK(io::serialize_safetensors(io::read_safetensors(last)) == good);  // untouched
  // a fresh run into the same directory is refused: the old run stays
  VHMN<float> other(quick_config(), 3);
  // (while this trainer lives, its directory is locked; tests/test_run_dir.cpp covers "already holds a run")
  CHECK_THROWS_WITH_AS(train::Trainer<float>(other, train_set, nullptr, data::compute_normalization(train_set), lo, to),
                       doctest::Contains("is in use by another trainer"), Error);
  CHECK(io::serialize_safetensors(io::read_safetensors(last)) == good);
  auto reloaded = load_model<float>(last);  // and it is a loadable, finite model
  CHECK(std::isfinite(reloaded->blocks[0]->mlp.fc1.weight.value[5]));
}

TEST_CASE("a spent time budget starts no further step and counts no empty epoch") {
  if (!have_fashion()) {
    MESSAGE("skipped: Debian's dataset-fashion-mnist is not installed");
    return;
  }
  const data::Dataset train_set = first_n(data::load_fashion_mnist(kFashionDir, data::Split::Train), 100);
  VHMN<float> model(quick_config(), 2);
  const float before = model.head.weight.value[0];
  data::LoaderOptions lo;
  lo.batch_size = 50;
  train::TrainOptions to;
  to.epochs = 5;
  to.time_limit_s = 1e-9;  // already spent before the first step
  train::Trainer<float> trainer(model, train_set, nullptr, data::compute_normalization(train_set), lo, to);
  int epochs_reported = 0;
  trainer.on_epoch = [&](const train::EpochStats&) { ++epochs_reported; };
  trainer.fit();
  CHECK(trainer.epochs_done() == 0);
  CHECK(epochs_reported == 0);
  CHECK(model.head.weight.value[0] == before);  // no step was taken
}

TEST_CASE("request_stop: fit returns after the step, the partial epoch is abandoned, resume redoes it exactly") {
  using vhmn_test_run::tiny_config;
  const data::Dataset train_set = vhmn_test_run::tiny_set(24, 1), test_set = vhmn_test_run::tiny_set(12, 2);
  const data::Normalization norm = data::compute_normalization(train_set);
  data::LoaderOptions lo;
  lo.batch_size = 8;  // 3 steps per epoch
  lo.num_workers = 0;
  train::TrainOptions to;
  to.epochs = 3;
  to.lr = 5e-3;
  to.run_dir = temp_dir("stop_ref");
  {
    VHMN<float> a(tiny_config(), 3);
    train::Trainer<float>(a, train_set, &test_set, norm, lo, to).fit();
  }
  const auto ref = read_lines(to.run_dir + "/metrics.jsonl");
  const std::string ref_last = to.run_dir + "/last.safetensors";

  to.run_dir = temp_dir("stop");
  {
    VHMN<float> b(tiny_config(), 3);
    train::Trainer<float> t(b, train_set, &test_set, norm, lo, to);
    t.on_step = [&](const train::StepInfo& s) {
      if (s.epoch == 1 && s.step == 1) t.request_stop();  // as the CLI's SIGINT handler does
    };
    t.fit();
    CHECK(t.stop_requested());
    CHECK(t.epochs_done() == 1);
    CHECK(t.abandoned_steps() == 2);  // the step running when asked was finished, no further one started
    CHECK(read_lines(to.run_dir + "/metrics.jsonl").size() == 1);
    CHECK(train::checkpoint_epoch(to.run_dir + "/last.safetensors") == 1);  // the partial epoch was not saved
    t.fit();  // the request stays: returns at once
    CHECK(t.epochs_done() == 1);
    t.clear_stop_request();
    t.on_step = nullptr;
    t.on_epoch = [&](const train::EpochStats&) { t.request_stop(); };  // at an epoch boundary
    t.resume(to.run_dir + "/last.safetensors");
    t.fit();
    CHECK(t.epochs_done() == 2);
    CHECK(t.abandoned_steps() == 0);
  }
  VHMN<float> c(tiny_config(), 99);
  train::Trainer<float> resumed(c, train_set, &test_set, norm, lo, to);
  resumed.resume(to.run_dir + "/last.safetensors");
  resumed.fit();
  const auto got = read_lines(to.run_dir + "/metrics.jsonl");
  REQUIRE(got.size() == ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) CHECK(strip_time(got[i]) == strip_time(ref[i]));
  const auto x = io::read_safetensors(ref_last).tensors, y = io::read_safetensors(to.run_dir + "/last.safetensors").tensors;
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    CAPTURE(x[i].name);
    CHECK(x[i].bytes == y[i].bytes);
  }
}

namespace {
// Two ranks that hold the same gradients, in one process: a sum doubles
// each value. start_sum() only records its range and wait_sums() doubles
// it, as a non-blocking collective that completes late.
struct DoublingCommunicator final : train::Communicator {
  std::vector<std::pair<float*, std::size_t>> pending;
  std::vector<std::size_t> started;  // sizes of the started sums, in order
  int blocking = 0, progress = 0, waits = 0;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void sum(float* data, std::size_t n) override {
    ++blocking;
    for (std::size_t i = 0; i < n; ++i) data[i] *= 2;
  }
  void sum(double* data, std::size_t n) override {
    for (std::size_t i = 0; i < n; ++i) data[i] *= 2;
  }
  void start_sum(float* data, std::size_t n) override {
    pending.emplace_back(data, n);
    started.push_back(n);
  }
  void start_sum(double* data, std::size_t n) override { sum(data, n); }
  void progress_sums() override { ++progress; }
  void wait_sums() override {
    ++waits;
    for (auto& [data, n] : pending)
      for (std::size_t i = 0; i < n; ++i) data[i] *= 2;
    pending.clear();
  }
  void gather_all(const void*, std::size_t, std::vector<unsigned char>&, std::vector<std::size_t>&) override {
    VHMN_FAIL("DoublingCommunicator: gather_all is not used here");
  }
  void abort(int) noexcept override {}
};
}  // namespace

TEST_CASE("data-parallel gradient sums: overlap on and off sum every gradient once, a frozen group's too") {
  ModelConfig c = vhmn_test_run::tiny_config();
  c.depth = 2;  // groups: {norm, pool, head}, blocks.1, blocks.0, the patch embedding
  Rng rng(4);
  std::vector<float> images(6 * 64), dlogits(6 * 4);
  for (auto& v : images) v = float(rng.normal());
  for (auto& v : dlogits) v = float(rng.normal());
  auto step = [&](VHMN<float>& m, train::DataParallel<float>* dp, const ParamList<float>& params) {
    const train::OverlapScope<float, VHMN<float>> scope(m, dp);
    m.forward(images.data(), 6);
    m.zero_grad();
    if (dp) dp->begin_gradients(params);
    m.backward(dlogits.data());
    if (dp) dp->sum_gradients(params);
  };
  for (bool frozen_block : {false, true}) {
    CAPTURE(frozen_block);
    VHMN<float> one(c, 1), on(c, 1), off(c, 1);
    if (frozen_block)
      for (auto* m : {&one, &on, &off}) m->freeze("blocks.1.*");
    auto comm_on = std::make_shared<DoublingCommunicator>(), comm_off = std::make_shared<DoublingCommunicator>();
    train::DataParallel<float> dp_on(comm_on, 0, true), dp_off(comm_off, 0, false);
    const auto p1 = one.parameters(), pon = on.parameters(), poff = off.parameters();
    step(one, nullptr, p1);
    step(on, &dp_on, pon);
    step(off, &dp_off, poff);
    CHECK_FALSE(static_cast<bool>(on.grad_ready_hook()));  // the scope took its hook away
    CHECK(comm_off->blocking == 1);
    CHECK(comm_off->started.empty());
    CHECK(comm_on->blocking == 0);
    CHECK(comm_on->waits == 1);
    CHECK(comm_on->progress == (frozen_block ? 3 : 4));  // once per hook call
    REQUIRE(comm_on->started.size() == 4);               // frozen: 3 from the hook, then blocks.1 after it
    CHECK(dp_on.stats().gradient_buckets == 4);
    CHECK(dp_off.stats().gradient_buckets == 1);
    std::size_t total = 0, started = 0;
    for (const Param<float>* p : p1) total += static_cast<std::size_t>(p->numel());
    for (std::size_t n : comm_on->started) started += n;
    CHECK(started == total);
    bool frozen_grad_computed = false;
    for (std::size_t i = 0; i < p1.size(); ++i) {
      CAPTURE(p1[i]->name);
      bool doubled_on = true, doubled_off = true;
      for (index_t j = 0; j < p1[i]->grad.numel(); ++j) {
        doubled_on = doubled_on && pon[i]->grad[j] == 2 * p1[i]->grad[j];
        doubled_off = doubled_off && poff[i]->grad[j] == 2 * p1[i]->grad[j];
        frozen_grad_computed = frozen_grad_computed || (p1[i]->frozen && p1[i]->grad[j] != 0);
      }
      CHECK(doubled_on);
      CHECK(doubled_off);
    }
    // LayerNorm computes its frozen gradients: summing them is not a no-op
    CHECK(frozen_grad_computed == frozen_block);
  }

  // A hook of the user's is put aside while the data-parallel one is in, then restored.
  VHMN<float> m(c, 1);
  const auto params = m.parameters();
  int user_calls = 0;
  m.set_grad_ready_hook([&user_calls](GradGroup) { ++user_calls; });
  {
    train::DataParallel<float> in_use(std::make_shared<DoublingCommunicator>(), 0, true);
    step(m, &in_use, params);
    CHECK(in_use.stats().gradient_buckets == 4);
    CHECK(user_calls == 0);
  }
  step(m, nullptr, params);
  CHECK(user_calls == 4);
  m.set_grad_ready_hook(nullptr);

  train::DataParallel<float> dp(std::make_shared<DoublingCommunicator>(), 0, true);
  CHECK_THROWS_WITH_AS(dp.gradients_ready(GradGroup{0, 2}),
                       doctest::Contains("gradients_ready(): parameters [0, 2) are not a group of begin_gradients()"),
                       Error);
  dp.begin_gradients(params);
  dp.gradients_ready(GradGroup{0, 2});
  CHECK_THROWS_WITH_AS(dp.gradients_ready(GradGroup{1, 3}),
                       doctest::Contains("'patch_embed.bias' reported ready twice in one step"), Error);
}

TEST_CASE("VHMN_MPI_OVERLAP: 1/on, 0/off, unset or empty keeps the default; anything else is refused") {
  const char* old = std::getenv("VHMN_MPI_OVERLAP");
  const std::string saved = old ? old : "";
  ::unsetenv("VHMN_MPI_OVERLAP");
  CHECK(train::overlap_from_environment(true));
  CHECK_FALSE(train::overlap_from_environment(false));
  for (const char* v : {"1", "on"}) {
    ::setenv("VHMN_MPI_OVERLAP", v, 1);
    CHECK(train::overlap_from_environment(false));
  }
  for (const char* v : {"0", "off"}) {
    ::setenv("VHMN_MPI_OVERLAP", v, 1);
    CHECK_FALSE(train::overlap_from_environment(true));
  }
  ::setenv("VHMN_MPI_OVERLAP", "", 1);
  CHECK(train::overlap_from_environment(true));
  ::setenv("VHMN_MPI_OVERLAP", "yes", 1);
  CHECK_THROWS_WITH_AS(train::overlap_from_environment(true),
                       doctest::Contains("environment variable VHMN_MPI_OVERLAP must be 1 or on"), Error);
  CHECK_THROWS_WITH_AS(train::overlap_from_environment(true), doctest::Contains("got 'yes'"), Error);
  if (old) ::setenv("VHMN_MPI_OVERLAP", saved.c_str(), 1);
  else ::unsetenv("VHMN_MPI_OVERLAP");
}
