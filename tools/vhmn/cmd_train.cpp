// tools/vhmn/cmd_train.cpp — `vhmn train`: train a V-HMN on a real data set.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <unistd.h>
#define VHMN_CLI_POSIX_SIGNALS 1
#endif

#include <nlohmann/json.hpp>

#include <vhmn/data/subset.hpp>
#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>
#ifdef VHMN_USE_MPI
#include <vhmn/train/mpi_communicator.hpp>
#endif

#include "args.hpp"
#include "commands.hpp"
#include "data_args.hpp"
#include "precision_option.hpp"
#include "progress.hpp"

namespace vhmn::cli {
namespace {

const char* kTrainHelp =
    "usage: vhmn train --data KIND [--data-dir DIR] --out RUN_DIR [options]\n"
    "       vhmn train --resume RUN_DIR [--epochs N] [--threads N] [--workers N] [--stop-after N]\n"
    "                  [--precision P]\n"
    "\n"
    "data:\n%s"
    "  --fraction F       keep a class-stratified fraction F of the training set (e.g. 0.1)\n"
    "  --imbalance R      long-tailed training set with imbalance ratio R (e.g. 50, 100)\n"
    "  --train-limit N    use only the first N training images (quick runs)\n"
    "  --test-limit N     evaluate on only the first N test images\n"
    "model:\n"
    "  --config NAME      fmnist-small | cifar-small | cifar-fast | paper-cifar (default:\n"
    "                     fmnist-small for (fashion-)mnist, cifar-fast for cifar10, cifar-small\n"
    "                     otherwise); image size, channels and classes always follow the data\n"
    "  --patch --dim --latent --depth --window --local-slots --global-slots --mlp-ratio\n"
    "  --iters --local-writes --inv-temperature   override single sizes of the config\n"
    "optimisation:\n"
    "  --epochs N (9 for (fashion-)mnist, 40 for cifar10, else 10)  --batch B (64 for cifar10, else 128)\n"
    "  --lr X (2e-3)  --min-lr X (0)  --warmup E (1 epoch)\n"
    "  --optimizer adamw|adam|sgd (adamw)  --weight-decay X (0.05)  --momentum X (0.9)\n"
    "  --clip X           clip the global gradient norm to X (default off)\n"
    "  --augment LIST     comma list of crop, flip, autoaugment, randaugment, erasing, mixup,\n"
    "                     cutmix; or 'paper' (crop, flip, autoaugment, mixup/cutmix, smoothing 0.1)\n"
    "                     or 'none' (default: crop,flip for CIFAR, none otherwise)\n"
    "  --label-smoothing X (0.1 for cifar10, else 0)\n"
    "  --schedule cosine|linear  decay after warm-up (cosine)\n"
    "  --ema DECAY        evaluate and save an exponential moving average of the weights\n"
    "                     (e.g. 0.999; 0: off, the default)\n"
    "  --tta flip|none    flip test-time augmentation when evaluating (flip for cifar10, else none)\n"
    "  --init whiten|random  patch embedding from the whitened covariance of training\n"
    "                     patches, or SPEC's truncated normal (whiten for cifar10, else random)\n"
    "%s"
    "                     (vhmn train --data cifar10: auto, part of its one-hour recipe)\n"
    "CIFAR-10's defaults are the one-hour recipe (README, \"CIFAR-10 in one hour\"):\n"
    "  vhmn train --data cifar10 --time-limit 60 --out RUN_DIR\n"
    "run:\n"
    "  --out RUN_DIR      metrics.jsonl, last.safetensors, best.safetensors go here (a directory\n"
    "                     that already holds a run is refused: resume it or choose another)\n"
    "  --resume RUN_DIR   continue a run exactly where its last checkpoint left it\n"
    "                     (one trainer per RUN_DIR: a second is refused, naming the first)\n"
    "  --seed S (0)  --threads N (all cores)  --workers N (1: batch-building threads)\n"
    "  mpirun -np R vhmn train ...  data-parallel over R ranks (a -DVHMN_USE_MPI=ON build):\n"
    "                     --batch stays the global batch, --threads is per rank, rank 0 writes RUN_DIR\n"
    "                     (env VHMN_MPI_OVERLAP=1/0: gradient sums during / after the backward; default 1)\n"
    "  --stop-after N     stop after N more epochs (the schedule still spans --epochs)\n"
    "  --time-limit MIN   wall-clock budget for training + evaluation: the cosine schedule\n"
    "                     follows the share of the budget used and training stops when it\n"
    "                     is spent (--epochs is then an upper bound; not bit-reproducible)\n"
    "Ctrl-C (SIGINT) or SIGTERM stops after the current step, keeps the last completed epoch's\n"
    "checkpoint, prints how to resume and exits with 130 / 143; a second Ctrl-C aborts at once.\n";

const std::set<std::string> kTrainOptions = {
    "data", "data-dir", "fraction", "imbalance", "train-limit", "test-limit", "config", "patch", "dim", "latent",
    "depth", "window", "local-slots", "global-slots", "mlp-ratio", "iters", "local-writes", "inv-temperature",
    "epochs", "batch", "lr", "min-lr", "warmup", "optimizer", "weight-decay", "momentum", "clip", "augment",
    "label-smoothing", "schedule", "ema", "tta", "init", "out", "resume", "seed", "threads", "workers", "stop-after", "time-limit", "precision"};
const std::set<std::string> kResumeOverrides = {"resume", "epochs", "threads", "workers", "stop-after", "precision"};

/// --augment LIST: "paper", "none", or a comma list of the items below.
data::AugmentOptions parse_augment(const std::string& list, double smoothing) {
  data::AugmentOptions a;
  if (list == "paper") {
    a = data::AugmentOptions::paper_cifar();
    return a;
  }
  a.label_smoothing = smoothing;
  if (list == "none" || list.empty()) return a;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "crop") a.crop = 1.0;
    else if (item == "flip") a.flip = 0.5;
    else if (item == "autoaugment") a.autoaugment = 1.0;
    else if (item == "randaugment") a.randaugment = 1.0;
    else if (item == "erasing") a.erasing = 0.25;
    else if (item == "mixup") a.mixup = 0.5;
    else if (item == "cutmix") a.cutmix = 0.5;
    else
      throw UsageError("--augment " + list + ": unknown item '" + item +
                       "' (known: crop, flip, autoaugment, randaugment, erasing, mixup, cutmix; or paper, none)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (a.mixup > 0 && a.cutmix == 0) a.mixup = 1.0;
  if (a.cutmix > 0 && a.mixup == 0) a.cutmix = 1.0;
  return a;
}

/// Every option of one `vhmn train` run, read and checked before the run
/// directory is locked or any data is read: a mistake is reported at once,
/// naming the option and its value (a UsageError: exit code 2), instead of
/// after the data set has loaded or as a message about the library's
/// internals ("DataLoader: batch_size must be > 0").
struct TrainSettings {
  std::string kind;         // --data
  Precision precision = Precision::FP32;
  ModelConfig config;  // the preset with the single overrides; image, channels, classes follow the data later
  long long train_limit = 0, test_limit = 0;  // 0: all
  std::uint64_t seed = 0;
  std::optional<double> fraction, imbalance;
  data::LoaderOptions loader;
  train::TrainOptions opt;  // all but run_dir, its lock and the communicator
  index_t stop_after = -1;  // -1: train to --epochs
  std::string augment;      // --augment as given or defaulted, for the recipe line
};

/// One line with the training recipe in effect, defaults included, so a run
/// shows what `vhmn train --data KIND` chose for it.
std::string recipe_line(const TrainSettings& s) {
  const train::TrainOptions& o = s.opt;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "recipe: %lld epochs%s, batch %lld, %s lr %g (warm-up %g epochs, %s decay), weight decay %g, "
                "label smoothing %g, augment %s, init %s, tta %s, precision %s",
                static_cast<long long>(o.epochs),
                o.time_limit_s > 0 ? (" or " + std::to_string(static_cast<long long>(o.time_limit_s / 60)) +
                                      " minutes, whichever ends first")
                                         .c_str()
                                   : "",
                static_cast<long long>(s.loader.batch_size), train::optimizer_kind_name(o.optimizer.kind), o.lr,
                o.warmup_epochs, train::decay_shape_name(o.schedule), o.optimizer.weight_decay,
                s.loader.augment.label_smoothing, s.augment.c_str(), o.whiten_patch_embed ? "whiten" : "random",
                o.tta_flip ? "flip" : "none", precision_name(s.precision));
  std::string line = buf;
  auto append = [&line](const char* name, double v) {
    char b[64];
    std::snprintf(b, sizeof b, ", %s %g", name, v);
    line += b;
  };
  if (o.ema_decay > 0) append("ema", o.ema_decay);
  if (o.clip_norm > 0) append("clip", o.clip_norm);
  return line;
}

/// The defaults that differ by data set. CIFAR-10's are the one-hour recipe
/// chosen by measurement (README, "CIFAR-10 in one hour"); Fashion-MNIST's
/// fit its default job in ~30 minutes on 2 cores (README, Results).
struct RecipeDefaults {
  const char* config = "cifar-small";
  long long epochs = 10;
  long long batch = 128;
  double label_smoothing = 0.0;
  const char* augment = "crop,flip";
  const char* tta = "none";
  const char* init = "random";
  const char* precision = "fp32";  // --precision fp32|bf16|auto

  static RecipeDefaults for_data(const std::string& kind) {
    RecipeDefaults r;
    if (kind == "fashion-mnist" || kind == "mnist") {
      r.config = "fmnist-small";
      r.epochs = 9;
      r.augment = "none";
    } else if (kind == "cifar10") {
      r.config = "cifar-fast";
      r.epochs = 40;  // an upper bound under --time-limit 60 (32 epochs fit in bf16 here, 16 in fp32)
      r.batch = 64;
      r.label_smoothing = 0.1;
      r.tta = "flip";
      r.init = "whiten";
      r.precision = "auto";  // bf16 where native: twice fp32's images/s here, 83.5% vs 77.0% in the hour
    } else if (kind == "folder") {
      r.augment = "none";
    }
    return r;
  }

  /// The defaults of the program before CIFAR-10's one-hour recipe (its
  /// checkpoints' train.args leave them out): CIFAR-10 trained like the rest.
  static RecipeDefaults before_one_hour_recipe(const std::string& kind) {
    return kind == "cifar10" ? RecipeDefaults{} : for_data(kind);
  }
};

/// Checkpoint metadata saying that "train.args" spells out every option whose
/// default depends on --data (RecipeDefaults). A fresh run writes both, so a
/// later change of defaults never changes how its run resumes; a checkpoint
/// without it is older and resumes with before_one_hour_recipe's defaults.
inline constexpr const char* kRecipeDefaultsKey = "train.recipe_defaults";

/// `argv` with "--NAME VALUE" added for each option of `defaults` it leaves
/// to its default. Throws UsageError where `argv` is not a train command line.
std::vector<std::string> with_recipe_defaults(std::vector<std::string> argv, const RecipeDefaults& defaults) {
  const Args given(argv, {"help"}, kTrainOptions);
  char smoothing[32];
  std::snprintf(smoothing, sizeof smoothing, "%g", defaults.label_smoothing);
  const std::pair<const char*, std::string> options[] = {
      {"config", defaults.config},   {"epochs", std::to_string(defaults.epochs)},
      {"batch", std::to_string(defaults.batch)}, {"label-smoothing", smoothing},
      {"augment", defaults.augment}, {"tta", defaults.tta},
      {"init", defaults.init},       {"precision", defaults.precision}};
  for (const auto& [name, value] : options)
    if (!given.has(name)) argv.insert(argv.end(), {std::string("--") + name, value});
  return argv;
}

TrainSettings read_train_settings(const Args& args) {
  TrainSettings s;
  s.kind = args.required("data");
  VHMN_USAGE_CHECK(s.kind == "fashion-mnist" || s.kind == "mnist" || s.kind == "cifar10" || s.kind == "cifar100" ||
                       s.kind == "folder",
                   "unknown --data '" << s.kind << "' (known: fashion-mnist, mnist, cifar10, cifar100, folder)");
  VHMN_USAGE_CHECK(s.kind != "folder" || args.has("data-dir"), "--data folder needs --data-dir DIR");
  const RecipeDefaults recipe = RecipeDefaults::for_data(s.kind);
  s.precision = precision_option(args, recipe.precision);

  // ---- model: the preset, then single sizes (the data's shape comes once it is read)
  s.config = ModelConfig::preset(
      args.choice("config", recipe.config, ModelConfig::preset_names()));
  auto size = [&](const char* name, index_t& field) {
    field = static_cast<index_t>(args.integer(name, field, std::string(name) == "iters" ? 0 : 1, kNoMax));
  };
  size("patch", s.config.patch);
  size("dim", s.config.dim);
  size("latent", s.config.latent);
  size("depth", s.config.depth);
  size("window", s.config.window);
  size("local-slots", s.config.local_slots);
  size("global-slots", s.config.global_slots);
  size("mlp-ratio", s.config.mlp_ratio);
  size("iters", s.config.iters);
  size("local-writes", s.config.local_writes);
  s.config.inv_temperature = args.number("inv-temperature", s.config.inv_temperature);

  // ---- data: limits and the paper's subsets
  s.train_limit = args.integer("train-limit", 0, 0, kNoMax);
  s.test_limit = args.integer("test-limit", 0, 0, kNoMax);
  s.seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, kNoMax));
  if (args.has("fraction")) {
    s.fraction = args.number("fraction", 1.0);
    VHMN_USAGE_CHECK(*s.fraction > 0 && *s.fraction <= 1,
                     "--fraction " << args.str("fraction", "") << ": must be in (0, 1]");
  }
  if (args.has("imbalance")) s.imbalance = args.number("imbalance", 1.0, 1.0, kNoMaxD);

  // ---- batches
  s.loader.batch_size = static_cast<index_t>(args.integer("batch", recipe.batch, 1, 65536));
  s.loader.num_workers = static_cast<int>(args.integer("workers", 1, 1, 256));
  s.loader.seed = data::derive_seed(s.seed, 1);
  s.augment = args.str("augment", recipe.augment);
  s.loader.augment = parse_augment(s.augment, args.number("label-smoothing", recipe.label_smoothing, 0.0, 0.999));

  // ---- optimisation
  train::TrainOptions& opt = s.opt;
  opt.epochs = static_cast<index_t>(args.integer("epochs", recipe.epochs, 1, 1000000));
  opt.lr = args.number("lr", 2e-3);
  VHMN_USAGE_CHECK(opt.lr > 0, "--lr " << args.str("lr", "") << ": must be > 0");
  opt.min_lr = args.number("min-lr", 0.0, 0.0, kNoMaxD);
  opt.warmup_epochs = args.number("warmup", 1.0, 0.0, kNoMaxD);
  opt.optimizer.kind = train::optimizer_kind_from_string(args.choice("optimizer", "adamw", {"adamw", "adam", "sgd"}));
  opt.optimizer.weight_decay = args.number("weight-decay", 0.05, 0.0, kNoMaxD);
  opt.optimizer.momentum = args.number("momentum", 0.9);
  VHMN_USAGE_CHECK(opt.optimizer.momentum >= 0 && opt.optimizer.momentum < 1,
                   "--momentum " << args.str("momentum", "") << ": must be in [0, 1)");
  opt.clip_norm = args.number("clip", 0.0, 0.0, kNoMaxD);
  opt.time_limit_s = 60.0 * args.number("time-limit", 0.0, 0.0, kNoMaxD);
  opt.precision = s.precision;
  opt.schedule = train::decay_shape_from_string(args.choice("schedule", "cosine", {"cosine", "linear"}));
  opt.ema_decay = args.number("ema", 0.0);
  VHMN_USAGE_CHECK(opt.ema_decay >= 0 && opt.ema_decay < 1,
                   "--ema " << args.str("ema", "") << ": must be in [0, 1) (0: off)");
  opt.tta_flip = args.choice("tta", recipe.tta, {"flip", "none"}) == "flip";
  opt.whiten_patch_embed = args.choice("init", recipe.init, {"whiten", "random"}) == "whiten";
  if (args.has("stop-after")) s.stop_after = static_cast<index_t>(args.integer("stop-after", -1, 0, kNoMax));
  return s;
}

/// The command line a checkpoint keeps as metadata "train.args", for
/// --resume: a compact JSON array of strings. nlohmann/json writes exactly
/// the text io::Json wrote before (same escapes, no spaces), so a checkpoint
/// of either version reads the same.
std::string command_line_json(const std::vector<std::string>& argv) { return nlohmann::ordered_json(argv).dump(); }

/// Reads "train.args" back; `ckpt` names the file in errors.
std::vector<std::string> command_line_from_json(const std::string& text, const std::string& ckpt) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    VHMN_FAIL(ckpt << ": metadata 'train.args' is not valid JSON (" << e.what() << ")");
  }
  VHMN_CHECK(j.is_array(), ckpt << ": metadata 'train.args' must be a JSON array of strings, not a JSON "
                                << j.type_name());
  std::vector<std::string> out;
  for (const auto& v : j) {
    VHMN_CHECK(v.is_string(), ckpt << ": metadata 'train.args' must be a JSON array of strings; it holds a JSON "
                                   << v.type_name());
    out.push_back(v.get<std::string>());
  }
  return out;
}

/// The command line a checkpoint keeps ("train.args"), read as `vhmn train`
/// reads one; `defaults_saved`: the checkpoint has kRecipeDefaultsKey, else
/// the defaults it was trained with are added. A line it refuses (an option it
/// does not know, a value out of range) is the checkpoint's fault, not the
/// user's: an Error naming the file (exit code 1), not a UsageError about an
/// option the user never typed.
Args saved_command_line(const std::string& train_args, const std::string& ckpt, bool defaults_saved) {
  std::vector<std::string> saved = command_line_from_json(train_args, ckpt);
  try {
    if (!defaults_saved)
      saved = with_recipe_defaults(
          saved, RecipeDefaults::before_one_hour_recipe(Args(saved, {"help"}, kTrainOptions).str("data", "")));
    Args args(saved, {"help"}, kTrainOptions);
    (void)read_train_settings(args);
    return args;
  } catch (const UsageError& e) {
    VHMN_FAIL(ckpt << ": metadata 'train.args' holds a command line vhmn train refuses: " << e.what());
  }
}

// ---- Ctrl-C / SIGTERM: the first asks the trainer to stop, a second aborts
std::atomic<int> g_stop_signal{0};
std::atomic<train::Trainer<float>*> g_trainer{nullptr};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<train::Trainer<float>*>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

extern "C" void on_stop_signal(int sig) {
#ifdef VHMN_CLI_POSIX_SIGNALS
  if (g_stop_signal.exchange(sig) != 0) {  // the second one: die now, by the signal's default action
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  if (train::Trainer<float>* t = g_trainer.load()) t->request_stop();
  static const char msg[] =
      "\nvhmn train: stopping after the current step (press Ctrl-C again to abort at once)\n";
  (void)!::write(2, msg, sizeof msg - 1);
#else
  (void)sig;
#endif
}

/// Installs on_stop_signal for SIGINT and SIGTERM while it lives.
struct StopSignals {
#ifdef VHMN_CLI_POSIX_SIGNALS
  struct sigaction old_int {}, old_term {};
  explicit StopSignals(train::Trainer<float>& trainer) {
    g_trainer.store(&trainer);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART needed: the trainer polls the flag between steps
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    g_trainer.store(nullptr);
  }
#else
  explicit StopSignals(train::Trainer<float>&) {}
#endif
};

/// Refuses --out DIR that is a file or already holds a run, before any data
/// is read (the trainer checks again, under the lock).
/// A fresh run's --out: a directory (made if missing), locked by this
/// process, holding no run yet. The lock comes before the look inside, so a
/// directory another trainer is writing is reported as that trainer's.
std::shared_ptr<io::RunDirLock> lock_new_run_dir(const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  VHMN_CHECK(!fs::exists(out, ec) || fs::is_directory(out, ec),
             "--out " << out << ": is a file, not a directory; give a new or empty directory for the run");
  fs::create_directories(out, ec);
  VHMN_CHECK(!ec, "--out " << out << ": cannot create the run directory: " << ec.message());
  auto lock = std::make_shared<io::RunDirLock>(out);
  for (const char* name : {train::kLastCheckpoint, train::kBestCheckpoint})
    VHMN_CHECK(!fs::exists(fs::path(out) / name, ec),
               "--out " << out << " already holds a run (" << name << "); resume it with `vhmn train --resume "
                        << out << "`, or train into another directory");
  return lock;
}

/// The slot counts of a preset, rounded up to a multiple of K classes (each
/// class owns S/K slots); an explicitly given count must already be one.
void fit_slots_to_classes(const Args& args, ModelConfig& config, const std::string& data_name) {
  const index_t K = config.classes;
  std::string note;
  auto fit = [&](const char* option, index_t& slots) {
    if (K <= 0 || slots % K == 0) return;
    const index_t up = (slots + K - 1) / K * K;
    VHMN_USAGE_CHECK(!args.has(option), "--" << option << " " << slots << ": must be a multiple of the " << K
                                             << " classes of " << data_name << " (e.g. " << up << ")");
    note += std::string(note.empty() ? "" : ", ") + option + " " + std::to_string(slots) + " -> " +
            std::to_string(up);
    slots = up;
  };
  fit("local-slots", config.local_slots);
  fit("global-slots", config.global_slots);
  if (!note.empty())
    std::printf("note: %s has %lld classes, so the preset's slot counts are rounded up to a multiple: %s\n",
                data_name.c_str(), static_cast<long long>(K), note.c_str());
}

const char* signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "a signal";
}

}  // namespace

namespace {

/// Under mpirun/srun (built with -DVHMN_USE_MPI=ON): this process's rank of
/// the run; else null, and `vhmn train` is one plain process.
std::shared_ptr<train::Communicator> data_parallel_communicator() {
#ifdef VHMN_USE_MPI
  if (train::launched_by_mpi()) return std::make_shared<train::MpiCommunicator>();
#endif
  return nullptr;
}

int train_rank(const std::vector<std::string>& argv_in, const std::shared_ptr<train::Communicator>& comm);

}  // namespace

int cmd_train(const std::vector<std::string>& argv_in) {
  const std::shared_ptr<train::Communicator> comm = data_parallel_communicator();
  if (!comm || comm->size() == 1) return train_rank(argv_in, nullptr);
  if (comm->rank() != 0) (void)!std::freopen("/dev/null", "w", stdout);  // rank 0 alone reports progress
  try {
    return train_rank(argv_in, comm);
  } catch (const std::exception& e) {
    // the other ranks may wait in a collective for this one: end them all
    std::fprintf(stderr, "vhmn train: error on rank %d of %d: %s\n", comm->rank(), comm->size(), e.what());
    std::fflush(stderr);
    comm->abort(1);
    return 1;
  }
}

namespace {

int train_rank(const std::vector<std::string>& argv_in, const std::shared_ptr<train::Communicator>& comm) {
  const bool rank0 = !comm || comm->rank() == 0;  // the rank that writes the run directory
  auto barrier = [&] {
    double x = 0;
    if (comm) comm->sum(&x, 1);
  };
  std::shared_ptr<io::RunDirLock> run_lock;  // held from before the checkpoint is read to the end
  train::RunDirRecovery rec;                  // what opening a resumed run repaired
  Args args(argv_in, {"help"}, kTrainOptions);
  if (args.flag("help")) {
    std::printf(kTrainHelp, kDataHelp, kPrecisionHelp);
    return 0;
  }
  args.no_positional();
  const bool resuming = args.has("resume");
  // a resumed run's checkpoint metadata, read once: train.args and the recipe mark go into its next checkpoints
  std::map<std::string, std::string> resumed_metadata;
  if (resuming) {
    const std::string run = args.required("resume");
    VHMN_CHECK(std::filesystem::is_directory(run), "--resume " << run << ": no such run directory");
    // Everything but a few run-time knobs comes from the run's own checkpoint.
    for (const std::string& name : args.option_names())
      VHMN_USAGE_CHECK(kResumeOverrides.count(name),
                       "with --resume only --epochs, --threads, --workers, --stop-after and --precision may be "
                       "given, not --" << name);
    // lock first, then repair what a kill may have left, then read the checkpoint
    if (rank0) {
      run_lock = std::make_shared<io::RunDirLock>(run);
      rec = train::recover_run_dir(run);
    }
    barrier();  // the other ranks read the checkpoint once rank 0 has repaired the run
    if (!rank0) rec.epoch = std::filesystem::exists(std::filesystem::path(run) / train::kLastCheckpoint) ? 0 : -1;
    const std::string ckpt = (std::filesystem::path(run) / train::kLastCheckpoint).string();
    VHMN_CHECK(rec.epoch >= 0, "--resume " << run << ": no checkpoint (" << train::kLastCheckpoint
                                            << ") to resume: the run stopped before its first epoch ended; "
                                               "start it again with its original command (--out "
                                            << run << ")");
    resumed_metadata = io::read_safetensors(ckpt).metadata;
    auto it = resumed_metadata.find("train.args");
    VHMN_CHECK(it != resumed_metadata.end(), ckpt << ": has no 'train.args' metadata; it was not written by vhmn train");
    Args merged = saved_command_line(it->second, ckpt, resumed_metadata.count(kRecipeDefaultsKey) > 0);
    merged.overlay(args);  // the options given now replace the saved ones
    args = merged;
  }
  // every option is checked before the run directory is locked or any data is read
  args.apply_threads();
  TrainSettings settings = read_train_settings(args);
  if (!resuming) {
    // a fresh run locks its directory (refusing a file or an old run) before the (possibly long) data loading
    const std::string out = args.required("out");
    if (rank0) run_lock = lock_new_run_dir(out);
  }

  const Precision precision = settings.precision;
  const std::string& kind = settings.kind;
  const std::string dir = data_dir_option(args, kind);

  // ---- model config: preset and single sizes, then the data's shape
  ModelConfig config = settings.config;
  data::Dataset train_set, test_set;
  load_split(kind, dir, data::Split::Train, train_set, config.image, config.channels);
  const bool has_test = load_split(kind, dir, data::Split::Test, test_set, config.image, config.channels);
  limit_dataset(train_set, settings.train_limit);
  limit_dataset(test_set, settings.test_limit);
  VHMN_CHECK(train_set.height == train_set.width,
             "training images are " << train_set.height << "x" << train_set.width << "; V-HMN needs square images");
  config.image = train_set.height;
  config.channels = train_set.channels;
  config.classes = train_set.classes;
  fit_slots_to_classes(args, config, train_set.name);
  config.validate();

  // ---- subsets from the paper's experiments
  const std::uint64_t seed = settings.seed;
  if (settings.fraction)
    train_set = train_set.subset(data::stratified_fraction(train_set, *settings.fraction, data::derive_seed(seed, 11)));
  if (settings.imbalance)
    train_set = train_set.subset(data::long_tail_indices(train_set, *settings.imbalance, data::derive_seed(seed, 12)));

  const data::LoaderOptions& loader = settings.loader;
  train::TrainOptions opt = settings.opt;
  opt.run_dir = resuming ? args.required("resume") : args.required("out");
  opt.run_dir_lock = run_lock;
  opt.parallel.communicator = comm;
  opt.parallel.overlap = train::overlap_from_environment(opt.parallel.overlap);  // VHMN_MPI_OVERLAP

  const data::Normalization norm = data::compute_normalization(train_set);
  VHMN<float> model(config, seed);
  train::Trainer<float> trainer(model, train_set, has_test ? &test_set : nullptr, norm, loader, opt);
  for (const train::RunDirRecovery* r : {static_cast<const train::RunDirRecovery*>(&rec), &trainer.recovery()})
    for (const std::string& t : r->removed_temporaries)
      std::printf("removed %s/%s, left by a write that was killed\n", opt.run_dir.c_str(), t.c_str());
  if (rec.promoted_best || trainer.recovery().promoted_best)
    std::printf("%s/%s was newer than %s (a kill came between the two): it is now the last checkpoint\n",
                opt.run_dir.c_str(), train::kBestCheckpoint, train::kLastCheckpoint);
  if (!resuming) {
    trainer.extra_metadata()["train.args"] = command_line_json(with_recipe_defaults(argv_in, RecipeDefaults::for_data(kind)));
    trainer.extra_metadata()[kRecipeDefaultsKey] = "in train.args";
  } else {
    // keep the original command line (minus overrides) for the next resume
    const std::string ckpt = (std::filesystem::path(opt.run_dir) / "last.safetensors").string();
    trainer.resume(ckpt);
    trainer.extra_metadata()["train.args"] = resumed_metadata.at("train.args");
    if (resumed_metadata.count(kRecipeDefaultsKey))
      trainer.extra_metadata()[kRecipeDefaultsKey] = resumed_metadata.at(kRecipeDefaultsKey);
    if (trainer.epochs_done() >= opt.epochs) {
      std::printf("vhmn train: %s is already complete (epoch %lld of %lld); nothing to train. To train it "
                  "longer: vhmn train --resume %s --epochs N (N > %lld)\n",
                  opt.run_dir.c_str(), static_cast<long long>(trainer.epochs_done()),
                  static_cast<long long>(opt.epochs), opt.run_dir.c_str(), static_cast<long long>(opt.epochs));
      return 0;
    }
    std::printf("resuming %s at epoch %lld of %lld\n", ckpt.c_str(), static_cast<long long>(trainer.epochs_done()),
                static_cast<long long>(opt.epochs));
  }

  std::printf("vhmn train: %s (%lld train / %lld test images, %lld classes) -> %s\n", train_set.name.c_str(),
              static_cast<long long>(train_set.size), static_cast<long long>(has_test ? test_set.size : 0),
              static_cast<long long>(config.classes), opt.run_dir.c_str());
  std::printf("model: image %lld, patch %lld, D %lld, L %lld, depth %lld, k %lld, S_l %lld, S_g %lld, T %lld; "
              "%d threads\n",
              static_cast<long long>(config.image), static_cast<long long>(config.patch),
              static_cast<long long>(config.dim), static_cast<long long>(config.latent),
              static_cast<long long>(config.depth), static_cast<long long>(config.window),
              static_cast<long long>(config.local_slots), static_cast<long long>(config.global_slots),
              static_cast<long long>(config.iters), num_threads());
  std::printf("%s\n", recipe_line(settings).c_str());
  if (comm)
    std::printf("data-parallel: %d ranks x %d threads, global batch %lld (%lld per rank)\n", comm->size(),
                num_threads(), static_cast<long long>(loader.batch_size),
                static_cast<long long>(loader.batch_size / comm->size()));
  std::fflush(stdout);
  announce_precision(precision);

  Progress progress(opt.epochs, opt.time_limit_s > 0 ? std::max(1e-9, opt.time_limit_s - trainer.elapsed_s()) : 0.0);
  trainer.on_step = [&](const train::StepInfo& s) { progress.step(s); };
  trainer.on_eval_progress = [&](index_t done, index_t total) { progress.evaluation(done, total); };
  train::EpochStats last_epoch;
  // time to accuracy: the first epoch whose test top-1 reached each mark
  const double marks[] = {0.70, 0.75, 0.80, 0.85};
  std::vector<train::EpochStats> reached(std::size(marks));  // epoch 0: not reached
  bool any_eval = false;
  trainer.on_epoch = [&](const train::EpochStats& e) {
    progress.epoch(e);
    last_epoch = e;
    any_eval = any_eval || e.has_test;
    for (std::size_t m = 0; m < std::size(marks); ++m)
      if (reached[m].epoch == 0 && e.has_test && e.test_acc >= marks[m]) reached[m] = e;
  };
  {
    StopSignals signals(trainer);
    if (g_stop_signal.load() != 0) trainer.request_stop();
    trainer.fit(settings.stop_after);
  }
  if (const int sig = g_stop_signal.load();
      sig != 0 && trainer.stop_requested() && (trainer.abandoned_steps() > 0 || trainer.epochs_done() < opt.epochs)) {
    std::printf("\n");
    if (trainer.abandoned_steps() > 0)
      std::printf("vhmn train: stopped by %s during epoch %lld (after %lld steps); that partial epoch will be "
                  "trained again.\n",
                  signal_name(sig), static_cast<long long>(trainer.epochs_done() + 1),
                  static_cast<long long>(trainer.abandoned_steps()));
    else
      std::printf("vhmn train: stopped by %s after epoch %lld.\n", signal_name(sig),
                  static_cast<long long>(trainer.epochs_done()));
    if (trainer.epochs_done() > 0)
      std::printf("%s/%s holds epoch %lld of %lld; resume with: vhmn train --resume %s\n", opt.run_dir.c_str(),
                  train::kLastCheckpoint, static_cast<long long>(trainer.epochs_done()),
                  static_cast<long long>(opt.epochs), opt.run_dir.c_str());
    else
      std::printf("no epoch was completed, so nothing was saved; start again with the same command\n");
    std::fflush(stdout);
    return 128 + sig;  // 130 for SIGINT, 143 for SIGTERM, as a shell reports a signal death
  }

  if (const train::DataParallel<float>* dp = trainer.data_parallel(); dp && dp->stats().steps > 0) {
    const train::CommStats& c = dp->stats();
    std::printf("communication per step (rank 0): gradient all-reduce %.2f ms of %lld bytes in %lld buckets (overlap "
                "%s; final wait %.2f ms), bank-write gather %.2f ms of %lld bytes\n",
                1e3 * c.gradient_s / double(c.steps), static_cast<long long>(c.gradient_bytes),
                static_cast<long long>(c.gradient_buckets), dp->overlap() ? "on" : "off",
                1e3 * c.wait_s / double(c.steps), 1e3 * c.bank_s / double(c.steps),
                static_cast<long long>(c.bank_bytes));
  }
  const std::string last = (std::filesystem::path(opt.run_dir) / "last.safetensors").string();
  if (any_eval) {  // of this session's epochs (a resumed run counts from its resume)
    std::string line = "time to accuracy:";
    for (std::size_t m = 0; m < std::size(marks); ++m) {
      char buf[96];
      if (reached[m].epoch > 0)
        std::snprintf(buf, sizeof buf, " %.0f%% at %d:%02d (epoch %lld)%s", 100 * marks[m],
                      static_cast<int>(reached[m].elapsed_s) / 60, static_cast<int>(reached[m].elapsed_s) % 60,
                      static_cast<long long>(reached[m].epoch), m + 1 < std::size(marks) ? "," : "");
      else
        std::snprintf(buf, sizeof buf, " %.0f%% not reached%s", 100 * marks[m], m + 1 < std::size(marks) ? "," : "");
      line += buf;
    }
    std::printf("%s\n", line.c_str());
  }
  if (last_epoch.has_test)
    std::printf("done: test accuracy %.2f%% after %lld epochs (best %.2f%%); checkpoints %s and %s/best.safetensors\n",
                100.0 * last_epoch.test_acc, static_cast<long long>(last_epoch.epoch), 100.0 * trainer.best_accuracy(),
                last.c_str(), opt.run_dir.c_str());
  else if (std::filesystem::exists(last))
    std::printf("done: checkpoint %s\n", last.c_str());
  else
    std::printf("done: no epoch was trained (--stop-after 0), so nothing was written\n");
  return 0;
}

}  // namespace

}  // namespace vhmn::cli
