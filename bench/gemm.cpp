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
// bf16 (ops/gemm_bf16.hpp): the same for vdpbf16ps (16 independent
// accumulators: 12 do not cover its latency on Zen 4; 64 flops each), the
// n^3 product through ops::gemm_bf16 (A and B converted on every call) and
// with B converted once (Bf16PackedB), and per shape the fp32 and bf16
// GFLOP/s side by side; "tiles64" rows time the retrieval pattern (64-row
// tiles on threads, each a gemm_bf16_serial against the same bank). Built
// with -DVHMN_BENCH_DNNL=ON also oneDNN's bf16 matmul on the same shapes
// (operands already bf16, primitive created outside the timing).
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

#if defined(VHMN_BENCH_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif

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

#if VHMN_BF16_NATIVE_BUILD
VHMN_BF16_TARGET float bf16_register_loop(long iters, float seed) {
  constexpr int kAcc = 16;
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(seed * float(i + 1));
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  for (long k = 0; k < iters; ++k)
    VHMN_BF16_UNROLL
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  __m512 total = acc[0];
  for (int i = 1; i < kAcc; ++i) total = _mm512_add_ps(total, acc[i]);
  return _mm512_reduce_add_ps(total);
}
#endif

// bf16 flops per second of register-only vdpbf16ps on `threads` threads
// (0 where the CPU or the build has no AVX512-BF16).
double bf16_ceiling_gflops(int threads, int repeats) {
#if VHMN_BF16_NATIVE_BUILD
  if (!vhmn::cpu_has_avx512_bf16()) return 0;
  constexpr int kAcc = 16;
  const long iters = 50'000'000;
  std::vector<float> sink(static_cast<std::size_t>(threads), 0.0f);
  const double t = median_seconds(repeats, [&] {
    vhmn::parallel_for(threads, threads > 1, [&](vhmn::index_t rank) {
      sink[static_cast<std::size_t>(rank)] = bf16_register_loop(iters, 0.001f * float(rank + 1));
    });
  });
  volatile float keep = std::accumulate(sink.begin(), sink.end(), 0.0f);  // every thread's result is read
  (void)keep;
  return 64.0 * kAcc * double(iters) * threads / t / 1e9;
#else
  (void)threads;
  (void)repeats;
  return 0;
#endif
}

#if defined(VHMN_BENCH_DNNL)
// Seconds of oneDNN's bf16 x bf16 -> f32 matmul, median of `repeats`.
double dnnl_bf16_seconds(vhmn::index_t M, vhmn::index_t N, vhmn::index_t K, vhmn::ops::Trans ta,
                         vhmn::ops::Trans tb, int repeats) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  static engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::desc a_md({M, K}, dt::bf16, ta == vhmn::ops::Trans::No ? tag::ab : tag::ba);
  const memory::desc b_md({K, N}, dt::bf16, tb == vhmn::ops::Trans::No ? tag::ab : tag::ba);
  const memory::desc c_md({M, N}, dt::f32, tag::ab);
  const matmul prim(matmul::primitive_desc(matmul::desc(a_md, b_md, c_md), eng));  // oneDNN 2.x API
  memory a(a_md, eng), b(b_md, eng), c(c_md, eng);
  auto fill = [](memory& m, std::size_t n) {
    auto* p = static_cast<std::uint16_t*>(m.get_data_handle());
    for (std::size_t i = 0; i < n; ++i) p[i] = vhmn::to_bf16(float(int(i % 13) - 6) / 8.f).bits;
  };
  fill(a, std::size_t(M * K));
  fill(b, std::size_t(K * N));
  return median_seconds(repeats, [&] {
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    strm.wait();
  });
}
#endif

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
  const double bf16_peak = bf16_ceiling_gflops(threads, repeats);

  // bf16: A and B converted on every call; then B converted once (Bf16PackedB)
  const double t_bf16 = median_seconds(repeats, [&] {
    vhmn::ops::gemm_bf16(C.data(), A.data(), B.data(), n, n, n, Trans::No, Trans::No);
  });
  vhmn::ops::Bf16PackedB Bp;
  Bp.pack(B.data(), n, n, Trans::No);
  const double t_bf16p = median_seconds(repeats, [&] { vhmn::ops::gemm_bf16(C.data(), A.data(), Bp, n, Trans::No); });
  vhmn::set_num_threads(1);
  const double t_bf16p1 = median_seconds(repeats, [&] { vhmn::ops::gemm_bf16(C.data(), A.data(), Bp, n, Trans::No); });
  vhmn::set_num_threads(threads);
#if defined(VHMN_BENCH_DNNL)
  const double t_dnnl = dnnl_bf16_seconds(n, n, n, Trans::No, Trans::No, repeats);
#endif

  vhmn::io::Json out = vhmn::io::Json::object();
  out.set("kind", "gemm");
  out.set("n", static_cast<double>(n));
  out.set("threads", threads);
  out.set("gemm_gflops", flops / t_vhmn / 1e9);
  out.set("gemm_gflops_1thread", flops / t_vhmn1 / 1e9);
  out.set("eigen_gflops_1thread", flops / t_eigen1 / 1e9);
  out.set("fma_ceiling_gflops", fma_peak);
  out.set("bf16_backend", vhmn::ops::bf16_backend_name());
  out.set("bf16_ceiling_gflops", bf16_peak);
  out.set("bf16_gemm_gflops", flops / t_bf16 / 1e9);
  out.set("bf16_gemm_packed_gflops", flops / t_bf16p / 1e9);
  out.set("bf16_gemm_packed_gflops_1thread", flops / t_bf16p1 / 1e9);
#if defined(VHMN_BENCH_DNNL)
  out.set("dnnl_bf16_gflops", flops / t_dnnl / 1e9);
#endif

  if (shapes) {
    // The products of one HMN block's forward and backward, B*N = 4096 rows.
    vhmn::io::Json list = vhmn::io::Json::array();
    const index_t R = 4096;
    for (const char* cfg : {"cifar-small", "paper-cifar"}) {
      const auto c = vhmn::ModelConfig::preset(cfg);
      const index_t D = c.dim, L = c.latent, S = c.local_slots, kk = c.window * c.window, H = c.hidden();
      const index_t P = c.channels * c.patch * c.patch;
      const std::vector<Shape> list_shapes = {
          {"patch embed", R, D, P, Trans::No, Trans::Yes},
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
        const double fl = 2.0 * double(s.M) * double(s.N) * double(s.K);
        const double t = median_seconds(repeats, [&] {
          vhmn::ops::gemm(c2.data(), a.data(), b.data(), s.M, s.N, s.K, s.ta, s.tb);
        });
        const double tb16 = median_seconds(repeats, [&] {
          vhmn::ops::gemm_bf16(c2.data(), a.data(), b.data(), s.M, s.N, s.K, s.ta, s.tb);
        });
        vhmn::ops::Bf16PackedB pb;
        pb.pack(b.data(), s.K, s.N, s.tb);
        const double tpk = median_seconds(repeats, [&] { vhmn::ops::gemm_bf16(c2.data(), a.data(), pb, s.M, s.ta); });
        vhmn::io::Json e = vhmn::io::Json::object();
        e.set("config", cfg);
        e.set("op", s.what);
        e.set("M", static_cast<double>(s.M));
        e.set("N", static_cast<double>(s.N));
        e.set("K", static_cast<double>(s.K));
        e.set("gflops", fl / t / 1e9);
        e.set("bf16_gflops", fl / tb16 / 1e9);
        e.set("bf16_packed_gflops", fl / tpk / 1e9);
#if defined(VHMN_BENCH_DNNL)
        e.set("dnnl_bf16_gflops", fl / dnnl_bf16_seconds(s.M, s.N, s.K, s.ta, s.tb, repeats) / 1e9);
#endif
        list.push_back(e);
        // retrieval's pattern: 64-row tiles on threads against one bank (ops/retrieval.hpp)
        if (s.ta == Trans::No && (s.N == S || s.K == S)) {
          constexpr index_t kTile = 64;
          const index_t tiles = s.M / kTile;
          auto tiled = [&](auto&& product) {
            return median_seconds(repeats, [&] {
              vhmn::parallel_for(tiles, true, [&](index_t i) { product(i * kTile); });
            });
          };
          const double tf = tiled([&](index_t r0) {
            vhmn::ops::gemm_serial(c2.data() + r0 * s.N, a.data() + r0 * s.K, b.data(), kTile, s.N, s.K, s.ta, s.tb);
          });
          const double tr = tiled([&](index_t r0) {
            vhmn::ops::gemm_bf16_serial(c2.data() + r0 * s.N, a.data() + r0 * s.K, b.data(), kTile, s.N, s.K, s.ta,
                                        s.tb);
          });
          const double tp = tiled([&](index_t r0) {
            vhmn::ops::gemm_bf16_serial(c2.data() + r0 * s.N, a.data() + r0 * s.K, pb, kTile, s.ta);
          });
          vhmn::io::Json t64 = vhmn::io::Json::object();
          t64.set("config", cfg);
          t64.set("op", std::string(s.what) + " tiles64");
          t64.set("M", static_cast<double>(s.M));
          t64.set("N", static_cast<double>(s.N));
          t64.set("K", static_cast<double>(s.K));
          t64.set("gflops", fl / tf / 1e9);
          t64.set("bf16_gflops", fl / tr / 1e9);
          t64.set("bf16_packed_gflops", fl / tp / 1e9);
          list.push_back(t64);
        }
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
  std::printf("bf16 (backend %s), n = %lld\n", vhmn::ops::bf16_backend_name(), static_cast<long long>(n));
  std::printf("  vdpbf16ps ceiling (registers only), %d threads : %8.1f GFLOP/s\n", threads, bf16_peak);
  std::printf("  vhmn::ops::gemm_bf16, %d threads           : %8.1f GFLOP/s\n", threads, flops / t_bf16 / 1e9);
  std::printf("  gemm_bf16 with Bf16PackedB, %d threads     : %8.1f GFLOP/s\n", threads, flops / t_bf16p / 1e9);
  std::printf("  gemm_bf16 with Bf16PackedB, 1 thread      : %8.1f GFLOP/s\n", flops / t_bf16p1 / 1e9);
#if defined(VHMN_BENCH_DNNL)
  std::printf("  oneDNN bf16 matmul, %d threads             : %8.1f GFLOP/s\n", threads, flops / t_dnnl / 1e9);
#endif
  if (shapes) {
    std::printf("  %-12s %-22s %17s : %8s %8s %8s%s\n", "config", "op", "M x N x K", "fp32", "bf16", "bf16-pkB",
#if defined(VHMN_BENCH_DNNL)
                "   oneDNN"
#else
                ""
#endif
    );
    for (const auto& e : out.at("shapes").as_array()) {
      std::printf("  %-12s %-22s %5.0f x %5.0f x %5.0f : %8.1f %8.1f %8.1f", e.at("config").as_string().c_str(),
                  e.at("op").as_string().c_str(), e.at("M").as_double(), e.at("N").as_double(), e.at("K").as_double(),
                  e.at("gflops").as_double(), e.at("bf16_gflops").as_double(), e.at("bf16_packed_gflops").as_double());
#if defined(VHMN_BENCH_DNNL)
      if (e.contains("dnnl_bf16_gflops")) std::printf(" %8.1f", e.at("dnnl_bf16_gflops").as_double());
#endif
      std::printf("\n");
    }
  }
  return 0;
}
