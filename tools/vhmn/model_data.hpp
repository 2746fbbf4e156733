// tools/vhmn/model_data.hpp — a checkpoint and the data set it is run on,
// loaded and checked to belong together (`vhmn explain`, `vhmn robustness`).
//
// Rejected, each with a message saying what does not match:
//   - a missing model file or data folder;
//   - images of other channels or size than the model takes;
//   - another number of classes, or other class names than the checkpoint
//     was trained with (when it records them);
//   - a normalisation for another number of channels;
//   - (with the training set) slot provenance that names a training image or
//     token the data set does not have: the banks were written from other data.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "data_args.hpp"
#include "precision_option.hpp"

namespace vhmn::cli {

struct ModelAndData {
  std::string model_path, kind;
  std::unique_ptr<VHMN<float>> model;
  data::Normalization norm;
  std::vector<std::string> class_names;  // (K)
  data::Dataset test, train;             // train: only when asked for
};

inline std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

/// Fails unless every written slot's provenance names an image (by its
/// source_index) and a token that `train` has.
inline void check_provenance(VHMN<float>& model, const data::Dataset& train) {
  std::unordered_set<std::int64_t> known(train.source_index.begin(), train.source_index.end());
  std::int64_t max_index = -1;
  for (std::int64_t s : train.source_index) max_index = std::max(max_index, s);
  const index_t N = model.config().tokens();
  for (std::size_t b = 0; b < model.blocks.size(); ++b) {
    for (int p = 0; p < 2; ++p) {
      const auto& path = p == 0 ? model.blocks[b]->local.path : model.blocks[b]->global.path;
      const MemoryBank<float>& bank = path.bank;
      for (index_t s = 0; s < bank.slots(); ++s) {
        if (!bank.is_written(s)) continue;
        const std::int64_t idx = bank.source_index()[static_cast<std::size_t>(s)];
        const std::int64_t tok = bank.source_token()[static_cast<std::size_t>(s)];
        if (idx < 0) continue;  // no provenance recorded (e.g. a PyTorch checkpoint)
        VHMN_CHECK(known.count(idx),
                   "model/data mismatch: slot " << s << " of " << path.prefix() << "memory was written by training "
                   "image " << idx << ", but " << train.name << " has no such image (its indices end at "
                   << max_index << "); the checkpoint was trained on other data");
        VHMN_CHECK(p == 0 ? (tok >= 0 && tok < N) : tok == -1,
                   "model/data mismatch: slot " << s << " of " << path.prefix() << "memory names token " << tok
                   << ", but the model has " << N << " tokens per image");
      }
    }
  }
}

/// Loads --model and --data/--data-dir (test split, and the training split
/// when `need_train`), with every check above. `limit` keeps the first
/// `limit` test images (<= 0: all). The model runs at --precision.
inline ModelAndData load_model_and_data(const Args& args, bool need_train, long long limit) {
  const Precision precision = precision_option(args);
  ModelAndData md;
  md.model_path = args.required("model");
  VHMN_CHECK(std::filesystem::exists(md.model_path), "model file " << md.model_path << " does not exist");
  const io::SafetensorsFile file = io::read_safetensors(md.model_path);
  md.model = load_model<float>(file, md.model_path);
  md.model->eval();
  md.model->set_precision(precision);
  const ModelConfig& c = md.model->config();

  md.kind = args.required("data");
  const std::string dir = data_dir_option(args, md.kind);
  VHMN_CHECK(std::filesystem::is_directory(dir), "data directory " << dir << " does not exist (--data-dir)");
  VHMN_CHECK(load_split(md.kind, dir, data::Split::Test, md.test, c.image, c.channels),
             dir << " has no test split");
  auto check_fits = [&](const data::Dataset& ds) {
    VHMN_CHECK(ds.channels == c.channels && ds.height == c.image && ds.width == c.image,
               "model/data mismatch: " << md.model_path << " takes " << c.channels << "x" << c.image << "x"
                                       << c.image << " images but data set '" << ds.name << "' has "
                                       << ds.channels << "x" << ds.height << "x" << ds.width);
    VHMN_CHECK(ds.classes == c.classes, "model/data mismatch: " << md.model_path << " has " << c.classes
                                                                << " classes but data set '" << ds.name
                                                                << "' has " << ds.classes);
  };
  check_fits(md.test);
  if (need_train) {
    VHMN_CHECK(load_split(md.kind, dir, data::Split::Train, md.train, c.image, c.channels),
               dir << " has no training split");
    check_fits(md.train);
  }

  std::vector<std::string> names;
  if (!train::normalization_from_metadata(file.metadata, md.norm, names, md.model_path)) {
    if (!need_train) load_split(md.kind, dir, data::Split::Train, md.train, c.image, c.channels);
    md.norm = data::compute_normalization(md.train);
    std::fprintf(stderr, "note: %s has no normalisation metadata; using %s's training-split statistics\n",
                 md.model_path.c_str(), md.kind.c_str());
  }
  VHMN_CHECK(md.norm.channels() == c.channels, "model/data mismatch: " << md.model_path << "'s normalisation has "
                                                                       << md.norm.channels()
                                                                       << " channels, the model takes "
                                                                       << c.channels);
  if (names.size() == static_cast<std::size_t>(c.classes)) {
    VHMN_CHECK(names == md.test.class_names,
               "model/data mismatch: " << md.model_path << " was trained on the classes [" << join_names(names)
                                       << "] but data set '" << md.test.name << "' has ["
                                       << join_names(md.test.class_names) << "]");
  }
  md.class_names = md.test.class_names;
  if (need_train) check_provenance(*md.model, md.train);
  limit_dataset(md.test, limit);
  VHMN_CHECK(md.test.size > 0, "data set '" << md.test.name << "' has no images");
  announce_precision(precision);
  return md;
}

/// Parses "0,5,17" into integers.
inline std::vector<long long> parse_int_list(const std::string& s, const std::string& option) {
  std::vector<long long> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    VHMN_USAGE_CHECK(!item.empty() && *end == '\0', "--" << option << ": '" << item << "' is not an integer");
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  VHMN_CHECK(!out.empty(), "--" << option << " needs a comma-separated list of integers");
  return out;
}

inline void set_threads_option(const Args& args) { args.apply_threads(); }

}  // namespace vhmn::cli
