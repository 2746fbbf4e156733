// vhmn/ops/gemm_precision.hpp — a matrix product at a chosen precision.
//
//   gemm(precision, c, a, b, M, N, K, ta, tb, alpha, accumulate)
//     FP32: ops::gemm (ops/gemm.hpp), unchanged.
//     BF16: ops::gemm_bf16 (ops/gemm_bf16.hpp): a and b rounded to bfloat16
//           (round to nearest even), products summed in fp32, alpha applied
//           and c written (or accumulated) in fp32.
// Same contract otherwise: row-major, shape-only tiling, thread-count
// independent results. BF16 exists for float only; a double product (the
// gradient checks) must ask for FP32, so a mistake fails loudly instead of
// silently running in double.
//
// The products that take this path in bf16 mode (docs/architecture.md):
// patch embedding, local and global queries, retrieval scores and weighted
// sum, the out projections, the MLP and the head, each forward and
// backward (ops/linear.hpp, ops/retrieval.hpp, nn/local_memory.hpp,
// nn/memory_path.hpp).
#pragma once

#include <type_traits>

#include "vhmn/core/precision.hpp"
#include "vhmn/ops/gemm.hpp"
#include "vhmn/ops/gemm_bf16.hpp"

namespace vhmn::ops {

// a: (M, K) or, with ta = Yes, (K, M).  b: (K, N) or, with tb = Yes, (N, K).
template <class T>
void gemm(Precision p, T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
          T alpha = T(1), bool accumulate = false) {
  if constexpr (std::is_same_v<T, float>) {
    if (p == Precision::BF16) return gemm_bf16(c, a, b, M, N, K, ta, tb, alpha, accumulate);
  } else {
    check_precision_supported<T>(p);
  }
  gemm(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}

/// The same on the calling thread only (inside a kernel's own parallel loop).
template <class T>
void gemm_serial(Precision p, T* c, const T* a, const T* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                 T alpha = T(1), bool accumulate = false) {
  if constexpr (std::is_same_v<T, float>) {
    if (p == Precision::BF16) return gemm_bf16_serial(c, a, b, M, N, K, ta, tb, alpha, accumulate);
  } else {
    check_precision_supported<T>(p);
  }
  gemm_serial(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}

}  // namespace vhmn::ops
