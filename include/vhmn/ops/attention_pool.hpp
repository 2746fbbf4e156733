// vhmn/ops/attention_pool.hpp — softmax-weighted pooling of tokens (the head).
//
//   e_n = <w, v_n> + b      pi = softmax_n(e)      z = sum_n pi_n v_n
#pragma once

#include "vhmn/core/simd.hpp"
#include "vhmn/ops/softmax.hpp"

namespace vhmn::ops {

// v: (B, N, D)   w: (D)   pi: (B, N) pooling weights   z: (B, D)
template <class T>
void attention_pool_forward(T* z, T* pi, const T* v, const T* w, T bias, index_t B, index_t N, index_t D) {
  parallel_for(B, B > 1 && N * D > 4096, [&](index_t b) {
    T* pb = pi + b * N;
    for (index_t n = 0; n < N; ++n) pb[n] = simd::dot(D, w, v + (b * N + n) * D) + bias;
    softmax_inplace(pb, N);
    T* zb = z + b * D;
    for (index_t d = 0; d < D; ++d) zb[d] = T(0);
    for (index_t n = 0; n < N; ++n) simd::axpy(D, pb[n], v + (b * N + n) * D, zb);
  });
}

// Backward:
//   dv_n += pi_n dz + de_n w        dpi_n = <dz, v_n>      de = pi * (dpi - <pi, dpi>)
//   dw += sum_{b,n} de_n v_n        db += sum_{b,n} de_n
// Workspace de: (B, N). dw, db accumulated over images in order.
template <class T>
void attention_pool_backward(T* dv, T* dw, T* dbias, T* de, const T* dz, const T* pi, const T* v, const T* w,
                             index_t B, index_t N, index_t D) {
  parallel_for(B, B > 1 && N * D > 4096, [&](index_t b) {
    const T* dzb = dz + b * D;
    T* deb = de + b * N;
    for (index_t n = 0; n < N; ++n) deb[n] = simd::dot(D, dzb, v + (b * N + n) * D);
    softmax_backward(deb, deb, pi + b * N, N);
    for (index_t n = 0; n < N; ++n) {
      T* dvn = dv + (b * N + n) * D;
      simd::axpy(D, pi[b * N + n], dzb, dvn);
      simd::axpy(D, deb[n], w, dvn);
    }
  });
  for (index_t b = 0; b < B; ++b)
    for (index_t n = 0; n < N; ++n) {
      if (dw) simd::axpy(D, de[b * N + n], v + (b * N + n) * D, dw);
      if (dbias) *dbias += de[b * N + n];
    }
}

}  // namespace vhmn::ops
