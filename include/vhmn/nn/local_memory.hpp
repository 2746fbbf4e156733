// vhmn/nn/local_memory.hpp — local window memory: every token recalls
// prototypes of its k x k neighbourhood.
//
// What this represents (SPEC.md §2):
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

  // u: (B, N, D). Returns the owned a: (B*N, D).
  const T* forward(const T* u, index_t B) {
    const index_t N = grid_ * grid_, D = dim(), kk = window_ * window_;
    batch_ = B;
    col_.resize({B * N, D * kk});
    ops::unfold_forward(col_.data(), u, B, grid_, grid_, D, window_);
    return path.forward(col_.data(), B * N);
  }
  // du: (B, N, D) accumulated.  da: (B*N, D)
  void backward(T* du, const T* da) {
    const index_t N = grid_ * grid_, D = dim(), kk = window_ * window_;
    dcol_.resize_zero({batch_ * N, D * kk});
    path.backward(dcol_.data(), da);
    ops::unfold_backward(du, dcol_.data(), batch_, grid_, grid_, D, window_);
  }

  void collect_params(ParamList<T>& list) { path.collect_params(list); }

 private:
  index_t grid_ = 0, window_ = 1, batch_ = 0;
  Tensor<T> col_, dcol_;  // (B*N, D*k*k)
};

}  // namespace vhmn
