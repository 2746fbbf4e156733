// vhmn/nn/global_memory.hpp — global template memory: the whole image
// recalls templates, and the result is broadcast back to every token.
//
// What this represents (docs/spec.md §2):
//   g = (1/N) sum_n U_n
//   c = W_go [refine(q_g) ; q_g] + b_go,   q_g = W_gq g + b_gq
// under the names `blocks.i.global.*`.
#pragma once

#include "vhmn/core/profile.hpp"
#include "vhmn/nn/memory_path.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic, int Latent = Dynamic>
class GlobalTemplateMemory {
 public:
  GlobalTemplateMemory() = default;
  GlobalTemplateMemory(const std::string& prefix, index_t dim, index_t latent, index_t slots, index_t classes,
                       index_t iters, double inv_temperature)
      : path(prefix, dim, dim, latent, slots, classes, iters, inv_temperature) {}

  MemoryPath<T, Dim, Dim, Latent> path;

  index_t dim() const { return path.dim(); }
  void init(Rng& rng) { path.init(rng); }
  void set_precision(Precision p) { path.set_precision(p); }

  // u: (B, N, D). Returns the owned c: (B, D).
  const T* forward(const T* u, index_t B, index_t N) {
    batch_ = B;
    tokens_ = N;
    {
      VHMN_PROFILE("global_pool");
      pooled_.resize({B, dim()});
      ops::mean_pool_forward(pooled_.data(), u, B, N, dim());
    }
    return path.forward(pooled_.data(), B);
  }
  // du: (B, N, D) accumulated.  dc: (B, D)
  void backward(T* du, const T* dc) {
    Tensor<T>& dpooled = bw_->dpooled;
    dpooled.resize_zero({batch_, dim()});
    path.backward(dpooled.data(), dc);
    VHMN_PROFILE("global_pool.bwd");
    ops::mean_pool_backward(du, dpooled.data(), batch_, tokens_, dim());
  }

  void collect_params(ParamList<T>& list) { path.collect_params(list); }
  /// Use other's backward workspaces (see core/workspace.hpp).
  void share_workspace(const GlobalTemplateMemory& other) {
    bw_.share(other.bw_);
    path.share_workspace(other.path);
  }

 private:
  index_t batch_ = 0, tokens_ = 0;
  Tensor<T> pooled_;  // (B, D)
  struct Backward {
    Tensor<T> dpooled;  // (B, D)
  };
  SharedWorkspace<Backward> bw_;
};

}  // namespace vhmn
