// vhmn/ops/cross_entropy.hpp — softmax cross-entropy against soft targets.
//
//   loss = (1/B) sum_b  -sum_k t[b,k] log softmax(logits[b])_k
// Targets need not be one-hot (label smoothing, MixUp, CutMix); each row
// is expected to sum to 1 but the gradient is exact for any row sum.
#pragma once

#include <cmath>

#include "vhmn/core/error.hpp"
#include "vhmn/ops/softmax.hpp"

namespace vhmn::ops {

// logits, targets, probs: (B, K). Returns the mean loss; probs = softmax(logits).
template <class T>
T cross_entropy_forward(T* probs, const T* logits, const T* targets, index_t B, index_t K) {
  double total = 0.0;
  for (index_t b = 0; b < B; ++b) {
    const T* lb = logits + b * K;
    T* pb = probs + b * K;
    const T mx = simd::max(K, lb);
    double sum_exp = 0.0;
    for (index_t k = 0; k < K; ++k) sum_exp += std::exp(static_cast<double>(lb[k] - mx));
    const double log_z = static_cast<double>(mx) + std::log(sum_exp);
    for (index_t k = 0; k < K; ++k) {
      const double log_p = static_cast<double>(lb[k]) - log_z;
      pb[k] = static_cast<T>(std::exp(log_p));
      if (targets[b * K + k] != T(0)) total -= static_cast<double>(targets[b * K + k]) * log_p;
    }
  }
  return static_cast<T>(total / static_cast<double>(B));
}

// dlogits += (probs * sum_k t - t) / M, M = mean_over (0: B). A data-parallel
// rank passes the global batch as M: its B rows are part of a mean over M.
template <class T>
void cross_entropy_backward(T* dlogits, const T* probs, const T* targets, index_t B, index_t K,
                            index_t mean_over = 0) {
  const T inv_b = T(1) / T(mean_over > 0 ? mean_over : B);
  for (index_t b = 0; b < B; ++b) {
    T tsum = T(0);
    for (index_t k = 0; k < K; ++k) tsum += targets[b * K + k];
    for (index_t k = 0; k < K; ++k)
      dlogits[b * K + k] += (probs[b * K + k] * tsum - targets[b * K + k]) * inv_b;
  }
}

}  // namespace vhmn::ops
