// examples/embedded_inference.cpp — inference the way a small device runs
// it: the single header alone (single_include/vhmn/vhmn.hpp), sizes fixed at
// compile time (VHMN<float, 16, 16>: D = L = 16), built with -fno-exceptions
// and without OpenMP, the checkpoint read from a byte array in memory (on a
// device: flash) instead of a file, and every input buffer static.
//
//   example_embedded_inference
//
// Here the "flash" bytes are made by a first, host-side step that builds a
// model and serialises it (normally you would embed a trained checkpoint
// with `xxd -i model.safetensors`). Errors go to the handler below: there
// are no exceptions to catch.
#include "vhmn.hpp"

#include <cstdio>
#include <cstdlib>

#if VHMN_HAS_EXCEPTIONS || VHMN_HAS_OPENMP
#error "build this example with -fno-exceptions and without OpenMP"
#endif

namespace {

constexpr int kDim = 16, kLatent = 16;  // compile-time sizes of the model
constexpr vhmn::index_t kImage = 16, kChannels = 1, kClasses = 4;
using Model = vhmn::VHMN<float, kDim, kLatent>;

[[noreturn]] void on_error(const char* message) {
  std::fprintf(stderr, "vhmn error: %s\n", message);
  std::abort();
}

vhmn::ModelConfig device_config() {
  vhmn::ModelConfig c;
  c.image = kImage;
  c.channels = kChannels;
  c.patch = 4;
  c.dim = kDim;
  c.latent = kLatent;
  c.depth = 1;
  c.local_slots = 8;
  c.global_slots = 4;
  c.classes = kClasses;
  return c;
}

// The input frame, normalised: (C, H, W), static storage.
float frame[kChannels * kImage * kImage];

}  // namespace

int main() {
  vhmn::set_error_handler(&on_error);
  vhmn::set_num_threads(1);

  // host side: the checkpoint bytes that would live in flash
  Model host(device_config(), /*seed=*/5);
  const std::vector<std::uint8_t> flash = vhmn::io::serialize_safetensors(vhmn::model_to_safetensors(host));

  // device side: parse from memory, rebuild with the static sizes (the file's
  // dim and latent must equal kDim and kLatent, or the handler is called)
  const vhmn::io::SafetensorsFile file = vhmn::io::parse_safetensors(flash.data(), flash.size(), "flash");
  std::unique_ptr<Model> model = vhmn::load_model<float, kDim, kLatent>(file, "flash");
  model->eval();
  model->set_no_grad(true);
  model->set_record_retrieval(false);

  for (vhmn::index_t i = 0; i < kChannels * kImage * kImage; ++i) frame[i] = (i % kImage < kImage / 2) ? 1.f : -1.f;
  const float* logits = model->forward(frame, 1);
  const float* host_logits = host.forward(frame, 1);
  vhmn::index_t best = 0;
  for (vhmn::index_t k = 0; k < kClasses; ++k) {
    std::printf("class %lld: logit %+.5f\n", static_cast<long long>(k), static_cast<double>(logits[k]));
    if (logits[k] > logits[best]) best = k;
    if (logits[k] != host_logits[k]) {
      std::fprintf(stderr, "the model read from flash differs from the host's\n");
      return 1;
    }
  }
  std::printf("predicted class %lld (%zu checkpoint bytes, D = %d, L = %d fixed at compile time)\n",
              static_cast<long long>(best), flash.size(), kDim, kLatent);
  return 0;
}
