// vhmn/nn/local_memory.hpp — local window memory: every token recalls
// prototypes of its k x k neighbourhood.
//
// What this represents (docs/spec.md §2):
//   col_n = unfold_k(U)[n]                 (D*k*k, zero padded)
//   a_n   = W_lo [refine(q_n) ; q_n] + b_lo,   q_n = W_lq col_n + b_lq
// under the names `blocks.i.local.*`. U is the (B, h, w, D) token grid.
#pragma once

#include <type_traits>
#include <vector>

#include "vhmn/nn/memory_path.hpp"
#include "vhmn/ops/unfold.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic, int Latent = Dynamic>
class LocalWindowMemory {
 public:
  LocalWindowMemory() = default;
  LocalWindowMemory(const std::string& prefix, index_t grid, index_t dim, index_t latent, index_t window,
                    index_t slots, index_t classes, index_t iters, double inv_temperature)
      : path(prefix, dim * window * window, dim, latent, slots, classes, iters, inv_temperature),
        grid_(grid),
        window_(window) {
    VHMN_CHECK(window >= 1 && window % 2 == 1, "window k must be odd and >= 1, got " << window);
  }

  MemoryPath<T, Dynamic, Dim, Latent> path;

  index_t window() const { return window_; }
  index_t grid() const { return grid_; }
  index_t dim() const { return path.dim(); }
  void init(Rng& rng) { path.init(rng); }
  /// Arithmetic of every product (core/precision.hpp): the path's and the
  /// windowed query's.
  void set_precision(Precision p) { path.set_precision(p); }

  // u: (B, N, D). Returns the owned a: (B*N, D).
  // The windows are gathered token-major (ops::unfold_ijd_forward: each
  // window cell one contiguous copy) and multiplied by the query weight with
  // its columns permuted to match; the product is the spec's W_lq col_n.
  // In bf16 mode (float models) the windows are gathered as bf16, the
  // operand both their products round them to anyway: the largest cache of
  // a block at half its fp32 size.
  const T* forward(const T* u, index_t B) {
    const index_t N = grid_ * grid_, D = dim(), kk = window_ * window_, L = path.latent(), R = B * N;
    batch_ = B;
    windows_bf16_ = std::is_same_v<T, float> && path.precision() == Precision::BF16;
    {
      VHMN_PROFILE("unfold");
      if (windows_bf16_) {
        if constexpr (std::is_same_v<T, float>) {
          colp_bf16_.resize(static_cast<std::size_t>(R * kk * D));
          ops::unfold_ijd_forward(colp_bf16_.data(), u, B, grid_, grid_, D, window_);
        }
        colp_ = Tensor<T>();  // frees the fp32 windows of an fp32 forward
      } else {
        colp_.resize({R, kk * D});
        ops::unfold_ijd_forward(colp_.data(), u, B, grid_, grid_, D, window_);
        colp_bf16_ = decltype(colp_bf16_)();
      }
    }
    {
      VHMN_PROFILE("query");
      wp_.resize({L, kk * D});
      ops::unfold_weight_permute(wp_.data(), path.query.weight.data(), L, D, kk);
      query_forward(path.query_buffer(R), R, kk * D, L);
    }
    return path.forward_queries();
  }
  // du: (B, N, D) accumulated.  da: (B*N, D)
  void backward(T* du, const T* da) {
    const index_t N = grid_ * grid_, D = dim(), kk = window_ * window_, L = path.latent(), R = batch_ * N;
    const T* dq = path.backward_to_queries(da);
    {
      VHMN_PROFILE("query.bwd");
      // q = colp Wp^T + b:  dcolp = dq Wp,  dWp = dq^T colp,  db += sum_r dq
      bw_->dcolp.resize({R, kk * D});
      ops::gemm(path.precision(), bw_->dcolp.data(), dq, wp_.data(), R, kk * D, L, ops::Trans::No, ops::Trans::No);
      bw_->dwp.resize({L, kk * D});
      query_weight_grad(bw_->dwp.data(), dq, R, kk * D, L);
      ops::unfold_weight_permute_backward(path.query.weight.grad_data(), bw_->dwp.data(), L, D, kk);
      T* db = path.query.bias.grad_data();
      for (index_t r = 0; r < R; ++r) simd::add_to(L, dq + r * L, db);  // rows in order
    }
    VHMN_PROFILE("unfold.bwd");
    ops::unfold_ijd_backward(du, bw_->dcolp.data(), batch_, grid_, grid_, D, window_);
  }

  void collect_params(ParamList<T>& list) { path.collect_params(list); }
  /// Use other's backward workspaces (see core/workspace.hpp).
  void share_workspace(const LocalWindowMemory& other) {
    bw_.share(other.bw_);
    path.share_workspace(other.path);
  }

 private:
  index_t grid_ = 0, window_ = 1, batch_ = 0;
  Tensor<T> colp_;  // (B*N, k*k*D) token-major windows (fp32 mode)
  std::vector<bf16, AlignedAllocator<bf16>> colp_bf16_;  // (B*N, k*k*D) the same in bf16 (bf16 mode)
  bool windows_bf16_ = false;                             // the last forward filled colp_bf16_
  Tensor<T> wp_;  // (L, k*k*D) permuted query weight
  struct Backward {
    Tensor<T> dcolp, dwp;  // gradients of colp_ and wp_
  };
  SharedWorkspace<Backward> bw_;

  // q (R, L) = windows (R, I) Wp^T + b, from whichever windows the forward kept.
  void query_forward(T* q, index_t R, index_t I, index_t L) {
    if constexpr (std::is_same_v<T, float>) {
      if (windows_bf16_) return ops::linear_forward(q, colp_bf16_.data(), wp_.data(), path.query.bias.data(), R, I, L);
    }
    ops::linear_forward(q, colp_.data(), wp_.data(), path.query.bias.data(), R, I, L, path.precision());
  }
  // dWp (L, I) = dq^T windows, dq: (R, L).
  void query_weight_grad(T* dwp, const T* dq, index_t R, index_t I, index_t L) {
    if constexpr (std::is_same_v<T, float>) {
      if (windows_bf16_) return ops::gemm_bf16(dwp, dq, colp_bf16_.data(), L, I, R, ops::Trans::Yes, ops::Trans::No);
    }
    ops::gemm(path.precision(), dwp, dq, colp_.data(), L, I, R, ops::Trans::Yes, ops::Trans::No);
  }
};

}  // namespace vhmn
