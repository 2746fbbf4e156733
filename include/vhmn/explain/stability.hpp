// vhmn/explain/stability.hpp — does retrieval recall the same prototypes
// when the input is corrupted?
//
// What this represents: the two metrics of the paper's appendix A.13, per
// query row (token or image) of one path, between a clean forward and a
// forward of the corrupted input:
//   top-5 consistency   the corrupted row's top-1 slot is among the clean
//                       row's top-k (k = 5) slots
//   prototype cosine    cos(M[clean top-1], M[corrupted top-1]) of the two
//                       slot vectors (1 when they are the same slot)
// Use: after the clean forward, keep top_slots(view, 5); after the
// corrupted forward, accumulate_stability(stats, kept, 5, view).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "vhmn/explain/retrieval.hpp"

namespace vhmn::explain {

struct Stability {
  std::int64_t queries = 0, consistent = 0;
  double cosine_sum = 0;
  double consistency() const { return queries ? double(consistent) / double(queries) : 0.0; }
  double cosine() const { return queries ? cosine_sum / double(queries) : 0.0; }
};

/// Slot numbers of the k heaviest slots of every row: (rows, k), heaviest
/// first, padded with -1. Empty when the view is.
template <class T>
std::vector<index_t> top_slots(const RetrievalView<T>& view, index_t k) {
  std::vector<index_t> out;
  if (view.empty()) return out;
  out.assign(static_cast<std::size_t>(view.rows() * k), index_t(-1));
  for (index_t r = 0; r < view.rows(); ++r) {
    const auto cols = view.top_columns(r, k);
    for (std::size_t i = 0; i < cols.size(); ++i) out[static_cast<std::size_t>(r * k) + i] = view.slot(cols[i]);
  }
  return out;
}

/// Cosine similarity of slots a and b of `bank` (0 if either is all zero).
template <class T>
double slot_cosine(const MemoryBank<T>& bank, index_t a, index_t b) {
  const index_t L = bank.latent();
  const T* x = bank.memory().data() + a * L;
  const T* y = bank.memory().data() + b * L;
  double xy = 0, xx = 0, yy = 0;
  for (index_t i = 0; i < L; ++i) {
    xy += double(x[i]) * double(y[i]);
    xx += double(x[i]) * double(x[i]);
    yy += double(y[i]) * double(y[i]);
  }
  return (xx > 0 && yy > 0) ? xy / std::sqrt(xx * yy) : 0.0;
}

/// Adds every row: clean_top (rows, k) from top_slots() of the clean forward,
/// `corrupted` the same path after the corrupted forward.
template <class T>
void accumulate_stability(Stability& s, const std::vector<index_t>& clean_top, index_t k,
                          const RetrievalView<T>& corrupted) {
  if (corrupted.empty() || clean_top.empty()) return;
  VHMN_CHECK(static_cast<index_t>(clean_top.size()) == corrupted.rows() * k,
             "stability: clean top-" << k << " lists for " << clean_top.size() / std::size_t(k)
                                     << " rows, corrupted forward has " << corrupted.rows());
  for (index_t r = 0; r < corrupted.rows(); ++r) {
    const auto top = corrupted.top_columns(r, 1);
    const index_t slot = corrupted.slot(top[0]);
    const index_t* clean = clean_top.data() + r * k;
    bool in = false;
    for (index_t i = 0; i < k; ++i) in = in || clean[i] == slot;
    s.consistent += in;
    s.cosine_sum += clean[0] >= 0 ? slot_cosine(corrupted.bank(), clean[0], slot) : 0.0;
    ++s.queries;
  }
}

}  // namespace vhmn::explain
