// vhmn/nn/model_config.hpp — every size of a V-HMN, the named presets, and
// their round trip through checkpoint metadata (docs/spec.md §6, §7).
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"

namespace vhmn {

struct ModelConfig {
  index_t image = 32;          // input height = width
  index_t channels = 3;        // C
  index_t patch = 4;           // p
  index_t dim = 128;           // D
  index_t latent = 128;        // L
  index_t depth = 4;           // blocks
  index_t window = 3;          // k (odd)
  index_t local_slots = 500;   // S_l
  index_t global_slots = 200;  // S_g
  index_t classes = 10;        // K
  index_t mlp_ratio = 2;       // r: MLP hidden = r * D
  index_t iters = 1;           // T
  index_t local_writes = 1;    // local bank writes per sample per block
  double inv_temperature = 0;  // retrieval inverse temperature; <= 0: sqrt(L)

  // Sanity limits (validate() refuses larger values). Far above any real
  // V-HMN, small enough that every product of sizes fits in 64 bits.
  static constexpr index_t max_image = 1 << 16, max_channels = 1 << 12, max_width = 1 << 16, max_depth = 1 << 12,
                           max_window = 255, max_slots = 1 << 24, max_classes = 1 << 20, max_mlp_ratio = 64,
                           max_iters = 1000;

  index_t grid() const { return image / patch; }
  index_t tokens() const { return grid() * grid(); }
  index_t hidden() const { return mlp_ratio * dim; }
  double effective_inv_temperature() const {
    return inv_temperature > 0 ? inv_temperature : std::sqrt(static_cast<double>(latent));
  }

  /// The docs/spec.md §6 presets: "paper-cifar", "cifar-small", "cifar-fast",
  /// "fmnist-small".
  static ModelConfig preset(const std::string& name) {
    ModelConfig c;
    if (name == "cifar-small") return c;
    if (name == "cifar-fast") {  // cifar-small with a 5x smaller local bank: the one-hour recipe's config
      c.local_slots = 100;
      return c;
    }
    if (name == "paper-cifar") {
      c.dim = c.latent = 300;
      c.depth = 6;
      c.local_slots = 2500;
      c.global_slots = 1000;
      return c;
    }
    if (name == "fmnist-small") {
      c.image = 28;
      c.channels = 1;
      c.dim = c.latent = 96;
      return c;
    }
    VHMN_FAIL("unknown model config '" << name << "' (known: " << preset_names_joined() << ")");
  }
  static std::vector<std::string> preset_names() { return {"paper-cifar", "cifar-small", "cifar-fast", "fmnist-small"}; }
  static std::string preset_names_joined() {
    std::string s;
    for (const auto& n : preset_names()) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  /// Fails with a message naming the first inconsistent size.
  void validate() const {
    auto positive = [](index_t v, const char* what) {
      VHMN_CHECK(v > 0, "config: " << what << " must be positive, got " << v);
    };
    positive(image, "image");
    positive(channels, "channels");
    positive(patch, "patch");
    positive(dim, "dim");
    positive(latent, "latent");
    positive(depth, "depth");
    positive(window, "window");
    positive(local_slots, "local_slots");
    positive(global_slots, "global_slots");
    positive(classes, "classes");
    positive(mlp_ratio, "mlp_ratio");
    positive(local_writes, "local_writes");
    VHMN_CHECK(iters >= 0, "config: iters must be >= 0, got " << iters);
    // Upper limits, checked before any size is multiplied: a config can come
    // from a file (checkpoint metadata), and no product below may overflow.
    auto at_most = [](index_t v, index_t limit, const char* what) {
      VHMN_CHECK(v <= limit, "config: " << what << " " << v << " exceeds the limit " << limit);
    };
    at_most(image, max_image, "image");
    at_most(channels, max_channels, "channels");
    at_most(dim, max_width, "dim");
    at_most(latent, max_width, "latent");
    at_most(depth, max_depth, "depth");
    at_most(window, max_window, "window");
    at_most(local_slots, max_slots, "local_slots");
    at_most(global_slots, max_slots, "global_slots");
    at_most(classes, max_classes, "classes");
    at_most(mlp_ratio, max_mlp_ratio, "mlp_ratio");
    at_most(iters, max_iters, "iters");
    at_most(local_writes, max_slots, "local_writes");
    VHMN_CHECK(image % patch == 0, "config: image " << image << " is not a multiple of patch " << patch);
    VHMN_CHECK(window % 2 == 1, "config: window must be odd, got " << window);
    VHMN_CHECK(local_slots % classes == 0,
               "config: local_slots " << local_slots << " is not divisible by classes " << classes);
    VHMN_CHECK(global_slots % classes == 0,
               "config: global_slots " << global_slots << " is not divisible by classes " << classes);
    VHMN_CHECK(std::isfinite(inv_temperature), "config: inv_temperature must be finite");
  }

  /// `vhmn.*` checkpoint metadata (string values).
  std::map<std::string, std::string> to_metadata() const {
    std::map<std::string, std::string> m;
    m["vhmn.format"] = "1";
    m["vhmn.image"] = std::to_string(image);
    m["vhmn.channels"] = std::to_string(channels);
    m["vhmn.patch"] = std::to_string(patch);
    m["vhmn.dim"] = std::to_string(dim);
    m["vhmn.latent"] = std::to_string(latent);
    m["vhmn.depth"] = std::to_string(depth);
    m["vhmn.window"] = std::to_string(window);
    m["vhmn.local_slots"] = std::to_string(local_slots);
    m["vhmn.global_slots"] = std::to_string(global_slots);
    m["vhmn.classes"] = std::to_string(classes);
    m["vhmn.mlp_ratio"] = std::to_string(mlp_ratio);
    m["vhmn.iters"] = std::to_string(iters);
    m["vhmn.local_writes"] = std::to_string(local_writes);
    if (inv_temperature > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", inv_temperature);
      m["vhmn.inv_temperature"] = buf;
    }
    return m;
  }

  /// Rebuilds a config from checkpoint metadata; names every missing or bad key.
  static ModelConfig from_metadata(const std::map<std::string, std::string>& m, const std::string& source) {
    auto get = [&](const char* key) -> const std::string& {
      auto it = m.find(key);
      VHMN_CHECK(it != m.end(), source << ": checkpoint metadata lacks the config key '" << key << "'");
      return it->second;
    };
    auto get_int = [&](const char* key) -> index_t {
      const std::string& s = get(key);
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      VHMN_CHECK(!s.empty() && end && *end == '\0' && errno == 0,
                 source << ": checkpoint metadata '" << key << "' is '" << s << "', not an integer");
      return static_cast<index_t>(v);
    };
    const std::string& format = get("vhmn.format");
    VHMN_CHECK(format == "1", source << ": unsupported vhmn.format '" << format << "' (this reader knows '1')");
    ModelConfig c;
    c.image = get_int("vhmn.image");
    c.channels = get_int("vhmn.channels");
    c.patch = get_int("vhmn.patch");
    c.dim = get_int("vhmn.dim");
    c.latent = get_int("vhmn.latent");
    c.depth = get_int("vhmn.depth");
    c.window = get_int("vhmn.window");
    c.local_slots = get_int("vhmn.local_slots");
    c.global_slots = get_int("vhmn.global_slots");
    c.classes = get_int("vhmn.classes");
    c.mlp_ratio = get_int("vhmn.mlp_ratio");
    c.iters = get_int("vhmn.iters");
    c.local_writes = get_int("vhmn.local_writes");
    auto it = m.find("vhmn.inv_temperature");
    if (it != m.end()) {
      char* end = nullptr;
      c.inv_temperature = std::strtod(it->second.c_str(), &end);
      VHMN_CHECK(end && *end == '\0' && !it->second.empty(),
                 source << ": checkpoint metadata 'vhmn.inv_temperature' is not a number");
    }
    try_validate(c, source);
    return c;
  }

 private:
  static void try_validate(const ModelConfig& c, const std::string& source) {
#if VHMN_HAS_EXCEPTIONS
    try {
      c.validate();
    } catch (const Error& e) {
      VHMN_FAIL(source << ": " << e.what());
    }
#else
    (void)source;
    c.validate();
#endif
  }
};

}  // namespace vhmn
