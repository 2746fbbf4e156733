// The short-budget recipe (issue 12): the EMA update rule and its
// checkpoints, flip TTA as the mean of two forwards, the whitening
// initialisation on a case worked out by hand, the linear schedule, and an
// exact resume with all of them on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "test_run_util.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
namespace fs = std::filesystem;

static std::string recipe_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("vhmn_recipe_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

TEST_CASE("EMA: the update rule with its warm-up, worked by hand; swap is exact both ways") {
  Param<float> p;
  p.init("w", {2}, true);
  p.value[0] = 1.0f;
  p.value[1] = -2.0f;
  train::WeightAverage<float> ema({&p}, 0.9);
  CHECK(ema.decay_at(1) == doctest::Approx(2.0 / 11.0));  // (1 + t) / (10 + t) below 0.9
  CHECK(ema.decay_at(1000) == doctest::Approx(0.9));      // then the decay itself
  p.value[0] = 3.0f;  // after a "step"
  ema.update();       // avg = d avg + (1 - d) v, d = 2/11
  const double d1 = 2.0 / 11.0;
  CHECK(ema.average(0)[0] == doctest::Approx(d1 * 1.0 + (1 - d1) * 3.0));
  CHECK(ema.average(0)[1] == doctest::Approx(-2.0));
  p.value[0] = 5.0f;
  ema.update();
  const double d2 = 3.0 / 12.0;
  const double expect = d2 * (d1 * 1.0 + (1 - d1) * 3.0) + (1 - d2) * 5.0;
  CHECK(ema.average(0)[0] == doctest::Approx(expect));
  const float live0 = p.value[0], avg0 = ema.average(0)[0];
  ema.swap();
  CHECK(p.value[0] == avg0);
  CHECK(ema.average(0)[0] == live0);
  ema.swap();
  CHECK(p.value[0] == live0);
  CHECK(ema.average(0)[0] == avg0);
  CHECK_THROWS_WITH_AS(train::WeightAverage<float>({&p}, 1.0), doctest::Contains("EMA decay must be in [0, 1)"),
                       Error);
}

TEST_CASE("linear decay: warm-up, then a straight line to min_lr") {
  train::WarmupCosine s;
  s.lr = 1.0;
  s.min_lr = 0.2;
  s.warmup_steps = 2;
  s.total_steps = 10;
  s.shape = train::DecayShape::Linear;
  CHECK(s.at(0) == doctest::Approx(0.5));
  CHECK(s.at(2) == doctest::Approx(1.0));
  CHECK(s.at(6) == doctest::Approx(0.2 + 0.8 * 0.5));
  CHECK(s.at(10) == doctest::Approx(0.2));
  CHECK(s.at(50) == doctest::Approx(0.2));
  CHECK(train::decay_shape_from_string("linear") == train::DecayShape::Linear);
  CHECK_THROWS_WITH_AS(train::decay_shape_from_string("step"), doctest::Contains("known: cosine, linear"), Error);
}

TEST_CASE("flip TTA: the logits are the mean of the image's and its mirror's") {
  using vhmn_test_run::tiny_config;
  const data::Dataset ds = vhmn_test_run::tiny_set(6, 7);
  VHMN<float> model(tiny_config(), 2);
  const auto norm = data::Normalization::identity(1);
  // fill the banks so retrieval takes part
  std::vector<float> images(static_cast<std::size_t>(ds.size * 64));
  for (std::size_t k = 0; k < images.size(); ++k) images[k] = ds.pixels[k] / 255.0f;
  model.train();
  model.forward(images.data(), ds.size);
  std::vector<std::int64_t> ids(ds.source_index.begin(), ds.source_index.end());
  model.remember(ds.labels.data(), ids.data());
  model.eval();
  const index_t K = 4;
  const float* p0 = model.forward(images.data(), ds.size);
  const std::vector<float> plain(p0, p0 + ds.size * K);
  std::vector<float> mirrored = images;
  for (index_t b = 0; b < ds.size; ++b) data::hflip(mirrored.data() + b * 64, index_t(1), index_t(8), index_t(8));
  const float* f = model.forward(mirrored.data(), ds.size);
  // expected loss of the mean logits, from its definition
  double loss = 0;
  for (index_t b = 0; b < ds.size; ++b) {
    double mean[4], mx = -1e30, z = 0;
    for (index_t k = 0; k < K; ++k) mx = std::max(mx, mean[k] = 0.5 * (double(plain[b * K + k]) + f[b * K + k]));
    for (index_t k = 0; k < K; ++k) z += std::exp(mean[k] - mx);
    loss += -(mean[ds.labels[b]] - mx - std::log(z));
  }
  loss /= double(ds.size);
  const train::EvalResult with = train::evaluate(model, ds, norm, 4, /*hflip_tta=*/true);
  const train::EvalResult without = train::evaluate(model, ds, norm, 4, false);
  CHECK(with.loss == doctest::Approx(loss).epsilon(1e-5));
  CHECK(with.loss != doctest::Approx(without.loss).epsilon(1e-7));  // the mirror did change something
}

TEST_CASE("whitening init: the embedded patches of the data have identity covariance") {
  // 4x4 single-channel images, patch 2: P = 4 values per patch, D = 6 > P.
  data::Dataset ds;
  ds.size = 400;
  ds.channels = 1;
  ds.height = ds.width = 4;
  ds.classes = 4;
  ds.name = "correlated";
  ds.class_names = {"a", "b", "c", "d"};
  Rng rng(11);
  for (index_t i = 0; i < ds.size; ++i) {
    ds.labels.push_back(static_cast<std::int32_t>(i % 4));
    ds.source_index.push_back(i);
    const int base = static_cast<int>(rng.below(150));  // pixels share a common level: strongly correlated
    for (int k = 0; k < 16; ++k) ds.pixels.push_back(static_cast<std::uint8_t>(base + (k % 3) * 20 + rng.below(40)));
  }
  ModelConfig c = vhmn_test_run::tiny_config();
  c.image = 4;
  c.patch = 2;
  c.dim = 6;
  c.latent = 4;
  VHMN<float> model(c, 5);
  const std::vector<float> random_rows(model.patch_embed.weight.data() + 4 * 4, model.patch_embed.weight.data() + 6 * 4);
  const auto norm = data::compute_normalization(ds);
  train::WhiteningOptions wo;
  wo.eps = 1e-9;  // nearly exact whitening for the check
  wo.gain = 2.0;
  train::whiten_patch_embedding(model, ds, norm, wo);
  // Embed every patch with rows 0..3 (no positions): mean 0, covariance gain^2 I.
  std::vector<double> mean, cov;
  train::patch_statistics(ds, norm, 2, wo.max_images, mean, cov);
  const float* W = model.patch_embed.weight.data();
  const float* bias = model.patch_embed.bias.data();
  double out_mean[4] = {0, 0, 0, 0};
  for (int r = 0; r < 4; ++r) {
    for (int e = 0; e < 4; ++e) out_mean[r] += W[r * 4 + e] * mean[e];
    out_mean[r] += bias[r];
    CHECK(out_mean[r] == doctest::Approx(0.0).epsilon(1e-4).scale(1.0));
  }
  for (int r = 0; r < 4; ++r)
    for (int s = 0; s < 4; ++s) {
      double v = 0;  // (W Sigma W^T)[r, s]
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) v += W[r * 4 + a] * cov[a * 4 + b] * W[s * 4 + b];
      CAPTURE(r);
      CAPTURE(s);
      CHECK(v == doctest::Approx(r == s ? 4.0 : 0.0).scale(1.0).epsilon(1e-3));
    }
  // rows past P keep their random values
  CHECK(std::equal(random_rows.begin(), random_rows.end(), model.patch_embed.weight.data() + 4 * 4));
  // the largest-variance direction of strongly correlated pixels is their common level: all signs equal
  const bool all_pos = W[0] > 0 && W[1] > 0 && W[2] > 0 && W[3] > 0;
  const bool all_neg = W[0] < 0 && W[1] < 0 && W[2] < 0 && W[3] < 0;
  CHECK((all_pos || all_neg));
}

TEST_CASE("EMA + TTA + whitening + linear schedule: checkpoints hold the average; resume is exact") {
  using vhmn_test_run::tiny_config;
  const data::Dataset train_set = vhmn_test_run::tiny_set(40, 1), test_set = vhmn_test_run::tiny_set(16, 2);
  const auto norm = data::compute_normalization(train_set);
  data::LoaderOptions lo;
  lo.batch_size = 8;
  lo.seed = 4;
  lo.augment.flip = 0.5;
  train::TrainOptions to;
  to.epochs = 3;
  to.lr = 5e-3;
  to.warmup_epochs = 1;
  to.schedule = train::DecayShape::Linear;
  to.ema_decay = 0.8;
  to.tta_flip = true;
  to.whiten_patch_embed = true;

  to.run_dir = recipe_dir("straight");
  VHMN<float> a(tiny_config(), 3);
  train::Trainer<float> ta(a, train_set, &test_set, norm, lo, to);
  ta.fit();
  const std::string straight = to.run_dir;

  to.run_dir = recipe_dir("resumed");
  {
    VHMN<float> b(tiny_config(), 3);
    train::Trainer<float>(b, train_set, &test_set, norm, lo, to).fit(1);
  }
  VHMN<float> c(tiny_config(), 99);
  train::Trainer<float> tc(c, train_set, &test_set, norm, lo, to);
  tc.resume(to.run_dir + "/last.safetensors");
  tc.fit();
  const auto la = vhmn_test_run::read_lines(straight + "/metrics.jsonl");
  const auto lc = vhmn_test_run::read_lines(to.run_dir + "/metrics.jsonl");
  REQUIRE(la.size() == 3);
  REQUIRE(lc.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(vhmn_test_run::strip_time(la[i]) == vhmn_test_run::strip_time(lc[i]));
  auto pa = a.parameters(), pc = c.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(std::equal(pa[i]->value.begin(), pa[i]->value.end(), pc[i]->value.begin()));
  }

  // the checkpoint's model tensors are the average, and evaluating it gives the logged accuracy
  const auto loaded_ptr = load_model<float>(straight + "/last.safetensors");
  VHMN<float>& loaded = *loaded_ptr;
  const train::EvalResult r = train::evaluate(loaded, test_set, norm, 8, true);
  CHECK(vhmn_test_run::strip_time(la[2]).find(io::Json(r.top1).dump()) != std::string::npos);
  bool differs = false;  // ... and not the trained weights
  auto pl = loaded.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    differs = differs || !std::equal(pa[i]->value.begin(), pa[i]->value.end(), pl[i]->value.begin());
  CHECK(differs);

  // resuming an EMA run without an EMA is refused, naming why
  train::TrainOptions plain = to;
  plain.ema_decay = 0;
  plain.run_dir.clear();  // tc still holds its directory
  VHMN<float> d(tiny_config(), 1);
  train::Trainer<float> td(d, train_set, &test_set, norm, lo, plain);
  CHECK_THROWS_WITH_AS(td.resume(straight + "/last.safetensors"),
                       doctest::Contains("trained with an EMA of the weights"), Error);
}
