// tools/vhmn/precision_option.hpp — `--precision fp32|bf16` of every command
// that runs a model, and the one line that says which bf16 kernel runs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <vhmn/core/cpu_features.hpp>
#include <vhmn/core/precision.hpp>
#include <vhmn/ops/gemm_bf16.hpp>

#include "args.hpp"

namespace vhmn::cli {

inline constexpr const char* kPrecisionHelp =
    "  --precision P      fp32 (default) or bf16: matrix products with bfloat16 operands and\n"
    "                     fp32 accumulation (README, bf16 mixed precision); the CPU is checked\n"
    "                     at run time: AVX512-BF16 runs natively, any other CPU (or\n"
    "                     VHMN_BF16=emulate) runs a correct, slower emulation\n";

/// --precision (default fp32); anything else is a mistake in the command line (exit code 2).
inline Precision precision_option(const Args& args) {
  const std::string p = args.str("precision", "fp32");
  VHMN_USAGE_CHECK(p == "fp32" || p == "bf16", "--precision must be fp32 or bf16, got '" << p << "'");
  return parse_precision(p, "--precision");
}

/// "fp32", or "bf16 (native AVX512-BF16 kernel)" / "bf16 (emulated: <why>)".
inline std::string precision_description(Precision p) {
  if (p != Precision::BF16) return precision_name(p);
  if (ops::bf16_backend() == ops::Bf16Backend::Native) return "bf16 (native AVX512-BF16 kernel)";
  const char* env = std::getenv("VHMN_BF16");
  const char* why = env && std::string(env) == "emulate" ? "forced by VHMN_BF16=emulate"
                    : !cpu_has_avx512_bf16()              ? "this CPU has no AVX512-BF16"
                                                          : "this build has no native kernel";
  return std::string("bf16 (emulated: ") + why + ")";
}

/// The one line a command prints (to stderr, so --json output stays JSON)
/// when it runs in bf16; nothing in fp32, whose output is unchanged.
inline void announce_precision(Precision p) {
  if (p == Precision::BF16) std::fprintf(stderr, "vhmn: precision %s\n", precision_description(p).c_str());
}

}  // namespace vhmn::cli
