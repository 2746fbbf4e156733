// vhmn/core/simd.hpp — vectorised element-wise loops and reductions.
//
// One generic kernel per op: the functor is written once with generic
// lambdas (`[](auto x) { ... }`) and runs on xsimd batches for the body and
// on plain scalars for the tail — or everywhere when VHMN_NO_SIMD is set.
// Inside a functor, call math as `using std::exp; exp(x)`: for batches ADL
// finds xsimd's overload, for scalars the std one.
// Reductions use a fixed order (lane-wise partial sums, then the lanes in
// order, then the tail), so a result never depends on the thread count.
#pragma once

#include <cmath>

#include "vhmn/core/config.hpp"

#if VHMN_HAS_SIMD
VHMN_THIRD_PARTY_INCLUDES_BEGIN
#include <xsimd/xsimd.hpp>
VHMN_THIRD_PARTY_INCLUDES_END
#endif

namespace vhmn::simd {

#if VHMN_HAS_SIMD
template <class T>
using batch = xsimd::batch<T>;
template <class T>
inline constexpr index_t lanes = static_cast<index_t>(batch<T>::size);
#endif

/// out[i] = f(a[i]) for i in [0, n).  out may alias a.
template <class T, class F>
inline void map(index_t n, const T* a, T* out, F f) {
  index_t i = 0;
#if VHMN_HAS_SIMD
  for (; i + lanes<T> <= n; i += lanes<T>) f(batch<T>::load_unaligned(a + i)).store_unaligned(out + i);
#endif
  for (; i < n; ++i) out[i] = f(a[i]);
}

/// out[i] = f(a[i], b[i]).  out may alias a or b.
template <class T, class F>
inline void map2(index_t n, const T* a, const T* b, T* out, F f) {
  index_t i = 0;
#if VHMN_HAS_SIMD
  for (; i + lanes<T> <= n; i += lanes<T>)
    f(batch<T>::load_unaligned(a + i), batch<T>::load_unaligned(b + i)).store_unaligned(out + i);
#endif
  for (; i < n; ++i) out[i] = f(a[i], b[i]);
}

/// out[i] = f(a[i], b[i], c[i]).  out may alias any input.
template <class T, class F>
inline void map3(index_t n, const T* a, const T* b, const T* c, T* out, F f) {
  index_t i = 0;
#if VHMN_HAS_SIMD
  for (; i + lanes<T> <= n; i += lanes<T>)
    f(batch<T>::load_unaligned(a + i), batch<T>::load_unaligned(b + i), batch<T>::load_unaligned(c + i))
        .store_unaligned(out + i);
#endif
  for (; i < n; ++i) out[i] = f(a[i], b[i], c[i]);
}

/// sum_i f(a[i]) in a fixed order.
template <class T, class F>
inline T reduce(index_t n, const T* a, F f) {
  T total = T(0);
  index_t i = 0;
#if VHMN_HAS_SIMD
  if (n >= lanes<T>) {
    batch<T> acc(T(0));
    for (; i + lanes<T> <= n; i += lanes<T>) acc += f(batch<T>::load_unaligned(a + i));
    alignas(64) T part[lanes<T>];
    acc.store_aligned(part);
    for (index_t l = 0; l < lanes<T>; ++l) total += part[l];
  }
#endif
  for (; i < n; ++i) total += f(a[i]);
  return total;
}

/// sum_i f(a[i], b[i]) in a fixed order.
template <class T, class F>
inline T reduce2(index_t n, const T* a, const T* b, F f) {
  T total = T(0);
  index_t i = 0;
#if VHMN_HAS_SIMD
  if (n >= lanes<T>) {
    batch<T> acc(T(0));
    for (; i + lanes<T> <= n; i += lanes<T>)
      acc += f(batch<T>::load_unaligned(a + i), batch<T>::load_unaligned(b + i));
    alignas(64) T part[lanes<T>];
    acc.store_aligned(part);
    for (index_t l = 0; l < lanes<T>; ++l) total += part[l];
  }
#endif
  for (; i < n; ++i) total += f(a[i], b[i]);
  return total;
}

template <class T>
inline T sum(index_t n, const T* a) {
  return reduce(n, a, [](auto x) { return x; });
}
template <class T>
inline T dot(index_t n, const T* a, const T* b) {
  return reduce2(n, a, b, [](auto x, auto y) { return x * y; });
}
template <class T>
inline T max(index_t n, const T* a) {
  T m = a[0];
  for (index_t i = 1; i < n; ++i) m = a[i] > m ? a[i] : m;
  return m;
}

/// y[i] += alpha * x[i]
template <class T>
inline void axpy(index_t n, T alpha, const T* x, T* y) {
  map2(n, x, y, y, [alpha](auto xv, auto yv) { return yv + alpha * xv; });
}
/// y[i] += x[i]
template <class T>
inline void add_to(index_t n, const T* x, T* y) {
  map2(n, x, y, y, [](auto xv, auto yv) { return yv + xv; });
}
/// y[i] *= alpha
template <class T>
inline void scale(index_t n, T alpha, T* y) {
  map(n, y, y, [alpha](auto v) { return v * alpha; });
}

}  // namespace vhmn::simd
