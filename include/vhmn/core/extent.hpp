// vhmn/core/extent.hpp — one template for static and run-time dimensions.
//
// What this represents: a dimension that is either fixed at compile time
// (Extent<128>) or carried at run time (Extent<Dynamic>), in the manner of
// Eigen's fixed/Dynamic sizes. Layers store their dimensions as extents, so
// `LayerNorm<float, 128>` and `LayerNorm<float>` share one code path; the
// static form lets the compiler see constant loop bounds.
// Requires: a static extent constructed with a run-time value must agree
// with it (checked, so a mismatched config names the dimension).
#pragma once

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"

namespace vhmn {

template <int N>
struct Extent {
  static_assert(N > 0, "static extents must be positive (use Dynamic for run-time sizes)");
  Extent() = default;
  Extent(index_t n, const char* what = "dimension") {
    VHMN_CHECK(n == N, what << " is " << n << " but the layer type fixes it to " << N);
  }
  constexpr index_t operator()() const { return N; }
  static constexpr bool is_static = true;
};

template <>
struct Extent<Dynamic> {
  Extent() = default;
  Extent(index_t n, const char* what = "dimension") : n_(n) {
    VHMN_CHECK(n > 0, what << " must be positive, got " << n);
  }
  index_t operator()() const { return n_; }
  static constexpr bool is_static = false;

 private:
  index_t n_ = 0;
};

}  // namespace vhmn
