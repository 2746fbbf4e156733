// vhmn/ops/gemm.hpp — the one matrix-product entry point of vhmn.
//
//   C (M x N)  =/+=  alpha * op(A) op(B),   op(X) = X or X^T
// Row-major buffers. Why a wrapper instead of calling Eigen directly: Eigen's
// own threading picks its blocking from the thread count, which changes the
// summation order and hence the last bits of results. Here the output is cut
// into tiles by a rule that depends only on (M, N); each tile is one
// single-threaded Eigen product and tiles run on OpenMP threads. Results are
// therefore bit-identical for any thread count.
#pragma once

#include "vhmn/core/config.hpp"
#include "vhmn/ops/eigen_maps.hpp"

namespace vhmn::ops {

enum class Trans { No, Yes };

namespace detail {
inline constexpr index_t kGemmTile = 64;

// C[r0:r1, c0:c1] (+)= alpha op(A)[r0:r1, :] op(B)[:, c0:c1]
template <class T>
void gemm_tile(T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb, T alpha,
               bool accumulate, index_t r0, index_t r1, index_t c0, index_t c1) {
  auto C = MatMap<T>(c, M, N).block(r0, c0, r1 - r0, c1 - c0);
  auto run = [&](const auto& A, const auto& B) {
    if (accumulate)
      C.noalias() += alpha * (A * B);
    else
      C.noalias() = alpha * (A * B);
  };
  auto with_b = [&](const auto& A) {
    if (tb == Trans::No)
      run(A, ConstMatMap<T>(b, K, N).middleCols(c0, c1 - c0));
    else
      run(A, ConstMatMap<T>(b, N, K).middleRows(c0, c1 - c0).transpose());
  };
  if (ta == Trans::No)
    with_b(ConstMatMap<T>(a, M, K).middleRows(r0, r1 - r0));
  else
    with_b(ConstMatMap<T>(a, K, M).middleCols(r0, r1 - r0).transpose());
}
}  // namespace detail

// a: (M, K) or, with ta = Yes, (K, M).  b: (K, N) or, with tb = Yes, (N, K).
template <class T>
void gemm(T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb, T alpha = T(1),
          bool accumulate = false) {
  if (M == 0 || N == 0) return;
#if defined(EIGEN_HAS_OPENMP)
  // Eigen was included before vhmn with its own threading on: turn it off once.
  static const bool eigen_serial = (Eigen::setNbThreads(1), true);
  (void)eigen_serial;
#endif
  if (K == 0) {
    if (!accumulate) MatMap<T>(c, M, N).setZero();
    return;
  }
  constexpr index_t tile = detail::kGemmTile;
  // Split the longer output side into tiles of `tile` (shape-only rule).
  const bool split_rows = M >= N;
  const index_t extent = split_rows ? M : N;
  const index_t tiles = (extent + tile - 1) / tile;
  const bool big = M * N * K >= 32 * 32 * 32;
  VHMN_OMP_FOR_IF(big && tiles > 1)
  for (index_t t = 0; t < tiles; ++t) {
    const index_t lo = t * tile, hi = std::min(extent, lo + tile);
    if (split_rows)
      detail::gemm_tile(c, a, b, M, N, K, ta, tb, alpha, accumulate, lo, hi, index_t(0), N);
    else
      detail::gemm_tile(c, a, b, M, N, K, ta, tb, alpha, accumulate, index_t(0), M, lo, hi);
  }
}

}  // namespace vhmn::ops
