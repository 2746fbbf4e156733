// vhmn/data/loader.hpp — shuffled, augmented, prefetched mini-batches.
//
// What this represents: a DataLoader over a Dataset. For epoch e the sample
// order is a permutation seeded by (seed, e); batch n of epoch e is built
// from its slice of that order with an Rng seeded by (seed, e, n) alone:
//   per sample (uint8 [C, H, W]): random crop (zero padding) -> horizontal
//     flip -> AutoAugment (CIFAR-10 policy) or/and RandAugment
//     -> normalise to T -> random erasing;
//   per batch: soft targets (label smoothing) -> MixUp or CutMix.
// So a batch's content depends only on (seed, epoch, batch number) — never on
// thread timing or the number of workers (num_workers = 0 builds batches on
// the caller's thread, and gives the same batches).
// Workers (std::thread) build batches ahead into a bounded queue of
// `prefetch` slots while the caller trains; next() hands them out in order.
// Requires: the Dataset outlives the loader and is not modified meanwhile.
// Ensures: the destructor stops and joins the workers, also mid-epoch; an
// exception thrown while building a batch is re-thrown by the next() that
// would have returned that batch.
//
//   vhmn::data::DataLoader loader(train, vhmn::data::compute_normalization(train), opt);
//   for (index_t e = 0; e < epochs; ++e) {
//     loader.start_epoch(e);
//     vhmn::data::Batch batch;
//     while (loader.next(batch)) { /* batch.images [B,C,H,W], batch.targets [B,K] */ }
//   }
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/data/augment.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/mix.hpp"
#include "vhmn/data/normalize.hpp"

namespace vhmn {
namespace data {

/// One mini-batch. B is the batch size (smaller for a last partial batch).
template <class T>
struct BasicBatch {
  Tensor<T> images;                    // [B, C, H, W] normalised
  Tensor<T> targets;                   // [B, K] soft targets, rows sum to 1
  std::vector<std::int32_t> labels;    // [B] dominant hard label (after MixUp/CutMix)
  std::vector<std::int64_t> indices;   // [B] source_index of each sample (its own image, not the partner's)
  index_t epoch = 0, number = 0;       // which batch this is

  index_t size() const { return static_cast<index_t>(labels.size()); }
};
using Batch = BasicBatch<float>;

/// Augmentation settings; each probability is in [0, 1] (0 = off).
struct AugmentOptions {
  double crop = 0.0;          // random crop with zero padding, probability
  index_t crop_pad = 4;       //   padding on every side, pixels
  double flip = 0.0;          // horizontal flip probability
  double autoaugment = 0.0;   // AutoAugment (CIFAR-10 policy) probability
  double randaugment = 0.0;   // RandAugment probability
  int randaugment_n = 2;      //   ops per image
  double randaugment_m = 9.0; //   magnitude on the 0..10 scale
  double erasing = 0.0;       // random erasing probability (after normalisation)
  bool erasing_random = true; //   N(0,1) noise; false: zeros
  double mixup = 0.0;         // per batch: MixUp with this probability,
  double mixup_alpha = 0.8;
  double cutmix = 0.0;        //   else CutMix with this one (mixup + cutmix <= 1)
  double cutmix_alpha = 1.0;
  double label_smoothing = 0.0;

  /// No augmentation (evaluation, or plain training).
  static AugmentOptions none() { return {}; }
  /// The paper's CIFAR recipe (A.6): random crop (pad 4), flip, AutoAugment,
  /// MixUp and CutMix. The paper gives no probabilities; these are timm's
  /// defaults (our choice): every batch is mixed, by MixUp or CutMix with
  /// probability 1/2 each, and label smoothing 0.1.
  static AugmentOptions paper_cifar() {
    AugmentOptions a;
    a.crop = 1.0;
    a.flip = 0.5;
    a.autoaugment = 1.0;
    a.mixup = 0.5;
    a.cutmix = 0.5;
    a.label_smoothing = 0.1;
    return a;
  }
};

struct LoaderOptions {
  index_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;     // drop a last batch smaller than batch_size
  int num_workers = 2;        // 0: build each batch in next(), on the caller's thread
  int prefetch = 3;           // batches built ahead of the caller (queue bound)
  std::uint64_t seed = 0;
  AugmentOptions augment;
};

/// Mixes a seed with up to three words into an unrelated 64-bit seed
/// (splitmix64 finaliser after each word), for per-epoch / per-batch streams.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  std::uint64_t h = mix(seed + 0x9e3779b97f4a7c15ULL);
  h = mix(h ^ (a + 0x6a09e667f3bcc909ULL));
  h = mix(h ^ (b + 0xbb67ae8584caa73bULL));
  return mix(h ^ (c + 0x3c6ef372fe94f82bULL));
}

template <class T>
class BasicDataLoader {
 public:
  BasicDataLoader(const Dataset& ds, Normalization norm, LoaderOptions opt)
      : ds_(&ds), norm_(std::move(norm)), opt_(opt) {
    const AugmentOptions& a = opt_.augment;
    VHMN_CHECK(ds.size > 0, "DataLoader: data set '" << ds.name << "' is empty");
    VHMN_CHECK(norm_.channels() == ds.channels, "DataLoader: normalisation has " << norm_.channels()
                                                                                 << " channels, data set '" << ds.name
                                                                                 << "' has " << ds.channels);
    VHMN_CHECK(opt_.batch_size > 0, "DataLoader: batch_size must be > 0, got " << opt_.batch_size);
    VHMN_CHECK(opt_.num_workers >= 0 && opt_.prefetch >= 1,
               "DataLoader: need num_workers >= 0 and prefetch >= 1, got " << opt_.num_workers << ", "
                                                                           << opt_.prefetch);
    for (double p : {a.crop, a.flip, a.autoaugment, a.randaugment, a.erasing, a.mixup, a.cutmix})
      VHMN_CHECK(p >= 0.0 && p <= 1.0, "DataLoader: augmentation probability " << p << " outside [0, 1]");
    VHMN_CHECK(a.mixup + a.cutmix <= 1.0 + 1e-12,
               "DataLoader: mixup + cutmix probabilities exceed 1 (" << a.mixup << " + " << a.cutmix << ")");
    VHMN_CHECK(a.label_smoothing >= 0.0 && a.label_smoothing < 1.0,
               "DataLoader: label smoothing " << a.label_smoothing << " outside [0, 1)");
    VHMN_CHECK(a.crop_pad >= 0, "DataLoader: crop padding must be >= 0, got " << a.crop_pad);
    VHMN_CHECK(!(opt_.drop_last && ds.size < opt_.batch_size),
               "DataLoader: drop_last with " << ds.size << " samples and batch size " << opt_.batch_size
                                             << " leaves no batch");
    lut_ = normalization_lut<T>(norm_);
    slots_.resize(static_cast<std::size_t>(opt_.prefetch));
#if VHMN_HAS_EXCEPTIONS
    try {
      for (int w = 0; w < opt_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
    } catch (...) {  // a thread failed to start: stop the ones that did
      shutdown();
      throw;
    }
#else
    for (int w = 0; w < opt_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
#endif
  }

  ~BasicDataLoader() { shutdown(); }

  BasicDataLoader(const BasicDataLoader&) = delete;
  BasicDataLoader& operator=(const BasicDataLoader&) = delete;

  const LoaderOptions& options() const { return opt_; }
  const Normalization& normalization() const { return norm_; }
  const Dataset& dataset() const { return *ds_; }

  /// Batches per epoch: ceil(N / B), or floor(N / B) with drop_last.
  index_t num_batches() const {
    const index_t n = ds_->size, b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
  }

  /// The sample order of an epoch (positions into the data set).
  std::vector<index_t> epoch_order(index_t epoch) const {
    std::vector<index_t> order(static_cast<std::size_t>(ds_->size));
    for (index_t i = 0; i < ds_->size; ++i) order[static_cast<std::size_t>(i)] = i;
    if (opt_.shuffle) {
      Rng rng(derive_seed(opt_.seed, 0, static_cast<std::uint64_t>(epoch)));
      for (index_t i = ds_->size - 1; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(rng.below(i + 1))]);
    }
    return order;
  }

  /// Starts (or restarts) epoch `epoch`: batches 0, 1, ... are handed out by
  /// next(); work still under way for a previous epoch is dropped.
  void start_epoch(index_t epoch) {
    VHMN_CHECK(epoch >= 0, "DataLoader: epoch must be >= 0, got " << epoch);
    auto order = std::make_shared<const std::vector<index_t>>(epoch_order(epoch));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++generation_;
      epoch_ = epoch;
      order_ = std::move(order);
      batches_ = num_batches();
      claimed_ = delivered_ = 0;
      for (Slot& s : slots_) {
        s.ready = false;
        s.error = nullptr;
      }
    }
    work_cv_.notify_all();
  }

  /// The next batch of the current epoch into `out` (its buffers are reused);
  /// false when the epoch is over.
  bool next(BasicBatch<T>& out) {
    std::unique_lock<std::mutex> lock(mu_);
    VHMN_CHECK(epoch_ >= 0, "DataLoader: call start_epoch(e) before next()");
    if (delivered_ >= batches_) return false;
    const index_t n = delivered_;
    if (workers_.empty()) {  // synchronous mode
      ++delivered_;
      const auto order = order_;
      const index_t epoch = epoch_;
      lock.unlock();
      build(*order, epoch, n, out);
      return true;
    }
    Slot& slot = slots_[static_cast<std::size_t>(n % opt_.prefetch)];
    ready_cv_.wait(lock, [&] { return slot.ready && slot.number == n; });
    std::swap(out, slot.batch);  // the caller's old buffers go back for reuse
    slot.ready = false;
    std::exception_ptr error = slot.error;
    slot.error = nullptr;
    ++delivered_;
    lock.unlock();
    work_cv_.notify_all();
    if (error) std::rethrow_exception(error);
    return true;
  }

  /// Builds batch `number` of `epoch` on the calling thread, exactly as the
  /// workers do (for tests, or to reproduce one batch).
  void make_batch(index_t epoch, index_t number, BasicBatch<T>& out) const {
    VHMN_CHECK(number >= 0 && number < num_batches(),
               "DataLoader: batch " << number << " outside [0, " << num_batches() << ")");
    build(epoch_order(epoch), epoch, number, out);
  }

 private:
  struct Slot {
    bool ready = false;
    index_t number = -1;
    BasicBatch<T> batch;
    std::exception_ptr error;
  };

  void build(const std::vector<index_t>& order, index_t epoch, index_t number, BasicBatch<T>& out) const {
    const Dataset& ds = *ds_;
    const AugmentOptions& a = opt_.augment;
    const index_t C = ds.channels, H = ds.height, W = ds.width, n = ds.image_numel();
    const index_t first = number * opt_.batch_size;
    const index_t B = std::min(opt_.batch_size, ds.size - first);
    Rng rng(derive_seed(opt_.seed, 1, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(number)));
    out.epoch = epoch;
    out.number = number;
    out.images.resize({B, C, H, W});
    out.labels.resize(static_cast<std::size_t>(B));
    out.indices.resize(static_cast<std::size_t>(B));
    std::vector<std::uint8_t> img(static_cast<std::size_t>(n));
    EraseOptions erase;
    erase.p = a.erasing;
    erase.random_values = a.erasing_random;
    for (index_t b = 0; b < B; ++b) {
      const index_t i = order[static_cast<std::size_t>(first + b)];
      std::copy(ds.image(i), ds.image(i) + n, img.begin());
      // An op whose probability is 0 draws nothing from rng.
      if (a.crop > 0 && rng.bernoulli(a.crop)) random_crop(img.data(), C, H, W, rng, a.crop_pad);
      if (a.flip > 0) random_hflip(img.data(), C, H, W, rng, a.flip);
      if (a.autoaugment > 0 && rng.bernoulli(a.autoaugment)) auto_augment(img.data(), C, H, W, rng);
      if (a.randaugment > 0 && rng.bernoulli(a.randaugment))
        rand_augment(img.data(), C, H, W, rng, a.randaugment_n, a.randaugment_m);
      T* dst = out.images.data() + b * n;
      normalize_image(img.data(), C, H * W, lut_, dst);
      if (a.erasing > 0) random_erase(dst, C, H, W, rng, erase);
      out.labels[static_cast<std::size_t>(b)] = ds.labels[static_cast<std::size_t>(i)];
      out.indices[static_cast<std::size_t>(b)] = ds.source_index[static_cast<std::size_t>(i)];
    }
    one_hot_targets(out.labels, ds.classes, a.label_smoothing, out.targets);
    if (a.mixup > 0 || a.cutmix > 0) {
      const double u = rng.uniform();
      if (u < a.mixup) mixup(out.images, out.targets, out.labels, rng, a.mixup_alpha);
      else if (u < a.mixup + a.cutmix) cutmix(out.images, out.targets, out.labels, rng, a.cutmix_alpha);
    }
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    ready_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || (claimed_ < batches_ && claimed_ < delivered_ + opt_.prefetch); });
      if (stop_) return;
      const index_t n = claimed_++;
      const std::uint64_t generation = generation_;
      const index_t epoch = epoch_;
      const std::shared_ptr<const std::vector<index_t>> order = order_;
      Slot& slot = slots_[static_cast<std::size_t>(n % opt_.prefetch)];
      BasicBatch<T> work = std::move(slot.batch);  // reuse the buffers parked there
      lock.unlock();
      std::exception_ptr error;
#if VHMN_HAS_EXCEPTIONS
      try {
        build(*order, epoch, n, work);
      } catch (...) {
        error = std::current_exception();
      }
#else
      build(*order, epoch, n, work);  // errors call the installed handler
#endif
      lock.lock();
      if (stop_) return;
      if (generation != generation_) continue;  // the epoch was restarted meanwhile
      slot.batch = std::move(work);
      slot.error = error;
      slot.number = n;
      slot.ready = true;
      ready_cv_.notify_all();
    }
  }

  const Dataset* ds_;
  Normalization norm_;
  LoaderOptions opt_;
  std::vector<T> lut_;  // [C, 256] normalised value of every pixel value

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false;
  std::uint64_t generation_ = 0;  // bumped by start_epoch; stale work is dropped
  index_t epoch_ = -1, batches_ = 0, claimed_ = 0, delivered_ = 0;
  std::shared_ptr<const std::vector<index_t>> order_;
  std::vector<Slot> slots_;  // batch n is parked in slot n % prefetch
  std::vector<std::thread> workers_;  // last: started after everything above exists
};

using DataLoader = BasicDataLoader<float>;

}  // namespace data
}  // namespace vhmn
