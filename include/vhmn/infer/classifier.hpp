// vhmn/infer/classifier.hpp — a trained checkpoint as a ready-to-call image
// classifier.
//
// What this represents: a VHMN<float> in eval mode together with what the
// checkpoint says about its input (normalisation, class names). It turns
// 8-bit pixels of any size into the model's input (channel conversion,
// bilinear resize, normalisation, exactly as `vhmn predict` does) and the
// logits into the top-k classes with softmax probabilities; on request it
// also returns the explanation of each prediction: the token the attention
// pool weighted most and the memory slots (prototypes) the last block
// retrieved for it, with the training sample and token that wrote each slot.
// Use:
//   auto clf = vhmn::Classifier::load("model.safetensors");
//   vhmn::Prediction p = clf.classify(vhmn::ImageView{pixels, 3, h, w});
//   std::printf("%s %.1f%%\n", p.top[0].name.c_str(), 100 * p.top[0].probability);
//   // image files: vhmn/infer/image_file.hpp, vhmn::classify_file(clf, "cat.png")
// Requires: a checkpoint with `vhmn.norm_mean` / `vhmn.norm_std` (every
// checkpoint `vhmn train` or Trainer writes), or a Normalization passed in.
// Nothing from train/ and no image decoder: this header needs no stb.
// Ensures: classify() never writes the banks (eval mode); the model's
// buffers are reused from call to call.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/data/resize.hpp"
#include "vhmn/explain/retrieval.hpp"
#include "vhmn/io/checkpoint.hpp"
#include "vhmn/io/normalization_metadata.hpp"
#include "vhmn/io/safetensors.hpp"
#include "vhmn/nn/vhmn_model.hpp"

namespace vhmn {

/// 8-bit pixels the caller owns: planar (C, H, W) by default, or interleaved
/// (H, W, C) as most decoders and cameras deliver them. channels: 1 grey,
/// 2 grey + alpha, 3 RGB, 4 RGBA (alpha is dropped).
struct ImageView {
  const std::uint8_t* pixels = nullptr;
  index_t channels = 0, height = 0, width = 0;
  bool interleaved = false;
};

/// One class of a prediction.
struct ClassScore {
  index_t index = -1;
  std::string name;
  double probability = 0;
};

/// One recalled memory slot behind a prediction.
struct Prototype {
  index_t block = 0;                   // which HMN block's bank
  explain::Path path = explain::Path::Local;
  index_t query_token = -1;            // token of the classified image that asked (-1: global path)
  explain::SlotHit slot;               // slot, weight, class, source_index, source_token
  std::string class_name;              // name of slot.slot_class
};

struct Prediction {
  std::vector<ClassScore> top;         // the k most probable classes, most probable first
  std::vector<double> probabilities;   // (K) softmax of the logits
  // Filled only when ClassifyOptions::explain is set:
  index_t informative_token = -1;      // token with the largest attention-pool weight
  std::vector<Prototype> prototypes;   // last block: its local slots for that token, then its global slots
};

struct ClassifyOptions {
  index_t top_k = 3;                   // clipped to the number of classes
  bool explain = false;
  index_t prototypes = 5;              // per path, when explaining
};

class Classifier {
 public:
  using Model = VHMN<float>;

  /// Reads a checkpoint; fails naming the file when it lacks normalisation
  /// metadata or its normalisation does not match the model's channels.
  static Classifier load(const std::string& path) {
    const io::SafetensorsFile file = io::read_safetensors(path);
    return from_file(file, path);
  }
  static Classifier from_file(const io::SafetensorsFile& file, const std::string& source) {
    std::unique_ptr<Model> model = load_model<float>(file, source);
    data::Normalization norm;
    std::vector<std::string> names;
    VHMN_CHECK(io::normalization_from_metadata(file.metadata, norm, names, source),
               source << " has no normalisation metadata (vhmn.norm_mean / vhmn.norm_std); "
                         "use a checkpoint written by vhmn train, or pass a Normalization to Classifier");
    return Classifier(std::move(model), std::move(norm), std::move(names), source);
  }

  /// A model already in memory. Missing class names become "class_<k>";
  /// extra ones are an error.
  Classifier(std::unique_ptr<Model> model, data::Normalization norm, std::vector<std::string> class_names,
             const std::string& source = "classifier")
      : model_(std::move(model)), norm_(std::move(norm)), names_(std::move(class_names)) {
    VHMN_CHECK(model_ != nullptr, source << ": no model");
    const ModelConfig& c = model_->config();
    VHMN_CHECK(norm_.channels() == c.channels, source << ": normalisation has " << norm_.channels()
                                                      << " channels but the model takes " << c.channels);
    VHMN_CHECK(static_cast<index_t>(names_.size()) <= c.classes,
               source << ": " << names_.size() << " class names for a model of " << c.classes << " classes");
    names_.resize(static_cast<std::size_t>(c.classes));
    for (std::size_t k = 0; k < names_.size(); ++k)
      if (names_[k].empty()) names_[k] = "class_" + std::to_string(k);
    lut_ = data::normalization_lut<float>(norm_);
    model_->eval();
    model_->set_no_grad(true);
  }

  const ModelConfig& config() const { return model_->config(); }
  const std::vector<std::string>& class_names() const { return names_; }
  const data::Normalization& normalization() const { return norm_; }
  /// The model itself (e.g. set_precision, or explain:: on the last forward).
  Model& model() { return *model_; }
  const Model& model() const { return *model_; }

  /// Classifies 8-bit pixels of any size and channel count (see ImageView).
  Prediction classify(const ImageView& image, const ClassifyOptions& opt = {}) {
    prepare(image);
    return classify_normalized(input_.data(), opt);
  }

  /// Classifies one image already at the model's size and normalised:
  /// (C, image, image) floats.
  Prediction classify_normalized(const float* chw, const ClassifyOptions& opt = {}) {
    VHMN_CHECK(opt.top_k >= 1, "classify: top_k must be >= 1, got " << opt.top_k);
    VHMN_CHECK(!opt.explain || opt.prototypes >= 0, "classify: prototypes must be >= 0, got " << opt.prototypes);
    const ModelConfig& c = config();
    model_->set_record_retrieval(opt.explain);
    const float* logits = model_->forward(chw, 1);
    Prediction p;
    p.probabilities.resize(static_cast<std::size_t>(c.classes));
    const float top_logit = *std::max_element(logits, logits + c.classes);
    double sum = 0;
    for (index_t k = 0; k < c.classes; ++k)
      sum += p.probabilities[static_cast<std::size_t>(k)] = std::exp(double(logits[k]) - double(top_logit));
    for (double& v : p.probabilities) v /= sum;
    std::vector<index_t> order(static_cast<std::size_t>(c.classes));
    std::iota(order.begin(), order.end(), index_t(0));
    const auto k = static_cast<std::ptrdiff_t>(std::min(opt.top_k, c.classes));
    // ties: lower class index first, so results do not depend on the sort
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](index_t a, index_t b) {
      const double pa = p.probabilities[static_cast<std::size_t>(a)], pb = p.probabilities[static_cast<std::size_t>(b)];
      return pa > pb || (pa == pb && a < b);
    });
    for (std::ptrdiff_t i = 0; i < k; ++i) {
      const index_t cls = order[static_cast<std::size_t>(i)];
      p.top.push_back({cls, names_[static_cast<std::size_t>(cls)], p.probabilities[static_cast<std::size_t>(cls)]});
    }
    if (opt.explain) explain_last(p, opt.prototypes);
    return p;
  }

  /// The normalised model input of the last classify(ImageView): (C, image, image).
  const Tensor<float>& last_input() const { return input_; }

 private:
  // pixels -> model channels (planar) -> model size -> normalised floats in input_
  void prepare(const ImageView& im) {
    const ModelConfig& c = config();
    VHMN_CHECK(im.pixels != nullptr, "classify: image has no pixels (null pointer)");
    VHMN_CHECK(im.channels >= 1 && im.channels <= 4,
               "classify: image channels must be 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA), got " << im.channels);
    VHMN_CHECK(im.height >= 1 && im.width >= 1,
               "classify: image size must be positive, got " << im.width << "x" << im.height);
    const std::size_t hw = static_cast<std::size_t>(im.height) * static_cast<std::size_t>(im.width);
    const auto C = static_cast<std::size_t>(c.channels), from = static_cast<std::size_t>(im.channels);
    planar_.resize(C * hw);
    auto at = [&](std::size_t ch, std::size_t p) {  // channel ch of pixel p in the caller's layout
      return im.interleaved ? im.pixels[p * from + ch] : im.pixels[ch * hw + p];
    };
    for (std::size_t p = 0; p < hw; ++p) {
      if (C == 1) {
        // RGB -> grey with stb_image's weights, so files and buffers agree
        planar_[p] = from >= 3 ? static_cast<std::uint8_t>((77 * at(0, p) + 150 * at(1, p) + 29 * at(2, p)) >> 8)
                               : at(0, p);
      } else {
        for (std::size_t ch = 0; ch < C; ++ch) planar_[ch * hw + p] = from >= 3 ? at(ch, p) : at(0, p);
      }
    }
    const index_t S = c.image, HW = S * S;
    resized_.resize(C * static_cast<std::size_t>(HW));
    data::resize_bilinear(planar_.data(), c.channels, im.height, im.width, resized_.data(), S, S);
    input_.resize({c.channels, S, S});
    data::normalize_image(resized_.data(), c.channels, HW, lut_, input_.data());
  }

  void explain_last(Prediction& p, index_t per_path) {
    const index_t last = static_cast<index_t>(model_->blocks.size()) - 1;
    if (last < 0) return;
    p.informative_token = explain::most_informative_token(*model_, 0);
    auto add = [&](explain::Path path, index_t row, index_t token) {
      const explain::RetrievalView<float> v = explain::retrieval(*model_, last, path);
      for (const explain::SlotHit& h : v.top_k(row, per_path)) {
        Prototype pr;
        pr.block = last;
        pr.path = path;
        pr.query_token = token;
        pr.slot = h;
        pr.class_name = names_[static_cast<std::size_t>(h.slot_class)];
        p.prototypes.push_back(std::move(pr));
      }
    };
    add(explain::Path::Local, p.informative_token, p.informative_token);
    add(explain::Path::Global, 0, -1);
  }

  std::unique_ptr<Model> model_;
  data::Normalization norm_;
  std::vector<std::string> names_;
  std::vector<float> lut_;
  std::vector<std::uint8_t> planar_, resized_;
  Tensor<float> input_;
};

}  // namespace vhmn
