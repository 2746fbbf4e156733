// tools/vhmn/cmd_predict.cpp — `vhmn predict`: classify real image files.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include <vhmn/data/image_folder.hpp>
#include <vhmn/data/resize.hpp>
#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "precision_option.hpp"

namespace vhmn::cli {

const char* kPredictHelp =
    "usage: vhmn predict --model M.safetensors [--top K] [--threads N] [--precision P] [--max-pixels P]\n"
    "                    IMAGE [IMAGE ...]\n"
    "\n"
    "%s\n"
    "Reads PNG, JPEG or BMP (PNG with libpng, JPEG with libjpeg where vhmn was built\n"
    "with them, else stb_image), converts it to the model's channels (grey or RGB),\n"
    "resizes it to the model's input and prints the top K classes with their\n"
    "probabilities. The checkpoint must carry its normalisation and class names\n"
    "(every checkpoint written by vhmn train does).\n"
    "  --max-pixels  refuse an image declaring more than P pixels (width x height)\n"
    "                before decoding it (default: $VHMN_MAX_PIXELS, else 67108864 = 8192 x 8192)\n";

int cmd_predict(const std::vector<std::string>& argv) {
  const Args args(argv, {"help"}, {"model", "top", "threads", "precision", "max-pixels"});
  if (args.flag("help")) {
    std::printf(kPredictHelp, kPrecisionHelp);
    return 0;
  }
  args.apply_threads();
  if (args.has("max-pixels"))
    data::set_max_image_pixels(data::parse_max_image_pixels(args.required("max-pixels"), "--max-pixels"));
  const Precision precision = precision_option(args);
  const std::string model_path = args.required("model");
  VHMN_CHECK(!args.positional().empty(), "no image given (usage: vhmn predict --model M IMAGE...)");
  const io::SafetensorsFile file = io::read_safetensors(model_path);
  auto model = load_model<float>(file, model_path);
  const ModelConfig& c = model->config();
  model->set_precision(precision);
  announce_precision(precision);
  data::Normalization norm;
  std::vector<std::string> names;
  VHMN_CHECK(train::normalization_from_metadata(file.metadata, norm, names, model_path),
             model_path << " has no normalisation metadata (vhmn.norm_mean / vhmn.norm_std); "
                           "use a checkpoint written by vhmn train");
  VHMN_CHECK(norm.channels() == c.channels, model_path << ": normalisation has " << norm.channels()
                                                       << " channels but the model takes " << c.channels);
  names.resize(static_cast<std::size_t>(c.classes));
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k].empty()) names[k] = "class_" + std::to_string(k);
  const index_t top = std::min<index_t>(c.classes, static_cast<index_t>(args.integer("top", 3)));
  VHMN_CHECK(top >= 1, "--top must be >= 1");

  const auto lut = data::normalization_lut<float>(norm);
  const index_t HW = c.image * c.image;
  std::vector<std::uint8_t> resized(static_cast<std::size_t>(c.channels * HW));
  Tensor<float> image({1, c.channels, c.image, c.image}), probs({1, c.classes}), none({1, c.classes});
  std::vector<index_t> order(static_cast<std::size_t>(c.classes));
  for (const std::string& path : args.positional()) {
    index_t h = 0, w = 0;
    const std::vector<std::uint8_t> pixels = data::read_image_file(path, c.channels, h, w);
    data::resize_bilinear(pixels.data(), c.channels, h, w, resized.data(), c.image, c.image);
    data::normalize_image(resized.data(), c.channels, HW, lut, image.data());
    const float* logits = model->forward(image.data(), 1);
    ops::cross_entropy_forward(probs.data(), logits, none.data(), 1, c.classes);
    std::iota(order.begin(), order.end(), index_t(0));
    std::sort(order.begin(), order.end(), [&](index_t a, index_t b) { return probs[a] > probs[b]; });
    std::printf("%s (%lldx%lld)\n", path.c_str(), static_cast<long long>(w), static_cast<long long>(h));
    for (index_t k = 0; k < top; ++k)
      std::printf("  %-16s %6.2f%%\n", names[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])].c_str(),
                  100.0 * probs[order[static_cast<std::size_t>(k)]]);
  }
  return 0;
}

}  // namespace vhmn::cli
