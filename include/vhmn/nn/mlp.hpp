// vhmn/nn/mlp.hpp — the block's feed-forward network, fc2(GELU(fc1(x))).
//
// What this represents: `<prefix>fc1` (rD x D) and `<prefix>fc2` (D x rD)
// with exact erf GELU between them. Owns its activations.
#pragma once

#include <string>

#include "vhmn/core/profile.hpp"
#include "vhmn/core/workspace.hpp"
#include "vhmn/nn/linear.hpp"
#include "vhmn/ops/gelu.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic>
class MLP {
 public:
  MLP() = default;
  MLP(const std::string& prefix, index_t dim, index_t hidden)
      : fc1(prefix + "fc1.", dim, hidden), fc2(prefix + "fc2.", hidden, dim) {}

  Linear<T, Dim, Dynamic> fc1;  // (rD, D)
  Linear<T, Dynamic, Dim> fc2;  // (D, rD)

  index_t dim() const { return fc1.in(); }
  index_t hidden() const { return fc1.out(); }
  void init(Rng& rng) {
    fc1.init(rng);
    fc2.init(rng);
  }
  void set_precision(Precision p) {
    fc1.set_precision(p);
    fc2.set_precision(p);
  }

  // y = fc2(gelu(fc1(x)));  x: (R, D). Returns the owned output (R, D).
  const T* forward(const T* x, index_t R) {
    VHMN_PROFILE("mlp");
    input_ = x;
    rows_ = R;
    pre_.resize({R, hidden()});
    act_.resize({R, hidden()});
    out_.resize({R, dim()});
    fc1.forward(pre_.data(), x, R);
    ops::gelu_forward(act_.data(), pre_.data(), R * hidden());
    fc2.forward(out_.data(), act_.data(), R);
    return out_.data();
  }
  // dx: (R, D) accumulated.
  void backward(T* dx, const T* dout) {
    VHMN_PROFILE("mlp.bwd");
    const index_t R = rows_;
    Tensor<T>& dact = bw_->dact;
    Tensor<T>& dpre = bw_->dpre;
    dact.resize_zero({R, hidden()});
    dpre.resize_zero({R, hidden()});
    fc2.backward(dact.data(), dout, act_.data(), R);
    ops::gelu_backward(dpre.data(), dact.data(), pre_.data(), R * hidden());
    fc1.backward(dx, dpre.data(), input_, R);
  }

  void collect_params(ParamList<T>& out) {
    fc1.collect_params(out);
    fc2.collect_params(out);
  }
  /// Use other's backward workspaces (see core/workspace.hpp).
  void share_workspace(const MLP& other) { bw_.share(other.bw_); }

 private:
  const T* input_ = nullptr;
  index_t rows_ = 0;
  Tensor<T> pre_, act_, out_;  // (R, rD), (R, rD), (R, D)
  struct Backward {
    Tensor<T> dact, dpre;  // (R, rD) each
  };
  SharedWorkspace<Backward> bw_;
};

}  // namespace vhmn
