// vhmn/train/trainer.hpp — the training loop, drivable from user code.
//
// What this represents: epochs of
//   forward -> soft-target cross-entropy -> backward -> finite check ->
//   optional grad-norm clip -> optimiser step (warm-up + cosine rate) ->
//   bank writes (docs/spec.md §4: after the forward, under each sample's
//   dominant label, with its dataset index as provenance)
// then an evaluation on the test set, callbacks, and (with a run directory)
// best.safetensors, last.safetensors, then a metrics.jsonl line, in that
// order (train/run_dir.hpp says why and how a kill between them is undone).
// The run directory is locked for the trainer's lifetime (io/run_lock.hpp):
// a second trainer on it fails at construction, naming the holder.
// request_stop() (async-signal-safe) makes fit() return after the current
// step; an epoch cut short is abandoned, not saved, so last.safetensors stays
// the end of the last completed epoch and resuming trains that epoch again.
// Ensures: a checkpoint holds the model, banks, optimiser state, step,
// epoch, every generator state and the normalisation, so resume() followed
// by fit() reproduces an uninterrupted run's metrics exactly (same seed and
// thread count). A NaN/Inf loss or gradient stops training with an Error
// saying where; the last good checkpoint is left as it was.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "vhmn/data/loader.hpp"
#include "vhmn/io/checkpoint.hpp"
#include "vhmn/io/json.hpp"
#include "vhmn/io/normalization_metadata.hpp"
#include "vhmn/io/run_lock.hpp"
#include "vhmn/train/ema.hpp"
#include "vhmn/train/data_parallel.hpp"
#include "vhmn/train/evaluate.hpp"
#include "vhmn/train/whitening.hpp"
#include "vhmn/train/loss.hpp"
#include "vhmn/train/optimizer.hpp"
#include "vhmn/train/run_dir.hpp"

namespace vhmn::train {

struct TrainOptions {
  index_t epochs = 10;
  double lr = 1e-3;
  double min_lr = 0;
  double warmup_epochs = 0;  // may be fractional
  OptimizerOptions optimizer;
  double clip_norm = 0;      // > 0: clip the global gradient norm
  std::string run_dir;       // "" = write no files
  // The run directory's lock when the caller took it already (the CLI locks
  // before it reads the checkpoint); null: the trainer takes it.
  std::shared_ptr<io::RunDirLock> run_dir_lock;
  // 0: the training batch size. A larger one grows every activation buffer
  // of the model to its size for good (buffers keep their allocation).
  index_t eval_batch = 0;
  bool eval_each_epoch = true;
  // > 0: a wall-clock budget in seconds for training plus evaluation. The
  // schedule then follows the larger of the step fraction and the time
  // fraction used, and training stops (then evaluates and saves) once the
  // budget is spent. Such runs depend on timing, so they are not
  // reproducible bit for bit; `epochs` stays an upper bound.
  double time_limit_s = 0;
  // Arithmetic of the model's matrix products for training and evaluation
  // (core/precision.hpp). Unset: the model's own precision(), as it is.
  // Checkpoints record it as information only (metadata train.precision);
  // loading never depends on it.
  std::optional<Precision> precision;

  // ---- the short-budget recipe (issue 12); the defaults train as before
  DecayShape schedule = DecayShape::Cosine;  // decay after warm-up
  // > 0: keep an exponential moving average of the weights (train/ema.hpp)
  // with this decay; evaluation and every checkpoint's model tensors use it.
  double ema_decay = 0;
  // Evaluate with flip test-time augmentation (mean logits of x and mirror x).
  bool tta_flip = false;
  // A fresh run first sets the patch embedding from the whitened covariance
  // of training patches (train/whitening.hpp); resumed runs never redo it.
  bool whiten_patch_embed = false;
  // A communicator of R > 1 ranks: this trainer is one rank of a
  // data-parallel run (train/data_parallel.hpp says what each hook does).
  DataParallelOptions parallel;
};

/// Reported after every training step.
struct StepInfo {
  index_t epoch = 0, step = 0, steps_per_epoch = 0;  // step within the epoch, from 0
  std::int64_t global_step = 0;
  double loss = 0, running_loss = 0, running_acc = 0, lr = 0, images_per_s = 0, eta_s = 0;
};

/// Reported after every epoch (what metrics.jsonl records).
struct EpochStats {
  index_t epoch = 0;  // 1-based count of completed epochs
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, test_top5 = 0, lr = 0, images_per_s = 0,
         elapsed_s = 0;
  bool has_test = false;
  bool best = false;
};

// Moved to io/normalization_metadata.hpp (inference needs them without train/).
using io::normalization_from_metadata;
using io::normalization_metadata;

/// Trains any VHMN<T, D, L>: dynamic sizes (the default) or static ones,
/// e.g. Trainer<float, VHMN<float, 64, 32>> or, deduced, Trainer t(model, ...).
template <class T = float, class ModelType = VHMN<T>>
class Trainer {
 public:
  using Model = ModelType;

  /// `test` may be null (no evaluation). The data sets must outlive the trainer.
  Trainer(Model& model, const data::Dataset& train, const data::Dataset* test, data::Normalization norm,
          data::LoaderOptions loader, TrainOptions options)
      : model_(model),
        train_(train),
        test_(test),
        norm_(std::move(norm)),
        options_(std::move(options)),
        loader_(train, norm_, loader),
        optimizer_(model.parameters(), options_.optimizer) {
    check_dataset_fits(train, model.config());
    if (test) check_dataset_fits(*test, model.config());
    VHMN_CHECK(options_.epochs >= 0, "epochs must be >= 0, got " << options_.epochs);
    VHMN_CHECK(options_.lr > 0 && std::isfinite(options_.lr), "learning rate must be > 0, got " << options_.lr);
    VHMN_CHECK(options_.warmup_epochs >= 0, "warm-up epochs must be >= 0");
    if (options_.precision) model_.set_precision(*options_.precision);
    const std::int64_t per_epoch = loader_.num_batches();
    schedule_.lr = options_.lr;
    schedule_.min_lr = options_.min_lr;
    schedule_.warmup_steps = static_cast<std::int64_t>(std::llround(options_.warmup_epochs * double(per_epoch)));
    schedule_.total_steps = std::max<std::int64_t>(1, per_epoch * options_.epochs);
    schedule_.shape = options_.schedule;
    VHMN_CHECK(options_.ema_decay >= 0 && options_.ema_decay < 1,
               "EMA decay must be in [0, 1) (0: off), got " << options_.ema_decay);
    if (options_.ema_decay > 0) ema_.emplace(model.parameters(), options_.ema_decay);
    if (options_.parallel.communicator && options_.parallel.communicator->size() > 1) {
      dp_ = std::make_unique<DataParallel<T>>(options_.parallel.communicator, options_.parallel.check_every,
                                              options_.parallel.overlap);
      dp_->check_batches(train.size, loader.batch_size, loader.drop_last);
    }
    if (writes_files()) {
      lock_ = options_.run_dir_lock ? options_.run_dir_lock : std::make_shared<io::RunDirLock>(options_.run_dir);
      recovery_ = recover_run_dir(options_.run_dir);
    }
  }

  std::function<void(const StepInfo&)> on_step;     // after every step
  std::function<void(const EpochStats&)> on_epoch;  // after every epoch
  EvalProgress on_eval_progress;                    // after every test batch of the per-epoch evaluation
  /// The training loss (train/loss.hpp); cross-entropy unless replaced.
  LossFunction<T> loss = CrossEntropyLoss<T>{};

  index_t epochs_done() const { return epoch_; }
  /// Training + evaluation time of the completed epochs, across resumes (what --time-limit counts).
  double elapsed_s() const { return elapsed_; }
  double best_accuracy() const { return best_acc_; }
  const WarmupCosine& schedule() const { return schedule_; }
  Optimizer<T>& optimizer() { return optimizer_; }
  /// Extra metadata stored in every checkpoint (e.g. the command line).
  std::map<std::string, std::string>& extra_metadata() { return extra_metadata_; }
  /// What opening the run directory cleaned up or repaired.
  const RunDirRecovery& recovery() const { return recovery_; }

  /// Asks fit() to return after the current step. Safe to call from a
  /// signal handler or another thread. A request made before fit() makes it
  /// return at once; it stays until clear_stop_request().
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
  void clear_stop_request() noexcept { stop_.store(false, std::memory_order_relaxed); }
  /// After a stopped fit(): steps of the abandoned epoch (0: it stopped at an
  /// epoch boundary). The model in memory is then mid-epoch; resume() from
  /// last.safetensors to continue exactly.
  index_t abandoned_steps() const { return abandoned_steps_; }
  static_assert(std::atomic<bool>::is_always_lock_free, "request_stop must be async-signal-safe");

  /// Null in a single process.
  const DataParallel<T>* data_parallel() const { return dp_.get(); }

  /// Trains from the current epoch up to options.epochs, or for at most
  /// `max_new_epochs` epochs when that is >= 0 (a time-boxed session; the
  /// schedule still spans options.epochs, so resume() continues it).
  void fit(index_t max_new_epochs = -1) {
    abandoned_steps_ = 0;
    if (epoch_ == 0 && !options_.run_dir.empty()) {
      // a fresh run never overwrites another run's checkpoints
      for (const char* name : {kLastCheckpoint, kBestCheckpoint})
        VHMN_CHECK(!std::filesystem::exists(run_path(name)),
                   options_.run_dir << " already holds a run (" << name
                                    << "); resume it, or train into another directory");
      // metrics without any checkpoint belong to no resumable run: they are
      // kept aside as metrics.jsonl.orphaned and the run starts fresh
      if (writes_files() && std::filesystem::exists(run_path(kMetricsFile)))
        std::filesystem::rename(run_path(kMetricsFile), run_path(std::string(kMetricsFile) + ".orphaned"));
    }
    if (options_.whiten_patch_embed && epoch_ == 0 && optimizer_.steps() == 0) {
      whiten_patch_embedding(model_, train_, norm_, WhiteningOptions{});
      if (ema_) ema_.emplace(model_.parameters(), options_.ema_decay);  // the average starts from it
    }
    index_t stop = max_new_epochs >= 0 ? std::min(options_.epochs, epoch_ + max_new_epochs) : options_.epochs;
    const auto params = model_.parameters();
    // overlap: backward() starts each finished parameter group's gradient sum
    const OverlapScope<T, Model> overlap(model_, dp_.get());
    const index_t K = model_.config().classes;
    Tensor<T> dlogits;
    data::BasicBatch<T> global_batch;
    if (dp_) dp_->check_consistent("at the start of training (epoch " + std::to_string(epoch_) + ")", model_, optimizer_);
    while (epoch_ < stop) {
      model_.train();
      loader_.start_epoch(epoch_);
      const index_t steps = loader_.num_batches();
      const auto epoch_start = std::chrono::steady_clock::now();
      double loss_sum = 0, correct = 0, seen = 0;
      index_t step = 0;
      double lr = 0;
      bool out_of_time = false;
      bool stopped = false;
      while (loader_.next(global_batch)) {
        // the final evaluation must fit in the budget too: the last one's duration is kept in reserve
        const bool spent = options_.time_limit_s > 0 &&
                           elapsed_ + seconds_since(epoch_start) + eval_reserve_s() >= options_.time_limit_s;
        const double step_lr = learning_rate(epoch_start);
        const auto plan = dp_ ? dp_->agree(stop_requested(), spent, step_lr)  // every rank decides alike
                              : typename DataParallel<T>::StepPlan{stop_requested(), spent, step_lr};
        if (plan.stop) {
          stopped = true;
          break;
        }
        if (plan.out_of_time) {
          out_of_time = true;  // spent: evaluate and save what we have, start no further step
          break;
        }
        lr = plan.lr;
        // this rank's rows of the global batch (all of it in one process)
        const data::BasicBatch<T>& batch = dp_ ? dp_->slice(global_batch) : global_batch;
        const index_t B = batch.size(), global_B = dp_ ? dp_->global_batch() : B;
        const T* logits = model_.forward(batch.images.data(), B);
        dlogits.resize_zero({B, K});
        VHMN_CHECK(this->loss, "Trainer::loss is empty: assign a loss (train/loss.hpp)");
        double loss =
            this->loss(LossBatch<T>{logits, batch.targets.data(), batch.labels.data(), B, K}, dlogits.data());
        // a rank's loss is the mean over its B rows; the run's is over the global batch
        if (dp_ && global_B != B) {
          const T share = T(double(B) / double(global_B));
          for (index_t i = 0; i < B * K; ++i) dlogits[i] *= share;
        }
        double step_correct = 0;
        for (index_t b = 0; b < B; ++b) {
          const T* lb = logits + b * K;
          step_correct += (std::max_element(lb, lb + K) - lb) == batch.labels[static_cast<std::size_t>(b)];
        }
        if (dp_) std::tie(loss, step_correct) = dp_->step_totals(loss, step_correct);
        VHMN_CHECK(std::isfinite(loss), "non-finite loss (" << loss << ") at epoch " << epoch_ + 1 << ", step "
                                                            << step + 1 << ": training stopped" << kept_note());
        model_.zero_grad();
        if (dp_) dp_->begin_gradients(params);
        model_.backward(dlogits.data());
        if (dp_) dp_->sum_gradients(params);
        const std::string bad = first_non_finite_grad(params);
        VHMN_CHECK(bad.empty(), "non-finite gradient in '" << bad << "' at epoch " << epoch_ + 1 << ", step "
                                                           << step + 1 << ": training stopped" << kept_note());
        if (options_.clip_norm > 0) clip_grad_norm(params, options_.clip_norm);
        optimizer_.step(lr);
        if (ema_) ema_->update();  // every rank: the weights are identical
        if (dp_) dp_->remember(model_, batch);
        else model_.remember(batch.labels.data(), batch.indices.data());
        if (dp_ && dp_->check_due(optimizer_.steps()))
          dp_->check_consistent("after step " + std::to_string(optimizer_.steps()), model_, optimizer_);

        correct += step_correct;
        loss_sum += loss * double(global_B);
        seen += double(global_B);
        ++step;
        if (on_step) {
          StepInfo info;
          info.epoch = epoch_;
          info.step = step - 1;
          info.steps_per_epoch = steps;
          info.global_step = optimizer_.steps();
          info.loss = loss;
          info.running_loss = loss_sum / seen;
          info.running_acc = correct / seen;
          info.lr = lr;
          const double secs = seconds_since(epoch_start);
          info.images_per_s = seen / std::max(secs, 1e-9);
          info.eta_s = secs / double(step) * double(steps - step);
          on_step(info);
        }
      }
      const double train_secs = seconds_since(epoch_start);
      if (stopped) {
        abandoned_steps_ = step;  // not saved: last.safetensors stays the last completed epoch
        return;
      }
      if (seen == 0) break;  // the budget ran out before this epoch's first step: it does not count
      train_seconds_ += train_secs;
      ++epoch_;
      EpochStats st;
      st.epoch = epoch_;
      st.train_loss = loss_sum / std::max(seen, 1.0);
      st.train_acc = correct / std::max(seen, 1.0);
      st.lr = lr;
      st.images_per_s = seen / std::max(train_secs, 1e-9);
      if (out_of_time) stop = epoch_;  // this was the last epoch
      if (test_ && (options_.eval_each_epoch || epoch_ == stop)) {
        const auto eval_start = std::chrono::steady_clock::now();
        const EvalResult r = evaluate_model(*test_);
        last_eval_s_ = seconds_since(eval_start);
        st.has_test = true;
        st.test_loss = r.loss;
        st.test_acc = r.top1;
        st.test_top5 = r.top5;
        if (r.top1 > best_acc_) {
          best_acc_ = r.top1;
          st.best = true;
        }
      }
      elapsed_ += seconds_since(epoch_start);
      st.elapsed_s = elapsed_;
      if (dp_)  // a checkpoint is every rank's state: they must agree
        dp_->check_consistent("at the end of epoch " + std::to_string(epoch_) + " (step " +
                                  std::to_string(optimizer_.steps()) + ")",
                              model_, optimizer_);
      if (writes_files()) {
        // best, then last (which carries the metrics line), then metrics: see run_dir.hpp
        metrics_line_ = metrics_line(st);
        if (st.best) save(run_path(kBestCheckpoint));
        save(run_path(kLastCheckpoint));
        append_metrics(metrics_line_);
      }
      if (on_epoch) on_epoch(st);
      if (stop_requested()) return;
    }
  }

  /// Writes model + banks + optimiser + progress + generators + normalisation.
  void save(const std::string& path) {
    std::map<std::string, std::string> meta = normalization_metadata(norm_, train_.class_names);
    for (const auto& [k, v] : extra_metadata_) meta[k] = v;
    meta["train.epoch"] = std::to_string(epoch_);
    meta["train.best_acc"] = io::Json(best_acc_).dump();
    meta["train.elapsed_s"] = io::Json(elapsed_).dump();
    meta["train.optimizer"] = optimizer_kind_name(optimizer_.options().kind);
    if (!metrics_line_.empty()) meta["train.metrics"] = metrics_line_;  // this epoch's metrics.jsonl line
    meta["train.precision"] = precision_name(model_.precision());
    std::vector<io::RawTensor> extra = optimizer_.state(io::DType::F32);
    if (ema_) {
      meta["train.ema_decay"] = io::Json(ema_->decay()).dump();
      for (auto& t : ema_->live_state(io::DType::F32)) extra.push_back(std::move(t));
    }
    const Rng::State& rs = model_.memory_rng().state();
    std::vector<std::int64_t> words;
    for (std::uint64_t w : rs) {
      std::int64_t s;
      std::memcpy(&s, &w, sizeof s);
      words.push_back(s);
    }
    extra.push_back(io::make_raw_i64("train.memory_rng", words));
    // the model tensors hold what evaluation used: the average when there is one
    const AverageSwappedIn<T> average(ema_ ? &*ema_ : nullptr);
    save_checkpoint(path, model_, io::DType::F32, meta, std::move(extra));
  }

  /// Restores everything save() wrote; the next fit() continues from there.
  void resume(const std::string& path) {
    const io::SafetensorsFile file = io::read_safetensors(path);
    const ModelConfig saved = ModelConfig::from_metadata(file.metadata, path);
    VHMN_CHECK(saved.to_metadata() == model_.config().to_metadata(),
               path << ": checkpoint was written for a different model config");
    load_model_state(model_, file, path);
    optimizer_.load_state(file, path);
    if (ema_) ema_->load_live_state(file, path);
    else
      VHMN_CHECK(!file.find("train.ema.step"), path << ": the run was trained with an EMA of the weights; resume it with the same EMA decay");
    auto get = [&](const char* key) -> std::string {
      auto it = file.metadata.find(key);
      VHMN_CHECK(it != file.metadata.end(), path << ": not a training checkpoint (metadata '" << key << "' missing)");
      return it->second;
    };
    // Progress is checked like the weights: nothing is changed unless all of it is sane.
    const std::int64_t epoch = io::Json::parse(get("train.epoch"), path).as_int64();
    const double best_acc = io::Json::parse(get("train.best_acc"), path).as_double();
    const double elapsed = io::Json::parse(get("train.elapsed_s"), path).as_double();
    VHMN_CHECK(epoch >= 0, path << ": metadata 'train.epoch' is negative (" << epoch << ")");
    VHMN_CHECK(std::isfinite(best_acc) && best_acc >= -1 && best_acc <= 1,
               path << ": metadata 'train.best_acc' is " << best_acc << ", not an accuracy");
    VHMN_CHECK(std::isfinite(elapsed) && elapsed >= 0,
               path << ": metadata 'train.elapsed_s' is " << elapsed << ", not a duration");
    const io::RawTensor* rng = file.find("train.memory_rng");
    VHMN_CHECK(rng, path << ": not a training checkpoint ('train.memory_rng' missing)");
    const auto words = io::to_int64_vector(*rng);
    VHMN_CHECK(words.size() == 4, path << ": 'train.memory_rng' must hold 4 words");
    Rng::State s;
    for (std::size_t i = 0; i < 4; ++i) std::memcpy(&s[i], &words[i], sizeof s[i]);
    VHMN_CHECK(s[0] != 0 || s[1] != 0 || s[2] != 0 || s[3] != 0,
               path << ": 'train.memory_rng' is all zero, a state xoshiro256** never leaves");
    epoch_ = static_cast<index_t>(epoch);
    best_acc_ = best_acc;
    elapsed_ = elapsed;
    model_.memory_rng().set_state(s);
    auto line = file.metadata.find("train.metrics");
    metrics_line_ = line == file.metadata.end() ? std::string() : line->second;
    // metrics.jsonl must describe exactly the epochs this checkpoint holds
    if (writes_files()) reconcile_metrics(options_.run_dir, epoch_, metrics_line_);
  }

 private:
  /// Rate for the next step: by step count, or by the share of the time
  /// budget used when that is further along.
  double learning_rate(std::chrono::steady_clock::time_point epoch_start) const {
    const std::int64_t step = optimizer_.steps();
    if (options_.time_limit_s <= 0) return schedule_.at(step);
    const double budget = std::max(1e-9, options_.time_limit_s - eval_reserve_s());
    const double time_share = (elapsed_ + seconds_since(epoch_start)) / budget;
    const auto time_step = static_cast<std::int64_t>(time_share * double(schedule_.total_steps));
    // warm-up still counts steps; after it, whichever clock is further along
    return schedule_.at(step < schedule_.warmup_steps ? step : std::max(step, time_step));
  }
  /// Evaluates the weights checkpoints hold (the average, if there is one;
  /// the trained weights are back afterwards, errors included).
  EvalResult evaluate_model(const data::Dataset& ds) {
    const AverageSwappedIn<T> average(ema_ ? &*ema_ : nullptr);
    const index_t eval_batch = options_.eval_batch > 0 ? options_.eval_batch : loader_.options().batch_size;
    if (dp_) return dp_->evaluate(model_, ds, norm_, eval_batch, options_.tta_flip);
    return evaluate(model_, ds, norm_, eval_batch, options_.tta_flip, on_eval_progress);
  }
  // Rank 0 of a data-parallel run alone writes the run directory.
  bool writes_files() const { return !options_.run_dir.empty() && (!dp_ || dp_->writes_files()); }
  double eval_reserve_s() const { return test_ ? 1.2 * last_eval_s_ : 0.0; }
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  std::string run_path(const std::string& name) const {
    return (std::filesystem::path(options_.run_dir) / name).string();
  }
  std::string kept_note() const {
    if (options_.run_dir.empty() || epoch_ == 0) return "";
    return "; the last good checkpoint " + run_path("last.safetensors") + " (epoch " + std::to_string(epoch_) +
           ") is kept";
  }
  static std::string metrics_line(const EpochStats& st) {
    io::Json j = io::Json::object();
    j.set("epoch", st.epoch);
    j.set("train_loss", st.train_loss);
    j.set("train_acc", st.train_acc);
    if (st.has_test) {
      j.set("test_loss", st.test_loss);
      j.set("test_acc", st.test_acc);
      j.set("test_top5", st.test_top5);
    } else {
      j.set("test_loss", nullptr);
      j.set("test_acc", nullptr);
    }
    j.set("lr", st.lr);
    j.set("images_per_s", st.images_per_s);
    j.set("elapsed_s", st.elapsed_s);
    return j.dump();
  }
  void append_metrics(const std::string& line) {
    std::ofstream out(run_path(kMetricsFile), std::ios::app);
    VHMN_CHECK(out, "cannot append to " << run_path(kMetricsFile));
    out << line << "\n";
    out.flush();
    VHMN_CHECK(out.good(), "failed writing " << run_path(kMetricsFile) << "; " << run_path(kLastCheckpoint)
                                             << " holds the epoch and its metrics line (restored on resume)");
  }

  Model& model_;
  const data::Dataset& train_;
  const data::Dataset* test_;
  data::Normalization norm_;
  TrainOptions options_;
  data::BasicDataLoader<T> loader_;
  Optimizer<T> optimizer_;
  std::unique_ptr<DataParallel<T>> dp_;  // null: one process
  WarmupCosine schedule_;
  std::optional<WeightAverage<T>> ema_;
  std::map<std::string, std::string> extra_metadata_;
  std::shared_ptr<io::RunDirLock> lock_;
  RunDirRecovery recovery_;
  std::atomic<bool> stop_{false};
  index_t abandoned_steps_ = 0;
  std::string metrics_line_;  // the last completed epoch's metrics.jsonl line
  index_t epoch_ = 0;
  double best_acc_ = -1, elapsed_ = 0, train_seconds_ = 0, last_eval_s_ = 0;
};

template <class T, int D, int L, class... Rest>
Trainer(VHMN<T, D, L>&, Rest&&...) -> Trainer<T, VHMN<T, D, L>>;

}  // namespace vhmn::train
