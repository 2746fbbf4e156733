// vhmn/ops/gemm_bf16.hpp — matrix products with bf16 operands, fp32 accumulation.
//
//   C (M x N)  =/+=  alpha * bf16(op(A)) bf16(op(B)),  sums in fp32
// The contract of ops::gemm / ops::gemm_serial (ops/gemm.hpp: row-major,
// op(X) = X or X^T, alpha, accumulate, tiles cut by shape only so a result
// never depends on the thread count), except that every element of A and B
// is first rounded to bf16 (round_to_bf16: nearest, ties to even).
//
// Backends (bf16_backend()):
//   Emulated  operands are rounded into per-thread float workspaces and
//             multiplied by the fp32 ops::gemm tiles (any CPU, any build).
//
// Reusing converted operands: a B used for many products (a weight matrix, a
// frozen memory bank that every tile of query rows is scored against) can be
// rounded once into a Bf16PackedB and passed instead of the float pointer:
//   Bf16PackedB wb;  wb.pack(W, K, N, Trans::Yes);   // once per step
//   gemm_bf16(y, x, wb, M, Trans::No);                 // many times
// The result is bit-identical to gemm_bf16(y, x, W, M, N, K, Trans::No, Trans::Yes).
#pragma once

#include <cstdlib>
#include <cstring>
#include <vector>

#include "vhmn/core/bf16.hpp"
#include "vhmn/core/config.hpp"
#include "vhmn/core/cpu_features.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/ops/gemm.hpp"

namespace vhmn::ops {

enum class Bf16Backend { Native, Emulated };

/// Native iff this build contains the AVX512-BF16 kernel, the CPU runs it,
/// and the environment variable VHMN_BF16 is not "emulate" (read on every
/// call, so a test or a user can switch at run time).
inline Bf16Backend bf16_backend() {
  return Bf16Backend::Emulated;
}
inline const char* bf16_backend_name() {
  return bf16_backend() == Bf16Backend::Native ? "avx512-bf16" : "emulated";
}

/// B of a bf16 product, rounded once: B (K x N), or with tb = Yes stored
/// (N x K). Holds its own copy; pack() again (same or another shape) reuses
/// the storage.
class Bf16PackedB {
 public:
  void pack(const float* b, index_t K, index_t N, Trans tb) {
    K_ = K;
    N_ = N;
    tb_ = tb;
    backend_ = bf16_backend();
    const auto n = static_cast<std::size_t>(K * N);
    if (rounded_.size() < n) rounded_.resize(n);
    round_to_bf16(rounded_.data(), b, K * N);
  }
  index_t depth() const { return K_; }  // K
  index_t cols() const { return N_; }   // N
  Trans trans() const { return tb_; }
  Bf16Backend backend() const { return backend_; }
  const float* rounded() const { return rounded_.data(); }

 private:
  index_t K_ = 0, N_ = 0;
  Trans tb_ = Trans::No;
  Bf16Backend backend_ = Bf16Backend::Emulated;
  std::vector<float, AlignedAllocator<float>> rounded_;  // B as given, each element rounded to bf16
};

namespace detail {
/// Rounded copies of A and B of one thread, grown on demand and kept.
struct Bf16Workspace {
  std::vector<float, AlignedAllocator<float>> a, b;
};
inline Bf16Workspace& bf16_workspace() {
  thread_local Bf16Workspace ws;
  return ws;
}
inline const float* bf16_rounded(std::vector<float, AlignedAllocator<float>>& buf, const float* x, index_t n) {
  if (buf.size() < static_cast<std::size_t>(n)) buf.resize(static_cast<std::size_t>(n));
  round_to_bf16(buf.data(), x, n);
  return buf.data();
}

template <bool Serial>
void gemm_bf16_emulated(float* c, const float* a, const float* b_rounded, index_t M, index_t N, index_t K, Trans ta,
                        Trans tb, float alpha, bool accumulate) {
  Bf16Workspace& ws = bf16_workspace();
  const float* ar = bf16_rounded(ws.a, a, M * K);
  if constexpr (Serial)
    gemm_serial<float>(c, ar, b_rounded, M, N, K, ta, tb, alpha, accumulate);
  else
    gemm<float>(c, ar, b_rounded, M, N, K, ta, tb, alpha, accumulate);
}

template <bool Serial>
void gemm_bf16_any(float* c, const float* a, const float* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                   float alpha, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::memset(c, 0, static_cast<std::size_t>(M * N) * sizeof(float));
    return;
  }
  const float* br = bf16_rounded(bf16_workspace().b, b, K * N);
  gemm_bf16_emulated<Serial>(c, a, br, M, N, K, ta, tb, alpha, accumulate);
}

template <bool Serial>
void gemm_bf16_packed(float* c, const float* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha,
                      bool accumulate) {
  const index_t N = b.cols(), K = b.depth();
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::memset(c, 0, static_cast<std::size_t>(M * N) * sizeof(float));
    return;
  }
  gemm_bf16_emulated<Serial>(c, a, b.rounded(), M, N, K, ta, b.trans(), alpha, accumulate);
}
}  // namespace detail

// a: (M, K) or, with ta = Yes, (K, M).  b: (K, N) or, with tb = Yes, (N, K).  c: (M, N).
inline void gemm_bf16(float* c, const float* a, const float* b, index_t M, index_t N, index_t K, Trans ta, Trans tb,
                      float alpha = 1.f, bool accumulate = false) {
  detail::gemm_bf16_any<false>(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}
/// The same product on the calling thread only (inside a parallel loop).
inline void gemm_bf16_serial(float* c, const float* a, const float* b, index_t M, index_t N, index_t K, Trans ta,
                             Trans tb, float alpha = 1.f, bool accumulate = false) {
  detail::gemm_bf16_any<true>(c, a, b, M, N, K, ta, tb, alpha, accumulate);
}

// The same with B converted beforehand: N = b.cols(), K = b.depth().
inline void gemm_bf16(float* c, const float* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha = 1.f,
                      bool accumulate = false) {
  detail::gemm_bf16_packed<false>(c, a, b, M, ta, alpha, accumulate);
}
inline void gemm_bf16_serial(float* c, const float* a, const Bf16PackedB& b, index_t M, Trans ta, float alpha = 1.f,
                             bool accumulate = false) {
  detail::gemm_bf16_packed<true>(c, a, b, M, ta, alpha, accumulate);
}

}  // namespace vhmn::ops
