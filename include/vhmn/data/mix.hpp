// vhmn/data/mix.hpp — batch-level MixUp and CutMix with soft targets.
//
// What these do, on a normalised batch images [B, C, H, W] with soft targets
// [B, K] (one_hot_targets, optionally label-smoothed) and hard labels [B]:
//   partner = a seeded random permutation of 0..B-1 (a sample may draw itself)
//   MixUp  (Zhang et al. 2018): lambda ~ Beta(alpha, alpha), one per batch;
//          x_i <- lambda x_i + (1 - lambda) x_partner(i), same for targets.
//   CutMix (Yun et al. 2019):   lambda ~ Beta(alpha, alpha); a box of area
//          ~ (1 - lambda) H W centred at a uniform pixel (clipped to the
//          image) is pasted from the partner into every sample; lambda is
//          then set to 1 - box area / (H W), the weight actually kept, and
//          targets mix with it.
// Both replace labels[i] by the dominant label: the label with the larger
// weight in the mixed target (own label when lambda >= 1/2, else the
// partner's), because a memory write needs one label per sample (docs/spec.md §4).
// Ensures: each target row still sums to 1; everything drawn comes from rng.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"

namespace vhmn {
namespace data {

/// targets [B, K] <- (1 - smoothing) one_hot(labels) + smoothing / K.
template <class T>
void one_hot_targets(const std::vector<std::int32_t>& labels, index_t K, double smoothing, Tensor<T>& targets) {
  VHMN_CHECK(K > 0, "one_hot_targets: need K > 0, got " << K);
  VHMN_CHECK(smoothing >= 0.0 && smoothing < 1.0, "label smoothing must be in [0, 1), got " << smoothing);
  const index_t B = static_cast<index_t>(labels.size());
  targets.resize({B, K});
  const T off = static_cast<T>(smoothing / static_cast<double>(K));
  const T on = static_cast<T>(1.0 - smoothing + smoothing / static_cast<double>(K));
  for (index_t b = 0; b < B; ++b) {
    const std::int32_t y = labels[static_cast<std::size_t>(b)];
    VHMN_CHECK(y >= 0 && y < K, "one_hot_targets: label " << y << " of sample " << b << " outside [0, " << K << ")");
    T* row = targets.data() + b * K;
    std::fill(row, row + K, off);
    row[y] = on;
  }
}

/// What a mix did: the kept weight, the partners, and (CutMix) the pasted box.
struct MixResult {
  double lambda = 1.0;               // weight of each sample's own image/target
  std::vector<index_t> partner;      // [B] the sample mixed into sample i
  index_t top = 0, left = 0, height = 0, width = 0;  // CutMix box; all 0 for MixUp
};

namespace detail {
inline std::vector<index_t> random_permutation(index_t n, Rng& rng) {
  std::vector<index_t> p(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  for (index_t i = n - 1; i > 0; --i)
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(rng.below(i + 1))]);
  return p;
}

template <class T>
void check_mix_args(const Tensor<T>& images, const Tensor<T>& targets, const std::vector<std::int32_t>& labels,
                    double alpha, const char* what) {
  VHMN_CHECK(alpha > 0.0, what << ": alpha must be > 0, got " << alpha);
  VHMN_CHECK(images.rank() == 4, what << ": images must be [B, C, H, W], got " << shape_string(images.shape()));
  const index_t B = images.dim(0);
  VHMN_CHECK(targets.rank() == 2 && targets.dim(0) == B,
             what << ": targets " << shape_string(targets.shape()) << " do not match " << B << " images");
  VHMN_CHECK(static_cast<index_t>(labels.size()) == B,
             what << ": " << labels.size() << " labels for " << B << " images");
}

/// targets_i <- lambda targets_i + (1 - lambda) targets_partner(i); labels -> dominant.
template <class T>
void mix_targets(Tensor<T>& targets, std::vector<std::int32_t>& labels, const MixResult& r) {
  const index_t B = targets.dim(0), K = targets.dim(1);
  const Tensor<T> orig = targets;
  const std::vector<std::int32_t> orig_labels = labels;
  const double lam = r.lambda;
  for (index_t b = 0; b < B; ++b) {
    const index_t p = r.partner[static_cast<std::size_t>(b)];
    for (index_t k = 0; k < K; ++k)
      targets[b * K + k] = static_cast<T>(lam * orig[b * K + k] + (1.0 - lam) * orig[p * K + k]);
    labels[static_cast<std::size_t>(b)] =
        lam >= 0.5 ? orig_labels[static_cast<std::size_t>(b)] : orig_labels[static_cast<std::size_t>(p)];
  }
}
}  // namespace detail

/// MixUp on a whole batch (see the file comment). labels in: hard labels; out: dominant labels.
template <class T>
MixResult mixup(Tensor<T>& images, Tensor<T>& targets, std::vector<std::int32_t>& labels, Rng& rng,
                double alpha = 0.8) {
  detail::check_mix_args(images, targets, labels, alpha, "mixup");
  const index_t B = images.dim(0), n = images.numel() / std::max<index_t>(B, 1);
  MixResult r;
  r.lambda = rng.beta(alpha, alpha);
  r.partner = detail::random_permutation(B, rng);
  const Tensor<T> orig = images;
  for (index_t b = 0; b < B; ++b) {
    const T* own = orig.data() + b * n;
    const T* other = orig.data() + r.partner[static_cast<std::size_t>(b)] * n;
    T* out = images.data() + b * n;
    for (index_t i = 0; i < n; ++i) out[i] = static_cast<T>(r.lambda * own[i] + (1.0 - r.lambda) * other[i]);
  }
  detail::mix_targets(targets, labels, r);
  return r;
}

/// CutMix on a whole batch (see the file comment). labels in: hard labels; out: dominant labels.
template <class T>
MixResult cutmix(Tensor<T>& images, Tensor<T>& targets, std::vector<std::int32_t>& labels, Rng& rng,
                 double alpha = 1.0) {
  detail::check_mix_args(images, targets, labels, alpha, "cutmix");
  const index_t B = images.dim(0), C = images.dim(1), H = images.dim(2), W = images.dim(3);
  MixResult r;
  const double lam = rng.beta(alpha, alpha);
  r.partner = detail::random_permutation(B, rng);
  // Box of side sqrt(1 - lam) times the image's, centred at a uniform pixel, clipped.
  const double cut = std::sqrt(1.0 - lam);
  const index_t ch = static_cast<index_t>(static_cast<double>(H) * cut);
  const index_t cw = static_cast<index_t>(static_cast<double>(W) * cut);
  const index_t cy = rng.below(H), cx = rng.below(W);
  const index_t y0 = std::clamp<index_t>(cy - ch / 2, 0, H), y1 = std::clamp<index_t>(cy - ch / 2 + ch, 0, H);
  const index_t x0 = std::clamp<index_t>(cx - cw / 2, 0, W), x1 = std::clamp<index_t>(cx - cw / 2 + cw, 0, W);
  r.top = y0;
  r.left = x0;
  r.height = y1 - y0;
  r.width = x1 - x0;
  r.lambda = 1.0 - static_cast<double>(r.height * r.width) / static_cast<double>(H * W);
  if (r.height > 0 && r.width > 0) {
    const Tensor<T> orig = images;
    for (index_t b = 0; b < B; ++b) {
      const index_t p = r.partner[static_cast<std::size_t>(b)];
      for (index_t c = 0; c < C; ++c)
        for (index_t y = y0; y < y1; ++y) {
          const T* src = orig.data() + ((p * C + c) * H + y) * W;
          std::copy(src + x0, src + x1, images.data() + ((b * C + c) * H + y) * W + x0);
        }
    }
  }
  detail::mix_targets(targets, labels, r);
  return r;
}

}  // namespace data
}  // namespace vhmn
