// The second generated header, single_include/vhmn/vhmn_image.hpp, on top of
// vhmn.hpp: a canvas encoded to PNG decodes back to the same pixels, and a
// Classifier (from vhmn.hpp) classifies the decoded image.
#include "vhmn_image.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

int single_header_image_failures() {
  int failures = 0;
  vhmn::explain::Canvas canvas(5, 3, vhmn::explain::kWhite);
  canvas.set(1, 2, vhmn::explain::kRed);
  const std::vector<std::uint8_t> png = vhmn::explain::encode_png(canvas);
  const vhmn::data::DecodedImage back = vhmn::data::decode_image(png.data(), png.size(), 3, "canvas.png");
  if (back.width != 5 || back.height != 3 ||
      !std::equal(back.pixels.begin(), back.pixels.end(), canvas.data())) {
    std::fprintf(stderr, "single header: PNG round trip through vhmn_image.hpp failed\n");
    ++failures;
  }
  vhmn::ModelConfig c = vhmn::ModelConfig::preset("fmnist-small");
  c.dim = c.latent = 8;
  c.depth = 1;
  vhmn::data::Normalization norm;
  norm.mean = {0.5};
  norm.std = {0.25};
  vhmn::Classifier clf(std::make_unique<vhmn::VHMN<float>>(c, 1), norm, {});
  const vhmn::Prediction p = clf.classify(vhmn::ImageView{back.pixels.data(), 3, 3, 5, true});
  if (p.top.size() != 3 || p.top[0].name.rfind("class_", 0) != 0) {
    std::fprintf(stderr, "single header: Classifier result is wrong\n");
    ++failures;
  }
  return failures;
}
