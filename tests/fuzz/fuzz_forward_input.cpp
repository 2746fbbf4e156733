// Fuzzes `vhmn forward`'s input file: io::parse_forward_input for a small
// model, then the forward pass (and, with labels, the loss and backward) on
// what it accepted, as the command does.
#include "fuzz_common.hpp"
#include "vhmn/io/forward_input.hpp"
#include "vhmn/nn/vhmn_model.hpp"
#include "vhmn/ops/cross_entropy.hpp"

namespace {
vhmn::ModelConfig fuzz_config() {
  vhmn::ModelConfig c;
  c.image = 8;
  c.channels = 1;
  c.patch = 4;
  c.dim = 4;
  c.latent = 3;
  c.depth = 1;
  c.local_slots = 4;
  c.global_slots = 2;
  c.classes = 2;
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhmn;
  static VHMN<float>* model = [] {
    set_num_threads(1);
    auto* m = new VHMN<float>(fuzz_config(), 1);
    m->eval();
    return m;
  }();
  vhmn_fuzz::tolerate_errors([&] {
    const io::SafetensorsFile f = io::parse_safetensors(data, size, "fuzz");
    const io::ForwardInput<float> in = io::parse_forward_input<float>(f, model->config(), "fuzz");
    const index_t B = in.batch, K = model->config().classes;
    vhmn_fuzz::expect(in.images.numel() == B * 64, "images do not have the model's shape");
    // (Huge finite pixels may overflow to inf logits; the command writes them as they are.)
    const float* logits = model->forward(in.images.data(), B);
    if (!in.labels.empty()) {
      Tensor<float> targets({B, K}), probs({B, K}), dlogits({B, K});
      for (index_t b = 0; b < B; ++b) targets[b * K + in.labels[static_cast<std::size_t>(b)]] = 1.0f;
      ops::cross_entropy_forward(probs.data(), logits, targets.data(), B, K);
      ops::cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), B, K);
      model->zero_grad();
      model->backward(dlogits.data());
    }
  });
  return 0;
}
