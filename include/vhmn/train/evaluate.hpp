// vhmn/train/evaluate.hpp — accuracy of a model on a labelled data set.
//
// Runs the model in eval mode (banks frozen) over the whole set in order and
// reports mean cross-entropy, top-1, top-5, per-class accuracy and the
// confusion matrix (rows: true class, columns: predicted class).
// Flip test-time augmentation (`hflip_tta`): each image is classified by the
// mean of the logits of the image and of its mirror image (left-right), the
// cheapest of the test-time augmentations the speed-run recipes use.
#pragma once

#include <algorithm>
#include <functional>
#include <numeric>
#include <vector>

#include "vhmn/data/augment.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/nn/vhmn_model.hpp"
#include "vhmn/ops/cross_entropy.hpp"

namespace vhmn::train {

struct EvalResult {
  index_t count = 0, classes = 0;
  double loss = 0, top1 = 0, top5 = 0;
  std::vector<double> per_class;        // [K] accuracy of each true class
  std::vector<std::int64_t> confusion;  // [K, K] counts, row = true class
};

/// Fails unless `ds` fits `config` (channels, image size, classes).
inline void check_dataset_fits(const data::Dataset& ds, const ModelConfig& c) {
  VHMN_CHECK(ds.channels == c.channels && ds.height == c.image && ds.width == c.image,
             "data set '" << ds.name << "' has " << ds.channels << "x" << ds.height << "x" << ds.width
                          << " images but the model takes " << c.channels << "x" << c.image << "x" << c.image);
  VHMN_CHECK(ds.classes <= c.classes,
             "data set '" << ds.name << "' has " << ds.classes << " classes but the model only " << c.classes);
}

/// Called after each evaluated batch with (images done, images in all): a progress display.
using EvalProgress = std::function<void(index_t done, index_t total)>;

/// Accuracy of each true class from a (K, K) confusion matrix (0 for a class never seen).
inline std::vector<double> per_class_accuracy(const std::vector<std::int64_t>& confusion, index_t K) {
  std::vector<double> acc(static_cast<std::size_t>(K), 0.0);
  for (index_t y = 0; y < K; ++y) {
    std::int64_t row = 0;
    for (index_t k = 0; k < K; ++k) row += confusion[static_cast<std::size_t>(y * K + k)];
    acc[static_cast<std::size_t>(y)] = row ? double(confusion[static_cast<std::size_t>(y * K + y)]) / double(row) : 0.0;
  }
  return acc;
}

template <class T, int D, int L>
EvalResult evaluate(VHMN<T, D, L>& model, const data::Dataset& ds, const data::Normalization& norm,
                    index_t batch_size = 256, bool hflip_tta = false, const EvalProgress& progress = {}) {
  const ModelConfig& c = model.config();
  check_dataset_fits(ds, c);
  VHMN_CHECK(batch_size > 0, "evaluation batch size must be > 0");
  // Forward only, nothing recorded for inspection: the fast inference path.
  // Each setting is put back as it was on the way out, errors included.
  struct Restore {
    VHMN<T, D, L>& m;
    bool training = m.training(), no_grad = m.no_grad(), recording = m.record_retrieval();
    ~Restore() {
      m.train(training);
      m.set_no_grad(no_grad);
      m.set_record_retrieval(recording);
    }
  } restore{model};
  model.eval();
  model.set_no_grad(true);
  model.set_record_retrieval(false);
  const index_t K = c.classes;
  EvalResult r;
  r.count = ds.size;
  r.classes = K;
  r.confusion.assign(static_cast<std::size_t>(K * K), 0);
  const auto lut = data::normalization_lut<T>(norm);
  Tensor<T> images, targets, probs, mean_logits;
  double loss_sum = 0;
  index_t top1 = 0, top5 = 0;
  std::vector<index_t> order(static_cast<std::size_t>(K));
  for (index_t start = 0; start < ds.size; start += batch_size) {
    const index_t B = std::min(batch_size, ds.size - start);
    images.resize({B, ds.channels, ds.height, ds.width});
    targets.resize_zero({B, K});
    probs.resize({B, K});
    for (index_t b = 0; b < B; ++b) {
      data::normalize_image(ds.image(start + b), ds.channels, ds.height * ds.width, lut,
                            images.data() + b * ds.image_numel());
      targets[b * K + ds.labels[static_cast<std::size_t>(start + b)]] = T(1);
    }
    const T* logits = model.forward(images.data(), B);
    if (hflip_tta) {  // logits = (f(x) + f(flip x)) / 2
      mean_logits.resize({B, K});
      std::copy(logits, logits + B * K, mean_logits.data());
      for (index_t b = 0; b < B; ++b)
        data::hflip(images.data() + b * ds.image_numel(), ds.channels, ds.height, ds.width);
      const T* flipped = model.forward(images.data(), B);
      for (index_t i = 0; i < B * K; ++i) mean_logits[i] = T(0.5) * (mean_logits[i] + flipped[i]);
      logits = mean_logits.data();
    }
    loss_sum += double(ops::cross_entropy_forward(probs.data(), logits, targets.data(), B, K)) * double(B);
    for (index_t b = 0; b < B; ++b) {
      const T* lb = logits + b * K;
      std::iota(order.begin(), order.end(), index_t(0));
      const index_t k5 = std::min<index_t>(5, K);
      std::partial_sort(order.begin(), order.begin() + k5, order.end(),
                        [&](index_t x, index_t y) { return lb[x] > lb[y] || (lb[x] == lb[y] && x < y); });
      const index_t y = ds.labels[static_cast<std::size_t>(start + b)];
      top1 += order[0] == y;
      top5 += std::find(order.begin(), order.begin() + k5, y) != order.begin() + k5;
      ++r.confusion[static_cast<std::size_t>(y * K + order[0])];
    }
    if (progress) progress(start + B, ds.size);
  }
  r.loss = loss_sum / double(ds.size);
  r.top1 = double(top1) / double(ds.size);
  r.top5 = double(top5) / double(ds.size);
  r.per_class = per_class_accuracy(r.confusion, K);
  return r;
}

}  // namespace vhmn::train
