// The autodiff tape: a model composed only through it (two memory blocks, a
// user-written head, a user-written non-cross-entropy loss) gradient-checked
// in double; the library adapters against VHMN's own backward; fan-out,
// skipped branches, frozen layers, and every misuse with its message.
#include "tiny_config.hpp"
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.hpp"
#include "vhmn/autodiff/layers.hpp"

using namespace vhmn;
using namespace vhmn::testing;
using autodiff::Tape;
using autodiff::Var;
using V = std::vector<double>;

namespace {

// A user's own layer, written against the documented interface only:
// y (B, K) = mean_n x[b, n, :] W^T + bias, for tokens x (B, N, D).
struct TokenMeanHead {
  Param<double> weight, bias;  // (K, D), (K)
  TokenMeanHead(index_t dim, index_t classes) {
    weight.init("head.weight", {classes, dim}, true);
    bias.init("head.bias", {classes}, false);
  }
  Shape output_shape(const Shape& in) const { return {in[0], weight.value.dim(0)}; }
  void forward(double* y, const double* x, const Shape& in) {
    const index_t B = in[0], N = in[1], D = in[2], K = weight.value.dim(0);
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < K; ++k) {
        double s = 0;
        for (index_t n = 0; n < N; ++n)
          for (index_t d = 0; d < D; ++d) s += x[(b * N + n) * D + d] * weight.value[k * D + d];
        y[b * K + k] = s / double(N) + bias.value[k];
      }
  }
  // dx[b,n,d] += sum_k dy[b,k] W[k,d] / N;  dW[k,d] += sum_b dy[b,k] mean_n x;  db += sum_b dy
  void backward(double* dx, const double* dy, const double* x, const double*, const Shape& in) {
    const index_t B = in[0], N = in[1], D = in[2], K = weight.value.dim(0);
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < K; ++k) {
        const double g = dy[b * K + k];
        bias.grad[k] += g;
        for (index_t n = 0; n < N; ++n)
          for (index_t d = 0; d < D; ++d) {
            weight.grad[k * D + d] += g * x[(b * N + n) * D + d] / double(N);
            if (dx) dx[(b * N + n) * D + d] += g * weight.value[k * D + d] / double(N);
          }
      }
  }
  void collect_params(ParamList<double>& list) {
    list.push_back(&weight);
    list.push_back(&bias);
  }
};

// A user's own loss: mean log-cosh of (y - target); no parameters, shape {1}.
struct LogCoshLoss {
  const double* target = nullptr;
  Shape output_shape(const Shape&) const { return {1}; }
  void forward(double* loss, const double* y, const Shape& in) {
    const index_t n = shape_numel(in);
    double s = 0;
    for (index_t i = 0; i < n; ++i) s += std::log(std::cosh(y[i] - target[i]));
    loss[0] = s / double(n);
  }
  // dy += dloss * tanh(y - t) / n
  void backward(double* dy, const double* dloss, const double* y, const double*, const Shape& in) {
    const index_t n = shape_numel(in);
    for (index_t i = 0; i < n; ++i) dy[i] += dloss[0] * std::tanh(y[i] - target[i]) / double(n);
  }
  void collect_params(ParamList<double>&) {}
};

void fill_bank(MemoryBank<double>& bank, Rng& rng, index_t writes_per_class) {
  bank.clear();
  V row(static_cast<std::size_t>(bank.latent()));
  for (index_t y = 0; y < bank.classes(); ++y)
    for (index_t i = 0; i < writes_per_class + y; ++i) {
      fill_normal(row.data(), bank.latent(), rng, 1.5);
      bank.write(y, row.data(), 100 * y + i, i);
    }
}

BlockShape small_block() {
  BlockShape s;
  s.grid = 3;
  s.dim = 4;
  s.latent = 5;
  s.window = 3;
  s.local_slots = 6;
  s.global_slots = 3;
  s.classes = 3;
  s.hidden = 8;
  s.iters = 2;
  return s;
}

ModelConfig tiny_config() {
  return vhmn_test::tiny_model_config();
}

}  // namespace

TEST_CASE("tape: two memory blocks, a user head and a user log-cosh loss, gradient-checked") {
  Rng rng(71);
  const BlockShape s = small_block();
  HMNBlock<double> block0("blocks.0.", s), block1("blocks.1.", s);
  TokenMeanHead head(s.dim, 3);
  ParamList<double> params;
  block0.collect_params(params);
  block1.collect_params(params);
  head.collect_params(params);
  for (auto* p : params) fill_normal(p->data(), p->numel(), rng, 0.4);
  block0.local.path.refine.beta.value[0] = 0.3;
  block1.global.path.refine.beta.value[0] = 0.6;
  fill_bank(block0.local.path.bank, rng, 2);
  fill_bank(block0.global.path.bank, rng, 0);  // partly empty
  fill_bank(block1.local.path.bank, rng, 3);   // wrapped
  fill_bank(block1.global.path.bank, rng, 1);
  const index_t B = 2, N = 9, D = 4;
  V x = normal_vector(B * N * D, rng), target = normal_vector(B * 3, rng);
  LogCoshLoss loss_fn{target.data()};

  Tape<double> tape;
  // x1 feeds block1 and the head both: its gradient is the sum of the two paths
  auto forward = [&] {
    tape.clear();
    const Var x0 = tape.leaf(x.data(), {B, N, D}, /*requires_grad=*/true);
    const Var x1 = autodiff::block(tape, block0, x0);
    const Var x2 = autodiff::block(tape, block1, x1);
    const Var y = autodiff::call(tape, head, autodiff::add(tape, x1, x2));
    return std::make_pair(x0, autodiff::call(tape, loss_fn, y));
  };
  auto loss = [&] { return tape.data(forward().second)[0]; };
  const auto [x0, l] = forward();
  for (auto* p : params) p->grad.zero();
  tape.backward(l);
  REQUIRE(tape.grad(x0) != nullptr);
  const V dx(tape.grad(x0), tape.grad(x0) + B * N * D);
  CHECK(check_gradient(x.data(), dx.data(), B * N * D, loss).rel() < 1e-6);
  for (Param<double>* p : params) {
    CAPTURE(p->name);
    const V g(p->grad.begin(), p->grad.end());  // the checks below re-run forward only
    CHECK(check_gradient(p->value.data(), g.data(), p->numel(), loss, 24).rel() < 1e-6);
  }
}

TEST_CASE("tape: backbone + head + cross-entropy equals VHMN::forward/backward exactly") {
  const ModelConfig c = tiny_config();
  VHMN<double> a(c, 5), b(c, 5);
  Rng rng(9);
  for (VHMN<double>* m : {&a, &b}) {
    Rng same(12);
    for (auto* p : m->parameters()) fill_normal(p->data(), p->numel(), same, 0.35);
    for (auto& blk : m->blocks) {
      fill_bank(blk->local.path.bank, same, 2);
      fill_bank(blk->global.path.bank, same, 1);
    }
  }
  const index_t B = 3, K = c.classes;
  const V images = normal_vector(B * c.channels * c.image * c.image, rng);
  V targets(B * K, 0.0), probs(B * K), dlogits(B * K, 0.0);
  for (index_t i = 0; i < B; ++i) targets[i * K + i % K] = 1.0;

  const double* logits = a.forward(images.data(), B);
  const double loss_a = ops::cross_entropy_forward(probs.data(), logits, targets.data(), B, K);
  ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), B, K);
  a.zero_grad();
  a.backward(dlogits.data());

  Tape<double> tape;
  const auto f = autodiff::backbone(tape, b, images.data(), B);
  const Var z = autodiff::linear(tape, b.head, f.pooled);
  const Var l = autodiff::cross_entropy(tape, z, targets.data());
  CHECK(tape.shape(f.tokens) == Shape{B, c.tokens(), c.dim});
  CHECK(tape.shape(z) == Shape{B, K});
  b.zero_grad();
  tape.backward(l);
  CHECK(tape.data(l)[0] == loss_a);
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    double worst = 0;
    for (index_t j = 0; j < pa[i]->numel(); ++j) worst = std::max(worst, std::abs(pa[i]->grad[j] - pb[i]->grad[j]));
    CHECK(worst < 1e-13);
  }
}

TEST_CASE("tape: the model's tokens (B, N, D) carry gradient into the backbone too") {
  ModelConfig c = tiny_config();
  VHMN<double> model(c, 2);
  Rng rng(3);
  for (auto* p : model.parameters()) fill_normal(p->data(), p->numel(), rng, 0.35);
  fill_bank(model.blocks[1]->local.path.bank, rng, 2);
  const index_t B = 2, N = c.tokens(), D = c.dim;
  const V images = normal_vector(B * c.channels * c.image * c.image, rng);
  const V pt = normal_vector(B * N * D, rng), pp = normal_vector(B * D, rng);
  // loss = <tokens, pt> + <pooled, pp>, through forward_features / backward_features
  auto loss = [&] {
    const auto f = model.forward_features(images.data(), B);
    return dot(f.tokens, pt.data(), B * N * D) + dot(f.pooled, pp.data(), B * D);
  };
  loss();
  model.zero_grad();
  model.backward_features(pt.data(), pp.data());
  for (Param<double>* p : model.parameters()) {
    if (p->name.rfind("head.", 0) == 0) continue;  // not part of the features
    CAPTURE(p->name);
    const V g(p->grad.begin(), p->grad.end());
    CHECK(check_gradient(p->value.data(), g.data(), p->numel(), loss, 12).rel() < 1e-6);
  }
}

TEST_CASE("tape: fan-out accumulates, dead branches and frozen layers are not run") {
  Tape<double> tape;
  V x = {1, 2, 3};
  const Var a = tape.leaf(x.data(), {3}, true);
  const Var twice = autodiff::add(tape, a, a);  // the same value on both inputs
  const Var y = autodiff::add(tape, twice, a);  // and once more: dy/dx = 3
  int dead_runs = 0;
  double dead_out = 0;
  tape.record({a}, &dead_out, {1}, false, nullptr, "dead", [&dead_runs](const double*, double* const*) {
    ++dead_runs;  // its output never reaches the root
  });
  V seed = {1, 10, 100};
  tape.backward(y, seed.data());
  CHECK(tape.grad(a)[0] == 3);
  CHECK(tape.grad(a)[1] == 30);
  CHECK(tape.grad(a)[2] == 300);
  CHECK(dead_runs == 0);

  // A frozen block on an input that needs no gradient is recorded but not run.
  const BlockShape s = small_block();
  HMNBlock<double> frozen("blocks.0.", s);
  TokenMeanHead head(s.dim, 3);
  ParamList<double> fp;
  frozen.collect_params(fp);
  set_frozen(fp, "*", true);
  Rng rng(1);
  for (auto* p : fp) fill_normal(p->data(), p->numel(), rng, 0.4);
  V tokens = normal_vector(2 * 9 * 4, rng), target = normal_vector(2 * 3, rng);
  LogCoshLoss lf{target.data()};
  for (auto* p : fp) p->grad.fill(7.0);  // a backward would change these
  tape.clear();
  const Var t = tape.leaf(tokens.data(), {2, 9, 4});
  const Var h = autodiff::block(tape, frozen, t);
  CHECK_FALSE(tape.requires_grad(h));
  const Var l = autodiff::call(tape, lf, autodiff::call(tape, head, h));
  tape.backward(l);
  for (auto* p : fp) {
    CAPTURE(p->name);
    CHECK(p->grad[0] == 7.0);
  }
  CHECK(head.weight.grad[0] != 0.0);
  CHECK(tape.grad(t) == nullptr);
}

TEST_CASE("tape: misuse is refused with a message saying what to do") {
  const BlockShape s = small_block();
  HMNBlock<double> block("blocks.0.", s);
  Rng rng(2);
  ParamList<double> params;
  block.collect_params(params);
  for (auto* p : params) fill_normal(p->data(), p->numel(), rng, 0.4);
  V x = normal_vector(2 * 9 * 4, rng);
  Tape<double> tape;
  const Var x0 = tape.leaf(x.data(), {2, 9, 4});
  const Var y = autodiff::block(tape, block, x0);
  CHECK_THROWS_WITH_AS(autodiff::block(tape, block, y),
                       doctest::Contains("layer 'blocks.0.norm1.weight' called twice on one graph"), Error);
  CHECK_THROWS_WITH_AS(tape.backward(y), doctest::Contains("needs a one-element value, got shape [2, 9, 4]"), Error);
  const V seed(2 * 9 * 4, 1.0);
  CHECK_THROWS_WITH_AS(tape.backward(x0, seed.data()), doctest::Contains("depends on no trainable parameter"), Error);
  tape.backward(y, seed.data());
  CHECK_THROWS_WITH_AS(tape.backward(y, seed.data()), doctest::Contains("already ran on this graph"), Error);
  V wrong = normal_vector(2 * 9 * 5, rng);
  tape.clear();
  CHECK_THROWS_WITH_AS(tape.data(y), doctest::Contains("is not on this tape"), Error);
  CHECK_THROWS_WITH_AS(autodiff::block(tape, block, tape.leaf(wrong.data(), {2, 9, 5})),
                       doctest::Contains("input must be (B, 9, 4), got [2, 9, 5]"), Error);
  const Var a = tape.leaf(x.data(), {2, 36});
  const Var b = tape.leaf(x.data(), {72});
  CHECK_THROWS_WITH_AS(autodiff::add(tape, a, b), doctest::Contains("shapes [2, 36] and [72] differ"), Error);
}

TEST_CASE("tape: clear() keeps the buffers: a repeated graph reuses the same memory") {
  const BlockShape s = small_block();
  HMNBlock<double> block("blocks.0.", s);
  TokenMeanHead head(s.dim, 3);
  Rng rng(4);
  V x = normal_vector(2 * 9 * 4, rng), target = normal_vector(2 * 3, rng);
  LogCoshLoss lf{target.data()};
  Tape<double> tape;
  const double* first_logits = nullptr;
  const double* first_grad = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    const Var t = tape.leaf(x.data(), {2, 9, 4}, true);
    const Var z = autodiff::call(tape, head, autodiff::block(tape, block, t));
    tape.backward(autodiff::call(tape, lf, z));
    if (step == 0) {
      first_logits = tape.data(z);
      first_grad = tape.grad(t);
    }
    CHECK(tape.data(z) == first_logits);  // same buffer, not a new one
    CHECK(tape.grad(t) == first_grad);
    CHECK(tape.size() == 3);
  }
}
