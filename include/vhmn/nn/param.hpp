// vhmn/nn/param.hpp — a named, trainable tensor and its gradient.
//
// What this represents: one entry of the model's state_dict (docs/spec.md §7):
// its checkpoint name, its value, the gradient the backward accumulates
// into, and whether decoupled weight decay applies to it (not to biases,
// norms, betas or the positional embedding), and whether it is frozen:
// a frozen parameter gets no optimiser update, and backward skips its
// gradient where the kernel can (its grad then stays as zero_grad left it).
#pragma once

#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"

namespace vhmn {

template <class T>
struct Param {
  std::string name;
  Tensor<T> value;
  Tensor<T> grad;
  bool decay = false;
  bool frozen = false;

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

/// Glob match of a parameter name: '*' matches any run of characters
/// (dots included), '?' any one character; everything else itself.
inline bool name_matches(const char* name, const char* pattern) {
  const char *star = nullptr, *resume = nullptr;
  while (*name) {
    if (*pattern == '?' || (*pattern != '*' && *pattern == *name)) {
      ++name, ++pattern;
    } else if (*pattern == '*') {
      star = pattern++;
      resume = name;
    } else if (star) {
      pattern = star + 1;
      name = ++resume;
    } else {
      return false;
    }
  }
  while (*pattern == '*') ++pattern;
  return *pattern == '\0';
}

/// Sets `frozen` on every parameter whose name matches `pattern`; returns
/// how many matched. A pattern that matches nothing is an error (a typo
/// would otherwise silently train everything).
template <class T>
index_t set_frozen(const ParamList<T>& params, const std::string& pattern, bool frozen) {
  index_t n = 0;
  for (Param<T>* p : params)
    if (name_matches(p->name.c_str(), pattern.c_str())) {
      p->frozen = frozen;
      ++n;
    }
  VHMN_CHECK(n > 0, (frozen ? "freeze" : "unfreeze") << ": pattern '" << pattern
                                                    << "' matches no parameter name (names look like "
                                                    << (params.empty() ? std::string("?") : params[0]->name)
                                                    << "; '*' matches any characters)");
  return n;
}

/// True when some parameter of `params` is not frozen.
template <class T>
bool any_trainable(const ParamList<T>& params) {
  for (const Param<T>* p : params)
    if (!p->frozen) return true;
  return false;
}

}  // namespace vhmn
