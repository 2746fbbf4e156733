// vhmn/ops/layernorm.hpp — LayerNorm over the last dimension (eps 1e-5, affine).
#pragma once

#include <cmath>

#include "vhmn/core/simd.hpp"

namespace vhmn::ops {

inline constexpr double kLayerNormEps = 1e-5;

// y = (x - mean) * rstd * gamma + beta, per row
// y, x: (R, D)   gamma, beta: (D)   mean, rstd: (R) saved for the backward
template <class T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, index_t R,
                       index_t D) {
  parallel_for(R, R * D > 4096, [&](index_t r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const T mu = simd::sum(D, xr) / T(D);
    // two-pass variance: no cancellation when |mean| >> std
    const T var = simd::reduce(D, xr, [mu](auto v) { return (v - mu) * (v - mu); }) / T(D);
    const T rs = T(1) / std::sqrt(var + T(kLayerNormEps));
    mean[r] = mu;
    rstd[r] = rs;
    simd::map3(D, xr, gamma, beta, yr, [mu, rs](auto v, auto g, auto b) { return (v - mu) * rs * g + b; });
  });
}

// Backward of the above, with xhat = (x - mean) * rstd:
//   dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
//   dgamma += sum_r dy * xhat     dbeta += sum_r dy
// dx: (R, D) accumulated; dgamma, dbeta: (D) accumulated (rows in order:
// deterministic for any thread count).
template <class T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean, const T* rstd,
                        const T* gamma, index_t R, index_t D) {
  parallel_for(R, R * D > 4096, [&](index_t r) {
    const T* xr = x + r * D;
    const T* dyr = dy + r * D;
    T* dxr = dx + r * D;
    const T mu = mean[r], rs = rstd[r];
    T mean_dxhat = T(0), mean_dxhat_xhat = T(0);
    for (index_t d = 0; d < D; ++d) {
      const T dxhat = dyr[d] * gamma[d];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * (xr[d] - mu) * rs;
    }
    mean_dxhat /= T(D);
    mean_dxhat_xhat /= T(D);
    for (index_t d = 0; d < D; ++d) {
      const T xhat = (xr[d] - mu) * rs;
      dxr[d] += rs * (dyr[d] * gamma[d] - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  });
  if (!dgamma && !dbeta) return;
  for (index_t r = 0; r < R; ++r) {
    const T* xr = x + r * D;
    const T* dyr = dy + r * D;
    const T mu = mean[r], rs = rstd[r];
    if (dgamma)
      simd::map3(D, xr, dyr, dgamma, dgamma, [mu, rs](auto v, auto g, auto acc) { return acc + g * ((v - mu) * rs); });
    if (dbeta) simd::add_to(D, dyr, dbeta);
  }
}

}  // namespace vhmn::ops
