// vhmn/ops/linear.hpp — affine map over rows: the GEMM every layer uses.
#pragma once

#include "vhmn/ops/eigen_maps.hpp"

namespace vhmn::ops {

// y = x W^T + b
// y: (R, O)   x: (R, I)   W: (O, I) (PyTorch nn.Linear layout)   b: (O) or null
template <class T>
void linear_forward(T* y, const T* x, const T* W, const T* b, index_t R, index_t I, index_t O) {
  MatMap<T> Y(y, R, O);
  Y.noalias() = ConstMatMap<T>(x, R, I) * ConstMatMap<T>(W, O, I).transpose();
  if (b) Y.rowwise() += ConstVecMap<T>(b, O);
}

// Backward of y = x W^T + b; every output is accumulated (+=), any may be null.
// dx: (R, I) += dy W     dW: (O, I) += dy^T x     db: (O) += sum_r dy
template <class T>
void linear_backward(T* dx, T* dW, T* db, const T* dy, const T* x, const T* W, index_t R, index_t I,
                     index_t O) {
  ConstMatMap<T> dY(dy, R, O);
  if (dx) MatMap<T>(dx, R, I).noalias() += dY * ConstMatMap<T>(W, O, I);
  if (dW) MatMap<T>(dW, O, I).noalias() += dY.transpose() * ConstMatMap<T>(x, R, I);
  if (db) VecMap<T>(db, O) += dY.colwise().sum();
}

}  // namespace vhmn::ops
