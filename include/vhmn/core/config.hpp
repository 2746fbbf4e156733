// vhmn/core/config.hpp — build switches, index type and the Dynamic extent.
//
// Switches a user may define before including vhmn:
//   VHMN_NO_SIMD     scalar kernels only; xsimd is not included at all
//                    (automatic where xsimd has no instruction set).
//   VHMN_NO_OPENMP   never use OpenMP even when compiled with -fopenmp.
//   VHMN_USE_BLAS    matrix-product tiles call cblas_sgemm / cblas_dgemm
//                    (include <cblas.h>, link a BLAS such as OpenBLAS)
//                    instead of Eigen's kernel; see ops/gemm.hpp.
// OpenMP is used only when the compiler enables it (_OPENMP).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(_OPENMP) && !defined(VHMN_NO_OPENMP)
#define VHMN_HAS_OPENMP 1
#include <omp.h>
#else
#define VHMN_HAS_OPENMP 0
#endif

// SIMD through xsimd where xsimd supports the target: its configuration
// header (macros only) says whether it found an instruction set (SSE2+ /
// AVX / AVX-512 on x86, NEON on ARM). Elsewhere (s390x, ppc64, riscv, ...,
// or a 32-bit ARM built without NEON) the scalar path is chosen
// automatically, as if VHMN_NO_SIMD were set.
#if !defined(VHMN_NO_SIMD) && __has_include(<xsimd/xsimd.hpp>)
#if __has_include(<xsimd/config/xsimd_config.hpp>)
#include <xsimd/config/xsimd_config.hpp>
#endif
#if defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define VHMN_HAS_SIMD 0
#else
#define VHMN_HAS_SIMD 1
#endif
#else
#define VHMN_HAS_SIMD 0
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define VHMN_HAS_EXCEPTIONS 1
#else
#define VHMN_HAS_EXCEPTIONS 0
#endif

// Brackets an #include of Eigen or xsimd: GCC 12 reports false
// -W(maybe-)uninitialized warnings inside its own AVX-512 intrinsics when
// they are inlined from those libraries; silenced here, at our boundary.
#if defined(__GNUC__) && !defined(__clang__)
#define VHMN_THIRD_PARTY_INCLUDES_BEGIN                            \
  _Pragma("GCC diagnostic push")                                   \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")          \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define VHMN_THIRD_PARTY_INCLUDES_END _Pragma("GCC diagnostic pop")
#else
#define VHMN_THIRD_PARTY_INCLUDES_BEGIN
#define VHMN_THIRD_PARTY_INCLUDES_END
#endif

// Saves / restores one macro: VHMN_PUSH_MACRO(NAME) ... VHMN_POP_MACRO(NAME).
// The stb wrappers (data/stb.hpp, explain/png.hpp) apply them to every macro
// stb reads or defines, so including vhmn never changes what a user's own
// #include of stb sees.
#if defined(_MSC_VER) && !defined(__clang__)
#define VHMN_DO_PRAGMA(x) __pragma(x)
#else
#define VHMN_DO_PRAGMA(x) _Pragma(#x)
#endif
#define VHMN_PUSH_MACRO(m) VHMN_DO_PRAGMA(push_macro(#m))
#define VHMN_POP_MACRO(m) VHMN_DO_PRAGMA(pop_macro(#m))

namespace vhmn {

/// Signed index used for every size and offset (like Eigen::Index).
using index_t = std::ptrdiff_t;

/// Marks a template dimension that is only known at run time (like Eigen::Dynamic).
inline constexpr int Dynamic = -1;

/// Runs f(i) for i in [0, n): on OpenMP threads, each taking one contiguous
/// block of indices, when `threaded` holds and more than one thread is
/// allowed, else in order on the calling thread. Two allocator traps shape
/// this: libgomp allocates a fresh team for each one-thread region (so the
/// serial case opens no region at all), and LLVM's libomp allocates in every
/// `omp for` work-sharing set-up (so the blocks are split by hand).
template <class F>
inline void parallel_for(index_t n, bool threaded, F&& f) {
#if VHMN_HAS_OPENMP
  if (threaded && n > 1 && omp_get_max_threads() > 1) {
#pragma omp parallel
    {
      const index_t team = omp_get_num_threads(), rank = omp_get_thread_num();
      const index_t begin = n * rank / team, end = n * (rank + 1) / team;
      for (index_t i = begin; i < end; ++i) f(i);
    }
    return;
  }
#else
  (void)threaded;
#endif
  for (index_t i = 0; i < n; ++i) f(i);
}

}  // namespace vhmn
