// bench/gemm.cpp — the machine's single-precision GEMM peak, and vhmn's GEMM
// on the products of the model (built as bench_gemm; not a test).
//
//   bench_gemm [--n 2048] [--threads T] [--repeats R] [--shapes] [--json]
//
// Peak: a square n x n x n float product, timed (median of R after one
// warm-up) three ways: vhmn::ops::gemm on T threads (the tiled wrapper the
// model uses), one single-threaded Eigen product, and vhmn::ops::gemm on one
// thread. GFLOP/s counts 2 n^3 flops. --shapes also times the products of a
// cifar-small / paper-cifar training step at batch 64 (B*N = 4096 rows).
// Ceiling: fused multiply-adds on registers only (12 independent xsimd
// accumulators per thread, no memory traffic), on T threads: the most FP32
// arithmetic the cores can do at all, which no GEMM exceeds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <vhmn/vhmn.hpp>

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double median_seconds(int repeats, F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<float> random_matrix(vhmn::index_t n, vhmn::Rng& rng) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1, 1));
  return v;
}

// FP32 flops per second of register-only FMAs on `threads` threads.
double fma_ceiling_gflops(int threads, int repeats) {
#if VHMN_HAS_SIMD
  using Batch = vhmn::simd::batch<float>;
#else
  using Batch = float;
#endif
  constexpr int kAcc = 12;  // enough independent chains to cover FMA latency
  const long iters = 50'000'000;
  std::vector<float> sink(static_cast<std::size_t>(threads), 0.0f);
  const double t = median_seconds(repeats, [&] {
    vhmn::parallel_for(threads, threads > 1, [&](vhmn::index_t rank) {
      Batch acc[kAcc];
      for (int i = 0; i < kAcc; ++i) acc[i] = Batch(0.001f * float(i + rank));
      const Batch a(0.999999f), b(1e-7f);
      for (long k = 0; k < iters; ++k)
        for (int i = 0; i < kAcc; ++i) {
#if VHMN_HAS_SIMD
          acc[i] = xsimd::fma(acc[i], a, b);
#else
          acc[i] = std::fma(acc[i], a, b);
#endif
        }
      Batch total = acc[0];
      for (int i = 1; i < kAcc; ++i) total = total + acc[i];
#if VHMN_HAS_SIMD
      sink[static_cast<std::size_t>(rank)] = xsimd::hadd(total);
#else
      sink[static_cast<std::size_t>(rank)] = total;
#endif
    });
  });
  // Every thread's result is read, so no thread's loop can be optimised away.
  volatile float keep = std::accumulate(sink.begin(), sink.end(), 0.0f);
  (void)keep;
  const double lanes = static_cast<double>(sizeof(Batch) / sizeof(float));
  return 2.0 * lanes * kAcc * double(iters) * threads / t / 1e9;
}

struct Shape {
  const char* what;
  vhmn::index_t M, N, K;
  vhmn::ops::Trans ta, tb;
};

}  // namespace

int main(int argc, char** argv) {
  using vhmn::index_t;
  using vhmn::ops::Trans;
  index_t n = 2048;
  int threads = 0, repeats = 5;
  bool json = false, shapes = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") n = std::atoll(next());
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--repeats") repeats = std::max(1, std::atoi(next()));
    else if (a == "--json") json = true;
    else if (a == "--shapes") shapes = true;
    else {
      std::fprintf(stderr, "usage: bench_gemm [--n N] [--threads T] [--repeats R] [--shapes] [--json]\n");
      return 2;
    }
  }
  vhmn::set_num_threads(threads);
  threads = vhmn::num_threads();
  vhmn::Rng rng(1);
  const auto A = random_matrix(n * n, rng), B = random_matrix(n * n, rng);
  std::vector<float> C(static_cast<std::size_t>(n * n));
  const double flops = 2.0 * double(n) * double(n) * double(n);

  const double t_vhmn = median_seconds(repeats, [&] {
    vhmn::ops::gemm(C.data(), A.data(), B.data(), n, n, n, Trans::No, Trans::No);
  });
  vhmn::set_num_threads(1);
  const double t_vhmn1 = median_seconds(repeats, [&] {
    vhmn::ops::gemm(C.data(), A.data(), B.data(), n, n, n, Trans::No, Trans::No);
  });
  vhmn::ops::ConstMatMap<float> Am(A.data(), n, n), Bm(B.data(), n, n);
  vhmn::ops::MatMap<float> Cm(C.data(), n, n);
  const double t_eigen1 = median_seconds(repeats, [&] { Cm.noalias() = Am * Bm; });
  vhmn::set_num_threads(threads);

  const double fma_peak = fma_ceiling_gflops(threads, repeats);

  vhmn::io::Json out = vhmn::io::Json::object();
  out.set("kind", "gemm");
  out.set("n", static_cast<double>(n));
  out.set("threads", threads);
  out.set("gemm_gflops", flops / t_vhmn / 1e9);
  out.set("gemm_gflops_1thread", flops / t_vhmn1 / 1e9);
  out.set("eigen_gflops_1thread", flops / t_eigen1 / 1e9);
  out.set("fma_ceiling_gflops", fma_peak);

  if (shapes) {
    // The products of one HMN block's forward and backward, B*N = 4096 rows.
    vhmn::io::Json list = vhmn::io::Json::array();
    const index_t R = 4096;
    for (const char* cfg : {"cifar-small", "paper-cifar"}) {
      const auto c = vhmn::ModelConfig::preset(cfg);
      const index_t D = c.dim, L = c.latent, S = c.local_slots, kk = c.window * c.window, H = c.hidden();
      const std::vector<Shape> list_shapes = {
          {"query fwd", R, L, D * kk, Trans::No, Trans::Yes},
          {"query bwd dx", R, D * kk, L, Trans::No, Trans::No},
          {"query bwd dW", L, D * kk, R, Trans::Yes, Trans::No},
          {"scores", R, S, L, Trans::No, Trans::Yes},
          {"weighted sum", R, L, S, Trans::No, Trans::No},
          {"mlp fc1 fwd", R, H, D, Trans::No, Trans::Yes},
          {"mlp fc1 bwd dW", H, D, R, Trans::Yes, Trans::No},
      };
      for (const Shape& s : list_shapes) {
        const auto a = random_matrix(s.M * s.K, rng), b = random_matrix(s.K * s.N, rng);
        std::vector<float> c2(static_cast<std::size_t>(s.M * s.N));
        const double t = median_seconds(repeats, [&] {
          vhmn::ops::gemm(c2.data(), a.data(), b.data(), s.M, s.N, s.K, s.ta, s.tb);
        });
        vhmn::io::Json e = vhmn::io::Json::object();
        e.set("config", cfg);
        e.set("op", s.what);
        e.set("M", static_cast<double>(s.M));
        e.set("N", static_cast<double>(s.N));
        e.set("K", static_cast<double>(s.K));
        e.set("gflops", 2.0 * double(s.M) * double(s.N) * double(s.K) / t / 1e9);
        list.push_back(e);
      }
    }
    out.set("shapes", list);
  }

  if (json) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("single-precision GEMM, n = %lld, median of %d\n", static_cast<long long>(n), repeats);
  std::printf("  vhmn::ops::gemm, %d threads : %8.1f GFLOP/s\n", threads, flops / t_vhmn / 1e9);
  std::printf("  vhmn::ops::gemm, 1 thread   : %8.1f GFLOP/s\n", flops / t_vhmn1 / 1e9);
  std::printf("  Eigen product,   1 thread   : %8.1f GFLOP/s\n", flops / t_eigen1 / 1e9);
  std::printf("FMA ceiling (registers only), %d threads : %8.1f GFLOP/s\n", threads, fma_peak);
  if (shapes)
    for (const auto& e : out.at("shapes").as_array())
      std::printf("  %-12s %-14s %5.0f x %5.0f x %5.0f : %8.1f GFLOP/s\n", e.at("config").as_string().c_str(),
                  e.at("op").as_string().c_str(), e.at("M").as_double(), e.at("N").as_double(), e.at("K").as_double(),
                  e.at("gflops").as_double());
  return 0;
}
