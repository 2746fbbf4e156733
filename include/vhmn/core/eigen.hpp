// vhmn/core/eigen.hpp — the one place vhmn includes Eigen.
//
// Why EIGEN_DONT_PARALLELIZE: vhmn threads its matrix products itself
// (ops/gemm.hpp). Eigen's own OpenMP path picks its blocking from the thread
// count (so results would change with it) and opens a parallel region for
// every small product (measured: ~40% of a small model's training time spent
// spinning). If the user included Eigen before vhmn, with parallelisation
// on, ops::gemm falls back to Eigen::setNbThreads(1) at its first call.
// Why the pragmas: GCC 12 reports false -W(maybe-)uninitialized warnings
// inside Eigen's AVX-512 packet code (in GCC's own intrinsics headers); they
// are silenced here, at the library's boundary.
#pragma once

#include "vhmn/core/config.hpp"

#if !defined(EIGEN_CORE_H) && !defined(EIGEN_CORE_MODULE_H) && !defined(EIGEN_DONT_PARALLELIZE)
#define EIGEN_DONT_PARALLELIZE
#endif

VHMN_THIRD_PARTY_INCLUDES_BEGIN
#include <Eigen/Core>
VHMN_THIRD_PARTY_INCLUDES_END
