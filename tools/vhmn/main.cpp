// tools/vhmn/main.cpp — `vhmn <command> ...`: dispatch and error reporting.
//
// Exit codes: 0 success; 1 the command failed (a file, the data, the model);
// 2 the command line is wrong (unknown command or option, a repeated option,
// a value out of range: UsageError), always with the same message format
// "vhmn CMD: error: ..." and a pointer to the command's help.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/Version.hpp>
#include <nlohmann/json.hpp>

#include <vhmn/core/error.hpp>

#include "args.hpp"
#include "commands.hpp"

#ifndef VHMN_CLI_VERSION
#define VHMN_CLI_VERSION "unknown"
#endif

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
  std::fprintf(out, "usage: vhmn <command> [options]\n       vhmn help <command>\n       vhmn --version\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\n`vhmn help <command>` (or `vhmn <command> --help`) describes a command's options.\n"
               "Exit status: 0 done, 1 the command failed, 2 a mistake in the command line.\n");
}

const Command* find_command(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

int unknown_command(const std::string& name) {
  std::fprintf(stderr, "vhmn: error: unknown command '%s' (see vhmn --help)\n", name.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h") {
    usage(stdout);
    return 0;
  }
  if (first == "--version") {
    std::printf("vhmn %s (CLI11 %s, nlohmann/json %d.%d.%d)\n", VHMN_CLI_VERSION, CLI11_VERSION,
                NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  const Command* c = nullptr;
  if (first == "help") {
    if (args.empty()) {
      usage(stdout);
      return 0;
    }
    c = find_command(args[0]);
    if (!c) return unknown_command(args[0]);
    args = {"--help"};
  } else {
    c = find_command(first);
    if (!c) return unknown_command(first);
  }
  try {
    return c->run(args);
  } catch (const vhmn::cli::UsageError& e) {
    std::fprintf(stderr, "vhmn %s: error: %s (see vhmn help %s)\n", c->name, e.what(), c->name);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vhmn %s: error: %s\n", c->name, e.what());
    return 1;
  }
}
