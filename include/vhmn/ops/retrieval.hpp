// vhmn/ops/retrieval.hpp — cosine Hopfield retrieval over a memory bank's written slots.
//
//   zh   = z / max(|z|, eps)             mh_j = M_j / max(|M_j|, eps)
//   s_j  = tau <zh, mh_j>                a = softmax_j(s)   (written slots only)
//   m    = sum_j a_j M_j                 (unnormalised slots)
// The bank is a constant for autodiff: gradients reach z, never M.
// Scores, softmax and the weighted sum run fused per tile of query rows.
// With Precision::BF16 the four products (s, m and their backward) take
// bfloat16 operands (zh, Mh, a, M, dm, ds) and accumulate in fp32; the
// normalisation, softmax and everything stored stay fp32. The slot matrices
// may come rounded once per call (SlotPacks) instead of once per tile.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "vhmn/core/simd.hpp"
#include "vhmn/ops/gemm_precision.hpp"
#include "vhmn/ops/softmax.hpp"

namespace vhmn::ops {

/// Norm clamp of the cosine similarity (docs/spec.md §3).
inline constexpr double kCosineEps = 1e-6;

/// What: a frozen, compacted view of the written slots of a bank.
/// memory: (slots, L) the slot values; memory_hat: (slots, L) unit rows.
template <class T>
struct SlotView {
  const T* memory = nullptr;
  const T* memory_hat = nullptr;
  index_t slots = 0;
};

/// bf16 mode: the slot matrices as the B operands of one call's two
/// products, rounded once (ops/gemm_bf16.hpp) and shared by every tile.
///   forward:   scores = Mh (S, L) as B^T of s = zh Mh^T,  values = M (S, L) as B of m = a M
///   backward:  scores = M  (S, L) as B^T of da = dm M^T,  values = Mh (S, L) as B of dzh = ds Mh
/// Null members: the products round the slots themselves. With both given,
/// the SlotView's memory and memory_hat are never read (they may be null: a
/// bf16-mode refinement keeps only bf16 copies of the slots).
struct SlotPacks {
  const Bf16PackedB* scores = nullptr;
  const Bf16PackedB* values = nullptr;
};

// 1 / max(|x|, eps) of one row x (L); |x| (unclamped) into *norm unless null.
template <class T>
T inverse_norm(const T* x, index_t L, T* norm = nullptr) {
  const T nr = std::sqrt(simd::dot(L, x, x));
  if (norm) *norm = nr;
  return T(1) / std::max(nr, T(kCosineEps));
}

// out[r] = x[r] / max(|x[r]|, eps);   norm[r] = |x[r]| (unclamped, for the backward)
// x, out: (R, L)   norm: (R) or null.  Serial; normalize_rows below is threaded.
template <class T>
void normalize_rows_serial(T* out, T* norm, const T* x, index_t R, index_t L) {
  for (index_t r = 0; r < R; ++r) {
    const T inv = inverse_norm(x + r * L, L, norm ? norm + r : nullptr);
    simd::map(L, x + r * L, out + r * L, [inv](auto v) { return v * inv; });
  }
}
template <class T>
void normalize_rows(T* out, T* norm, const T* x, index_t R, index_t L) {
  parallel_for(R, R * L > 32768, [&](index_t r) { normalize_rows_serial(out + r * L, norm ? norm + r : nullptr, x + r * L, 1, L); });
}

// Backward of xh = x / max(|x|, eps):
//   |x| > eps:  dx += (dxh - xh <xh, dxh>) / |x|        else: dx += dxh / eps
template <class T>
void normalize_rows_backward_serial(T* dx, const T* dxh, const T* xh, const T* norm, index_t R, index_t L) {
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
template <class T>
void normalize_rows_backward(T* dx, const T* dxh, const T* xh, const T* norm, index_t R, index_t L) {
  parallel_for(R, R * L > 32768, [&](index_t r) {
    normalize_rows_backward_serial(dx + r * L, dxh + r * L, xh + r * L, norm + r, 1, L);
  });
}

namespace detail {
/// One tile's product against the slots: c (n, N) = alpha a op(b), through
/// `packed` when the precision is bf16 and a pack is given.
template <class T>
void slot_product(Precision precision, const Bf16PackedB* packed, T* c, const T* a, const T* b, index_t n,
                  index_t N, index_t K, Trans tb, T alpha = T(1)) {
  if constexpr (std::is_same_v<T, float>) {
    if (precision == Precision::BF16 && packed) return gemm_bf16_serial(c, a, *packed, n, Trans::No, alpha);
  }
  gemm_serial(precision, c, a, b, n, N, K, Trans::No, tb, alpha);
}

/// Rows per fused retrieval tile: a shape-only rule (results never depend on
/// the thread count), small enough that a tile's (rows, S) scores stay in
/// cache between the two products, large enough to amortise packing the bank.
inline index_t retrieval_tile_rows(index_t R) { return std::min<index_t>(128, std::max<index_t>(16, (R + 7) / 8)); }

/// Per-thread (rows, S) scratch for tiles whose scores are not kept.
template <class T>
T* retrieval_scratch(index_t n) {
  thread_local std::vector<T, AlignedAllocator<T>> buf;
  if (static_cast<index_t>(buf.size()) < n) buf.resize(static_cast<std::size_t>(n));
  return buf.data();
}
}  // namespace detail

// Forward, R query rows against the written slots, fused per tile of rows
// (normalise, scores, softmax, weighted sum) so the scores of a tile are
// reused while in cache.
// z: (R, L)   norm: (R)   zh: (R, L)   m: (R, L)   S = slots.slots >= 1
// attn: (R, S) retrieval weights, or null to keep none (inference).
template <class T>
void retrieval_forward(T* m, T* attn, T* zh, T* norm, const T* z, const SlotView<T>& slots, T tau, index_t R,
                       index_t L, Precision precision = Precision::FP32, SlotPacks packs = {}) {
  const index_t S = slots.slots, tile = detail::retrieval_tile_rows(R), tiles = (R + tile - 1) / tile;
  parallel_for(tiles, tiles > 1 && R * S * L > 65536, [&](index_t t) {
    const index_t r0 = t * tile, n = std::min(tile, R - r0);
    T* a = attn ? attn + r0 * S : detail::retrieval_scratch<T>(tile * S);
    normalize_rows_serial(zh + r0 * L, norm + r0, z + r0 * L, n, L);
    detail::slot_product(precision, packs.scores, a, zh + r0 * L, slots.memory_hat, n, S, L, Trans::Yes,
                         tau);  // s = tau zh Mh^T
    for (index_t r = 0; r < n; ++r) softmax_inplace(a + r * S, S);
    detail::slot_product(precision, packs.values, m + r0 * L, a, slots.memory, n, L, S, Trans::No);  // m = a M
  });
}

// Backward of the above, fused per tile of rows in the same way.
//   da  = dm M^T               ds = a * (da - <a, da>)      (softmax)
//   dzh = tau ds Mh            dz += normalize_rows_backward(dzh)
// dz: (R, L) accumulated.  Workspaces: ds (R, S) or null (per-thread tile
// scratch), dzh (R, L).
template <class T>
void retrieval_backward(T* dz, T* ds, T* dzh, const T* dm, const T* attn, const T* zh, const T* norm,
                        const SlotView<T>& slots, T tau, index_t R, index_t L,
                        Precision precision = Precision::FP32, SlotPacks packs = {}) {
  const index_t S = slots.slots, tile = detail::retrieval_tile_rows(R), tiles = (R + tile - 1) / tile;
  parallel_for(tiles, tiles > 1 && R * S * L > 65536, [&](index_t t) {
    const index_t r0 = t * tile, n = std::min(tile, R - r0);
    T* g = ds ? ds + r0 * S : detail::retrieval_scratch<T>(tile * S);
    detail::slot_product(precision, packs.scores, g, dm + r0 * L, slots.memory, n, S, L, Trans::Yes);  // da = dm M^T
    for (index_t r = 0; r < n; ++r) softmax_backward(g + r * S, g + r * S, attn + (r0 + r) * S, S);
    detail::slot_product(precision, packs.values, dzh + r0 * L, g, slots.memory_hat, n, L, S, Trans::No,
                         tau);  // dzh = tau ds Mh
    normalize_rows_backward_serial(dz + r0 * L, dzh + r0 * L, zh + r0 * L, norm + r0, n, L);
  });
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
