// Gradient checks of every layer and of the whole model (double precision),
// over the bank states docs/spec.md §3-4 distinguishes.
#include "tiny_config.hpp"
#include <doctest/doctest.h>

#include <algorithm>

#include "gradcheck.hpp"
#include "vhmn/nn/vhmn_model.hpp"
#include "vhmn/ops/cross_entropy.hpp"

using namespace vhmn;
using namespace vhmn::testing;
using V = std::vector<double>;

static constexpr double kTol = 1e-6;

// Bank fill patterns used throughout.
enum class Fill { Empty, Partial, Wrapped };

static void fill_bank(MemoryBank<double>& bank, Fill fill, Rng& rng) {
  bank.clear();
  if (fill == Fill::Empty) return;
  const index_t per = bank.slots_per_class();
  V row(static_cast<std::size_t>(bank.latent()));
  for (index_t y = 0; y < bank.classes(); ++y) {
    // Partial: class y gets y writes (class 0 stays empty, the others differ).
    // Wrapped: class y gets per + 1 + y writes (every ring has wrapped).
    const index_t writes = fill == Fill::Partial ? std::min(y, per) : per + 1 + y;
    for (index_t i = 0; i < writes; ++i) {
      fill_normal(row.data(), bank.latent(), rng, 1.5);
      bank.write(y, row.data(), 1000 * y + i, i);
    }
  }
}

// Checks every parameter of `params` and (optionally) an input buffer.
static void check_params(ParamList<double> params, const std::function<double()>& loss, index_t max_entries = 24) {
  for (Param<double>* p : params) {
    CAPTURE(p->name);
    const GradResult r = check_gradient(p->value.data(), p->grad.data(), p->numel(), loss, max_entries);
    CHECK(r.rel() < kTol);
  }
}

TEST_CASE("HopfieldRefinement: gradients for T = 0, 1, 2 and empty / partial / wrapped banks") {
  for (index_t T : {0, 1, 2}) {
    for (Fill fill : {Fill::Empty, Fill::Partial, Fill::Wrapped}) {
      CAPTURE(T);
      CAPTURE(static_cast<int>(fill));
      Rng rng(10 + T);
      const index_t R = 5, L = 4;
      HopfieldRefinement<double> refine("r.", L, T, 0.0);
      refine.beta.value[0] = 0.45;
      MemoryBank<double> bank(9, L, 3);
      fill_bank(bank, fill, rng);
      V q = normal_vector(R * L, rng), proj = normal_vector(R * L, rng), z(R * L);
      auto loss = [&] {
        refine.forward(z.data(), q.data(), R, bank);
        return dot(z.data(), proj.data(), R * L);
      };
      loss();
      V dq(R * L, 0.0);
      refine.beta.grad.zero();
      refine.backward(dq.data(), proj.data(), R);
      CHECK(check_gradient(q.data(), dq.data(), R * L, loss).rel() < kTol);
      const GradResult rb = check_gradient(refine.beta.value.data(), refine.beta.grad.data(), 1, loss);
      if (T == 0 || fill == Fill::Empty) {
        CHECK(refine.beta.grad[0] == 0.0);  // no retrieval: beta plays no part
        CHECK(z == q);                      // refine returns q unchanged
      } else {
        CHECK(rb.rel() < kTol);
      }
    }
  }
}

TEST_CASE("HopfieldRefinement: only written slots take part") {
  const index_t L = 3;
  MemoryBank<double> bank(4, L, 2);  // 2 slots per class
  const V a{1, 0, 0};
  bank.write(1, a.data(), 7, 0);  // class 1 gets one entry at slot 2
  HopfieldRefinement<double> refine("r.", L, 1, 0.0);
  refine.beta.value[0] = 1.0;  // z_1 = retrieve(q)
  V q{0.3, 0.9, -0.2}, z(3);
  refine.forward(z.data(), q.data(), 1, bank);
  // a single written slot gets weight 1, whatever the other (zero) slots hold
  CHECK(refine.slot_ids() == std::vector<index_t>{2});
  CHECK(z[0] == doctest::Approx(1.0));
  CHECK(z[1] == doctest::Approx(0.0));
}

TEST_CASE("LocalWindowMemory: gradients for k = 3 and 5 on a grid with borders") {
  for (index_t k : {3, 5}) {
    CAPTURE(k);
    Rng rng(20 + k);
    const index_t B = 2, grid = 4, N = grid * grid, D = 3, L = 4;
    LocalWindowMemory<double> local("local.", grid, D, L, k, 6, 3, 2, 0.0);
    local.init(rng);
    for (Param<double>* p : ParamList<double>{&local.path.query.weight, &local.path.out.weight}) fill_normal(p->data(), p->numel(), rng, 0.5);
    local.path.refine.beta.value[0] = 0.6;
    fill_bank(local.path.bank, Fill::Partial, rng);
    V u = normal_vector(B * N * D, rng), proj = normal_vector(B * N * D, rng);
    auto loss = [&] { return dot(local.forward(u.data(), B), proj.data(), B * N * D); };
    loss();
    ParamList<double> params;
    local.collect_params(params);
    for (auto* p : params) p->grad.zero();
    V du(B * N * D, 0.0);
    local.backward(du.data(), proj.data());
    CHECK(check_gradient(u.data(), du.data(), B * N * D, loss, 200).rel() < kTol);
    check_params(params, loss);
  }
}

TEST_CASE("GlobalTemplateMemory: gradients with a wrapped bank") {
  Rng rng(30);
  const index_t B = 3, N = 5, D = 4, L = 3;
  GlobalTemplateMemory<double> global("global.", D, L, 6, 3, 1, 0.0);
  global.init(rng);
  fill_normal(global.path.query.weight.data(), global.path.query.weight.numel(), rng, 0.7);
  fill_bank(global.path.bank, Fill::Wrapped, rng);
  V u = normal_vector(B * N * D, rng), proj = normal_vector(B * D, rng);
  auto loss = [&] { return dot(global.forward(u.data(), B, N), proj.data(), B * D); };
  loss();
  ParamList<double> params;
  global.collect_params(params);
  for (auto* p : params) p->grad.zero();
  V du(B * N * D, 0.0);
  global.backward(du.data(), proj.data());
  CHECK(check_gradient(u.data(), du.data(), B * N * D, loss).rel() < kTol);
  check_params(params, loss);
}

TEST_CASE("MLP: gradients") {
  Rng rng(40);
  const index_t R = 4, D = 5;
  MLP<double> mlp("mlp.", D, 2 * D);
  mlp.init(rng);
  fill_normal(mlp.fc1.weight.data(), mlp.fc1.weight.numel(), rng, 0.8);
  V x = normal_vector(R * D, rng), proj = normal_vector(R * D, rng);
  auto loss = [&] { return dot(mlp.forward(x.data(), R), proj.data(), R * D); };
  loss();
  ParamList<double> params;
  mlp.collect_params(params);
  for (auto* p : params) p->grad.zero();
  V dx(R * D, 0.0);
  mlp.backward(dx.data(), proj.data());
  CHECK(check_gradient(x.data(), dx.data(), R * D, loss).rel() < kTol);
  check_params(params, loss);
}

TEST_CASE("HMNBlock: gradients of input and every parameter") {
  Rng rng(50);
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
  HMNBlock<double> block("blocks.0.", s);
  block.init(rng);
  ParamList<double> params;
  block.collect_params(params);
  for (auto* p : params) fill_normal(p->data(), p->numel(), rng, 0.4);  // leave the init: exercise every path
  block.local.path.refine.beta.value[0] = 0.3;
  block.global.path.refine.beta.value[0] = 0.7;
  fill_bank(block.local.path.bank, Fill::Wrapped, rng);
  fill_bank(block.global.path.bank, Fill::Partial, rng);
  const index_t B = 2, N = 9, D = 4;
  V x = normal_vector(B * N * D, rng), proj = normal_vector(B * N * D, rng);
  auto loss = [&] { return dot(block.forward(x.data(), B), proj.data(), B * N * D); };
  loss();
  for (auto* p : params) p->grad.zero();
  V dx(B * N * D, 0.0);
  block.backward(dx.data(), proj.data());
  CHECK(check_gradient(x.data(), dx.data(), B * N * D, loss).rel() < kTol);
  check_params(params, loss);
}

// A tiny model with non-trivial weights and banks in several states.
static ModelConfig tiny_config() {
  return vhmn_test::tiny_model_config();
}

TEST_CASE("VHMN: whole-model gradient check against central differences") {
  for (index_t T : {0, 1, 2}) {
    CAPTURE(T);
    ModelConfig c = tiny_config();
    c.iters = T;
    VHMN<double> model(c, 3);
    Rng rng(60 + T);
    for (auto* p : model.parameters()) fill_normal(p->data(), p->numel(), rng, 0.35);
    fill_bank(model.blocks[0]->local.path.bank, Fill::Wrapped, rng);
    fill_bank(model.blocks[0]->global.path.bank, Fill::Partial, rng);
    fill_bank(model.blocks[1]->local.path.bank, Fill::Partial, rng);
    fill_bank(model.blocks[1]->global.path.bank, Fill::Empty, rng);
    const index_t B = 3, K = c.classes;
    V images = normal_vector(B * c.channels * c.image * c.image, rng);
    V targets(B * K, 0.0), probs(B * K);
    targets[0 * K + 1] = 1.0;                           // one-hot
    targets[1 * K + 0] = 0.7, targets[1 * K + 2] = 0.3;  // mixed
    for (index_t k = 0; k < K; ++k) targets[2 * K + k] = 1.0 / 3;  // smoothed
    auto loss = [&] {
      const double* logits = model.forward(images.data(), B);
      return ops::cross_entropy_forward(probs.data(), logits, targets.data(), B, K);
    };
    loss();
    V dlogits(B * K, 0.0);
    ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), B, K);
    model.zero_grad();
    model.backward(dlogits.data());
    check_params(model.parameters(), loss, 16);
  }
}

TEST_CASE("SharedWorkspace: a copy owns its buffers, share() hands over another's") {
  struct W {
    int value = 0;
  };
  SharedWorkspace<W> a, b;
  a->value = 1;
  CHECK_FALSE(a.shares_with(b));
  b.share(a);
  CHECK(b.shares_with(a));
  CHECK(b->value == 1);
  SharedWorkspace<W> c = a;  // a copy is a new layer: fresh buffers
  CHECK_FALSE(c.shares_with(a));
  CHECK(c->value == 0);
}

TEST_CASE("VHMN: blocks sharing backward workspaces give the gradients of blocks that do not") {
  // The model's blocks share block 0's backward workspaces (core/workspace.hpp);
  // here block 1 of a second model gets buffers of its own, and every
  // gradient must agree bit for bit, over two steps (stale buffer contents
  // from the other block must never leak in).
  ModelConfig c = tiny_config();
  VHMN<double> shared(c, 5), own(c, 5);
  HMNBlock<double> lone = *own.blocks[1];  // a copy: fresh workspaces
  own.blocks[1]->share_workspace(lone);
  Rng rng(70);
  for (VHMN<double>* m : {&shared, &own}) {
    Rng fill(71);
    fill_bank(m->blocks[0]->local.path.bank, Fill::Wrapped, fill);
    fill_bank(m->blocks[0]->global.path.bank, Fill::Empty, fill);  // block 0 global: no retrieval step
    fill_bank(m->blocks[1]->local.path.bank, Fill::Partial, fill);
    fill_bank(m->blocks[1]->global.path.bank, Fill::Wrapped, fill);
  }
  const index_t K = c.classes;
  for (index_t B : {3, 2}) {
    CAPTURE(B);
    V images = normal_vector(B * c.channels * c.image * c.image, rng), dlogits = normal_vector(B * K, rng);
    for (VHMN<double>* m : {&shared, &own}) {
      m->forward(images.data(), B);
      m->zero_grad();
      m->backward(dlogits.data());
    }
    ParamList<double> ps = shared.parameters(), po = own.parameters();
    REQUIRE(ps.size() == po.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      CAPTURE(ps[i]->name);
      CHECK(std::equal(ps[i]->grad.data(), ps[i]->grad.data() + ps[i]->numel(), po[i]->grad.data()));
    }
  }
}

TEST_CASE("VHMN: parameter names and shapes follow docs/spec.md section 7") {
  ModelConfig c = tiny_config();
  VHMN<float> model(c, 0);
  std::map<std::string, Shape> got;
  for (auto* p : model.parameters()) got[p->name] = p->value.shape();
  const index_t D = c.dim, L = c.latent, kk = c.window * c.window;
  CHECK(got.at("patch_embed.weight") == Shape{D, c.channels, c.patch, c.patch});
  CHECK(got.at("pos_embed") == Shape{c.tokens(), D});
  CHECK(got.at("blocks.1.local.query.weight") == Shape{L, D * kk});
  CHECK(got.at("blocks.1.local.out.weight") == Shape{D, 2 * L});
  CHECK(got.at("blocks.0.local.beta") == Shape{1});
  CHECK(got.at("blocks.0.global.query.weight") == Shape{L, D});
  CHECK(got.at("blocks.0.global.out.bias") == Shape{D});
  CHECK(got.at("blocks.0.mlp.fc1.weight") == Shape{c.hidden(), D});
  CHECK(got.at("blocks.0.mlp.fc2.weight") == Shape{D, c.hidden()});
  CHECK(got.at("norm.weight") == Shape{D});
  CHECK(got.at("pool.weight") == Shape{1, D});
  CHECK(got.at("pool.bias") == Shape{1});
  CHECK(got.at("head.weight") == Shape{c.classes, D});
  // 3 (embed) + 2 blocks x (2 + 5 + 5 + 2 + 4) + 2 (norm) + 2 (pool) + 2 (head)
  CHECK(got.size() == 3 + 2 * 18 + 6);
}

TEST_CASE("VHMN: initialisation per docs/spec.md section 6") {
  VHMN<double> model(ModelConfig::preset("cifar-small"), 7);
  for (auto* p : model.parameters()) {
    CAPTURE(p->name);
    const auto& v = p->value;
    if (p->name.find("beta") != std::string::npos) {
      CHECK(v[0] == doctest::Approx(0.2));
    } else if (p->name.find("norm") != std::string::npos) {
      const bool is_weight = p->name.find("weight") != std::string::npos;
      for (double x : v) CHECK(x == (is_weight ? 1.0 : 0.0));
    } else if (p->name.find("bias") != std::string::npos) {
      for (double x : v) CHECK(x == 0.0);
    } else {  // truncated normal, std 0.02, cut at 2 std
      double s2 = 0, mx = 0;
      for (double x : v) s2 += x * x, mx = std::max(mx, std::abs(x));
      CHECK(mx <= 0.04);
      if (v.numel() >= 1000) CHECK(std::sqrt(s2 / double(v.numel())) == doctest::Approx(0.0176).epsilon(0.05));
    }
  }
}
