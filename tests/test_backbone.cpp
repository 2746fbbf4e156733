// The backbone API: forward_features, reset_classifier, freezing by name
// pattern (no gradient computed, no update), loss objects in the Trainer
// (gradient-checked), and the Trainer on a static-size model.
#include <doctest/doctest.h>

#include <algorithm>

#include "gradcheck.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
using namespace vhmn::testing;
using V = std::vector<double>;

namespace {

ModelConfig small_config() {
  ModelConfig c = ModelConfig::preset("fmnist-small");
  c.image = 8;
  c.patch = 2;
  c.dim = 8;
  c.latent = 4;
  c.depth = 2;
  c.local_slots = 20;
  c.global_slots = 10;
  return c;
}

// 40 random 8x8 grey images, labels i % 10.
data::Dataset synthetic(index_t size = 40, index_t classes = 10) {
  data::Dataset ds;
  ds.size = size;
  ds.channels = 1;
  ds.height = ds.width = 8;
  ds.classes = classes;
  ds.name = "synthetic";
  ds.class_names.assign(static_cast<std::size_t>(classes), "c");
  Rng rng(5);
  for (index_t i = 0; i < size * 64; ++i) ds.pixels.push_back(static_cast<std::uint8_t>(rng.below(256)));
  for (index_t i = 0; i < size; ++i) {
    ds.labels.push_back(static_cast<std::int32_t>(i % classes));
    ds.source_index.push_back(i);
  }
  return ds;
}

data::LoaderOptions loader_options() {
  data::LoaderOptions lo;
  lo.batch_size = 8;
  lo.num_workers = 1;
  lo.seed = 3;
  return lo;
}

std::vector<float> values_of(const Param<float>& p) { return std::vector<float>(p.value.begin(), p.value.end()); }

// The grad-ready hook's group of a parameter, by its name: 0 the patch
// embedding (and pos_embed), 1 + i block i, depth + 1 {norm, pool, head}.
index_t hook_group_of(const std::string& name, index_t depth) {
  if (name.rfind("blocks.", 0) == 0) return 1 + static_cast<index_t>(std::stoll(name.substr(7)));
  if (name.rfind("norm.", 0) == 0 || name.rfind("pool.", 0) == 0 || name.rfind("head.", 0) == 0) return depth + 1;
  return 0;
}

std::vector<float> grads_of(const ParamList<float>& params, GradGroup g) {
  std::vector<float> out;
  for (index_t i = g.first; i < g.last; ++i) {
    const Param<float>& p = *params[static_cast<std::size_t>(i)];
    out.insert(out.end(), p.grad.begin(), p.grad.end());
  }
  return out;
}

// Two backwards of `model` with a recording hook: it must report exactly
// the groups `expected` (numbered as hook_group_of), in that order, each
// once, holding then the gradients it ends the backward with. `twin` (same
// weights, same frozen flags, no hook) must get the same gradients.
template <class Model>
void check_grad_ready_hook(Model& model, Model& twin, const std::vector<index_t>& expected) {
  Rng rng(3);
  std::vector<float> images(4 * 64), dlogits(4 * 10);
  for (auto& v : images) v = float(rng.normal());
  for (auto& v : dlogits) v = float(rng.normal());
  const auto params = model.parameters();
  const index_t depth = model.config().depth;
  std::vector<GradGroup> seen;
  std::vector<std::vector<float>> when_reported;
  model.set_grad_ready_hook([&](GradGroup g) {
    seen.push_back(g);
    when_reported.push_back(grads_of(params, g));
  });
  for (int round = 0; round < 2; ++round) {  // the second with the kept group index
    CAPTURE(round);
    seen.clear();
    when_reported.clear();
    model.forward(images.data(), 4);
    model.zero_grad();
    model.backward(dlogits.data());
    REQUIRE(seen.size() == expected.size());
    for (std::size_t k = 0; k < seen.size(); ++k) {
      CAPTURE(k);
      for (std::size_t i = 0; i < params.size(); ++i) {
        CAPTURE(params[i]->name);
        const bool inside = index_t(i) >= seen[k].first && index_t(i) < seen[k].last;
        CHECK(inside == (hook_group_of(params[i]->name, depth) == expected[k]));
      }
      const std::vector<float> final_grads = grads_of(params, seen[k]);
      CHECK(std::any_of(final_grads.begin(), final_grads.end(), [](float g) { return g != 0.0f; }));
      CHECK(when_reported[k] == final_grads);  // nothing after the report changed them
    }
  }
  model.set_grad_ready_hook(nullptr);
  twin.forward(images.data(), 4);
  twin.zero_grad();
  twin.backward(dlogits.data());
  const auto twin_params = twin.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i]->name);
    CHECK(std::equal(params[i]->grad.begin(), params[i]->grad.end(), twin_params[i]->grad.begin()));
  }
}

}  // namespace

TEST_CASE("forward_features: the normed tokens and the pooled vector the head reads") {
  VHMN<float> model(small_config(), 1);
  Rng rng(2);
  std::vector<float> images(3 * 64);
  for (auto& v : images) v = float(rng.normal());
  const auto f = model.forward_features(images.data(), 3);
  CHECK(f.batch == 3);
  CHECK(f.num_tokens == 16);
  CHECK(f.dim == 8);
  CHECK(f.tokens == model.norm.output());
  CHECK(f.pooled == model.pool.output());
  const std::vector<float> pooled(f.pooled, f.pooled + 3 * 8);
  // forward = head(pooled), computed here by hand from the head's weights
  const float* logits = model.forward(images.data(), 3);
  for (index_t b = 0; b < 3; ++b)
    for (index_t k = 0; k < 10; ++k) {
      double z = model.head.bias.value[k];
      for (index_t d = 0; d < 8; ++d) z += double(pooled[b * 8 + d]) * model.head.weight.value[k * 8 + d];
      CHECK(logits[b * 10 + k] == doctest::Approx(z).epsilon(1e-5));
    }
}

TEST_CASE("reset_classifier: new head, slots divisible by K, banks cleared, the rest kept") {
  VHMN<float> model(small_config(), 1);
  model.train();
  std::vector<float> images(4 * 64, 0.5f);
  model.forward(images.data(), 4);
  const std::int32_t labels[4] = {0, 1, 2, 3};
  const std::int64_t ids[4] = {0, 1, 2, 3};
  model.remember(labels, ids);
  REQUIRE(model.blocks[0]->local.path.bank.written_count() > 0);
  std::vector<std::vector<float>> before;
  for (auto* p : model.parameters()) before.push_back(values_of(*p));
  model.freeze("blocks.0.*");

  model.reset_classifier(3, /*seed=*/7);
  CHECK(model.config().classes == 3);
  CHECK(model.config().local_slots == 18);  // 20 rounded down to a multiple of 3
  CHECK(model.config().global_slots == 9);
  CHECK(model.head.weight.value.shape() == Shape{3, 8});
  CHECK(model.head.bias.value.shape() == Shape{3});
  for (auto& b : model.blocks) {
    CHECK(b->local.path.bank.slots() == 18);
    CHECK(b->local.path.bank.classes() == 3);
    CHECK(b->local.path.bank.written_count() == 0);
    CHECK(b->global.path.bank.slots() == 9);
    CHECK(b->global.path.bank.written_count() == 0);
  }
  const auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i]->name.rfind("head.", 0) == 0) continue;
    CAPTURE(params[i]->name);
    CHECK(values_of(*params[i]) == before[i]);
    CHECK(params[i]->frozen == (params[i]->name.rfind("blocks.0.", 0) == 0));
  }
  CHECK(model.forward(images.data(), 4) == model.logits().data());
  CHECK(model.logits().shape() == Shape{4, 3});
  const std::int32_t new_labels[4] = {0, 1, 2, 2};
  model.remember(new_labels, ids);
  CHECK_THROWS_WITH_AS(model.remember(labels, ids), doctest::Contains("label 3 of sample 3 is outside [0, 3)"), Error);
  // more classes than slots: one slot per class
  model.reset_classifier(25);
  CHECK(model.config().local_slots == 25);
  CHECK(model.config().global_slots == 25);
  CHECK_THROWS_WITH_AS(model.reset_classifier(0), doctest::Contains("number of classes must be positive, got 0"),
                       Error);
}

TEST_CASE("freeze: frozen parameters get no gradient computed and no update") {
  VHMN<float> model(small_config(), 1);
  CHECK(model.freeze("*") == index_t(model.parameters().size()));
  CHECK(model.unfreeze("head.*") == 2);
  CHECK_THROWS_WITH_AS(model.freeze("block.*"), doctest::Contains("freeze: pattern 'block.*' matches no parameter"),
                       Error);
  CHECK(name_matches("blocks.1.mlp.fc1.weight", "blocks.?.mlp.*"));
  CHECK_FALSE(name_matches("blocks.1.mlp.fc1.weight", "*.bias"));
  CHECK(name_matches("pos_embed", "pos_embed"));

  Rng rng(3);
  std::vector<float> images(4 * 64), dlogits(4 * 10);
  for (auto& v : images) v = float(rng.normal());
  for (auto& v : dlogits) v = float(rng.normal());
  model.forward(images.data(), 4);
  model.zero_grad();
  for (auto* p : model.parameters())
    if (p->frozen) p->grad.fill(7.0f);  // a computed gradient would overwrite or add to these
  model.backward(dlogits.data());
  for (auto* p : model.parameters()) {
    CAPTURE(p->name);
    if (p->frozen) {
      CHECK(std::all_of(p->grad.begin(), p->grad.end(), [](float g) { return g == 7.0f; }));
    } else {
      CHECK(std::any_of(p->grad.begin(), p->grad.end(), [](float g) { return g != 0.0f; }));
    }
  }
  // The lower block and the patch embedding frozen: the upper block still trains,
  // the frozen Linear weights of block 1 get no gradient product either.
  model.unfreeze("*");
  model.freeze("patch_embed.*");
  model.freeze("pos_embed");
  model.freeze("blocks.0.*");
  model.freeze("blocks.1.mlp.fc2.weight");
  model.forward(images.data(), 4);
  model.zero_grad();
  for (auto* p : model.parameters())
    if (p->frozen) p->grad.fill(7.0f);
  model.backward(dlogits.data());
  for (auto* p : model.parameters()) {
    CAPTURE(p->name);
    if (p->frozen) CHECK(p->grad[0] == 7.0f);
  }
  CHECK(model.blocks[1]->mlp.fc1.weight.grad[0] != 0.0f);
}

TEST_CASE("Trainer: frozen backbone unchanged after steps, the head trained; then all layers") {
  const data::Dataset ds = synthetic();
  VHMN<float> model(small_config(), 1);
  model.freeze("*");
  model.unfreeze("head.*");
  std::vector<std::vector<float>> before;
  for (auto* p : model.parameters()) before.push_back(values_of(*p));
  train::TrainOptions to;
  to.epochs = 1;
  to.lr = 1e-2;
  to.optimizer.kind = train::OptimizerKind::AdamW;  // decay would move frozen weights if applied
  train::Trainer<float> trainer(model, ds, nullptr, data::compute_normalization(ds), loader_options(), to);
  trainer.fit();
  const auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i]->name);
    CHECK((values_of(*params[i]) == before[i]) == params[i]->frozen);
  }
  model.unfreeze("*");
  train::TrainOptions more = to;
  more.epochs = 1;
  train::Trainer<float> all(model, ds, nullptr, data::compute_normalization(ds), loader_options(), more);
  all.fit();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i]->name);
    if (params[i]->name == "blocks.0.local.refine.beta") continue;
    CHECK(values_of(*params[i]) != before[i]);
  }
}

TEST_CASE("loss objects: gradients against central differences; cross-entropy is the default") {
  Rng rng(8);
  const index_t B = 3, K = 4;
  V logits = normal_vector(B * K, rng), targets(B * K, 0.0);
  targets[0 * K + 1] = 1;
  targets[1 * K + 0] = 0.6, targets[1 * K + 3] = 0.4;
  for (index_t k = 0; k < K; ++k) targets[2 * K + k] = 0.25;
  const std::int32_t labels[3] = {1, 0, 0};
  auto check = [&](train::LossFunction<double> fn) {
    const train::LossBatch<double> batch{logits.data(), targets.data(), labels, B, K};
    V dlogits(B * K, 0.0), scratch(B * K);
    fn(batch, dlogits.data());
    auto loss = [&] { return fn(batch, scratch.data()); };
    CHECK(check_gradient(logits.data(), dlogits.data(), B * K, loss).rel() < 1e-7);
  };
  check(train::CrossEntropyLoss<double>{});
  check(train::SquaredErrorLoss<double>{});
  // golden value of the squared error, worked out: 1/(2B) sum (z - t)^2
  double sq = 0;
  for (index_t i = 0; i < B * K; ++i) sq += (logits[i] - targets[i]) * (logits[i] - targets[i]);
  V d(B * K, 0.0);
  CHECK(train::SquaredErrorLoss<double>{}(train::LossBatch<double>{logits.data(), targets.data(), labels, B, K},
                                          d.data()) == doctest::Approx(sq / (2 * B)));

  // The Trainer calls the loss it is given, with each batch, and steps on its gradient.
  const data::Dataset ds = synthetic();
  VHMN<float> model(small_config(), 1);
  train::TrainOptions to;
  to.epochs = 1;
  train::Trainer<float> trainer(model, ds, nullptr, data::compute_normalization(ds), loader_options(), to);
  int calls = 0;
  trainer.loss = [&calls](const train::LossBatch<float>& b, float*) {
    ++calls;
    CHECK(b.batch == 8);
    CHECK(b.classes == 10);
    return 0.25;  // and no gradient: nothing moves but the weight decay
  };
  std::vector<double> reported;
  trainer.on_step = [&](const train::StepInfo& s) { reported.push_back(s.loss); };
  const std::vector<float> w = values_of(model.head.bias);  // biases get no decay
  trainer.fit();
  CHECK(calls == 5);
  CHECK(reported == std::vector<double>(5, 0.25));
  CHECK(values_of(model.head.bias) == w);
  train::Trainer<float> empty(model, ds, nullptr, data::compute_normalization(ds), loader_options(), to);
  empty.loss = nullptr;
  CHECK_THROWS_WITH_AS(empty.fit(), doctest::Contains("Trainer::loss is empty"), Error);
}

TEST_CASE("Trainer: a static-size VHMN<float, 8, 4> trains like the dynamic model of the same config") {
  const data::Dataset ds = synthetic();
  VHMN<float, 8, 4> fixed(small_config(), 1);
  VHMN<float> dynamic(small_config(), 1);
  train::TrainOptions to;
  to.epochs = 2;
  to.lr = 3e-3;
  const auto norm = data::compute_normalization(ds);
  train::Trainer trainer(fixed, ds, &ds, norm, loader_options(), to);  // deduced: Trainer<float, VHMN<float, 8, 4>>
  static_assert(std::is_same_v<decltype(trainer)::Model, VHMN<float, 8, 4>>);
  std::vector<train::EpochStats> a, b;
  trainer.on_epoch = [&](const train::EpochStats& e) { a.push_back(e); };
  trainer.fit();
  train::Trainer<float> reference(dynamic, ds, &ds, norm, loader_options(), to);
  reference.on_epoch = [&](const train::EpochStats& e) { b.push_back(e); };
  reference.fit();
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  CHECK(a[1].train_loss < a[0].train_loss);
  for (int e = 0; e < 2; ++e) {
    CHECK(a[e].train_loss == doctest::Approx(b[e].train_loss).epsilon(1e-4));
    CHECK(a[e].test_loss == doctest::Approx(b[e].test_loss).epsilon(1e-4));
  }
  CHECK(fixed.blocks[1]->global.path.bank.written_count() == 10);
}

TEST_CASE("grad-ready hook: each group once, in backward order, with its final gradients; frozen groups skipped") {
  // depth 2: groups 3 {norm, pool, head}, 2 blocks.1, 1 blocks.0, 0 the patch embedding
  auto both = [](auto& a, auto& b, std::initializer_list<const char*> frozen) {
    for (auto* m : {&a, &b}) {
      m->unfreeze("*");
      for (const char* pattern : frozen) m->freeze(pattern);
    }
  };
  VHMN<float> model(small_config(), 1), twin(small_config(), 1);
  SUBCASE("all trainable") {
    check_grad_ready_hook(model, twin, {3, 2, 1, 0});
  }
  SUBCASE("lower block and the patch embedding frozen: not run, not reported") {
    both(model, twin, {"blocks.0.*", "patch_embed.*", "pos_embed"});
    check_grad_ready_hook(model, twin, {3, 2});
  }
  SUBCASE("a frozen block between trainable ones: its backward runs, it is not reported") {
    both(model, twin, {"blocks.1.*"});
    check_grad_ready_hook(model, twin, {3, 1, 0});
  }
  SUBCASE("one trainable parameter makes its group reported; a frozen head group is skipped") {
    both(model, twin, {"*"});
    model.unfreeze("blocks.0.norm1.*");
    twin.unfreeze("blocks.0.norm1.*");
    check_grad_ready_hook(model, twin, {1});
    both(model, twin, {"norm.*", "pool.*", "head.*"});
    check_grad_ready_hook(model, twin, {2, 1, 0});
  }
  SUBCASE("everything frozen: never called") {
    both(model, twin, {"*"});
    int calls = 0;
    model.set_grad_ready_hook([&calls](GradGroup) { ++calls; });
    std::vector<float> images(4 * 64, 0.5f), dlogits(4 * 10, 0.1f);
    model.forward(images.data(), 4);
    model.zero_grad();
    model.backward(dlogits.data());
    CHECK(calls == 0);
    model.set_grad_ready_hook(nullptr);
  }
  SUBCASE("a static-size VHMN<float, 8, 4>") {
    VHMN<float, 8, 4> fixed(small_config(), 1), fixed_twin(small_config(), 1);
    check_grad_ready_hook(fixed, fixed_twin, {3, 2, 1, 0});
  }
}
