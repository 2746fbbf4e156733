// vhmn/nn/vhmn_model.hpp — the whole Vision Hopfield Memory Network.
//
// What this represents (docs/spec.md §1-§5):
//   X_0    = PatchEmbed(images)                          (B, N, D)
//   X_i+1  = HMNBlock_i(X_i)                             i < depth
//   logits = head(AttentionPool(LayerNorm_f(X_depth)))   (B, K)
// plus the memory banks of every block, written by remember() after a
// training forward and frozen otherwise.
// Use:
//   VHMN<float> model(ModelConfig::preset("cifar-small"), /*seed=*/0);
//   const float* logits = model.forward(images, B);      // caches for backward
//   model.zero_grad(); model.backward(dlogits);           // grads in parameters()
//   model.remember(labels, sample_ids);                   // training only
// Backbone use (timm's names): forward_features() / backward_features(),
// reset_classifier(K), freeze("pattern") / unfreeze("pattern").
// Overlap hook: set_grad_ready_hook(f) has backward() call f(GradGroup)
// as each group of parameters gets its final gradient (data-parallel
// training starts that group's all-reduce there, train/data_parallel.hpp).
// Requires: images are (B, C, H, W), already normalised. Buffers returned by
// forward() stay valid until the next forward().
// Precision: model.set_precision(Precision::BF16) runs every large matrix
// product with bfloat16 operands and fp32 accumulation (float models only;
// docs/architecture.md says what is rounded where). Default FP32.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vhmn/core/profile.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/nn/attention_pool.hpp"
#include "vhmn/nn/hmn_block.hpp"
#include "vhmn/nn/model_config.hpp"
#include "vhmn/nn/patch_embed.hpp"

namespace vhmn {

/// Parameters [first, last) of VHMN::parameters() whose gradients the running
/// backward has finished: nothing later in that backward touches them.
struct GradGroup {
  index_t first = 0, last = 0;
};

template <class T, int Dim = Dynamic, int Latent = Dynamic>
class VHMN {
 public:
  using Block = HMNBlock<T, Dim, Latent>;

  /// Builds the model and initialises it per docs/spec.md §6 from `seed`.
  explicit VHMN(const ModelConfig& config, std::uint64_t seed = 0) : config_(config), memory_rng_(seed ^ 0x6d656d6fULL) {
    config_.validate();
    patch_embed = PatchEmbed<T, Dim>(config.image, config.channels, config.patch, config.dim);
    BlockShape s;
    s.grid = config.grid();
    s.dim = config.dim;
    s.latent = config.latent;
    s.window = config.window;
    s.local_slots = config.local_slots;
    s.global_slots = config.global_slots;
    s.classes = config.classes;
    s.hidden = config.hidden();
    s.iters = config.iters;
    s.inv_temperature = config.inv_temperature;
    blocks.reserve(static_cast<std::size_t>(config.depth));
    for (index_t i = 0; i < config.depth; ++i)
      blocks.push_back(std::make_unique<Block>("blocks." + std::to_string(i) + ".", s));
    // Blocks run backward one after another: one set of backward workspaces serves all.
    for (std::size_t i = 1; i < blocks.size(); ++i) blocks[i]->share_workspace(*blocks[0]);
    norm = LayerNorm<T, Dim>("norm.", config.dim);
    pool = AttentionPool<T, Dim>("pool.", config.dim);
    head = Linear<T, Dim, Dynamic>("head.", config.dim, config.classes);
    Rng rng(seed);
    init(rng);
  }

  PatchEmbed<T, Dim> patch_embed;
  std::vector<std::unique_ptr<Block>> blocks;  // stable addresses: layers keep pointers
  LayerNorm<T, Dim> norm;
  AttentionPool<T, Dim> pool;
  Linear<T, Dim, Dynamic> head;

  const ModelConfig& config() const { return config_; }

  /// Re-initialises every parameter (docs/spec.md §6). Banks are left as they are.
  void init(Rng& rng) {
    patch_embed.init(rng);
    for (auto& b : blocks) b->init(rng);
    norm.init(rng);
    pool.init(rng);
    head.init(rng);
  }

  /// Every parameter, in docs/spec.md §7 order.
  ParamList<T> parameters() {
    ParamList<T> list;
    patch_embed.collect_params(list);
    for (auto& b : blocks) b->collect_params(list);
    norm.collect_params(list);
    pool.collect_params(list);
    head.collect_params(list);
    return list;
  }
  void zero_grad() {
    // collected into a kept list: no allocation once it has its size
    zero_list_.clear();
    patch_embed.collect_params(zero_list_);
    for (auto& b : blocks) b->collect_params(zero_list_);
    norm.collect_params(zero_list_);
    pool.collect_params(zero_list_);
    head.collect_params(zero_list_);
    for (Param<T>* p : zero_list_) p->grad.zero();
  }

  /// Training mode: remember() may write the banks. Eval mode never writes.
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }

  /// Keep every path's retrieval weights readable through
  /// HopfieldRefinement::attention() after each forward (default on).
  void set_record_retrieval(bool on) {
    for (auto& b : blocks) {
      b->local.path.refine.set_record(on);
      b->global.path.refine.set_record(on);
    }
  }
  bool record_retrieval() const { return blocks.empty() || blocks[0]->local.path.refine.record(); }
  /// Forward-only mode (like torch.no_grad): when on, forward() keeps
  /// nothing that only backward() needs, and backward() must not be called.
  /// Off by default. Together with set_record_retrieval(false) this is the
  /// fastest inference path.
  void set_no_grad(bool on) {
    for (auto& b : blocks) {
      b->local.path.refine.set_keep_weights(!on);
      b->global.path.refine.set_keep_weights(!on);
    }
  }
  bool no_grad() const { return !blocks.empty() && !blocks[0]->local.path.refine.keep_weights(); }

  /// Arithmetic of every large matrix product, forward and backward
  /// (core/precision.hpp). BF16 needs T = float; parameters, gradients,
  /// banks and everything between the products stay fp32, so switching
  /// back and forth at any time between steps is safe.
  void set_precision(Precision p) {
    check_precision_supported<T>(p);
    precision_ = p;
    patch_embed.set_precision(p);
    for (auto& b : blocks) b->set_precision(p);
    head.set_precision(p);
  }
  Precision precision() const { return precision_; }

  /// Overrides T (refinement iterations) of every memory path, e.g. the T = 0 ablation.
  void set_iters(index_t iters) {
    config_.iters = iters;
    for (auto& b : blocks) {
      b->local.path.refine.set_iters(iters);
      b->global.path.refine.set_iters(iters);
    }
  }

  // images: (B, C, H, W). Returns logits (B, K), owned by the model.
  template <class In>
  const T* forward(const In* images, index_t B) {
    const Features f = forward_features(images, B);
    VHMN_PROFILE("head");
    logits_.resize({B, config_.classes});
    head.forward(logits_.data(), f.pooled, B);
    return logits_.data();
  }
  const Tensor<T>& logits() const { return logits_; }

  /// What the backbone gives a head (timm's forward_features): the tokens
  /// after the final norm and the attention-pooled vector. Owned by the
  /// model, valid until the next forward.
  struct Features {
    const T* tokens = nullptr;  // (B, N, D)
    const T* pooled = nullptr;  // (B, D)
    index_t batch = 0, num_tokens = 0, dim = 0;
  };
  /// Everything but the head. backward_features() is its backward.
  template <class In>
  Features forward_features(const In* images, index_t B) {
    VHMN_CHECK(B > 0, "forward needs a batch of at least one image, got " << B);
    batch_ = B;
    const index_t N = config_.tokens();
    const T* x = patch_embed.forward(images, B);
    for (auto& b : blocks) x = b->forward(x, B);
    last_tokens_ = x;
    const T* v = norm.forward(x, B * N);
    VHMN_PROFILE("head");
    const T* z = pool.forward(v, B, N);
    return Features{v, z, B, N, config_.dim};
  }

  /// Backward of the last forward. dlogits: (B, K). Gradients accumulate into
  /// parameters() (call zero_grad() first). Layers below the lowest one with
  /// a trainable parameter are not run (a frozen backbone costs the head's
  /// backward only), and frozen Linear weights get no gradient product.
  void backward(const T* dlogits) {
    const index_t B = batch_, D = config_.dim;
    const index_t lowest = lowest_trainable_stage();
    {
      VHMN_PROFILE("head.bwd");
      dpooled_.resize_zero({B, D});
      head.backward(lowest < head_stage() ? dpooled_.data() : nullptr, dlogits, pool.output(), B);
    }
    backbone_backward(nullptr, dpooled_.data(), lowest);
  }
  /// Backward of forward_features(): dtokens (B, N, D) and dpooled (B, D),
  /// either may be null (no gradient from it). Same rules as backward().
  void backward_features(const T* dtokens, const T* dpooled) {
    const index_t B = batch_, D = config_.dim;
    dpooled_.resize_zero({B, D});
    if (dpooled) std::copy(dpooled, dpooled + B * D, dpooled_.data());
    backbone_backward(dtokens, dpooled_.data(), lowest_trainable_stage());
  }

  /// Called by backward() and backward_features() once per group of
  /// parameters, as soon as the group's gradients are final, in backward
  /// order: {norm, pool, head}, blocks.{depth-1} ... blocks.0, then
  /// {patch_embed, pos_embed}. A group whose every parameter is frozen is
  /// skipped. The hook runs on the calling thread, between layers (never
  /// inside a parallel region). Unset (the default): one null check per group.
  using GradReadyHook = std::function<void(GradGroup)>;
  void set_grad_ready_hook(GradReadyHook hook) { grad_ready_ = std::move(hook); }
  const GradReadyHook& grad_ready_hook() const { return grad_ready_; }

  /// Freezes (or with frozen = false unfreezes) every parameter whose name
  /// matches the glob `pattern` ('*' any characters, '?' one), e.g.
  /// "blocks.*" or "*" then unfreeze("head.*"). Returns how many matched;
  /// none is an error. Frozen: no gradient where the kernels can skip it, no
  /// optimiser update.
  index_t freeze(const std::string& pattern, bool frozen = true) { return set_frozen(parameters(), pattern, frozen); }
  index_t unfreeze(const std::string& pattern) { return freeze(pattern, false); }

  /// A new head for `classes` classes (timm's reset_classifier): head
  /// re-initialised per docs/spec.md §6 from `seed`, slot counts rounded down to a
  /// multiple of `classes` (at least one slot per class), every bank
  /// cleared; everything else (weights, frozen flags, precision, modes) kept.
  /// Build optimisers and trainers after this: the head's shape changed.
  void reset_classifier(index_t classes, std::uint64_t seed = 0) {
    VHMN_CHECK(classes > 0, "reset_classifier: the number of classes must be positive, got " << classes);
    ModelConfig c = config_;
    c.classes = classes;
    c.local_slots = std::max(classes, c.local_slots / classes * classes);
    c.global_slots = std::max(classes, c.global_slots / classes * classes);
    c.validate();
    config_ = c;
    head = Linear<T, Dim, Dynamic>("head.", c.dim, classes);
    head.set_precision(precision_);
    Rng rng(seed);
    head.init(rng);
    for (auto& b : blocks) {
      b->local.path.bank.reset(c.local_slots, c.latent, classes);
      b->global.path.bank.reset(c.global_slots, c.latent, classes);
    }
    logits_.resize({0, classes});
  }

  /// Writes the last forward's queries into the banks (docs/spec.md §4): for every
  /// block, each sample's global query q_g, and its local queries q_n at
  /// `local_writes` token positions drawn from the model's memory generator,
  /// all under the sample's label, with the sample id as provenance.
  /// labels, sample_ids: (B). Fails in eval mode: eval never writes.
  void remember(const std::int32_t* labels, const std::int64_t* sample_ids) {
    VHMN_PROFILE("bank_writes");
    VHMN_CHECK(training_, "remember() called in eval mode: memory banks are frozen at inference");
    const index_t B = batch_, N = config_.tokens(), L = config_.latent;
    for (index_t b = 0; b < B; ++b)
      VHMN_CHECK(labels[b] >= 0 && labels[b] < config_.classes,
                 "label " << labels[b] << " of sample " << b << " is outside [0, " << config_.classes << ")");
    for (auto& blk : blocks) {
      const T* q_local = blk->local.path.queries().data();   // (B*N, L)
      const T* q_global = blk->global.path.queries().data(); // (B, L)
      for (index_t b = 0; b < B; ++b) {
        for (index_t w = 0; w < config_.local_writes; ++w) {
          const index_t n = memory_rng_.below(N);
          blk->local.path.bank.write(labels[b], q_local + (b * N + n) * L, sample_ids[b], n);
        }
        blk->global.path.bank.write(labels[b], q_global + b * L, sample_ids[b], -1);
      }
    }
  }

  /// Generator that picks the token positions of local bank writes.
  Rng& memory_rng() { return memory_rng_; }

  /// Tokens entering the head in the last forward: (B, N, D).
  const T* last_tokens() const { return last_tokens_; }
  index_t last_batch() const { return batch_; }

 private:
  // Stages in forward order: 0 patch_embed, 1..depth blocks, then norm, pool, head.
  index_t head_stage() const { return static_cast<index_t>(blocks.size()) + 3; }
  index_t lowest_trainable_stage() {
    const index_t depth = static_cast<index_t>(blocks.size());
    for (index_t s = 0; s <= head_stage(); ++s) {
      stage_list_.clear();  // kept: no allocation once it has its size
      if (s == 0) patch_embed.collect_params(stage_list_);
      else if (s <= depth) blocks[static_cast<std::size_t>(s - 1)]->collect_params(stage_list_);
      else if (s == depth + 1) norm.collect_params(stage_list_);
      else if (s == depth + 2) pool.collect_params(stage_list_);
      else head.collect_params(stage_list_);
      if (any_trainable(stage_list_)) return s;
    }
    return head_stage() + 1;  // all frozen
  }
  // From the pool's output (dpooled, (B, D), consumed) and the normed tokens
  // (dtokens, (B, N, D), may be null) down to stage `lowest`.
  void backbone_backward(const T* dtokens, const T* dpooled, index_t lowest) {
    const index_t B = batch_, N = config_.tokens(), D = config_.dim;
    const index_t depth = static_cast<index_t>(blocks.size());
    const index_t tail = depth + 1;  // the group {norm, pool, head}
    if (grad_ready_) index_groups();
    if (lowest > depth + 2) {
      group_done(tail);
      return;
    }
    {
      VHMN_PROFILE("head.bwd");
      dv_.resize_zero({B * N, D});
      if (dtokens) std::copy(dtokens, dtokens + B * N * D, dv_.data());
      pool.backward(dv_.data(), dpooled);
    }
    if (lowest > depth + 1) {
      group_done(tail);
      return;
    }
    dx_.resize_zero({B * N, D});
    norm.backward(dx_.data(), dv_.data());
    group_done(tail);
    for (index_t i = depth - 1; i >= 0 && i + 1 >= lowest; --i) {
      dx_prev_.resize_zero({B * N, D});
      blocks[static_cast<std::size_t>(i)]->backward(dx_prev_.data(), dx_.data());
      std::swap(dx_, dx_prev_);
      group_done(i + 1);
    }
    if (lowest == 0) {
      patch_embed.backward(dx_.data());
      group_done(0);
    }
  }

  // Groups of the grad-ready hook: 0 patch_embed, 1..depth the blocks,
  // depth + 1 {norm, pool, head}; group g is parameters()[end[g-1], end[g]).
  void index_groups() {
    group_params_.clear();  // kept: no allocation once they have their size
    group_end_.clear();
    auto end_group = [&] { group_end_.push_back(static_cast<index_t>(group_params_.size())); };
    patch_embed.collect_params(group_params_);
    end_group();
    for (auto& b : blocks) {
      b->collect_params(group_params_);
      end_group();
    }
    norm.collect_params(group_params_);
    pool.collect_params(group_params_);
    head.collect_params(group_params_);
    end_group();
  }
  void group_done(index_t g) {
    if (grad_ready_) report_group(g);
  }
  void report_group(index_t g) {
    const GradGroup group{g == 0 ? 0 : group_end_[static_cast<std::size_t>(g - 1)],
                          group_end_[static_cast<std::size_t>(g)]};
    for (index_t i = group.first; i < group.last; ++i)
      if (!group_params_[static_cast<std::size_t>(i)]->frozen) {
        grad_ready_(group);
        return;
      }
  }

  ModelConfig config_;
  Rng memory_rng_;
  bool training_ = false;
  Precision precision_ = Precision::FP32;
  index_t batch_ = 0;
  const T* last_tokens_ = nullptr;
  ParamList<T> zero_list_;                        // zero_grad()'s parameter list
  ParamList<T> stage_list_;                       // lowest_trainable_stage()'s
  GradReadyHook grad_ready_;                      // null: no hook
  ParamList<T> group_params_;                     // parameters(), for the hook's groups
  std::vector<index_t> group_end_;                // (depth + 2) group ends in it
  Tensor<T> logits_;                              // (B, K)
  Tensor<T> dpooled_, dv_, dx_, dx_prev_;         // backward workspaces
};

}  // namespace vhmn
