// tests/gradcheck.hpp — central-difference gradient checking in double.
//
// For a scalar function f of some buffers, compare the analytic gradient
// with (f(x + h e_i) - f(x - h e_i)) / 2h entry by entry. The error of a
// buffer is max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, 1e-4):
// relative to the buffer's scale, so entries that are ~0 don't blow it up.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"

namespace vhmn::testing {

struct GradResult {
  double max_abs_diff = 0, scale = 0;
  // Floor 1e-4: a gradient that is identically zero (e.g. pool.bias, by
  // softmax shift invariance) is compared in absolute terms.
  double rel() const { return max_abs_diff / std::max(scale, 1e-4); }
};

/// Checks `analytic` (n values) against central differences of `loss` with
/// respect to `x` (n values), at most `max_entries` entries spread evenly.
inline GradResult check_gradient(double* x, const double* analytic, index_t n, const std::function<double()>& loss,
                                 index_t max_entries = 64, double h = 1e-5) {
  GradResult r;
  const index_t step = std::max<index_t>(1, n / max_entries);
  for (index_t i = 0; i < n; i += step) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    r.max_abs_diff = std::max(r.max_abs_diff, std::abs(numeric - analytic[i]));
    r.scale = std::max(r.scale, std::abs(numeric));
  }
  return r;
}

inline void fill_normal(double* x, index_t n, Rng& rng, double std = 1.0) {
  for (index_t i = 0; i < n; ++i) x[i] = rng.normal() * std;
}
inline std::vector<double> normal_vector(index_t n, Rng& rng, double std = 1.0) {
  std::vector<double> v(static_cast<std::size_t>(n));
  fill_normal(v.data(), n, rng, std);
  return v;
}
inline double dot(const double* a, const double* b, index_t n) {
  double s = 0;
  for (index_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace vhmn::testing
