// vhmn/nn/linear.hpp — a fully connected layer, y = x W^T + b.
//
// What this represents: nn.Linear(In, Out) with weight (Out, In) and bias
// (Out), named `<prefix>weight` / `<prefix>bias`. Holds parameters only;
// callers own activations (the forward input must outlive the backward).
// Its products run at precision() (core/precision.hpp; default FP32).
#pragma once

#include <string>

#include "vhmn/core/extent.hpp"
#include "vhmn/nn/param.hpp"
#include "vhmn/ops/linear.hpp"

namespace vhmn {

template <class T, int In = Dynamic, int Out = Dynamic>
class Linear {
 public:
  Linear() = default;
  Linear(const std::string& prefix, index_t in, index_t out) : in_(in, "linear input"), out_(out, "linear output") {
    weight.init(prefix + "weight", {out, in}, true);
    bias.init(prefix + "bias", {out}, false);
  }

  Param<T> weight;  // (Out, In)
  Param<T> bias;    // (Out)

  index_t in() const { return in_(); }
  index_t out() const { return out_(); }

  void init(Rng& rng) {
    weight.init_trunc_normal(rng);
    bias.value.zero();
  }

  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  // y: (R, Out)   x: (R, In)
  void forward(T* y, const T* x, index_t R) const {
    ops::linear_forward(y, x, weight.data(), bias.data(), R, in(), out(), precision_);
  }
  // dx: (R, In) accumulated (may be null); weight/bias grads accumulated unless frozen.
  void backward(T* dx, const T* dy, const T* x, index_t R) {
    // frozen: that gradient's product is skipped (the kernel takes null)
    ops::linear_backward(dx, weight.frozen ? nullptr : weight.grad_data(), bias.frozen ? nullptr : bias.grad_data(),
                         dy, x, weight.data(), R, in(), out(), precision_);
  }

  void collect_params(ParamList<T>& out_list) {
    out_list.push_back(&weight);
    out_list.push_back(&bias);
  }

 private:
  Extent<In> in_;
  Extent<Out> out_;
  Precision precision_ = Precision::FP32;
};

}  // namespace vhmn
