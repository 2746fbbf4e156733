// tools/vhmn/precision_option.hpp — `--precision fp32|bf16|auto` of every command
// that runs a model, and the one line that says which bf16 kernel runs.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <vhmn/core/cpu_features.hpp>
#include <vhmn/core/precision.hpp>
#include <vhmn/ops/gemm_bf16.hpp>

#include "args.hpp"

namespace vhmn::cli {

inline constexpr const char* kPrecisionHelp =
    "  --precision P      fp32 (default), bf16 or auto. bf16: matrix products with bfloat16\n"
    "                     operands and fp32 accumulation (README, bf16 mixed precision); the CPU\n"
    "                     is checked at run time: AVX512-BF16 runs natively, any other CPU (or\n"
    "                     VHMN_BF16=emulate) runs a correct, slower emulation. auto: bf16 where\n"
    "                     it runs natively, else fp32\n";

/// --precision fp32|bf16|auto; `fallback` is the value when the option is
/// absent. auto is bf16 where the native AVX512-BF16 kernel runs and fp32
/// elsewhere (the emulation is slower than fp32), and says which it chose
/// on stderr. Anything else is a mistake in the command line (exit code 2).
inline Precision precision_option(const Args& args, const char* fallback = "fp32") {
  const std::string p = args.str("precision", fallback);
  VHMN_USAGE_CHECK(p == "fp32" || p == "bf16" || p == "auto",
                   "--precision must be fp32, bf16 or auto, got '" << p << "'");
  if (p != "auto") return parse_precision(p, "--precision");
  const bool native = ops::bf16_backend() == ops::Bf16Backend::Native;
  const char* why = native ? "this CPU runs bf16 natively"
                    : !cpu_has_avx512_bf16() ? "this CPU has no AVX512-BF16"
                                             : "no native bf16 kernel (this build, or VHMN_BF16=emulate)";
  static std::atomic<bool> said{false};  // once per process: a resumed run reads its command line twice
  if (!said.exchange(true))
    std::fprintf(stderr, "vhmn: --precision auto%s: %s (%s)\n", args.has("precision") ? "" : " (the default here)",
                 native ? "bf16" : "fp32", why);
  return native ? Precision::BF16 : Precision::FP32;
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
