// vhmn/nn/layer_norm.hpp — LayerNorm over the feature dimension D.
//
// What this represents: nn.LayerNorm(D, eps=1e-5) with `<prefix>weight`
// (init 1) and `<prefix>bias` (init 0). Owns its output and the per-row
// statistics the backward needs; the input must outlive the backward.
#pragma once

#include <string>

#include "vhmn/core/profile.hpp"
#include "vhmn/core/extent.hpp"
#include "vhmn/nn/param.hpp"
#include "vhmn/ops/layernorm.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic>
class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(const std::string& prefix, index_t dim) : dim_(dim, "layer norm dim") {
    weight.init(prefix + "weight", {dim}, false);
    bias.init(prefix + "bias", {dim}, false);
    weight.value.fill(T(1));
  }

  Param<T> weight;  // (D)
  Param<T> bias;    // (D)

  index_t dim() const { return dim_(); }
  void init(Rng&) {
    weight.value.fill(T(1));
    bias.value.zero();
  }

  // out = LN(x);  x: (R, D). Returns the owned output (R, D).
  const T* forward(const T* x, index_t R) {
    VHMN_PROFILE("layernorm");
    input_ = x;
    rows_ = R;
    out_.resize({R, dim()});
    mean_.resize({R});
    rstd_.resize({R});
    ops::layernorm_forward(out_.data(), mean_.data(), rstd_.data(), x, weight.data(), bias.data(), R, dim());
    return out_.data();
  }
  // dx: (R, D) accumulated.
  void backward(T* dx, const T* dout) {
    VHMN_PROFILE("layernorm.bwd");
    ops::layernorm_backward(dx, weight.grad_data(), bias.grad_data(), dout, input_, mean_.data(), rstd_.data(),
                            weight.data(), rows_, dim());
  }
  const T* output() const { return out_.data(); }

  void collect_params(ParamList<T>& out) {
    out.push_back(&weight);
    out.push_back(&bias);
  }

 private:
  Extent<Dim> dim_;
  const T* input_ = nullptr;
  index_t rows_ = 0;
  Tensor<T> out_, mean_, rstd_;  // (R, D), (R), (R)
};

}  // namespace vhmn
