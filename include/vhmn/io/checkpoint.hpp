// vhmn/io/checkpoint.hpp — a whole model to and from a safetensors file.
//
// What this represents: the docs/spec.md §7 mapping between a VHMN and named
// tensors: every parameter under its state_dict name, each bank as
// `<path>.memory` (S, L) and `<path>.writes` (K) int64, slot provenance as
// `<path>.source_index` / `<path>.source_token` (S) int64 (optional on
// load), and the config in `__metadata__`, so a file alone rebuilds its
// model and a PyTorch state_dict saved under these names loads directly.
// Ensures on load: nothing is partially loaded. A file that lacks a tensor,
// has one nobody asked for, disagrees with its config on a shape, holds a
// non-finite weight or lacks a config key is rejected with a message naming
// the file and the tensor or key; load_model checks the config against the
// file's tensors (and ModelConfig's limits) before it allocates the model.
// Tensors whose names start with "optim."
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

/// Every tensor a checkpoint of a model with config `c` must hold, with its
/// shape (docs/spec.md §7: parameters, then each block's banks; the
/// optional provenance tensors are not listed). Computed from the config
/// alone, so a file can be checked before a model is built;
/// tests/test_checkpoint.cpp asserts it equals what model_to_safetensors writes.
inline std::vector<std::pair<std::string, Shape>> checkpoint_tensor_shapes(const ModelConfig& c) {
  const index_t D = c.dim, L = c.latent, kk = c.window * c.window;
  std::vector<std::pair<std::string, Shape>> out;
  out.reserve(static_cast<std::size_t>(9 + 22 * c.depth));
  out.push_back({"patch_embed.weight", {D, c.channels, c.patch, c.patch}});
  out.push_back({"patch_embed.bias", {D}});
  out.push_back({"pos_embed", {c.tokens(), D}});
  auto memory = [&](const std::string& p, index_t in) {
    out.push_back({p + "query.weight", {L, in}});
    out.push_back({p + "query.bias", {L}});
    out.push_back({p + "out.weight", {D, 2 * L}});
    out.push_back({p + "out.bias", {D}});
    out.push_back({p + "beta", {1}});
  };
  std::vector<std::pair<std::string, Shape>> banks;
  for (index_t i = 0; i < c.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    out.push_back({b + "norm1.weight", {D}});
    out.push_back({b + "norm1.bias", {D}});
    memory(b + "local.", kk * D);
    memory(b + "global.", D);
    out.push_back({b + "norm2.weight", {D}});
    out.push_back({b + "norm2.bias", {D}});
    out.push_back({b + "mlp.fc1.weight", {c.hidden(), D}});
    out.push_back({b + "mlp.fc1.bias", {c.hidden()}});
    out.push_back({b + "mlp.fc2.weight", {D, c.hidden()}});
    out.push_back({b + "mlp.fc2.bias", {D}});
    banks.push_back({b + "local.memory", {c.local_slots, L}});
    banks.push_back({b + "local.writes", {c.classes}});
    banks.push_back({b + "global.memory", {c.global_slots, L}});
    banks.push_back({b + "global.writes", {c.classes}});
  }
  out.push_back({"norm.weight", {D}});
  out.push_back({"norm.bias", {D}});
  out.push_back({"pool.weight", {1, D}});
  out.push_back({"pool.bias", {1}});
  out.push_back({"head.weight", {c.classes, D}});
  out.push_back({"head.bias", {c.classes}});
  for (auto& b : banks) out.push_back(std::move(b));
  return out;
}

/// Checks that `file` holds every tensor its config `c` implies, with
/// exactly that shape, before anything the size of the model is allocated:
/// the config in `__metadata__` is outside input, and a model built from it
/// unchecked could ask for any amount of memory. What a model of `c`
/// allocates is then bounded by the bytes in the file.
inline void check_checkpoint_shapes(const io::SafetensorsFile& file, const ModelConfig& c,
                                    const std::string& source) {
  // First by count, so even the list of expected names stays small.
  const std::uint64_t needed = 9 + 22 * static_cast<std::uint64_t>(c.depth);
  VHMN_CHECK(file.tensors.size() >= needed,
             source << ": checkpoint metadata says vhmn.depth = " << c.depth << ", which needs at least " << needed
                    << " tensors, but the file holds " << file.tensors.size());
  std::map<std::string, const io::RawTensor*> by_name;
  for (const io::RawTensor& t : file.tensors) by_name.emplace(t.name, &t);
  for (const auto& [name, shape] : checkpoint_tensor_shapes(c)) {
    auto it = by_name.find(name);
    VHMN_CHECK(it != by_name.end(), source << ": missing tensor '" << name << "' (expected shape "
                                           << shape_string(shape) << " from the config in __metadata__)");
    VHMN_CHECK(it->second->shape == shape, source << ": tensor '" << name << "' has shape "
                                                  << shape_string(it->second->shape)
                                                  << " but the config needs " << shape_string(shape));
  }
}

/// Rebuilds a model from an already-read checkpoint (config from its
/// metadata, checked against the file's tensors before the model is
/// built); `source` names the file in errors.
template <class T, int D = Dynamic, int L = Dynamic>
std::unique_ptr<VHMN<T, D, L>> load_model(const io::SafetensorsFile& file, const std::string& source) {
  const ModelConfig config = ModelConfig::from_metadata(file.metadata, source);
  check_checkpoint_shapes(file, config, source);
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
