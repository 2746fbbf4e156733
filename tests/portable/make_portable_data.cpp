// Writes the committed test data of tests/test_portability.cpp (run once, on
// x86-64; the files are then read on every architecture, big-endian s390x
// included):
//   tests/data/portable_tiny.safetensors           a tiny model, banks written
//   tests/data/portable_tiny_expected.safetensors  images (2, 3, 8, 8) F32 and
//                                                  their eval logits (2, 3) F32
// Build and run from the repository root:
//   g++ -std=c++17 -O2 -Iinclude -isystem /usr/include/eigen3 \
//       tests/portable/make_portable_data.cpp -o /tmp/make_portable && /tmp/make_portable tests/data
#include <cstdio>
#include <string>

#include <vhmn/vhmn.hpp>

int main(int argc, char** argv) {
  using namespace vhmn;
  const std::string dir = argc > 1 ? argv[1] : "tests/data";
  ModelConfig c;
  c.image = 8;
  c.channels = 3;
  c.patch = 2;
  c.dim = 8;
  c.latent = 6;
  c.depth = 2;
  c.local_slots = 6;
  c.global_slots = 3;
  c.classes = 3;
  VHMN<float> model(c, 11);
  Rng rng(2);
  for (Param<float>* p : model.parameters())  // larger than the 0.02 init, so the logits differ clearly
    for (float& v : p->value) v = static_cast<float>(rng.uniform(-0.5, 0.5));
  const index_t B = 4, n = c.channels * c.image * c.image;
  Tensor<float> images({B, c.channels, c.image, c.image});
  for (float& v : images) v = static_cast<float>(rng.uniform(-1, 1));
  const std::int32_t labels[B] = {0, 2, 1, 2};
  const std::int64_t ids[B] = {10, 11, 12, 13};
  model.train();
  model.forward(images.data(), B);
  model.remember(labels, ids);
  save_checkpoint(dir + "/portable_tiny.safetensors", model);

  model.eval();
  Tensor<float> probe({2, c.channels, c.image, c.image});
  std::copy(images.data() + 2 * n, images.data() + 4 * n, probe.data());
  const float* logits = model.forward(probe.data(), 2);
  Tensor<float> out({2, c.classes});
  std::copy(logits, logits + 2 * c.classes, out.data());
  io::SafetensorsFile file;
  file.tensors.push_back(io::make_raw("images", probe, io::DType::F32));
  file.tensors.push_back(io::make_raw("logits", out, io::DType::F32));
  io::write_safetensors(dir + "/portable_tiny_expected.safetensors", file);
  const float* w = model.parameters()[0]->value.data();
  std::printf("patch_embed.weight[0] = %.9g, logits[0] = %.9g\n", double(w[0]), double(out[0]));
  return 0;
}
