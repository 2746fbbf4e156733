// Hostile and odd files (issue 10): checkpoint metadata that would drive
// unbounded allocation, header size products that wrap, paths that are not
// regular files, and non-finite training state on resume. Each case is a
// small crafted file; each must end in a vhmn::Error naming the file and
// what is wrong, never in bad_alloc, a hang, or a crash later on.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <tuple>

#include "test_data_util.hpp"
#include "vhmn/core/checked.hpp"
#include "vhmn/core/file.hpp"
#include "vhmn/data/cifar.hpp"
#include "vhmn/data/idx.hpp"
#include "vhmn/data/image_folder.hpp"
#include "vhmn/io/checkpoint.hpp"
#include "vhmn/train/trainer.hpp"

using namespace vhmn;
using vhmn_test_data::Bytes;
using vhmn_test_data::TempDir;

namespace {

ModelConfig tiny_config() {
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
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// ---- defect 1: checkpoint metadata drives allocation ------------------------

TEST_CASE("hostile checkpoint: metadata sizes are checked against limits and the file's tensors first") {
  VHMN<float> model(tiny_config(), 1);
  const io::SafetensorsFile good = model_to_safetensors(model);
  TempDir dir("hostile_ckpt");
  auto load_with = [&](const char* key, const char* value) {
    io::SafetensorsFile f = good;
    f.metadata[key] = value;
    const std::string path = dir / (std::string(key) + ".safetensors");
    io::write_safetensors(path, f);
    return std::make_pair(path, error_of([&] { load_model<float>(path); }));
  };
  SUBCASE("the sizes of the issue: refused by the limits, naming the file and the key") {
    for (auto [key, value, needle] :
         {std::tuple<const char*, const char*, const char*>{"vhmn.dim", "200000", "dim 200000 exceeds the limit"},
          {"vhmn.depth", "100000000", "depth 100000000 exceeds the limit"},
          {"vhmn.global_slots", "1000000000000", "global_slots 1000000000000 exceeds the limit"}}) {
      const std::pair<std::string, std::string> result = load_with(key, value);
      const std::string& msg = result.second;
      CAPTURE(msg);
      CHECK(msg.find(result.first) != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  }
  SUBCASE("within the limits but not what the tensors say: refused before the model is built") {
    auto [p1, depth] = load_with("vhmn.depth", "4000");
    CHECK(depth.find(p1) != std::string::npos);
    CHECK(depth.find("vhmn.depth = 4000, which needs at least 88009 tensors, but the file holds") !=
          std::string::npos);
    auto [p2, dim] = load_with("vhmn.dim", "60000");
    CHECK(dim.find(p2 + ": tensor 'patch_embed.weight' has shape [4, 1, 4, 4] but the config needs [60000, 1, 4, 4]") !=
          std::string::npos);
    auto [p3, slots] = load_with("vhmn.global_slots", "1000000");
    CHECK(slots.find(p3 + ": tensor 'blocks.0.global.memory' has shape [2, 3] but the config needs [1000000, 3]") !=
          std::string::npos);
    auto [p4, iters] = load_with("vhmn.iters", "1000000");
    CHECK(iters.find("iters 1000000 exceeds the limit 1000") != std::string::npos);
  }
  SUBCASE("a tensor whose shape disagrees with the metadata, same byte size") {
    io::SafetensorsFile f = good;
    for (auto& t : f.tensors)
      if (t.name == "blocks.1.local.memory") t.shape = {3, 4};  // config says [4, 3]
    CHECK(error_of([&] { load_model<float>(f, "swapped.safetensors"); }) ==
          "swapped.safetensors: tensor 'blocks.1.local.memory' has shape [3, 4] but the config needs [4, 3]");
  }
  SUBCASE("the expected list is exactly what a model writes (so the early check cannot drift)") {
    for (const ModelConfig& c : {tiny_config(), ModelConfig::preset("fmnist-small")}) {
      VHMN<float> m(c, 0);
      std::vector<std::pair<std::string, Shape>> written;
      for (const io::RawTensor& t : model_to_safetensors(m).tensors)
        if (t.name.find("source_") == std::string::npos) written.push_back({t.name, t.shape});
      auto expected = checkpoint_tensor_shapes(c);
      std::sort(written.begin(), written.end());
      std::sort(expected.begin(), expected.end());
      CHECK(written == expected);
    }
  }
}

// ---- defect 2: header size products wrap -------------------------------------

TEST_CASE("checked arithmetic: products and sums that do not fit are reported, never wrapped") {
  std::uint64_t out = 0;
  CHECK(checked_mul(std::uint64_t(1) << 32, std::uint64_t(1) << 31, &out));
  CHECK(out == std::uint64_t(1) << 63);
  CHECK_FALSE(checked_mul(std::uint64_t(1) << 32, std::uint64_t(1) << 32, &out));
  CHECK_FALSE(checked_mul(10, 10, &out, 99));
  CHECK(checked_mul(0, std::numeric_limits<std::uint64_t>::max(), &out));
  CHECK(out == 0);
  CHECK_FALSE(checked_product({std::uint64_t(1) << 22, std::uint64_t(1) << 21, std::uint64_t(1) << 21}, &out));
  CHECK(checked_product({3, 5, 7}, &out));
  CHECK(out == 105);
  CHECK(checked_product({}, &out));
  CHECK(out == 1);
  CHECK(checked_product({4, 0, 4}, &out, 4));
  CHECK(out == 0);
  CHECK_FALSE(checked_product({0, 5}, &out, 4));  // 5 alone is over the limit, whatever the order
  CHECK_FALSE(checked_product({5, 0}, &out, 4));
  CHECK_FALSE(checked_add(std::numeric_limits<std::uint64_t>::max(), 1, &out));
  CHECK(checked_add(2, 3, &out, 5));
  CHECK(out == 5);
}

TEST_CASE("hostile IDX: a header whose size product wraps to 0 is refused") {
  TempDir dir("hostile_idx");
  using vhmn_test_data::put_be32;
  auto header = [](std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
    Bytes b;
    put_be32(b, 0x00000803u);
    put_be32(b, count);
    put_be32(b, rows);
    put_be32(b, cols);
    return b;
  };
  // 2^22 * 2^21 * 2^21 = 2^64: wraps to 0 in size_t, which an empty body matched.
  const std::string wrap = dir / "wrap-idx3-ubyte";
  vhmn_test_data::write_bytes(wrap, header(1u << 22, 1u << 21, 1u << 21));
  CHECK(error_of([&] { data::read_idx_images(wrap); }) ==
        "IDX images file '" + wrap +
            "' is truncated: its header says 4194304 images of 2097152x2097152 (more bytes than the file's 16)");
  // 2^32-1 cubed wraps to 2^64 - 3*2^32 + ... : any wrapped product must be refused too
  const std::string big = dir / "big-idx3-ubyte";
  Bytes b = header(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu);
  b.resize(16 + 4096);
  vhmn_test_data::write_bytes(big, b);
  CHECK(error_of([&] { data::read_idx_images(big); }).find("is truncated: its header says 4294967295 images") !=
        std::string::npos);
  // gzipped, the same header is refused after decompression
  const std::string gz = dir / "wrap-idx3-ubyte.gz";
  vhmn_test_data::write_bytes(gz, vhmn_test_data::gzip_stored(header(1u << 22, 1u << 21, 1u << 21)));
  CHECK(error_of([&] { data::read_idx_images(gz); }).find("4194304 images of 2097152x2097152") != std::string::npos);
  // a valid header still reads
  const std::string ok = dir / "ok-idx3-ubyte";
  Bytes good = header(2, 3, 1);
  for (int i = 0; i < 6; ++i) good.push_back(static_cast<std::uint8_t>(i));
  vhmn_test_data::write_bytes(ok, good);
  const data::IdxImages img = data::read_idx_images(ok);
  CHECK(img.count == 2);
  CHECK(img.pixels.size() == 6);
}

// ---- defect 5: files that are not regular files ------------------------------

TEST_CASE("non-regular files (FIFO, /dev/zero, a directory) are refused by every reader, without blocking") {
  TempDir dir("hostile_nonregular");
  const std::string fifo = dir / "model.safetensors";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // nobody ever writes to it: opening it for reading would block
  const std::string folder = dir.path.string();
  struct Case {
    std::string path, kind;
  };
  std::vector<Case> cases = {{fifo, "a FIFO (named pipe)"}, {folder, "a directory"}};
  if (access("/dev/zero", R_OK) == 0) cases.push_back({"/dev/zero", "a character device"});
  for (const Case& c : cases) {
    CAPTURE(c.path);
    const std::string not_regular = "'" + c.path + "': it is " + c.kind + ", not a regular file";
    CHECK(error_of([&] { io::read_safetensors(c.path); }) == "cannot read safetensors file " + not_regular);
    CHECK(error_of([&] { load_model<float>(c.path); }) == "cannot read safetensors file " + not_regular);
    CHECK(error_of([&] { data::read_file(c.path); }) == "cannot read " + not_regular);
    CHECK(error_of([&] { data::read_idx_images(c.path); }) == "cannot read " + not_regular);
    index_t h = 0, w = 0;
    CHECK(error_of([&] { data::read_image_file(c.path, 3, h, w); }) == "cannot read " + not_regular);
    data::Dataset ds;
    CHECK(error_of([&] { data::append_cifar_file(c.path, data::CifarFormat{}, ds); }).find(c.path) !=
          std::string::npos);
  }
  // a symlink to a regular file is read through; a missing file says so
  const std::string real = dir / "real.bin";
  vhmn_test_data::write_bytes(real, Bytes{1, 2, 3});
  const std::string link = dir / "link.bin";
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  CHECK(read_regular_file(link) == Bytes{1, 2, 3});
  CHECK(error_of([&] { read_regular_file(dir / "missing", "image"); }) ==
        "cannot open image '" + (dir / "missing") + "': No such file or directory");
}

// ---- defect 6: non-finite training state on resume ---------------------------

TEST_CASE("resume refuses a checkpoint whose optimiser state or progress is not finite, naming the tensor") {
  data::Dataset ds;
  ds.size = 8;
  ds.channels = 1;
  ds.height = ds.width = 8;
  ds.classes = 2;
  ds.class_names = {"a", "b"};
  for (index_t i = 0; i < ds.size; ++i) {
    for (int p = 0; p < 64; ++p) ds.pixels.push_back(static_cast<std::uint8_t>((i * 37 + p * 11) % 256));
    ds.labels.push_back(static_cast<std::int32_t>(i % 2));
    ds.source_index.push_back(i);
  }
  data::LoaderOptions lo;
  lo.batch_size = 4;
  lo.num_workers = 1;
  train::TrainOptions to;
  to.epochs = 1;
  TempDir dir("hostile_resume");
  to.run_dir = (dir.path / "run").string();
  const data::Normalization norm = data::compute_normalization(ds);
  {
    VHMN<float> m(tiny_config(), 3);
    train::Trainer<float>(m, ds, nullptr, norm, lo, to).fit();
  }
  const std::string last = to.run_dir + "/last.safetensors";
  const io::SafetensorsFile saved = io::read_safetensors(last);
  auto resume_error = [&](const io::SafetensorsFile& f) {
    const std::string path = dir / "edited.safetensors";
    io::write_safetensors(path, f);
    VHMN<float> m(tiny_config(), 5);
    train::Trainer<float> t(m, ds, nullptr, norm, lo, to);
    return std::make_pair(path, error_of([&] { t.resume(path); }));
  };
  {  // unedited, it resumes
    VHMN<float> m(tiny_config(), 5);
    train::Trainer<float> t(m, ds, nullptr, norm, lo, to);
    CHECK_NOTHROW(t.resume(last));
    CHECK(t.epochs_done() == 1);
  }
  auto set_float = [](io::SafetensorsFile f, const std::string& name, std::size_t element, float v) {
    bool found = false;
    for (auto& t : f.tensors)
      if (t.name == name) {
        std::memcpy(t.bytes.data() + 4 * element, &v, 4);
        found = true;
      }
    REQUIRE(found);
    return f;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  {
    auto [path, msg] = resume_error(set_float(saved, "optim.exp_avg_sq.head.weight", 3, nan));
    CHECK(msg == path + ": optimiser state 'optim.exp_avg_sq.head.weight' holds a non-finite value (nan) at element 3");
  }
  {
    auto [path, msg] = resume_error(set_float(saved, "optim.exp_avg.blocks.1.mlp.fc1.bias", 0, -inf));
    CHECK(msg == path + ": optimiser state 'optim.exp_avg.blocks.1.mlp.fc1.bias' holds a non-finite value (-inf) at "
                        "element 0");
  }
  {
    auto [path, msg] = resume_error(set_float(saved, "optim.exp_avg_sq.pos_embed", 1, -0.5f));
    CHECK(msg.find("'optim.exp_avg_sq.pos_embed' holds a negative value (-0.5) at element 1") != std::string::npos);
  }
  {
    auto [path, msg] = resume_error(set_float(saved, "blocks.0.global.memory", 2, nan));
    CHECK(msg == path + ": tensor 'blocks.0.global.memory' holds a non-finite value (nan) at element 2");
  }
  {
    io::SafetensorsFile f = saved;
    f.metadata["train.elapsed_s"] = "-3";
    CHECK(resume_error(f).second.find("'train.elapsed_s' is -3, not a duration") != std::string::npos);
    f = saved;
    f.metadata["train.best_acc"] = "7";
    CHECK(resume_error(f).second.find("'train.best_acc' is 7, not an accuracy") != std::string::npos);
    f = saved;
    for (auto& t : f.tensors)
      if (t.name == "train.memory_rng") t = io::make_raw_i64(t.name, {0, 0, 0, 0});
    CHECK(resume_error(f).second.find("'train.memory_rng' is all zero") != std::string::npos);
  }
  {  // normalisation statistics from the metadata
    std::map<std::string, std::string> meta = saved.metadata;
    meta["vhmn.norm_std"] = "[0]";
    data::Normalization n;
    std::vector<std::string> names;
    CHECK(error_of([&] { train::normalization_from_metadata(meta, n, names, "m.safetensors"); })
              .find("m.safetensors: vhmn.norm_std holds a non-positive or non-finite value (0)") != std::string::npos);
  }
}
