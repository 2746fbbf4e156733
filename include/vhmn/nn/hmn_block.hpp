// vhmn/nn/hmn_block.hpp — one Hopfield memory block (pre-norm, two residuals).
//
// What this represents (docs/spec.md §2), for tokens X (B, N, D):
//   U   = LayerNorm_1(X)
//   Y_n = X_n + local(U)_n + global(U)        (global broadcast over tokens)
//   Out = Y + MLP(LayerNorm_2(Y))
// with parameters `blocks.i.{norm1,local,global,norm2,mlp}.*`.
// Requires: the input X outlives the backward. Owns every activation.
#pragma once

#include <string>

#include "vhmn/core/profile.hpp"
#include "vhmn/core/workspace.hpp"
#include "vhmn/nn/global_memory.hpp"
#include "vhmn/nn/layer_norm.hpp"
#include "vhmn/nn/local_memory.hpp"
#include "vhmn/nn/mlp.hpp"

namespace vhmn {

/// Sizes of one block (a slice of the model config).
struct BlockShape {
  index_t grid = 0, dim = 0, latent = 0, window = 3, local_slots = 0, global_slots = 0, classes = 0, hidden = 0,
          iters = 1;
  double inv_temperature = 0;
};

template <class T, int Dim = Dynamic, int Latent = Dynamic>
class HMNBlock {
 public:
  HMNBlock() = default;
  HMNBlock(const std::string& prefix, const BlockShape& s)
      : norm1(prefix + "norm1.", s.dim),
        local(prefix + "local.", s.grid, s.dim, s.latent, s.window, s.local_slots, s.classes, s.iters,
              s.inv_temperature),
        global(prefix + "global.", s.dim, s.latent, s.global_slots, s.classes, s.iters, s.inv_temperature),
        norm2(prefix + "norm2.", s.dim),
        mlp(prefix + "mlp.", s.dim, s.hidden),
        tokens_(s.grid * s.grid) {}

  LayerNorm<T, Dim> norm1;
  LocalWindowMemory<T, Dim, Latent> local;
  GlobalTemplateMemory<T, Dim, Latent> global;
  LayerNorm<T, Dim> norm2;
  MLP<T, Dim> mlp;

  index_t dim() const { return norm1.dim(); }
  index_t tokens() const { return tokens_; }

  void init(Rng& rng) {
    norm1.init(rng);
    local.init(rng);
    global.init(rng);
    norm2.init(rng);
    mlp.init(rng);
  }
  /// Arithmetic of the block's products (core/precision.hpp); the norms and
  /// residuals are fp32 whatever it is.
  void set_precision(Precision p) {
    local.set_precision(p);
    global.set_precision(p);
    mlp.set_precision(p);
  }

  // x: (B, N, D). Returns the owned output (B, N, D).
  const T* forward(const T* x, index_t B) {
    const index_t N = tokens_, D = dim(), R = B * N;
    batch_ = B;
    const T* u = norm1.forward(x, R);
    const T* a = local.forward(u, B);
    const T* c = global.forward(u, B, N);
    {
      VHMN_PROFILE("residual");
      y_.resize({R, D});
      ops::residual_broadcast_forward(y_.data(), x, a, c, B, N, D);
    }
    const T* v = norm2.forward(y_.data(), R);
    const T* f = mlp.forward(v, R);
    VHMN_PROFILE("residual");
    out_.resize({R, D});
    simd::map2(R * D, y_.data(), f, out_.data(), [](auto yv, auto fv) { return yv + fv; });
    return out_.data();
  }

  // dx: (B, N, D) accumulated.  dout: (B, N, D)
  void backward(T* dx, const T* dout) {
    const index_t N = tokens_, D = dim(), R = batch_ * N;
    // Out = Y + MLP(LN2(Y)):  dY = dOut + LN2^T(MLP^T(dOut))
    Backward& w = *bw_;
    w.dv.resize_zero({R, D});
    mlp.backward(w.dv.data(), dout);
    w.dy.resize({R, D});
    std::copy(dout, dout + R * D, w.dy.data());
    norm2.backward(w.dy.data(), w.dv.data());
    {
      VHMN_PROFILE("residual.bwd");
      // Y = X + a + c:  dX += dY, da = dY, dc = sum_n dY
      simd::add_to(R * D, w.dy.data(), dx);
      w.du.resize_zero({R, D});
      w.dc.resize_zero({batch_, D});
      ops::broadcast_backward(w.dc.data(), w.dy.data(), batch_, N, D);
    }
    global.backward(w.du.data(), w.dc.data());
    local.backward(w.du.data(), w.dy.data());
    norm1.backward(dx, w.du.data());
  }

  void collect_params(ParamList<T>& list) {
    norm1.collect_params(list);
    local.collect_params(list);
    global.collect_params(list);
    norm2.collect_params(list);
    mlp.collect_params(list);
  }
  /// Use other's backward workspaces, in every layer (see core/workspace.hpp):
  /// the model's blocks all share the first block's.
  void share_workspace(const HMNBlock& other) {
    bw_.share(other.bw_);
    local.share_workspace(other.local);
    global.share_workspace(other.global);
    mlp.share_workspace(other.mlp);
  }

 private:
  index_t tokens_ = 0, batch_ = 0;
  Tensor<T> y_, out_;            // (B*N, D)
  struct Backward {
    Tensor<T> dv, dy, du, dc;  // (B*N, D) x 3, (B, D)
  };
  SharedWorkspace<Backward> bw_;
};

}  // namespace vhmn
