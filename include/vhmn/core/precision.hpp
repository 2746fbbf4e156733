// vhmn/core/precision.hpp — the arithmetic of a model's matrix products.
//
//   FP32  every product in float (or double) throughout: the default, and
//         bit for bit what vhmn computed before the mode existed.
//   BF16  mixed precision (float models only): the operands of every large
//         matrix product are rounded to bfloat16 and the products accumulate
//         in fp32 (ops/gemm_precision.hpp lists the products). Everything
//         else — master weights, gradients, optimiser state, layer norms,
//         softmax, GELU, the residual stream, the loss, the memory banks —
//         stays fp32.
// A precision is a run-time choice held by each layer (VHMN::set_precision
// sets it on all of them); there is no global switch, so two models in two
// threads may run at different precisions.
#pragma once

#include <string>
#include <type_traits>

#include "vhmn/core/error.hpp"

namespace vhmn {

enum class Precision { FP32, BF16 };

/// "fp32" or "bf16", the spelling of `--precision`.
inline const char* precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "fp32"; }

/// Parses "fp32" / "bf16"; `what` names the source in the error (e.g. "--precision").
inline Precision parse_precision(const std::string& s, const std::string& what) {
  if (s == "fp32") return Precision::FP32;
  if (s == "bf16") return Precision::BF16;
  VHMN_FAIL(what << " must be fp32 or bf16, got '" << s << "'");
}

/// Fails unless scalar type T can run at precision p: bf16 is for float
/// models only (double models stay exact, for the gradient checks).
template <class T>
void check_precision_supported(Precision p) {
  if constexpr (!std::is_same_v<T, float>)
    VHMN_CHECK(p == Precision::FP32, "bf16 precision needs a float model; this one computes in "
                                         << (std::is_same_v<T, double> ? "double" : "another scalar type")
                                         << " (double models stay exact for the gradient checks)");
}

}  // namespace vhmn
