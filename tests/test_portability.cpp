// Files move between machines: a checkpoint written on x86-64
// (tests/data/portable_tiny.safetensors, made by
// tests/portable/make_portable_data.cpp) loads bit for bit on this machine,
// whatever its byte order, and gives the logits x86-64 computed to float
// rounding. Run under qemu for aarch64 and big-endian s390x by
// tools/cross_test.sh (.ci/run's cross step).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "vhmn/io/checkpoint.hpp"
#include "vhmn/io/safetensors.hpp"
#include "vhmn/vhmn.hpp"

#ifndef VHMN_TEST_DATA_DIR
#define VHMN_TEST_DATA_DIR "tests/data"
#endif

namespace {
std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
bool little_endian_host() {
  const std::uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}
}  // namespace

TEST_CASE("portability: an x86-64 checkpoint loads bit for bit and gives x86-64's logits") {
  const std::string dir = VHMN_TEST_DATA_DIR;
  const std::string host = std::string("host byte order: ") + (little_endian_host() ? "little" : "big") +
                           "-endian, SIMD " + (VHMN_HAS_SIMD ? "on" : "off");
  MESSAGE(host);
#ifdef VHMN_EXPECT_SIMD
  // tools/cross_test.sh: NEON on aarch64, the automatic scalar fallback on s390x
  CHECK(VHMN_HAS_SIMD == VHMN_EXPECT_SIMD);
#endif
  auto model = vhmn::load_model<float>(dir + "/portable_tiny.safetensors");
  const vhmn::ModelConfig& c = model->config();
  CHECK(c.image == 8);
  CHECK(c.channels == 3);
  CHECK(c.dim == 8);
  CHECK(c.latent == 6);
  CHECK(c.depth == 2);
  CHECK(c.classes == 3);
  // values printed by the generator on x86-64: byte order is applied on load
  CHECK(float_bits(model->parameters()[0]->value[0]) == 0xbecbaf2eu);  // patch_embed.weight[0] = -0.39782089
  const auto& global = model->blocks[1]->global.path.bank;
  CHECK(global.writes() == std::vector<std::int64_t>{1, 1, 2});
  CHECK(model->blocks[1]->local.path.bank.source_index() == std::vector<std::int64_t>{10, -1, 12, -1, 11, 13});

  const vhmn::io::SafetensorsFile expected = vhmn::io::read_safetensors(dir + "/portable_tiny_expected.safetensors");
  const vhmn::Tensor<float> images = vhmn::io::to_tensor<float>(*expected.find("images"));
  const vhmn::Tensor<float> want = vhmn::io::to_tensor<float>(*expected.find("logits"));
  REQUIRE(want.numel() == 2 * c.classes);
  model->eval();
  const float* logits = model->forward(images.data(), 2);
  for (vhmn::index_t i = 0; i < want.numel(); ++i) {
    CAPTURE(i);
    // other instruction sets round differently (FMA contraction, vector widths)
    CHECK(std::fabs(logits[i] - want[i]) <= 1e-5 + 1e-4 * std::fabs(want[i]));
  }

  // what this machine writes is the x86-64 file, byte for byte
  const std::vector<std::uint8_t> written = vhmn::io::serialize_safetensors(vhmn::model_to_safetensors(*model));
  const std::vector<std::uint8_t> original =
      vhmn::read_regular_file(dir + "/portable_tiny.safetensors", "safetensors file");
  CHECK(written == original);
}
