// vhmn/ops/eigen_maps.hpp — row-major Eigen views over raw buffers.
//
// vhmn buffers are row-major and contiguous (PyTorch layout); these aliases
// let kernels hand them to Eigen's GEMM without copies.
#pragma once

#include "vhmn/core/eigen.hpp"

#include "vhmn/core/config.hpp"

namespace vhmn::ops {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatMap = Eigen::Map<RowMat<T>>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMat<T>>;
template <class T>
using VecMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <class T>
using ConstVecMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

}  // namespace vhmn::ops
