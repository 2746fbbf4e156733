// Two models used from two threads at once (training steps with bank
// writes, then evaluation, on different inputs) give bit for bit what each
// gives alone: models share no mutable state. Built once under
// ThreadSanitizer too (README, "Crash safety and Ctrl-C").
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "test_run_util.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/ops/cross_entropy.hpp"
#include "vhmn/train/optimizer.hpp"
#include "vhmn/vhmn.hpp"

using namespace vhmn;

namespace {

/// Big enough that the kernels' OpenMP loops really run threaded
/// (B * tokens * D * k^2 = 16 * 16 * 32 * 9 is over their 32768 threshold).
ModelConfig medium_config() {
  ModelConfig c = vhmn_test_run::tiny_config();
  c.image = 16;
  c.dim = c.latent = 32;
  return c;
}

/// What a model computed: the logits of every step and of the final
/// evaluation, and its parameters afterwards.
struct Trace {
  std::vector<float> logits;
  std::vector<float> params;
};

/// Three training steps (forward, loss, backward, optimiser, bank writes)
/// then an evaluation forward, on `ds`, with a model made from `seed`.
Trace work(std::uint64_t seed, const data::Dataset& ds) {
  VHMN<float> model(medium_config(), seed);
  const index_t B = ds.size, K = model.config().classes;
  std::vector<index_t> all;
  for (index_t i = 0; i < B; ++i) all.push_back(i);
  Tensor<float> images, probs({B, K}), dlogits({B, K}), targets({B, K});
  targets.fill(0.0f);
  for (index_t i = 0; i < B; ++i) targets[i * K + ds.labels[static_cast<std::size_t>(i)]] = 1.0f;  // one-hot
  data::normalize_images(ds, all, data::compute_normalization(ds), images);
  train::OptimizerOptions oo;
  train::Optimizer<float> opt(model.parameters(), oo);
  Trace t;
  model.train();
  for (int step = 0; step < 3; ++step) {
    const float* logits = model.forward(images.data(), B);
    t.logits.insert(t.logits.end(), logits, logits + B * K);
    ops::cross_entropy_forward(probs.data(), logits, targets.data(), B, K);
    dlogits.resize_zero({B, K});
    ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), B, K);
    model.zero_grad();
    model.backward(dlogits.data());
    opt.step(1e-2);
    model.remember(ds.labels.data(), ds.source_index.data());
  }
  model.eval();
  const float* logits = model.forward(images.data(), B);
  t.logits.insert(t.logits.end(), logits, logits + B * K);
  for (const auto* p : model.parameters()) t.params.insert(t.params.end(), p->value.begin(), p->value.end());
  return t;
}

}  // namespace

TEST_CASE("two models on two threads at once give what each gives alone") {
  const data::Dataset a = vhmn_test_run::tiny_set(16, 1, 16), b = vhmn_test_run::tiny_set(12, 2, 16);
  const Trace alone_a = work(10, a), alone_b = work(20, b);
  for (int round = 0; round < 3; ++round) {
    Trace together_a, together_b;
    std::thread ta([&] { together_a = work(10, a); });
    std::thread tb([&] { together_b = work(20, b); });
    ta.join();
    tb.join();
    CHECK(together_a.logits == alone_a.logits);
    CHECK(together_a.params == alone_a.params);
    CHECK(together_b.logits == alone_b.logits);
    CHECK(together_b.params == alone_b.params);
  }
  CHECK(alone_a.logits != alone_b.logits);  // the two really did different work
}
