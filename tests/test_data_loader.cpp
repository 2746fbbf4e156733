// DataLoader: batches depend only on (seed, epoch, batch number) — equal for
// 0, 1 and 3 workers; epochs cover every sample once; drop_last; restarts
// and destruction mid-epoch; a worker's exception reaches the caller.
#include <doctest/doctest.h>

#include <set>

#include "test_data_util.hpp"
#include "vhmn/data/loader.hpp"

using namespace vhmn_test_data;
using vhmn::Error;
using vhmn::index_t;
namespace vd = vhmn::data;

namespace {
vd::LoaderOptions full_options(int workers) {
  vd::LoaderOptions o;
  o.batch_size = 16;
  o.num_workers = workers;
  o.prefetch = 2;
  o.seed = 77;
  o.augment = vd::AugmentOptions::paper_cifar();
  o.augment.erasing = 0.5;
  o.augment.randaugment = 0.3;
  return o;
}

template <class T>
std::vector<vd::BasicBatch<T>> run_epoch(vd::BasicDataLoader<T>& loader, index_t epoch) {
  std::vector<vd::BasicBatch<T>> out;
  loader.start_epoch(epoch);
  vd::BasicBatch<T> b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

template <class T>
bool same(const vd::BasicBatch<T>& a, const vd::BasicBatch<T>& b) {
  return a.images.shape() == b.images.shape() && std::equal(a.images.begin(), a.images.end(), b.images.begin()) &&
         a.targets.shape() == b.targets.shape() && std::equal(a.targets.begin(), a.targets.end(), b.targets.begin()) &&
         a.labels == b.labels && a.indices == b.indices && a.epoch == b.epoch && a.number == b.number;
}
}  // namespace

TEST_CASE("data: loader batches are identical for 0, 1 and 3 workers, and cover the epoch once") {
  const vd::Dataset ds = synthetic({30, 25, 20, 18}, 3, 8, 8);  // 93 samples: 5 full batches + 13
  const vd::Normalization norm = vd::compute_normalization(ds);
  vd::DataLoader l0(ds, norm, full_options(0)), l1(ds, norm, full_options(1)), l3(ds, norm, full_options(3));
  CHECK(l0.num_batches() == 6);
  for (index_t epoch : {0, 1}) {
    const auto b0 = run_epoch(l0, epoch), b1 = run_epoch(l1, epoch), b3 = run_epoch(l3, epoch);
    REQUIRE(b0.size() == 6u);
    REQUIRE(b1.size() == 6u);
    REQUIRE(b3.size() == 6u);
    std::multiset<std::int64_t> seen;
    for (std::size_t k = 0; k < b0.size(); ++k) {
      CHECK(same(b0[k], b1[k]));
      CHECK(same(b0[k], b3[k]));
      vd::Batch direct;
      l3.make_batch(epoch, static_cast<index_t>(k), direct);
      CHECK(same(b0[k], direct));
      CHECK(b0[k].images.shape() == vhmn::Shape{k < 5 ? 16 : 13, 3, 8, 8});
      CHECK(b0[k].targets.shape() == vhmn::Shape{k < 5 ? 16 : 13, 4});
      seen.insert(b0[k].indices.begin(), b0[k].indices.end());
      for (index_t b = 0; b < b0[k].size(); ++b) {
        double sum = 0;
        for (index_t c = 0; c < 4; ++c) sum += b0[k].targets[b * 4 + c];
        CHECK(sum == doctest::Approx(1.0));
        const std::int32_t y = b0[k].labels[static_cast<std::size_t>(b)];
        CHECK(b0[k].targets[b * 4 + y] >= 0.25);  // the dominant label carries the most weight (>= 1/K)
      }
    }
    // Every sample exactly once, named by its source index.
    CHECK(seen == std::multiset<std::int64_t>(ds.source_index.begin(), ds.source_index.end()));
  }
  // Different epochs shuffle differently; a different seed gives other batches.
  CHECK(l0.epoch_order(0) != l0.epoch_order(1));
  vd::LoaderOptions other = full_options(0);
  other.seed = 78;
  vd::DataLoader lo(ds, norm, other);
  vd::Batch a, b;
  l0.make_batch(0, 0, a);
  lo.make_batch(0, 0, b);
  CHECK(!same(a, b));
}

TEST_CASE("data: without augmentation or shuffle a batch is the normalised images in order") {
  const vd::Dataset ds = synthetic({5, 5}, 1, 4, 4);
  const vd::Normalization norm = vd::compute_normalization(ds);
  vd::LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  o.drop_last = true;
  o.num_workers = 2;
  vd::BasicDataLoader<double> loader(ds, norm, o);
  CHECK(loader.num_batches() == 2);
  const auto batches = run_epoch(loader, 3);
  REQUIRE(batches.size() == 2u);
  vhmn::Tensor<double> want;
  vd::normalize_images(ds, {4, 5, 6, 7}, norm, want);
  CHECK(std::equal(want.begin(), want.end(), batches[1].images.begin()));
  CHECK(batches[1].indices == std::vector<std::int64_t>{1004, 1005, 1006, 1007});
  CHECK(batches[1].labels == std::vector<std::int32_t>{ds.labels[4], ds.labels[5], ds.labels[6], ds.labels[7]});
  CHECK(batches[1].epoch == 3);
  CHECK(batches[1].number == 1);
  CHECK(batches[1].targets[0 * 2 + ds.labels[4]] == 1.0);

  // The double loader sees the same pixels as the float one, to float precision.
  vd::DataLoader lf(ds, norm, o);
  const auto fb = run_epoch(lf, 3);
  for (index_t i = 0; i < fb[0].images.numel(); ++i)
    CHECK(fb[0].images[i] == doctest::Approx(batches[0].images[i]).epsilon(1e-6));
}

TEST_CASE("data: loader restarts, early destruction and option errors") {
  const vd::Dataset ds = synthetic({40, 40}, 3, 8, 8);
  const vd::Normalization norm = vd::compute_normalization(ds);
  {
    vd::DataLoader loader(ds, norm, full_options(3));
    vd::Batch b;
    CHECK_THROWS_WITH_AS(loader.next(b), doctest::Contains("call start_epoch"), Error);
    loader.start_epoch(0);
    REQUIRE(loader.next(b));
    loader.start_epoch(1);  // restart while workers are busy with epoch 0
    REQUIRE(loader.next(b));
    CHECK(b.epoch == 1);
    CHECK(b.number == 0);
    vd::Batch direct;
    loader.make_batch(1, 0, direct);
    CHECK(same(b, direct));
    loader.start_epoch(2);
    REQUIRE(loader.next(b));
  }  // destroyed mid-epoch: joins its workers
  {
    vd::DataLoader idle(ds, norm, full_options(2));  // never started
  }
  vd::LoaderOptions o = full_options(1);
  o.batch_size = 0;
  CHECK_THROWS_WITH_AS(vd::DataLoader(ds, norm, o), doctest::Contains("batch_size must be > 0"), Error);
  o = full_options(1);
  o.augment.mixup = 0.7;
  o.augment.cutmix = 0.7;
  CHECK_THROWS_WITH_AS(vd::DataLoader(ds, norm, o), doctest::Contains("mixup + cutmix probabilities exceed 1"), Error);
  o = full_options(1);
  o.augment.flip = 2;
  CHECK_THROWS_WITH_AS(vd::DataLoader(ds, norm, o), doctest::Contains("probability 2 outside [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(vd::DataLoader(ds, vd::Normalization::identity(1), full_options(1)),
                       doctest::Contains("normalisation has 1 channels"), Error);
}

TEST_CASE("data: an exception while building a batch is re-thrown by next()") {
  vd::Dataset ds = synthetic({10, 10}, 1, 4, 4);
  const vd::Normalization norm = vd::compute_normalization(ds);
  ds.labels[13] = 9;  // out of range: building the batch holding it fails
  for (int workers : {0, 2}) {
    CAPTURE(workers);
    vd::LoaderOptions o;
    o.batch_size = 5;
    o.shuffle = false;
    o.num_workers = workers;
    vd::DataLoader loader(ds, norm, o);
    loader.start_epoch(0);
    vd::Batch b;
    CHECK(loader.next(b));  // samples 0-4
    CHECK(loader.next(b));  // 5-9
    CHECK_THROWS_WITH_AS(loader.next(b), doctest::Contains("label 9 of sample 3 outside [0, 2)"), Error);
    CHECK(loader.next(b));  // 15-19: the loader goes on
    CHECK(b.number == 3);
    CHECK(!loader.next(b));
  }
}
