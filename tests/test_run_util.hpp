// Tiny synthetic training data and model shared by the run-directory,
// stop and thread tests: trains in milliseconds, deterministic.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "vhmn/core/rng.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/nn/model_config.hpp"

namespace vhmn_test_run {

/// side x side (default 8x8) grey images of 4 classes: a bright quadrant per
/// class plus noise.
inline vhmn::data::Dataset tiny_set(vhmn::index_t n, std::uint64_t seed, int side = 8) {
  vhmn::data::Dataset d;
  d.size = n;
  d.channels = 1;
  d.height = d.width = side;
  d.classes = 4;
  d.class_names = {"a", "b", "c", "d"};
  d.name = "tiny";
  vhmn::Rng rng(seed);
  for (vhmn::index_t i = 0; i < n; ++i) {
    const int y = static_cast<int>(i % 4);
    d.labels.push_back(y);
    d.source_index.push_back(i);
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c) {
        const bool lit = (2 * r / side) * 2 + (2 * c / side) == y;
        d.pixels.push_back(static_cast<std::uint8_t>((lit ? 160 : 40) + rng.below(60)));
      }
  }
  return d;
}

inline vhmn::ModelConfig tiny_config() {
  vhmn::ModelConfig c;
  c.image = 8;
  c.channels = 1;
  c.patch = 4;
  c.dim = c.latent = 8;
  c.depth = 1;
  c.local_slots = 8;
  c.global_slots = 4;
  c.classes = 4;
  return c;
}

/// The lines of a text file (metrics.jsonl), without their newlines.
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

/// A metrics.jsonl line without its timing fields (they differ between runs; the rest must not).
inline std::string strip_time(const std::string& line) { return line.substr(0, line.find(",\"images_per_s\"")); }

}  // namespace vhmn_test_run
