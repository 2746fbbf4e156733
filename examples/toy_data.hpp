// examples/toy_data.hpp — a tiny synthetic data set the examples train on in
// seconds, so they run anywhere (ctest included) without downloads, and the
// few lines that train on it.
//
// Three classes of 16 x 16 RGB images: red horizontal stripes, green
// vertical stripes, blue checkerboards, each with random phase and noise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <vhmn/training.hpp>

namespace toy {

inline constexpr vhmn::index_t kSide = 16;

/// One image of class `label` (0..2), planar (3, 16, 16).
inline std::vector<std::uint8_t> image(int label, vhmn::Rng& rng) {
  std::vector<std::uint8_t> px(3 * kSide * kSide);
  const vhmn::index_t phase = rng.below(4);
  for (vhmn::index_t y = 0; y < kSide; ++y)
    for (vhmn::index_t x = 0; x < kSide; ++x) {
      const bool on = label == 0 ? ((y + phase) / 2) % 2 == 0
                    : label == 1 ? ((x + phase) / 2) % 2 == 0
                                 : ((x / 4) + (y / 4) + phase) % 2 == 0;
      for (int c = 0; c < 3; ++c) {
        const int base = on ? (c == label ? 220 : 60) : 30;
        const int v = base + static_cast<int>(rng.below(30));
        px[static_cast<std::size_t>(c * kSide * kSide + y * kSide + x)] = static_cast<std::uint8_t>(v);
      }
    }
  return px;
}

/// `count` images, labels cycling 0, 1, 2.
inline vhmn::data::Dataset dataset(vhmn::index_t count, std::uint64_t seed) {
  vhmn::data::Dataset ds;
  ds.size = count;
  ds.channels = 3;
  ds.height = ds.width = kSide;
  ds.classes = 3;
  ds.class_names = {"stripes-h", "stripes-v", "checks"};
  ds.name = "toy";
  vhmn::Rng rng(seed);
  for (vhmn::index_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(i % 3);
    const std::vector<std::uint8_t> px = image(label, rng);
    ds.pixels.insert(ds.pixels.end(), px.begin(), px.end());
    ds.labels.push_back(label);
    ds.source_index.push_back(i);
  }
  return ds;
}

/// The model the examples train: small enough for a few seconds on one core.
inline vhmn::ModelConfig config() {
  vhmn::ModelConfig c;
  c.image = kSide;
  c.channels = 3;
  c.patch = 4;
  c.dim = c.latent = 24;
  c.depth = 2;
  c.local_slots = 60;
  c.global_slots = 30;
  c.classes = 3;
  return c;
}

/// Trains a fresh toy model on `train_set` for `epochs`; with a run_dir the
/// Trainer writes last.safetensors there (normalisation and class names included).
inline void train(vhmn::VHMN<float>& model, const vhmn::data::Dataset& train_set, vhmn::index_t epochs,
                  const std::string& run_dir) {
  vhmn::data::LoaderOptions loader;
  loader.batch_size = 24;
  loader.seed = 2;
  vhmn::train::TrainOptions opt;
  opt.epochs = epochs;
  opt.lr = 3e-3;
  opt.run_dir = run_dir;
  vhmn::train::Trainer<float> trainer(model, train_set, nullptr, vhmn::data::compute_normalization(train_set),
                                      loader, opt);
  trainer.fit();
}

}  // namespace toy
