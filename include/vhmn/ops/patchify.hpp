// vhmn/ops/patchify.hpp — cut images into non-overlapping p x p patches.
//
// Patch (b, n) with n = row*w + col is vec'd channel-major, then patch row,
// then patch column, so a linear map over it has the layout of a PyTorch
// Conv2d(C, D, p, stride=p) weight [D, C, p, p].
#pragma once

#include "vhmn/core/config.hpp"

namespace vhmn::ops {

// patches[b*N + n, c*p*p + y*p + x] = images[b, c, row*p + y, col*p + x]
// images: (B, C, H, W)   patches: (B*N, C*p*p) with N = (H/p)*(W/p)
template <class T, class In>
void patchify(T* patches, const In* images, index_t B, index_t C, index_t H, index_t W, index_t p) {
  const index_t h = H / p, w = W / p, N = h * w, P = C * p * p;
  parallel_for(B * N, B * N * P > 32768, [&](index_t bn) {
    const index_t b = bn / N, n = bn % N, row = n / w, col = n % w;
    T* out = patches + bn * P;
    for (index_t c = 0; c < C; ++c)
      for (index_t y = 0; y < p; ++y) {
        const In* src = images + ((b * C + c) * H + row * p + y) * W + col * p;
        for (index_t x = 0; x < p; ++x) out[(c * p + y) * p + x] = static_cast<T>(src[x]);
      }
  });
}

}  // namespace vhmn::ops
