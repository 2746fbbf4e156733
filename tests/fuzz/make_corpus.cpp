// tests/fuzz/make_corpus.cpp — writes the seed corpora of the fuzz harnesses.
//
//   vhmn_fuzz_corpus OUT_DIR    (tools/fuzz.sh --seed rewrites tests/fuzz/corpus)
//
// One folder per harness, each with a few small valid (and slightly odd)
// inputs, so the fuzzers start past the readers' first checks. Deterministic:
// the same files every run, so the committed corpus can be regenerated.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "vhmn/data/gzip.hpp"
#include "vhmn/io/checkpoint.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

/// Writes dir/name; the first write into a folder empties it (a folder of
/// another harness, e.g. corpus/image, is never touched).
void write(const fs::path& dir, const std::string& name, const Bytes& b) {
  static std::vector<fs::path> emptied;
  if (std::find(emptied.begin(), emptied.end(), dir) == emptied.end()) {
    fs::remove_all(dir);
    emptied.push_back(dir);
  }
  fs::create_directories(dir);
  std::FILE* f = std::fopen((dir / name).c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}
Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }
void be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void le32(Bytes& b, std::uint32_t v) {
  for (int s = 0; s < 32; s += 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

/// One gzip member holding `data` in a single stored deflate block.
Bytes gzip_stored(const Bytes& data) {
  Bytes b = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1};  // header, then BFINAL=1 BTYPE=00
  const auto n = static_cast<std::uint16_t>(data.size());
  b.push_back(static_cast<std::uint8_t>(n));
  b.push_back(static_cast<std::uint8_t>(n >> 8));
  b.push_back(static_cast<std::uint8_t>(~n));
  b.push_back(static_cast<std::uint8_t>(~n >> 8));
  b.insert(b.end(), data.begin(), data.end());
  le32(b, vhmn::data::crc32(data.data(), data.size()));
  le32(b, static_cast<std::uint32_t>(data.size()));
  return b;
}

vhmn::ModelConfig tiny_config() {  // fuzz_forward_input.cpp's model
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

int main(int argc, char** argv) {
  using namespace vhmn;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];

  const fs::path json = out / "json";
  write(json, "object", text(R"({"a": [1, -2.5e3, true, false, null], "b": {"c": "d\u00e9\n"}})"));
  write(json, "metrics", text(R"({"epoch":1,"train_loss":2.25,"test_acc":null,"lr":0.001})"));
  write(json, "numbers", text("[0, -0, 1e308, 5e-324, 123456789012345678, 0.1]"));
  write(json, "header", text(R"({"__metadata__":{"vhmn.format":"1"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"));

  const fs::path st = out / "safetensors";
  VHMN<float> model(tiny_config(), 1);
  write(st, "tiny_checkpoint", io::serialize_safetensors(model_to_safetensors(model)));
  io::SafetensorsFile plain;
  plain.metadata["note"] = "two tensors";
  Tensor<float> t({2, 3});
  for (index_t i = 0; i < t.numel(); ++i) t[i] = 0.5f * static_cast<float>(i);
  plain.tensors.push_back(io::make_raw("a", t, io::DType::F16));
  plain.tensors.push_back(io::make_raw_i64("b", {1, -2, 3}));
  write(st, "plain", io::serialize_safetensors(plain));

  const fs::path fwd = out / "forward_input";
  for (int with_labels = 0; with_labels < 2; ++with_labels) {
    io::SafetensorsFile in;
    Tensor<float> images({2, 1, 8, 8});
    for (index_t i = 0; i < images.numel(); ++i) images[i] = static_cast<float>(i % 7) - 3.0f;
    in.tensors.push_back(io::make_raw("images", images, with_labels ? io::DType::F32 : io::DType::F64));
    if (with_labels) in.tensors.push_back(io::make_raw_i64("labels", {1, 0}));
    write(fwd, with_labels ? "images_labels" : "images_f64", io::serialize_safetensors(in));
  }

  const fs::path idx = out / "idx";
  Bytes images;
  be32(images, 0x00000803u);
  be32(images, 2);
  be32(images, 3);
  be32(images, 2);
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<std::uint8_t>(20 * i));
  write(idx, "images", images);
  write(idx, "images.gz", gzip_stored(images));
  Bytes labels;
  be32(labels, 0x00000801u);
  be32(labels, 3);
  labels.insert(labels.end(), {0, 9, 4});
  write(idx, "labels", labels);
  write(idx, "labels.gz", gzip_stored(labels));

  const fs::path cifar = out / "cifar";
  for (int label_bytes = 1; label_bytes <= 2; ++label_bytes) {
    Bytes rec;
    for (int r = 0; r < 2; ++r) {
      for (int k = 0; k < label_bytes; ++k) rec.push_back(static_cast<std::uint8_t>(3 + r + k));
      for (int p = 0; p < 3072; ++p) rec.push_back(static_cast<std::uint8_t>((p * 13 + r) & 0xFF));
    }
    write(cifar, label_bytes == 1 ? "cifar10_batch" : "cifar100_batch", rec);
  }
  write(cifar, "names", text("airplane\r\nautomobile \n\nbird\n"));

  // fuzz_image_folder.cpp reads its input as a recipe: mode byte, then ops
  // (kind, parent, name..., payload); these build two classes of images.
  const fs::path folder = out / "image_folder";
  write(folder, "two_classes", Bytes{3, 0, 0, 1, 0, 3, 0, 0, 2, 2, 0, 5, 5, 9, 2, 0, 1, 6, 3, 4, 1, 0, 1, 1, 3, 1, 3, 0, 5, 5, 9});
  write(folder, "resize", Bytes{0x27, 0, 1, 2, 3, 2, 0, 0, 1, 3, 7, 7, 1, 2, 0, 0, 5, 3, 9, 9, 5, 0, 0, 2, 0, 4, 4, 40});
  write(folder, "odd_entries", Bytes{1, 0, 2, 1, 6, 6, 0, 7, 0, 1, 6, 0, 3, 7, 0, 2, 0, 1, 2, 2, 0, 0, 3, 4, 5, 3});
  std::printf("wrote the seed corpora under %s\n", out.c_str());
  return 0;
}
