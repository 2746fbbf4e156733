// vhmn/ops/linear.hpp — affine map over rows: the GEMM every layer uses.
// `precision` picks the products' arithmetic (ops/gemm_precision.hpp): in
// bf16 the operands x, W, dy of each product are rounded to bfloat16; the
// bias, y, dx, dW and db are fp32.
#pragma once

#include "vhmn/core/simd.hpp"
#include "vhmn/ops/gemm_precision.hpp"

namespace vhmn::ops {

// y = x W^T + b
// y: (R, O)   x: (R, I)   W: (O, I) (PyTorch nn.Linear layout)   b: (O) or null
template <class T>
void linear_forward(T* y, const T* x, const T* W, const T* b, index_t R, index_t I, index_t O,
                    Precision precision = Precision::FP32) {
  gemm(precision, y, x, W, R, O, I, Trans::No, Trans::Yes);
  if (b) MatMap<T>(y, R, O).rowwise() += ConstVecMap<T>(b, O);
}

// The same with x already rounded to bf16 (a bf16-mode cache): the product
// of bf16 mode (bit for bit linear_forward(y, float x, ..., BF16)), b in fp32.
inline void linear_forward(float* y, const bf16* x, const float* W, const float* b, index_t R, index_t I, index_t O) {
  gemm_bf16(y, x, W, R, O, I, Trans::No, Trans::Yes);
  if (b) MatMap<float>(y, R, O).rowwise() += ConstVecMap<float>(b, O);
}

// Backward of y = x W^T + b; every output is accumulated (+=), any may be null.
// dx: (R, I) += dy W     dW: (O, I) += dy^T x     db: (O) += sum_r dy
template <class T>
void linear_backward(T* dx, T* dW, T* db, const T* dy, const T* x, const T* W, index_t R, index_t I,
                     index_t O, Precision precision = Precision::FP32) {
  if (dx) gemm(precision, dx, dy, W, R, I, O, Trans::No, Trans::No, T(1), true);
  if (dW) gemm(precision, dW, dy, x, O, I, R, Trans::Yes, Trans::No, T(1), true);
  if (db)
    for (index_t r = 0; r < R; ++r) simd::add_to(O, dy + r * O, db);  // rows in order
}

}  // namespace vhmn::ops
