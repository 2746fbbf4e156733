// tools/vhmn/args.hpp — the command line of `vhmn <command> [options]`.
//
// Options are `--name value` or `--name=value`; flags are `--name`. Each
// command declares what it accepts, so a typo gets "unknown option --X"
// instead of being ignored, and a bad value names the option.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <vhmn/core/error.hpp>
#include <vhmn/core/threads.hpp>

namespace vhmn::cli {

class Args {
 public:
  /// flags: options without a value; options: options with a value.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
       const std::set<std::string>& options) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional_.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (flags.count(name)) {
        VHMN_CHECK(!has_value, "option --" << name << " takes no value");
        flags_.insert(name);
      } else if (options.count(name)) {
        if (!has_value) {
          VHMN_CHECK(i + 1 < argv.size(), "option --" << name << " needs a value");
          value = argv[++i];
        }
        values_[name] = value;
      } else {
        VHMN_FAIL("unknown option --" << name);
      }
    }
  }

  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

  std::string str(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::string required(const std::string& name) const {
    auto it = values_.find(name);
    VHMN_CHECK(it != values_.end(), "missing required option --" << name);
    return it->second;
  }
  long long integer(const std::string& name, long long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    VHMN_CHECK(!it->second.empty() && *end == '\0' && errno == 0,
               "option --" << name << " expects an integer, got '" << it->second << "'");
    return v;
  }
  double number(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    VHMN_CHECK(!it->second.empty() && *end == '\0',
               "option --" << name << " expects a number, got '" << it->second << "'");
    return v;
  }

  /// Applies --threads N (1..4096) when given; otherwise keeps the default (all cores).
  void apply_threads() const {
    if (!has("threads")) return;
    const long long n = integer("threads", 0);
    VHMN_CHECK(n >= 1 && n <= 4096, "--threads must be between 1 and 4096, got " << n);
    set_num_threads(static_cast<int>(n));
  }

 private:
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace vhmn::cli
