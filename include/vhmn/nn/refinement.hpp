// vhmn/nn/refinement.hpp — T steps of predictive-coding refinement against a bank.
//
// What this represents: refine(q; M, beta) of docs/spec.md §3,
//   z_0 = q;   z_{t+1} = z_t + beta (retrieve(z_t; M) - z_t),   t < T
// with a learnable scalar beta (init 0.2). T = 0, or a bank with no written
// slot, returns q unchanged. The bank is constant for autodiff.
// Ensures: after forward(), the retrieval weights of every step and the slot
// numbers they refer to stay readable (interpretability) until the next
// forward; backward() uses only cached values, so bank writes between the
// forward and the backward change nothing.
// bf16 mode (set_precision): the retrieval products take bf16 operands. The
// gathered slots are kept as bf16 (values and unit rows; the fp32 copies of
// fp32 mode are not kept: only the products read them), and packed once per
// forward and once per backward into panels that every block's refinement
// shares (blocks run one after another): two slot-sized panel buffers per
// model, not per block.
// Inference fast path: with set_keep_weights(false) (no backward coming)
// and set_record(false) (nobody reads attention()), the (R, n_written)
// weights are never stored; both are on by default.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "vhmn/core/extent.hpp"
#include "vhmn/core/profile.hpp"
#include "vhmn/core/workspace.hpp"
#include "vhmn/nn/memory_bank.hpp"
#include "vhmn/nn/param.hpp"
#include "vhmn/ops/retrieval.hpp"

namespace vhmn {

template <class T, int Latent = Dynamic>
class HopfieldRefinement {
 public:
  HopfieldRefinement() = default;
  /// iters = T >= 0; inv_temperature <= 0 selects the default sqrt(L).
  HopfieldRefinement(const std::string& prefix, index_t latent, index_t iters, double inv_temperature)
      : latent_(latent, "latent dim L"), iters_(iters) {
    VHMN_CHECK(iters >= 0, "refinement iterations T must be >= 0, got " << iters);
    tau_ = static_cast<T>(inv_temperature > 0 ? inv_temperature : std::sqrt(static_cast<double>(latent)));
    beta.init(prefix + "beta", {1}, false);
    beta.value[0] = T(0.2);
  }

  Param<T> beta;  // [1]

  index_t latent() const { return latent_(); }
  index_t iters() const { return iters_; }
  void set_iters(index_t iters) {
    VHMN_CHECK(iters >= 0, "refinement iterations T must be >= 0, got " << iters);
    iters_ = iters;
  }
  T inv_temperature() const { return tau_; }
  /// Arithmetic of the retrieval products (core/precision.hpp; default FP32).
  void set_precision(Precision p) { precision_ = p; }

  /// Keep the retrieval weights readable through attention() (default on).
  void set_record(bool on) { record_ = on; }
  bool record() const { return record_; }
  /// Keep what backward() needs (default on). Off: forward only, no backward.
  void set_keep_weights(bool on) { keep_weights_ = on; }
  bool keep_weights() const { return keep_weights_; }

  // z = refine(q); q, z: (R, L). The bank is read once per call.
  void forward(T* z, const T* q, index_t R, const MemoryBank<T>& bank) {
    VHMN_PROFILE("retrieval");
    const index_t L = latent();
    rows_ = R;
    step_precision_ = precision_;
    slots_ = gather_slots(bank);
    steps_ = (slots_.slots > 0) ? iters_ : 0;
    const index_t S = slots_.slots;
    stored_ = record_ || keep_weights_;
    z_.resize({steps_ + 1, R, L});
    std::copy(q, q + R * L, z_.data());
    if (steps_ > 0) {
      zh_.resize({steps_, R, L});
      norm_.resize({steps_, R});
      if (stored_) attn_.resize({steps_, R, S});
      m_.resize({steps_, R, L});
    }
    const T b = beta.value[0];
    // s = tau zh Mh^T takes Mh as B^T, m = a M takes M as B
    const ops::SlotPacks packs = steps_ > 0 ? pack_slots(true) : ops::SlotPacks{};
    for (index_t t = 0; t < steps_; ++t) {
      const T* zt = z_.data() + t * R * L;
      ops::retrieval_forward(m_.data() + t * R * L, stored_ ? attn_.data() + t * R * S : nullptr, zh_.data() + t * R * L,
                             norm_.data() + t * R, zt, slots_, tau_, R, L, step_precision_, packs);
      ops::refine_update_forward(z_.data() + (t + 1) * R * L, zt, m_.data() + t * R * L, b, R * L);
    }
    std::copy(z_.data() + steps_ * R * L, z_.data() + (steps_ + 1) * R * L, z);
  }

  // Backward: dq += d refine / dq (dz);  beta.grad += d/d beta.   dz, dq: (R, L)
  void backward(T* dq, const T* dz, index_t R) {
    VHMN_PROFILE("retrieval.bwd");
    VHMN_CHECK(R == rows_, "refinement backward with " << R << " rows after a forward of " << rows_);
    VHMN_CHECK(steps_ == 0 || stored_, "refinement backward after a forward that kept no retrieval weights "
                                       "(set_keep_weights(false))");
    const index_t L = latent(), S = slots_.slots;
    if (steps_ == 0) {
      simd::add_to(R * L, dz, dq);
      return;
    }
    Tensor<T>& grad_next = bw_->grad_next;
    Tensor<T>& grad_cur = bw_->grad_cur;
    Tensor<T>& dm = bw_->dm;
    Tensor<T>& dzh = bw_->dzh;
    grad_next.resize({R, L});
    grad_cur.resize({R, L});
    dm.resize({R, L});
    dzh.resize({R, L});
    std::copy(dz, dz + R * L, grad_next.data());
    const T b = beta.value[0];
    // da = dm M^T takes M as B^T, dzh = tau ds Mh takes Mh as B
    const ops::SlotPacks packs = pack_slots(false);
    T dbeta = T(0);
    for (index_t t = steps_ - 1; t >= 0; --t) {
      const T* zt = z_.data() + t * R * L;
      const T* mt = m_.data() + t * R * L;
      grad_cur.zero();
      dbeta += ops::refine_update_backward(grad_cur.data(), dm.data(), grad_next.data(), zt, mt, b, R, L);
      ops::retrieval_backward(grad_cur.data(), static_cast<T*>(nullptr), dzh.data(), dm.data(), attn_.data() + t * R * S,
                              zh_.data() + t * R * L, norm_.data() + t * R, slots_, tau_, R, L, step_precision_,
                              packs);
      std::swap(grad_cur, grad_next);
    }
    simd::add_to(R * L, grad_next.data(), dq);
    beta.grad[0] += dbeta;
  }

  void collect_params(ParamList<T>& out) { out.push_back(&beta); }
  /// Use other's backward workspaces (see core/workspace.hpp).
  void share_workspace(const HopfieldRefinement& other) {
    bw_.share(other.bw_);
    bf16_.share(other.bf16_);
  }

  // ---- inspection of the last forward ----
  /// Retrieval steps actually run (0 when T = 0 or the bank was empty).
  index_t steps_run() const { return steps_; }
  /// Written slots the last forward retrieved from, in column order of attention().
  const std::vector<index_t>& slot_ids() const { return slot_ids_; }
  /// Retrieval weights of step t: (R, n_written), rows sum to 1. Null when
  /// the last forward stored none (set_record(false) and set_keep_weights(false)).
  const T* attention(index_t t) const { return stored_ ? attn_.data() + t * rows_ * slots_.slots : nullptr; }

 private:
  Extent<Latent> latent_;
  index_t iters_ = 1;
  T tau_ = T(1);
  Precision precision_ = Precision::FP32;
  Precision step_precision_ = Precision::FP32;  // of the last forward, so also of its backward
  // Frozen bank view for the current forward/backward: fp32 copies (fp32
  // mode) or bf16 copies (bf16 mode, float models), (slots, L) each.
  Tensor<T> slot_values_, slot_unit_;
  std::vector<bf16, AlignedAllocator<bf16>> slot_values_bf16_, slot_unit_bf16_;
  std::vector<index_t> slot_ids_;
  ops::SlotView<T> slots_;
  index_t rows_ = 0, steps_ = 0;
  bool record_ = true, keep_weights_ = true, stored_ = true;
  // Forward cache: z_t (T+1, R, L), zh_t (T, R, L), |z_t| (T, R), a_t (T, R, S), m_t (T, R, L)
  Tensor<T> z_, zh_, norm_, attn_, m_;
  // Backward workspaces, (R, L) each
  struct Backward {
    Tensor<T> grad_next, grad_cur, dm, dzh;
  };
  SharedWorkspace<Backward> bw_;
  // bf16 mode: the frozen slots rounded once for the products of the
  // running forward or backward (ops::SlotPacks).
  struct Bf16Slots {
    ops::Bf16PackedB scores, values;
  };
  SharedWorkspace<Bf16Slots> bf16_;

  bool bf16_slots() const { return std::is_same_v<T, float> && step_precision_ == Precision::BF16; }

  /// Compacts the bank's written slots for this forward (bf16 copies in
  /// bf16 mode, fp32 copies else) and frees the other kind's buffers.
  ops::SlotView<T> gather_slots(const MemoryBank<T>& bank) {
    if constexpr (std::is_same_v<T, float>) {
      if (bf16_slots()) {
        const index_t S = bank.gather_written_bf16(slot_values_bf16_, slot_unit_bf16_, slot_ids_);
        slot_values_ = Tensor<T>();  // frees the fp32 copies of an fp32 forward
        slot_unit_ = Tensor<T>();
        return ops::SlotView<T>{nullptr, nullptr, S};
      }
    }
    slot_values_bf16_ = decltype(slot_values_bf16_)();  // frees the bf16 copies of a bf16 forward
    slot_unit_bf16_ = decltype(slot_unit_bf16_)();
    return bank.gather_written(slot_values_, slot_unit_, slot_ids_);
  }

  /// In bf16 mode, packs the slots as the two retrieval products' B operands:
  ///   forward:  Mh (S, L) as B^T of s = tau zh Mh^T,  M as B of m = a M
  ///   backward: M as B^T of da = dm M^T,              Mh as B of dzh = tau ds Mh
  /// Else none (the fp32 products read the SlotView).
  ops::SlotPacks pack_slots(bool forward) {
    if constexpr (std::is_same_v<T, float>) {
      if (bf16_slots()) {
        const index_t S = slots_.slots, L = latent();
        const bf16* unit = slot_unit_bf16_.data();
        const bf16* values = slot_values_bf16_.data();
        bf16_->scores.pack(forward ? unit : values, L, S, ops::Trans::Yes);
        bf16_->values.pack(forward ? values : unit, S, L, ops::Trans::No);
        return {&bf16_->scores, &bf16_->values};
      }
    }
    (void)forward;
    return {};
  }
};

}  // namespace vhmn
