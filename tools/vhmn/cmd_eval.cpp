// tools/vhmn/cmd_eval.cpp — `vhmn eval`: accuracy of a checkpoint on a data set.
#include <cstdio>

#include <nlohmann/json.hpp>

#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "data_args.hpp"
#include "precision_option.hpp"

namespace vhmn::cli {

const char* kEvalHelp =
    "usage: vhmn eval --model M.safetensors --data KIND [--data-dir DIR] [--split test|train]\n"
    "                 [--limit N] [--batch B] [--threads N] [--precision P] [--json]\n"
    "\n%s%s"
    "Prints top-1, top-5, per-class accuracy and the confusion matrix (rows: true class).\n"
    "The normalisation comes from the checkpoint (written by vhmn train); a checkpoint\n"
    "without it (e.g. from PyTorch) is normalised with the data set's training split.\n";

int cmd_eval(const std::vector<std::string>& argv) {
  const Args args(argv, {"help", "json"}, {"model", "data", "data-dir", "split", "limit", "batch", "threads", "precision"});
  if (args.flag("help")) {
    std::printf(kEvalHelp, kDataHelp, kPrecisionHelp);
    return 0;
  }
  args.no_positional();
  args.apply_threads();
  const Precision precision = precision_option(args);
  const std::string model_path = args.required("model");
  const io::SafetensorsFile file = io::read_safetensors(model_path);
  auto model = load_model<float>(file, model_path);
  const ModelConfig& c = model->config();
  model->set_precision(precision);
  announce_precision(precision);

  const std::string kind = args.required("data");
  const std::string dir = data_dir_option(args, kind);
  const std::string split_name = args.choice("split", "test", {"test", "train"});
  const data::Split split = split_name == "test" ? data::Split::Test : data::Split::Train;
  data::Dataset ds;
  VHMN_CHECK(load_split(kind, dir, split, ds, c.image, c.channels), dir << " has no " << split_name << " split");
  limit_dataset(ds, args.integer("limit", 0, 0, kNoMax));
  train::check_dataset_fits(ds, c);

  data::Normalization norm;
  std::vector<std::string> names;
  if (!train::normalization_from_metadata(file.metadata, norm, names, model_path)) {
    data::Dataset train_set;
    load_split(kind, dir, data::Split::Train, train_set, c.image, c.channels);
    norm = data::compute_normalization(train_set);
    std::fprintf(stderr, "note: %s has no normalisation metadata; using %s's training-split statistics\n",
                 model_path.c_str(), kind.c_str());
  }
  if (names.size() != static_cast<std::size_t>(c.classes)) names = ds.class_names;
  names.resize(static_cast<std::size_t>(c.classes));
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k].empty()) names[k] = "class_" + std::to_string(k);

  const train::EvalResult r = train::evaluate(*model, ds, norm, static_cast<index_t>(args.integer("batch", 256, 1, 65536)));
  const index_t K = c.classes;
  if (args.flag("json")) {
    nlohmann::ordered_json j = {{"model", model_path}, {"data", ds.name}, {"count", r.count}, {"loss", r.loss},
                                {"top1", r.top1}};
    if (K > 5) j["top5"] = r.top5;
    nlohmann::ordered_json per = nlohmann::ordered_json::object(), conf = nlohmann::ordered_json::array();
    for (index_t k = 0; k < K; ++k) per[names[static_cast<std::size_t>(k)]] = r.per_class[static_cast<std::size_t>(k)];
    j["per_class"] = per;
    for (index_t y = 0; y < K; ++y) {
      nlohmann::ordered_json row = nlohmann::ordered_json::array();
      for (index_t k = 0; k < K; ++k) row.push_back(r.confusion[static_cast<std::size_t>(y * K + k)]);
      conf.push_back(row);
    }
    j["confusion"] = conf;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%s on %s (%lld images)\n", model_path.c_str(), ds.name.c_str(), static_cast<long long>(r.count));
  // top-5 of 5 or fewer classes is always 100%: shown only when it says something
  if (K > 5)
    std::printf("top-1 %.2f%%   top-5 %.2f%%   loss %.4f\n\nper class:\n", 100 * r.top1, 100 * r.top5, r.loss);
  else
    std::printf("top-1 %.2f%%   loss %.4f\n\nper class:\n", 100 * r.top1, r.loss);
  for (index_t k = 0; k < K; ++k)
    std::printf("  %2lld %-14s %6.2f%%\n", static_cast<long long>(k), names[static_cast<std::size_t>(k)].c_str(),
                100 * r.per_class[static_cast<std::size_t>(k)]);
  std::printf("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
  for (index_t k = 0; k < K; ++k) std::printf(" %5lld", static_cast<long long>(k));
  std::printf("\n");
  for (index_t y = 0; y < K; ++y) {
    std::printf("  %2lld ", static_cast<long long>(y));
    for (index_t k = 0; k < K; ++k) std::printf(" %5lld", static_cast<long long>(r.confusion[static_cast<std::size_t>(y * K + k)]));
    std::printf("\n");
  }
  return 0;
}

}  // namespace vhmn::cli
