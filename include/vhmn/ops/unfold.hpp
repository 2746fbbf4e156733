// vhmn/ops/unfold.hpp — k x k window unfold of a token grid, zero padded.
//
// Orders each token's window exactly as torch.nn.functional.unfold(grid, k,
// padding=k/2) on a [D, h, w] grid: column index d*k*k + i*k + j holds
// channel d of the token at offset (i - k/2, j - k/2); outside the grid, 0.
#pragma once

#include <algorithm>

#include "vhmn/core/config.hpp"

namespace vhmn::ops {

// col[b*N + n, d*k*k + i*k + j] = u[b, row+i-k/2, colm+j-k/2, d]  (0 outside)
// u: (B, h, w, D) token rows   col: (B*h*w, D*k*k)
template <class T>
void unfold_forward(T* col, const T* u, index_t B, index_t h, index_t w, index_t D, index_t k) {
  const index_t N = h * w, kk = k * k, half = k / 2;
  VHMN_OMP_FOR_IF(B * N * D * kk > 32768)
  for (index_t bn = 0; bn < B * N; ++bn) {
    const index_t b = bn / N, n = bn % N, row = n / w, cm = n % w;
    T* out = col + bn * D * kk;
    for (index_t i = 0; i < k; ++i) {
      const index_t rr = row + i - half;
      for (index_t j = 0; j < k; ++j) {
        const index_t cc = cm + j - half;
        const index_t ij = i * k + j;
        if (rr < 0 || rr >= h || cc < 0 || cc >= w) {
          for (index_t d = 0; d < D; ++d) out[d * kk + ij] = T(0);
        } else {
          const T* src = u + (b * N + rr * w + cc) * D;
          for (index_t d = 0; d < D; ++d) out[d * kk + ij] = src[d];
        }
      }
    }
  }
}

// Backward: du[b, row+i-k/2, colm+j-k/2, d] += dcol[b*N + n, d*k*k + i*k + j]
// du: (B, h, w, D) accumulated. Parallel over images, so no two threads
// touch the same du row.
template <class T>
void unfold_backward(T* du, const T* dcol, index_t B, index_t h, index_t w, index_t D, index_t k) {
  const index_t N = h * w, kk = k * k, half = k / 2;
  VHMN_OMP_FOR_IF(B > 1 && N * D * kk > 32768)
  for (index_t b = 0; b < B; ++b) {
    for (index_t n = 0; n < N; ++n) {
      const index_t row = n / w, cm = n % w;
      const T* g = dcol + (b * N + n) * D * kk;
      for (index_t i = 0; i < k; ++i) {
        const index_t rr = row + i - half;
        if (rr < 0 || rr >= h) continue;
        for (index_t j = 0; j < k; ++j) {
          const index_t cc = cm + j - half;
          if (cc < 0 || cc >= w) continue;
          T* dst = du + (b * N + rr * w + cc) * D;
          const index_t ij = i * k + j;
          for (index_t d = 0; d < D; ++d) dst[d] += g[d * kk + ij];
        }
      }
    }
  }
}

}  // namespace vhmn::ops
