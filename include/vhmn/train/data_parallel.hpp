// vhmn/train/data_parallel.hpp — what one rank of a data-parallel run does
// at the Trainer's hooks, over any Communicator (train/communicator.hpp).
//
// What this represents: R ranks train one model on one global batch of B
// samples per step (B stays the --batch the user gave):
//   sampler   every rank's loader builds the whole global batch from the
//             seed (same shuffle, same augmentation, MixUp/CutMix partners
//             across the whole batch) and keeps rows [first, first + count):
//             count = B/R, the first B%R ranks one more (share_of)
//   loss      dlogits = (p - t) / B with the global B, so the summed
//             gradients are those of the global batch's mean loss
//   gradients sum over ranks, before the finite check and the clip, so
//             every rank takes the same optimiser step. Overlap on (the
//             default, docs/scaling.md measures it): each parameter group
//             is packed into its place of one flat buffer and its
//             non-blocking sum started from the model's grad-ready hook
//             while the backward of the layers below still runs; the step
//             waits for all of them before the finite check. Overlap off:
//             one blocking all-reduce of the flat buffer after backward.
//             Either way each element is the same sum over the ranks (with
//             2 ranks a + b, the same bits; docs/scaling.md on R > 2)
//   banks     each rank packs the bank writes of its own samples (the rows
//             the memory generator picks, drawn for the whole global batch
//             in single-process order); all ranks gather every rank's pack
//             and apply the writes in global-batch order, so the banks equal
//             a single process's that wrote the whole batch
//   checks    every check_every steps and before every checkpoint the ranks
//             compare 64-bit checksums of every parameter, bank, optimiser
//             state and the memory generator; a mismatch stops training on
//             every rank with an error naming the step and the first tensor
//   eval      rank r evaluates its share of the test set; sums are reduced
// Rank 0 alone writes the run directory (the Trainer asks writes_files()).
// Requires: every batch gives every rank at least one sample (checked).
// Cost: each rank augments the whole global batch (R times the loader work
// of a sharded sampler) — that is what keeps batches, MixUp partners
// included, independent of R.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vhmn/data/loader.hpp"
#include "vhmn/train/communicator.hpp"
#include "vhmn/train/evaluate.hpp"
#include "vhmn/train/optimizer.hpp"

namespace vhmn::train {

struct DataParallelOptions {
  std::shared_ptr<Communicator> communicator;  // null, or size() 1: one process (the code path of no communicator)
  std::int64_t check_every = 100;              // steps between checksum comparisons; 0: only at checkpoints
  // Start each parameter group's gradient sum during the backward (true) or
  // sum all gradients in one blocking all-reduce after it (false). The same
  // bits either way; `vhmn train` reads VHMN_MPI_OVERLAP (overlap_from_environment).
  bool overlap = true;
};

/// DataParallelOptions::overlap from the environment variable
/// VHMN_MPI_OVERLAP: "1" or "on", "0" or "off"; `fallback` when unset or empty.
inline bool overlap_from_environment(bool fallback) {
  const char* value = std::getenv("VHMN_MPI_OVERLAP");
  if (!value || !*value) return fallback;
  const std::string v(value);
  if (v == "1" || v == "on") return true;
  if (v == "0" || v == "off") return false;
  VHMN_FAIL("environment variable VHMN_MPI_OVERLAP must be 1 or on (gradient sums overlap the backward), 0 or off "
            "(one all-reduce after it), got '"
            << v << "'");
}

/// Rows [first, first + count) of a global batch of B that rank `rank` of `ranks` computes.
struct Share {
  index_t first = 0, count = 0;
};
inline Share share_of(index_t B, int rank, int ranks) {
  const index_t base = B / ranks, extra = B % ranks;
  return {rank * base + std::min<index_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

/// 64-bit FNV-1a over bytes (a mismatch detector, not a cryptographic hash).
inline std::uint64_t checksum_bytes(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

/// Time and volume a rank spent communicating (for `vhmn train`'s report and docs/scaling.md).
struct CommStats {
  std::int64_t steps = 0;
  double gradient_s = 0, bank_s = 0;  // in the gradient sums (packing, starting, waiting) / the bank gather
  double wait_s = 0;                  // of gradient_s: in the final wait (overlap off: the all-reduce itself)
  std::int64_t gradient_bytes = 0, bank_bytes = 0;  // last step: this rank's contribution
  std::int64_t gradient_buckets = 0;               // last step: sums started (overlap off: 1)
};

template <class T>
class DataParallel {
 public:
  DataParallel(std::shared_ptr<Communicator> comm, std::int64_t check_every,
               bool overlap = DataParallelOptions{}.overlap)
      : comm_(std::move(comm)), check_every_(check_every), overlap_(overlap) {
    VHMN_CHECK(comm_ && comm_->size() >= 1, "data-parallel training needs a communicator");
    VHMN_CHECK(check_every_ >= 0, "checksum interval must be >= 0 steps, got " << check_every_);
  }

  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }
  Communicator& communicator() { return *comm_; }
  bool writes_files() const { return rank() == 0; }
  bool overlap() const { return overlap_; }
  const CommStats& stats() const { return stats_; }
  bool check_due(std::int64_t step) const { return check_every_ > 0 && step % check_every_ == 0; }

  /// Fails unless every batch of an epoch (N samples, batch B) gives each of the R ranks a sample.
  void check_batches(index_t N, index_t B, bool drop_last) const {
    const index_t R = size();
    VHMN_CHECK(B >= R, "data-parallel training with " << R << " ranks needs a global batch of at least " << R
                                                      << " samples, got --batch " << B);
    const index_t last = N % B;
    VHMN_CHECK(drop_last || last == 0 || last >= R,
               "data-parallel training with " << R << " ranks: the last batch of an epoch holds only " << last
                                               << " samples (" << N << " samples, batch " << B
                                               << "), fewer than the ranks; drop the last batch "
                                                  "(LoaderOptions::drop_last) or choose another batch size");
  }

  /// This rank's rows of the global batch (a view kept until the next slice()).
  const data::BasicBatch<T>& slice(const data::BasicBatch<T>& global) {
    global_batch_ = global.size();
    share_ = share_of(global_batch_, rank(), size());
    const index_t first = share_.first, n = share_.count;
    const Shape& is = global.images.shape();
    const index_t per_image = global.images.numel() / std::max<index_t>(global_batch_, 1);
    const index_t K = global.targets.dim(1);
    local_.images.resize({n, is[1], is[2], is[3]});
    local_.targets.resize({n, K});
    std::copy(global.images.data() + first * per_image, global.images.data() + (first + n) * per_image,
              local_.images.data());
    std::copy(global.targets.data() + first * K, global.targets.data() + (first + n) * K, local_.targets.data());
    local_.labels.assign(global.labels.begin() + first, global.labels.begin() + first + n);
    local_.indices.assign(global.indices.begin() + first, global.indices.begin() + first + n);
    local_.epoch = global.epoch;
    local_.number = global.number;
    return local_;
  }
  index_t global_batch() const { return global_batch_; }

  /// What every rank does about the next step, agreed: stop if any rank was
  /// asked to or ran out of time; the rate is rank 0's (time budgets read
  /// each rank's own clock).
  struct StepPlan {
    bool stop = false, out_of_time = false;
    double lr = 0;
  };
  StepPlan agree(bool stop, bool out_of_time, double lr) {
    double v[3] = {stop ? 1.0 : 0.0, out_of_time ? 1.0 : 0.0, rank() == 0 ? lr : 0.0};
    comm_->sum(v, 3);
    return {v[0] > 0, v[1] > 0, v[2]};
  }

  /// The global batch's mean loss and count of right answers from this rank's.
  std::pair<double, double> step_totals(double local_mean_loss, double local_correct) {
    double v[2] = {local_mean_loss * double(share_.count), local_correct};
    comm_->sum(v, 2);
    return {v[0] / double(global_batch_), v[1]};
  }

  /// Before backward(): this step's gradients of `params` (parameters()
  /// order; kept by reference until sum_gradients()) are about to be computed.
  void begin_gradients(const ParamList<T>& params) {
    params_ = &params;
    grad_at_.resize(params.size() + 1);  // where each gradient sits in flat_
    grad_at_[0] = 0;
    for (std::size_t i = 0; i < params.size(); ++i)
      grad_at_[i + 1] = grad_at_[i] + static_cast<std::size_t>(params[i]->grad.numel());
    flat_.resize(grad_at_.back());
    started_.assign(params.size(), 0);
    stats_.gradient_buckets = 0;
  }

  /// The model's grad-ready hook (overlap on): parameters [first, last) of
  /// begin_gradients()'s list have their final gradients; pack them into
  /// their place in the flat buffer and start their sum. Each call also lets
  /// the sums started before it advance.
  void gradients_ready(GradGroup group) {
    const auto start = std::chrono::steady_clock::now();
    VHMN_CHECK(params_ && group.first >= 0 && group.first < group.last &&
                   static_cast<std::size_t>(group.last) <= params_->size(),
               "data-parallel gradients_ready(): parameters [" << group.first << ", " << group.last
                                                               << ") are not a group of begin_gradients()'s list");
    start_sum_of(static_cast<std::size_t>(group.first), static_cast<std::size_t>(group.last));
    comm_->progress_sums();
    stats_.gradient_s += seconds_since(start);
  }

  /// Sums every gradient of `params` over the ranks. Overlap off: one
  /// blocking all-reduce. Overlap on: starts the sums of the parameters no
  /// hook reported (frozen groups: their kernels may still have computed
  /// something, and the clip reads every gradient), then waits for all.
  void sum_gradients(const ParamList<T>& params) {
    const auto start = std::chrono::steady_clock::now();
    if (!overlap_ || !params_) begin_gradients(params);  // overlap on and no begin: nothing started yet
    VHMN_CHECK(params_ == &params, "data-parallel sum_gradients(): called with another parameter list than "
                                   "begin_gradients() (whose sums may still be running)");
    if (!overlap_) {
      for (std::size_t i = 0; i < params.size(); ++i) pack(i);
      const auto wait_start = std::chrono::steady_clock::now();
      comm_->sum(flat_.data(), flat_.size());
      stats_.wait_s += seconds_since(wait_start);
      stats_.gradient_buckets = 1;
    } else {
      for (std::size_t i = 0; i < params.size();) {
        if (started_[i]) {
          ++i;
          continue;
        }
        std::size_t end = i + 1;  // a run of parameters not started yet
        while (end < params.size() && !started_[end]) ++end;
        start_sum_of(i, end);
        i = end;
      }
      const auto wait_start = std::chrono::steady_clock::now();
      comm_->wait_sums();
      stats_.wait_s += seconds_since(wait_start);
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      Param<T>& p = *params[i];
      std::copy(flat_.data() + grad_at_[i], flat_.data() + grad_at_[i + 1], p.grad.data());
    }
    params_ = nullptr;
    stats_.gradient_s += seconds_since(start);
    stats_.gradient_bytes = static_cast<std::int64_t>(flat_.size() * sizeof(T));
    ++stats_.steps;
  }

  /// The bank writes of the whole global batch, applied on every rank in
  /// global-batch order (what VHMN::remember() does in one process).
  template <int D, int L>
  void remember(VHMN<T, D, L>& model, const data::BasicBatch<T>& local) {
    const auto start = std::chrono::steady_clock::now();
    VHMN_CHECK(model.training(), "remember() called in eval mode: memory banks are frozen at inference");
    VHMN_CHECK(model.last_batch() == share_.count, "data-parallel remember(): the last forward had "
                                                       << model.last_batch() << " samples, this rank's share "
                                                       << share_.count);
    const ModelConfig& c = model.config();
    const index_t Bg = global_batch_, N = c.tokens(), Lat = c.latent, W = c.local_writes;
    const index_t depth = static_cast<index_t>(model.blocks.size()), first = share_.first, n = share_.count;
    // token positions for the whole global batch, drawn in remember()'s order
    positions_.resize(static_cast<std::size_t>(depth * Bg * W));
    for (auto& p : positions_) p = model.memory_rng().below(N);
    auto position = [&](index_t blk, index_t b, index_t w) {
      return positions_[static_cast<std::size_t>((blk * Bg + b) * W + w)];
    };
    // this rank's pack: labels (n int32), ids (n int64), then per block and sample W local rows + 1 global row
    const std::size_t row_bytes = static_cast<std::size_t>(Lat) * sizeof(T);
    const std::size_t head = static_cast<std::size_t>(n) * (sizeof(std::int32_t) + sizeof(std::int64_t));
    pack_.resize(head + static_cast<std::size_t>(depth * n * (W + 1)) * row_bytes);
    unsigned char* out = pack_.data();
    out = put(out, local.labels.data(), static_cast<std::size_t>(n) * sizeof(std::int32_t));
    out = put(out, local.indices.data(), static_cast<std::size_t>(n) * sizeof(std::int64_t));
    for (index_t blk = 0; blk < depth; ++blk) {
      const auto& block = *model.blocks[static_cast<std::size_t>(blk)];
      const T* q_local = block.local.path.queries().data();    // (n*N, L)
      const T* q_global = block.global.path.queries().data();  // (n, L)
      for (index_t b = 0; b < n; ++b) {
        for (index_t w = 0; w < W; ++w) out = put(out, q_local + (b * N + position(blk, first + b, w)) * Lat, row_bytes);
        out = put(out, q_global + b * Lat, row_bytes);
      }
    }
    comm_->gather_all(pack_.data(), pack_.size(), all_, offsets_);
    stats_.bank_bytes = static_cast<std::int64_t>(pack_.size());
    // every rank's samples, in global order
    const int R = size();
    std::vector<const unsigned char*> parts(static_cast<std::size_t>(R));
    for (int r = 0; r < R; ++r) {
      const Share s = share_of(Bg, r, R);
      const std::size_t expect =
          static_cast<std::size_t>(s.count) * (sizeof(std::int32_t) + sizeof(std::int64_t)) +
          static_cast<std::size_t>(depth * s.count * (W + 1)) * row_bytes;
      VHMN_CHECK(offsets_[static_cast<std::size_t>(r) + 1] - offsets_[static_cast<std::size_t>(r)] == expect,
                 "data-parallel bank writes: rank " << r << " sent "
                                                    << offsets_[static_cast<std::size_t>(r) + 1] -
                                                           offsets_[static_cast<std::size_t>(r)]
                                                    << " bytes, expected " << expect);
      parts[static_cast<std::size_t>(r)] = all_.data() + offsets_[static_cast<std::size_t>(r)];
    }
    labels_.resize(static_cast<std::size_t>(Bg));
    ids_.resize(static_cast<std::size_t>(Bg));
    for (int r = 0; r < R; ++r) {
      const Share s = share_of(Bg, r, R);
      const unsigned char* in = parts[static_cast<std::size_t>(r)];
      std::memcpy(labels_.data() + s.first, in, static_cast<std::size_t>(s.count) * sizeof(std::int32_t));
      std::memcpy(ids_.data() + s.first, in + static_cast<std::size_t>(s.count) * sizeof(std::int32_t),
                  static_cast<std::size_t>(s.count) * sizeof(std::int64_t));
    }
    for (index_t b = 0; b < Bg; ++b)
      VHMN_CHECK(labels_[static_cast<std::size_t>(b)] >= 0 && labels_[static_cast<std::size_t>(b)] < c.classes,
                 "label " << labels_[static_cast<std::size_t>(b)] << " of sample " << b << " is outside [0, "
                          << c.classes << ")");
    row_.resize(static_cast<std::size_t>(Lat));
    for (index_t blk = 0; blk < depth; ++blk) {
      auto& block = *model.blocks[static_cast<std::size_t>(blk)];
      for (int r = 0; r < R; ++r) {
        const Share s = share_of(Bg, r, R);
        const unsigned char* rows = parts[static_cast<std::size_t>(r)] +
                                    static_cast<std::size_t>(s.count) * (sizeof(std::int32_t) + sizeof(std::int64_t)) +
                                    static_cast<std::size_t>(blk * s.count * (W + 1)) * row_bytes;
        for (index_t b = s.first; b < s.first + s.count; ++b) {
          const std::int32_t y = labels_[static_cast<std::size_t>(b)];
          const std::int64_t id = ids_[static_cast<std::size_t>(b)];
          for (index_t w = 0; w < W; ++w) {
            std::memcpy(row_.data(), rows, row_bytes);  // the pack is unaligned bytes
            rows += row_bytes;
            block.local.path.bank.write(y, row_.data(), id, position(blk, b, w));
          }
          std::memcpy(row_.data(), rows, row_bytes);
          rows += row_bytes;
          block.global.path.bank.write(y, row_.data(), id, -1);
        }
      }
    }
    stats_.bank_s += seconds_since(start);
  }

  /// Stops training on every rank unless all ranks hold the same
  /// parameters, banks, optimiser state and memory generator. `when` names
  /// the moment for the message ("after step 40").
  template <int D, int L>
  void check_consistent(const std::string& when, VHMN<T, D, L>& model, const Optimizer<T>& optimizer) {
    names_.clear();
    sums_.clear();
    auto add = [&](std::string name, const void* data, std::size_t bytes) {
      names_.push_back(std::move(name));
      sums_.push_back(checksum_bytes(data, bytes));
    };
    for (const Param<T>* p : model.parameters())
      add(p->name, p->value.data(), static_cast<std::size_t>(p->value.numel()) * sizeof(T));
    // the two paths' types differ in a static-size model: one generic lambda serves both
    auto add_bank = [&](const auto& path) {
      const auto& bank = path.bank;
      add(path.prefix() + "memory", bank.memory().data(), static_cast<std::size_t>(bank.memory().numel()) * sizeof(T));
      add(path.prefix() + "writes", bank.writes().data(), bank.writes().size() * sizeof(std::int64_t));
      add(path.prefix() + "source_index", bank.source_index().data(),
          bank.source_index().size() * sizeof(std::int64_t));
      add(path.prefix() + "source_token", bank.source_token().data(),
          bank.source_token().size() * sizeof(std::int64_t));
    };
    for (auto& blk : model.blocks) {
      add_bank(blk->local.path);
      add_bank(blk->global.path);
    }
    for (const io::RawTensor& t : optimizer.state(io::DType::F32)) add(t.name, t.bytes.data(), t.bytes.size());
    const Rng::State rs = model.memory_rng().state();
    add("train.memory_rng", rs.data(), sizeof rs);
    comm_->gather_all(sums_.data(), sums_.size() * sizeof(std::uint64_t), all_, offsets_);
    const std::size_t bytes = sums_.size() * sizeof(std::uint64_t);
    for (int r = 1; r < size(); ++r) {
      const std::size_t at = offsets_[static_cast<std::size_t>(r)];
      VHMN_CHECK(offsets_[static_cast<std::size_t>(r) + 1] - at == bytes,
                 "data-parallel ranks disagree " << when << ": rank " << r << " holds a different number of tensors");
      for (std::size_t i = 0; i < sums_.size(); ++i) {
        std::uint64_t theirs;
        std::memcpy(&theirs, all_.data() + at + i * sizeof theirs, sizeof theirs);
        std::uint64_t rank0;
        std::memcpy(&rank0, all_.data() + i * sizeof rank0, sizeof rank0);
        VHMN_CHECK(theirs == rank0, "data-parallel ranks disagree " << when << ": '" << names_[i] << "' on rank " << r
                                                                    << " differs from rank 0's (checksum " << std::hex
                                                                    << theirs << " vs " << rank0
                                                                    << "); training stopped");
      }
    }
  }

  /// evaluate() over this rank's share of `ds`, summed over the ranks: the
  /// same counts as one process; the loss is summed in another order.
  template <int D, int L>
  EvalResult evaluate(VHMN<T, D, L>& model, const data::Dataset& ds, const data::Normalization& norm,
                      index_t batch_size, bool hflip_tta = false) {
    const Share s = share_of(ds.size, rank(), size());
    if (s.count > 0 && (shard_source_ != &ds || shard_.size != s.count)) {
      std::vector<index_t> idx(static_cast<std::size_t>(s.count));
      for (index_t i = 0; i < s.count; ++i) idx[static_cast<std::size_t>(i)] = s.first + i;
      shard_ = ds.subset(idx);
      shard_source_ = &ds;
    }
    const index_t K = model.config().classes;
    EvalResult part;
    if (s.count > 0) part = train::evaluate(model, shard_, norm, batch_size, hflip_tta);
    std::vector<double> v(static_cast<std::size_t>(3 + K * K), 0.0);
    if (s.count > 0) {
      v[0] = part.loss * double(s.count);
      v[1] = double(std::llround(part.top1 * double(s.count)));
      v[2] = double(std::llround(part.top5 * double(s.count)));
      for (std::size_t i = 0; i < part.confusion.size(); ++i) v[3 + i] = double(part.confusion[i]);
    }
    comm_->sum(v.data(), v.size());
    EvalResult r;
    r.count = ds.size;
    r.classes = K;
    r.loss = v[0] / double(ds.size);
    r.top1 = v[1] / double(ds.size);
    r.top5 = v[2] / double(ds.size);
    r.confusion.resize(static_cast<std::size_t>(K * K));
    for (std::size_t i = 0; i < r.confusion.size(); ++i) r.confusion[i] = std::llround(v[3 + i]);
    r.per_class = per_class_accuracy(r.confusion, K);
    return r;
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  static unsigned char* put(unsigned char* out, const void* src, std::size_t bytes) {
    std::memcpy(out, src, bytes);
    return out + bytes;
  }
  // Copies gradient i into its place in flat_.
  void pack(std::size_t i) {
    const Param<T>& p = *(*params_)[i];
    std::copy(p.grad.data(), p.grad.data() + p.grad.numel(), flat_.data() + grad_at_[i]);
  }
  // Packs parameters [first, last) and starts their sum (one bucket).
  void start_sum_of(std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      VHMN_CHECK(!started_[i],
                 "data-parallel gradients: '" << (*params_)[i]->name << "' reported ready twice in one step");
      started_[i] = 1;
      pack(i);
    }
    comm_->start_sum(flat_.data() + grad_at_[first], grad_at_[last] - grad_at_[first]);
    ++stats_.gradient_buckets;
  }

  std::shared_ptr<Communicator> comm_;
  std::int64_t check_every_;
  bool overlap_;
  CommStats stats_;
  Share share_;
  index_t global_batch_ = 0;
  data::BasicBatch<T> local_;
  std::vector<T> flat_, row_;                  // flat_: every gradient, in parameters() order
  const ParamList<T>* params_ = nullptr;       // begin_gradients() .. sum_gradients()
  std::vector<std::size_t> grad_at_;           // (params + 1) offsets of the gradients in flat_
  std::vector<unsigned char> started_;         // per parameter: its sum was started this step
  std::vector<index_t> positions_;
  std::vector<unsigned char> pack_, all_;
  std::vector<std::size_t> offsets_;
  std::vector<std::int32_t> labels_;
  std::vector<std::int64_t> ids_;
  std::vector<std::string> names_;
  std::vector<std::uint64_t> sums_;
  const data::Dataset* shard_source_ = nullptr;
  data::Dataset shard_;
};

/// While alive (overlap on): `model`'s backward starts the gradient sum of
/// each parameter group it finishes (DataParallel::gradients_ready);
/// afterwards the model's previous hook is back. Does nothing when `dp` is
/// null or its overlap is off.
template <class T, class Model>
class OverlapScope {
 public:
  OverlapScope(Model& model, DataParallel<T>* dp) : model_(model), installed_(dp && dp->overlap()) {
    if (!installed_) return;
    previous_ = model.grad_ready_hook();
    model.set_grad_ready_hook([dp](GradGroup group) { dp->gradients_ready(group); });
  }
  ~OverlapScope() {
    if (installed_) model_.set_grad_ready_hook(std::move(previous_));
  }
  OverlapScope(const OverlapScope&) = delete;
  OverlapScope& operator=(const OverlapScope&) = delete;

 private:
  Model& model_;
  bool installed_;
  typename Model::GradReadyHook previous_;
};

}  // namespace vhmn::train
