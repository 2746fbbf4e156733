// vhmn/ops/gemm_bf16.hpp — matrix products with bf16 operands, fp32 accumulation.
//
//   C (M x N)  =/+=  alpha * bf16(op(A)) bf16(op(B)),  sums in fp32
// The contract of ops::gemm / ops::gemm_serial (ops/gemm.hpp: row-major,
// op(X) = X or X^T, alpha, accumulate, tiles cut by shape only so a result
// never depends on the thread count), except that every element of A and B
// is first rounded to bf16 (round_to_bf16: nearest, ties to even). A and B
// may each be given as float or as vhmn::bf16 (already rounded: a cache
// kept in bf16 to halve its memory gives the same bits as its floats).
//
// Backends (bf16_backend()):
//   Native    AVX512-BF16 (vdpbf16ps): operands packed into bf16 pair panels,
//             a register-blocked microkernel, K blocks for L1, A blocks for
//             L2; a B given as a pointer is packed whole if that is at most
//             2 MiB, else one K block at a time, into a per-thread buffer of
//             at most max(2 MiB, N x 384 bf16). Compiled
//             with a function-level target attribute, so a build without
//             -mavx512bf16 still contains it; used only when
//             cpu_has_avx512_bf16() says so (never an illegal instruction).
//             GCC >= 10 / clang >= 9 on x86-64, not with VHMN_NO_SIMD.
//   Emulated  operands are rounded into per-thread float workspaces and
//             multiplied by the fp32 ops::gemm tiles (any CPU, any build;
//             forced with the environment variable VHMN_BF16=emulate).
// The two differ only in the order of the fp32 sums (each is within the
// fp32 accumulation bound of the exact product of the rounded operands).
// The native kernel flushes bf16 subnormal operands (|x| < 2^-126) to zero
// as vdpbf16ps does; the emulation keeps them.
//
// Reusing converted operands: a B used for many products (a weight matrix, a
// frozen memory bank that every tile of query rows is scored against) can be
// rounded once into a Bf16PackedB and passed instead of the float pointer:
//   Bf16PackedB wb;  wb.pack(W, K, N, Trans::Yes);   // once per step
//   gemm_bf16(y, x, wb, M, Trans::No);                 // many times
// The result is bit-identical to gemm_bf16(y, x, W, M, N, K, Trans::No, Trans::Yes).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "vhmn/core/bf16.hpp"
#include "vhmn/core/config.hpp"
#include "vhmn/core/cpu_features.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/ops/gemm.hpp"

// The native kernel needs a compiler that can target AVX512-BF16 per function.
#if !defined(VHMN_NO_SIMD) && !defined(VHMN_NO_BF16_NATIVE) && defined(__x86_64__) && \
    ((defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 10))
#define VHMN_BF16_NATIVE_BUILD 1
VHMN_THIRD_PARTY_INCLUDES_BEGIN
#include <immintrin.h>
VHMN_THIRD_PARTY_INCLUDES_END
#define VHMN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#if defined(__clang__)
#define VHMN_BF16_UNROLL _Pragma("unroll")
#else
#define VHMN_BF16_UNROLL _Pragma("GCC unroll 32")
#endif
#else
#define VHMN_BF16_NATIVE_BUILD 0
#endif

// Blocking of the native kernel (tuning knobs; results depend on KC only
// through the K-block split, which is shape-only either way).
#ifndef VHMN_BF16_MR
#define VHMN_BF16_MR 6
#endif
#ifndef VHMN_BF16_NV
#define VHMN_BF16_NV 4
#endif
#ifndef VHMN_BF16_KC
#define VHMN_BF16_KC 192
#endif
#ifndef VHMN_BF16_MC
#define VHMN_BF16_MC 256
#endif

namespace vhmn::ops {

enum class Bf16Backend { Native, Emulated };

namespace detail {
/// VHMN_BF16: unset, "" or "native" (use the kernel where the CPU has it) or "emulate".
inline bool bf16_forced_emulation() {
  const char* e = std::getenv("VHMN_BF16");
  if (!e || !*e || std::strcmp(e, "native") == 0) return false;
  VHMN_CHECK(std::strcmp(e, "emulate") == 0,
             "environment variable VHMN_BF16: expected 'emulate' or 'native', got '" << e << "'");
  return true;
}
}  // namespace detail

/// Native iff this build contains the AVX512-BF16 kernel, the CPU runs it,
/// and the environment variable VHMN_BF16 is not "emulate" (read on every
/// call, so a test or a user can switch at run time).
inline Bf16Backend bf16_backend() {
  const bool forced = detail::bf16_forced_emulation();  // checked in every build: a typo is an error everywhere
  return VHMN_BF16_NATIVE_BUILD && cpu_has_avx512_bf16() && !forced ? Bf16Backend::Native : Bf16Backend::Emulated;
}
inline const char* bf16_backend_name() {
  return bf16_backend() == Bf16Backend::Native ? "avx512-bf16" : "emulated";
}

}  // namespace vhmn::ops
#if VHMN_BF16_NATIVE_BUILD
// ---------------------------------------------------------------------------
// The native AVX512-BF16 kernel.
//
// Layout of a packed operand ("pair panel"): a panel of W rows of op(A) (or
// W columns of op(B)) is stored as [k pair p][lane j] 32-bit words, each word
// the bf16 of element 2p (low half) and 2p+1 (high half) along K, K padded
// with a zero to even and lanes past the edge zero. That is what
// vdpbf16ps wants: one B word per fp32 lane, one A word broadcast.
// The microkernel holds kMR x kNV zmm accumulators (kMR rows x 16 kNV
// columns of C) and walks the pairs of one K block; C is updated once per K
// block (C = alpha acc (+ C)), so an element's sum runs over its K blocks and
// pairs in order whatever the tiling: results depend on (M, N, K) only and
// gemm_bf16, gemm_bf16_serial and the Bf16PackedB products agree bit for bit.
// A B given as a pointer whose panels exceed 2 MiB is packed one K block at
// a time (GotoBLAS order: a K-block x N panel, then every tile's product
// with it), so the packing buffer is bounded by max(2 MiB, N x 2
// kBf16KcPairs bf16), not by K; a Bf16PackedB holds all of K.
// Operands may be given as float (rounded while packed) or as bf16 already
// (vhmn::bf16: packed as they are; the same bits as rounding their floats).
// A row-major bf16 A with K even (and 4-byte aligned) needs no packing: its
// rows are bf16 rows of pairs, so full MR-row panels are read in place and
// only a partial last panel is copied (the copy per K block cost up to half
// the time of products with few columns, e.g. 4096 x 128 x 1152).
// ---------------------------------------------------------------------------
namespace vhmn::ops::detail {

inline constexpr int kBf16MR = VHMN_BF16_MR;            // rows of the microkernel
inline constexpr int kBf16NV = VHMN_BF16_NV;            // zmm columns of the microkernel
inline constexpr index_t kBf16NR = 16 * kBf16NV;        // columns of the microkernel
inline constexpr index_t kBf16KcPairs = VHMN_BF16_KC;   // k pairs per K block (L1: B micro-panel)
inline constexpr index_t kBf16Mc = VHMN_BF16_MC;        // rows per packed A block (L2)

inline index_t bf16_pairs(index_t K) { return (K + 1) / 2; }
// K blocks of near-equal size, each at most kBf16KcPairs pairs: block kb is
// pairs [kp kb / kblocks, kp (kb + 1) / kblocks).
inline index_t bf16_kblocks(index_t K) { return (bf16_pairs(K) + kBf16KcPairs - 1) / kBf16KcPairs; }
inline index_t bf16_kblock_begin(index_t K, index_t kb) { return bf16_pairs(K) * kb / bf16_kblocks(K); }
// pairs in the largest K block
inline index_t bf16_kblock_max(index_t K) { return (bf16_pairs(K) + bf16_kblocks(K) - 1) / bf16_kblocks(K); }
inline index_t bf16_panels(index_t N) { return (N + kBf16NR - 1) / kBf16NR; }

/// Rounds 16 floats to bf16 (nearest even, NaN quieted) in the upper halves.
VHMN_BF16_TARGET inline __m512i bf16_round_hi(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7f800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
  return _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000u)));
}

/// Elements [0, 16) of p under mask m as floats (masked-off lanes zero, not
/// read). A bf16 source widens exactly, so rounding it again changes nothing.
VHMN_BF16_TARGET inline __m512 bf16_load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
VHMN_BF16_TARGET inline __m512 bf16_load16(const bf16* p, __mmask16 m) {
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __mmask16 bf16_mask(index_t left) { return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u); }

/// out[i] = to_bf16(in[i]) (core/bf16.hpp) for i < n, 16 at a time.
VHMN_BF16_TARGET inline void bf16_convert_avx512(bf16* out, const float* in, index_t n) {
  for (index_t i = 0; i < n; i += 16) {
    const __mmask16 m = bf16_mask(n - i);
    const __m512i r = _mm512_srli_epi32(bf16_round_hi(_mm512_maskz_loadu_ps(m, in + i)), 16);
    _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtepi32_epi16(r));
  }
}

/// out[(p - p0) W + j] = pair(src[j ld + 2p], src[j ld + 2p + 1]) for j < w,
/// zero for w <= j < W: the pair elements are adjacent in memory (op(A) of a
/// row-major A, op(B) of a B stored transposed).
template <class Src>
VHMN_BF16_TARGET inline void bf16_pack_adjacent(std::uint32_t* out, index_t W, const Src* src, index_t ld,
                                                index_t w, index_t K, index_t p0, index_t p1) {
  const index_t np = p1 - p0;
  for (index_t j = w; j < W; ++j)
    for (index_t p = 0; p < np; ++p) out[p * W + j] = 0;
  alignas(64) std::uint32_t tmp[8];
  for (index_t j = 0; j < w; ++j) {
    const Src* row = src + j * ld;
    for (index_t p = p0; p < p1; p += 8) {
      const index_t k = 2 * p;
      const __m512i r = _mm512_srli_epi32(bf16_round_hi(bf16_load16(row + k, bf16_mask(K - k))), 16);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), _mm512_cvtepi32_epi16(r));
      const index_t q_end = std::min<index_t>(8, p1 - p);
      for (index_t q = 0; q < q_end; ++q) out[(p - p0 + q) * W + j] = tmp[q];
    }
  }
}

/// out[(p - p0) W + j] = pair(src[2p ld + j], src[(2p + 1) ld + j]) for j < w,
/// zero for w <= j < W: the pair elements are in consecutive rows (op(A) of
/// an A stored transposed, op(B) of a row-major B).
template <class Src>
VHMN_BF16_TARGET inline void bf16_pack_strided(std::uint32_t* out, index_t W, const Src* src, index_t ld,
                                               index_t w, index_t K, index_t p0, index_t p1) {
  for (index_t p = p0; p < p1; ++p) {
    const Src* even = src + 2 * p * ld;
    const bool has_odd = 2 * p + 1 < K;
    std::uint32_t* o = out + (p - p0) * W;
    for (index_t j = 0; j < W; j += 16) {
      const index_t lw = std::max<index_t>(0, std::min<index_t>(16, w - j)), sw = std::min<index_t>(16, W - j);
      const __mmask16 lm = bf16_mask(lw), sm = bf16_mask(sw);
      const __m512i e = bf16_round_hi(bf16_load16(even + j, lm));
      const __m512i o_ = has_odd ? bf16_round_hi(bf16_load16(even + ld + j, lm)) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(o + j, sm, _mm512_or_si512(_mm512_srli_epi32(e, 16), o_));
    }
  }
}

/// Rows [0, w) of a row-major X (row length K) as bf16 rows of pairs
/// [p0, p1): out[r np + p - p0], np = p1 - p0; rows [w, W) zero. Unlike a pair
/// panel this needs no transpose: for op(A) of a row-major A the kernel
/// reads A's pairs straight from these rows.
template <class Src>
VHMN_BF16_TARGET inline void bf16_convert_rows(std::uint32_t* out, const Src* x, index_t K, index_t w, index_t W,
                                               index_t p0, index_t p1) {
  const index_t np = p1 - p0;
  for (index_t r = 0; r < w; ++r) {
    const Src* row = x + r * K;
    std::uint32_t* o = out + r * np;
    for (index_t p = p0; p < p1; p += 8) {
      const index_t k = 2 * p, words = std::min<index_t>(8, p1 - p);
      const __m512i r16 = _mm512_srli_epi32(bf16_round_hi(bf16_load16(row + k, bf16_mask(K - k))), 16);
      _mm256_mask_storeu_epi32(o + (p - p0), __mmask8((1u << words) - 1u), _mm512_cvtepi32_epi16(r16));
    }
  }
  if (W > w) std::memset(out + w * np, 0, static_cast<std::size_t>((W - w) * np) * sizeof(std::uint32_t));
}

/// Packs op(X) rows/columns [j0, j0 + w) for pairs [p0, p1) into a W-lane
/// panel. adjacent: the K index runs along memory (X (W-dim x K) row-major).
template <class Src>
VHMN_BF16_TARGET inline void bf16_pack_panel(std::uint32_t* out, index_t W, const Src* x, bool adjacent,
                                             index_t ld, index_t j0, index_t w, index_t K, index_t p0, index_t p1) {
  if (adjacent)
    bf16_pack_adjacent(out, W, x + j0 * ld, ld, w, K, p0, p1);
  else
    bf16_pack_strided(out, W, x + j0, ld, w, K, p0, p1);
}

/// A 32-bit word of two bf16, read where bf16 elements are stored (may alias them).
typedef std::uint32_t Bf16Word __attribute__((may_alias));

/// C[m x n] (stride ldc) = alpha acc (+ C when load_c), acc = sum over kp
/// pairs of A's MR rows times the B panel (16 NV lanes).
/// A's word (pair p, row i) is a[p ps + i is]: a pair panel (ps = MR, is = 1)
/// or bf16 rows (ps = 1, is = the row length in words), packed or read in place.
template <int MR, int NV>
VHMN_BF16_TARGET inline void bf16_microkernel(index_t kp, const Bf16Word* a, index_t ps, index_t is,
                                              const std::uint32_t* b, float* c, index_t ldc, index_t m, index_t n,
                                              float alpha, bool load_c) {
  constexpr index_t NR = 16 * NV;
  __m512 acc[MR][NV];
  VHMN_BF16_UNROLL
  for (int i = 0; i < MR; ++i)
    VHMN_BF16_UNROLL
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (index_t p = 0; p < kp; ++p) {
    __m512bh bv[NV];
    VHMN_BF16_UNROLL
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_loadu_si512(b + p * NR + 16 * v);
    VHMN_BF16_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[p * ps + i * is]));
      VHMN_BF16_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = bf16_mask(std::max<index_t>(0, n - 16 * v));
  VHMN_BF16_UNROLL
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* ci = c + i * ldc;
    VHMN_BF16_UNROLL
    for (int v = 0; v < NV; ++v) {
      const __m512 old = load_c ? _mm512_maskz_loadu_ps(mask[v], ci + 16 * v) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(ci + 16 * v, mask[v], _mm512_fmadd_ps(al, acc[i][v], old));
    }
  }
}

/// Packing buffers of one thread, grown on demand and kept: a (one block of
/// A: kBf16Mc rows x one K block) and b (op(B)'s panels for one K block).
struct Bf16NativeWorkspace {
  std::vector<std::uint32_t, AlignedAllocator<std::uint32_t>> a, b;
};
inline Bf16NativeWorkspace& bf16_native_workspace() {
  thread_local Bf16NativeWorkspace ws;
  return ws;
}
inline std::uint32_t* bf16_grow(std::vector<std::uint32_t, AlignedAllocator<std::uint32_t>>& v, index_t n) {
  if (v.size() < static_cast<std::size_t>(n)) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

/// Where the kernel finds op(B)'s pair panels: the word of pair p, lane j of
/// panel q (columns [q NR, q NR + NR)) at data + q stride + (p - first) NR + j.
struct Bf16Panels {
  const std::uint32_t* data = nullptr;
  index_t stride = 0;  // words from one panel to the next
  index_t first = 0;   // the pair each panel starts with
  const std::uint32_t* at(index_t q, index_t p) const { return data + q * stride + (p - first) * kBf16NR; }
};

/// Packs pairs [p_begin, p_end) of op(B)'s panels [q0, q1) at bp, panel q at
/// bp + q stride (the Bf16Panels layout with first = p_begin).
template <class Src>
VHMN_BF16_TARGET inline void bf16_pack_b(std::uint32_t* bp, index_t stride, const Src* b, index_t N, index_t K,
                                         Trans tb, index_t q0, index_t q1, index_t p_begin, index_t p_end) {
  // op(B) (K x N): B row-major (ld N, pairs in consecutive rows) or B^T stored (N x K, pairs adjacent).
  // Row-major B goes in chunks of 16 row pairs across all panels, so B is read row after row
  // (panel after panel, over all K, ran at a fifth of the speed on a 2048 x 2048 B).
  const index_t chunk = tb == Trans::Yes ? p_end - p_begin : 16;
  for (index_t p0 = p_begin; p0 < p_end; p0 += chunk) {
    const index_t p1 = std::min(p_end, p0 + chunk);
    for (index_t q = q0; q < q1; ++q) {
      const index_t j0 = q * kBf16NR, w = std::min<index_t>(kBf16NR, N - j0);
      bf16_pack_panel(bp + q * stride + (p0 - p_begin) * kBf16NR, kBf16NR, b, tb == Trans::Yes,
                      tb == Trans::Yes ? K : N, j0, w, K, p0, p1);
    }
  }
}

/// C[r0:r1, panels q0:q1] for K blocks [kb0, kb1) (C += for every block past
/// the product's first) with op(B)'s panels at bv.
/// Per K block and block of kBf16Mc rows, A is converted once (bf16 rows for
/// a row-major A, pair panels for A^T) and used against every B panel.
template <class SrcA>
VHMN_BF16_TARGET inline void bf16_native_tile(float* c, const SrcA* a, const Bf16Panels& bv, index_t M, index_t N,
                                              index_t K, Trans ta, float alpha, bool accumulate, index_t kb0,
                                              index_t kb1, index_t r0, index_t r1, index_t q0, index_t q1) {
  constexpr index_t MR = kBf16MR;
  const index_t mc = std::min<index_t>(kBf16Mc, r1 - r0);
  const index_t mc_padded = (mc + MR - 1) / MR * MR;
  std::uint32_t* ap = bf16_grow(bf16_native_workspace().a, mc_padded * bf16_kblock_max(K));
  for (index_t kb = kb0; kb < kb1; ++kb) {
    const index_t p0 = bf16_kblock_begin(K, kb), p1 = bf16_kblock_begin(K, kb + 1), np = p1 - p0;
    const bool load_c = accumulate || kb > 0;
    for (index_t i0 = r0; i0 < r1; i0 += kBf16Mc) {
      const index_t i1 = std::min<index_t>(r1, i0 + kBf16Mc), rows = i1 - i0;
      const index_t rows_padded = (rows + MR - 1) / MR * MR;
      // A block [i0, i1) x pairs [p0, p1); word (p, i) of row panel t at ap + t a_panel + p ps + i is
      index_t ps, is, a_panel;
      // In-place A (see the top of this section): pair p of row i is word i K/2 + p.
      index_t direct_rows = 0;
      if constexpr (std::is_same_v<SrcA, bf16>) {
        if (ta == Trans::No && K % 2 == 0 && reinterpret_cast<std::uintptr_t>(a) % 4 == 0)
          direct_rows = rows / MR * MR;
      }
      if (ta == Trans::No) {  // A (M x K) row-major: bf16 rows
        bf16_convert_rows(ap, a + (i0 + direct_rows) * K, K, rows - direct_rows, rows_padded - direct_rows, p0, p1);
        ps = 1, is = np, a_panel = MR * np;
      } else {  // A stored (K x M): pair panels
        for (index_t i = i0; i < i1; i += MR)
          bf16_pack_panel(ap + (i - i0) / MR * np * MR, MR, a, false, M, i, std::min<index_t>(MR, i1 - i), K, p0, p1);
        ps = MR, is = 1, a_panel = MR * np;
      }
      for (index_t q = q0; q < q1; ++q) {
        const std::uint32_t* bq = bv.at(q, p0);
        const index_t j0 = q * kBf16NR, n = std::min<index_t>(kBf16NR, N - j0);
        for (index_t i = i0; i < i0 + direct_rows; i += MR)
          bf16_microkernel<MR, kBf16NV>(np, reinterpret_cast<const Bf16Word*>(a + i * K) + p0, 1, K / 2, bq,
                                        c + i * N + j0, N, MR, n, alpha, load_c);
        for (index_t i = i0 + direct_rows; i < i1; i += MR)
          bf16_microkernel<MR, kBf16NV>(np, ap + (i - i0 - direct_rows) / MR * a_panel, ps, is, bq, c + i * N + j0,
                                        N, std::min<index_t>(MR, i1 - i), n, alpha, load_c);
      }
    }
  }
}

}  // namespace vhmn::ops::detail
#endif

namespace vhmn::ops {

/// out[i] = to_bf16(in[i]) for i in [0, n): core/bf16.hpp's convert_to_bf16,
/// bit for bit, 16 at a time on a CPU with AVX512-BF16 (whatever VHMN_BF16
/// says: the conversion is exact either way).
inline void convert_to_bf16_fast(bf16* out, const float* in, index_t n) {
#if VHMN_BF16_NATIVE_BUILD
  if (cpu_has_avx512_bf16()) return detail::bf16_convert_avx512(out, in, n);
#endif
  convert_to_bf16(out, in, n);
}

namespace detail {
template <class X>
inline constexpr bool kBf16Operand = std::is_same_v<X, float> || std::is_same_v<X, bf16>;

/// Rounded copies of A and B (emulation) of one thread, grown on demand and kept.
struct Bf16Workspace {
  std::vector<float, AlignedAllocator<float>> a, b;
};
inline Bf16Workspace& bf16_workspace() {
  thread_local Bf16Workspace ws;
  return ws;
}
inline void bf16_round_into(float* out, const float* x, index_t n) { round_to_bf16(out, x, n); }
inline void bf16_round_into(float* out, const bf16* x, index_t n) {
  for (index_t i = 0; i < n; ++i) out[i] = to_float(x[i]);
}
template <class Src>
const float* bf16_rounded(std::vector<float, AlignedAllocator<float>>& buf, const Src* x, index_t n) {
  if (buf.size() < static_cast<std::size_t>(n)) buf.resize(static_cast<std::size_t>(n));
  bf16_round_into(buf.data(), x, n);
  return buf.data();
}

/// Output tiling of the native kernel: shape-only, as ops::gemm's rule, with
/// column tiles made of whole kBf16NR-column panels.
struct Bf16Tiling {
  index_t row_parts = 1, col_parts = 1, panels = 1;
  bool threaded = false;
};
inline Bf16Tiling bf16_tiling(index_t M, index_t N, index_t K, index_t nr) {
  Bf16Tiling t;
  t.panels = (N + nr - 1) / nr;
  t.row_parts = gemm_parts(M, kGemmTileRows);
  t.col_parts = gemm_parts(t.panels, std::max<index_t>(1, kGemmTileCols / nr));
  t.threaded = M * N * K >= 32 * 32 * 32;
  while (t.threaded && t.row_parts * t.col_parts < kGemmMinTiles) {
    const index_t rows = M / t.row_parts, cols = N / t.col_parts;
    if (rows >= cols && rows >= 128)
      t.row_parts *= 2;
    else if (cols >= 128 && t.col_parts * 2 <= t.panels)
      t.col_parts *= 2;
    else
      break;
  }
  return t;
}

template <bool Serial, class SrcA>
void gemm_bf16_emulated(float* c, const SrcA* a, const float* b_rounded, index_t M, index_t N, index_t K, Trans ta,
                        Trans tb, float alpha, bool accumulate) {
  Bf16Workspace& ws = bf16_workspace();
  const float* ar = bf16_rounded(ws.a, a, M * K);
  if constexpr (Serial)
    gemm_serial<float>(c, ar, b_rounded, M, N, K, ta, tb, alpha, accumulate);
  else
    gemm<float>(c, ar, b_rounded, M, N, K, ta, tb, alpha, accumulate);
}

#if VHMN_BF16_NATIVE_BUILD
/// C for K blocks [kb0, kb1) with op(B)'s panels at bv: one tile (Serial) or
/// the shape-only tiling on threads.
template <bool Serial, class SrcA>
void bf16_native_tiles(float* c, const SrcA* a, const Bf16Panels& bv, index_t M, index_t N, index_t K, Trans ta,
                       float alpha, bool accumulate, index_t kb0, index_t kb1) {
  if constexpr (Serial) {
    bf16_native_tile(c, a, bv, M, N, K, ta, alpha, accumulate, kb0, kb1, 0, M, 0, bf16_panels(N));
  } else {
    const Bf16Tiling t = bf16_tiling(M, N, K, kBf16NR);
    parallel_for(t.row_parts * t.col_parts, t.threaded && t.row_parts * t.col_parts > 1, [&](index_t i) {
      const index_t r = i / t.col_parts, q = i % t.col_parts;
      bf16_native_tile(c, a, bv, M, N, K, ta, alpha, accumulate, kb0, kb1, gemm_part_begin(M, t.row_parts, r),
                       gemm_part_begin(M, t.row_parts, r + 1), gemm_part_begin(t.panels, t.col_parts, q),
                       gemm_part_begin(t.panels, t.col_parts, q + 1));
    });
  }
}
/// Packs pairs [p0, p1) of all of op(B)'s panels at bp, panel stride
/// (p1 - p0) NR (on threads unless Serial).
template <bool Serial, class SrcB>
void bf16_pack_b_pairs(std::uint32_t* bp, const SrcB* b, index_t N, index_t K, Trans tb, index_t p0, index_t p1) {
  const index_t panels = bf16_panels(N);
  // parts of >= 4 panels each, so small B packs on the calling thread
  const index_t parts = Serial ? 1 : std::max<index_t>(1, std::min<index_t>(panels / 4, 64));
  parallel_for(parts, parts > 1 && N * K >= 64 * 1024, [&](index_t i) {
    bf16_pack_b(bp, (p1 - p0) * kBf16NR, b, N, K, tb, panels * i / parts, panels * (i + 1) / parts, p0, p1);
  });
}
/// A B packed whole up to this many words (2 MiB) is packed in one pass and
/// every tile runs all K blocks on it (C stays in cache across the blocks);
/// a larger B (a weight gradient's: K = the batch's rows) goes one K block
/// at a time. Either way the sums are the same.
inline constexpr index_t kBf16WholeBWords = index_t(512) * 1024;

/// A product with B given as a pointer: B's panels are packed into this
/// thread's workspace (whole, or per K block), then every tile multiplies.
template <bool Serial, class SrcA, class SrcB>
void gemm_bf16_native(float* c, const SrcA* a, const SrcB* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                      float alpha, bool accumulate) {
  const index_t kp = bf16_pairs(K), whole = bf16_panels(N) * kp * kBf16NR;
  if (whole <= kBf16WholeBWords) {
    std::uint32_t* bp = bf16_grow(bf16_native_workspace().b, whole);
    bf16_pack_b_pairs<Serial>(bp, b, N, K, tb, 0, kp);
    bf16_native_tiles<Serial>(c, a, Bf16Panels{bp, kp * kBf16NR, 0}, M, N, K, ta, alpha, accumulate, 0,
                              bf16_kblocks(K));
    return;
  }
  std::uint32_t* bp = bf16_grow(bf16_native_workspace().b, bf16_panels(N) * bf16_kblock_max(K) * kBf16NR);
  for (index_t kb = 0, kblocks = bf16_kblocks(K); kb < kblocks; ++kb) {
    const index_t p0 = bf16_kblock_begin(K, kb), p1 = bf16_kblock_begin(K, kb + 1);
    bf16_pack_b_pairs<Serial>(bp, b, N, K, tb, p0, p1);
    bf16_native_tiles<Serial>(c, a, Bf16Panels{bp, (p1 - p0) * kBf16NR, p0}, M, N, K, ta, alpha, accumulate, kb,
                              kb + 1);
  }
}
#endif

inline bool bf16_empty_product(float* c, index_t M, index_t N, index_t K, bool accumulate) {
  if (M == 0 || N == 0) return true;
  if (K == 0) {
    if (!accumulate) std::memset(c, 0, static_cast<std::size_t>(M * N) * sizeof(float));
    return true;
  }
  return false;
}

template <bool Serial, class SrcA, class SrcB>
void gemm_bf16_any(float* c, const SrcA* a, const SrcB* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                   float alpha, bool accumulate) {
  static_assert(kBf16Operand<SrcA> && kBf16Operand<SrcB>, "gemm_bf16 operands are float or vhmn::bf16");
  if (bf16_empty_product(c, M, N, K, accumulate)) return;
#if VHMN_BF16_NATIVE_BUILD
  if (bf16_backend() == Bf16Backend::Native) return gemm_bf16_native<Serial>(c, a, b, M, N, K, ta, tb, alpha, accumulate);
#endif
  const float* br = bf16_rounded(bf16_workspace().b, b, K * N);
  gemm_bf16_emulated<Serial>(c, a, br, M, N, K, ta, tb, alpha, accumulate);
}
}  // namespace detail

/// B of a bf16 product converted once: B (K x N), or with tb = Yes stored
/// (N x K), float or already bf16, laid out for the backend chosen at pack()
/// time (bf16 panels over all of K for the native kernel, rounded floats for
/// the emulation). Holds its own copy; pack() again (same or another shape)
/// reuses the storage.
class Bf16PackedB {
 public:
  template <class Src>
  void pack(const Src* b, index_t K, index_t N, Trans tb) {
    static_assert(detail::kBf16Operand<Src>, "Bf16PackedB packs float or vhmn::bf16");
    K_ = K;
    N_ = N;
    tb_ = tb;
    backend_ = bf16_backend();
#if VHMN_BF16_NATIVE_BUILD
    if (backend_ == Bf16Backend::Native) {
      if (K > 0 && N > 0) {
        const index_t kp = detail::bf16_pairs(K);
        std::uint32_t* bp = detail::bf16_grow(panels_, detail::bf16_panels(N) * kp * detail::kBf16NR);
        detail::bf16_pack_b_pairs<false>(bp, b, N, K, tb, 0, kp);
      }
      return;
    }
#endif
    detail::bf16_rounded(rounded_, b, K * N);
  }
  index_t depth() const { return K_; }  // K
  index_t cols() const { return N_; }   // N
  Trans trans() const { return tb_; }
  Bf16Backend backend() const { return backend_; }

 private:
  template <bool Serial, class SrcA>
  friend void gemm_bf16_packed_impl(float*, const SrcA*, const Bf16PackedB&, index_t, Trans, float, bool);
  index_t K_ = 0, N_ = 0;
  Trans tb_ = Trans::No;
  Bf16Backend backend_ = Bf16Backend::Emulated;
  std::vector<float, AlignedAllocator<float>> rounded_;  // emulation: B as given, each element rounded
  std::vector<std::uint32_t, AlignedAllocator<std::uint32_t>> panels_;  // native: bf16 pair panels
};

template <bool Serial, class SrcA>
void gemm_bf16_packed_impl(float* c, const SrcA* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha,
                           bool accumulate) {
  static_assert(detail::kBf16Operand<SrcA>, "gemm_bf16 operands are float or vhmn::bf16");
  const index_t N = b.N_, K = b.K_;
  if (detail::bf16_empty_product(c, M, N, K, accumulate)) return;
#if VHMN_BF16_NATIVE_BUILD
  if (b.backend_ == Bf16Backend::Native) {
    const detail::Bf16Panels bv{b.panels_.data(), detail::bf16_pairs(K) * detail::kBf16NR, 0};
    detail::bf16_native_tiles<Serial>(c, a, bv, M, N, K, ta, alpha, accumulate, 0, detail::bf16_kblocks(K));
    return;
  }
#endif
  detail::gemm_bf16_emulated<Serial>(c, a, b.rounded_.data(), M, N, K, ta, b.tb_, alpha, accumulate);
}

// a: (M, K) or, with ta = Yes, (K, M).  b: (K, N) or, with tb = Yes, (N, K).  c: (M, N).
// a and b each float or vhmn::bf16 (a bf16 operand is used as it is).
template <class TA, class TB>
void gemm_bf16(float* c, const TA* a, const TB* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
               float alpha = 1.f, bool accumulate = false) {
  detail::gemm_bf16_any<false>(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}
/// The same product on the calling thread only (inside a parallel loop).
template <class TA, class TB>
void gemm_bf16_serial(float* c, const TA* a, const TB* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                      float alpha = 1.f, bool accumulate = false) {
  detail::gemm_bf16_any<true>(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}

// The same with B converted beforehand: N = b.cols(), K = b.depth(), op(B) as packed.
template <class TA>
void gemm_bf16(float* c, const TA* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha = 1.f,
               bool accumulate = false) {
  gemm_bf16_packed_impl<false>(c, a, b, M, ta, alpha, accumulate);
}
template <class TA>
void gemm_bf16_serial(float* c, const TA* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha = 1.f,
                      bool accumulate = false) {
  gemm_bf16_packed_impl<true>(c, a, b, M, ta, alpha, accumulate);
}

}  // namespace vhmn::ops
