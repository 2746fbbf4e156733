// Gradient checks and golden values of every op kernel (include/vhmn/ops).
#include <doctest/doctest.h>

#include "gradcheck.hpp"
#include "vhmn/ops/attention_pool.hpp"
#include "vhmn/ops/cross_entropy.hpp"
#include "vhmn/ops/gelu.hpp"
#include "vhmn/ops/layernorm.hpp"
#include "vhmn/ops/linear.hpp"
#include "vhmn/ops/patchify.hpp"
#include "vhmn/ops/retrieval.hpp"
#include "vhmn/ops/tokens.hpp"
#include "vhmn/ops/unfold.hpp"
#include "vhmn/core/threads.hpp"

using namespace vhmn;
using namespace vhmn::testing;
using V = std::vector<double>;

static constexpr double kTol = 1e-6;

TEST_CASE("linear: gradients of x, W, b") {
  Rng rng(1);
  const index_t R = 5, I = 7, O = 4;
  V x = normal_vector(R * I, rng), W = normal_vector(O * I, rng), b = normal_vector(O, rng), proj = normal_vector(R * O, rng);
  V y(R * O);
  auto loss = [&] {
    ops::linear_forward(y.data(), x.data(), W.data(), b.data(), R, I, O);
    return dot(y.data(), proj.data(), R * O);
  };
  V dx(R * I, 0.0), dW(O * I, 0.0), db(O, 0.0);
  ops::linear_backward(dx.data(), dW.data(), db.data(), proj.data(), x.data(), W.data(), R, I, O);
  CHECK(check_gradient(x.data(), dx.data(), R * I, loss).rel() < kTol);
  CHECK(check_gradient(W.data(), dW.data(), O * I, loss).rel() < kTol);
  CHECK(check_gradient(b.data(), db.data(), O, loss).rel() < kTol);
}

TEST_CASE("layernorm: golden row and gradients") {
  // x = [1, 2, 3]: mean 2, var 2/3, so y = (x - 2) / sqrt(2/3 + 1e-5)
  V x1{1, 2, 3}, g{1, 1, 1}, bb{0, 0, 0}, y1(3), mean(1), rstd(1);
  ops::layernorm_forward(y1.data(), mean.data(), rstd.data(), x1.data(), g.data(), bb.data(), 1, 3);
  const double s = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  CHECK(y1[0] == doctest::Approx(-s).epsilon(1e-14));
  CHECK(y1[1] == doctest::Approx(0.0));
  CHECK(y1[2] == doctest::Approx(s).epsilon(1e-14));

  Rng rng(2);
  const index_t R = 4, D = 9;
  V x = normal_vector(R * D, rng, 3.0), gamma = normal_vector(D, rng), beta = normal_vector(D, rng);
  V proj = normal_vector(R * D, rng), y(R * D), mu(R), rs(R);
  auto loss = [&] {
    ops::layernorm_forward(y.data(), mu.data(), rs.data(), x.data(), gamma.data(), beta.data(), R, D);
    return dot(y.data(), proj.data(), R * D);
  };
  loss();
  V dx(R * D, 0.0), dg(D, 0.0), db(D, 0.0);
  ops::layernorm_backward(dx.data(), dg.data(), db.data(), proj.data(), x.data(), mu.data(), rs.data(), gamma.data(), R, D);
  CHECK(check_gradient(x.data(), dx.data(), R * D, loss).rel() < kTol);
  CHECK(check_gradient(gamma.data(), dg.data(), D, loss).rel() < kTol);
  CHECK(check_gradient(beta.data(), db.data(), D, loss).rel() < kTol);
}

TEST_CASE("gelu: golden values and gradient") {
  V x{-1.0, 0.0, 1.0, 2.5}, y(4);
  ops::gelu_forward(y.data(), x.data(), 4);
  for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx(0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)))).epsilon(1e-13));
  CHECK(y[2] == doctest::Approx(0.8413447460685429).epsilon(1e-12));  // Phi(1)

  Rng rng(3);
  const index_t n = 37;  // not a multiple of any SIMD width: exercises the tail
  V xs = normal_vector(n, rng, 2.0), proj = normal_vector(n, rng), ys(n);
  auto loss = [&] {
    ops::gelu_forward(ys.data(), xs.data(), n);
    return dot(ys.data(), proj.data(), n);
  };
  V dx(n, 0.0);
  ops::gelu_backward(dx.data(), proj.data(), xs.data(), n);
  CHECK(check_gradient(xs.data(), dx.data(), n, loss).rel() < kTol);
}

TEST_CASE("unfold: golden 2x2 grid, k = 3, matches torch.nn.functional.unfold ordering") {
  // u: (1, 2, 2, D=2) tokens t00, t01, t10, t11 with channel values (c0, c1)
  V u{1, 10, 2, 20, 3, 30, 4, 40};
  V col(4 * 2 * 9);
  ops::unfold_forward(col.data(), u.data(), 1, 2, 2, 2, 3);
  // token (0,0): window offsets (i-1, j-1); inside cells: (0,0)->t00 at ij=4,
  // (0,1)->t01 at ij=5, (1,0)->t10 at ij=7, (1,1)->t11 at ij=8.
  const V expect_t00_c0{0, 0, 0, 0, 1, 2, 0, 3, 4};
  const V expect_t00_c1{0, 0, 0, 0, 10, 20, 0, 30, 40};
  for (int ij = 0; ij < 9; ++ij) {
    CHECK(col[ij] == expect_t00_c0[ij]);
    CHECK(col[9 + ij] == expect_t00_c1[ij]);
  }
  // token (1,1) (row 3): its window sees t00 at ij=0, t01 at 1, t10 at 3, t11 at 4.
  const V expect_t11_c0{1, 2, 0, 3, 4, 0, 0, 0, 0};
  for (int ij = 0; ij < 9; ++ij) CHECK(col[3 * 18 + ij] == expect_t11_c0[ij]);
}

TEST_CASE("unfold: gradients at borders and corners, k = 3 and 5") {
  for (index_t k : {3, 5}) {
    CAPTURE(k);
    Rng rng(4 + k);
    const index_t B = 2, h = 3, w = 4, D = 3, N = h * w;
    V u = normal_vector(B * N * D, rng), proj = normal_vector(B * N * D * k * k, rng), col(B * N * D * k * k);
    auto loss = [&] {
      ops::unfold_forward(col.data(), u.data(), B, h, w, D, k);
      return dot(col.data(), proj.data(), B * N * D * k * k);
    };
    V du(B * N * D, 0.0);
    ops::unfold_backward(du.data(), proj.data(), B, h, w, D, k);
    CHECK(check_gradient(u.data(), du.data(), B * N * D, loss, 1000).rel() < kTol);
  }
}

TEST_CASE("patchify: channel-major, then patch row, then patch column") {
  // one 2-channel 4x4 image, p = 2: value = c*100 + y*10 + x
  V img(2 * 4 * 4);
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) img[(c * 4 + y) * 4 + x] = c * 100 + y * 10 + x;
  V patches(4 * 8);
  ops::patchify(patches.data(), img.data(), 1, 2, 4, 4, 2);
  // grid cell n = 1 is row 0, col 1: pixels x in {2,3}, y in {0,1}
  const V expect{2, 3, 12, 13, 102, 103, 112, 113};
  for (int i = 0; i < 8; ++i) CHECK(patches[8 + i] == expect[i]);
}

TEST_CASE("mean pool, broadcast residual and concat: gradients") {
  Rng rng(5);
  const index_t B = 2, N = 5, D = 3;
  V u = normal_vector(B * N * D, rng), proj = normal_vector(B * D, rng), g(B * D);
  auto loss = [&] {
    ops::mean_pool_forward(g.data(), u.data(), B, N, D);
    return dot(g.data(), proj.data(), B * D);
  };
  V du(B * N * D, 0.0);
  ops::mean_pool_backward(du.data(), proj.data(), B, N, D);
  CHECK(check_gradient(u.data(), du.data(), B * N * D, loss).rel() < kTol);

  V x = normal_vector(B * N * D, rng), a = normal_vector(B * N * D, rng), c = normal_vector(B * D, rng);
  V py = normal_vector(B * N * D, rng), y(B * N * D);
  auto loss2 = [&] {
    ops::residual_broadcast_forward(y.data(), x.data(), a.data(), c.data(), B, N, D);
    return dot(y.data(), py.data(), B * N * D);
  };
  V dc(B * D, 0.0);
  ops::broadcast_backward(dc.data(), py.data(), B, N, D);
  CHECK(check_gradient(c.data(), dc.data(), B * D, loss2).rel() < kTol);

  const index_t R = 3, A = 2, Bw = 4;
  V p = normal_vector(R * A, rng), q = normal_vector(R * Bw, rng), pc = normal_vector(R * (A + Bw), rng), cat(R * (A + Bw));
  auto loss3 = [&] {
    ops::concat_forward(cat.data(), p.data(), q.data(), R, A, Bw);
    return dot(cat.data(), pc.data(), R * (A + Bw));
  };
  V dp(R * A, 0.0), dq(R * Bw, 0.0);
  ops::concat_backward(dp.data(), dq.data(), pc.data(), R, A, Bw);
  CHECK(check_gradient(p.data(), dp.data(), R * A, loss3).rel() < kTol);
  CHECK(check_gradient(q.data(), dq.data(), R * Bw, loss3).rel() < kTol);
  loss3();
  CHECK(cat[A] == q[0]);  // refined/first part, then second part
}

TEST_CASE("retrieval: two-slot golden value worked by hand") {
  // z = (1, 0); M_0 = (2, 0), M_1 = (0, 3); tau = sqrt(2).
  // cosines: 1 and 0  =>  s = (sqrt2, 0),  a_0 = e^sqrt2 / (e^sqrt2 + 1)
  // m = a_0 (2, 0) + a_1 (0, 3)
  V z{1, 0}, M{2, 0, 0, 3}, Mh(4), m(2), attn(2), zh(2), norm(1);
  ops::normalize_rows<double>(Mh.data(), nullptr, M.data(), 2, 2);
  ops::SlotView<double> view{M.data(), Mh.data(), 2};
  ops::retrieval_forward(m.data(), attn.data(), zh.data(), norm.data(), z.data(), view, std::sqrt(2.0), 1, 2);
  const double e = std::exp(std::sqrt(2.0)), a0 = e / (e + 1), a1 = 1 / (e + 1);
  CHECK(attn[0] == doctest::Approx(a0).epsilon(1e-14));
  CHECK(attn[1] == doctest::Approx(a1).epsilon(1e-14));
  CHECK(m[0] == doctest::Approx(2 * a0).epsilon(1e-14));
  CHECK(m[1] == doctest::Approx(3 * a1).epsilon(1e-14));
  // refinement with beta = 0.2: z' = z + 0.2 (m - z)
  V z1(2);
  ops::refine_update_forward(z1.data(), z.data(), m.data(), 0.2, 2);
  CHECK(z1[0] == doctest::Approx(0.8 + 0.4 * a0).epsilon(1e-14));
  CHECK(z1[1] == doctest::Approx(0.6 * a1).epsilon(1e-14));
}

TEST_CASE("retrieval: gradient of z (bank constant), including a zero-norm-clamped row") {
  Rng rng(6);
  const index_t R = 4, L = 5, S = 7;
  V z = normal_vector(R * L, rng), M = normal_vector(S * L, rng, 2.0), Mh(S * L), proj = normal_vector(R * L, rng);
  for (index_t l = 0; l < L; ++l) z[3 * L + l] *= 1e-8;  // |z| < eps: the clamped branch
  ops::normalize_rows<double>(Mh.data(), nullptr, M.data(), S, L);
  ops::SlotView<double> view{M.data(), Mh.data(), S};
  const double tau = std::sqrt(double(L));
  V m(R * L), attn(R * S), zh(R * L), norm(R);
  auto loss = [&] {
    ops::retrieval_forward(m.data(), attn.data(), zh.data(), norm.data(), z.data(), view, tau, R, L);
    return dot(m.data(), proj.data(), R * L);
  };
  loss();
  for (index_t r = 0; r < R; ++r) {
    double s = 0;
    for (index_t j = 0; j < S; ++j) s += attn[r * S + j];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-13));
  }
  V dz(R * L, 0.0), ds(R * S), dzh(R * L);
  ops::retrieval_backward(dz.data(), ds.data(), dzh.data(), proj.data(), attn.data(), zh.data(), norm.data(), view, tau, R, L);
  // rows 0-2 normal; row 3 is clamped, where the step h must stay below eps
  CHECK(check_gradient(z.data(), dz.data(), 3 * L, loss).rel() < kTol);
  CHECK(check_gradient(z.data() + 3 * L, dz.data() + 3 * L, L, loss, 64, 1e-12).rel() < 1e-4);
}

TEST_CASE("refine update: gradients of z, m and beta") {
  Rng rng(7);
  const index_t R = 3, L = 4;
  V z = normal_vector(R * L, rng), m = normal_vector(R * L, rng), proj = normal_vector(R * L, rng), out(R * L);
  double beta = 0.37;
  auto loss = [&] {
    ops::refine_update_forward(out.data(), z.data(), m.data(), beta, R * L);
    return dot(out.data(), proj.data(), R * L);
  };
  V dz(R * L, 0.0), dm(R * L, 0.0);
  const double dbeta = ops::refine_update_backward(dz.data(), dm.data(), proj.data(), z.data(), m.data(), beta, R, L);
  CHECK(check_gradient(z.data(), dz.data(), R * L, loss).rel() < kTol);
  CHECK(check_gradient(m.data(), dm.data(), R * L, loss).rel() < kTol);
  CHECK(check_gradient(&beta, &dbeta, 1, loss).rel() < kTol);
}

TEST_CASE("attention pool: weights sum to one; gradients of v, w, b") {
  Rng rng(8);
  const index_t B = 2, N = 6, D = 5;
  V v = normal_vector(B * N * D, rng), w = normal_vector(D, rng), proj = normal_vector(B * D, rng), z(B * D), pi(B * N);
  double bias = 0.3;
  auto loss = [&] {
    ops::attention_pool_forward(z.data(), pi.data(), v.data(), w.data(), bias, B, N, D);
    return dot(z.data(), proj.data(), B * D);
  };
  loss();
  double s = 0;
  for (index_t n = 0; n < N; ++n) s += pi[n];
  CHECK(s == doctest::Approx(1.0).epsilon(1e-13));
  V dv(B * N * D, 0.0), dw(D, 0.0), de(B * N);
  double db = 0;
  ops::attention_pool_backward(dv.data(), dw.data(), &db, de.data(), proj.data(), pi.data(), v.data(), w.data(), B, N, D);
  CHECK(check_gradient(v.data(), dv.data(), B * N * D, loss).rel() < kTol);
  CHECK(check_gradient(w.data(), dw.data(), D, loss).rel() < kTol);
  CHECK(db == doctest::Approx(0.0).epsilon(1e-9));  // softmax is shift invariant: d/db = 0
}

TEST_CASE("cross entropy: golden value with soft targets, gradient") {
  // logits (0, ln 3): p = (1/4, 3/4); t = (0.5, 0.5): loss = -(0.5 ln .25 + 0.5 ln .75)
  V logits{0.0, std::log(3.0)}, t{0.5, 0.5}, p(2);
  const double loss = ops::cross_entropy_forward(p.data(), logits.data(), t.data(), 1, 2);
  CHECK(loss == doctest::Approx(-(0.5 * std::log(0.25) + 0.5 * std::log(0.75))).epsilon(1e-14));

  Rng rng(9);
  const index_t B = 3, K = 4;
  V lg = normal_vector(B * K, rng), tg(B * K), pr(B * K);
  for (index_t b = 0; b < B; ++b) {
    double s = 0;
    for (index_t k = 0; k < K; ++k) s += (tg[b * K + k] = rng.uniform());
    for (index_t k = 0; k < K; ++k) tg[b * K + k] /= s;
  }
  auto f = [&] { return ops::cross_entropy_forward(pr.data(), lg.data(), tg.data(), B, K); };
  f();
  V dl(B * K, 0.0);
  ops::cross_entropy_backward(dl.data(), pr.data(), tg.data(), B, K);
  CHECK(check_gradient(lg.data(), dl.data(), B * K, f).rel() < kTol);
}

TEST_CASE("unfold_ijd: token-major windows with a permuted weight give the spec's W col; gradients") {
  for (index_t k : {3, 5}) {
    CAPTURE(k);
    Rng rng(40 + k);
    const index_t B = 2, h = 3, w = 4, D = 3, N = h * w, kk = k * k, L = 4, R = B * N;
    V u = normal_vector(R * D, rng), W = normal_vector(L * D * kk, rng), Wp(L * D * kk);
    V col(R * D * kk), colp(R * D * kk), q(R * L), qp(R * L);
    ops::unfold_forward(col.data(), u.data(), B, h, w, D, k);
    ops::unfold_ijd_forward(colp.data(), u.data(), B, h, w, D, k);
    ops::unfold_weight_permute(Wp.data(), W.data(), L, D, kk);
    for (index_t r = 0; r < R; ++r)
      for (index_t l = 0; l < L; ++l) {
        q[r * L + l] = dot(col.data() + r * D * kk, W.data() + l * D * kk, D * kk);
        qp[r * L + l] = dot(colp.data() + r * D * kk, Wp.data() + l * D * kk, D * kk);
      }
    for (index_t i = 0; i < R * L; ++i) CHECK(qp[i] == doctest::Approx(q[i]).epsilon(1e-12));
    // gradients of <proj, colp(u)> and of <P, Wp(W)>
    V proj = normal_vector(R * D * kk, rng), du(R * D, 0.0);
    auto loss_u = [&] {
      ops::unfold_ijd_forward(colp.data(), u.data(), B, h, w, D, k);
      return dot(colp.data(), proj.data(), R * D * kk);
    };
    ops::unfold_ijd_backward(du.data(), proj.data(), B, h, w, D, k);
    CHECK(check_gradient(u.data(), du.data(), R * D, loss_u, 1000).rel() < kTol);
    V P = normal_vector(L * D * kk, rng), dW(L * D * kk, 0.0);
    auto loss_w = [&] {
      ops::unfold_weight_permute(Wp.data(), W.data(), L, D, kk);
      return dot(Wp.data(), P.data(), L * D * kk);
    };
    ops::unfold_weight_permute_backward(dW.data(), P.data(), L, D, kk);
    CHECK(check_gradient(W.data(), dW.data(), L * D * kk, loss_w, 1000).rel() < kTol);
  }
}

TEST_CASE("retrieval: fused tiles give the same result with or without kept weights, any tile count") {
  Rng rng(61);
  const index_t L = 6, S = 9;
  V M = normal_vector(S * L, rng, 2.0), Mh(S * L);
  ops::normalize_rows<double>(Mh.data(), nullptr, M.data(), S, L);
  ops::SlotView<double> view{M.data(), Mh.data(), S};
  for (index_t R : {1, 17, 300}) {  // one tile, several, many
    CAPTURE(R);
    V z = normal_vector(R * L, rng), m1(R * L), m2(R * L), attn(R * S), zh(R * L), norm(R);
    ops::retrieval_forward(m1.data(), attn.data(), zh.data(), norm.data(), z.data(), view, 2.5, R, L);
    ops::retrieval_forward(m2.data(), static_cast<double*>(nullptr), zh.data(), norm.data(), z.data(), view, 2.5,
                           R, L);
    CHECK(m1 == m2);
    // backward with a full (R, S) workspace and with per-tile scratch
    V proj = normal_vector(R * L, rng), dz1(R * L, 0.0), dz2(R * L, 0.0), ds(R * S), dzh(R * L);
    ops::retrieval_backward(dz1.data(), ds.data(), dzh.data(), proj.data(), attn.data(), zh.data(), norm.data(),
                            view, 2.5, R, L);
    ops::retrieval_backward(dz2.data(), static_cast<double*>(nullptr), dzh.data(), proj.data(), attn.data(),
                            zh.data(), norm.data(), view, 2.5, R, L);
    CHECK(dz1 == dz2);
  }
}

TEST_CASE("gemm: all transposes against a plain loop; bit-identical for 1 and 2 threads") {
  Rng rng(62);
  const index_t M = 600, N = 300, K = 70;  // several tiles of the shape-only rule
  for (auto ta : {ops::Trans::No, ops::Trans::Yes})
    for (auto tb : {ops::Trans::No, ops::Trans::Yes}) {
      std::vector<float> a(M * K), b(K * N);
      for (auto& v : a) v = float(rng.normal());
      for (auto& v : b) v = float(rng.normal());
      auto A = [&](index_t i, index_t k) { return ta == ops::Trans::No ? a[i * K + k] : a[k * M + i]; };
      auto Bv = [&](index_t k, index_t j) { return tb == ops::Trans::No ? b[k * N + j] : b[j * K + k]; };
      std::vector<float> c1(M * N, 1.0f), c2(M * N, 1.0f);
      set_num_threads(1);
      ops::gemm(c1.data(), a.data(), b.data(), M, N, K, ta, tb, 0.5f, true);
      set_num_threads(2);
      ops::gemm(c2.data(), a.data(), b.data(), M, N, K, ta, tb, 0.5f, true);
      set_num_threads(0);
      CHECK(c1 == c2);
      double worst = 0;
      for (index_t i = 0; i < M; i += 7)
        for (index_t j = 0; j < N; j += 5) {
          double s = 0;
          for (index_t k = 0; k < K; ++k) s += double(A(i, k)) * double(Bv(k, j));
          worst = std::max(worst, std::abs(1.0 + 0.5 * s - double(c1[i * N + j])));
        }
      CHECK(worst < 1e-3);
    }
}
