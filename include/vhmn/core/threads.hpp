// vhmn/core/threads.hpp — the run-time thread count, honoured by every kernel.
//
// Defaults to the machine's cores (OpenMP's default). set_num_threads(n)
// changes it for every vhmn kernel. Matrix products are threaded by vhmn
// itself (ops/gemm.hpp: one single-threaded Eigen call per tile), so the
// count never changes a result.
#pragma once

#include <thread>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"


namespace vhmn {

/// Number of threads vhmn kernels use (1 when built without OpenMP).
inline int num_threads() {
#if VHMN_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the thread count; n <= 0 means all hardware threads. Without OpenMP
/// any n is accepted and the library stays single-threaded.
inline void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#if VHMN_HAS_OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace vhmn
