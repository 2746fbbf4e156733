// Normalisation statistics, stratified and long-tailed subsets, per-image
// augmentation (crop, flip, erasing, AutoAugment/RandAugment ops) and
// batch-level MixUp / CutMix.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "test_data_util.hpp"
#include "vhmn/data/augment.hpp"
#include "vhmn/data/mix.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/data/subset.hpp"

using namespace vhmn_test_data;
using vhmn::Error;
using vhmn::index_t;
using vhmn::Rng;
using vhmn::Tensor;
namespace vd = vhmn::data;

namespace {
Bytes random_image(index_t n, std::uint64_t seed) {
  Rng rng(seed);
  Bytes img(static_cast<std::size_t>(n));
  for (auto& v : img) v = static_cast<std::uint8_t>(rng.below(256));
  return img;
}
}  // namespace

// ---------------------------------------------------------------- normalise

TEST_CASE("data: normalisation statistics are the per-channel mean/std of pixels/255") {
  vd::Dataset ds = synthetic({1, 1}, 2, 1, 2);
  ds.pixels = {0, 255, 10, 10, /* image 1 */ 255, 0, 10, 10};  // channel 0: 0,255,255,0; channel 1: all 10
  const vd::Normalization n = vd::compute_normalization(ds);
  REQUIRE(n.channels() == 2);
  CHECK(n.mean[0] == doctest::Approx(0.5));
  CHECK(n.std[0] == doctest::Approx(0.5));
  CHECK(n.mean[1] == doctest::Approx(10.0 / 255));
  CHECK(n.std[1] == 1.0);  // a constant channel gets std 1 (no division by zero)

  Tensor<float> out;
  vd::normalize_images(ds, {1, 0}, n, out);
  CHECK(out.shape() == vhmn::Shape{2, 2, 1, 2});
  CHECK(out[0] == doctest::Approx(1.0));   // image 1, channel 0, pixel 255
  CHECK(out[1] == doctest::Approx(-1.0));  // pixel 0
  CHECK(out[2] == doctest::Approx(0.0));   // channel 1: (10/255 - 10/255) / 1
  Tensor<double> outd;
  vd::normalize_images(ds, {1, 0}, n, outd);
  for (index_t i = 0; i < out.numel(); ++i) CHECK(outd[i] == doctest::Approx(out[i]).epsilon(1e-6));

  // On random data the normalised set has mean 0 and std 1 per channel.
  const vd::Dataset big = synthetic({50, 50}, 3, 4, 4, 7);
  const vd::Normalization nb = vd::compute_normalization(big);
  std::vector<index_t> all(static_cast<std::size_t>(big.size));
  std::iota(all.begin(), all.end(), 0);
  Tensor<double> x;
  vd::normalize_images(big, all, nb, x);
  for (index_t c = 0; c < 3; ++c) {
    double s1 = 0, s2 = 0;
    for (index_t i = 0; i < big.size; ++i)
      for (index_t p = 0; p < 16; ++p) {
        const double v = x[(i * 3 + c) * 16 + p];
        s1 += v;
        s2 += v * v;
      }
    const double m = s1 / (big.size * 16.0);
    CHECK(m == doctest::Approx(0.0).epsilon(1e-9).scale(1));
    CHECK(std::sqrt(s2 / (big.size * 16.0) - m * m) == doctest::Approx(1.0).epsilon(1e-9));
  }
  CHECK_THROWS_WITH_AS(vd::normalize_images(big, all, vd::Normalization::identity(1), x),
                       doctest::Contains("normalisation has 1 channels"), Error);
}

// ------------------------------------------------------------------ subsets

TEST_CASE("data: stratified fractions keep floor(f n_c + 1/2) of every class, seeded") {
  const vd::Dataset ds = synthetic({10, 20, 7, 1}, 1, 1, 1);
  CHECK(vd::stratified_counts({10, 20, 7, 1}, 0.3) == std::vector<index_t>{3, 6, 2, 1});
  CHECK(vd::stratified_counts({10, 20, 7, 1}, 0.5) == std::vector<index_t>{5, 10, 4, 1});  // 3.5 rounds up
  CHECK(vd::stratified_counts({10, 20, 7, 1}, 0.01) == std::vector<index_t>{1, 1, 1, 1});  // at least one
  CHECK(vd::stratified_counts({5000}, 0.1) == std::vector<index_t>{500});
  for (double f : {0.1, 0.3, 0.5, 1.0}) {
    const std::vector<index_t> idx = vd::stratified_fraction(ds, f, 42);
    CHECK(std::is_sorted(idx.begin(), idx.end()));
    CHECK(std::set<index_t>(idx.begin(), idx.end()).size() == idx.size());
    CHECK(ds.subset(idx).class_counts() == vd::stratified_counts(ds.class_counts(), f));
  }
  CHECK(vd::stratified_fraction(ds, 0.3, 42) == vd::stratified_fraction(ds, 0.3, 42));
  CHECK(vd::stratified_fraction(ds, 0.3, 42) != vd::stratified_fraction(ds, 0.3, 43));
  const std::vector<index_t> chosen = vd::stratified_fraction(ds, 0.3, 1), rest = vd::complement(chosen, ds.size);
  CHECK(chosen.size() + rest.size() == static_cast<std::size_t>(ds.size));
  std::vector<index_t> both = chosen;
  both.insert(both.end(), rest.begin(), rest.end());
  std::sort(both.begin(), both.end());
  CHECK(std::adjacent_find(both.begin(), both.end()) == both.end());
  CHECK_THROWS_WITH_AS(vd::stratified_fraction(ds, 0.0, 1), doctest::Contains("must be in (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(vd::stratified_fraction(ds, 1.5, 1), doctest::Contains("must be in (0, 1]"), Error);
}

TEST_CASE("data: long-tailed subsets keep floor(n_max R^(-c/(K-1))) per class") {
  // The CIFAR-LT protocol's published sizes.
  CHECK(vd::long_tail_counts(5000, 10, 100) ==
        std::vector<index_t>{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50});
  CHECK(vd::long_tail_counts(5000, 10, 50) ==
        std::vector<index_t>{5000, 3237, 2096, 1357, 878, 568, 368, 238, 154, 100});
  for (auto [R, total] : {std::pair{100.0, index_t(10847)}, {50.0, index_t(12608)}}) {
    const std::vector<index_t> c100 = vd::long_tail_counts(500, 100, R);
    CHECK(std::accumulate(c100.begin(), c100.end(), index_t(0)) == total);
    CHECK(c100.front() == 500);
    CHECK(c100.back() == static_cast<index_t>(500 / R));
  }
  CHECK(vd::long_tail_counts(7, 1, 100) == std::vector<index_t>{7});

  // On a data set: exact counts per class, seeded choice.
  const vd::Dataset ds = synthetic({60, 70, 65, 80}, 1, 1, 1);
  const std::vector<index_t> idx = vd::long_tail_indices(ds, 10, 5);  // n_max = smallest class = 60
  CHECK(ds.subset(idx).class_counts() == std::vector<index_t>{60, 27, 12, 6});
  CHECK(std::is_sorted(idx.begin(), idx.end()));
  CHECK(vd::long_tail_indices(ds, 10, 5) == idx);
  CHECK(vd::long_tail_indices(ds, 10, 6) != idx);
  CHECK(ds.subset(vd::long_tail_indices(ds, 100, 5, 50)).class_counts() == vd::long_tail_counts(50, 4, 100));
  CHECK_THROWS_WITH_AS(vd::long_tail_indices(ds, 10, 5, 61), doctest::Contains("class 0 has 60 images, 61 requested"),
                       Error);
  CHECK_THROWS_WITH_AS(vd::long_tail_counts(10, 4, 0.5), doctest::Contains("imbalance ratio must be >= 1"), Error);
}

// ------------------------------------------------------------- crop / flip

TEST_CASE("data: two flips are the identity; one mirrors each row") {
  Bytes img = random_image(3 * 5 * 6, 1);
  const Bytes orig = img;
  vd::hflip(img.data(), 3, 5, 6);
  CHECK(img != orig);
  CHECK(img[static_cast<std::size_t>((2 * 5 + 3) * 6 + 0)] == orig[static_cast<std::size_t>((2 * 5 + 3) * 6 + 5)]);
  vd::hflip(img.data(), 3, 5, 6);
  CHECK(img == orig);
  std::vector<float> f(orig.begin(), orig.end());
  Rng rng(3);
  int flips = 0;
  for (int i = 0; i < 200; ++i) flips += vd::random_hflip(f.data(), 3, 5, 6, rng) ? 1 : 0;
  CHECK(flips > 70);
  CHECK(flips < 130);
  if (flips % 2 == 0) CHECK(f == std::vector<float>(orig.begin(), orig.end()));
}

TEST_CASE("data: random crop keeps the shape; content is a shifted window with zeros in the padding") {
  const index_t C = 3, H = 8, W = 9, pad = 4;
  Bytes orig = random_image(C * H * W, 2);
  for (auto& v : orig) v = static_cast<std::uint8_t>(v | 1);  // no zero pixels: zeros can only be padding
  Rng rng(11);
  std::set<std::pair<index_t, index_t>> seen;
  for (int trial = 0; trial < 1000; ++trial) {
    Bytes img = orig;
    const vd::CropOffset o = vd::random_crop(img.data(), C, H, W, rng, pad);
    REQUIRE(img.size() == orig.size());
    CHECK(std::abs(o.dy) <= pad);
    CHECK(std::abs(o.dx) <= pad);
    seen.insert({o.dy, o.dx});
    for (index_t c = 0; c < C; ++c)
      for (index_t y = 0; y < H; ++y)
        for (index_t x = 0; x < W; ++x) {
          const index_t sy = y + o.dy, sx = x + o.dx;
          const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
          const std::uint8_t want = inside ? orig[static_cast<std::size_t>((c * H + sy) * W + sx)] : 0;
          if (img[static_cast<std::size_t>((c * H + y) * W + x)] != want) {
            FAIL_CHECK("crop mismatch at " << c << "," << y << "," << x);
            return;
          }
        }
  }
  CHECK(seen.size() == 81u);  // every offset in [-4, 4]^2 occurs
  // Same on float, and the same seed gives the same crop.
  std::vector<float> a(orig.begin(), orig.end()), b = a;
  Rng r1(5), r2(5);
  vd::random_crop(a.data(), C, H, W, r1);
  vd::random_crop(b.data(), C, H, W, r2);
  CHECK(a == b);
}

// ------------------------------------------------------------ random erasing

TEST_CASE("data: random erasing fills one box whose area is within bounds") {
  const index_t C = 3, H = 16, W = 20;
  Rng rng(9);
  int applied = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<float> img(static_cast<std::size_t>(C * H * W), 5.0f);
    vd::EraseOptions opt;
    opt.p = 0.5;
    opt.random_values = trial % 2 == 0;
    const vd::EraseBox box = vd::random_erase(img.data(), C, H, W, rng, opt);
    if (!box.applied) {
      CHECK(std::all_of(img.begin(), img.end(), [](float v) { return v == 5.0f; }));
      continue;
    }
    ++applied;
    const double frac = static_cast<double>(box.height * box.width) / (H * W);
    CHECK(frac >= 0.02);
    CHECK(frac <= 0.33);
    CHECK(box.top >= 0);
    CHECK(box.left >= 0);
    CHECK(box.top + box.height <= H);
    CHECK(box.left + box.width <= W);
    int changed = 0, outside_changed = 0;
    for (index_t c = 0; c < C; ++c)
      for (index_t y = 0; y < H; ++y)
        for (index_t x = 0; x < W; ++x) {
          const float v = img[static_cast<std::size_t>((c * H + y) * W + x)];
          const bool in = y >= box.top && y < box.top + box.height && x >= box.left && x < box.left + box.width;
          if (in && !opt.random_values) CHECK(v == 0.0f);
          if (in && v != 5.0f) ++changed;
          if (!in && v != 5.0f) ++outside_changed;
        }
    CHECK(outside_changed == 0);
    CHECK(changed == C * box.height * box.width);
  }
  CHECK(applied > 200);
  CHECK(applied < 300);
}

// ---------------------------------------------------- AutoAugment image ops

TEST_CASE("data: AutoAugment ops at neutral magnitudes are the identity") {
  const index_t C = 3, H = 10, W = 12;
  const Bytes orig = random_image(C * H * W, 4);
  auto same = [&](auto op) {
    Bytes img = orig;
    op(img.data());
    return img == orig;
  };
  CHECK(same([&](std::uint8_t* p) { vd::shear_x(p, C, H, W, 0.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::shear_y(p, C, H, W, 0.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::translate_x(p, C, H, W, 0.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::translate_y(p, C, H, W, 0.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::rotate(p, C, H, W, 0.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::solarize(p, C, H, W, 256); }));
  CHECK(same([&](std::uint8_t* p) { vd::posterize(p, C, H, W, 8); }));
  CHECK(same([&](std::uint8_t* p) { vd::adjust_brightness(p, C, H, W, 1.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::adjust_contrast(p, C, H, W, 1.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::adjust_color(p, C, H, W, 1.0); }));
  CHECK(same([&](std::uint8_t* p) { vd::adjust_sharpness(p, C, H, W, 1.0); }));
  CHECK(same([&](std::uint8_t* p) {
    vd::invert(p, C, H, W);
    vd::invert(p, C, H, W);
  }));
}

TEST_CASE("data: AutoAugment ops do what they say") {
  const index_t C = 3, H = 8, W = 8, n = H * W;
  const Bytes orig = random_image(C * n, 5);
  auto px = [&](const Bytes& b, index_t c, index_t y, index_t x) {
    return b[static_cast<std::size_t>((c * H + y) * W + x)];
  };

  Bytes img = orig;
  vd::translate_x(img.data(), C, H, W, 3, 128);  // content moves right by 3, grey enters on the left
  CHECK(px(img, 1, 4, 5) == px(orig, 1, 4, 2));
  CHECK(px(img, 1, 4, 2) == 128);
  img = orig;
  vd::translate_y(img.data(), C, H, W, -2, 7);  // content moves up by 2
  CHECK(px(img, 2, 1, 6) == px(orig, 2, 3, 6));
  CHECK(px(img, 2, 7, 6) == 7);
  img = orig;
  vd::rotate(img.data(), C, H, W, 90);  // counter-clockwise: out(x, y) = in(W-1-y, x)
  bool rot_ok = true;
  for (index_t y = 0; y < H; ++y)
    for (index_t x = 0; x < W; ++x) rot_ok = rot_ok && px(img, 0, y, x) == px(orig, 0, x, W - 1 - y);
  CHECK(rot_ok);
  img = orig;
  vd::shear_x(img.data(), C, H, W, 0.25);  // row y shifts by -0.25 (y + 0.5 - 4)
  CHECK(px(img, 0, 0, 3) == px(orig, 0, 0, 2));  // row 0: source x = 3.5 - 0.875 = 2.625 -> 2

  img = orig;
  vd::auto_contrast(img.data(), C, H, W);
  for (index_t c = 0; c < C; ++c) {
    CHECK(*std::min_element(img.begin() + c * n, img.begin() + (c + 1) * n) == 0);
    CHECK(*std::max_element(img.begin() + c * n, img.begin() + (c + 1) * n) == 255);
  }
  img = orig;
  vd::solarize(img.data(), C, H, W, 128);
  for (std::size_t i = 0; i < img.size(); ++i) CHECK(img[i] == (orig[i] >= 128 ? 255 - orig[i] : orig[i]));
  img = orig;
  vd::posterize(img.data(), C, H, W, 3);
  for (std::size_t i = 0; i < img.size(); ++i) CHECK(img[i] == (orig[i] & 0xE0));
  img = orig;
  vd::adjust_color(img.data(), C, H, W, 0.0);  // fully desaturated: three equal planes
  CHECK(std::equal(img.begin(), img.begin() + n, img.begin() + n));
  CHECK(std::equal(img.begin(), img.begin() + n, img.begin() + 2 * n));
  img = orig;
  vd::adjust_contrast(img.data(), C, H, W, 0.0);  // a constant grey image
  CHECK(std::all_of(img.begin(), img.end(), [&](std::uint8_t v) { return v == img[0]; }));
  img = orig;
  vd::adjust_brightness(img.data(), C, H, W, 0.0);
  CHECK(std::all_of(img.begin(), img.end(), [](std::uint8_t v) { return v == 0; }));

  // Equalize: 1024 pixels on four grey levels spread to 0, 85, 171, 255
  // (step = (1024 - 256) / 255 = 3, level k maps to (1 + 256 k) / 3) ...
  Bytes g(1024);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<std::uint8_t>(100 + i / 256);
  vd::equalize(g.data(), 1, 32, 32);
  CHECK(g[0] == 0);
  CHECK(g[256] == 85);
  CHECK(g[512] == 171);
  CHECK(g[768] == 255);
  // ... while on 64 pixels the step is 0 and the image is left alone (as PIL does).
  Bytes small(64);
  for (std::size_t i = 0; i < small.size(); ++i) small[i] = static_cast<std::uint8_t>(100 + i / 16);
  const Bytes small_orig = small;
  vd::equalize(small.data(), 1, 8, 8);
  CHECK(small == small_orig);
}

TEST_CASE("data: every op at every AutoAugment magnitude keeps shape, and the policy table is sane") {
  const auto& policy = vd::cifar10_policy();
  CHECK(policy.size() == 25u);
  for (const vd::SubPolicy& sp : policy)
    for (const vd::PolicyStep& s : sp) {
      CHECK(s.p >= 0.0);
      CHECK(s.p <= 1.0);
      CHECK(s.magnitude >= 0);
      CHECK(s.magnitude <= 9);
    }
  const index_t C = 3, H = 12, W = 12;
  const Bytes orig = random_image(C * H * W, 6);
  Rng rng(1);
  for (int op = 0; op <= static_cast<int>(vd::AugOp::Sharpness); ++op)
    for (int m = 0; m <= 9; ++m) {
      Bytes img = orig;
      vd::apply_op(static_cast<vd::AugOp>(op), m / 9.0, img.data(), C, H, W, rng);
      CHECK(img.size() == orig.size());
    }
  // Grey images too (Color is a no-op there).
  Bytes grey = random_image(H * W, 7);
  for (int k = 0; k < 50; ++k) vd::auto_augment(grey.data(), 1, H, W, rng);
  CHECK_THROWS_WITH_AS(vd::apply_op(vd::AugOp::Rotate, 1.5, grey.data(), 1, H, W, rng),
                       doctest::Contains("level 1.5 outside [0, 1]"), Error);
  CHECK(std::string(vd::aug_op_name(vd::AugOp::TranslateY)) == "TranslateY");
}

TEST_CASE("data: AutoAugment and RandAugment: same seed, same image; other seed, other image") {
  const index_t C = 3, H = 16, W = 16;
  const Bytes orig = random_image(C * H * W, 8);
  auto run_aa = [&](std::uint64_t seed) {
    Rng rng(seed);
    Bytes img = orig;
    for (int k = 0; k < 4; ++k) vd::auto_augment(img.data(), C, H, W, rng);
    return img;
  };
  auto run_ra = [&](std::uint64_t seed) {
    Rng rng(seed);
    Bytes img = orig;
    vd::rand_augment(img.data(), C, H, W, rng, 3, 9);
    return img;
  };
  CHECK(run_aa(1) == run_aa(1));
  CHECK(run_aa(1) != run_aa(2));
  CHECK(run_ra(1) == run_ra(1));
  CHECK(run_ra(1) != run_ra(2));
  // Over many seeds every sub-policy is picked.
  std::set<int> picked;
  Rng rng(3);
  Bytes img = orig;
  for (int k = 0; k < 500; ++k) picked.insert(vd::auto_augment(img.data(), C, H, W, rng));
  CHECK(picked.size() == 25u);
}

// ------------------------------------------------------------ MixUp / CutMix

namespace {
struct MixBatch {
  Tensor<float> images, targets;
  std::vector<std::int32_t> labels;
};
MixBatch make_batch(index_t B, index_t C, index_t H, index_t W, index_t K, double smoothing) {
  MixBatch m;
  m.images.resize({B, C, H, W});
  for (index_t b = 0; b < B; ++b)
    for (index_t i = 0; i < C * H * W; ++i) m.images[b * C * H * W + i] = static_cast<float>(b * 1000 + i);
  for (index_t b = 0; b < B; ++b) m.labels.push_back(static_cast<std::int32_t>(b % K));
  vd::one_hot_targets(m.labels, K, smoothing, m.targets);
  return m;
}
}  // namespace

TEST_CASE("data: one-hot targets with label smoothing") {
  Tensor<float> t;
  vd::one_hot_targets({2, 0}, 4, 0.1, t);
  CHECK(t.shape() == vhmn::Shape{2, 4});
  CHECK(t[2] == doctest::Approx(0.925));
  CHECK(t[0] == doctest::Approx(0.025));
  CHECK(t[4] == doctest::Approx(0.925));
  CHECK_THROWS_WITH_AS(vd::one_hot_targets({4}, 4, 0.0, t), doctest::Contains("label 4 of sample 0 outside [0, 4)"),
                       Error);
}

TEST_CASE("data: MixUp mixes images and targets with one lambda; weights sum to one; dominant label") {
  const index_t B = 16, C = 2, H = 3, W = 3, K = 5, n = C * H * W;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    MixBatch m = make_batch(B, C, H, W, K, 0.1);
    const MixBatch orig = m;
    Rng rng(seed);
    const vd::MixResult r = vd::mixup(m.images, m.targets, m.labels, rng, 0.8);
    CHECK(r.lambda >= 0.0);
    CHECK(r.lambda <= 1.0);
    std::vector<index_t> perm = r.partner;
    std::sort(perm.begin(), perm.end());
    for (index_t b = 0; b < B; ++b) CHECK(perm[static_cast<std::size_t>(b)] == b);  // a permutation
    for (index_t b = 0; b < B; ++b) {
      const index_t p = r.partner[static_cast<std::size_t>(b)];
      for (index_t i = 0; i < n; i += 5)
        CHECK(m.images[b * n + i] ==
              doctest::Approx(r.lambda * orig.images[b * n + i] + (1 - r.lambda) * orig.images[p * n + i]));
      double sum = 0;
      index_t argmax = 0;
      for (index_t k = 0; k < K; ++k) {
        sum += m.targets[b * K + k];
        if (m.targets[b * K + k] > m.targets[b * K + argmax]) argmax = k;
      }
      CHECK(sum == doctest::Approx(1.0));
      const std::int32_t own = orig.labels[static_cast<std::size_t>(b)];
      const std::int32_t other = orig.labels[static_cast<std::size_t>(p)];
      CHECK(m.labels[static_cast<std::size_t>(b)] == (r.lambda >= 0.5 ? own : other));
      if (own != other && std::abs(r.lambda - 0.5) > 1e-6) CHECK(argmax == m.labels[static_cast<std::size_t>(b)]);
    }
  }
}

TEST_CASE("data: CutMix pastes a box from the partner; lambda is the kept area fraction") {
  const index_t B = 8, C = 3, H = 10, W = 12, K = 4, n = C * H * W;
  int boxes = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    MixBatch m = make_batch(B, C, H, W, K, 0.0);
    const MixBatch orig = m;
    Rng rng(seed);
    const vd::MixResult r = vd::cutmix(m.images, m.targets, m.labels, rng, 1.0);
    CHECK(r.lambda == doctest::Approx(1.0 - static_cast<double>(r.height * r.width) / (H * W)));
    CHECK(r.top + r.height <= H);
    CHECK(r.left + r.width <= W);
    if (r.height * r.width > 0) ++boxes;
    for (index_t b = 0; b < B; ++b) {
      const index_t p = r.partner[static_cast<std::size_t>(b)];
      index_t pasted = 0;
      for (index_t c = 0; c < C; ++c)
        for (index_t y = 0; y < H; ++y)
          for (index_t x = 0; x < W; ++x) {
            const index_t i = (c * H + y) * W + x;
            const bool in = y >= r.top && y < r.top + r.height && x >= r.left && x < r.left + r.width;
            CHECK(m.images[b * n + i] == (in ? orig.images[p * n + i] : orig.images[b * n + i]));
            pasted += in ? 1 : 0;
          }
      CHECK(1.0 - static_cast<double>(pasted) / n == doctest::Approx(r.lambda));
      double sum = 0;
      for (index_t k = 0; k < K; ++k) sum += m.targets[b * K + k];
      CHECK(sum == doctest::Approx(1.0));
      const std::int32_t own = orig.labels[static_cast<std::size_t>(b)];
      const std::int32_t other = orig.labels[static_cast<std::size_t>(p)];
      CHECK(m.targets[b * K + own] >= r.lambda - 1e-6);
      CHECK(m.labels[static_cast<std::size_t>(b)] == (r.lambda >= 0.5 ? own : other));
    }
  }
  CHECK(boxes > 20);
  MixBatch m = make_batch(2, 1, 2, 2, 2, 0.0);
  Rng rng(1);
  CHECK_THROWS_WITH_AS(vd::cutmix(m.images, m.targets, m.labels, rng, 0.0), doctest::Contains("alpha must be > 0"),
                       Error);
  m.labels.pop_back();
  CHECK_THROWS_WITH_AS(vd::mixup(m.images, m.targets, m.labels, rng), doctest::Contains("1 labels for 2 images"),
                       Error);
}
