// vhmn/ops/unfold.hpp — k x k window unfold of a token grid, zero padded.
//
// Orders each token's window exactly as torch.nn.functional.unfold(grid, k,
// padding=k/2) on a [D, h, w] grid: column index d*k*k + i*k + j holds
// channel d of the token at offset (i - k/2, j - k/2); outside the grid, 0.
#pragma once

#include <algorithm>
#include <type_traits>

#include "vhmn/core/bf16.hpp"
#include "vhmn/core/config.hpp"
#include "vhmn/ops/gemm_bf16.hpp"

namespace vhmn::ops {

// col[b*N + n, d*k*k + i*k + j] = u[b, row+i-k/2, colm+j-k/2, d]  (0 outside)
// u: (B, h, w, D) token rows   col: (B*h*w, D*k*k)
template <class T>
void unfold_forward(T* col, const T* u, index_t B, index_t h, index_t w, index_t D, index_t k) {
  const index_t N = h * w, kk = k * k, half = k / 2;
  parallel_for(B * N, B * N * D * kk > 32768, [&](index_t bn) {
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
  });
}

// Backward: du[b, row+i-k/2, colm+j-k/2, d] += dcol[b*N + n, d*k*k + i*k + j]
// du: (B, h, w, D) accumulated. Parallel over images, so no two threads
// touch the same du row.
template <class T>
void unfold_backward(T* du, const T* dcol, index_t B, index_t h, index_t w, index_t D, index_t k) {
  const index_t N = h * w, kk = k * k, half = k / 2;
  parallel_for(B, B > 1 && N * D * kk > 32768, [&](index_t b) {
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
  });
}

// ---- The same windows in token-major order (fast path of the local memory).
// colp[b*N + n, (i*k + j)*D + d] = u[b, row+i-k/2, colm+j-k/2, d]  (0 outside)
// Every (i, j) cell is one contiguous copy of a token's D features. A query
// W col (W: (L, D*k*k), spec order) equals Wp colp with the weight's columns
// permuted the same way (unfold_weight_permute), so the model uses this
// layout and keeps the spec's weight layout for checkpoints.
// u: (B, h, w, D)   colp: (B*h*w, k*k*D), of u's type or, for a float u,
// bf16 (each value rounded: the bf16-mode cache of the local memory).
template <class Out, class T>
void unfold_ijd_forward(Out* colp, const T* u, index_t B, index_t h, index_t w, index_t D, index_t k) {
  static_assert(std::is_same_v<Out, T> || (std::is_same_v<Out, bf16> && std::is_same_v<T, float>),
                "unfold_ijd_forward writes u's type, or bf16 from float");
  const index_t N = h * w, kk = k * k, half = k / 2;
  parallel_for(B * N, B * N * D * kk > 32768, [&](index_t bn) {
    const index_t b = bn / N, n = bn % N, row = n / w, cm = n % w;
    Out* out = colp + bn * kk * D;
    for (index_t i = 0; i < k; ++i) {
      const index_t rr = row + i - half;
      for (index_t j = 0; j < k; ++j) {
        const index_t cc = cm + j - half;
        Out* dst = out + (i * k + j) * D;
        if (rr < 0 || rr >= h || cc < 0 || cc >= w) {
          std::fill(dst, dst + D, Out{});  // 0 (a bf16's zero bits are +0)
        } else {
          const T* src = u + (b * N + rr * w + cc) * D;
          if constexpr (std::is_same_v<Out, T>)
            std::copy_n(src, D, dst);
          else
            convert_to_bf16_fast(dst, src, D);
        }
      }
    }
  });
}

// Backward: du[b, row+i-k/2, colm+j-k/2, :] += dcolp[b*N + n, (i*k + j)*D : +D]
// du: (B, h, w, D) accumulated. Parallel over destination tokens (each
// gathers its k*k contributions in a fixed order): deterministic, no races.
template <class T>
void unfold_ijd_backward(T* du, const T* dcolp, index_t B, index_t h, index_t w, index_t D, index_t k) {
  const index_t N = h * w, kk = k * k, half = k / 2;
  parallel_for(B * N, B * N * D * kk > 32768, [&](index_t bn) {
    const index_t b = bn / N, n = bn % N, row = n / w, cm = n % w;
    T* dst = du + bn * D;
    // token (row, cm) sits at offset (i, j) of the window of token
    // (row - i + k/2, cm - j + k/2)
    for (index_t i = 0; i < k; ++i) {
      const index_t rr = row - i + half;
      if (rr < 0 || rr >= h) continue;
      for (index_t j = 0; j < k; ++j) {
        const index_t cc = cm - j + half;
        if (cc < 0 || cc >= w) continue;
        const T* g = dcolp + (b * N + rr * w + cc) * kk * D + (i * k + j) * D;
        for (index_t d = 0; d < D; ++d) dst[d] += g[d];
      }
    }
  });
}

// Wp[l, (i*k + j)*D + d] = W[l, d*k*k + i*k + j]      W, Wp: (L, D*k*k)
template <class T>
void unfold_weight_permute(T* Wp, const T* W, index_t L, index_t D, index_t kk) {
  parallel_for(L, L * D * kk > 65536, [&](index_t l) {
    for (index_t d = 0; d < D; ++d)
      for (index_t ij = 0; ij < kk; ++ij) Wp[l * D * kk + ij * D + d] = W[l * D * kk + d * kk + ij];
  });
}
// Its backward: dW[l, d*k*k + i*k + j] += dWp[l, (i*k + j)*D + d]
template <class T>
void unfold_weight_permute_backward(T* dW, const T* dWp, index_t L, index_t D, index_t kk) {
  parallel_for(L, L * D * kk > 65536, [&](index_t l) {
    for (index_t d = 0; d < D; ++d)
      for (index_t ij = 0; ij < kk; ++ij) dW[l * D * kk + d * kk + ij] += dWp[l * D * kk + ij * D + d];
  });
}

}  // namespace vhmn::ops
