// vhmn/core/eigen.hpp — the one place vhmn includes Eigen.
//
// Why: GCC 12 reports false -W(maybe-)uninitialized warnings inside Eigen's
// AVX-512 packet code (in GCC's own intrinsics headers). They are silenced
// here, at the library's boundary, so users' -Wall -Wextra builds stay clean
// without any flag on their side.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
