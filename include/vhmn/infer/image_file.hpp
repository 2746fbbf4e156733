// vhmn/infer/image_file.hpp — classifying PNG, JPEG or BMP files with a
// vhmn::Classifier.
//
// Separate from classifier.hpp because decoding needs an image codec
// (libpng / libjpeg, else stb_image: vhmn/data/image_decode.hpp).
// Use:
//   auto clf = vhmn::Classifier::load("model.safetensors");
//   vhmn::Prediction p = vhmn::classify_file(clf, "cat.png", {/*top_k=*/5});
// Ensures: the same pixels as `vhmn predict` reads (grey or RGB by the
// model's channels, the pixel limit of data::max_image_pixels()); a file
// that cannot be read or decoded fails naming the file.
#pragma once

#include <string>
#include <vector>

#include "vhmn/data/image_folder.hpp"
#include "vhmn/infer/classifier.hpp"

namespace vhmn {

inline Prediction classify_file(Classifier& classifier, const std::string& path, const ClassifyOptions& opt = {}) {
  index_t h = 0, w = 0;
  const std::vector<std::uint8_t> chw = data::read_image_file(path, classifier.config().channels, h, w);
  return classifier.classify(ImageView{chw.data(), classifier.config().channels, h, w}, opt);
}

}  // namespace vhmn
