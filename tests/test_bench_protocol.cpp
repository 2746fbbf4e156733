// The bench protocol (train/bench_protocol.hpp): banks full, the batch and
// banks the same for the same arguments, the two steps doing what they say,
// and bad arguments named.
#include "tiny_config.hpp"
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "vhmn/train/bench_protocol.hpp"

using namespace vhmn;

namespace {
/// The tiny model of the gradient checks (3 classes, 2 blocks).
ModelConfig tiny_bench_config() {
  return vhmn_test::tiny_model_config();
}

template <class T>
bool same_values(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

std::int64_t total_writes(const MemoryBank<float>& bank) {
  return std::accumulate(bank.writes().begin(), bank.writes().end(), std::int64_t(0));
}
}  // namespace

TEST_CASE("bench protocol: every bank full, one reproducible random batch") {
  const ModelConfig c = tiny_bench_config();
  const index_t B = 5, K = c.classes;
  train::BenchProtocol<float> a(c, B), b(c, B);
  for (auto& blk : a.model.blocks)
    for (const MemoryBank<float>* bank : {&blk->local.path.bank, &blk->global.path.bank}) {
      CHECK(bank->written_count() == bank->slots());
      for (auto w : bank->writes()) CHECK(w == bank->slots_per_class());
    }
  for (std::size_t i = 0; i < a.model.blocks.size(); ++i) {
    CHECK(same_values(a.model.blocks[i]->local.path.bank.memory(), b.model.blocks[i]->local.path.bank.memory()));
    CHECK(same_values(a.model.blocks[i]->global.path.bank.memory(), b.model.blocks[i]->global.path.bank.memory()));
  }
  CHECK(a.images.shape() == Shape{B, c.channels, c.image, c.image});
  CHECK(same_values(a.images, b.images));
  CHECK(std::any_of(a.images.begin(), a.images.end(), [](float v) { return v != 0.f; }));
  CHECK(a.labels == b.labels);
  REQUIRE(a.labels.size() == static_cast<std::size_t>(B));
  for (index_t r = 0; r < B; ++r) {
    const std::int32_t y = a.labels[static_cast<std::size_t>(r)];
    CHECK((y >= 0 && y < K));
    CHECK(a.ids[static_cast<std::size_t>(r)] == r);
    for (index_t k = 0; k < K; ++k) CHECK(a.targets[r * K + k] == (k == y ? 1.f : 0.f));
  }
}

TEST_CASE("bench protocol: a training step updates the weights and writes the banks; inference writes nothing") {
  const ModelConfig c = tiny_bench_config();
  const index_t B = 4;
  train::BenchProtocol<float> bench(c, B), untouched(c, B);
  const MemoryBank<float>& global0 = bench.model.blocks[0]->global.path.bank;
  const std::int64_t before = total_writes(global0);

  const auto& refine0 = bench.model.blocks[0]->local.path.refine;
  bench.infer_step();
  CHECK(!bench.model.training());
  CHECK(refine0.attention(0) == nullptr);  // the fast path kept no retrieval weights
  CHECK(!bench.model.no_grad());           // and the switches are back at their defaults
  CHECK(bench.model.record_retrieval());
  const std::vector<float> first(bench.model.logits().begin(), bench.model.logits().end());
  bench.infer_step();
  CHECK(std::equal(first.begin(), first.end(), bench.model.logits().begin()));  // eval: banks untouched
  CHECK(total_writes(global0) == before);
  bench.infer_step(/*keep_caches=*/true);
  CHECK(refine0.attention(0) != nullptr);
  CHECK(total_writes(global0) == before);

  bench.train_step();
  CHECK(bench.model.training());
  CHECK(total_writes(global0) == before + B);  // one global write per sample
  CHECK(!same_values(bench.model.head.weight.value, untouched.model.head.weight.value));
}

TEST_CASE("bench protocol: bad arguments are named") {
  const ModelConfig c = tiny_bench_config();
  CHECK_THROWS_WITH_AS(train::BenchProtocol<float>(c, 0), doctest::Contains("batch must be >= 1, got 0"), Error);
  train::BenchProtocol<float> bench(c, 2);
  CHECK_THROWS_WITH_AS(bench.set_labels({0, 1, 2}), doctest::Contains("3 labels for a batch of 2"), Error);
  CHECK_THROWS_WITH_AS(bench.set_labels({0, 3}), doctest::Contains("label 3 of sample 1 outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(bench.set_labels({-1, 0}), doctest::Contains("label -1 of sample 0 outside [0, 3)"), Error);
  bench.set_labels({2, 0});
  CHECK(bench.labels == std::vector<std::int32_t>{2, 0});
  CHECK(bench.targets[0 * 3 + 2] == 1.f);
  CHECK(bench.targets[1 * 3 + 0] == 1.f);
  CHECK(std::accumulate(bench.targets.begin(), bench.targets.end(), 0.f) == 2.f);
}
