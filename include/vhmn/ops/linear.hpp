// vhmn/ops/linear.hpp — affine map over rows: the GEMM every layer uses.
#pragma once

#include "vhmn/core/simd.hpp"
#include "vhmn/ops/gemm.hpp"

namespace vhmn::ops {

// y = x W^T + b
// y: (R, O)   x: (R, I)   W: (O, I) (PyTorch nn.Linear layout)   b: (O) or null
template <class T>
void linear_forward(T* y, const T* x, const T* W, const T* b, index_t R, index_t I, index_t O) {
  gemm(y, x, W, R, O, I, Trans::No, Trans::Yes);
  if (b) MatMap<T>(y, R, O).rowwise() += ConstVecMap<T>(b, O);
}

// Backward of y = x W^T + b; every output is accumulated (+=), any may be null.
// dx: (R, I) += dy W     dW: (O, I) += dy^T x     db: (O) += sum_r dy
template <class T>
void linear_backward(T* dx, T* dW, T* db, const T* dy, const T* x, const T* W, index_t R, index_t I,
                     index_t O) {
  if (dx) gemm(dx, dy, W, R, I, O, Trans::No, Trans::No, T(1), true);
  if (dW) gemm(dW, dy, x, O, I, R, Trans::Yes, Trans::No, T(1), true);
  if (db)
    for (index_t r = 0; r < R; ++r) simd::add_to(O, dy + r * O, db);  // rows in order
}

}  // namespace vhmn::ops
