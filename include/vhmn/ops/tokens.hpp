// vhmn/ops/tokens.hpp — token mean-pool, broadcast add, concat along features.
#pragma once

#include "vhmn/core/simd.hpp"

namespace vhmn::ops {

// g[b] = (1/N) sum_n u[b, n]
// u: (B, N, D)   g: (B, D)
template <class T>
void mean_pool_forward(T* g, const T* u, index_t B, index_t N, index_t D) {
  for (index_t b = 0; b < B; ++b) {
    T* gb = g + b * D;
    for (index_t d = 0; d < D; ++d) gb[d] = T(0);
    for (index_t n = 0; n < N; ++n) simd::add_to(D, u + (b * N + n) * D, gb);
    simd::scale(D, T(1) / T(N), gb);
  }
}

// du[b, n] += dg[b] / N
template <class T>
void mean_pool_backward(T* du, const T* dg, index_t B, index_t N, index_t D) {
  const T inv = T(1) / T(N);
  parallel_for(B * N, B * N * D > 32768, [&](index_t bn) { simd::axpy(D, inv, dg + (bn / N) * D, du + bn * D); });
}

// y[b, n] = x[b, n] + a[b, n] + c[b]       (c broadcast over the N tokens)
// y, x, a: (B, N, D)   c: (B, D)
template <class T>
void residual_broadcast_forward(T* y, const T* x, const T* a, const T* c, index_t B, index_t N, index_t D) {
  parallel_for(B * N, B * N * D > 32768, [&](index_t bn) {
    simd::map3(D, x + bn * D, a + bn * D, c + (bn / N) * D, y + bn * D,
               [](auto xv, auto av, auto cv) { return xv + av + cv; });
  });
}

// dc[b] += sum_n dy[b, n]   (dx and da equal dy: the caller reuses dy)
template <class T>
void broadcast_backward(T* dc, const T* dy, index_t B, index_t N, index_t D) {
  for (index_t b = 0; b < B; ++b)
    for (index_t n = 0; n < N; ++n) simd::add_to(D, dy + (b * N + n) * D, dc + b * D);
}

// out[r] = [x[r] ; y[r]]
// x: (R, A)   y: (R, Bw)   out: (R, A + Bw)
template <class T>
void concat_forward(T* out, const T* x, const T* y, index_t R, index_t A, index_t Bw) {
  parallel_for(R, R * (A + Bw) > 32768, [&](index_t r) {
    T* o = out + r * (A + Bw);
    for (index_t i = 0; i < A; ++i) o[i] = x[r * A + i];
    for (index_t i = 0; i < Bw; ++i) o[A + i] = y[r * Bw + i];
  });
}

// dx[r] += dout[r, :A]    dy[r] += dout[r, A:]
template <class T>
void concat_backward(T* dx, T* dy, const T* dout, index_t R, index_t A, index_t Bw) {
  parallel_for(R, R * (A + Bw) > 32768, [&](index_t r) {
    const T* g = dout + r * (A + Bw);
    if (dx) simd::add_to(A, g, dx + r * A);
    if (dy) simd::add_to(Bw, g + A, dy + r * Bw);
  });
}

}  // namespace vhmn::ops
