// bf16 conversions (golden bit patterns) and the bf16 matrix products
// (ops/gemm_bf16.hpp) against a double-precision reference, on both backends.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "vhmn/core/bf16.hpp"
#include "vhmn/core/cpu_features.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/threads.hpp"
#include "vhmn/ops/gemm_bf16.hpp"
#include "vhmn/ops/retrieval.hpp"

using namespace vhmn;
using ops::Bf16Backend;
using ops::Trans;

namespace {
float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
std::uint16_t bits_of(float x) { return to_bf16(x).bits; }

// Runs f with VHMN_BF16 set to force the emulation (or unset), restoring it after.
template <class F>
void with_backend(Bf16Backend want, F&& f) {
  const char* old = std::getenv("VHMN_BF16");
  const std::string saved = old ? old : "";
  if (want == Bf16Backend::Emulated)
    setenv("VHMN_BF16", "emulate", 1);
  else
    unsetenv("VHMN_BF16");
  f();
  if (old)
    setenv("VHMN_BF16", saved.c_str(), 1);
  else
    unsetenv("VHMN_BF16");
}
// Both backends where this machine has both, else the emulation only.
std::vector<Bf16Backend> backends() {
  std::vector<Bf16Backend> out{Bf16Backend::Emulated};
  with_backend(Bf16Backend::Native, [&] {
    if (ops::bf16_backend() == Bf16Backend::Native) out.push_back(Bf16Backend::Native);
  });
  return out;
}

std::vector<float> random_vector(index_t n, Rng& rng) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Element (i, j) of op(X) for X stored (rows x cols) or transposed.
float at(const std::vector<float>& x, Trans t, index_t i, index_t j, index_t rows, index_t cols) {
  return t == Trans::No ? x[static_cast<std::size_t>(i * cols + j)] : x[static_cast<std::size_t>(j * rows + i)];
}

// Checks c against alpha * bf16(op(A)) bf16(op(B)) (+ c0) in double, within
// the fp32 accumulation bound: |err| <= (K + 2) u sum|a b| + u |c0|.
void check_product(const std::vector<float>& c, const std::vector<float>& c0, const std::vector<float>& a,
                   const std::vector<float>& b, index_t M, index_t N, index_t K, Trans ta, Trans tb, float alpha,
                   bool accumulate, const std::vector<float>* other = nullptr) {
  const double u = std::ldexp(1.0, -23);
  index_t bad = 0;
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      double sum = 0, mag = 0;
      for (index_t k = 0; k < K; ++k) {
        const double p = double(round_to_bf16(at(a, ta, i, k, M, K))) * double(round_to_bf16(at(b, tb, k, j, K, N)));
        sum += p;
        mag += std::fabs(p);
      }
      const double old = accumulate ? double(c0[static_cast<std::size_t>(i * N + j)]) : 0.0;
      double want = double(alpha) * sum + old;
      double tol = (double(K) + 2) * u * std::fabs(double(alpha)) * mag + u * std::fabs(old) + 1e-30;
      if (other) {  // two results each within the bound are within twice the bound of each other
        want = double((*other)[static_cast<std::size_t>(i * N + j)]);
        tol *= 2;
      }
      if (std::fabs(double(c[static_cast<std::size_t>(i * N + j)]) - want) > tol) ++bad;
    }
  CHECK_MESSAGE(bad == 0, "M=" << M << " N=" << N << " K=" << K << " ta=" << int(ta) << " tb=" << int(tb)
                                << ": " << bad << " elements outside the bound");
}

struct Dims {
  index_t M, N, K;
};
const Dims kShapes[] = {{1, 1, 1},     {7, 17, 33},  {33, 7, 17},   {17, 33, 7},  {100, 257, 33}, {257, 100, 17},
                         {1, 257, 100}, {257, 1, 257}, {33, 33, 257}, {64, 48, 2}, {130, 520, 65}, {3, 5, 1000}};
}  // namespace

TEST_CASE("bf16: conversion golden values (ties to even, NaN, inf, subnormals, overflow)") {
  CHECK(bits_of(1.0f) == 0x3f80);
  CHECK(bits_of(-1.5f) == 0xbfc0);
  CHECK(bits_of(0.0f) == 0x0000);
  CHECK(bits_of(-0.0f) == 0x8000);
  CHECK(bits_of(from_bits(0x3f808000u)) == 0x3f80);  // 1 + 2^-8: tie, 0x3f80 is even: down
  CHECK(bits_of(from_bits(0x3f818000u)) == 0x3f82);  // 1 + 3*2^-8: tie, 0x3f81 is odd: up
  CHECK(bits_of(from_bits(0x3f808001u)) == 0x3f81);  // just above the tie: up
  CHECK(bits_of(from_bits(0x3f807fffu)) == 0x3f80);  // just below: down
  CHECK(bits_of(from_bits(0x3fffffffu)) == 0x4000);  // rounding carries into the exponent
  CHECK(round_to_bf16(3.14159265f) == 3.140625f);
  CHECK(to_float(bf16{0x4049}) == 3.140625f);
  CHECK(to_float(bf16{0xc2f7}) == -123.5f);
  // infinities stay, NaNs stay NaN (quiet), even a signalling NaN whose payload is in the low half only
  CHECK(bits_of(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bits_of(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(bits_of(from_bits(0x7fc00000u)) == 0x7fc0);
  CHECK(bits_of(from_bits(0x7f800001u)) == 0x7fc0);
  CHECK(bits_of(from_bits(0xff800001u)) == 0xffc0);
  CHECK(std::isnan(round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  // the top of the range: bf16's max finite stays, float's max finite rounds up into inf
  CHECK(bits_of(from_bits(0x7f7f0000u)) == 0x7f7f);
  CHECK(to_float(bf16{0x7f7f}) == std::ldexp(255.0f, 120));
  CHECK(bits_of(from_bits(0x7f7f7fffu)) == 0x7f7f);
  CHECK(bits_of(from_bits(0x7f7f8000u)) == 0x7f80);  // tie with odd 0x7f7f: up, to inf
  CHECK(bits_of(std::numeric_limits<float>::max()) == 0x7f80);
  CHECK(bits_of(-std::numeric_limits<float>::max()) == 0xff80);
  // subnormals are rounded, not flushed
  CHECK(bits_of(from_bits(0x00000001u)) == 0x0000);
  CHECK(bits_of(from_bits(0x00008000u)) == 0x0000);  // tie with even 0: down
  CHECK(bits_of(from_bits(0x00008001u)) == 0x0001);
  CHECK(bits_of(from_bits(0x00018000u)) == 0x0002);  // tie with odd 1: up
  CHECK(bits_of(from_bits(0x80010000u)) == 0x8001);
  CHECK(to_float(bf16{0x0001}) == std::ldexp(1.0f, -133));
  CHECK(bits_of(from_bits(0x007fffffu)) == 0x0080);  // largest subnormal rounds up to the smallest normal
}

TEST_CASE("bf16: bulk conversion equals the scalar one, specials included") {
  Rng rng(7);
  std::vector<float> in = random_vector(1000, rng);
  const std::uint32_t specials[] = {0x7f800001u, 0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f7fffffu,
                                    0x00008000u, 0x00018000u, 0x80000000u, 0x3f808000u, 0x3f818000u};
  for (std::size_t i = 0; i < std::size(specials); ++i) in[i * 37] = from_bits(specials[i]);
  for (index_t n : {index_t(0), index_t(1), index_t(15), index_t(16), index_t(17), index_t(1000)}) {
    std::vector<bf16> out(static_cast<std::size_t>(n) + 1, bf16{0x1234});
    convert_to_bf16(out.data(), in.data(), n);
    for (index_t i = 0; i < n; ++i) REQUIRE(out[std::size_t(i)].bits == bits_of(in[std::size_t(i)]));
    CHECK(out[std::size_t(n)].bits == 0x1234);  // nothing written past n
  }
}

TEST_CASE("bf16: cpu check and backend switch through VHMN_BF16") {
  const bool has = cpu_has_avx512_bf16();
  CHECK(has == cpu_has_avx512_bf16());  // cached, stable
  with_backend(Bf16Backend::Emulated, [] {
    CHECK(ops::bf16_backend() == Bf16Backend::Emulated);
    CHECK(std::string(ops::bf16_backend_name()) == "emulated");
  });
  with_backend(Bf16Backend::Native, [&] {
#if defined(VHMN_BF16_NATIVE_BUILD) && VHMN_BF16_NATIVE_BUILD
    // this build contains the kernel: it is used exactly when the CPU has it
    CHECK((ops::bf16_backend() == Bf16Backend::Native) == has);
#else
    CHECK(ops::bf16_backend() == Bf16Backend::Emulated);
#endif
  });
}

TEST_CASE("bf16: a VHMN_BF16 value other than emulate/native is an error naming the variable") {
  setenv("VHMN_BF16", "fast", 1);
  CHECK_THROWS_WITH_AS(ops::bf16_backend(), doctest::Contains("VHMN_BF16: expected 'emulate' or 'native', got 'fast'"),
                       Error);
  unsetenv("VHMN_BF16");
}

TEST_CASE("gemm_bf16: all transposes, odd shapes, alpha, accumulate, against double of the rounded operands") {
  Rng rng(11);
  for (Bf16Backend be : backends()) {
    with_backend(be, [&] {
      for (const Dims& s : kShapes)
        for (Trans ta : {Trans::No, Trans::Yes})
          for (Trans tb : {Trans::No, Trans::Yes})
            for (bool accumulate : {false, true}) {
              const float alpha = accumulate ? -0.75f : 1.0f;
              const auto a = random_vector(s.M * s.K, rng), b = random_vector(s.K * s.N, rng);
              const auto c0 = random_vector(s.M * s.N, rng);
              auto c = c0, cs = c0;
              ops::gemm_bf16(c.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, alpha, accumulate);
              check_product(c, c0, a, b, s.M, s.N, s.K, ta, tb, alpha, accumulate);
              ops::gemm_bf16_serial(cs.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, alpha, accumulate);
              check_product(cs, c0, a, b, s.M, s.N, s.K, ta, tb, alpha, accumulate);
            }
    });
  }
}

TEST_CASE("gemm_bf16: K = 0 zeroes or keeps C; M or N = 0 writes nothing") {
  for (Bf16Backend be : backends())
    with_backend(be, [&] {
      std::vector<float> c(12, 3.f), a(1, 1.f), b(1, 1.f);
      ops::gemm_bf16(c.data(), a.data(), b.data(), 3, 4, 0, Trans::No, Trans::No, 2.f, true);
      for (float x : c) CHECK(x == 3.f);
      ops::gemm_bf16_serial(c.data(), a.data(), b.data(), 3, 4, 0, Trans::No, Trans::Yes);
      for (float x : c) CHECK(x == 0.f);
      std::vector<float> d(4, 5.f);
      ops::gemm_bf16(d.data(), a.data(), b.data(), 0, 4, 3, Trans::No, Trans::No);
      ops::gemm_bf16(d.data(), a.data(), b.data(), 4, 0, 3, Trans::No, Trans::No);
      for (float x : d) CHECK(x == 5.f);
      ops::Bf16PackedB pb;
      pb.pack(b.data(), 0, 4, Trans::No);
      ops::gemm_bf16(c.data(), a.data(), pb, 3, Trans::No);
      for (float x : c) CHECK(x == 0.f);
    });
}

TEST_CASE("gemm_bf16: exact where bf16 operands make every sum exact") {
  // small integers are exact in bf16 and their products and sums in fp32
  const index_t M = 19, N = 37, K = 45;
  std::vector<float> a(M * K), b(K * N);
  for (index_t i = 0; i < M * K; ++i) a[std::size_t(i)] = float(i % 7 - 3);
  for (index_t i = 0; i < K * N; ++i) b[std::size_t(i)] = float(i % 5 - 2);
  for (Bf16Backend be : backends())
    with_backend(be, [&] {
      std::vector<float> c(M * N);
      ops::gemm_bf16(c.data(), a.data(), b.data(), M, N, K, Trans::No, Trans::No, 0.5f);
      for (index_t i = 0; i < M; ++i)
        for (index_t j = 0; j < N; ++j) {
          double want = 0;
          for (index_t k = 0; k < K; ++k) want += double(a[std::size_t(i * K + k)]) * double(b[std::size_t(k * N + j)]);
          REQUIRE(c[std::size_t(i * N + j)] == float(0.5 * want));
        }
    });
}

TEST_CASE("gemm_bf16: native and emulated agree; bit-identical for 1 and 2 threads; packed B equals plain B") {
  Rng rng(5);
  const auto bes = backends();
  const int threads = num_threads();
  for (const Dims& s : {Dims{300, 700, 129}, Dims{257, 1100, 64}, Dims{64, 2500, 96}, Dims{1024, 96, 513}}) {
    for (Trans ta : {Trans::No, Trans::Yes})
      for (Trans tb : {Trans::No, Trans::Yes}) {
        const auto a = random_vector(s.M * s.K, rng), b = random_vector(s.K * s.N, rng);
        std::vector<std::vector<float>> results;
        for (Bf16Backend be : bes)
          with_backend(be, [&] {
            std::vector<float> c1(s.M * s.N), c2(s.M * s.N), cp(s.M * s.N), cps(s.M * s.N);
            set_num_threads(1);
            ops::gemm_bf16(c1.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f);
            set_num_threads(2);
            ops::gemm_bf16(c2.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f);
            ops::Bf16PackedB pb;
            pb.pack(b.data(), s.K, s.N, tb);
            CHECK(pb.backend() == be);
            ops::gemm_bf16(cp.data(), a.data(), pb, s.M, ta, 0.5f);
            ops::gemm_bf16_serial(cps.data(), a.data(), pb, s.M, ta, 0.5f);
            CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(c1.data(), cp.data(), c1.size() * sizeof(float)) == 0);
            check_product(c1, c1, a, b, s.M, s.N, s.K, ta, tb, 0.5f, false);
            // gemm_serial is one tile; the native kernel's sums do not depend on the tiling at all
            if (be == Bf16Backend::Native)
              CHECK(std::memcmp(c1.data(), cps.data(), c1.size() * sizeof(float)) == 0);
            else
              check_product(cps, c1, a, b, s.M, s.N, s.K, ta, tb, 0.5f, false);
            results.push_back(c1);
          });
        for (std::size_t r = 1; r < results.size(); ++r)
          check_product(results[r], results[0], a, b, s.M, s.N, s.K, ta, tb, 0.5f, false, &results[0]);
      }
  }
  set_num_threads(threads);
}

namespace {
// The native kernel's result, element by element, from the order of its fp32
// sums: per K block of kp pairs (pairs [kp kb / n, kp (kb + 1) / n), n =
// ceil(kp / 192)), acc = 0 and per pair acc += a_hi b_hi, acc += a_lo b_lo
// (vdpbf16ps: each step rounded to nearest; the products are exact); then
// C = fma(alpha, acc, C) (C = 0 before the first block unless accumulating).
std::vector<float> native_order_reference(const std::vector<float>& a, const std::vector<float>& b,
                                          const std::vector<float>& c0, index_t M, index_t N, index_t K, Trans ta,
                                          Trans tb, float alpha, bool accumulate) {
  const index_t kp = (K + 1) / 2, kblocks = (kp + 191) / 192;
  std::vector<float> c(static_cast<std::size_t>(M * N));
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      float out = accumulate ? c0[static_cast<std::size_t>(i * N + j)] : 0.f;
      for (index_t kb = 0; kb < kblocks; ++kb) {
        float acc = 0.f;
        for (index_t p = kp * kb / kblocks; p < kp * (kb + 1) / kblocks; ++p) {
          const index_t lo = 2 * p, hi = 2 * p + 1;
          const float a_hi = hi < K ? round_to_bf16(at(a, ta, i, hi, M, K)) : 0.f;
          const float b_hi = hi < K ? round_to_bf16(at(b, tb, hi, j, K, N)) : 0.f;
          acc = acc + a_hi * b_hi;
          acc = acc + round_to_bf16(at(a, ta, i, lo, M, K)) * round_to_bf16(at(b, tb, lo, j, K, N));
        }
        out = std::fma(alpha, acc, out);
      }
      c[static_cast<std::size_t>(i * N + j)] = out;
    }
  return c;
}
bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}
std::vector<bf16> to_bf16_vector(const std::vector<float>& x) {
  std::vector<bf16> out(x.size());
  convert_to_bf16(out.data(), x.data(), static_cast<index_t>(x.size()));
  return out;
}
}  // namespace

TEST_CASE("gemm_bf16: B packed per K block gives the native kernel's sums exactly, across every block edge") {
  // microkernel 6 x 64, K blocks of <= 192 pairs (384 elements), A blocks of 256 rows, tiles of
  // 256 rows: M, N, K not multiples of those, K odd, 1 to 11 K blocks, 1 and 2 threads
  bool native = false;
  with_backend(Bf16Backend::Native, [&] { native = ops::bf16_backend() == Bf16Backend::Native; });
  if (!native) {
    MESSAGE("no native AVX512-BF16 kernel on this machine/build: skipped");
    return;
  }
  Rng rng(17);
  const int threads = num_threads();
  const Dims shapes[] = {{263, 130, 1155}, {7, 65, 385}, {517, 63, 769}, {1, 1, 4099}, {300, 200, 383},
                         {13, 1100, 387}, {6, 64, 384}, {70, 3, 4097}, {37, 1100, 1540}};  // the last: B packed per K block
  with_backend(Bf16Backend::Native, [&] {
    for (const Dims& s : shapes)
      for (Trans ta : {Trans::No, Trans::Yes})
        for (Trans tb : {Trans::No, Trans::Yes}) {
          const bool accumulate = ta != tb;
          const float alpha = accumulate ? -0.75f : 1.0f;
          const auto a = random_vector(s.M * s.K, rng), b = random_vector(s.K * s.N, rng);
          const auto c0 = random_vector(s.M * s.N, rng);
          const auto want = native_order_reference(a, b, c0, s.M, s.N, s.K, ta, tb, alpha, accumulate);
          for (int t : {1, 2}) {
            set_num_threads(t);
            auto c = c0, cs = c0, cp = c0;
            ops::gemm_bf16(c.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, alpha, accumulate);
            ops::gemm_bf16_serial(cs.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, alpha, accumulate);
            ops::Bf16PackedB pb;
            pb.pack(b.data(), s.K, s.N, tb);
            ops::gemm_bf16(cp.data(), a.data(), pb, s.M, ta, alpha, accumulate);
            CHECK_MESSAGE(same_bits(c, want), "M=" << s.M << " N=" << s.N << " K=" << s.K << " ta=" << int(ta)
                                                   << " tb=" << int(tb) << " threads=" << t);
            CHECK(same_bits(cs, want));
            CHECK(same_bits(cp, want));
          }
        }
  });
  set_num_threads(threads);
}

#if defined(VHMN_BF16_NATIVE_BUILD) && VHMN_BF16_NATIVE_BUILD
TEST_CASE("gemm_bf16: the native kernel's B buffer is bounded by one K block, not by K") {
  bool native = false;
  with_backend(Bf16Backend::Native, [&] { native = ops::bf16_backend() == Bf16Backend::Native; });
  if (!native) {
    MESSAGE("this CPU has no AVX512-BF16: skipped");
    return;
  }
  // a weight gradient's shape: dW (L x I) = dy^T x, K = the batch's rows
  Rng rng(3);
  const index_t M = 40, N = 1152, K = 4096;
  const auto a = random_vector(K * M, rng), b = random_vector(K * N, rng);
  std::vector<float> c(M * N), cp(M * N);
  with_backend(Bf16Backend::Native, [&] {
    auto& ws = ops::detail::bf16_native_workspace();
    ws.b = {};  // this thread's buffer as a fresh thread has it
    ops::gemm_bf16(c.data(), a.data(), b.data(), M, N, K, Trans::Yes, Trans::No);
    // 18 panels of 64 columns x at most 192 pairs (was 18 x 2048: all of K)
    CHECK(ws.b.size() <= std::size_t(18 * 192 * 64));
    CHECK(ws.b.size() >= std::size_t(18 * 187 * 64));
    ops::Bf16PackedB pb;
    pb.pack(b.data(), K, N, Trans::No);
    ops::gemm_bf16(cp.data(), a.data(), pb, M, Trans::Yes);
    CHECK(same_bits(c, cp));
  });
}
#endif

TEST_CASE("gemm_bf16: operands given as bf16 give the bits of their floats, every backend and layout") {
  Rng rng(23);
  for (Bf16Backend be : backends())
    with_backend(be, [&] {
      for (const Dims& s : {Dims{37, 70, 129}, Dims{300, 65, 387}, Dims{5, 3, 1}})
        for (Trans ta : {Trans::No, Trans::Yes})
          for (Trans tb : {Trans::No, Trans::Yes}) {
            const auto a = random_vector(s.M * s.K, rng), b = random_vector(s.K * s.N, rng);
            const auto a16 = to_bf16_vector(a), b16 = to_bf16_vector(b);
            const auto c0 = random_vector(s.M * s.N, rng);
            auto want = c0, ab = c0, fb = c0, bf = c0, bs = c0, pf = c0, pb16 = c0;
            ops::gemm_bf16(want.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            ops::gemm_bf16(ab.data(), a16.data(), b16.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            ops::gemm_bf16(fb.data(), a.data(), b16.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            ops::gemm_bf16(bf.data(), a16.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            CHECK(same_bits(ab, want));
            CHECK(same_bits(fb, want));
            CHECK(same_bits(bf, want));
            auto ws = c0;
            ops::gemm_bf16_serial(ws.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            ops::gemm_bf16_serial(bs.data(), a16.data(), b16.data(), s.M, s.N, s.K, ta, tb, 0.5f, true);
            CHECK(same_bits(bs, ws));
            ops::Bf16PackedB from_float, from_bf16;
            from_float.pack(b.data(), s.K, s.N, tb);
            from_bf16.pack(b16.data(), s.K, s.N, tb);
            ops::gemm_bf16(pf.data(), a.data(), from_float, s.M, ta, 0.5f, true);
            ops::gemm_bf16(pb16.data(), a16.data(), from_bf16, s.M, ta, 0.5f, true);
            CHECK(same_bits(pb16, pf));
          }
    });
}

TEST_CASE("gemm_bf16: a row-major bf16 A read in place gives the bits of the converted one") {
  // Even K and a 4-byte aligned A: full row panels are read where A lies, the last partial panel
  // (rows % 6) is copied. Odd K or an A at an odd bf16 offset take the copying path: same bits.
  Rng rng(31);
  for (Bf16Backend be : backends())
    with_backend(be, [&] {
      for (const Dims& s : {Dims{37, 70, 130}, Dims{263, 130, 1156}, Dims{6, 64, 2}, Dims{517, 63, 770}, Dims{5, 3, 131}})
        for (Trans tb : {Trans::No, Trans::Yes}) {
          const auto a = random_vector(s.M * s.K, rng), b = random_vector(s.K * s.N, rng);
          std::vector<bf16> a16(static_cast<std::size_t>(s.M * s.K) + 1);  // a16[1..]: A at an odd offset
          convert_to_bf16(a16.data(), a.data(), s.M * s.K);
          const auto c0 = random_vector(s.M * s.N, rng);
          auto want = c0, in_place = c0, shifted = c0, packed = c0, serial = c0, serial_want = c0;
          ops::gemm_bf16(want.data(), a.data(), b.data(), s.M, s.N, s.K, Trans::No, tb, 0.5f, true);
          ops::gemm_bf16(in_place.data(), a16.data(), b.data(), s.M, s.N, s.K, Trans::No, tb, 0.5f, true);
          ops::gemm_bf16_serial(serial.data(), a16.data(), b.data(), s.M, s.N, s.K, Trans::No, tb, 0.5f, true);
          ops::gemm_bf16_serial(serial_want.data(), a.data(), b.data(), s.M, s.N, s.K, Trans::No, tb, 0.5f, true);
          ops::Bf16PackedB pb;
          pb.pack(b.data(), s.K, s.N, tb);
          ops::gemm_bf16(packed.data(), a16.data(), pb, s.M, Trans::No, 0.5f, true);
          std::memmove(a16.data() + 1, a16.data(), static_cast<std::size_t>(s.M * s.K) * sizeof(bf16));
          ops::gemm_bf16(shifted.data(), a16.data() + 1, b.data(), s.M, s.N, s.K, Trans::No, tb, 0.5f, true);
          CHECK_MESSAGE(same_bits(in_place, want), "M=" << s.M << " N=" << s.N << " K=" << s.K);
          CHECK(same_bits(serial, serial_want));  // the emulation's serial tiles may sum in another order
          CHECK(same_bits(packed, want));
          CHECK(same_bits(shifted, want));
        }
    });
}

TEST_CASE("retrieval in bf16: the fused tiles give the bits of the products taken one row at a time") {
  // Scores, softmax and weighted sum per tile of rows, with and without kept weights, against the
  // same three steps row by row. Native kernel only: its sums depend on K alone, so one row at a
  // time is the same order as a tile.
  bool native = false;
  with_backend(Bf16Backend::Native, [&] { native = ops::bf16_backend() == Bf16Backend::Native; });
  if (!native) {
    MESSAGE("no native AVX512-BF16 kernel on this machine/build: skipped");
    return;
  }
  Rng rng(37);
  with_backend(Bf16Backend::Native, [&] {
    for (index_t S : {index_t(2), index_t(100), index_t(501), index_t(1250)}) {
      const index_t R = 300, L = 24;
      const float tau = 4.9f;
      const auto z = random_vector(R * L, rng), mem = random_vector(S * L, rng);
      std::vector<float> mem_hat(static_cast<std::size_t>(S * L));
      ops::normalize_rows(mem_hat.data(), static_cast<float*>(nullptr), mem.data(), S, L);
      const ops::SlotView<float> view{mem.data(), mem_hat.data(), S};
      std::vector<float> m(R * L), m_attn(R * L), attn(R * S), zh(R * L), norm(R), want(R * L), s(S);
      ops::retrieval_forward(m.data(), static_cast<float*>(nullptr), zh.data(), norm.data(), z.data(), view, tau, R, L,
                             Precision::BF16);
      ops::retrieval_forward(m_attn.data(), attn.data(), zh.data(), norm.data(), z.data(), view, tau, R, L,
                             Precision::BF16);
      for (index_t r = 0; r < R; ++r) {
        ops::gemm_bf16_serial(s.data(), zh.data() + r * L, mem_hat.data(), 1, S, L, Trans::No, Trans::Yes, tau);
        ops::softmax_inplace(s.data(), S);
        ops::gemm_bf16_serial(want.data() + r * L, s.data(), mem.data(), 1, L, S, Trans::No, Trans::No);
      }
      CHECK_MESSAGE(same_bits(m, want), "S=" << S);
      CHECK_MESSAGE(same_bits(m_attn, want), "S=" << S);
    }
  });
}

TEST_CASE("bf16: convert_to_bf16_fast equals convert_to_bf16, specials and tails included") {
  Rng rng(29);
  std::vector<float> in = random_vector(1000, rng);
  const std::uint32_t specials[] = {0x7f800001u, 0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x00008000u,
                                    0x00018000u, 0x80000000u, 0x3f808000u, 0x3f818000u, 0xff800001u, 0x007fffffu};
  for (std::size_t i = 0; i < std::size(specials); ++i) in[i * 37 + 1] = from_bits(specials[i]);
  for (index_t n : {index_t(0), index_t(1), index_t(15), index_t(16), index_t(17), index_t(999)}) {
    std::vector<bf16> fast(static_cast<std::size_t>(n) + 1, bf16{0x1234}), slow(static_cast<std::size_t>(n) + 1);
    ops::convert_to_bf16_fast(fast.data(), in.data() + 1, n);
    convert_to_bf16(slow.data(), in.data() + 1, n);
    for (index_t i = 0; i < n; ++i) REQUIRE(fast[std::size_t(i)].bits == slow[std::size_t(i)].bits);
    CHECK(fast[std::size_t(n)].bits == 0x1234);  // nothing written past n
  }
}
