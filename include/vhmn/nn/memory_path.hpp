// vhmn/nn/memory_path.hpp — query, refine against a bank, project back.
//
// What this represents: the part the local and global memories share
// (docs/spec.md §2), over R rows of some input x:
//   q = W_q x + b_q            (L)
//   z = refine(q; M, beta)     (L)
//   o = W_o [z ; q] + b_o      (D)   refined first, then initial
// with parameters `<prefix>query.*`, `<prefix>out.*`, `<prefix>beta` and the
// bank state `<prefix>memory` / `<prefix>writes`.
// Ensures: the queries q of the last forward stay readable (they are what
// training writes into the bank).
#pragma once

#include <string>

#include "vhmn/core/profile.hpp"
#include "vhmn/core/workspace.hpp"
#include "vhmn/nn/linear.hpp"
#include "vhmn/nn/memory_bank.hpp"
#include "vhmn/nn/refinement.hpp"
#include "vhmn/ops/tokens.hpp"

namespace vhmn {

template <class T, int In = Dynamic, int Dim = Dynamic, int Latent = Dynamic>
class MemoryPath {
 public:
  MemoryPath() = default;
  MemoryPath(const std::string& prefix, index_t in, index_t dim, index_t latent, index_t slots, index_t classes,
             index_t iters, double inv_temperature)
      : query(prefix + "query.", in, latent),
        out(prefix + "out.", 2 * latent, dim),
        refine(prefix, latent, iters, inv_temperature),
        bank(slots, latent, classes),
        prefix_(prefix) {}

  Linear<T, In, Latent> query;     // (L, In)
  Linear<T, Dynamic, Dim> out;     // (D, 2L)
  HopfieldRefinement<T, Latent> refine;
  MemoryBank<T> bank;

  index_t latent() const { return query.out(); }
  index_t dim() const { return out.out(); }
  const std::string& prefix() const { return prefix_; }

  void init(Rng& rng) {
    query.init(rng);
    out.init(rng);
    refine.beta.value[0] = T(0.2);
  }
  /// Arithmetic of every product of the path (core/precision.hpp).
  void set_precision(Precision p) {
    precision_ = p;
    query.set_precision(p);
    out.set_precision(p);
    refine.set_precision(p);
  }
  Precision precision() const { return precision_; }

  // x: (R, In). Returns the owned output o: (R, D).
  const T* forward(const T* x, index_t R) {
    input_ = x;
    {
      VHMN_PROFILE("query");
      query.forward(query_buffer(R), x, R);
    }
    return forward_queries();
  }
  /// For a caller that computes q = W_q x + b_q itself (the local memory's
  /// token-major unfold): the (R, L) buffer to fill before forward_queries().
  T* query_buffer(index_t R) {
    rows_ = R;
    q_.resize({R, latent()});
    return q_.data();
  }
  /// The rest of the forward from the filled query buffer. Returns o: (R, D).
  const T* forward_queries() {
    const index_t R = rows_, L = latent();
    z_.resize({R, L});
    refine.forward(z_.data(), q_.data(), R, bank);
    VHMN_PROFILE("out_proj");
    cat_.resize({R, 2 * L});
    out_.resize({R, dim()});
    ops::concat_forward(cat_.data(), z_.data(), q_.data(), R, L, L);
    out.forward(out_.data(), cat_.data(), R);
    return out_.data();
  }

  // dx: (R, In) accumulated; parameter grads accumulated.  dout: (R, D)
  void backward(T* dx, const T* dout) {
    const T* dq = backward_to_queries(dout);
    VHMN_PROFILE("query.bwd");
    query.backward(dx, dq, input_, rows_);
  }
  /// Backward down to the queries (for callers of forward_queries()): returns
  /// dq (R, L), valid until the next backward of a path sharing this one's
  /// workspaces; the query layer's own gradients are the caller's job.
  const T* backward_to_queries(const T* dout) {
    const index_t R = rows_, L = latent();
    {
      VHMN_PROFILE("out_proj.bwd");
      bw_->dcat.resize({R, 2 * L});
      bw_->dz.resize_zero({R, L});
      bw_->dq.resize_zero({R, L});
      // dcat = dout W_o (overwritten), then split into dz and dq
      ops::gemm(precision_, bw_->dcat.data(), dout, out.weight.data(), R, 2 * L, dim(), ops::Trans::No,
                ops::Trans::No);
      out.backward(nullptr, dout, cat_.data(), R);
      ops::concat_backward(bw_->dz.data(), bw_->dq.data(), bw_->dcat.data(), R, L, L);
    }
    refine.backward(bw_->dq.data(), bw_->dz.data(), R);
    return bw_->dq.data();
  }

  /// Queries of the last forward (before refinement): (R, L).
  const Tensor<T>& queries() const { return q_; }
  /// Refined latents of the last forward: (R, L).
  const Tensor<T>& refined() const { return z_; }

  void collect_params(ParamList<T>& list) {
    query.collect_params(list);
    out.collect_params(list);
    refine.collect_params(list);
  }
  /// Use other's backward workspaces (see core/workspace.hpp).
  void share_workspace(const MemoryPath& other) {
    bw_.share(other.bw_);
    refine.share_workspace(other.refine);
  }

 private:
  std::string prefix_;
  const T* input_ = nullptr;
  index_t rows_ = 0;
  Precision precision_ = Precision::FP32;
  Tensor<T> q_, z_, cat_, out_;  // (R, L), (R, L), (R, 2L), (R, D)
  struct Backward {
    Tensor<T> dcat, dz, dq;  // (R, 2L), (R, L), (R, L)
  };
  SharedWorkspace<Backward> bw_;
};

}  // namespace vhmn
