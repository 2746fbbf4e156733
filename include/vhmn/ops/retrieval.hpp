// vhmn/ops/retrieval.hpp — cosine Hopfield retrieval over a memory bank's written slots.
//
//   zh   = z / max(|z|, eps)             mh_j = M_j / max(|M_j|, eps)
//   s_j  = tau <zh, mh_j>                a = softmax_j(s)   (written slots only)
//   m    = sum_j a_j M_j                 (unnormalised slots)
// The bank is a constant for autodiff: gradients reach z, never M.
// Scores and the weighted sum are two GEMMs (Eigen) over a tile of rows.
#pragma once

#include <cmath>

#include "vhmn/core/simd.hpp"
#include "vhmn/ops/gemm.hpp"
#include "vhmn/ops/softmax.hpp"

namespace vhmn::ops {

/// Norm clamp of the cosine similarity (SPEC.md §3).
inline constexpr double kCosineEps = 1e-6;

/// What: a frozen, compacted view of the written slots of a bank.
/// memory: (slots, L) the slot values; memory_hat: (slots, L) unit rows.
template <class T>
struct SlotView {
  const T* memory = nullptr;
  const T* memory_hat = nullptr;
  index_t slots = 0;
};

// out[r] = x[r] / max(|x[r]|, eps);   norm[r] = |x[r]| (unclamped, for the backward)
// x, out: (R, L)   norm: (R)
template <class T>
void normalize_rows(T* out, T* norm, const T* x, index_t R, index_t L) {
  VHMN_OMP_FOR_IF(R * L > 32768)
  for (index_t r = 0; r < R; ++r) {
    const T nr = std::sqrt(simd::dot(L, x + r * L, x + r * L));
    if (norm) norm[r] = nr;
    const T inv = T(1) / std::max(nr, T(kCosineEps));
    simd::map(L, x + r * L, out + r * L, [inv](auto v) { return v * inv; });
  }
}

// Backward of xh = x / max(|x|, eps):
//   |x| > eps:  dx += (dxh - xh <xh, dxh>) / |x|        else: dx += dxh / eps
template <class T>
void normalize_rows_backward(T* dx, const T* dxh, const T* xh, const T* norm, index_t R, index_t L) {
  VHMN_OMP_FOR_IF(R * L > 32768)
  for (index_t r = 0; r < R; ++r) {
    const T* g = dxh + r * L;
    const T* xr = xh + r * L;
    T* out = dx + r * L;
    if (norm[r] > T(kCosineEps)) {
      const T inner = simd::dot(L, xr, g), inv = T(1) / norm[r];
      simd::map3(L, g, xr, out, out, [inner, inv](auto gv, auto xv, auto acc) { return acc + (gv - xv * inner) * inv; });
    } else {
      simd::axpy(L, T(1) / T(kCosineEps), g, out);
    }
  }
}

// Forward, R query rows against the written slots.
// z: (R, L)   norm: (R)   zh: (R, L)   attn: (R, S)   m: (R, L)   S = slots.slots >= 1
template <class T>
void retrieval_forward(T* m, T* attn, T* zh, T* norm, const T* z, const SlotView<T>& slots, T tau, index_t R,
                       index_t L) {
  const index_t S = slots.slots;
  normalize_rows(zh, norm, z, R, L);
  gemm(attn, zh, slots.memory_hat, R, S, L, Trans::No, Trans::Yes, tau);
  VHMN_OMP_FOR_IF(R * S > 32768)
  for (index_t r = 0; r < R; ++r) softmax_inplace(attn + r * S, S);
  gemm(m, attn, slots.memory, R, L, S, Trans::No, Trans::No);
}

// Backward of the above.
//   da  = dm M^T               ds = a * (da - <a, da>)      (softmax)
//   dzh = tau ds Mh            dz += normalize_rows_backward(dzh)
// dz: (R, L) accumulated.  Workspaces: ds (R, S), dzh (R, L).
template <class T>
void retrieval_backward(T* dz, T* ds, T* dzh, const T* dm, const T* attn, const T* zh, const T* norm,
                        const SlotView<T>& slots, T tau, index_t R, index_t L) {
  const index_t S = slots.slots;
  gemm(ds, dm, slots.memory, R, S, L, Trans::No, Trans::Yes);
  VHMN_OMP_FOR_IF(R * S > 32768)
  for (index_t r = 0; r < R; ++r) softmax_backward(ds + r * S, ds + r * S, attn + r * S, S);
  gemm(dzh, ds, slots.memory_hat, R, L, S, Trans::No, Trans::No, tau);
  normalize_rows_backward(dz, dzh, zh, norm, R, L);
}

// The refinement update:  z_next = z + beta (m - z)
// z, m, z_next: (n)
template <class T>
void refine_update_forward(T* z_next, const T* z, const T* m, T beta, index_t n) {
  simd::map2(n, z, m, z_next, [beta](auto zv, auto mv) { return zv + beta * (mv - zv); });
}

// Backward: dz += (1 - beta) dz_next;  dm += beta dz_next (into dm, overwritten);
// returns d beta = sum dz_next * (m - z), summed per row then rows in order.
template <class T>
T refine_update_backward(T* dz, T* dm, const T* dz_next, const T* z, const T* m, T beta, index_t R, index_t L) {
  T dbeta = T(0);
  for (index_t r = 0; r < R; ++r) {
    const index_t o = r * L;
    dbeta += simd::reduce2(L, dz_next + o, m + o, [](auto g, auto mv) { return g * mv; }) -
             simd::dot(L, dz_next + o, z + o);
    simd::map(L, dz_next + o, dm + o, [beta](auto g) { return beta * g; });
    simd::axpy(L, T(1) - beta, dz_next + o, dz + o);
  }
  return dbeta;
}

}  // namespace vhmn::ops
