// vhmn/data/augment.hpp — per-image augmentation, seeded by a vhmn::Rng&.
//
// Layout choice: every op works in place on one planar image [C, H, W]
// (the Dataset layout, so no conversion is needed).
//  - The AutoAugment / RandAugment image ops work on uint8 pixels, before
//    normalisation, because their definitions (Cubuk et al.; PIL) are in
//    0..255 terms: solarize thresholds, posterize bits, histogram
//    equalisation, the grey fill of geometric ops.
//  - random_crop and hflip are templates (uint8 before normalisation, or
//    float/double after: zero padding means pixel 0 on uint8, value 0 on
//    normalised data).
//  - random_erase is meant for normalised float images (it writes N(0,1)
//    noise or zeros, as torchvision's RandomErasing after Normalize); on
//    uint8 its noise is uniform 0..255.
// Every random choice draws from the Rng passed in, so a seed fixes the result.
//
// Op magnitudes: apply_op takes a level in [0, 1], the fraction of the op's
// largest magnitude (AutoAugment's magnitude m in 0..9 is level m/9;
// RandAugment's M on the 0..10 scale is level M/10):
//   ShearX/Y      shear s = 0.3 level            (random sign), about the centre
//   TranslateX/Y  shift = 150/331 level of the side, in pixels (random sign)
//   Rotate        30 level degrees               (random sign), about the centre
//   Color, Contrast, Brightness, Sharpness: factor 1 + 0.9 level (random sign),
//                 i.e. the paper's range [0.1, 1.9]
//   Posterize     keep 8 - round(4 level) bits   (8..4)
//   Solarize      invert pixels >= 256 (1 - level) (256: none .. 0: all)
//   AutoContrast, Equalize, Invert, Identity: no magnitude.
// Geometric ops sample nearest-neighbour and fill uncovered pixels with grey
// 128, as the AutoAugment reference code does.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"

namespace vhmn {
namespace data {

// ---------------------------------------------------------------------------
// Crop, flip, erase: templates on the pixel type.
// ---------------------------------------------------------------------------

/// The shift chosen by random_crop: out(c, y, x) = in(c, y + dy, x + dx).
struct CropOffset {
  index_t dy = 0, dx = 0;
};

/// img [C, H, W] <- img shifted so that out(y, x) = in(y + dy, x + dx), 0 outside.
template <class T>
void shift_image(T* img, index_t C, index_t H, index_t W, index_t dy, index_t dx) {
  const std::vector<T> src(img, img + C * H * W);
  // Output columns [x0, x1) read source columns [x0 + dx, x1 + dx); the rest are 0.
  const index_t x0 = std::clamp<index_t>(-dx, 0, W), x1 = std::clamp<index_t>(W - dx, 0, W);
  for (index_t c = 0; c < C; ++c)
    for (index_t y = 0; y < H; ++y) {
      T* out = img + (c * H + y) * W;
      const index_t sy = y + dy;
      if (sy < 0 || sy >= H || x1 <= x0) {
        std::fill(out, out + W, T(0));
        continue;
      }
      const T* row = src.data() + (c * H + sy) * W;
      std::fill(out, out + x0, T(0));
      std::copy(row + x0 + dx, row + x1 + dx, out + x0);
      std::fill(out + x1, out + W, T(0));
    }
}

/// Random crop of the image zero-padded by `pad` on every side, back to
/// H x W (torchvision RandomCrop(H, padding=pad)): dy, dx uniform in [-pad, pad].
template <class T>
CropOffset random_crop(T* img, index_t C, index_t H, index_t W, Rng& rng, index_t pad = 4) {
  VHMN_CHECK(pad >= 0, "random_crop: padding must be >= 0, got " << pad);
  CropOffset o;
  o.dy = rng.below(2 * pad + 1) - pad;
  o.dx = rng.below(2 * pad + 1) - pad;
  if (o.dy != 0 || o.dx != 0) shift_image(img, C, H, W, o.dy, o.dx);
  return o;
}

/// Mirrors img [C, H, W] left-right.
template <class T>
void hflip(T* img, index_t C, index_t H, index_t W) {
  for (index_t r = 0; r < C * H; ++r) std::reverse(img + r * W, img + (r + 1) * W);
}

/// Mirrors with probability p; returns whether it did.
template <class T>
bool random_hflip(T* img, index_t C, index_t H, index_t W, Rng& rng, double p = 0.5) {
  const bool flip = rng.bernoulli(p);
  if (flip) hflip(img, C, H, W);
  return flip;
}

/// Random erasing (Zhong et al. 2020) settings.
struct EraseOptions {
  double p = 0.5;                             // probability of erasing at all
  double area_min = 0.02, area_max = 0.33;    // box area / image area
  double ratio_min = 0.3, ratio_max = 3.3;    // box height / width (drawn log-uniform)
  bool random_values = true;                  // N(0,1) noise (uint8: uniform 0..255); false: zeros
};

/// The erased box (applied false: nothing was erased).
struct EraseBox {
  bool applied = false;
  index_t top = 0, left = 0, height = 0, width = 0;
};

/// With probability p, fills one random box of img [C, H, W] (all channels).
/// Up to 10 tries to find a box that fits; its area after rounding to whole
/// pixels lies in [area_min, area_max] of the image, or nothing is erased.
template <class T>
EraseBox random_erase(T* img, index_t C, index_t H, index_t W, Rng& rng, const EraseOptions& opt = {}) {
  VHMN_CHECK(opt.area_min > 0 && opt.area_min <= opt.area_max && opt.area_max <= 1 && opt.ratio_min > 0 &&
                 opt.ratio_min <= opt.ratio_max,
             "random_erase: bad options (area " << opt.area_min << ".." << opt.area_max << ", ratio "
                                                << opt.ratio_min << ".." << opt.ratio_max << ")");
  EraseBox box;
  if (!rng.bernoulli(opt.p)) return box;
  const double area = static_cast<double>(H * W);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(opt.area_min, opt.area_max);
    const double ratio = std::exp(rng.uniform(std::log(opt.ratio_min), std::log(opt.ratio_max)));
    const index_t h = static_cast<index_t>(std::lround(std::sqrt(target * ratio)));
    const index_t w = static_cast<index_t>(std::lround(std::sqrt(target / ratio)));
    const double got = static_cast<double>(h * w);
    if (h < 1 || w < 1 || h > H || w > W || got < opt.area_min * area || got > opt.area_max * area) continue;
    box = {true, rng.below(H - h + 1), rng.below(W - w + 1), h, w};
    for (index_t c = 0; c < C; ++c)
      for (index_t y = box.top; y < box.top + h; ++y)
        for (index_t x = box.left; x < box.left + w; ++x) {
          T v = T(0);
          if (opt.random_values) {
            if constexpr (std::is_same_v<T, std::uint8_t>) v = static_cast<T>(rng.below(256));
            else v = static_cast<T>(rng.normal());
          }
          img[(c * H + y) * W + x] = v;
        }
    return box;
  }
  return box;
}

// ---------------------------------------------------------------------------
// AutoAugment / RandAugment image ops on uint8 [C, H, W].
// ---------------------------------------------------------------------------

enum class AugOp {
  Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate, AutoContrast, Invert,
  Equalize, Solarize, Posterize, Contrast, Color, Brightness, Sharpness
};

inline const char* aug_op_name(AugOp op) {
  static const char* const names[] = {"Identity", "ShearX",   "ShearY",    "TranslateX", "TranslateY",
                                      "Rotate",   "AutoContrast", "Invert", "Equalize",   "Solarize",
                                      "Posterize", "Contrast", "Color",    "Brightness", "Sharpness"};
  return names[static_cast<int>(op)];
}

namespace detail {
inline std::uint8_t clamp_u8(double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

/// PIL's "L" conversion, (19595 R + 38470 G + 7471 B + 2^15) >> 16 (0.299, 0.587, 0.114).
inline std::uint8_t luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>((19595u * r + 38470u * g + 7471u * b + 32768u) >> 16);
}

/// img <- degenerate + f (img - degenerate), rounded and clamped (PIL's blend).
inline void blend_with(std::uint8_t* img, const std::uint8_t* degenerate, index_t n, double f) {
  for (index_t i = 0; i < n; ++i) img[i] = clamp_u8(degenerate[i] + f * (double(img[i]) - degenerate[i]));
}
}  // namespace detail

/// Inverse-mapped affine warp, nearest neighbour: output pixel centre p
/// (relative to the image centre) reads the input at A p + t (also relative
/// to the centre); pixels read from outside are `fill`.
inline void affine_nearest(std::uint8_t* img, index_t C, index_t H, index_t W, double a, double b, double tx,
                           double d, double e, double ty, std::uint8_t fill = 128) {
  const std::vector<std::uint8_t> src(img, img + C * H * W);
  const double cx = 0.5 * static_cast<double>(W), cy = 0.5 * static_cast<double>(H);
  for (index_t y = 0; y < H; ++y)
    for (index_t x = 0; x < W; ++x) {
      const double u = static_cast<double>(x) + 0.5 - cx, v = static_cast<double>(y) + 0.5 - cy;
      // floor of the source coordinate = the pixel whose cell contains it; the
      // small epsilon keeps exact integer shifts exact despite rounding.
      const index_t sx = static_cast<index_t>(std::floor(a * u + b * v + tx + cx + 1e-9));
      const index_t sy = static_cast<index_t>(std::floor(d * u + e * v + ty + cy + 1e-9));
      const bool inside = sx >= 0 && sx < W && sy >= 0 && sy < H;
      for (index_t c = 0; c < C; ++c)
        img[(c * H + y) * W + x] = inside ? src[static_cast<std::size_t>((c * H + sy) * W + sx)] : fill;
    }
}

/// Shears rows sideways: out(x, y) = in(x + s (y - centre), y).
inline void shear_x(std::uint8_t* img, index_t C, index_t H, index_t W, double s, std::uint8_t fill = 128) {
  affine_nearest(img, C, H, W, 1, s, 0, 0, 1, 0, fill);
}
/// Shears columns: out(x, y) = in(x, y + s (x - centre)).
inline void shear_y(std::uint8_t* img, index_t C, index_t H, index_t W, double s, std::uint8_t fill = 128) {
  affine_nearest(img, C, H, W, 1, 0, 0, s, 1, 0, fill);
}
/// Moves the content right by `pixels` (left when negative).
inline void translate_x(std::uint8_t* img, index_t C, index_t H, index_t W, double pixels, std::uint8_t fill = 128) {
  affine_nearest(img, C, H, W, 1, 0, -pixels, 0, 1, 0, fill);
}
/// Moves the content down by `pixels` (up when negative).
inline void translate_y(std::uint8_t* img, index_t C, index_t H, index_t W, double pixels, std::uint8_t fill = 128) {
  affine_nearest(img, C, H, W, 1, 0, 0, 0, 1, -pixels, fill);
}
/// Rotates counter-clockwise (as displayed, y down) by `degrees` about the centre.
inline void rotate(std::uint8_t* img, index_t C, index_t H, index_t W, double degrees, std::uint8_t fill = 128) {
  const double t = degrees * 3.14159265358979323846 / 180.0, c = std::cos(t), s = std::sin(t);
  affine_nearest(img, C, H, W, c, -s, 0, s, c, 0, fill);
}

/// Stretches each channel's [min, max] to [0, 255] (constant channels unchanged).
inline void auto_contrast(std::uint8_t* img, index_t C, index_t H, index_t W) {
  const index_t n = H * W;
  for (index_t c = 0; c < C; ++c) {
    std::uint8_t* p = img + c * n;
    const auto [lo, hi] = std::minmax_element(p, p + n);
    const int l = *lo, h = *hi;
    if (h <= l) continue;
    const double scale = 255.0 / (h - l);
    for (index_t i = 0; i < n; ++i) p[i] = detail::clamp_u8((p[i] - l) * scale);
  }
}

/// 255 - v.
inline void invert(std::uint8_t* img, index_t C, index_t H, index_t W) {
  for (index_t i = 0; i < C * H * W; ++i) img[i] = static_cast<std::uint8_t>(255 - img[i]);
}

/// Per-channel histogram equalisation (PIL ImageOps.equalize's mapping).
inline void equalize(std::uint8_t* img, index_t C, index_t H, index_t W) {
  const index_t n = H * W;
  for (index_t c = 0; c < C; ++c) {
    std::uint8_t* p = img + c * n;
    std::array<index_t, 256> hist{};
    for (index_t i = 0; i < n; ++i) ++hist[p[i]];
    index_t last = 0, nonzero = 0;
    for (int v = 0; v < 256; ++v)
      if (hist[static_cast<std::size_t>(v)]) last = hist[static_cast<std::size_t>(v)], ++nonzero;
    if (nonzero <= 1) continue;
    const index_t step = (n - last) / 255;  // spread all but the top level over 255 steps
    if (step == 0) continue;
    std::array<std::uint8_t, 256> lut{};
    index_t acc = step / 2;
    for (int v = 0; v < 256; ++v) {
      lut[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(std::min<index_t>(255, acc / step));
      acc += hist[static_cast<std::size_t>(v)];
    }
    for (index_t i = 0; i < n; ++i) p[i] = lut[p[i]];
  }
}

/// Inverts pixels >= threshold (threshold 256: nothing, 0: everything).
inline void solarize(std::uint8_t* img, index_t C, index_t H, index_t W, double threshold) {
  for (index_t i = 0; i < C * H * W; ++i)
    if (img[i] >= threshold) img[i] = static_cast<std::uint8_t>(255 - img[i]);
}

/// Keeps the top `bits` bits of every value (1..8).
inline void posterize(std::uint8_t* img, index_t C, index_t H, index_t W, int bits) {
  VHMN_CHECK(bits >= 1 && bits <= 8, "posterize: bits must be in 1..8, got " << bits);
  const std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
  for (index_t i = 0; i < C * H * W; ++i) img[i] &= mask;
}

/// Brightness: blend with black, v <- f v.
inline void adjust_brightness(std::uint8_t* img, index_t C, index_t H, index_t W, double f) {
  for (index_t i = 0; i < C * H * W; ++i) img[i] = detail::clamp_u8(f * img[i]);
}

/// Contrast: blend with the image's mean grey level.
inline void adjust_contrast(std::uint8_t* img, index_t C, index_t H, index_t W, double f) {
  const index_t n = H * W;
  double sum = 0.0;
  for (index_t i = 0; i < n; ++i)
    sum += C == 3 ? detail::luma(img[i], img[n + i], img[2 * n + i]) : img[i];
  const double mean = std::floor(sum / static_cast<double>(n) + 0.5);
  for (index_t i = 0; i < C * n; ++i) img[i] = detail::clamp_u8(mean + f * (img[i] - mean));
}

/// Colour (saturation): blend with the grey version; no-op unless C == 3.
inline void adjust_color(std::uint8_t* img, index_t C, index_t H, index_t W, double f) {
  if (C != 3) return;
  const index_t n = H * W;
  std::vector<std::uint8_t> grey(static_cast<std::size_t>(3 * n));
  for (index_t i = 0; i < n; ++i) {
    const std::uint8_t g = detail::luma(img[i], img[n + i], img[2 * n + i]);
    grey[static_cast<std::size_t>(i)] = grey[static_cast<std::size_t>(n + i)] =
        grey[static_cast<std::size_t>(2 * n + i)] = g;
  }
  detail::blend_with(img, grey.data(), 3 * n, f);
}

/// Sharpness: blend with a smoothed copy (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, /13;
/// the one-pixel border is not smoothed, as PIL).
inline void adjust_sharpness(std::uint8_t* img, index_t C, index_t H, index_t W, double f) {
  std::vector<std::uint8_t> smooth(img, img + C * H * W);
  for (index_t c = 0; c < C; ++c) {
    const std::uint8_t* p = img + c * H * W;
    for (index_t y = 1; y + 1 < H; ++y)
      for (index_t x = 1; x + 1 < W; ++x) {
        int s = 4 * p[y * W + x];  // centre weight 5 = 4 + the 1 in the 3x3 sum
        for (index_t dy = -1; dy <= 1; ++dy)
          for (index_t dx = -1; dx <= 1; ++dx) s += p[(y + dy) * W + x + dx];
        smooth[static_cast<std::size_t>((c * H + y) * W + x)] = static_cast<std::uint8_t>((s + 6) / 13);
      }
  }
  detail::blend_with(img, smooth.data(), C * H * W, f);
}

/// Applies `op` at `level` in [0, 1] of its largest magnitude (table in the
/// file comment); signed ops take their sign from rng (one draw, always).
inline void apply_op(AugOp op, double level, std::uint8_t* img, index_t C, index_t H, index_t W, Rng& rng,
                     std::uint8_t fill = 128) {
  VHMN_CHECK(level >= 0.0 && level <= 1.0, "apply_op(" << aug_op_name(op) << "): level " << level
                                                       << " outside [0, 1]");
  const double sign = rng.bernoulli(0.5) ? -1.0 : 1.0;
  const double factor = 1.0 + 0.9 * level * sign;
  // Whole pixels: up to 150/331 of the side (150 px of the paper's 331 px images).
  auto shift = [&](index_t side) { return std::round(150.0 / 331.0 * level * static_cast<double>(side)) * sign; };
  switch (op) {
    case AugOp::Identity: break;
    case AugOp::ShearX: shear_x(img, C, H, W, 0.3 * level * sign, fill); break;
    case AugOp::ShearY: shear_y(img, C, H, W, 0.3 * level * sign, fill); break;
    case AugOp::TranslateX: translate_x(img, C, H, W, shift(W), fill); break;
    case AugOp::TranslateY: translate_y(img, C, H, W, shift(H), fill); break;
    case AugOp::Rotate: rotate(img, C, H, W, 30.0 * level * sign, fill); break;
    case AugOp::AutoContrast: auto_contrast(img, C, H, W); break;
    case AugOp::Invert: invert(img, C, H, W); break;
    case AugOp::Equalize: equalize(img, C, H, W); break;
    case AugOp::Solarize: solarize(img, C, H, W, 256.0 * (1.0 - level)); break;
    case AugOp::Posterize: posterize(img, C, H, W, 8 - static_cast<int>(std::lround(4.0 * level))); break;
    case AugOp::Contrast: adjust_contrast(img, C, H, W, factor); break;
    case AugOp::Color: adjust_color(img, C, H, W, factor); break;
    case AugOp::Brightness: adjust_brightness(img, C, H, W, factor); break;
    case AugOp::Sharpness: adjust_sharpness(img, C, H, W, factor); break;
  }
}

/// One op of an AutoAugment sub-policy: applied with probability p at magnitude 0..9.
struct PolicyStep {
  AugOp op;
  double p;
  int magnitude;
};
using SubPolicy = std::array<PolicyStep, 2>;

/// The 25 sub-policies AutoAugment found on reduced CIFAR-10 (Cubuk et al. 2019, appendix).
inline const std::array<SubPolicy, 25>& cifar10_policy() {
  using O = AugOp;
  static const std::array<SubPolicy, 25> policy = {{
      {{{O::Invert, 0.1, 7}, {O::Contrast, 0.2, 6}}},
      {{{O::Rotate, 0.7, 2}, {O::TranslateX, 0.3, 9}}},
      {{{O::Sharpness, 0.8, 1}, {O::Sharpness, 0.9, 3}}},
      {{{O::ShearY, 0.5, 8}, {O::TranslateY, 0.7, 9}}},
      {{{O::AutoContrast, 0.5, 8}, {O::Equalize, 0.9, 2}}},
      {{{O::ShearY, 0.2, 7}, {O::Posterize, 0.3, 7}}},
      {{{O::Color, 0.4, 3}, {O::Brightness, 0.6, 7}}},
      {{{O::Sharpness, 0.3, 9}, {O::Brightness, 0.7, 9}}},
      {{{O::Equalize, 0.6, 5}, {O::Equalize, 0.5, 1}}},
      {{{O::Contrast, 0.6, 7}, {O::Sharpness, 0.6, 5}}},
      {{{O::Color, 0.7, 7}, {O::TranslateX, 0.5, 8}}},
      {{{O::Equalize, 0.3, 7}, {O::AutoContrast, 0.4, 8}}},
      {{{O::TranslateY, 0.4, 3}, {O::Sharpness, 0.2, 6}}},
      {{{O::Brightness, 0.9, 6}, {O::Color, 0.2, 8}}},
      {{{O::Solarize, 0.5, 2}, {O::Invert, 0.0, 3}}},
      {{{O::Equalize, 0.2, 0}, {O::AutoContrast, 0.6, 0}}},
      {{{O::Equalize, 0.2, 8}, {O::Equalize, 0.6, 4}}},
      {{{O::Color, 0.9, 9}, {O::Equalize, 0.6, 6}}},
      {{{O::AutoContrast, 0.8, 4}, {O::Solarize, 0.2, 8}}},
      {{{O::Brightness, 0.1, 3}, {O::Color, 0.7, 0}}},
      {{{O::Solarize, 0.4, 5}, {O::AutoContrast, 0.9, 3}}},
      {{{O::TranslateY, 0.9, 9}, {O::TranslateY, 0.7, 9}}},
      {{{O::AutoContrast, 0.9, 2}, {O::Solarize, 0.8, 3}}},
      {{{O::Equalize, 0.8, 8}, {O::Invert, 0.1, 3}}},
      {{{O::TranslateY, 0.7, 9}, {O::AutoContrast, 0.9, 1}}},
  }};
  return policy;
}

/// AutoAugment, CIFAR-10 policy: one uniformly chosen sub-policy, each of its
/// two ops applied with its probability. Returns the sub-policy's index.
inline int auto_augment(std::uint8_t* img, index_t C, index_t H, index_t W, Rng& rng, std::uint8_t fill = 128) {
  const auto& policy = cifar10_policy();
  const int k = rng.below(static_cast<int>(policy.size()));
  for (const PolicyStep& s : policy[static_cast<std::size_t>(k)]) {
    const bool on = rng.bernoulli(s.p);  // drawn even when p is 0: a fixed number of draws per step
    if (on) apply_op(s.op, s.magnitude / 9.0, img, C, H, W, rng, fill);
  }
  return k;
}

/// The 14 ops RandAugment samples from (Cubuk et al. 2020).
inline const std::array<AugOp, 14>& rand_augment_ops() {
  using O = AugOp;
  static const std::array<AugOp, 14> ops = {O::Identity,   O::AutoContrast, O::Equalize, O::Rotate,   O::Solarize,
                                            O::Color,      O::Posterize,    O::Contrast, O::Brightness, O::Sharpness,
                                            O::ShearX,     O::ShearY,       O::TranslateX, O::TranslateY};
  return ops;
}

/// RandAugment: `n` ops drawn uniformly (with replacement), each applied at
/// magnitude m on the 0..10 scale (level m/10).
inline void rand_augment(std::uint8_t* img, index_t C, index_t H, index_t W, Rng& rng, int n = 2, double m = 9.0,
                         std::uint8_t fill = 128) {
  VHMN_CHECK(n >= 0 && m >= 0.0 && m <= 10.0, "rand_augment: need n >= 0 and 0 <= m <= 10, got n " << n << ", m " << m);
  const auto& ops = rand_augment_ops();
  for (int i = 0; i < n; ++i) {
    const AugOp op = ops[static_cast<std::size_t>(rng.below(static_cast<int>(ops.size())))];
    apply_op(op, m / 10.0, img, C, H, W, rng, fill);
  }
}

}  // namespace data
}  // namespace vhmn
