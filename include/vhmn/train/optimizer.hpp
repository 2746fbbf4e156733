// vhmn/train/optimizer.hpp — SGD with momentum, Adam and AdamW over a ParamList.
//
// What this represents: the update rule applied to every parameter after a
// backward, with its per-parameter state (momentum / first and second
// moments) kept in the parameter's precision.
//   SGD:   buf = mu buf + (g + wd p);          p -= lr buf   (nesterov: lr (g + mu buf))
//   Adam:  g' = g + wd p  (L2, coupled);       p -= lr mhat / (sqrt(vhat) + eps)
//   AdamW: as Adam on g, then p -= lr wd p     (decoupled weight decay)
// Weight decay applies only to parameters whose `decay` flag is set: never
// to biases, norms, betas or the positional embedding.
// Ensures: state() / load_state() round-trip the optimiser exactly (names
// "optim.<slot>.<param name>" plus "optim.step"), so a resumed run continues
// bit for bit.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "vhmn/core/profile.hpp"
#include "vhmn/io/safetensors.hpp"
#include "vhmn/nn/param.hpp"

namespace vhmn::train {

enum class OptimizerKind { SGD, Adam, AdamW };

inline OptimizerKind optimizer_kind_from_string(const std::string& s) {
  if (s == "sgd") return OptimizerKind::SGD;
  if (s == "adam") return OptimizerKind::Adam;
  if (s == "adamw") return OptimizerKind::AdamW;
  VHMN_FAIL("unknown optimizer '" << s << "' (known: sgd, adam, adamw)");
}
inline const char* optimizer_kind_name(OptimizerKind k) {
  return k == OptimizerKind::SGD ? "sgd" : k == OptimizerKind::Adam ? "adam" : "adamw";
}

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::AdamW;
  double weight_decay = 0.05;
  double momentum = 0.9;  // SGD
  bool nesterov = false;  // SGD
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW
};

template <class T>
class Optimizer {
 public:
  Optimizer(ParamList<T> params, OptimizerOptions options) : params_(std::move(params)), opt_(options) {
    VHMN_CHECK(opt_.weight_decay >= 0, "weight decay must be >= 0, got " << opt_.weight_decay);
    VHMN_CHECK(opt_.momentum >= 0 && opt_.momentum < 1, "momentum must be in [0, 1), got " << opt_.momentum);
    VHMN_CHECK(opt_.beta1 >= 0 && opt_.beta1 < 1 && opt_.beta2 >= 0 && opt_.beta2 < 1,
               "Adam betas must be in [0, 1), got " << opt_.beta1 << ", " << opt_.beta2);
    VHMN_CHECK(opt_.eps > 0, "Adam eps must be > 0, got " << opt_.eps);
    const int slots = opt_.kind == OptimizerKind::SGD ? 1 : 2;
    state_.resize(static_cast<std::size_t>(slots));
    for (auto& slot : state_) {
      slot.reserve(params_.size());
      for (Param<T>* p : params_) slot.emplace_back(p->value.shape());
    }
  }

  const OptimizerOptions& options() const { return opt_; }
  std::int64_t steps() const { return step_; }

  /// Applies one update with learning rate `lr` from the current gradients.
  void step(double lr) {
    VHMN_PROFILE("optimizer");
    ++step_;
    const double wd = opt_.weight_decay;
    if (opt_.kind == OptimizerKind::SGD) {
      const T mu = T(opt_.momentum), rate = T(lr);
      for (std::size_t i = 0; i < params_.size(); ++i) {
        Param<T>& p = *params_[i];
        if (p.frozen) continue;  // no update, no decay, momentum kept
        T* buf = state_[0][i].data();
        const T decay = p.decay ? T(wd) : T(0);
        for (index_t j = 0; j < p.numel(); ++j) {
          const T g = p.grad[j] + decay * p.value[j];
          buf[j] = mu * buf[j] + g;
          p.value[j] -= rate * (opt_.nesterov ? g + mu * buf[j] : buf[j]);
        }
      }
      return;
    }
    const double b1 = opt_.beta1, b2 = opt_.beta2;
    const double c1 = 1.0 - std::pow(b1, double(step_)), c2 = 1.0 - std::pow(b2, double(step_));
    const T step_size = T(lr / c1), inv_sqrt_c2 = T(1.0 / std::sqrt(c2)), eps = T(opt_.eps);
    const bool decoupled = opt_.kind == OptimizerKind::AdamW;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Param<T>& p = *params_[i];
      if (p.frozen) continue;
      T* m = state_[0][i].data();
      T* v = state_[1][i].data();
      const T decay = p.decay ? T(wd) : T(0);
      if (decoupled && p.decay) {
        const T shrink = T(1.0 - lr * wd);
        for (index_t j = 0; j < p.numel(); ++j) p.value[j] *= shrink;
      }
      for (index_t j = 0; j < p.numel(); ++j) {
        const T g = decoupled ? p.grad[j] : p.grad[j] + decay * p.value[j];
        m[j] = T(b1) * m[j] + T(1 - b1) * g;
        v[j] = T(b2) * v[j] + T(1 - b2) * g * g;
        p.value[j] -= step_size * m[j] / (std::sqrt(v[j]) * inv_sqrt_c2 + eps);
      }
    }
  }

  /// Optimiser state as named tensors (for checkpoints).
  std::vector<io::RawTensor> state(io::DType dtype) const {
    std::vector<io::RawTensor> out;
    out.push_back(io::make_raw_i64("optim.step", {step_}));
    for (std::size_t s = 0; s < state_.size(); ++s)
      for (std::size_t i = 0; i < params_.size(); ++i)
        out.push_back(io::make_raw(slot_name(s) + params_[i]->name, state_[s][i], dtype));
    return out;
  }
  /// Restores state written by state(); fails naming what is missing or mis-shaped.
  void load_state(const io::SafetensorsFile& file, const std::string& source) {
    const io::RawTensor* step = file.find("optim.step");
    VHMN_CHECK(step, source << ": no optimiser state ('optim.step' missing); cannot resume from it");
    const auto steps = io::to_int64_vector(*step);
    VHMN_CHECK(steps.size() == 1 && steps[0] >= 0, source << ": 'optim.step' is malformed");
    std::vector<std::vector<Tensor<T>>> staged(state_.size());
    for (std::size_t s = 0; s < state_.size(); ++s)
      for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string name = slot_name(s) + params_[i]->name;
        const io::RawTensor* raw = file.find(name);
        VHMN_CHECK(raw, source << ": missing optimiser state '" << name << "' (was it saved by another optimizer?)");
        VHMN_CHECK(raw->shape == params_[i]->value.shape(),
                   source << ": optimiser state '" << name << "' has shape " << shape_string(raw->shape)
                          << " but its parameter has " << shape_string(params_[i]->value.shape()));
        Tensor<T> t = io::to_tensor<T>(*raw);
        // A NaN here would only surface epochs later as a "non-finite loss".
        for (index_t k = 0; k < t.numel(); ++k)
          VHMN_CHECK(std::isfinite(static_cast<double>(t[k])),
                     source << ": optimiser state '" << name << "' holds a non-finite value (" << t[k]
                            << ") at element " << k);
        if (s == 1)  // Adam's second moment is a running mean of squares
          for (index_t k = 0; k < t.numel(); ++k)
            VHMN_CHECK(t[k] >= 0, source << ": optimiser state '" << name << "' holds a negative value (" << t[k]
                                         << ") at element " << k << "; a mean of squares cannot be negative");
        staged[s].push_back(std::move(t));
      }
    state_ = std::move(staged);
    step_ = steps[0];
  }

 private:
  std::string slot_name(std::size_t s) const {
    if (opt_.kind == OptimizerKind::SGD) return "optim.momentum.";
    return s == 0 ? "optim.exp_avg." : "optim.exp_avg_sq.";
  }

  ParamList<T> params_;
  OptimizerOptions opt_;
  std::vector<std::vector<Tensor<T>>> state_;  // [slot][param]
  std::int64_t step_ = 0;
};

/// Scales all gradients so their global L2 norm is at most max_norm (> 0).
/// Returns the norm before clipping (summed in double, parameters in order).
template <class T>
double clip_grad_norm(const ParamList<T>& params, double max_norm) {
  double sq = 0;
  for (const Param<T>* p : params)
    for (index_t j = 0; j < p->grad.numel(); ++j) sq += double(p->grad[j]) * double(p->grad[j]);
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const T scale = T(max_norm / (norm + 1e-6));
    for (Param<T>* p : params)
      for (auto& g : p->grad) g *= scale;
  }
  return norm;
}

/// Name of the first parameter whose gradient holds a NaN or Inf, or "".
template <class T>
std::string first_non_finite_grad(const ParamList<T>& params) {
  for (const Param<T>* p : params)
    for (index_t j = 0; j < p->grad.numel(); ++j)
      if (!std::isfinite(static_cast<double>(p->grad[j]))) return p->name;
  return "";
}

/// Linear warm-up from lr/warmup to lr, then cosine decay to min_lr at total_steps.
/// Shape of the learning-rate decay after warm-up.
enum class DecayShape { Cosine, Linear };
inline DecayShape decay_shape_from_string(const std::string& s) {
  if (s == "cosine") return DecayShape::Cosine;
  if (s == "linear") return DecayShape::Linear;
  VHMN_FAIL("unknown schedule '" << s << "' (known: cosine, linear)");
}
inline const char* decay_shape_name(DecayShape d) { return d == DecayShape::Cosine ? "cosine" : "linear"; }

/// Linear warm-up to `lr` over warmup_steps, then cosine (or linear) decay
/// to `min_lr` at total_steps.
struct WarmupCosine {
  double lr = 1e-3, min_lr = 0;
  std::int64_t warmup_steps = 0, total_steps = 1;
  DecayShape shape = DecayShape::Cosine;

  double at(std::int64_t step) const {  // step counts from 0
    if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
    const double span = double(std::max<std::int64_t>(1, total_steps - warmup_steps));
    const double progress = std::min(1.0, double(step - warmup_steps) / span);
    if (shape == DecayShape::Linear) return min_lr + (lr - min_lr) * (1.0 - progress);
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(3.14159265358979323846 * progress));
  }
};

}  // namespace vhmn::train
