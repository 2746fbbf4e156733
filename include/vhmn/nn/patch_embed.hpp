// vhmn/nn/patch_embed.hpp — image to tokens: patch projection plus positions.
//
// What this represents: X[b,n] = W_pe vec(patch(b,n)) + b_pe + P[n]
// (docs/spec.md §1), with `patch_embed.weight` (D, C, p, p) in PyTorch Conv2d
// layout, `patch_embed.bias` (D) and `pos_embed` (N, D).
#pragma once

#include "vhmn/core/profile.hpp"
#include "vhmn/core/extent.hpp"
#include "vhmn/nn/param.hpp"
#include "vhmn/ops/linear.hpp"
#include "vhmn/ops/patchify.hpp"

namespace vhmn {

template <class T, int Dim = Dynamic>
class PatchEmbed {
 public:
  PatchEmbed() = default;
  PatchEmbed(index_t image, index_t channels, index_t patch, index_t dim)
      : image_(image), channels_(channels), patch_(patch), dim_(dim, "embedding dim D") {
    VHMN_CHECK(patch > 0 && image % patch == 0,
               "image size " << image << " is not a multiple of the patch size " << patch);
    weight.init("patch_embed.weight", {dim, channels, patch, patch}, true);
    bias.init("patch_embed.bias", {dim}, false);
    pos.init("pos_embed", {tokens(), dim}, false);
  }

  Param<T> weight;  // (D, C, p, p)
  Param<T> bias;    // (D)
  Param<T> pos;     // (N, D)

  index_t grid() const { return image_ / patch_; }
  index_t tokens() const { return grid() * grid(); }
  index_t dim() const { return dim_(); }
  index_t patch_size() const { return channels_ * patch_ * patch_; }

  void init(Rng& rng) {
    weight.init_trunc_normal(rng);
    bias.value.zero();
    pos.init_trunc_normal(rng);
  }
  /// Arithmetic of the projection's products (core/precision.hpp).
  void set_precision(Precision p) { precision_ = p; }

  // images: (B, C, H, W), any arithmetic type. Returns the owned tokens (B*N, D).
  template <class In>
  const T* forward(const In* images, index_t B) {
    VHMN_PROFILE("patch_embed");
    const index_t N = tokens(), P = patch_size(), D = dim();
    batch_ = B;
    patches_.resize({B * N, P});
    out_.resize({B * N, D});
    ops::patchify(patches_.data(), images, B, channels_, image_, image_, patch_);
    ops::linear_forward(out_.data(), patches_.data(), weight.data(), bias.data(), B * N, P, D, precision_);
    parallel_for(B * N, B * N * D > 32768, [&](index_t bn) { simd::add_to(D, pos.data() + (bn % N) * D, out_.data() + bn * D); });
    return out_.data();
  }
  // Backward to the parameters (images get no gradient).  dout: (B*N, D)
  void backward(const T* dout) {
    VHMN_PROFILE("patch_embed.bwd");
    const index_t N = tokens(), P = patch_size(), D = dim();
    ops::linear_backward<T>(nullptr, weight.grad_data(), bias.grad_data(), dout, patches_.data(), weight.data(),
                            batch_ * N, P, D, precision_);
    for (index_t b = 0; b < batch_; ++b) simd::add_to(N * D, dout + b * N * D, pos.grad_data());
  }

  void collect_params(ParamList<T>& out) {
    out.push_back(&weight);
    out.push_back(&bias);
    out.push_back(&pos);
  }

 private:
  index_t image_ = 0, channels_ = 0, patch_ = 0;
  Extent<Dim> dim_;
  index_t batch_ = 0;
  Precision precision_ = Precision::FP32;
  Tensor<T> patches_, out_;  // (B*N, C*p*p), (B*N, D)
};

}  // namespace vhmn
