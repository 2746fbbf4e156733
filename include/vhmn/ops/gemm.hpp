// vhmn/ops/gemm.hpp — the one matrix-product entry point of vhmn.
//
//   C (M x N)  =/+=  alpha * op(A) op(B),   op(X) = X or X^T
// Row-major buffers. Why a wrapper instead of calling Eigen directly: Eigen's
// own threading picks its blocking from the thread count, which changes the
// summation order and hence the last bits of results. Here the output is cut
// into tiles by a rule that depends only on (M, N); each tile is one
// single-threaded Eigen product and tiles run on OpenMP threads. Results are
// therefore bit-identical for any thread count.
//
// Tiles are large (up to kGemmTileRows x kGemmTileCols): every tile packs its
// own panels of A and B, so small tiles repack the same B over and over (a
// 64-row tile against a 2500-slot bank spent about a quarter of its time
// packing). Each tile calls Eigen's GEMM kernel directly with a per-thread
// workspace that grows to the largest tile seen and is then reused, so a
// steady-state step never allocates (Eigen's own expression path allocates
// its packing buffers on the heap for every product above 128 KiB).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/ops/eigen_maps.hpp"

// Tile sizes of the output (a tuning knob: the rule is shape-only either way).
#ifndef VHMN_GEMM_TILE_ROWS
#define VHMN_GEMM_TILE_ROWS 256
#endif
#ifndef VHMN_GEMM_TILE_COLS
#define VHMN_GEMM_TILE_COLS 1024
#endif

#if EIGEN_VERSION_AT_LEAST(3, 3, 90)
#define VHMN_GEMM_DIRECT 1
#else
#define VHMN_GEMM_DIRECT 0
#endif

// Optional BLAS backend (off by default: the library stays header-only).
// With VHMN_USE_BLAS each float/double tile is one cblas_?gemm call; the
// tiling above it is unchanged, so results still do not depend on vhmn's
// thread count (a BLAS call inside a vhmn parallel region runs on one
// thread; see docs/architecture.md for the determinism caveat).
#if defined(VHMN_USE_BLAS)
#include <cblas.h>
#endif

namespace vhmn::ops {

enum class Trans { No, Yes };

namespace detail {
inline constexpr index_t kGemmTileRows = VHMN_GEMM_TILE_ROWS;
inline constexpr index_t kGemmTileCols = VHMN_GEMM_TILE_COLS;
inline constexpr index_t kGemmMinTiles = 4;

/// Splits `extent` into `parts` near-equal chunks of at most `tile`.
inline index_t gemm_parts(index_t extent, index_t tile) { return (extent + tile - 1) / tile; }
inline index_t gemm_part_begin(index_t extent, index_t parts, index_t i) { return extent * i / parts; }

#if VHMN_GEMM_DIRECT
/// Packing buffers of one thread, grown on demand and kept.
template <class T>
struct GemmWorkspace {
  std::vector<T, AlignedAllocator<T>> a, b;
};
template <class T>
GemmWorkspace<T>& gemm_workspace() {
  thread_local GemmWorkspace<T> ws;
  return ws;
}

/// Eigen's cache blocking for one single-threaded product, on our workspace.
template <class T>
class GemmBlocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  // rows, cols, depth of Eigen's column-major kernel problem.
  GemmBlocking(index_t rows, index_t cols, index_t depth) {
    Eigen::Index kc = depth, mc = rows, nc = cols;
    Eigen::internal::computeProductBlockingSizes<T, T, 1, Eigen::Index>(kc, mc, nc, Eigen::Index(1));
    this->m_kc = kc;
    this->m_mc = mc;
    this->m_nc = nc;
    GemmWorkspace<T>& ws = gemm_workspace<T>();
    const std::size_t size_a = static_cast<std::size_t>(kc * std::min<Eigen::Index>(mc, rows));
    const std::size_t size_b = static_cast<std::size_t>(kc * std::min<Eigen::Index>(nc, cols));
    if (ws.a.size() < size_a) ws.a.resize(size_a);
    if (ws.b.size() < size_b) ws.b.resize(size_b);
    this->m_blockA = ws.a.data();
    this->m_blockB = ws.b.data();
  }
};

// C[m x n] (row-major, stride ldc) += alpha * op(A)[m x K] op(B)[K x n] with
// A, B already offset to the tile and described by storage order + stride.
template <class T, int LhsOrder, int RhsOrder>
void gemm_kernel(T* c, index_t ldc, const T* a, index_t lda, const T* b, index_t ldb, index_t m, index_t n,
                 index_t K, T alpha) {
  // A row-major result is computed by Eigen as the column-major C^T = B^T A^T.
  GemmBlocking<T> blocking(n, m, K);
  Eigen::internal::general_matrix_matrix_product<Eigen::Index, T, LhsOrder, false, T, RhsOrder, false,
                                                 Eigen::RowMajor, 1>::run(m, n, K, a, lda, b, ldb, c, 1, ldc, alpha,
                                                                          blocking, nullptr);
}
#endif

#if defined(VHMN_USE_BLAS)
// The tile of gemm_tile below through CBLAS (row-major). beta = 0 when not
// accumulating: BLAS then never reads C, as the Eigen path's memset.
inline void blas_gemm(float* c, index_t ldc, const float* a, index_t lda, const float* b, index_t ldb, index_t m,
                      index_t n, index_t K, Trans ta, Trans tb, float alpha, bool accumulate) {
  cblas_sgemm(CblasRowMajor, ta == Trans::No ? CblasNoTrans : CblasTrans, tb == Trans::No ? CblasNoTrans : CblasTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(K), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), accumulate ? 1.0f : 0.0f, c, static_cast<int>(ldc));
}
inline void blas_gemm(double* c, index_t ldc, const double* a, index_t lda, const double* b, index_t ldb, index_t m,
                      index_t n, index_t K, Trans ta, Trans tb, double alpha, bool accumulate) {
  cblas_dgemm(CblasRowMajor, ta == Trans::No ? CblasNoTrans : CblasTrans, tb == Trans::No ? CblasNoTrans : CblasTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(K), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), accumulate ? 1.0 : 0.0, c, static_cast<int>(ldc));
}
template <class T>
inline constexpr bool kBlasScalar = std::is_same_v<T, float> || std::is_same_v<T, double>;
#endif

// C[r0:r1, c0:c1] (+)= alpha op(A)[r0:r1, :] op(B)[:, c0:c1]
template <class T>
void gemm_tile(T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb, T alpha,
               bool accumulate, index_t r0, index_t r1, index_t c0, index_t c1) {
#if defined(VHMN_USE_BLAS)
  if constexpr (kBlasScalar<T>) {
    // op(A) tile: A (M x K) row-major, or A^T where A is stored (K x M);
    // op(B) tile: B (K x N) row-major, or B^T where B is stored (N x K).
    VHMN_CHECK(M <= INT32_MAX && N <= INT32_MAX && K <= INT32_MAX,
               "matrix product " << M << " x " << N << " x " << K << " exceeds the BLAS int range");
    blas_gemm(c + r0 * N + c0, N, ta == Trans::No ? a + r0 * K : a + r0, ta == Trans::No ? K : M,
              tb == Trans::No ? b + c0 : b + c0 * K, tb == Trans::No ? N : K, r1 - r0, c1 - c0, K, ta, tb, alpha,
              accumulate);
    return;
  }
#endif
#if VHMN_GEMM_DIRECT
  const index_t m = r1 - r0, n = c1 - c0;
  T* ct = c + r0 * N + c0;
  if (!accumulate)
    for (index_t r = 0; r < m; ++r) std::memset(ct + r * N, 0, static_cast<std::size_t>(n) * sizeof(T));
  constexpr int Row = Eigen::RowMajor, Col = Eigen::ColMajor;
  // op(A) tile: A (M x K) row-major, or A^T where A is stored (K x M).
  // op(B) tile: B (K x N) row-major, or B^T where B is stored (N x K).
  const T* at = ta == Trans::No ? a + r0 * K : a + r0;
  const index_t lda = ta == Trans::No ? K : M;
  const T* bt = tb == Trans::No ? b + c0 : b + c0 * K;
  const index_t ldb = tb == Trans::No ? N : K;
  if (ta == Trans::No) {
    if (tb == Trans::No)
      gemm_kernel<T, Row, Row>(ct, N, at, lda, bt, ldb, m, n, K, alpha);
    else
      gemm_kernel<T, Row, Col>(ct, N, at, lda, bt, ldb, m, n, K, alpha);
  } else {
    if (tb == Trans::No)
      gemm_kernel<T, Col, Row>(ct, N, at, lda, bt, ldb, m, n, K, alpha);
    else
      gemm_kernel<T, Col, Col>(ct, N, at, lda, bt, ldb, m, n, K, alpha);
  }
#else
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
#endif
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
  // Shape-only tiling: row and column parts of near-equal size.
  // A large product with a small output (weight gradients: K = B*N rows)
  // is still cut into at least kGemmMinTiles tiles of >= 64 rows/columns.
  index_t row_parts = detail::gemm_parts(M, detail::kGemmTileRows);
  index_t col_parts = detail::gemm_parts(N, detail::kGemmTileCols);
  const bool big = M * N * K >= 32 * 32 * 32;
  while (big && row_parts * col_parts < detail::kGemmMinTiles) {
    const index_t rows = M / row_parts, cols = N / col_parts;
    if (rows >= cols && rows >= 128)
      row_parts *= 2;
    else if (cols >= 128)
      col_parts *= 2;
    else
      break;
  }
  const index_t tiles = row_parts * col_parts;
  parallel_for(tiles, big && tiles > 1, [&](index_t t) {
    const index_t i = t / col_parts, j = t % col_parts;
    detail::gemm_tile(c, a, b, M, N, K, ta, tb, alpha, accumulate, detail::gemm_part_begin(M, row_parts, i),
                      detail::gemm_part_begin(M, row_parts, i + 1), detail::gemm_part_begin(N, col_parts, j),
                      detail::gemm_part_begin(N, col_parts, j + 1));
  });
}

}  // namespace vhmn::ops

namespace vhmn::ops {

/// The same product on the calling thread only (for kernels that are
/// already inside their own parallel loop). One tile: the result depends on
/// the shape only.
template <class T>
void gemm_serial(T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                 T alpha = T(1), bool accumulate = false) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) MatMap<T>(c, M, N).setZero();
    return;
  }
  detail::gemm_tile(c, a, b, M, N, K, ta, tb, alpha, accumulate, index_t(0), M, index_t(0), N);
}

}  // namespace vhmn::ops
