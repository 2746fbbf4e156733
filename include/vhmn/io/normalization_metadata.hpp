// vhmn/io/normalization_metadata.hpp — the input normalisation and class
// names a checkpoint carries, so the file alone can classify raw images.
//
// What this represents: the `vhmn.norm_mean`, `vhmn.norm_std` and
// `vhmn.class_names` keys of a checkpoint's `__metadata__` (docs/spec.md §7),
// each a JSON array. Written by the Trainer, read by vhmn::Classifier,
// `vhmn predict` and `vhmn eval`.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/io/json.hpp"

namespace vhmn {
namespace io {

/// Metadata keys for the data normalisation and class names.
inline std::map<std::string, std::string> normalization_metadata(const data::Normalization& n,
                                                                 const std::vector<std::string>& class_names) {
  io::Json mean = io::Json::array(), std = io::Json::array(), names = io::Json::array();
  for (double v : n.mean) mean.push_back(v);
  for (double v : n.std) std.push_back(v);
  for (const auto& s : class_names) names.push_back(s);
  return {{"vhmn.norm_mean", mean.dump()}, {"vhmn.norm_std", std.dump()}, {"vhmn.class_names", names.dump()}};
}

/// Reads normalisation back; false if the checkpoint has none. Fails, naming
/// `source` and the key, on malformed values.
inline bool normalization_from_metadata(const std::map<std::string, std::string>& m, data::Normalization& n,
                                        std::vector<std::string>& class_names, const std::string& source) {
  auto mean = m.find("vhmn.norm_mean"), std = m.find("vhmn.norm_std");
  if (mean == m.end() || std == m.end()) return false;
  n.mean.clear();
  n.std.clear();
  const io::Json mean_json = io::Json::parse(mean->second, source + " vhmn.norm_mean");
  const io::Json std_json = io::Json::parse(std->second, source + " vhmn.norm_std");
  for (const auto& v : mean_json.as_array()) n.mean.push_back(v.as_double());
  for (const auto& v : std_json.as_array()) n.std.push_back(v.as_double());
  VHMN_CHECK(n.mean.size() == n.std.size(), source << ": vhmn.norm_mean and vhmn.norm_std differ in length");
  for (double s : n.std)
    VHMN_CHECK(s > 0 && std::isfinite(s), source << ": vhmn.norm_std holds a non-positive or non-finite value (" << s
                                                  << ")");
  for (double m : n.mean) VHMN_CHECK(std::isfinite(m), source << ": vhmn.norm_mean holds a non-finite value");
  class_names.clear();
  if (auto names = m.find("vhmn.class_names"); names != m.end()) {
    const io::Json names_json = io::Json::parse(names->second, source + " vhmn.class_names");
    for (const auto& v : names_json.as_array()) class_names.push_back(v.as_string());
  }
  return true;
}

}  // namespace io
}  // namespace vhmn
