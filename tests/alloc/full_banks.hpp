// tests/alloc/full_banks.hpp — every memory bank of a model filled with
// N(0, 1) rows, each slot owned by its class block, so a benchmark-style step
// runs with full banks (what `vhmn bench` measures). Shared by the alloc tests.
#pragma once

#include <vector>

#include "vhmn/core/rng.hpp"
#include "vhmn/nn/vhmn_model.hpp"

template <class T, class Model>
void fill_banks_randomly(Model& model, vhmn::Rng& rng) {
  for (auto& blk : model.blocks)
    for (vhmn::MemoryBank<T>* bank : {&blk->local.path.bank, &blk->global.path.bank}) {
      std::vector<T> row(static_cast<std::size_t>(bank->latent()));
      for (vhmn::index_t i = 0; i < bank->slots(); ++i) {
        for (auto& v : row) v = static_cast<T>(rng.normal());
        bank->write(i / bank->slots_per_class(), row.data(), i, -1);
      }
    }
}
