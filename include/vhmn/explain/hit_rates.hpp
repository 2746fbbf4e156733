// vhmn/explain/hit_rates.hpp — how often retrieval recalls the input's class.
//
// What this represents: the retrieval hit rates of the paper's Table 9
// (appendix A.12). For every query row of a path (each token for a local
// path, each image for a global one), with y the label of the row's image:
//   top-1 hit   the heaviest slot belongs to class y
//   top-k hit   at least one of the k heaviest slots belongs to class y
// and beside them what uniformly random retrieval over the same written
// slots would score, averaged over the same rows (n written slots, m of
// them of class y):
//   chance top-1 = m / n
//   chance top-k = 1 - C(n-m, k) / C(n, k)   (k distinct slots drawn at random)
// (The paper quotes k/K, e.g. 50% for top-5 of 10 classes; the exact value
// for 10 balanced classes is 41%.)
#pragma once

#include <cstdint>
#include <vector>

#include "vhmn/explain/retrieval.hpp"

namespace vhmn::explain {

/// 1 - C(n-m, k) / C(n, k): some of k distinct slots out of n, m of them good, is good.
inline double chance_any_of(index_t n, index_t m, index_t k) {
  if (n <= 0 || m <= 0 || k <= 0) return 0.0;
  if (k > n) k = n;
  double none = 1.0;  // product over draws of (n-m-i)/(n-i)
  for (index_t i = 0; i < k; ++i) {
    if (n - m - i <= 0) return 1.0;
    none *= double(n - m - i) / double(n - i);
  }
  return 1.0 - none;
}

struct HitRates {
  index_t k = 5;
  std::int64_t queries = 0, top1 = 0, topk = 0;
  double chance1_sum = 0, chancek_sum = 0;

  double top1_rate() const { return queries ? double(top1) / double(queries) : 0.0; }
  double topk_rate() const { return queries ? double(topk) / double(queries) : 0.0; }
  double chance_top1() const { return queries ? chance1_sum / double(queries) : 0.0; }
  double chance_topk() const { return queries ? chancek_sum / double(queries) : 0.0; }

  void merge(const HitRates& o) {
    queries += o.queries;
    top1 += o.top1;
    topk += o.topk;
    chance1_sum += o.chance1_sum;
    chancek_sum += o.chancek_sum;
  }
};

/// Adds every row of `view` to `h`; labels: (B), the label of each image of
/// the forward (row r belongs to image r / view.rows_per_image()). An empty
/// view adds nothing.
template <class T>
void accumulate_hits(HitRates& h, const RetrievalView<T>& view, const std::int32_t* labels) {
  if (view.empty()) return;
  const MemoryBank<T>& bank = view.bank();
  const index_t K = bank.classes(), n = view.columns();
  std::vector<index_t> per_class(static_cast<std::size_t>(K), 0);
  for (index_t c = 0; c < n; ++c) ++per_class[static_cast<std::size_t>(bank.slot_class(view.slot(c)))];
  std::vector<double> chance1(static_cast<std::size_t>(K)), chancek(static_cast<std::size_t>(K));
  for (index_t y = 0; y < K; ++y) {
    chance1[static_cast<std::size_t>(y)] = double(per_class[static_cast<std::size_t>(y)]) / double(n);
    chancek[static_cast<std::size_t>(y)] = chance_any_of(n, per_class[static_cast<std::size_t>(y)], h.k);
  }
  for (index_t r = 0; r < view.rows(); ++r) {
    const std::int32_t y = labels[r / view.rows_per_image()];
    VHMN_CHECK(y >= 0 && y < K, "hit rates: label " << y << " outside [0, " << K << ")");
    const std::vector<index_t> cols = view.top_columns(r, h.k);
    bool any = false;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const bool same = bank.slot_class(view.slot(cols[i])) == y;
      if (i == 0 && same) ++h.top1;
      any = any || same;
    }
    h.topk += any;
    ++h.queries;
    h.chance1_sum += chance1[static_cast<std::size_t>(y)];
    h.chancek_sum += chancek[static_cast<std::size_t>(y)];
  }
}

}  // namespace vhmn::explain
