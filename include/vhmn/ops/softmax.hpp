// vhmn/ops/softmax.hpp — numerically stable softmax over a row, and its backward.
#pragma once

#include <cmath>

#include "vhmn/core/simd.hpp"

namespace vhmn::ops {

// x[i] <- exp(x[i] - max x) / sum_j exp(x[j] - max x)
// x: (n), n >= 1
template <class T>
void softmax_inplace(T* x, index_t n) {
  const T mx = simd::max(n, x);
  simd::map(n, x, x, [mx](auto v) {
    using std::exp;
    return exp(v - mx);
  });
  simd::scale(n, T(1) / simd::sum(n, x), x);
}

// Backward of a = softmax(s):  ds = a * (da - <a, da>)
// ds may alias da.
template <class T>
void softmax_backward(T* ds, const T* da, const T* a, index_t n) {
  const T inner = simd::dot(n, a, da);
  simd::map2(n, a, da, ds, [inner](auto av, auto dav) { return av * (dav - inner); });
}

}  // namespace vhmn::ops
