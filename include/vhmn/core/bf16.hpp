// vhmn/core/bf16.hpp — the bfloat16 number format and its conversions.
//
// bf16 is the upper half of an IEEE binary32: 1 sign, 8 exponent, 7 mantissa
// bits, so it has float's range with ~3 significant decimal digits.
// Conversion rounds to nearest, ties to even (as PyTorch and
// `vcvtneps2bf16` do for normal numbers); unlike that instruction,
// subnormals are kept, not flushed, and a NaN stays a (quiet) NaN instead of
// rounding into an infinity. Values at or above 0x1.ff8p127 round up to inf.
#pragma once

#include <cstdint>
#include <cstring>

#include "vhmn/core/config.hpp"

namespace vhmn {

/// One bfloat16 value: the raw bits (a float's upper 16 bits).
struct bf16 {
  std::uint16_t bits;
};

namespace detail {
inline std::uint32_t float_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float bits_float(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
/// Round-to-nearest-even of a float's bits to its upper 16 bits.
inline std::uint16_t bf16_bits_rne(std::uint32_t u) {
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // NaN: quiet it
  u += 0x7fffu + ((u >> 16) & 1u);  // carries into the exponent when rounding up (to inf at the top)
  return static_cast<std::uint16_t>(u >> 16);
}
}  // namespace detail

inline bf16 to_bf16(float x) { return bf16{detail::bf16_bits_rne(detail::float_bits(x))}; }
inline float to_float(bf16 x) { return detail::bits_float(static_cast<std::uint32_t>(x.bits) << 16); }

/// The float nearest to x that a bf16 can hold (ties to even).
inline float round_to_bf16(float x) { return to_float(to_bf16(x)); }

/// out[i] = to_bf16(in[i]) for i in [0, n).
inline void convert_to_bf16(bf16* out, const float* in, index_t n) {
  for (index_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

/// out[i] = round_to_bf16(in[i]) for i in [0, n); out may alias in.
inline void round_to_bf16(float* out, const float* in, index_t n) {
  for (index_t i = 0; i < n; ++i) out[i] = round_to_bf16(in[i]);
}

}  // namespace vhmn
