// vhmn/core/checked.hpp — size arithmetic that reports overflow instead of wrapping.
//
// What this represents: the products every reader computes from numbers in
// a file's header (IDX counts x rows x cols, safetensors shapes, CIFAR
// record counts, model sizes from checkpoint metadata). A header is outside
// input, so a product that wraps around would turn a huge claim into a small
// (even zero) size that then passes every later check.
// Ensures: checked_mul / checked_product return false, leaving *out
// unspecified, when the exact product exceeds `limit`; they never wrap.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace vhmn {

/// *out = a * b; false when the exact product exceeds `limit`.
inline bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t* out,
                        std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) {
  if (a != 0 && b > limit / a) return false;
  *out = a * b;
  return *out <= limit;
}

/// *out = a + b; false when the exact sum exceeds `limit`.
inline bool checked_add(std::uint64_t a, std::uint64_t b, std::uint64_t* out,
                        std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) {
  if (a > limit || b > limit - a) return false;
  *out = a + b;
  return true;
}

/// *out = the product of `factors` (1 when empty); false when any factor, or
/// the product, exceeds `limit`. (A factor over the limit is refused even
/// when another is 0, so the answer does not depend on the order.)
inline bool checked_product(std::initializer_list<std::uint64_t> factors, std::uint64_t* out,
                            std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) {
  bool zero = false;
  for (std::uint64_t f : factors) {
    if (f > limit) return false;
    zero = zero || f == 0;
  }
  std::uint64_t p = 1;
  if (!zero)
    for (std::uint64_t f : factors)
      if (!checked_mul(p, f, &p, limit)) return false;
  *out = zero ? 0 : p;
  return true;
}

}  // namespace vhmn
