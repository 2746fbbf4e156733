// tools/vhmn/cmd_forward.cpp — `vhmn forward`: check vhmn against any other
// implementation of docs/spec.md. Runs a checkpoint in eval mode (banks frozen)
// on `images` from a safetensors file and writes `logits`; with --grad and
// `labels`, also the mean cross-entropy `loss` and `grad.<name>` for every
// parameter under its docs/spec.md §7 name and shape.
#include <cmath>
#include <cstdio>

#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace vhmn::cli {
namespace {

const char* kForwardHelp =
    "usage: vhmn forward --model M.safetensors --input X.safetensors --out Y.safetensors\n"
    "                    [--dtype f32|f64] [--grad] [--threads N]\n"
    "\n"
    "  --model    checkpoint (docs/spec.md section 7); its metadata gives the config\n"
    "  --input    safetensors with `images` [B,C,H,W] (normalised, F32 or F64)\n"
    "             and, for --grad, `labels` [B] (I64)\n"
    "  --out      written with `logits` [B,K]; with --grad also `loss` [1] and\n"
    "             `grad.<name>` for every parameter\n"
    "  --dtype    precision of the computation and of the outputs (default f32);\n"
    "             weights are converted on load\n"
    "  --threads  threads to use (default: all cores)\n";

template <class T>
int run_forward(const Args& args, io::DType out_dtype) {
  const std::string model_path = args.required("model"), input_path = args.required("input"),
                    out_path = args.required("out");
  auto model = load_model<T>(model_path);
  const ModelConfig& c = model->config();
  model->eval();

  const io::ForwardInput<T> input = io::parse_forward_input<T>(io::read_safetensors(input_path), c, input_path);
  const Tensor<T>& images = input.images;
  const std::vector<std::int64_t>& labels = input.labels;
  const index_t B = input.batch, K = c.classes;
  const bool want_grad = args.flag("grad");
  VHMN_CHECK(!want_grad || !labels.empty(), "--grad needs `labels` [B] in " << input_path);

  const T* logits = model->forward(images.data(), B);
  Tensor<T> logits_out({B, K});
  std::copy(logits, logits + B * K, logits_out.data());

  io::SafetensorsFile out;
  out.metadata["vhmn.command"] = "forward";
  out.tensors.push_back(io::make_raw("logits", logits_out, out_dtype));
  if (want_grad) {
    Tensor<T> targets({B, K}), probs({B, K}), dlogits({B, K});
    for (index_t b = 0; b < B; ++b) targets[b * K + labels[static_cast<std::size_t>(b)]] = T(1);
    Tensor<T> loss({1});
    loss[0] = ops::cross_entropy_forward(probs.data(), logits_out.data(), targets.data(), B, K);
    ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), B, K);
    model->zero_grad();
    model->backward(dlogits.data());
    out.tensors.push_back(io::make_raw("loss", loss, out_dtype));
    for (Param<T>* p : model->parameters()) out.tensors.push_back(io::make_raw("grad." + p->name, p->grad, out_dtype));
  }
  io::write_safetensors(out_path, out);
  std::printf("wrote %s: logits [%lld, %lld]%s\n", out_path.c_str(), static_cast<long long>(B),
              static_cast<long long>(K), want_grad ? ", loss and parameter gradients" : "");
  return 0;
}

}  // namespace

int cmd_forward(const std::vector<std::string>& argv) {
  const Args args(argv, {"grad", "help"}, {"model", "input", "out", "dtype", "threads"});
  if (args.flag("help")) {
    std::fputs(kForwardHelp, stdout);
    return 0;
  }
  args.no_positional();
  args.apply_threads();
  const std::string dtype = args.str("dtype", "f32");
  if (dtype == "f32") return run_forward<float>(args, io::DType::F32);
  if (dtype == "f64") return run_forward<double>(args, io::DType::F64);
  VHMN_FAIL("--dtype must be f32 or f64, got '" << dtype << "'");
}

}  // namespace vhmn::cli
