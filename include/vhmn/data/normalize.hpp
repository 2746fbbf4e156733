// vhmn/data/normalize.hpp — per-channel mean/std and normalised float images.
//
// What this represents: x_norm = (pixel / 255 - mean[c]) / std[c], with mean
// and std computed from a data set over all its pixels (population std, on
// the 0..1 scale) — usually the training set, then applied to both splits.
// For reference, computed this way on the training sets:
//   CIFAR-10       mean (0.4914, 0.4822, 0.4465)  std (0.2470, 0.2435, 0.2616)
//   Fashion-MNIST  mean 0.2860                    std 0.3530
// (the often-quoted CIFAR std (0.2023, 0.1994, 0.2010) is a different
// statistic, the mean of per-image stds).
// Ensures: the statistics are exact up to the final double rounding — pixel
// sums are accumulated in 64-bit integers, so they do not depend on order or
// thread count. A channel with std 0 (constant) is given std 1, so
// normalising never divides by zero.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/data/dataset.hpp"

namespace vhmn {
namespace data {

struct Normalization {
  std::vector<double> mean, std;  // [C], on the 0..1 scale

  index_t channels() const { return static_cast<index_t>(mean.size()); }

  /// mean 0, std 1: only the division by 255.
  static Normalization identity(index_t channels) {
    Normalization n;
    n.mean.assign(static_cast<std::size_t>(channels), 0.0);
    n.std.assign(static_cast<std::size_t>(channels), 1.0);
    return n;
  }
};

/// Per-channel mean and std of all pixels of `ds` (divided by 255).
inline Normalization compute_normalization(const Dataset& ds) {
  VHMN_CHECK(ds.size > 0, "compute_normalization: data set '" << ds.name << "' is empty");
  const index_t C = ds.channels, HW = ds.height * ds.width;
  std::vector<std::uint64_t> s1(static_cast<std::size_t>(C), 0), s2(static_cast<std::size_t>(C), 0);
  for (index_t i = 0; i < ds.size; ++i) {
    const std::uint8_t* img = ds.image(i);
    for (index_t c = 0; c < C; ++c) {
      std::uint64_t a = 0, b = 0;  // one plane: fits easily, keeps the inner loop simple
      for (index_t p = 0; p < HW; ++p) {
        const std::uint64_t v = img[c * HW + p];
        a += v;
        b += v * v;
      }
      s1[static_cast<std::size_t>(c)] += a;
      s2[static_cast<std::size_t>(c)] += b;
    }
  }
  Normalization n;
  const double count = static_cast<double>(ds.size) * static_cast<double>(HW);
  for (index_t c = 0; c < C; ++c) {
    const double m = static_cast<double>(s1[static_cast<std::size_t>(c)]) / count;                 // 0..255
    const double var = static_cast<double>(s2[static_cast<std::size_t>(c)]) / count - m * m;  // 0..255^2
    const double sd = std::sqrt(std::max(0.0, var)) / 255.0;
    n.mean.push_back(m / 255.0);
    n.std.push_back(sd > 0.0 ? sd : 1.0);
  }
  return n;
}

/// Per-channel lookup table [C, 256]: lut[c*256 + v] = (v/255 - mean[c]) / std[c] as T.
template <class T>
std::vector<T> normalization_lut(const Normalization& norm) {
  std::vector<T> lut(static_cast<std::size_t>(norm.channels()) * 256);
  for (std::size_t c = 0; c < norm.mean.size(); ++c) {
    // (v/255 - mean)/std as one multiply-add, coefficients in double.
    const double scale = 1.0 / (255.0 * norm.std[c]);
    const double shift = -norm.mean[c] / norm.std[c];
    for (int v = 0; v < 256; ++v) lut[c * 256 + static_cast<std::size_t>(v)] = static_cast<T>(v * scale + shift);
  }
  return lut;
}

/// Writes one normalised image: src [C, H*W] uint8 -> dst [C, H*W] of T, through a table from normalization_lut.
template <class T>
void normalize_image(const std::uint8_t* src, index_t C, index_t HW, const std::vector<T>& lut, T* dst) {
  VHMN_CHECK(static_cast<index_t>(lut.size()) == C * 256, "normalize_image: table for "
                                                              << lut.size() / 256 << " channels, image has " << C);
  for (index_t c = 0; c < C; ++c) {
    const T* l = lut.data() + c * 256;
    for (index_t p = 0; p < HW; ++p) dst[c * HW + p] = l[src[c * HW + p]];
  }
}

/// Writes one normalised image: src [C, H*W] uint8 -> dst [C, H*W] of T.
template <class T>
void normalize_image(const std::uint8_t* src, index_t C, index_t HW, const Normalization& norm, T* dst) {
  VHMN_CHECK(norm.channels() == C, "normalize_image: normalisation has " << norm.channels()
                                                                        << " channels, image has " << C);
  normalize_image(src, C, HW, normalization_lut<T>(norm), dst);
}

/// The images of `ds` at `indices`, normalised, into out [B, C, H, W].
template <class T>
void normalize_images(const Dataset& ds, const std::vector<index_t>& indices, const Normalization& norm,
                      Tensor<T>& out) {
  VHMN_CHECK(norm.channels() == ds.channels, "normalize_images: normalisation has " << norm.channels()
                                                                                    << " channels, data set '"
                                                                                    << ds.name << "' has "
                                                                                    << ds.channels);
  const index_t B = static_cast<index_t>(indices.size()), HW = ds.height * ds.width;
  const std::vector<T> lut = normalization_lut<T>(norm);
  out.resize({B, ds.channels, ds.height, ds.width});
  for (index_t b = 0; b < B; ++b) {
    const index_t i = indices[static_cast<std::size_t>(b)];
    VHMN_CHECK(i >= 0 && i < ds.size, "normalize_images: index " << i << " outside data set '" << ds.name
                                                                 << "' of " << ds.size);
    normalize_image(ds.image(i), ds.channels, HW, lut, out.data() + b * ds.image_numel());
  }
}

}  // namespace data
}  // namespace vhmn
