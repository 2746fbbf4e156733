// vhmn/train/loss.hpp — the training loss as an object the Trainer calls.
//
// What this represents: for a batch of logits (B, K), soft targets (B, K)
// (one-hot, smoothed or mixed rows that sum to 1) and dominant labels (B),
// a loss function returns the batch loss and *adds* its gradient with
// respect to the logits into dlogits (B, K), which the Trainer zeroes first:
//   trainer.loss = train::SquaredErrorLoss<float>{};
//   trainer.loss = [](const train::LossBatch<float>& b, float* dlogits) { ...; return loss; };
// CrossEntropyLoss is the default (docs/spec.md §5). Test accuracy and test loss
// (evaluate.hpp) stay cross-entropy whatever trains.
#pragma once

#include <functional>

#include "vhmn/core/tensor.hpp"
#include "vhmn/ops/cross_entropy.hpp"

namespace vhmn::train {

template <class T>
struct LossBatch {
  const T* logits = nullptr;             // (B, K)
  const T* targets = nullptr;            // (B, K), rows sum to 1
  const std::int32_t* labels = nullptr;  // (B), argmax of each target row
  index_t batch = 0, classes = 0;
};

/// Returns the loss; dlogits (B, K) += d loss / d logits.
template <class T>
using LossFunction = std::function<double(const LossBatch<T>&, T* dlogits)>;

/// Mean soft-target cross-entropy: (1/B) sum_b -sum_k t_bk log softmax(z_b)_k.
template <class T>
struct CrossEntropyLoss {
  Tensor<T> probs;  // (B, K), kept: no allocation once it has its size
  double operator()(const LossBatch<T>& b, T* dlogits) {
    probs.resize({b.batch, b.classes});
    const double loss = double(ops::cross_entropy_forward(probs.data(), b.logits, b.targets, b.batch, b.classes));
    ops::cross_entropy_backward(dlogits, probs.data(), b.targets, b.batch, b.classes);
    return loss;
  }
};

/// Mean squared error of the logits against the targets:
/// (1/B) sum_b 1/2 sum_k (z_bk - t_bk)^2;  dz_bk = (z_bk - t_bk) / B.
template <class T>
struct SquaredErrorLoss {
  double operator()(const LossBatch<T>& b, T* dlogits) const {
    double sum = 0;
    const index_t n = b.batch * b.classes;
    for (index_t i = 0; i < n; ++i) {
      const T d = b.logits[i] - b.targets[i];
      sum += 0.5 * double(d) * double(d);
      dlogits[i] += d / T(b.batch);
    }
    return sum / double(b.batch);
  }
};

}  // namespace vhmn::train
