// vhmn/core/profile.hpp — an opt-in profiler: scoped timers keyed by op name.
//
// What this represents: a table of (op name -> self seconds, total seconds,
// calls) filled by VHMN_PROFILE("name") scopes placed in the layers. Self
// time excludes nested scopes, so the self times of one training step add up
// to the time spent inside profiled scopes, and `vhmn bench` prints them as
// shares of the step.
// Cost: when profiling is off (the default) a scope is one load and one
// predictable branch at entry and exit; defining VHMN_NO_PROFILE removes
// even that (the macro expands to nothing).
// Requires: scopes are entered from the thread that drives the model (the
// layer code, never inside an OpenMP parallel region); enable / reset / read
// the table between steps, from that same thread.
#pragma once

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"

namespace vhmn::profile {

struct Entry {
  const char* name = nullptr;  // a string literal (compared by content)
  double self_s = 0, total_s = 0;
  long long calls = 0;
};

class Scope;

namespace detail {
struct State {
  bool enabled = false;
  std::vector<Entry> entries;
  Scope* current = nullptr;
};
inline State& state() {
  static State s;
  return s;
}
inline Entry& entry(const char* name) {
  auto& e = state().entries;
  for (auto& x : e)
    if (x.name == name || std::strcmp(x.name, name) == 0) return x;
  e.push_back(Entry{name, 0, 0, 0});
  return e.back();
}
}  // namespace detail

/// Turns profiling on or off (off by default).
inline void set_enabled(bool on) { detail::state().enabled = on; }
inline bool enabled() { return detail::state().enabled; }
/// Forgets every accumulated time (names stay, with zero time).
inline void reset() {
  for (auto& e : detail::state().entries) e.self_s = e.total_s = 0, e.calls = 0;
}
/// The table, in the order ops were first seen.
inline const std::vector<Entry>& entries() { return detail::state().entries; }

/// A timed scope. Use through VHMN_PROFILE("name").
class Scope {
 public:
  explicit Scope(const char* name) {
    detail::State& s = detail::state();
    if (!s.enabled) return;
    active_ = true;
    name_ = name;
    parent_ = s.current;
    s.current = this;
    start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (!active_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    detail::State& s = detail::state();
    Entry& e = detail::entry(name_);
    e.self_s += elapsed - child_s_;
    e.total_s += elapsed;
    ++e.calls;
    if (parent_) parent_->child_s_ += elapsed;
    s.current = parent_;
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool active_ = false;
  const char* name_ = nullptr;
  Scope* parent_ = nullptr;
  double child_s_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vhmn::profile

#define VHMN_PROFILE_CAT2_(a, b) a##b
#define VHMN_PROFILE_CAT_(a, b) VHMN_PROFILE_CAT2_(a, b)
#if defined(VHMN_NO_PROFILE)
#define VHMN_PROFILE(name)
#else
/// Times the rest of the enclosing block under `name` (a string literal).
#define VHMN_PROFILE(name) ::vhmn::profile::Scope VHMN_PROFILE_CAT_(vhmn_profile_scope_, __LINE__)(name)
#endif
