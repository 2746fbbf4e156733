// vhmn/data/subset.hpp — seeded labelled fractions and long-tailed subsets.
//
// Both functions return positions into the given data set, sorted ascending
// (file order is kept); pass them to Dataset::subset(). Which samples are
// chosen depends only on the data set's labels and the seed.
//
// stratified_fraction(ds, f, seed): every class c with n_c images keeps
//   k_c = floor(f * n_c + 0.5)   (round half up; at least 1 when f > 0)
// of them, chosen uniformly without replacement: the paper's 10% / 30% / 50%
// labelled-data settings (CIFAR-10 at 0.1: 500 per class).
//
// long_tail_indices(ds, R, seed): the long-tailed CIFAR protocol of Cao et al.
// (2019, LDAM), exponential profile: class c of K keeps
//   n_c = floor(n_max * R^(-c / (K-1)))
// images (class 0 keeps n_max, class K-1 keeps n_max / R), chosen uniformly
// without replacement. CIFAR-10, n_max 5000: R = 100 gives 12,406 images,
// R = 50 gives 13,996; CIFAR-100 with R = 100 gives 10,847.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/data/dataset.hpp"

namespace vhmn {
namespace data {

namespace detail {
/// Shuffles the first k of v into a uniform random k-subset (partial Fisher-Yates).
inline void partial_shuffle(std::vector<index_t>& v, index_t k, Rng& rng) {
  const index_t n = static_cast<index_t>(v.size());
  for (index_t i = 0; i < k && i < n - 1; ++i) {
    const index_t j = i + rng.below(n - i);
    std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(j)]);
  }
}

/// Keeps counts[c] random images of each class c; positions sorted ascending.
inline std::vector<index_t> choose_per_class(const Dataset& ds, const std::vector<index_t>& counts,
                                             std::uint64_t seed) {
  Rng rng(seed);
  std::vector<index_t> out;
  for (index_t c = 0; c < ds.classes; ++c) {  // classes in label order: one stream, fixed use
    std::vector<index_t> members = ds.indices_of_class(static_cast<std::int32_t>(c));
    const index_t k = counts[static_cast<std::size_t>(c)];
    VHMN_CHECK(k <= static_cast<index_t>(members.size()),
               "data set '" << ds.name << "': class " << c << " has " << members.size() << " images, " << k
                            << " requested");
    partial_shuffle(members, k, rng);
    out.insert(out.end(), members.begin(), members.begin() + k);
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace detail

/// Per-class counts kept by stratified_fraction: floor(f * n_c + 0.5), at least 1 when f > 0 and n_c > 0.
inline std::vector<index_t> stratified_counts(const std::vector<index_t>& class_counts, double fraction) {
  VHMN_CHECK(fraction > 0.0 && fraction <= 1.0, "labelled fraction must be in (0, 1], got " << fraction);
  std::vector<index_t> k;
  for (index_t n : class_counts) {
    index_t keep = static_cast<index_t>(std::floor(fraction * static_cast<double>(n) + 0.5));
    if (n > 0) keep = std::clamp<index_t>(keep, 1, n);
    k.push_back(keep);
  }
  return k;
}

/// Positions of a seeded, class-stratified fraction of `ds` (see the file comment).
inline std::vector<index_t> stratified_fraction(const Dataset& ds, double fraction, std::uint64_t seed) {
  return detail::choose_per_class(ds, stratified_counts(ds.class_counts(), fraction), seed);
}

/// Long-tail class sizes floor(n_max * ratio^(-c/(K-1))), c = 0..K-1 (K = 1: {n_max}).
inline std::vector<index_t> long_tail_counts(index_t n_max, index_t classes, double ratio) {
  VHMN_CHECK(n_max > 0 && classes > 0, "long_tail_counts: need n_max > 0 and classes > 0, got " << n_max << ", "
                                                                                                << classes);
  VHMN_CHECK(ratio >= 1.0, "imbalance ratio must be >= 1, got " << ratio);
  std::vector<index_t> counts;
  for (index_t c = 0; c < classes; ++c) {
    // Same expression as the reference code, n_max * (1/R)^(c/(K-1)), then truncated.
    const double e = classes > 1 ? static_cast<double>(c) / (static_cast<double>(classes) - 1.0) : 0.0;
    counts.push_back(static_cast<index_t>(static_cast<double>(n_max) * std::pow(1.0 / ratio, e)));
  }
  return counts;
}

/// Positions of the long-tailed subset with imbalance ratio `ratio` (see the
/// file comment). n_max 0: the size of the smallest class, so every class can
/// supply its share (on balanced CIFAR that is the 5,000 / 500 of the protocol).
inline std::vector<index_t> long_tail_indices(const Dataset& ds, double ratio, std::uint64_t seed,
                                              index_t n_max = 0) {
  const std::vector<index_t> have = ds.class_counts();
  VHMN_CHECK(!have.empty(), "long_tail_indices: data set '" << ds.name << "' has no classes");
  if (n_max == 0) n_max = *std::min_element(have.begin(), have.end());
  return detail::choose_per_class(ds, long_tail_counts(n_max, ds.classes, ratio), seed);
}

/// The positions 0..n-1 that are not in `chosen` (e.g. the unlabelled rest), ascending.
inline std::vector<index_t> complement(const std::vector<index_t>& chosen, index_t n) {
  std::vector<char> taken(static_cast<std::size_t>(n), 0);
  for (index_t i : chosen) {
    VHMN_CHECK(i >= 0 && i < n, "complement: index " << i << " outside [0, " << n << ")");
    taken[static_cast<std::size_t>(i)] = 1;
  }
  std::vector<index_t> out;
  for (index_t i = 0; i < n; ++i)
    if (!taken[static_cast<std::size_t>(i)]) out.push_back(i);
  return out;
}

}  // namespace data
}  // namespace vhmn
