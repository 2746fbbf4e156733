// tools/vhmn/cmd_predict.cpp — `vhmn predict`: classify real image files.
#include <algorithm>
#include <cstdio>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include <vhmn/data/image_folder.hpp>
#include <vhmn/data/resize.hpp>
#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "precision_option.hpp"

namespace vhmn::cli {

const char* kPredictHelp =
    "usage: vhmn predict --model M.safetensors [--top K] [--json] [--threads N] [--precision P]\n"
    "                    [--max-pixels P] IMAGE [IMAGE ...]\n"
    "\n"
    "%s\n"
    "Reads PNG, JPEG and BMP files only (PNG with libpng, JPEG with libjpeg where vhmn was\n"
    "built with them, else stb_image); GIF, TGA, PNM/PGM, PSD, HDR and other formats are\n"
    "refused. Each image is converted to the model's channels (grey or RGB), resized to\n"
    "the model's input and its top K classes printed with their probabilities. The\n"
    "checkpoint must carry its normalisation and class names (every checkpoint written by\n"
    "vhmn train does). A file that cannot be read is reported and the others are still\n"
    "classified; the exit status is then 1. An image much brighter or darker than the\n"
    "training images (e.g. dark-on-white for a Fashion-MNIST model) gets a one-line note.\n"
    "  --top K       classes per image (default 3; at most the model's classes)\n"
    "  --json        one JSON object on stdout: {\"model\", \"images\": [{\"file\", \"width\",\n"
    "                \"height\", \"top\": [{\"class\", \"probability\"}], \"note\"} or {\"file\", \"error\"}]}\n"
    "  --max-pixels  refuse an image declaring more than P pixels (width x height)\n"
    "                before decoding it (default: $VHMN_MAX_PIXELS, else 67108864 = 8192 x 8192)\n";

/// How far (on the 0..1 scale) an image's mean brightness may be from the
/// training images' before a note says so: inverted Fashion-MNIST-style
/// inputs differ by about 0.5, ordinary photos of one data set by < 0.2.
constexpr double kBrightnessNoteGap = 0.3;

int cmd_predict(const std::vector<std::string>& argv) {
  const Args args(argv, {"help", "json"}, {"model", "top", "threads", "precision", "max-pixels"});
  if (args.flag("help")) {
    std::printf(kPredictHelp, kPrecisionHelp);
    return 0;
  }
  args.apply_threads();
  if (args.has("max-pixels"))
    data::set_max_image_pixels(data::parse_max_image_pixels(args.required("max-pixels"), "--max-pixels"));
  const Precision precision = precision_option(args);
  const std::string model_path = args.required("model");
  VHMN_USAGE_CHECK(!args.positional().empty(), "no image given (usage: vhmn predict --model M IMAGE...)");
  const long long top_arg = args.integer("top", 3, 1, kNoMax);
  const bool json = args.flag("json");
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
  const index_t top = std::min<index_t>(c.classes, static_cast<index_t>(top_arg));
  double train_brightness = 0;
  for (double m : norm.mean) train_brightness += m / static_cast<double>(norm.mean.size());

  const auto lut = data::normalization_lut<float>(norm);
  const index_t HW = c.image * c.image;
  std::vector<std::uint8_t> resized(static_cast<std::size_t>(c.channels * HW));
  Tensor<float> image({1, c.channels, c.image, c.image}), probs({1, c.classes}), none({1, c.classes});
  std::vector<index_t> order(static_cast<std::size_t>(c.classes));
  nlohmann::ordered_json report = {{"model", model_path}, {"images", nlohmann::ordered_json::array()}};
  std::size_t failed = 0;
  std::string first_error;
  for (const std::string& path : args.positional()) {
    index_t h = 0, w = 0;
    std::vector<std::uint8_t> pixels;
    try {
      pixels = data::read_image_file(path, c.channels, h, w);
    } catch (const Error& e) {  // report it, classify the others, fail at the end
      if (failed++ == 0) first_error = e.what();
      if (json) report["images"].push_back({{"file", path}, {"error", e.what()}});
      else std::fprintf(stderr, "%s: error: %s\n", path.c_str(), e.what());
      continue;
    }
    data::resize_bilinear(pixels.data(), c.channels, h, w, resized.data(), c.image, c.image);
    double brightness = 0;
    for (std::uint8_t v : resized) brightness += v;
    brightness /= 255.0 * static_cast<double>(resized.size());
    data::normalize_image(resized.data(), c.channels, HW, lut, image.data());
    const float* logits = model->forward(image.data(), 1);
    ops::cross_entropy_forward(probs.data(), logits, none.data(), 1, c.classes);
    std::iota(order.begin(), order.end(), index_t(0));
    std::sort(order.begin(), order.end(), [&](index_t a, index_t b) { return probs[a] > probs[b]; });
    std::string note;
    if (std::abs(brightness - train_brightness) > kBrightnessNoteGap) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "mean brightness %.2f, but the model's training images average %.2f (%s): "
                    "the prediction may be unreliable",
                    brightness, train_brightness,
                    brightness > train_brightness ? "is it dark-on-light where the model saw light-on-dark?"
                                                  : "is it light-on-dark where the model saw dark-on-light?");
      note = buf;
    }
    if (json) {
      nlohmann::ordered_json entry = {{"file", path}, {"width", w}, {"height", h}};
      nlohmann::ordered_json best = nlohmann::ordered_json::array();
      for (index_t k = 0; k < top; ++k)
        best.push_back({{"class", names[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])]},
                        {"probability", probs[order[static_cast<std::size_t>(k)]]}});
      entry["top"] = best;
      if (!note.empty()) entry["note"] = note;
      report["images"].push_back(entry);
      continue;
    }
    std::printf("%s (%lldx%lld)\n", path.c_str(), static_cast<long long>(w), static_cast<long long>(h));
    for (index_t k = 0; k < top; ++k)
      std::printf("  %-16s %6.2f%%\n", names[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])].c_str(),
                  100.0 * probs[order[static_cast<std::size_t>(k)]]);
    if (!note.empty()) std::printf("  note: %s\n", note.c_str());
    std::fflush(stdout);
  }
  if (json) std::printf("%s\n", report.dump(2).c_str());
  std::fflush(stdout);
  VHMN_CHECK(failed == 0, failed << " of " << args.positional().size() << " images could not be read (the first: "
                                 << first_error << ")");
  return 0;
}

}  // namespace vhmn::cli
