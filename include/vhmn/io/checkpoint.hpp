// vhmn/io/checkpoint.hpp — a whole model to and from a safetensors file.
//
// What this represents: the SPEC.md §7 mapping between a VHMN and named
// tensors: every parameter under its state_dict name, each bank as
// `<path>.memory` (S, L) and `<path>.writes` (K) int64, slot provenance as
// `<path>.source_index` / `<path>.source_token` (S) int64 (optional on
// load), and the config in `__metadata__`, so a file alone rebuilds its
// model and a PyTorch state_dict saved under these names loads directly.
// Ensures on load: nothing is partially loaded. A file that lacks a tensor,
// has one nobody asked for, disagrees with its config on a shape, holds a
// non-finite weight or lacks a config key is rejected with a message naming
// the file and the tensor or key. Tensors whose names start with "optim."
// or "train." are training state (the trainer's); the model loader skips them.
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "vhmn/io/safetensors.hpp"
#include "vhmn/nn/vhmn_model.hpp"

namespace vhmn {

/// Whether a tensor name belongs to training state rather than to the model.
inline bool is_training_state_name(const std::string& name) {
  return name.rfind("optim.", 0) == 0 || name.rfind("train.", 0) == 0;
}

namespace detail {
template <class T, int D, int L, class F>
void for_each_bank(VHMN<T, D, L>& model, F f) {
  for (auto& blk : model.blocks) {
    f(blk->local.path.prefix(), blk->local.path.bank);
    f(blk->global.path.prefix(), blk->global.path.bank);
  }
}
}  // namespace detail

/// The model's tensors (weights as `weights`: F32 or F64) and config metadata.
template <class T, int D, int L>
io::SafetensorsFile model_to_safetensors(VHMN<T, D, L>& model, io::DType weights = io::DType::F32) {
  VHMN_CHECK(weights == io::DType::F32 || weights == io::DType::F64,
             "checkpoint weights must be F32 or F64, not " << io::dtype_name(weights));
  io::SafetensorsFile file;
  file.metadata = model.config().to_metadata();
  for (Param<T>* p : model.parameters()) file.tensors.push_back(io::make_raw(p->name, p->value, weights));
  detail::for_each_bank(model, [&](const std::string& prefix, const MemoryBank<T>& bank) {
    file.tensors.push_back(io::make_raw(prefix + "memory", bank.memory(), weights));
    file.tensors.push_back(io::make_raw_i64(prefix + "writes", bank.writes()));
    file.tensors.push_back(io::make_raw_i64(prefix + "source_index", bank.source_index()));
    file.tensors.push_back(io::make_raw_i64(prefix + "source_token", bank.source_token()));
  });
  return file;
}

/// Loads weights, banks and provenance from `file` into `model`, whose
/// config must already match the file. All-or-nothing: every tensor is
/// checked and converted before the model is touched.
template <class T, int D, int L>
void load_model_state(VHMN<T, D, L>& model, const io::SafetensorsFile& file, const std::string& source) {
  const ModelConfig& c = model.config();
  std::set<std::string> used;
  auto take = [&](const std::string& name, const Shape& expected, bool required) -> const io::RawTensor* {
    const io::RawTensor* raw = file.find(name);
    if (!raw) {
      VHMN_CHECK(!required, source << ": missing tensor '" << name << "' (expected shape " << shape_string(expected)
                                   << ")");
      return nullptr;
    }
    VHMN_CHECK(raw->shape == expected, source << ": tensor '" << name << "' has shape " << shape_string(raw->shape)
                                              << " but the config needs " << shape_string(expected));
    used.insert(name);
    return raw;
  };
  auto to_finite = [&](const io::RawTensor& raw) {
    Tensor<T> t = io::to_tensor<T>(raw);
    for (index_t i = 0; i < t.numel(); ++i)
      VHMN_CHECK(std::isfinite(static_cast<double>(t[i])),
                 source << ": tensor '" << raw.name << "' holds a non-finite value (" << t[i] << ") at element " << i);
    return t;
  };

  // Stage everything first: nothing reaches the model unless all is well.
  std::vector<std::pair<Param<T>*, Tensor<T>>> staged_params;
  for (Param<T>* p : model.parameters())
    staged_params.emplace_back(p, to_finite(*take(p->name, p->value.shape(), true)));

  struct StagedBank {
    MemoryBank<T>* bank;
    Tensor<T> memory;
    std::vector<std::int64_t> writes, source_index, source_token;
    bool has_index = false, has_token = false;
  };
  std::vector<StagedBank> staged_banks;
  detail::for_each_bank(model, [&](const std::string& prefix, MemoryBank<T>& bank) {
    StagedBank s{&bank, {}, {}, {}, {}, false, false};
    s.memory = to_finite(*take(prefix + "memory", bank.memory().shape(), true));
    s.writes = io::to_int64_vector(*take(prefix + "writes", {c.classes}, true));
    for (std::size_t y = 0; y < s.writes.size(); ++y)
      VHMN_CHECK(s.writes[y] >= 0, source << ": tensor '" << prefix << "writes' has a negative count (" << s.writes[y]
                                          << ") for class " << y);
    if (const auto* raw = take(prefix + "source_index", {bank.slots()}, false)) {
      s.source_index = io::to_int64_vector(*raw);
      s.has_index = true;
    }
    if (const auto* raw = take(prefix + "source_token", {bank.slots()}, false)) {
      s.source_token = io::to_int64_vector(*raw);
      s.has_token = true;
    }
    staged_banks.push_back(std::move(s));
  });
  for (const io::RawTensor& raw : file.tensors)
    VHMN_CHECK(used.count(raw.name) || is_training_state_name(raw.name),
               source << ": unexpected tensor '" << raw.name << "' (not part of a V-HMN with this config)");

  for (auto& [param, value] : staged_params) param->value = std::move(value);
  for (auto& s : staged_banks)
    s.bank->restore(s.memory, s.writes, s.has_index ? &s.source_index : nullptr,
                    s.has_token ? &s.source_token : nullptr);
}

/// Saves the model (atomically: write, then rename) with optional extra
/// metadata and extra tensors (training state named "optim.*" / "train.*").
template <class T, int D, int L>
void save_checkpoint(const std::string& path, VHMN<T, D, L>& model, io::DType weights = io::DType::F32,
                     const std::map<std::string, std::string>& extra_metadata = {},
                     std::vector<io::RawTensor> extra_tensors = {}) {
  io::SafetensorsFile file = model_to_safetensors(model, weights);
  for (const auto& [k, v] : extra_metadata) file.metadata[k] = v;
  for (auto& t : extra_tensors) {
    VHMN_CHECK(is_training_state_name(t.name),
               "extra checkpoint tensor '" << t.name << "' must be named optim.* or train.*");
    file.tensors.push_back(std::move(t));
  }
  io::write_safetensors(path, file);
}

/// Rebuilds a model from an already-read checkpoint (config from its
/// metadata); `source` names the file in errors.
template <class T, int D = Dynamic, int L = Dynamic>
std::unique_ptr<VHMN<T, D, L>> load_model(const io::SafetensorsFile& file, const std::string& source) {
  const ModelConfig config = ModelConfig::from_metadata(file.metadata, source);
  auto model = std::make_unique<VHMN<T, D, L>>(config, 0);
  load_model_state(*model, file, source);
  return model;
}

/// Rebuilds a model from a checkpoint file alone (config from its metadata).
template <class T, int D = Dynamic, int L = Dynamic>
std::unique_ptr<VHMN<T, D, L>> load_model(const std::string& path) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  return load_model<T, D, L>(file, path);
}

}  // namespace vhmn
