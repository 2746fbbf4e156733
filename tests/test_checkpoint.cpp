// Checkpoints (docs/spec.md §7): bit-exact round trips, provenance, and every
// model-level rejection (file-level malformations are in test_safetensors).
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "gradcheck.hpp"
#include "vhmn/io/checkpoint.hpp"

using namespace vhmn;
using namespace vhmn::testing;
namespace fs = std::filesystem;

static ModelConfig ckpt_config() {
  ModelConfig c;
  c.image = 8;
  c.channels = 1;
  c.patch = 4;
  c.dim = 4;
  c.latent = 3;
  c.depth = 2;
  c.local_slots = 4;
  c.global_slots = 2;
  c.classes = 2;
  c.iters = 2;
  return c;
}

static std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("vhmn_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// A model with written banks, so provenance is non-trivial.
static std::unique_ptr<VHMN<float>> trained_model() {
  auto m = std::make_unique<VHMN<float>>(ckpt_config(), 11);
  m->train();
  Rng rng(1);
  auto images = normal_vector(3 * 64, rng);
  const std::int32_t labels[3] = {1, 0, 1};
  const std::int64_t ids[3] = {5, 6, 7};
  m->forward(images.data(), 3);
  m->remember(labels, ids);
  return m;
}

TEST_CASE("checkpoint: save then load is bit-exact, banks and provenance included") {
  auto m = trained_model();
  const std::string path = temp_path("roundtrip.safetensors");
  save_checkpoint(path, *m);
  auto back = load_model<float>(path);
  auto pa = m->parameters(), pb = back->parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(std::memcmp(pa[i]->value.data(), pb[i]->value.data(), sizeof(float) * pa[i]->numel()) == 0);
  }
  for (std::size_t i = 0; i < m->blocks.size(); ++i) {
    const auto& a = m->blocks[i]->local.path.bank;
    const auto& b = back->blocks[i]->local.path.bank;
    CHECK(std::memcmp(a.memory().data(), b.memory().data(), sizeof(float) * a.memory().numel()) == 0);
    CHECK(a.writes() == b.writes());
    CHECK(a.source_index() == b.source_index());
    CHECK(a.source_token() == b.source_token());
    CHECK(m->blocks[i]->global.path.bank.source_index() == back->blocks[i]->global.path.bank.source_index());
  }
  // the file alone rebuilt the config
  CHECK(back->config().to_metadata() == m->config().to_metadata());
  // and the same images give the same logits
  Rng rng(2);
  auto images = normal_vector(2 * 64, rng);
  std::vector<float> la(m->forward(images.data(), 2), m->forward(images.data(), 2) + 4);
  const float* lb = back->forward(images.data(), 2);
  for (int i = 0; i < 4; ++i) CHECK(la[static_cast<std::size_t>(i)] == lb[i]);
  // writing the reloaded model again gives the same bytes
  const std::string path2 = temp_path("roundtrip2.safetensors");
  save_checkpoint(path2, *back);
  CHECK(io::serialize_safetensors(io::read_safetensors(path)) == io::serialize_safetensors(io::read_safetensors(path2)));
  fs::remove(path);
  fs::remove(path2);
}

TEST_CASE("checkpoint: F64 weights load into a float model and back into double") {
  auto m = trained_model();
  io::SafetensorsFile f64 = model_to_safetensors(*m, io::DType::F64);
  auto d = load_model<double>(f64, "mem");
  CHECK(d->parameters()[0]->value[0] == double(m->parameters()[0]->value[0]));
}

TEST_CASE("checkpoint: a plain state_dict (no provenance tensors) loads") {
  auto m = trained_model();
  io::SafetensorsFile file = model_to_safetensors(*m);
  std::vector<io::RawTensor> kept;
  for (auto& t : file.tensors)
    if (t.name.find("source_") == std::string::npos) kept.push_back(t);
  file.tensors = kept;
  auto back = load_model<float>(file, "state_dict");
  CHECK(back->blocks[0]->local.path.bank.writes() == m->blocks[0]->local.path.bank.writes());
  CHECK(back->blocks[0]->local.path.bank.source_index()[0] == -1);  // unknown provenance
}

TEST_CASE("checkpoint: every model-level problem is rejected with a message naming it") {
  auto m = trained_model();
  const io::SafetensorsFile good = model_to_safetensors(*m);
  auto expect_error = [&](io::SafetensorsFile f, const std::string& needle) {
    CAPTURE(needle);
    CHECK_THROWS_WITH_AS(load_model<float>(f, "bad.safetensors"), doctest::Contains(needle.c_str()), Error);
  };
  {
    auto f = good;
    f.tensors.erase(f.tensors.begin() + 3);  // drops "blocks.0.norm1.weight"
    expect_error(f, "missing tensor 'blocks.0.norm1.weight'");
  }
  {
    auto f = good;
    f.tensors.push_back(io::make_raw_i64("blocks.9.extra", {1}));
    expect_error(f, "unexpected tensor 'blocks.9.extra'");
  }
  {
    auto f = good;
    for (auto& t : f.tensors)
      if (t.name == "head.weight") {
        t.shape = {4, 2};  // same byte size, wrong shape
      }
    expect_error(f, "tensor 'head.weight' has shape [4, 2] but the config needs [2, 4]");
  }
  {
    auto f = good;
    f.metadata.erase("vhmn.latent");
    expect_error(f, "lacks the config key 'vhmn.latent'");
  }
  {
    auto f = good;
    f.metadata["vhmn.dim"] = "four";
    expect_error(f, "'vhmn.dim' is 'four', not an integer");
  }
  {
    auto f = good;
    f.metadata["vhmn.window"] = "2";
    expect_error(f, "window must be odd");
  }
  {
    auto f = good;
    for (auto& t : f.tensors)
      if (t.name == "pos_embed") {
        // a quiet NaN, 0x7fc00000, in the file's little-endian byte order (a
        // memcpy of a host float would be a denormal on big-endian s390x)
        const std::uint8_t nan_le[4] = {0x00, 0x00, 0xc0, 0x7f};
        std::memcpy(t.bytes.data() + 4, nan_le, 4);
      }
    expect_error(f, "tensor 'pos_embed' holds a non-finite value");
  }
  {
    auto f = good;
    for (auto& t : f.tensors)
      if (t.name == "blocks.1.global.writes") t = io::make_raw_i64(t.name, {1, -3});
    expect_error(f, "negative count");
  }
  // training state is not "unexpected"
  auto f = good;
  f.tensors.push_back(io::make_raw_i64("optim.step", {3}));
  CHECK_NOTHROW(load_model<float>(f, "with-optimizer"));
  // a failed load leaves the target model untouched
  auto target = trained_model();
  const float before = target->parameters()[0]->value[0];
  auto broken = good;
  for (auto& t : broken.tensors)
    if (t.name == "patch_embed.weight") std::fill(t.bytes.begin(), t.bytes.end(), std::uint8_t(0));
  broken.tensors.erase(std::find_if(broken.tensors.begin(), broken.tensors.end(),
                                    [](const io::RawTensor& t) { return t.name == "head.bias"; }));
  CHECK_THROWS_AS(load_model_state(*target, broken, "broken"), Error);
  CHECK(target->parameters()[0]->value[0] == before);  // patch_embed.weight was staged, not applied
}

TEST_CASE("checkpoint: loading a missing file names the path") {
  CHECK_THROWS_WITH_AS(load_model<float>("/nonexistent/dir/model.safetensors"),
                       doctest::Contains("/nonexistent/dir/model.safetensors"), Error);
}
