// vhmn::Classifier (infer/classifier.hpp, infer/image_file.hpp): a checkpoint
// with its normalisation and class names classifies pixel buffers and image
// files; probabilities equal a hand-built input run through the model; the
// explanation returns the retrieved slots with the provenance remember()
// wrote; every bad input fails naming what was wrong.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "test_data_util.hpp"
#include "vhmn/infer/classifier.hpp"
#include "vhmn/infer/image_file.hpp"

namespace {

using namespace vhmn;
using vhmn_test_data::Bytes;
using vhmn_test_data::TempDir;

ModelConfig tiny_config(index_t channels) {
  ModelConfig c;
  c.image = 16;
  c.channels = channels;
  c.patch = 4;
  c.dim = 8;
  c.latent = 8;
  c.depth = 2;
  c.local_slots = 9;
  c.global_slots = 6;
  c.classes = 3;
  return c;
}

data::Normalization norm_for(index_t channels) {
  data::Normalization n;
  for (index_t c = 0; c < channels; ++c) {
    n.mean.push_back(0.25 + 0.1 * double(c));
    n.std.push_back(0.5 - 0.05 * double(c));
  }
  return n;
}

/// A model whose banks hold 4 training images (ids 100..103), saved with normalisation.
std::string trained_checkpoint(const TempDir& dir, index_t channels, bool with_metadata = true) {
  const ModelConfig c = tiny_config(channels);
  VHMN<float> model(c, 7);
  Rng rng(3);
  const index_t B = 4, n = c.channels * c.image * c.image;
  std::vector<float> images(static_cast<std::size_t>(B * n));
  for (float& v : images) v = static_cast<float>(rng.uniform() * 2 - 1);
  const std::int32_t labels[B] = {0, 1, 2, 1};
  const std::int64_t ids[B] = {100, 101, 102, 103};
  model.train();
  model.forward(images.data(), B);
  model.remember(labels, ids);
  const std::string path = dir / "model.safetensors";
  save_checkpoint(path, model, io::DType::F32,
                  with_metadata ? io::normalization_metadata(norm_for(channels), {"cat", "dog"})
                                : std::map<std::string, std::string>{});
  return path;
}

/// Softmax in double of the model's logits for `input`, worked out here.
std::vector<double> reference_probabilities(const std::string& checkpoint, const std::vector<float>& input) {
  auto model = load_model<float>(checkpoint);
  model->eval();
  const float* logits = model->forward(input.data(), 1);
  const index_t K = model->config().classes;
  std::vector<double> p(static_cast<std::size_t>(K));
  double sum = 0;
  for (index_t k = 0; k < K; ++k) sum += p[static_cast<std::size_t>(k)] = std::exp(double(logits[k]));
  for (double& v : p) v /= sum;
  return p;
}

/// (C, S, S) input of a constant image: channel c has value (v[c]/255 - mean)/std.
std::vector<float> constant_input(const data::Normalization& n, const std::vector<int>& v, index_t S) {
  std::vector<float> x;
  for (std::size_t c = 0; c < v.size(); ++c)
    x.insert(x.end(), static_cast<std::size_t>(S * S), static_cast<float>((v[c] / 255.0 - n.mean[c]) / n.std[c]));
  return x;
}

}  // namespace

TEST_CASE("Classifier: a constant RGB buffer of another size gives the probabilities of the hand-built input") {
  TempDir dir("classifier");
  const std::string path = trained_checkpoint(dir, 3);
  Classifier clf = Classifier::load(path);
  CHECK(clf.class_names() == std::vector<std::string>{"cat", "dog", "class_2"});
  CHECK(clf.normalization().mean == norm_for(3).mean);

  // 10 x 7 planar RGB, every pixel (200, 40, 90): resizing keeps it constant
  const index_t H = 7, W = 10;
  Bytes planar;
  for (int v : {200, 40, 90}) planar.insert(planar.end(), static_cast<std::size_t>(H * W), static_cast<std::uint8_t>(v));
  const Prediction p = clf.classify(ImageView{planar.data(), 3, H, W}, ClassifyOptions{3});
  const std::vector<double> want = reference_probabilities(path, constant_input(norm_for(3), {200, 40, 90}, 16));
  REQUIRE(p.probabilities.size() == 3);
  double sum = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(p.probabilities[k] == doctest::Approx(want[k]).epsilon(1e-5));
    sum += p.probabilities[k];
  }
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-12));
  REQUIRE(p.top.size() == 3);
  CHECK(p.top[0].probability >= p.top[1].probability);
  CHECK(p.top[1].probability >= p.top[2].probability);
  for (const ClassScore& s : p.top) {
    CHECK(s.probability == p.probabilities[static_cast<std::size_t>(s.index)]);
    CHECK(s.name == clf.class_names()[static_cast<std::size_t>(s.index)]);
  }
  CHECK(p.prototypes.empty());  // not asked for
  CHECK(p.informative_token == -1);

  // the same pixels interleaved (H, W, C), and RGBA with its alpha dropped
  Bytes hwc, rgba;
  for (index_t i = 0; i < H * W; ++i) {
    hwc.insert(hwc.end(), {200, 40, 90});
    rgba.insert(rgba.end(), {200, 40, 90, 7});
  }
  const Prediction q = clf.classify(ImageView{hwc.data(), 3, H, W, true}, ClassifyOptions{1});
  const Prediction r = clf.classify(ImageView{rgba.data(), 4, H, W, true});
  CHECK(q.probabilities == p.probabilities);
  CHECK(r.probabilities == p.probabilities);
  CHECK(q.top.size() == 1);
  CHECK(q.top[0].index == p.top[0].index);
}

TEST_CASE("Classifier: channel conversion: RGB to a grey model by stb's weights, grey to an RGB model replicated") {
  TempDir dir("classifier_grey");
  const std::string grey_model = trained_checkpoint(dir, 1);
  Classifier grey = Classifier::load(grey_model);
  Bytes rgb;
  for (int v : {200, 40, 90}) rgb.insert(rgb.end(), 16 * 16, static_cast<std::uint8_t>(v));
  // (77*200 + 150*40 + 29*90) >> 8 = 23990 >> 8 = 93
  const Prediction p = grey.classify(ImageView{rgb.data(), 3, 16, 16});
  const std::vector<double> want = reference_probabilities(grey_model, constant_input(norm_for(1), {93}, 16));
  for (std::size_t k = 0; k < 3; ++k) CHECK(p.probabilities[k] == doctest::Approx(want[k]).epsilon(1e-5));

  TempDir dir3("classifier_rgb");
  const std::string rgb_model = trained_checkpoint(dir3, 3);
  Classifier colour = Classifier::load(rgb_model);
  const Bytes g(16 * 16, 77);
  const Prediction c = colour.classify(ImageView{g.data(), 1, 16, 16});
  const std::vector<double> want3 = reference_probabilities(rgb_model, constant_input(norm_for(3), {77, 77, 77}, 16));
  for (std::size_t k = 0; k < 3; ++k) CHECK(c.probabilities[k] == doctest::Approx(want3[k]).epsilon(1e-5));
}

TEST_CASE("Classifier: classify_file reads a PNG and agrees with the decoded buffer") {
  TempDir dir("classifier_file");
  Classifier clf = Classifier::load(trained_checkpoint(dir, 3));
  Bytes chw(3 * 12 * 20);
  for (std::size_t i = 0; i < chw.size(); ++i) chw[i] = static_cast<std::uint8_t>((i * 37) % 251);
  const std::string png = dir / "x.png";
  vhmn_test_data::write_bytes(png, vhmn_test_data::png(20, 12, 3, chw));
  const Prediction from_file = classify_file(clf, png, ClassifyOptions{2});
  const Prediction from_buffer = clf.classify(ImageView{chw.data(), 3, 12, 20}, ClassifyOptions{2});
  CHECK(from_file.probabilities == from_buffer.probabilities);
  CHECK(from_file.top.size() == 2);
  CHECK_THROWS_WITH_AS(classify_file(clf, dir / "missing.png"), doctest::Contains("missing.png"), Error);
}

TEST_CASE("Classifier: the explanation lists the last block's slots with the provenance remember() wrote") {
  TempDir dir("classifier_explain");
  Classifier clf = Classifier::load(trained_checkpoint(dir, 3));
  Bytes chw(3 * 16 * 16);
  for (std::size_t i = 0; i < chw.size(); ++i) chw[i] = static_cast<std::uint8_t>((i * 13) % 256);
  ClassifyOptions opt;
  opt.explain = true;
  opt.prototypes = 100;  // more than written: every written slot comes back
  const Prediction p = clf.classify(ImageView{chw.data(), 3, 16, 16}, opt);
  const index_t N = clf.config().tokens();
  REQUIRE(p.informative_token >= 0);
  REQUIRE(p.informative_token < N);
  CHECK(p.informative_token == explain::most_informative_token(clf.model(), 0));

  // 4 samples wrote one local and one global entry each, into slots of their class
  index_t local = 0, global = 0;
  double local_sum = 0, global_sum = 0, last_local = 2, last_global = 2;
  std::set<std::int64_t> global_sources;
  for (const Prototype& pr : p.prototypes) {
    CHECK(pr.block == clf.config().depth - 1);
    CHECK(pr.slot.source_index >= 100);
    CHECK(pr.slot.source_index <= 103);
    CHECK(pr.class_name == clf.class_names()[static_cast<std::size_t>(pr.slot.slot_class)]);
    if (pr.path == explain::Path::Local) {
      ++local;
      CHECK(pr.query_token == p.informative_token);
      CHECK(pr.slot.source_token >= 0);
      CHECK(pr.slot.source_token < N);
      CHECK(pr.slot.weight <= last_local);
      last_local = pr.slot.weight;
      local_sum += pr.slot.weight;
    } else {
      ++global;
      CHECK(local == 4);
      CHECK(pr.query_token == -1);
      CHECK(pr.slot.source_token == -1);
      CHECK(pr.slot.weight <= last_global);
      last_global = pr.slot.weight;
      global_sum += pr.slot.weight;
      global_sources.insert(pr.slot.source_index);
    }
  }
  CHECK(local == 4);
  CHECK(global == 4);
  CHECK(local_sum == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(global_sum == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(global_sources == std::set<std::int64_t>{100, 101, 102, 103});

  opt.prototypes = 2;
  const Prediction two = clf.classify(ImageView{chw.data(), 3, 16, 16}, opt);
  CHECK(two.prototypes.size() == 4);  // 2 local + 2 global
  CHECK(two.probabilities == p.probabilities);  // explaining changes nothing
}

TEST_CASE("Classifier: bad checkpoints and bad inputs fail naming the problem") {
  TempDir dir("classifier_errors");
  const std::string bare = trained_checkpoint(dir, 3, /*with_metadata=*/false);
  CHECK_THROWS_WITH_AS(Classifier::load(bare),
                       doctest::Contains((bare + " has no normalisation metadata (vhmn.norm_mean / vhmn.norm_std)").c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(Classifier(load_model<float>(bare), norm_for(1), {}, "mine"),
                       "mine: normalisation has 1 channels but the model takes 3", Error);
  CHECK_THROWS_WITH_AS(Classifier(load_model<float>(bare), norm_for(3), {"a", "b", "c", "d"}, "mine"),
                       "mine: 4 class names for a model of 3 classes", Error);
  CHECK_THROWS_WITH_AS(Classifier(nullptr, norm_for(3), {}, "mine"), "mine: no model", Error);

  Classifier clf(load_model<float>(bare), norm_for(3), {"x"});
  CHECK(clf.class_names() == std::vector<std::string>{"x", "class_1", "class_2"});
  const Bytes px(5 * 4 * 4, 1);
  CHECK_THROWS_WITH_AS(clf.classify(ImageView{px.data(), 5, 4, 4}),
                       "classify: image channels must be 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA), got 5", Error);
  CHECK_THROWS_WITH_AS(clf.classify(ImageView{px.data(), 3, 0, 4}), "classify: image size must be positive, got 4x0",
                       Error);
  CHECK_THROWS_WITH_AS(clf.classify(ImageView{nullptr, 3, 4, 4}), "classify: image has no pixels (null pointer)",
                       Error);
  CHECK_THROWS_WITH_AS(clf.classify(ImageView{px.data(), 3, 4, 4}, ClassifyOptions{0}),
                       "classify: top_k must be >= 1, got 0", Error);
  // a top_k above K is clipped to K
  CHECK(clf.classify(ImageView{px.data(), 3, 4, 4}, ClassifyOptions{10}).top.size() == 3);
}
