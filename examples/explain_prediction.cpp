// examples/explain_prediction.cpp — explain one prediction from code: which
// memory slots (prototypes) the model recalled, and the training images that
// wrote them, drawn into a PNG.
//
//   example_explain_prediction [OUT.png]     (default explain_prediction.png)
//
// Trains a tiny model on a synthetic data set for a few seconds, classifies a
// new image with ClassifyOptions::explain, and draws: the image with its most
// informative patch framed, then each prototype's training image with the
// patch that wrote the slot framed (local memory) or the whole image (global
// memory), captioned with the slot's class and retrieval weight.
#include <cstdio>
#include <string>

#include <vhmn/image_io.hpp>

#include "toy_data.hpp"

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "explain_prediction.png";
  try {
    using namespace vhmn;
    const data::Dataset train_set = toy::dataset(240, 1);
    VHMN<float> trained(toy::config(), 3);
    toy::train(trained, train_set, 2, "example_explain_run");

    Classifier classifier = Classifier::load("example_explain_run/last.safetensors");
    Rng rng(1234);
    const std::vector<std::uint8_t> query = toy::image(/*label=*/2, rng);
    ClassifyOptions opt;
    opt.top_k = 1;
    opt.explain = true;
    opt.prototypes = 3;  // per memory path
    const Prediction p = classifier.classify(ImageView{query.data(), 3, toy::kSide, toy::kSide}, opt);
    std::printf("predicted %s (%.1f%%); most informative token %lld\n", p.top[0].name.c_str(),
                100 * p.top[0].probability, static_cast<long long>(p.informative_token));

    const ModelConfig& c = classifier.config();
    const index_t scale = 6, cell = toy::kSide * scale, gap = 8, caption = 24;
    explain::Canvas canvas((cell + gap) * static_cast<index_t>(1 + p.prototypes.size()) + gap, cell + caption + 2 * gap);
    canvas.paste(query.data(), 3, toy::kSide, toy::kSide, gap, gap, scale);
    const explain::PatchBox qb = explain::patch_box(c, p.informative_token);
    canvas.frame(gap + qb.x * scale, gap + qb.y * scale, qb.size * scale, qb.size * scale, explain::kRed, 2);
    canvas.text(gap, gap + cell + 6, p.top[0].name, explain::kBlack);
    index_t x = gap + cell + gap;
    for (const Prototype& pr : p.prototypes) {
      VHMN_CHECK(pr.slot.source_index >= 0 && pr.slot.source_index < train_set.size,
                 "prototype without a training image (source " << pr.slot.source_index << ")");
      canvas.paste(train_set.image(pr.slot.source_index), 3, toy::kSide, toy::kSide, x, gap, scale);
      if (pr.path == explain::Path::Local) {
        const explain::PatchBox b = explain::patch_box(c, pr.slot.source_token);
        canvas.frame(x + b.x * scale, gap + b.y * scale, b.size * scale, b.size * scale, explain::kRed, 2);
      } else {
        canvas.frame(x, gap, cell, cell, explain::kGrey, 2);
      }
      char label[64];
      std::snprintf(label, sizeof label, "%s %.2f", explain::path_name(pr.path), pr.slot.weight);
      canvas.text(x, gap + cell + 6, label, explain::kBlack);
      std::printf("  %-6s slot %3lld  weight %.3f  class %-9s  training image #%lld token %lld\n",
                  explain::path_name(pr.path), static_cast<long long>(pr.slot.slot), pr.slot.weight,
                  pr.class_name.c_str(), static_cast<long long>(pr.slot.source_index),
                  static_cast<long long>(pr.slot.source_token));
      x += cell + gap;
    }
    explain::write_png(out, canvas);
    std::printf("wrote %s\n", out.c_str());
    return p.prototypes.empty() ? 1 : 0;
  } catch (const vhmn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
