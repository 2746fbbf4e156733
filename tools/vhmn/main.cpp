// tools/vhmn/main.cpp — `vhmn <command> ...`: dispatch and error reporting.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <vhmn/core/error.hpp>

#include "commands.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

const Command kCommands[] = {
    {"forward", vhmn::cli::cmd_forward,
     "run a checkpoint on images from a safetensors file (eval mode); optionally write gradients"},
    {"train", vhmn::cli::cmd_train, "train a model on Fashion-MNIST, CIFAR-10/100 or an image folder"},
    {"eval", vhmn::cli::cmd_eval, "top-1 / top-5 / per-class accuracy and confusion matrix of a checkpoint"},
    {"predict", vhmn::cli::cmd_predict, "classify image files (PNG, JPEG, BMP) with a checkpoint"},
    {"bench", vhmn::cli::cmd_bench, "training and inference throughput of a preset, with a per-op breakdown"},
    {"explain", vhmn::cli::cmd_explain,
     "prototype panels, memory-weight profiles and retrieval hit rates of a checkpoint (PNG + report.html)"},
    {"robustness", vhmn::cli::cmd_robustness,
     "accuracy under noise, occlusion and contrast, retrieval stability, refinement depth T"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: vhmn <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`vhmn <command> --help` describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const vhmn::Error& e) {
      std::fprintf(stderr, "vhmn %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vhmn %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "vhmn: unknown command '%s'\n", name.c_str());
  usage(stderr);
  return 2;
}
