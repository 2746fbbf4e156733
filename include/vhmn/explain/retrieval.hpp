// vhmn/explain/retrieval.hpp — what the memory recalled in the last forward.
//
// What this represents: read-only views of the retrieval weights every
// memory path computed in the model's last forward (docs/spec.md §3), the slots
// they refer to with their class and provenance (docs/spec.md §4: the training
// sample and token position that wrote the slot), and the head's
// attention-pool weights (docs/spec.md §5).
//   RetrievalView      the (R x n_written) weights of one path's LAST
//                      refinement step: R = B*N rows (one per token, image
//                      major) for a local path, R = B (one per image) for a
//                      global path; every row sums to 1
//   top_k()            the k heaviest slots of a row with weight, class and
//                      provenance
//   explain_last_forward()  top-k of every row of every path of every block
//                      plus the pool weights, copied out of the model
// Use:
//   model.forward(images, B);
//   auto v = explain::retrieval(model, model.blocks.size() - 1, explain::Path::Local);
//   for (const explain::SlotHit& h : v.top_k(b * N + n, 5)) ... h.source_index ...
// Ensures: reading changes nothing in the model (const access only) and
// costs nothing unless called; the model computes these weights anyway.
// Requires: a view is valid until the model's next forward. A path that ran
// no retrieval step (T = 0, or a bank with no written slot), or a forward
// that stored no weights (recording switched off for speed), gives an empty
// view (empty(), top_k() returns nothing).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/nn/memory_bank.hpp"
#include "vhmn/nn/refinement.hpp"
#include "vhmn/nn/vhmn_model.hpp"

namespace vhmn::explain {

/// Which memory path of a block.
enum class Path { Local, Global };
inline const char* path_name(Path p) { return p == Path::Local ? "local" : "global"; }

/// One recalled slot of one query row.
struct SlotHit {
  index_t slot = -1;                // slot number in the bank, 0..S-1
  double weight = 0;                // retrieval weight of the last refinement step
  index_t slot_class = -1;          // the class that owns the slot (slot / (S/K))
  std::int64_t source_index = -1;   // training-set index that wrote it (-1: unknown)
  std::int64_t source_token = -1;   // token position that wrote it (-1: whole image / unknown)
};

/// Where token n sits in the image: a p x p box at (x, y) pixels.
struct PatchBox {
  index_t x = 0, y = 0, size = 0;
};
inline PatchBox patch_box(const ModelConfig& c, index_t token) {
  VHMN_CHECK(token >= 0 && token < c.tokens(), "token " << token << " outside [0, " << c.tokens() << ")");
  const index_t g = c.grid();
  return PatchBox{(token % g) * c.patch, (token / g) * c.patch, c.patch};
}

template <class T>
class RetrievalView {
 public:
  RetrievalView() = default;
  /// weights: (rows, slot_ids.size()); rows_per_image: N (local) or 1 (global).
  RetrievalView(const T* weights, index_t rows, index_t rows_per_image, const std::vector<index_t>& slot_ids,
                const MemoryBank<T>& bank)
      : weights_(weights),
        rows_(rows),
        rows_per_image_(rows_per_image),
        slot_ids_(&slot_ids),
        bank_(&bank) {}

  /// True when there is nothing to read (no step ran, or no forward yet).
  bool empty() const { return !weights_ || rows_ == 0 || columns() == 0; }
  index_t rows() const { return rows_; }
  index_t rows_per_image() const { return rows_per_image_; }
  /// Written slots the weights are over (columns of every row).
  index_t columns() const { return slot_ids_ ? static_cast<index_t>(slot_ids_->size()) : 0; }
  /// Slot number of a column.
  index_t slot(index_t column) const { return (*slot_ids_)[static_cast<std::size_t>(column)]; }
  const std::vector<index_t>& slot_ids() const { return *slot_ids_; }
  const MemoryBank<T>& bank() const { return *bank_; }
  /// Weights of row r over the columns: (columns), sums to 1.
  const T* row(index_t r) const {
    VHMN_CHECK(!empty() && r >= 0 && r < rows_, "retrieval row " << r << " outside [0, " << rows_ << ")");
    return weights_ + r * columns();
  }

  SlotHit hit(index_t r, index_t column) const {
    SlotHit h;
    h.slot = slot(column);
    h.weight = static_cast<double>(row(r)[column]);
    h.slot_class = bank_->slot_class(h.slot);
    h.source_index = bank_->source_index()[static_cast<std::size_t>(h.slot)];
    h.source_token = bank_->source_token()[static_cast<std::size_t>(h.slot)];
    return h;
  }

  /// Columns of the k heaviest weights of row r, heaviest first (ties: lower
  /// slot first); fewer when fewer slots are written.
  std::vector<index_t> top_columns(index_t r, index_t k) const {
    std::vector<index_t> cols;
    if (empty() || k <= 0) return cols;
    const T* w = row(r);
    cols.resize(static_cast<std::size_t>(columns()));
    std::iota(cols.begin(), cols.end(), index_t(0));
    const auto kk = static_cast<std::ptrdiff_t>(std::min(k, columns()));
    std::partial_sort(cols.begin(), cols.begin() + kk, cols.end(),
                      [w](index_t a, index_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); });
    cols.resize(static_cast<std::size_t>(kk));
    return cols;
  }
  /// The k heaviest slots of row r with weight, class and provenance.
  std::vector<SlotHit> top_k(index_t r, index_t k) const {
    std::vector<SlotHit> out;
    for (index_t c : top_columns(r, k)) out.push_back(hit(r, c));
    return out;
  }
  /// Row r's weights scattered over all S slots (0 where unwritten): out (S).
  template <class U>
  void dense(index_t r, U* out) const {
    std::fill(out, out + bank_->slots(), U(0));
    if (empty()) return;
    const T* w = row(r);
    for (index_t c = 0; c < columns(); ++c) out[slot(c)] = static_cast<U>(w[c]);
  }

 private:
  const T* weights_ = nullptr;
  index_t rows_ = 0, rows_per_image_ = 1;
  const std::vector<index_t>* slot_ids_ = nullptr;
  const MemoryBank<T>* bank_ = nullptr;
};

/// The last refinement step of `refine` over `bank`, whose last forward had `rows` rows.
template <class T, int L>
RetrievalView<T> last_step(const HopfieldRefinement<T, L>& refine, const MemoryBank<T>& bank, index_t rows,
                           index_t rows_per_image) {
  if (refine.steps_run() == 0 || rows == 0) return {};
  const T* weights = refine.attention(refine.steps_run() - 1);
  if (!weights) return {};  // the forward stored no weights (recording switched off)
  return RetrievalView<T>(weights, rows, rows_per_image, refine.slot_ids(), bank);
}

/// The last-step retrieval weights of one path of block `block` in the model's last forward.
template <class T, int D, int L>
RetrievalView<T> retrieval(const VHMN<T, D, L>& model, index_t block, Path path) {
  VHMN_CHECK(block >= 0 && block < static_cast<index_t>(model.blocks.size()),
             "block " << block << " outside [0, " << model.blocks.size() << ")");
  const auto& blk = *model.blocks[static_cast<std::size_t>(block)];
  const index_t B = model.last_batch(), N = model.config().tokens();
  if (path == Path::Local) return last_step(blk.local.path.refine, blk.local.path.bank, B * N, N);
  return last_step(blk.global.path.refine, blk.global.path.bank, B, 1);
}

/// Attention-pool weights of the head in the last forward: (B, N), rows sum to 1.
template <class T, int D, int L>
const Tensor<T>& pool_weights(const VHMN<T, D, L>& model) {
  return model.pool.weights();
}

/// The token with the largest attention-pool weight of image b (ties: lowest).
template <class T, int D, int L>
index_t most_informative_token(const VHMN<T, D, L>& model, index_t b) {
  const Tensor<T>& pi = model.pool.weights();
  VHMN_CHECK(pi.rank() == 2 && b >= 0 && b < pi.dim(0), "image " << b << " outside the last forward's batch");
  const T* w = pi.data() + b * pi.dim(1);
  return static_cast<index_t>(std::max_element(w, w + pi.dim(1)) - w);
}

/// Top-k of every row of one path, copied out.
struct PathExplanation {
  Path path = Path::Local;
  index_t rows = 0, k = 0;
  std::vector<SlotHit> top;  // (rows, k); a row with fewer written slots is padded with slot -1
  const SlotHit* row(index_t r) const { return top.data() + r * k; }
};
struct BlockExplanation {
  PathExplanation local, global;
};
/// Everything explain_last_forward() reads: per block and path the top-k
/// slots of every row, and the pool weights.
template <class T>
struct BatchExplanation {
  index_t batch = 0, tokens = 0, k = 0;
  std::vector<BlockExplanation> blocks;  // (depth)
  Tensor<T> pool;                        // (B, N)
};

template <class T>
PathExplanation explain_path(const RetrievalView<T>& v, Path path, index_t rows, index_t k) {
  PathExplanation e;
  e.path = path;
  e.rows = rows;
  e.k = k;
  e.top.assign(static_cast<std::size_t>(rows * k), SlotHit{});
  if (v.empty()) return e;
  for (index_t r = 0; r < rows; ++r) {
    const auto hits = v.top_k(r, k);
    std::copy(hits.begin(), hits.end(), e.top.begin() + r * k);
  }
  return e;
}

/// Copies the top-k slots of every row of every path and the pool weights
/// out of the model's last forward.
template <class T, int D, int L>
BatchExplanation<T> explain_last_forward(const VHMN<T, D, L>& model, index_t k = 5) {
  VHMN_CHECK(k >= 1, "top-k needs k >= 1, got " << k);
  VHMN_CHECK(model.last_batch() > 0, "explain_last_forward: the model has not run a forward yet");
  BatchExplanation<T> out;
  out.batch = model.last_batch();
  out.tokens = model.config().tokens();
  out.k = k;
  for (index_t i = 0; i < static_cast<index_t>(model.blocks.size()); ++i) {
    BlockExplanation b;
    b.local = explain_path(retrieval(model, i, Path::Local), Path::Local, out.batch * out.tokens, k);
    b.global = explain_path(retrieval(model, i, Path::Global), Path::Global, out.batch, k);
    out.blocks.push_back(std::move(b));
  }
  out.pool = model.pool.weights();
  return out;
}

}  // namespace vhmn::explain
