// vhmn/train/ema.hpp — an exponential moving average of the weights, for evaluation.
//
// What this represents: a shadow copy of every parameter that trails the
// trained weights,
//   avg <- d_t avg + (1 - d_t) value,   d_t = min(decay, (1 + t) / (10 + t))
// after the optimiser's step t (counting from 1). The warm-up of d_t keeps
// the first steps (whose weights are far from the later ones) from
// dominating a short run, as in timm's ModelEmaV2 with warm-up. Evaluating
// the average instead of the last weights smooths the noise of the final
// steps of a short, high-rate run.
// Memory banks are state, not parameters: they are never averaged (the
// averaged model retrieves from the banks the trained model wrote).
// Ensures: swap() exchanges trained and averaged values exactly (a second
// swap() restores both bit for bit); live_state() / load_live_state()
// round-trip both through a checkpoint, so a resumed run continues bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "vhmn/io/safetensors.hpp"
#include "vhmn/nn/param.hpp"

namespace vhmn::train {

template <class T>
class WeightAverage {
 public:
  /// decay in [0, 1); the average starts equal to the current weights.
  WeightAverage(ParamList<T> params, double decay) : params_(std::move(params)), decay_(decay) {
    VHMN_CHECK(decay >= 0 && decay < 1, "EMA decay must be in [0, 1), got " << decay);
    average_.reserve(params_.size());
    for (Param<T>* p : params_) average_.push_back(p->value);
  }

  double decay() const { return decay_; }
  std::int64_t steps() const { return step_; }
  /// The decay used by update number `t` (from 1).
  double decay_at(std::int64_t t) const { return std::min(decay_, (1.0 + double(t)) / (10.0 + double(t))); }

  /// One update from the current weights (call after each optimiser step).
  void update() {
    ++step_;
    const T d = T(decay_at(step_)), w = T(1) - d;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const T* v = params_[i]->value.data();
      T* a = average_[i].data();
      const index_t n = params_[i]->numel();
      for (index_t j = 0; j < n; ++j) a[j] = d * a[j] + w * v[j];
    }
  }

  /// Exchanges the model's weights with the average (call again to undo).
  void swap() {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      T* v = params_[i]->value.data();
      T* a = average_[i].data();
      const index_t n = params_[i]->numel();
      for (index_t j = 0; j < n; ++j) std::swap(v[j], a[j]);
    }
  }

  /// The average of parameter `i` (state_dict order).
  const Tensor<T>& average(std::size_t i) const { return average_[i]; }

  // Checkpoints: the model tensors hold the average (the weights that were
  // evaluated, what `vhmn eval` and `predict` load) and "train.ema.live.<name>" the
  // trained weights the next step continues from, plus "train.ema.step".

  /// The trained weights and the update count; call while not swapped.
  std::vector<io::RawTensor> live_state(io::DType dtype) const {
    std::vector<io::RawTensor> out;
    for (Param<T>* p : params_) out.push_back(io::make_raw(std::string(kLivePrefix) + p->name, p->value, dtype));
    out.push_back(io::make_raw_i64("train.ema.step", {step_}));
    return out;
  }

  /// After the model was loaded from such a checkpoint (its weights are the
  /// average): takes them as the average and restores the trained weights.
  /// All or nothing, every tensor checked.
  void load_live_state(const io::SafetensorsFile& file, const std::string& source) {
    const io::RawTensor* step = file.find("train.ema.step");
    VHMN_CHECK(step, source << ": no EMA state ('train.ema.step' missing): the run was trained without an EMA");
    const auto words = io::to_int64_vector(*step);
    VHMN_CHECK(words.size() == 1 && words[0] >= 0, source << ": 'train.ema.step' must hold one count >= 0");
    std::vector<Tensor<T>> live;
    live.reserve(params_.size());
    for (Param<T>* p : params_) {
      const std::string name = std::string(kLivePrefix) + p->name;
      const io::RawTensor* t = file.find(name);
      VHMN_CHECK(t, source << ": EMA tensor '" << name << "' missing");
      VHMN_CHECK(t->shape == p->value.shape(), source << ": EMA tensor '" << name << "' has shape "
                                                      << shape_string(t->shape) << ", its parameter "
                                                      << shape_string(p->value.shape()));
      Tensor<T> v = io::to_tensor<T>(*t);
      for (index_t k = 0; k < v.numel(); ++k)
        VHMN_CHECK(std::isfinite(static_cast<double>(v[k])),
                   source << ": EMA tensor '" << name << "' holds a non-finite value at element " << k);
      live.push_back(std::move(v));
    }
    for (std::size_t i = 0; i < params_.size(); ++i) {
      // copied into the existing buffers: layers may hold their addresses
      std::copy(params_[i]->value.begin(), params_[i]->value.end(), average_[i].begin());
      std::copy(live[i].begin(), live[i].end(), params_[i]->value.begin());
    }
    step_ = words[0];
  }

  static constexpr const char* kLivePrefix = "train.ema.live.";

 private:
  ParamList<T> params_;
  std::vector<Tensor<T>> average_;
  double decay_;
  std::int64_t step_ = 0;
};

/// Swaps the average into the model for its lifetime and back at its end,
/// errors included; does nothing for a null average.
template <class T>
class AverageSwappedIn {
 public:
  explicit AverageSwappedIn(WeightAverage<T>* ema) : ema_(ema) {
    if (ema_) ema_->swap();
  }
  ~AverageSwappedIn() {
    if (ema_) ema_->swap();
  }
  AverageSwappedIn(const AverageSwappedIn&) = delete;
  AverageSwappedIn& operator=(const AverageSwappedIn&) = delete;

 private:
  WeightAverage<T>* ema_;
};

}  // namespace vhmn::train
