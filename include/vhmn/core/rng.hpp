// vhmn/core/rng.hpp — a seeded, portable random generator.
//
// What this represents: xoshiro256** seeded through splitmix64. Unlike the
// std:: distributions, every draw here is specified bit for bit, so a seed
// gives the same weights, batches and bank writes on every compiler and
// platform, and the state (four words) can be saved and restored exactly.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "vhmn/core/config.hpp"

namespace vhmn {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
  }

  /// Raw 64 random bits.
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), unbiased (rejection). n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = (~std::uint64_t(0) / n) * n;
    std::uint64_t r;
    do r = next(); while (r >= limit);
    return r % n;
  }
  index_t below(index_t n) { return static_cast<index_t>(below(static_cast<std::uint64_t>(n))); }
  int below(int n) { return static_cast<int>(below(static_cast<std::uint64_t>(n))); }

  bool bernoulli(double p) { return uniform() < p; }

  /// Standard normal (Box-Muller, one value per call; no cached spare so the
  /// state alone describes the stream).
  double normal() {
    double u1;
    do u1 = uniform(); while (u1 <= 0.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
  }

  /// Normal(0, std) truncated to [-2 std, 2 std] by redrawing (docs/spec.md §6).
  double truncated_normal(double std) {
    double x;
    do x = normal(); while (x < -2.0 || x > 2.0);
    return x * std;
  }

  /// Gamma(alpha, 1) (Marsaglia-Tsang), used for Beta draws in MixUp.
  double gamma(double alpha) {
    if (alpha < 1.0) {
      double u;
      do u = uniform(); while (u <= 0.0);
      return gamma(alpha + 1.0) * std::pow(u, 1.0 / alpha);
    }
    const double d = alpha - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }
  /// Beta(a, b) via two gamma draws.
  double beta(double a, double b) {
    const double x = gamma(a), y = gamma(b);
    return x / (x + y);
  }

  const State& state() const { return state_; }
  void set_state(const State& s) { state_ = s; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  State state_{};
};

}  // namespace vhmn
