// vhmn/explain/corruptions.hpp — the image corruptions of the paper's
// robustness study (section 4.2), on the [0, 1] pixel scale.
//
// What this represents: in-place corruptions of one image x, planar
// (C, H, W) floats in [0, 1] (pixels / 255, before normalisation):
//   gaussian_noise(std)      x + N(0, std^2) per value, clipped to [0, 1]
//   occlude_square(area)     a square of side round(sqrt(area * H * W))
//                            (at least 1 pixel) at a uniformly random place
//                            inside the image, every channel set to `fill` (0)
//   scale_contrast(factor)   m + factor * (x - m), m = the mean of the whole
//                            image over all channels, clipped to [0, 1]
// paper_corruptions() lists the paper's 11: noise 0.05 0.10 0.20 0.30,
// occlusion 0.05 0.10 0.20, contrast 0.5 0.75 1.25 1.5.
// Ensures: deterministic given the generator; corruption_rng(seed, c, i)
// gives image i under corruption c its own generator, so results do not
// depend on batch size, order or thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"

namespace vhmn::explain {

enum class CorruptionKind { None, GaussianNoise, Occlusion, Contrast };

inline const char* corruption_kind_name(CorruptionKind k) {
  switch (k) {
    case CorruptionKind::GaussianNoise: return "noise";
    case CorruptionKind::Occlusion: return "occlusion";
    case CorruptionKind::Contrast: return "contrast";
    default: return "clean";
  }
}

/// One corruption and its severity (noise std, occluded area fraction or contrast factor).
struct Corruption {
  CorruptionKind kind = CorruptionKind::None;
  double severity = 0;
  /// e.g. "noise 0.10", "occlusion 0.20", "contrast 1.25", "clean".
  std::string name() const {
    if (kind == CorruptionKind::None) return "clean";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %.2f", corruption_kind_name(kind), severity);
    return buf;
  }
};

/// The paper's eleven corruptions, in the order above.
inline std::vector<Corruption> paper_corruptions() {
  std::vector<Corruption> out;
  for (double s : {0.05, 0.10, 0.20, 0.30}) out.push_back({CorruptionKind::GaussianNoise, s});
  for (double a : {0.05, 0.10, 0.20}) out.push_back({CorruptionKind::Occlusion, a});
  for (double f : {0.5, 0.75, 1.25, 1.5}) out.push_back({CorruptionKind::Contrast, f});
  return out;
}

/// The generator of image `image` under corruption number `corruption`.
inline Rng corruption_rng(std::uint64_t seed, std::uint64_t corruption, std::uint64_t image) {
  return Rng(seed * 0x9E3779B97F4A7C15ULL ^ (corruption + 1) * 0xBF58476D1CE4E5B9ULL ^ (image + 1) * 0x94D049BB133111EBULL);
}

inline float clip01(double v) { return static_cast<float>(std::min(1.0, std::max(0.0, v))); }

/// x (n values in [0, 1]) += N(0, std^2), clipped.
inline void gaussian_noise(float* x, index_t n, double std, Rng& rng) {
  VHMN_CHECK(std >= 0, "noise standard deviation must be >= 0, got " << std);
  for (index_t i = 0; i < n; ++i) x[i] = clip01(double(x[i]) + std * rng.normal());
}

/// A square occluder: side `side` pixels at column x, row y.
struct Square {
  index_t x = 0, y = 0, side = 0;
};

/// The side of a square covering `area` (a fraction in [0, 1]) of an H x W image.
inline index_t occluder_side(index_t H, index_t W, double area) {
  VHMN_CHECK(area >= 0 && area <= 1, "occluded area must be a fraction in [0, 1], got " << area);
  const index_t side = static_cast<index_t>(std::lround(std::sqrt(area * double(H) * double(W))));
  return std::min(std::max<index_t>(side, area > 0 ? 1 : 0), std::min(H, W));
}

/// Sets a random square covering `area` of the image to `fill` in every
/// channel. x: (C, H, W). Returns the square.
inline Square occlude_square(float* x, index_t C, index_t H, index_t W, double area, Rng& rng, float fill = 0.f) {
  Square sq;
  sq.side = occluder_side(H, W, area);
  if (sq.side == 0) return sq;
  sq.x = rng.below(W - sq.side + 1);
  sq.y = rng.below(H - sq.side + 1);
  for (index_t c = 0; c < C; ++c)
    for (index_t r = sq.y; r < sq.y + sq.side; ++r)
      std::fill(x + (c * H + r) * W + sq.x, x + (c * H + r) * W + sq.x + sq.side, fill);
  return sq;
}

/// x = m + factor (x - m), m = the mean of all n values, clipped. x: (n).
inline void scale_contrast(float* x, index_t n, double factor) {
  VHMN_CHECK(factor >= 0, "contrast factor must be >= 0, got " << factor);
  if (n == 0) return;
  double m = 0;
  for (index_t i = 0; i < n; ++i) m += x[i];
  m /= double(n);
  for (index_t i = 0; i < n; ++i) x[i] = clip01(m + factor * (double(x[i]) - m));
}

/// Applies `c` to one image x: (C, H, W) in [0, 1].
inline void apply_corruption(const Corruption& c, float* x, index_t C, index_t H, index_t W, Rng& rng) {
  switch (c.kind) {
    case CorruptionKind::GaussianNoise: gaussian_noise(x, C * H * W, c.severity, rng); break;
    case CorruptionKind::Occlusion: occlude_square(x, C, H, W, c.severity, rng); break;
    case CorruptionKind::Contrast: scale_contrast(x, C * H * W, c.severity); break;
    default: break;
  }
}

/// 8-bit pixels -> [0, 1] floats: out[i] = in[i] / 255.
inline void to_unit(const std::uint8_t* in, index_t n, float* out) {
  for (index_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) / 255.f;
}

/// [0, 1] floats -> model input: out[c, p] = (x[c, p] - mean[c]) / std[c].
/// x, out: (C, HW); mean, std: (C).
template <class T>
void normalize_unit(const float* x, index_t C, index_t HW, const std::vector<double>& mean,
                    const std::vector<double>& std, T* out) {
  VHMN_CHECK(static_cast<index_t>(mean.size()) == C && static_cast<index_t>(std.size()) == C,
             "normalisation has " << mean.size() << " channels, image has " << C);
  for (index_t c = 0; c < C; ++c) {
    const double m = mean[static_cast<std::size_t>(c)], s = std[static_cast<std::size_t>(c)];
    for (index_t p = 0; p < HW; ++p) out[c * HW + p] = static_cast<T>((double(x[c * HW + p]) - m) / s);
  }
}

}  // namespace vhmn::explain
