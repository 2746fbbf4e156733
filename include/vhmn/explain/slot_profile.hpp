// vhmn/explain/slot_profile.hpp — the average slot weighting of each class.
//
// What this represents: the memory-weight profile of the paper's Figure 5
// (appendix A.11): for every class y and slot s, the mean retrieval weight
// that query rows of images labelled y put on slot s (unwritten slots: 0).
// A model that refines towards its own class puts most of each class's
// weight on that class's slots (slots are ordered by class, docs/spec.md §4).
#pragma once

#include <cstdint>
#include <vector>

#include "vhmn/explain/retrieval.hpp"

namespace vhmn::explain {

class SlotProfile {
 public:
  SlotProfile() = default;
  SlotProfile(index_t classes, index_t slots)
      : classes_(classes), slots_(slots), sums_(static_cast<std::size_t>(classes * slots), 0.0),
        counts_(static_cast<std::size_t>(classes), 0) {
    VHMN_CHECK(classes > 0 && slots > 0, "slot profile needs classes and slots > 0");
  }

  index_t classes() const { return classes_; }
  index_t slots() const { return slots_; }
  /// Query rows seen for class y.
  std::int64_t count(index_t y) const { return counts_[static_cast<std::size_t>(y)]; }
  /// Mean weight of slot s over the rows of class y (0 when none was seen).
  double mean(index_t y, index_t s) const {
    const std::int64_t n = count(y);
    return n ? sums_[static_cast<std::size_t>(y * slots_ + s)] / double(n) : 0.0;
  }
  /// Mean weight class y puts on the slots of class c (slots c*S/K ..).
  double mass(index_t y, index_t c) const {
    const index_t per = slots_ / classes_;
    double m = 0;
    for (index_t s = c * per; s < (c + 1) * per; ++s) m += mean(y, s);
    return m;
  }

  /// Adds every row of `view`; labels: (B) as for accumulate_hits().
  template <class T>
  void add(const RetrievalView<T>& view, const std::int32_t* labels) {
    if (view.empty()) return;
    VHMN_CHECK(view.bank().slots() == slots_ && view.bank().classes() == classes_,
               "slot profile of " << classes_ << " classes x " << slots_ << " slots given a bank of "
                                  << view.bank().classes() << " x " << view.bank().slots());
    for (index_t r = 0; r < view.rows(); ++r) {
      const std::int32_t y = labels[r / view.rows_per_image()];
      VHMN_CHECK(y >= 0 && y < classes_, "slot profile: label " << y << " outside [0, " << classes_ << ")");
      double* acc = sums_.data() + y * slots_;
      const T* w = view.row(r);
      for (index_t c = 0; c < view.columns(); ++c) acc[view.slot(c)] += static_cast<double>(w[c]);
      ++counts_[static_cast<std::size_t>(y)];
    }
  }

 private:
  index_t classes_ = 0, slots_ = 0;
  std::vector<double> sums_;          // (K, S)
  std::vector<std::int64_t> counts_;  // (K)
};

}  // namespace vhmn::explain
