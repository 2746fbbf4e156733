// tools/vhmn/cmd_bench.cpp — `vhmn bench`: training-step and inference
// throughput of a spec preset on this CPU, the counterpart of
// `bench/pytorch_reference.py bench` (same model, same protocol).
//
// Protocol (train/bench_protocol.hpp): every memory bank full (writes = S/K
// per class, random rows, so retrieval runs over all slots); random
// normalised images and labels;
//   training step = zero_grad, forward, soft-target cross-entropy, backward,
//                   AdamW step (lr 1e-3, weight decay 0.05), bank writes;
//   inference     = eval mode, forward only (no backward caches, retrieval
//                   weights not recorded).
// Each figure is the median of --repeats timed runs after --warmup untimed
// ones. The per-op breakdown comes from extra runs with the profiler on
// (core/profile.hpp), so the timed runs carry no profiling at all.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <vhmn/train/bench_protocol.hpp>
#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "precision_option.hpp"

namespace vhmn::cli {
namespace {

const char* kBenchHelp =
    "usage: vhmn bench [--config NAME] [--batch B] [--threads N] [--repeats R]\n"
    "                  [--warmup W] [--precision P] [--json] [--no-breakdown]\n"
    "\n"
    "  --config      paper-cifar, cifar-small (default) or fmnist-small (docs/spec.md)\n"
    "  --batch       images per step (default 64)\n"
    "  --threads     threads (default: all cores)\n"
    "  --repeats     timed runs; the median is reported (default 5)\n"
    "  --warmup      untimed runs first (default 2)\n"
    "  --precision   fp32 (default) or bf16 (bfloat16 products, fp32 accumulation)\n"
    "  --json        one JSON object on stdout: train_images_per_s,\n"
    "                infer_images_per_s, peak_rss_mb, GFLOP/s, breakdowns, ...\n"
    "  --no-breakdown  skip the profiled runs of the per-op breakdown\n";

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double peak_rss_mb() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

/// Multiply-add flops (2 per MAC) of the model's matrix products, the bulk
/// of its arithmetic; element-wise work is not counted.
struct Flops {
  double forward = 0, backward = 0;
};
Flops model_flops(const ModelConfig& c, index_t B) {
  const double R = double(B) * double(c.tokens()), D = double(c.dim), L = double(c.latent),
               kk = double(c.window * c.window), H = double(c.hidden()), T = double(c.iters),
               P = double(c.channels * c.patch * c.patch), Bd = double(B);
  auto mm = [](double m, double n, double k) { return 2.0 * m * n * k; };
  Flops f;
  // patch embedding: forward, and dW only backward (images get no gradient)
  f.forward += mm(R, D, P);
  f.backward += mm(R, D, P);
  double block_fwd = 0;
  block_fwd += mm(R, L, D * kk) + mm(R, D, 2 * L);                          // local query, out
  block_fwd += T * 2 * mm(R, double(c.local_slots), L);                     // local scores + weighted sum
  block_fwd += mm(Bd, L, D) + mm(Bd, D, 2 * L);                             // global query, out
  block_fwd += T * 2 * mm(Bd, double(c.global_slots), L);                   // global retrieval
  block_fwd += mm(R, H, D) + mm(R, D, H);                                   // MLP
  f.forward += double(c.depth) * block_fwd;
  f.backward += double(c.depth) * 2 * block_fwd;  // every product has a dX and a dW (or 2 retrieval) product
  f.forward += mm(Bd, double(c.classes), D);
  f.backward += 2 * mm(Bd, double(c.classes), D);
  return f;
}

/// Self time per profiled op, per run, sorted by share (largest first).
std::vector<std::pair<std::string, double>> breakdown(int runs) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& e : profile::entries())
    if (e.calls > 0) out.emplace_back(e.name, e.self_s / runs);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  const Args args(argv, {"json", "help", "no-breakdown"}, {"config", "batch", "threads", "repeats", "warmup", "precision"});
  if (args.flag("help")) {
    std::fputs(kBenchHelp, stdout);
    return 0;
  }
  args.no_positional();
  const std::string config_name = args.str("config", "cifar-small");
  const index_t B = args.integer("batch", 64, 1, 65536);
  const long long threads_arg = args.integer("threads", 0, 0, 4096);  // 0: all cores
  set_num_threads(static_cast<int>(threads_arg));
  const int repeats = static_cast<int>(args.integer("repeats", 5, 1, 1000000));
  const int warmup = static_cast<int>(args.integer("warmup", 2, 0, 1000000));
  const bool json = args.flag("json"), want_breakdown = !args.flag("no-breakdown");
  const Precision precision = precision_option(args);
  if (json) announce_precision(precision);  // the text report says it in its header

  using T = float;
  const ModelConfig config = ModelConfig::preset(config_name);
  train::BenchProtocol<T> bench(config, B, precision);  // banks full, one random batch, AdamW
  auto train_step = [&] { bench.train_step(); };
  auto infer_step = [&] { bench.infer_step(); };
  auto timed = [&](auto& step) {
    for (int i = 0; i < warmup; ++i) step();
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = Clock::now();
      step();
      t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return median(t);
  };
  auto profiled = [&](auto& step, int runs) {
    profile::reset();
    profile::set_enabled(true);
    const auto t0 = Clock::now();
    for (int i = 0; i < runs; ++i) step();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count() / runs;
    profile::set_enabled(false);
    auto br = breakdown(runs);
    double covered = 0;
    for (const auto& e : br) covered += e.second;
    if (wall > covered) br.emplace_back("other", wall - covered);  // loss, zero_grad, ...
    return br;
  };

  const double t_train = timed(train_step);
  const double t_infer = timed(infer_step);
  const double rss = peak_rss_mb();
  const int prof_runs = std::min(repeats, 3);
  std::vector<std::pair<std::string, double>> br_train, br_infer;
  if (want_breakdown) {
    br_train = profiled(train_step, prof_runs);
    br_infer = profiled(infer_step, prof_runs);
  }
  const Flops flops = model_flops(config, B);
  const double train_gflops = (flops.forward + flops.backward) / t_train / 1e9;
  const double infer_gflops = flops.forward / t_infer / 1e9;

  auto shares = [](const std::vector<std::pair<std::string, double>>& br) {
    double total = 0;
    for (const auto& e : br) total += e.second;
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& e : br) o[e.first] = total > 0 ? e.second / total : 0.0;
    return o;
  };
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    out["impl"] = "vhmn";
    out["config"] = config_name;
    out["batch"] = B;
    out["threads"] = num_threads();
    out["repeats"] = repeats;
    out["precision"] = precision_name(precision);
    if (precision == Precision::BF16) out["bf16_backend"] = ops::bf16_backend_name();
    std::int64_t params = 0;
    for (const Param<T>* p : bench.model.parameters()) params += p->numel();
    out["params"] = params;
    out["train_step_ms"] = 1e3 * t_train;
    out["infer_batch_ms"] = 1e3 * t_infer;
    out["train_images_per_s"] = double(B) / t_train;
    out["infer_images_per_s"] = double(B) / t_infer;
    out["peak_rss_mb"] = rss;
    out["train_gflop"] = (flops.forward + flops.backward) / 1e9;
    out["infer_gflop"] = flops.forward / 1e9;
    out["train_gflops"] = train_gflops;
    out["infer_gflops"] = infer_gflops;
    if (want_breakdown) {
      out["train_breakdown"] = shares(br_train);
      out["infer_breakdown"] = shares(br_infer);
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("vhmn bench: %s, batch %lld, %d threads, median of %d after %d warm-up, precision %s\n",
              config_name.c_str(), static_cast<long long>(B), num_threads(), repeats, warmup,
              precision_description(precision).c_str());
  std::printf("  training step : %9.1f ms  %8.1f images/s  %6.1f GFLOP/s (%.1f GFLOP)\n", 1e3 * t_train,
              double(B) / t_train, train_gflops, (flops.forward + flops.backward) / 1e9);
  std::printf("  inference     : %9.1f ms  %8.1f images/s  %6.1f GFLOP/s (%.1f GFLOP)\n", 1e3 * t_infer,
              double(B) / t_infer, infer_gflops, flops.forward / 1e9);
  std::printf("  peak RSS      : %9.1f MB\n", rss);
  auto print_breakdown = [](const char* title, const std::vector<std::pair<std::string, double>>& br) {
    double total = 0;
    for (const auto& e : br) total += e.second;
    std::printf("  %s (profiled, self time per run):\n", title);
    for (const auto& e : br)
      std::printf("    %-16s %9.2f ms  %5.1f%%\n", e.first.c_str(), 1e3 * e.second,
                  total > 0 ? 100.0 * e.second / total : 0.0);
  };
  if (want_breakdown) {
    print_breakdown("training step breakdown", br_train);
    print_breakdown("inference breakdown", br_infer);
  }
  return 0;
}

}  // namespace vhmn::cli
