// vhmn/nn/param.hpp — a named, trainable tensor and its gradient.
//
// What this represents: one entry of the model's state_dict (docs/spec.md §7):
// its checkpoint name, its value, the gradient the backward accumulates
// into, and whether decoupled weight decay applies to it (not to biases,
// norms, betas or the positional embedding).
#pragma once

#include <string>
#include <vector>

#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"

namespace vhmn {

template <class T>
struct Param {
  std::string name;
  Tensor<T> value;
  Tensor<T> grad;
  bool decay = false;

  void init(std::string param_name, Shape shape, bool weight_decay) {
    name = std::move(param_name);
    value.resize_zero(shape);
    grad.resize_zero(std::move(shape));
    decay = weight_decay;
  }
  T* data() { return value.data(); }
  const T* data() const { return value.data(); }
  T* grad_data() { return grad.data(); }
  index_t numel() const { return value.numel(); }

  /// Truncated normal(0, std) cut at +-2 std (docs/spec.md §6).
  void init_trunc_normal(Rng& rng, double std = 0.02) {
    for (auto& v : value) v = static_cast<T>(rng.truncated_normal(std));
  }
};

/// Pointers to every parameter of a model, in state_dict order.
template <class T>
using ParamList = std::vector<Param<T>*>;

}  // namespace vhmn
