// examples/classify_images.cpp — classify image files with a trained
// checkpoint through vhmn::Classifier.
//
//   example_classify_images [MODEL.safetensors IMAGE...]
//
// With a checkpoint and images (e.g. runs/fashion-mnist/best.safetensors
// shirt.png) it classifies them. Without arguments it first trains a tiny
// model on a synthetic data set for a few seconds (vhmn::train::Trainer writes
// the checkpoint with its normalisation and class names), writes three test
// images as PNG, and classifies those: every prediction must be right.
#include <cstdio>
#include <string>
#include <vector>

#include <vhmn/image_io.hpp>  // classify_file, PNG output

#include "toy_data.hpp"  // the demo data set and its training

namespace {

/// Trains the toy model for two epochs; returns the checkpoint's path.
std::string train_demo_checkpoint(const std::string& run_dir) {
  vhmn::VHMN<float> model(toy::config(), 3);
  toy::train(model, toy::dataset(240, 1), 2, run_dir);
  return run_dir + "/last.safetensors";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model_path;
    std::vector<std::string> images;
    std::vector<int> truth;  // known labels of the demo images
    if (argc >= 3) {
      model_path = argv[1];
      images.assign(argv + 2, argv + argc);
    } else {
      model_path = train_demo_checkpoint("example_classify_run");
      vhmn::Rng rng(99);
      for (int label = 0; label < 3; ++label) {
        const std::vector<std::uint8_t> px = toy::image(label, rng);
        vhmn::explain::Canvas canvas(toy::kSide, toy::kSide);
        canvas.paste(px.data(), 3, toy::kSide, toy::kSide, 0, 0, 1);
        images.push_back("example_classify_" + std::to_string(label) + ".png");
        vhmn::explain::write_png(images.back(), canvas);
        truth.push_back(label);
      }
    }

    // The library part: one call to load, one per image.
    vhmn::Classifier classifier = vhmn::Classifier::load(model_path);
    int wrong = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
      const vhmn::Prediction p = vhmn::classify_file(classifier, images[i], vhmn::ClassifyOptions{3});
      std::printf("%s:", images[i].c_str());
      for (const vhmn::ClassScore& s : p.top) std::printf("  %s %.1f%%", s.name.c_str(), 100 * s.probability);
      std::printf("\n");
      if (i < truth.size() && p.top[0].index != truth[i]) ++wrong;
    }
    if (wrong) {
      std::fprintf(stderr, "%d of %zu demo images misclassified\n", wrong, truth.size());
      return 1;
    }
    return 0;
  } catch (const vhmn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
