// Interpretability and robustness (vhmn/explain/*): retrieval views and
// their provenance, hit rates and slot profiles on banks where the answer
// is known, retrieval stability, the corruptions' properties, the PNG
// writer (round trip through stb_image) and the bitmap font.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gradcheck.hpp"
#include "vhmn/data/stb.hpp"
#include "vhmn/explain/canvas.hpp"
#include "vhmn/explain/corruptions.hpp"
#include "vhmn/explain/hit_rates.hpp"
#include "vhmn/explain/png.hpp"
#include "vhmn/explain/retrieval.hpp"
#include "vhmn/explain/slot_profile.hpp"
#include "vhmn/explain/text_layout.hpp"
#include "vhmn/explain/stability.hpp"
#include "vhmn/explain/svg_plot.hpp"
#include "vhmn/io/checkpoint.hpp"

using namespace vhmn;
using namespace vhmn::explain;
using namespace vhmn::testing;

namespace {

ModelConfig explain_config() {
  ModelConfig c;
  c.image = 8;
  c.channels = 3;
  c.patch = 4;  // 2x2 grid, N = 4
  c.dim = 8;
  c.latent = 6;
  c.depth = 2;
  c.local_slots = 8;
  c.global_slots = 4;
  c.classes = 2;
  c.iters = 1;
  return c;
}

// A bank of S = 6 slots, K = 3 classes (2 slots each), slot j = e_j scaled;
// `filled[y]` writes for class y, sample ids 100 + slot, token = slot.
MemoryBank<float> hand_bank(const std::vector<int>& filled) {
  MemoryBank<float> bank(6, 6, 3);
  for (int y = 0; y < 3; ++y)
    for (int w = 0; w < filled[static_cast<std::size_t>(y)]; ++w) {
      std::vector<float> v(6, 0.f);
      const int slot = y * 2 + w;
      v[static_cast<std::size_t>(slot)] = float(slot + 1);
      bank.write(y, v.data(), 100 + slot, slot);
    }
  return bank;
}

}  // namespace

TEST_CASE("explain: hit rates and chance levels on a bank where the answer is known") {
  CHECK(chance_any_of(6, 2, 1) == doctest::Approx(2.0 / 6));
  CHECK(chance_any_of(6, 2, 2) == doctest::Approx(1 - (4.0 / 6) * (3.0 / 5)));
  CHECK(chance_any_of(10, 1, 5) == doctest::Approx(0.5));
  CHECK(chance_any_of(5, 5, 3) == 1.0);
  CHECK(chance_any_of(100, 10, 5) == doctest::Approx(1 - (90.0 * 89 * 88 * 87 * 86) / (100.0 * 99 * 98 * 97 * 96)));

  // every slot written: columns are slots 0..5, classes 0 0 1 1 2 2
  MemoryBank<float> bank = hand_bank({2, 2, 2});
  std::vector<index_t> ids;
  Tensor<float> vals, unit;
  bank.gather_written(vals, unit, ids);
  REQUIRE(ids.size() == 6);
  // 4 rows, 2 images of 2 rows each (a local path with N = 2); labels 0 and 2
  const float w[4][6] = {{.50f, .10f, .10f, .10f, .10f, .10f},   // image 0 (class 0): top-1 slot 0 -> hit
                         {.05f, .05f, .40f, .30f, .15f, .05f},   // image 0: top-1 slot 2, top-2 {2,3} -> miss, miss
                         {.10f, .10f, .10f, .10f, .20f, .40f},   // image 1 (class 2): top-1 slot 5 -> hit
                         {.30f, .05f, .05f, .05f, .25f, .30f}};  // image 1: tie 0/5 -> slot 0 first; top-2 {0,5}
  RetrievalView<float> view(&w[0][0], 4, 2, ids, bank);
  const std::int32_t labels[2] = {0, 2};
  HitRates h;
  h.k = 2;
  accumulate_hits(h, view, labels);
  CHECK(h.queries == 4);
  CHECK(h.top1 == 2);
  CHECK(h.topk == 3);
  CHECK(h.top1_rate() == doctest::Approx(0.5));
  CHECK(h.topk_rate() == doctest::Approx(0.75));
  CHECK(h.chance_top1() == doctest::Approx(2.0 / 6));
  CHECK(h.chance_topk() == doctest::Approx(0.6));

  // top-k carries weight, class and provenance; ties go to the lower slot
  const auto top = view.top_k(3, 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].slot == 0);
  CHECK(top[1].slot == 5);
  CHECK(top[2].slot == 4);
  CHECK(top[0].weight == doctest::Approx(0.3));
  CHECK(top[1].slot_class == 2);
  CHECK(top[1].source_index == 105);
  CHECK(top[1].source_token == 5);

  // a partly written bank: class 0 has 1 slot, class 1 none, class 2 two -> n = 3
  MemoryBank<float> part = hand_bank({1, 0, 2});
  std::vector<index_t> part_ids;
  part.gather_written(vals, unit, part_ids);
  REQUIRE(part_ids == std::vector<index_t>{0, 4, 5});
  const float w2[2][3] = {{.2f, .5f, .3f}, {.6f, .3f, .1f}};  // global rows (one per image)
  RetrievalView<float> gv(&w2[0][0], 2, 1, part_ids, part);
  const std::int32_t labels2[2] = {0, 2};
  HitRates g;  // k = 5 > n: top-5 is every written slot
  accumulate_hits(g, gv, labels2);
  CHECK(g.top1 == 0);
  CHECK(g.topk == 2);
  CHECK(g.chance_top1() == doctest::Approx((1.0 / 3 + 2.0 / 3) / 2));
  CHECK(g.chance_topk() == doctest::Approx(1.0));

  // slot profile: class 0 rows are rows 0, 1 of `view`; class 2 rows 2, 3
  SlotProfile p(3, 6);
  p.add(view, labels);
  CHECK(p.count(0) == 2);
  CHECK(p.count(1) == 0);
  CHECK(p.mean(0, 0) == doctest::Approx((0.50 + 0.05) / 2));
  CHECK(p.mean(2, 5) == doctest::Approx((0.40 + 0.30) / 2));
  CHECK(p.mass(0, 0) == doctest::Approx((0.50 + 0.10 + 0.05 + 0.05) / 2));
  CHECK(p.mean(1, 3) == 0.0);

  // an empty view adds nothing
  HitRates none;
  accumulate_hits(none, RetrievalView<float>(), labels);
  CHECK(none.queries == 0);
}

TEST_CASE("explain: stability compares clean and corrupted top slots") {
  MemoryBank<float> bank = hand_bank({2, 2, 2});
  std::vector<index_t> ids;
  Tensor<float> vals, unit;
  bank.gather_written(vals, unit, ids);
  // make slot 1 = slot 0 direction + something, so their cosine is known
  bank.mutable_memory()[1 * 6 + 0] = 1.f;  // slot 1 = (1, 2, 0, ...): cos with slot 0 = 1/sqrt(5)
  const float clean[2][6] = {{.5f, .2f, .1f, .1f, .05f, .05f}, {.1f, .1f, .5f, .1f, .1f, .1f}};
  const float corrupt[2][6] = {{.2f, .5f, .1f, .1f, .05f, .05f}, {.1f, .1f, .1f, .1f, .1f, .5f}};
  const auto clean_top = top_slots(RetrievalView<float>(&clean[0][0], 2, 1, ids, bank), 2);
  REQUIRE(clean_top.size() == 4);
  CHECK(clean_top[0] == 0);
  CHECK(clean_top[1] == 1);
  Stability s;
  accumulate_stability(s, clean_top, 2, RetrievalView<float>(&corrupt[0][0], 2, 1, ids, bank));
  CHECK(s.queries == 2);
  CHECK(s.consistent == 1);  // row 0: slot 1 is in {0, 1}; row 1: slot 5 is not in {2, ...}
  CHECK(s.cosine() == doctest::Approx((1 / std::sqrt(5.0) + 0.0) / 2));
  CHECK(slot_cosine(bank, 3, 3) == doctest::Approx(1.0));
}

TEST_CASE("explain: block 0 recalls exactly what each training image wrote, with its provenance") {
  // Block 0's queries depend only on the image and the weights, so an eval
  // forward of the images that wrote the banks finds each one's own entry first.
  ModelConfig c = explain_config();
  VHMN<float> model(c, 3);
  Rng rng(4);
  const index_t B = 4, N = c.tokens();
  auto images = normal_vector(B * 3 * 64, rng);
  std::vector<float> img(images.begin(), images.end());
  const std::int32_t labels[B] = {0, 1, 1, 0};
  const std::int64_t ids[B] = {70, 71, 72, 73};
  model.train();
  model.forward(img.data(), B);
  model.remember(labels, ids);
  model.eval();
  model.forward(img.data(), B);

  const auto g = retrieval(model, 0, Path::Global);
  REQUIRE(!g.empty());
  CHECK(g.rows() == B);
  CHECK(g.columns() == 4);
  HitRates hg;
  accumulate_hits(hg, g, labels);
  CHECK(hg.top1_rate() == 1.0);
  for (index_t b = 0; b < B; ++b) {
    const auto top = g.top_k(b, 1);
    REQUIRE(top.size() == 1);
    CHECK(top[0].source_index == ids[b]);
    CHECK(top[0].source_token == -1);
    CHECK(top[0].slot_class == labels[b]);
    double sum = 0;
    for (index_t j = 0; j < g.columns(); ++j) sum += g.row(b)[j];
    CHECK(sum == doctest::Approx(1.0));
  }
  const auto l = retrieval(model, 0, Path::Local);
  CHECK(l.rows() == B * N);
  CHECK(l.rows_per_image() == N);
  const auto& bank = model.blocks[0]->local.path.bank;
  for (index_t s = 0; s < bank.slots(); ++s) {
    if (!bank.is_written(s)) continue;
    const std::int64_t b = bank.source_index()[static_cast<std::size_t>(s)] - 70;
    const std::int64_t n = bank.source_token()[static_cast<std::size_t>(s)];
    const auto top = l.top_k(b * N + n, 1);
    CHECK(top[0].slot == s);  // the token that wrote slot s recalls slot s first
  }
  // pool weights: (B, N), rows sum to 1; the most informative token is their argmax
  const Tensor<float>& pi = pool_weights(model);
  REQUIRE(pi.dim(0) == B);
  const index_t t = most_informative_token(model, 2);
  for (index_t n = 0; n < N; ++n) CHECK(pi[2 * N + n] <= pi[2 * N + t]);
  CHECK(patch_box(c, 3).x == 4);
  CHECK(patch_box(c, 3).y == 4);
  CHECK(patch_box(c, 1).x == 4);
  CHECK(patch_box(c, 1).y == 0);

  // T = 0: nothing is retrieved, the views are empty
  model.set_iters(0);
  model.forward(img.data(), B);
  CHECK(retrieval(model, 0, Path::Local).empty());
  CHECK(retrieval(model, 1, Path::Global).top_k(0, 3).empty());
  CHECK(explain_last_forward(model, 3).blocks[0].local.row(0)[0].slot == -1);
}

TEST_CASE("explain: reading explanations changes no logit, and provenance survives a checkpoint") {
  ModelConfig c = explain_config();
  c.iters = 2;
  VHMN<float> model(c, 5);
  Rng rng(6);
  const index_t B = 3;
  auto images = normal_vector(B * 3 * 64, rng);
  std::vector<float> img(images.begin(), images.end());
  const std::int32_t labels[B] = {1, 0, 1};
  const std::int64_t ids[B] = {10, 11, 12};
  model.train();
  for (int r = 0; r < 3; ++r) {
    model.forward(img.data(), B);
    model.remember(labels, ids);
  }
  model.eval();
  const float* l0 = model.forward(img.data(), B);
  const std::vector<float> plain(l0, l0 + B * c.classes);
  // read everything there is to read
  const BatchExplanation<float> e = explain_last_forward(model, 4);
  HitRates h;
  SlotProfile p(c.classes, c.local_slots);
  for (index_t i = 0; i < c.depth; ++i) {
    accumulate_hits(h, retrieval(model, i, Path::Local), labels);
    p.add(retrieval(model, i, Path::Local), labels);
  }
  CHECK(std::memcmp(plain.data(), model.logits().data(), sizeof(float) * plain.size()) == 0);
  const float* l1 = model.forward(img.data(), B);
  CHECK(std::memcmp(plain.data(), l1, sizeof(float) * plain.size()) == 0);
  REQUIRE(e.blocks.size() == 2);
  CHECK(e.pool.dim(0) == B);
  CHECK(e.blocks[1].global.rows == B);
  CHECK(e.blocks[1].local.rows == B * c.tokens());

  // checkpoint round trip: same provenance, same explanation
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("vhmn_test_explain_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  save_checkpoint(path, model);
  auto back = load_model<float>(path);
  std::filesystem::remove(path);
  back->eval();
  for (index_t i = 0; i < c.depth; ++i) {
    for (int q = 0; q < 2; ++q) {
      const auto& a = q ? model.blocks[i]->global.path.bank : model.blocks[i]->local.path.bank;
      const auto& b = q ? back->blocks[i]->global.path.bank : back->blocks[i]->local.path.bank;
      CHECK(a.source_index() == b.source_index());
      CHECK(a.source_token() == b.source_token());
    }
  }
  const float* l2 = back->forward(img.data(), B);
  CHECK(std::memcmp(plain.data(), l2, sizeof(float) * plain.size()) == 0);
  const BatchExplanation<float> e2 = explain_last_forward(*back, 4);
  for (std::size_t i = 0; i < e.blocks.size(); ++i)
    for (std::size_t r = 0; r < e.blocks[i].local.top.size(); ++r) {
      const SlotHit &x = e.blocks[i].local.top[r], &y = e2.blocks[i].local.top[r];
      CHECK(x.slot == y.slot);
      CHECK(x.weight == y.weight);
      CHECK(x.source_index == y.source_index);
      CHECK(x.source_token == y.source_token);
    }
  bool some = false;
  for (const SlotHit& x : e2.blocks[0].global.top) some |= x.source_index >= 10 && x.source_index <= 12;
  CHECK(some);
}

TEST_CASE("corruptions: noise statistics, occluded area, contrast keeps the mean") {
  const index_t C = 3, H = 32, W = 32, n = C * H * W;
  // noise: mean 0 and the asked std on a mid-grey image (no clipping at 0.1 from 0.5: 5 sigma)
  {
    std::vector<float> x(static_cast<std::size_t>(n) * 20, 0.5f);
    Rng rng(1);
    gaussian_noise(x.data(), static_cast<index_t>(x.size()), 0.1, rng);
    double m = 0, v = 0;
    for (float f : x) m += f - 0.5;
    m /= double(x.size());
    for (float f : x) v += (f - 0.5 - m) * (f - 0.5 - m);
    CHECK(std::abs(m) < 0.003);
    CHECK(std::sqrt(v / double(x.size())) == doctest::Approx(0.1).epsilon(0.03));
    std::vector<float> y(static_cast<std::size_t>(n), 0.9f);
    gaussian_noise(y.data(), n, 0.3, rng);
    for (float f : y) REQUIRE((f >= 0.f && f <= 1.f));
  }
  // occlusion: a square of round(sqrt(area * H * W)) pixels a side, in every channel
  for (double area : {0.05, 0.10, 0.20}) {
    CAPTURE(area);
    std::vector<float> x(static_cast<std::size_t>(n), 1.f);
    Rng rng(7);
    const Square sq = occlude_square(x.data(), C, H, W, area, rng);
    CHECK(sq.side == std::lround(std::sqrt(area * H * W)));
    CHECK(double(sq.side * sq.side) / double(H * W) == doctest::Approx(area).epsilon(0.05));
    for (index_t c = 0; c < C; ++c) {
      index_t zeros = 0;
      for (index_t r = 0; r < H; ++r)
        for (index_t col = 0; col < W; ++col) {
          const bool inside = r >= sq.y && r < sq.y + sq.side && col >= sq.x && col < sq.x + sq.side;
          const float v = x[static_cast<std::size_t>((c * H + r) * W + col)];
          CHECK(v == (inside ? 0.f : 1.f));
          zeros += v == 0.f;
        }
      CHECK(zeros == sq.side * sq.side);
    }
  }
  // positions vary between images and repeat for the same generator
  {
    std::vector<float> a(static_cast<std::size_t>(n), 1.f), b = a, c2 = a;
    Rng r1 = corruption_rng(0, 4, 1), r2 = corruption_rng(0, 4, 1);
    const Square s1 = occlude_square(a.data(), C, H, W, 0.1, r1);
    const Square s2 = occlude_square(b.data(), C, H, W, 0.1, r2);
    CHECK((s1.x == s2.x && s1.y == s2.y));
    int differ = 0;
    for (std::uint64_t i = 2; i < 12; ++i) {
      Rng r = corruption_rng(0, 4, i);
      const Square s = occlude_square(c2.data(), C, H, W, 0.1, r);
      differ += s.x != s1.x || s.y != s1.y;
    }
    CHECK(differ >= 8);
  }
  // contrast: mean kept, deviations scaled, clipped to [0, 1]
  {
    std::vector<float> x(static_cast<std::size_t>(n));
    Rng rng(3);
    for (float& f : x) f = static_cast<float>(rng.uniform(0.3, 0.7));
    for (double factor : {0.5, 0.75, 1.25, 1.5}) {
      CAPTURE(factor);
      std::vector<float> y = x;
      scale_contrast(y.data(), n, factor);
      double mx = 0, my = 0;
      for (index_t i = 0; i < n; ++i) {
        mx += x[static_cast<std::size_t>(i)];
        my += y[static_cast<std::size_t>(i)];
      }
      CHECK(my / n == doctest::Approx(mx / n).epsilon(1e-5));
      CHECK((y[5] - my / n) == doctest::Approx(factor * (x[5] - mx / n)).epsilon(1e-4));
    }
    std::vector<float> z = x;
    scale_contrast(z.data(), n, 10.0);
    for (float f : z) REQUIRE((f >= 0.f && f <= 1.f));
  }
  const auto all = paper_corruptions();
  REQUIRE(all.size() == 11);
  CHECK(all[0].name() == "noise 0.05");
  CHECK(all[6].name() == "occlusion 0.20");
  CHECK(all[10].name() == "contrast 1.50");
  std::vector<float> bad(4, 0.5f);
  Rng rng(0);
  CHECK_THROWS_WITH_AS(occlude_square(bad.data(), 1, 2, 2, 1.5, rng), doctest::Contains("fraction"), Error);
}

TEST_CASE("png: a canvas round-trips through stb_image; text draws inside its width") {
  Canvas cv(37, 23, kWhite);
  Rng rng(9);
  for (index_t y = 0; y < cv.height(); ++y)
    for (index_t x = 0; x < cv.width(); ++x)
      cv.set(x, y, Rgb{static_cast<std::uint8_t>(rng.below(256)), static_cast<std::uint8_t>(rng.below(256)),
                       static_cast<std::uint8_t>(rng.below(256))});
  const std::vector<std::uint8_t> png = encode_png(cv);
  int w = 0, h = 0;
  std::vector<std::uint8_t> back;
  std::string why;
  REQUIRE(vhmn::detail::stb_decode_image(png.data(), png.size(), 3, w, h, back, why));
  CHECK(w == 37);
  CHECK(h == 23);
  CHECK(std::memcmp(back.data(), cv.data(), back.size()) == 0);

  // to a file, atomically
  const std::string path =
      (std::filesystem::temp_directory_path() / ("vhmn_test_png_" + std::to_string(::getpid()) + ".png")).string();
  write_png(path, cv);
  std::ifstream f(path, std::ios::binary);
  const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(file == png);
  std::filesystem::remove(path);
  CHECK_THROWS_WITH_AS(write_png("/nonexistent-dir/x.png", cv), doctest::Contains("/nonexistent-dir/x.png"), Error);

  // text and paste
  Canvas t(60, 20, kWhite);
  t.text(2, 2, "CAT 42.5%", kBlack, 1);
  index_t minx = 99, maxx = -1, miny = 99, maxy = -1;
  for (index_t y = 0; y < t.height(); ++y)
    for (index_t x = 0; x < t.width(); ++x)
      if (t.get(x, y).r == 0) {
        minx = std::min(minx, x);
        maxx = std::max(maxx, x);
        miny = std::min(miny, y);
        maxy = std::max(maxy, y);
      }
  CHECK(minx >= 2);
  CHECK(maxx < 2 + text_width("CAT 42.5%"));
  CHECK(miny >= 2);
  CHECK(maxy < 2 + kGlyphHeight);
  CHECK(text_width("ab", 2) == 22);
  CHECK(glyph('a') == glyph('A'));
  CHECK(glyph('~') == glyph('?'));
  const std::uint8_t grey[4] = {10, 20, 30, 40};  // 1 x 2 x 2
  Canvas g(8, 8, kWhite);
  g.paste(grey, 1, 2, 2, 0, 0, 3);
  CHECK(g.get(0, 0).r == 10);
  CHECK(g.get(5, 0).g == 20);
  CHECK(g.get(2, 5).b == 30);
  CHECK(g.get(5, 5).r == 40);
  CHECK(g.get(6, 6).r == 255);
  // SVG plot: well-formed enough to name its series
  LinePlot plot;
  plot.title = "a < b";
  plot.series.push_back({"T = 1", {0, 0.1}, {0.9, 0.8}, ""});
  const std::string svg = to_svg(plot);
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find("a &lt; b") != std::string::npos);
  CHECK(svg.find("T = 1") != std::string::npos);
}

TEST_CASE("explain: text wraps to a width at spaces, splits only over-long words, and keeps every word") {
  using vhmn::explain::wrap_text;
  // 6 pixels a character: 71 pixels hold 12 characters (the last needs no spacing column)
  const std::string text = "BLOCK 4 OF 4; LOCAL: THE PATCH'S NEAREST PROTOTYPES, GLOBAL: THE IMAGE'S";
  const auto lines = wrap_text(text, 71);
  std::string joined;
  for (const std::string& l : lines) {
    CHECK(l.size() <= 12);
    CHECK(vhmn::explain::text_width(l) <= 71);
    joined += (joined.empty() ? "" : " ") + l;
  }
  CHECK(lines.front() == "BLOCK 4 OF");
  CHECK(lines.size() == 7);
  CHECK(joined == text);
  CHECK(wrap_text("T-SHIRT/TOP", 59) == std::vector<std::string>{"T-SHIRT/TO", "P"});
  CHECK(wrap_text("", 59) == std::vector<std::string>{""});
  CHECK(wrap_text("A B", 1000) == std::vector<std::string>{"A B"});
}
