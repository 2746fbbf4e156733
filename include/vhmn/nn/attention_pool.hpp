// vhmn/nn/attention_pool.hpp — the head's attention pooling over tokens.
//
// What this represents: e_n = w . V_n + b, pi = softmax_n(e), z = sum pi_n V_n
// with `pool.weight` (1, D) and `pool.bias` (1). The pooling weights pi of
// the last forward stay readable: they say which tokens the decision used.
#pragma once

#include "vhmn/core/extent.hpp"
#include "vhmn/nn/param.hpp"
#include "vhmn/ops/attention_pool.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic>
class AttentionPool {
 public:
  AttentionPool() = default;
  AttentionPool(const std::string& prefix, index_t dim) : dim_(dim, "embedding dim D") {
    weight.init(prefix + "weight", {1, dim}, true);
    bias.init(prefix + "bias", {1}, false);
  }

  Param<T> weight;  // (1, D)
  Param<T> bias;    // (1)

  index_t dim() const { return dim_(); }
  void init(Rng& rng) {
    weight.init_trunc_normal(rng);
    bias.value.zero();
  }

  // v: (B, N, D). Returns the owned pooled features (B, D).
  const T* forward(const T* v, index_t B, index_t N) {
    input_ = v;
    batch_ = B;
    tokens_ = N;
    pi_.resize({B, N});
    out_.resize({B, dim()});
    ops::attention_pool_forward(out_.data(), pi_.data(), v, weight.data(), bias.value[0], B, N, dim());
    return out_.data();
  }
  // dv: (B, N, D) accumulated.
  void backward(T* dv, const T* dz) {
    de_.resize({batch_, tokens_});
    ops::attention_pool_backward(dv, weight.grad_data(), bias.grad_data(), de_.data(), dz, pi_.data(), input_,
                                 weight.data(), batch_, tokens_, dim());
  }
  /// Pooled features of the last forward: (B, D).
  const T* output() const { return out_.data(); }
  /// Pooling weights of the last forward: (B, N), rows sum to 1.
  const Tensor<T>& weights() const { return pi_; }

  void collect_params(ParamList<T>& out) {
    out.push_back(&weight);
    out.push_back(&bias);
  }

 private:
  Extent<Dim> dim_;
  const T* input_ = nullptr;
  index_t batch_ = 0, tokens_ = 0;
  Tensor<T> pi_, out_, de_;  // (B, N), (B, D), (B, N)
};

}  // namespace vhmn
