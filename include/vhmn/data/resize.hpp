// vhmn/data/resize.hpp — resampling planar 8-bit images to another size.
//
// What this computes: separable bilinear (triangle-filter) resampling with
// pixel centres at +0.5 (align_corners = false). When shrinking, the
// triangle is widened by the shrink factor so every input pixel contributes
// (antialiasing, like PIL's BILINEAR); when enlarging it is the plain
// bilinear interpolation. Borders are handled by renormalising the weights
// of the taps that fall inside the image (no padding colour leaks in).
// Ensures: resizing to the same size returns the input exactly; a constant
// image stays constant; results are rounded to nearest and clamped to 0..255.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"

namespace vhmn {
namespace data {

namespace detail {
/// Taps of a 1-D resampling from `in` to `out` samples: output o reads
/// inputs first[o] .. first[o]+count[o]-1 with weights w[o*taps + k].
struct ResampleTaps {
  index_t taps = 0;
  std::vector<index_t> first, count;
  std::vector<double> w;
};

inline ResampleTaps triangle_taps(index_t in, index_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = std::max(1.0, scale);  // triangle half-width in input pixels
  ResampleTaps t;
  t.taps = static_cast<index_t>(std::ceil(support)) * 2 + 2;
  t.first.resize(static_cast<std::size_t>(out));
  t.count.resize(static_cast<std::size_t>(out));
  t.w.assign(static_cast<std::size_t>(out * t.taps), 0.0);
  for (index_t o = 0; o < out; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const index_t lo = std::max<index_t>(0, static_cast<index_t>(std::floor(center - support)));
    const index_t hi = std::min<index_t>(in, static_cast<index_t>(std::ceil(center + support)));
    double* w = t.w.data() + o * t.taps;
    double sum = 0.0;
    index_t n = 0;
    for (index_t i = lo; i < hi && n < t.taps; ++i, ++n) {
      const double x = std::abs((static_cast<double>(i) + 0.5 - center) / support);
      w[n] = x < 1.0 ? 1.0 - x : 0.0;
      sum += w[n];
    }
    for (index_t k = 0; k < n; ++k) w[k] /= sum;  // sum > 0: the nearest input pixel is always a tap
    t.first[static_cast<std::size_t>(o)] = lo;
    t.count[static_cast<std::size_t>(o)] = n;
  }
  return t;
}
}  // namespace detail

/// Resizes `src` [C, H, W] to `dst` [C, out_h, out_w] (both planar uint8).
inline void resize_bilinear(const std::uint8_t* src, index_t C, index_t H, index_t W, std::uint8_t* dst,
                            index_t out_h, index_t out_w) {
  VHMN_CHECK(C > 0 && H > 0 && W > 0 && out_h > 0 && out_w > 0,
             "resize_bilinear: bad sizes " << C << "x" << H << "x" << W << " -> " << out_h << "x" << out_w);
  const detail::ResampleTaps tx = detail::triangle_taps(W, out_w), ty = detail::triangle_taps(H, out_h);
  std::vector<double> rows(static_cast<std::size_t>(H * out_w));  // [H, out_w] after the horizontal pass
  for (index_t c = 0; c < C; ++c) {
    const std::uint8_t* plane = src + c * H * W;
    for (index_t y = 0; y < H; ++y)
      for (index_t x = 0; x < out_w; ++x) {
        const double* w = tx.w.data() + x * tx.taps;
        const std::uint8_t* p = plane + y * W + tx.first[static_cast<std::size_t>(x)];
        double acc = 0.0;
        for (index_t k = 0; k < tx.count[static_cast<std::size_t>(x)]; ++k) acc += w[k] * p[k];
        rows[static_cast<std::size_t>(y * out_w + x)] = acc;
      }
    std::uint8_t* out = dst + c * out_h * out_w;
    for (index_t y = 0; y < out_h; ++y) {
      const double* w = ty.w.data() + y * ty.taps;
      const index_t y0 = ty.first[static_cast<std::size_t>(y)];
      for (index_t x = 0; x < out_w; ++x) {
        double acc = 0.0;
        for (index_t k = 0; k < ty.count[static_cast<std::size_t>(y)]; ++k)
          acc += w[k] * rows[static_cast<std::size_t>((y0 + k) * out_w + x)];
        out[y * out_w + x] = static_cast<std::uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
    }
  }
}

}  // namespace data
}  // namespace vhmn
