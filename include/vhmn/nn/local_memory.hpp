// vhmn/nn/local_memory.hpp — local window memory: every token recalls
// prototypes of its k x k neighbourhood.
//
// What this represents (docs/spec.md §2):
//   col_n = unfold_k(U)[n]                 (D*k*k, zero padded)
//   a_n   = W_lo [refine(q_n) ; q_n] + b_lo,   q_n = W_lq col_n + b_lq
// under the names `blocks.i.local.*`. U is the (B, h, w, D) token grid.
#pragma once

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
  const T* forward(const T* u, index_t B) {
    const index_t N = grid_ * grid_, D = dim(), kk = window_ * window_, L = path.latent(), R = B * N;
    batch_ = B;
    {
      VHMN_PROFILE("unfold");
      colp_.resize({R, kk * D});
      ops::unfold_ijd_forward(colp_.data(), u, B, grid_, grid_, D, window_);
    }
    {
      VHMN_PROFILE("query");
      wp_.resize({L, kk * D});
      ops::unfold_weight_permute(wp_.data(), path.query.weight.data(), L, D, kk);
      ops::linear_forward(path.query_buffer(R), colp_.data(), wp_.data(), path.query.bias.data(), R, kk * D, L,
                          path.precision());
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
      ops::gemm(path.precision(), bw_->dwp.data(), dq, colp_.data(), L, kk * D, R, ops::Trans::Yes,
                ops::Trans::No);
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
  Tensor<T> colp_;  // (B*N, k*k*D) token-major windows
  Tensor<T> wp_;    // (L, k*k*D) permuted query weight
  struct Backward {
    Tensor<T> dcolp, dwp;  // gradients of colp_ and wp_
  };
  SharedWorkspace<Backward> bw_;
};

}  // namespace vhmn
