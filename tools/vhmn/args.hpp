// tools/vhmn/args.hpp — the command line of `vhmn <command> [options]`.
//
// Options are `--name value` or `--name=value`; flags are `--name`. Each
// command declares what it accepts; CLI11 (README, "Libraries the vhmn
// program uses") does the parsing, so a typo gets "unknown option --X", a
// repeated option is refused instead of silently winning, and `--` ends the
// options. A mistake in the command line is a UsageError (exit code 2, the
// same as an unknown command); a bad value names the option and the value.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <vhmn/core/error.hpp>
#include <vhmn/core/threads.hpp>

namespace vhmn::cli {

/// A mistake in how the program was called (unknown/repeated option, a value
/// out of range): main() reports it with exit code 2, other errors with 1.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

/// VHMN_CHECK for the command line: throws UsageError.
#define VHMN_USAGE_CHECK(cond, stream_expr)                 \
  do {                                                      \
    if (!(cond)) {                                          \
      std::ostringstream vhmn_usage_msg_;                   \
      vhmn_usage_msg_ << stream_expr;                       \
      throw ::vhmn::cli::UsageError(vhmn_usage_msg_.str()); \
    }                                                       \
  } while (0)

class Args {
 public:
  /// flags: options without a value; options: options with a value.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
       const std::set<std::string>& options) {
    CLI::App app;
    app.set_help_flag();  // each command prints its own help text for --help
    app.allow_extras(false);
    std::map<std::string, std::vector<std::string>> given;  // every value, to name a repeat
    std::map<std::string, std::int64_t> flag_count;
    for (const std::string& name : options)
      app.add_option("--" + name, given[name])
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->allow_extra_args(false);
    for (const std::string& name : flags) app.add_flag("--" + name, flag_count[name]);
    app.add_option("positional", positional_);
    for (const std::string& a : argv) {
      if (a == "--") break;
      const std::size_t eq = a.find('=');
      VHMN_USAGE_CHECK(!(a.rfind("--", 0) == 0 && eq != std::string::npos && flags.count(a.substr(2, eq - 2))),
                       "option " << a.substr(0, eq) << " takes no value");
    }
    std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 consumes from the back
    try {
      app.parse(reversed);
    } catch (const CLI::ExtrasError&) {
      for (const std::string& a : argv)
        if (a.rfind("-", 0) == 0 && a != "-" && a != "--") {
          const std::string name = a.substr(0, a.find('='));
          const bool known = name.size() > 2 && (options.count(name.substr(2)) || flags.count(name.substr(2)));
          VHMN_USAGE_CHECK(known, "unknown option " << name);
        }
      throw UsageError("unexpected argument");
    } catch (const CLI::ArgumentMismatch& e) {
      for (const std::string& name : options)
        if (std::string(e.what()).rfind("--" + name + ":", 0) == 0)
          throw UsageError("option --" + name + " needs a value");
      throw UsageError(e.what());
    } catch (const CLI::ParseError& e) {
      throw UsageError(e.what());
    }
    for (const auto& [name, values] : given) {
      if (values.empty()) continue;
      VHMN_USAGE_CHECK(values.size() == 1, "option --" << name << " is given " << values.size() << " times ("
                                                       << join(name, values)
                                                       << "); give it once");
      values_[name] = values[0];
    }
    for (const auto& [name, n] : flag_count) {
      VHMN_USAGE_CHECK(n <= 1, "option --" << name << " is given " << n << " times; give it once");
      if (n > 0) flags_.insert(name);
    }
  }

  /// Options and flags of `later` replace these (a resumed run's saved command
  /// line, then the few options given again).
  void overlay(const Args& later) {
    for (const auto& [name, value] : later.values_) values_[name] = value;
    flags_.insert(later.flags_.begin(), later.flags_.end());
    positional_.insert(positional_.end(), later.positional_.begin(), later.positional_.end());
  }

  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }
  /// The options given with a value, by name (without "--").
  std::vector<std::string> option_names() const {
    std::vector<std::string> out;
    for (const auto& kv : values_) out.push_back(kv.first);
    return out;
  }
  /// Fails unless no bare argument was given.
  void no_positional() const {
    VHMN_USAGE_CHECK(positional_.empty(), "unexpected argument '" << positional_[0] << "'");
  }

  std::string str(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::string required(const std::string& name) const {
    auto it = values_.find(name);
    VHMN_USAGE_CHECK(it != values_.end(), "missing required option --" << name);
    return it->second;
  }
  /// One of `choices`, or fails naming the option, the value and the choices.
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& choices) const {
    const std::string v = str(name, fallback);
    std::string all;
    for (const std::string& c : choices) {
      if (c == v) return v;
      all += (all.empty() ? "" : ", ") + c;
    }
    throw UsageError("--" + name + " " + v + ": must be one of " + all);
  }
  long long integer(const std::string& name, long long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    VHMN_USAGE_CHECK(!it->second.empty() && *end == '\0' && errno == 0,
                     "option --" << name << " expects an integer, got '" << it->second << "'");
    return v;
  }
  /// An integer in [lo, hi]; out of range fails as "--batch 0: must be between 1 and 65536".
  long long integer(const std::string& name, long long fallback, long long lo, long long hi) const {
    const long long v = integer(name, fallback);
    VHMN_USAGE_CHECK(v >= lo && v <= hi, "--" << name << " " << v << ": " << range_text(lo, hi));
    return v;
  }
  double number(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    VHMN_USAGE_CHECK(!it->second.empty() && *end == '\0' && std::isfinite(v),
                     "option --" << name << " expects a number, got '" << it->second << "'");
    return v;
  }
  /// A number in [lo, hi].
  double number(const std::string& name, double fallback, double lo, double hi) const {
    const double v = number(name, fallback);
    VHMN_USAGE_CHECK(v >= lo && v <= hi, "--" << name << " " << str(name, std::to_string(v)) << ": "
                                              << range_text(lo, hi));
    return v;
  }

  /// Applies --threads N (1..4096) when given; otherwise keeps the default (all cores).
  void apply_threads() const {
    if (!has("threads")) return;
    set_num_threads(static_cast<int>(integer("threads", 0, 1, 4096)));
  }

 private:
  template <class V>
  static std::string range_text(V lo, V hi) {
    std::ostringstream s;
    if (hi >= std::numeric_limits<V>::max())
      s << "must be >= " << lo;
    else
      s << "must be between " << lo << " and " << hi;
    return s.str();
  }
  static std::string join(const std::string& name, const std::vector<std::string>& values) {
    std::string s;
    for (const std::string& v : values) s += (s.empty() ? "--" : ", --") + name + " " + v;
    return s;
  }

  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

/// Upper bounds for range checks that only have a lower one.
inline constexpr long long kNoMax = std::numeric_limits<long long>::max();
inline constexpr double kNoMaxD = std::numeric_limits<double>::max();

}  // namespace vhmn::cli
