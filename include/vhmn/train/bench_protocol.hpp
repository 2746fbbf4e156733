// vhmn/train/bench_protocol.hpp — the bench protocol: a model with every
// memory bank full, one fixed random batch and the two steps `vhmn bench`
// times (the protocol of `bench/pytorch_reference.py bench` too), for any
// ModelConfig, not only the presets the command line takes.
//
// What this represents:
//   model       VHMN<T, Dim, Latent>(config, seed 0) in the given precision,
//               every bank full (fill_banks_randomly, Rng(1)), so retrieval
//               runs over all slots
//   images      (B, C, H, W) N(0, 1), drawn from the same Rng after the banks
//   labels      (B) uniform in [0, K), drawn after the images; ids (B) = 0..B-1
//   targets     (B, K) one-hot of labels; probs, dlogits (B, K) the loss's buffers
//   optimizer   AdamW, weight decay 0.05 (OptimizerOptions{})
//   train_step  zero_grad, forward, soft-target cross-entropy, backward,
//               optimizer step (lr 1e-3), bank writes
//   infer_step  eval mode, forward only: no backward caches and no retrieval
//               weights kept (the fastest inference path), unless asked
// Requires: batch >= 1; set_labels' labels in [0, K); the model's class count
// left as built (no reset_classifier).
// Ensures: the same config, batch and precision give the same weights, banks
// and batch on every machine (Rng is portable); once warm (a few steps at
// this batch), neither step allocates (tests/alloc/no_alloc.cpp). The members
// are public so that a test can compose other steps from the same model and
// batch (the autodiff tape, frozen layers, hooks).
// Use:
//   train::BenchProtocol<float> bench(config, /*batch=*/64, Precision::BF16);
//   for (int i = 0; i < 2; ++i) bench.train_step();   // warm-up
//   ... time bench.train_step() and bench.infer_step() ...
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/precision.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/nn/model_config.hpp"
#include "vhmn/nn/vhmn_model.hpp"
#include "vhmn/ops/cross_entropy.hpp"
#include "vhmn/train/optimizer.hpp"

namespace vhmn::train {

/// Fills every bank of `model` completely: for each class, slots_per_class
/// rows of N(0, 1) values (slot i's provenance: sample i, no token).
template <class T, int Dim, int Latent>
void fill_banks_randomly(VHMN<T, Dim, Latent>& model, Rng& rng) {
  for (auto& blk : model.blocks)
    for (MemoryBank<T>* bank : {&blk->local.path.bank, &blk->global.path.bank}) {
      std::vector<T> row(static_cast<std::size_t>(bank->latent()));  // (L)
      for (index_t i = 0; i < bank->slots(); ++i) {  // slots is classes * slots_per_class (validated)
        for (auto& v : row) v = static_cast<T>(rng.normal());
        bank->write(i / bank->slots_per_class(), row.data(), i, -1);
      }
    }
}

/// A model with full banks, one random batch and its optimizer (see the top of this file).
template <class T, int Dim = Dynamic, int Latent = Dynamic>
class BenchProtocol {
 public:
  static constexpr double learning_rate = 1e-3;

  // The members are built in the order the protocol allocates them (model,
  // banks, images, labels, ..., optimizer): tests/alloc/peak_memory.cpp
  // measures that order's high-water mark.
  BenchProtocol(const ModelConfig& config, index_t batch_size, Precision precision = Precision::FP32)
      : batch(checked_batch(batch_size)),
        classes(config.classes),
        model(config, /*seed=*/0),
        rng_(1),
        images(full_banks_then_images(model, precision, rng_, batch)),
        labels(random_labels(rng_, batch, classes)),
        ids(sample_ids(batch)),
        targets({batch, classes}),
        probs({batch, classes}),
        dlogits({batch, classes}),
        optimizer(model.parameters(), OptimizerOptions{}) {
    set_one_hot_targets();
  }

  const index_t batch;    // B
  const index_t classes;  // K
  VHMN<T, Dim, Latent> model;

 private:
  Rng rng_;  // the banks, then the images, then the labels

 public:
  Tensor<T> images;                  // (B, C, H, W)
  std::vector<std::int32_t> labels;  // (B)
  std::vector<std::int64_t> ids;     // (B) sample ids of the bank writes
  Tensor<T> targets;                 // (B, K) one-hot of labels
  Tensor<T> probs, dlogits;          // (B, K)
  Optimizer<T> optimizer;

  /// Replaces the random labels (and their targets) with `new_labels` (B values in [0, K)).
  void set_labels(const std::vector<std::int32_t>& new_labels) {
    VHMN_CHECK(static_cast<index_t>(new_labels.size()) == batch,
               "bench protocol: " << new_labels.size() << " labels for a batch of " << batch);
    for (std::size_t b = 0; b < new_labels.size(); ++b)
      VHMN_CHECK(new_labels[b] >= 0 && new_labels[b] < classes,
                 "bench protocol: label " << new_labels[b] << " of sample " << b << " outside [0, " << classes << ")");
    std::copy(new_labels.begin(), new_labels.end(), labels.begin());
    set_one_hot_targets();
  }

  /// One training step on the batch (train mode; the banks take its writes).
  void train_step() {
    check_classes();
    model.train();
    model.zero_grad();
    const T* logits = model.forward(images.data(), batch);  // (B, K)
    ops::cross_entropy_forward(probs.data(), logits, targets.data(), batch, classes);
    dlogits.zero();
    ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), batch, classes);
    model.backward(dlogits.data());
    optimizer.step(learning_rate);
    model.remember(labels.data(), ids.data());
  }

  /// One inference batch in eval mode. keep_caches: also keep the backward
  /// caches and the retrieval weights (what explanations read). Leaves
  /// no_grad off and retrieval recording on (the model's defaults).
  void infer_step(bool keep_caches = false) {
    check_classes();
    model.eval();
    model.set_no_grad(!keep_caches);
    model.set_record_retrieval(keep_caches);
    model.forward(images.data(), batch);
    model.set_no_grad(false);
    model.set_record_retrieval(true);
  }

 private:
  static index_t checked_batch(index_t batch_size) {
    VHMN_CHECK(batch_size >= 1, "bench protocol: batch must be >= 1, got " << batch_size);
    return batch_size;
  }
  static Tensor<T> full_banks_then_images(VHMN<T, Dim, Latent>& model, Precision precision, Rng& rng, index_t B) {
    model.set_precision(precision);
    fill_banks_randomly(model, rng);
    const ModelConfig& c = model.config();
    Tensor<T> images({B, c.channels, c.image, c.image});
    for (auto& v : images) v = static_cast<T>(rng.normal());
    return images;
  }
  static std::vector<std::int32_t> random_labels(Rng& rng, index_t B, index_t K) {
    std::vector<std::int32_t> out(static_cast<std::size_t>(B));
    for (auto& y : out) y = static_cast<std::int32_t>(rng.below(K));
    return out;
  }
  static std::vector<std::int64_t> sample_ids(index_t B) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(B));
    for (index_t b = 0; b < B; ++b) out[static_cast<std::size_t>(b)] = b;
    return out;
  }
  void set_one_hot_targets() {
    targets.zero();
    for (index_t b = 0; b < batch; ++b) targets[b * classes + labels[static_cast<std::size_t>(b)]] = T(1);
  }
  void check_classes() const {
    VHMN_CHECK(model.config().classes == classes, "bench protocol: the model now has " << model.config().classes
                                                      << " classes, its batch was built for " << classes);
  }
};

}  // namespace vhmn::train
