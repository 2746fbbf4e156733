// `vhmn predict` on image files: it classifies a PNG, and it refuses images
// over the pixel limit (--max-pixels, else the default) before decoding them,
// naming the file. The command's source is compiled into this test directly.
#include <doctest/doctest.h>

#include "../tools/vhmn/cmd_predict.cpp"
#include "test_data_util.hpp"

namespace {

using namespace vhmn;
using vhmn_test_data::Bytes;
using vhmn_test_data::TempDir;

/// An untrained 32 x 32 RGB model saved with normalisation and class names.
std::string predict_checkpoint(const TempDir& dir) {
  ModelConfig c;
  c.image = 32;
  c.channels = 3;
  c.patch = 8;
  c.dim = 8;
  c.latent = 8;
  c.depth = 1;
  c.local_slots = 6;
  c.global_slots = 3;
  c.classes = 3;
  c.iters = 1;
  VHMN<float> model(c, 1);
  data::Normalization n;
  n.mean = {0.5, 0.5, 0.5};
  n.std = {0.25, 0.25, 0.25};
  const std::string path = dir / "model.safetensors";
  save_checkpoint(path, model, io::DType::F32, train::normalization_metadata(n, {"a", "b", "c"}));
  return path;
}

}  // namespace

TEST_CASE("vhmn predict: classifies a PNG; --max-pixels and the default limit refuse larger images first") {
  TempDir dir("predict_cli");
  const std::string model = predict_checkpoint(dir);
  const std::string small = dir / "small.png", wide = dir / "wide.png", bomb = dir / "bomb.png";
  vhmn_test_data::write_bytes(small, vhmn_test_data::png(8, 8, 3, Bytes(192, 100)));
  vhmn_test_data::write_bytes(wide, vhmn_test_data::png(20, 10, 3, Bytes(600, 50)));
  // Only the signature and IHDR of a 18900 x 18900 RGB PNG: the size alone must refuse it.
  Bytes head = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
  Bytes ihdr = {'I', 'H', 'D', 'R'};
  vhmn_test_data::put_be32(ihdr, 18900);
  vhmn_test_data::put_be32(ihdr, 18900);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  head.insert(head.end(), ihdr.begin(), ihdr.end());
  vhmn_test_data::put_be32(head, data::crc32(ihdr.data(), ihdr.size()));
  vhmn_test_data::write_bytes(bomb, head);

  CHECK(cli::cmd_predict({"--model", model, "--threads", "1", small, wide}) == 0);
  CHECK_THROWS_WITH_AS(cli::cmd_predict({"--model", model, "--max-pixels", "100", small, wide}),
                       doctest::Contains(("image '" + wide + "' declares 20x10 pixels (200), more than the limit of 100").c_str()),
                       Error);
  data::set_max_image_pixels(0);
  CHECK_THROWS_WITH_AS(cli::cmd_predict({"--model", model, bomb}),
                       doctest::Contains(("image '" + bomb + "' declares 18900x18900 pixels (357210000), more than the "
                                          "limit of 67108864")
                                             .c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(cli::cmd_predict({"--model", model, "--max-pixels", "lots", small}),
                       doctest::Contains("--max-pixels must be a positive number of pixels, got 'lots'"), Error);
  data::set_max_image_pixels(0);
}
