// vhmn/ops/gelu.hpp — exact (erf) GELU, element-wise.
#pragma once

#include <cmath>

#include "vhmn/core/simd.hpp"

namespace vhmn::ops {

// y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
// y, x: (n)
template <class T>
void gelu_forward(T* y, const T* x, index_t n) {
  const T half = T(0.5), inv_sqrt2 = T(0.70710678118654752440);
  parallel_for((n + 4095) / 4096, n > 16384, [&](index_t chunk) {
    const index_t start = chunk * 4096, len = std::min<index_t>(4096, n - start);
    simd::map(len, x + start, y + start, [=](auto v) {
      using std::erf;
      return half * v * (T(1) + erf(v * inv_sqrt2));
    });
  });
}

// dx += dy * (Phi(x) + x phi(x)),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
template <class T>
void gelu_backward(T* dx, const T* dy, const T* x, index_t n) {
  const T half = T(0.5), inv_sqrt2 = T(0.70710678118654752440), inv_sqrt2pi = T(0.39894228040143267794);
  parallel_for((n + 4095) / 4096, n > 16384, [&](index_t chunk) {
    const index_t start = chunk * 4096, len = std::min<index_t>(4096, n - start);
    simd::map3(len, x + start, dy + start, dx + start, dx + start, [=](auto v, auto g, auto acc) {
      using std::erf;
      using std::exp;
      const auto cdf = half * (T(1) + erf(v * inv_sqrt2));
      const auto pdf = inv_sqrt2pi * exp(-half * v * v);
      return acc + g * (cdf + v * pdf);
    });
  });
}

}  // namespace vhmn::ops
