// tests/tiny_config.hpp — the tiny V-HMN of the gradient checks (8x8x2
// images, patch 2, D 6, L 5, 2 blocks, 12 / 6 slots, 3 classes, T = 2): small
// enough for finite differences in double, every path of the model still on.
#pragma once

#include <vhmn/nn/model_config.hpp>

namespace vhmn_test {

inline vhmn::ModelConfig tiny_model_config() {
  vhmn::ModelConfig c;
  c.image = 8;
  c.channels = 2;
  c.patch = 2;
  c.dim = 6;
  c.latent = 5;
  c.depth = 2;
  c.window = 3;
  c.local_slots = 12;
  c.global_slots = 6;
  c.classes = 3;
  c.mlp_ratio = 2;
  c.iters = 2;
  return c;
}

}  // namespace vhmn_test
