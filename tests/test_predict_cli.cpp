// `vhmn predict` on image files: it classifies a PNG, and it refuses images
// over the pixel limit (--max-pixels, else the default) before decoding them,
// naming the file. The command's source is compiled into this test directly.
#include <doctest/doctest.h>

#include "../tools/vhmn/cmd_predict.cpp"
#include "test_capture.hpp"
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

TEST_CASE("vhmn predict: every file is reported, a bad one fails the call at the end; --json; a brightness note") {
  TempDir dir("predict_cli_report");
  const std::string model = predict_checkpoint(dir);  // trained (here: made) with mean brightness 0.5
  const std::string grey = dir / "grey.png", white = dir / "white.png", gif = dir / "anim.gif";
  vhmn_test_data::write_bytes(grey, vhmn_test_data::png(8, 8, 3, Bytes(192, 128)));
  vhmn_test_data::write_bytes(white, vhmn_test_data::png(8, 8, 3, Bytes(192, 250)));
  vhmn_test_data::write_text(gif, "GIF89a\x01\x00\x01\x00");
  {
    vhmn_test_capture::CaptureStdout out(dir / "out.txt");
    // the GIF in the middle used to stop the call with nothing printed for the others
    CHECK_THROWS_WITH_AS(cli::cmd_predict({"--model", model, "--threads", "1", grey, gif, white}),
                         doctest::Contains("1 of 3 images could not be read (the first: "), Error);
    const std::string text = out.text();
    CHECK(text.find(grey + " (8x8)\n") != std::string::npos);
    CHECK(text.find(white + " (8x8)\n") != std::string::npos);
    // only the bright image is far from the training images' 0.5
    CHECK(text.find("note: mean brightness 0.98, but the model's training images average 0.50") != std::string::npos);
    CHECK(text.find("note: mean brightness 0.50") == std::string::npos);
  }
  {
    vhmn_test_capture::CaptureStdout out(dir / "out.json");
    CHECK(cli::cmd_predict({"--model", model, "--json", "--top", "2", grey, white}) == 0);
    const nlohmann::json j = nlohmann::json::parse(out.text());
    CHECK(j.at("model") == model);
    REQUIRE(j.at("images").size() == 2);
    CHECK(j["images"][0].at("file") == grey);
    CHECK(j["images"][0].at("width") == 8);
    REQUIRE(j["images"][0].at("top").size() == 2);
    const double p0 = j["images"][0]["top"][0].at("probability"), p1 = j["images"][0]["top"][1].at("probability");
    CHECK(p0 >= p1);
    CHECK(p0 + p1 <= 1.0 + 1e-6);
    CHECK(std::string(j["images"][0]["top"][0].at("class")).size() == 1);
    CHECK(!j["images"][0].contains("note"));
    CHECK(j["images"][1].contains("note"));
  }
  {
    vhmn_test_capture::CaptureStdout out(dir / "bad.json");
    CHECK_THROWS_AS(cli::cmd_predict({"--model", model, "--json", gif}), Error);
    const nlohmann::json j = nlohmann::json::parse(out.text());
    CHECK(std::string(j["images"][0].at("error")).find("anim.gif") != std::string::npos);
  }
}
