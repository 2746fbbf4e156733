// vhmn/nn/memory_bank.hpp — a class-balanced ring buffer of latent prototypes.
//
// What this represents: the S x L bank of one memory path (docs/spec.md §4).
// Slot j belongs to class j / (S/K); class y's next write goes to slot
// y*(S/K) + writes[y] % (S/K); slot i of class y is *written* once
// i < min(writes[y], S/K). Each written slot records its provenance: the
// dataset index of the training sample and the token position that wrote
// it (-1 for a global, whole-image entry).
// Banks are state, not parameters: never touched by the optimiser, written
// only by training-mode bank writes, saved in checkpoints.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "vhmn/core/tensor.hpp"
#include "vhmn/ops/retrieval.hpp"

namespace vhmn {

template <class T>
class MemoryBank {
 public:
  MemoryBank() = default;
  MemoryBank(index_t slots, index_t latent, index_t classes) { reset(slots, latent, classes); }

  void reset(index_t slots, index_t latent, index_t classes) {
    VHMN_CHECK(slots > 0 && latent > 0 && classes > 0,
               "memory bank sizes must be positive (slots " << slots << ", latent " << latent << ", classes "
                                                            << classes << ")");
    VHMN_CHECK(slots % classes == 0,
               "memory bank slots (" << slots << ") must be divisible by the number of classes (" << classes << ")");
    memory_.resize_zero({slots, latent});
    writes_.assign(static_cast<std::size_t>(classes), 0);
    source_index_.assign(static_cast<std::size_t>(slots), -1);
    source_token_.assign(static_cast<std::size_t>(slots), -1);
  }
  /// Forgets every entry (slots unwritten, counters zero).
  void clear() { reset(slots(), latent(), classes()); }

  index_t slots() const { return memory_.dim(0); }
  index_t latent() const { return memory_.dim(1); }
  index_t classes() const { return static_cast<index_t>(writes_.size()); }
  index_t slots_per_class() const { return slots() / classes(); }

  /// The class that owns `slot`.
  index_t slot_class(index_t slot) const { return slot / slots_per_class(); }
  /// How many slots of `label` hold an entry.
  index_t filled(index_t label) const {
    return static_cast<index_t>(std::min<std::int64_t>(writes_[static_cast<std::size_t>(label)], slots_per_class()));
  }
  bool is_written(index_t slot) const { return slot % slots_per_class() < filled(slot_class(slot)); }
  index_t written_count() const {
    index_t n = 0;
    for (index_t y = 0; y < classes(); ++y) n += filled(y);
    return n;
  }

  /// Writes a detached copy of `value` (L values) under `label`; returns the slot.
  index_t write(index_t label, const T* value, std::int64_t sample_index, std::int64_t token) {
    VHMN_CHECK(label >= 0 && label < classes(),
               "memory write with label " << label << " outside [0, " << classes() << ")");
    auto& count = writes_[static_cast<std::size_t>(label)];
    const index_t slot = label * slots_per_class() + static_cast<index_t>(count % slots_per_class());
    std::copy(value, value + latent(), memory_.data() + slot * latent());
    source_index_[static_cast<std::size_t>(slot)] = sample_index;
    source_token_[static_cast<std::size_t>(slot)] = token;
    ++count;
    return slot;
  }

  /// Compacts the written slots, in slot order, into `values` (n, L) and
  /// `unit` (n, L; rows normalised once here, not once per query), and lists
  /// their slot numbers. The view stays valid while the buffers live, so
  /// writes after a forward pass never disturb its backward.
  ops::SlotView<T> gather_written(Tensor<T>& values, Tensor<T>& unit, std::vector<index_t>& slot_ids) const {
    list_written(slot_ids);
    const index_t n = static_cast<index_t>(slot_ids.size()), L = latent();
    values.resize({n, L});
    unit.resize({n, L});
    for (index_t i = 0; i < n; ++i)
      std::copy(memory_.data() + slot_ids[static_cast<std::size_t>(i)] * L,
                memory_.data() + (slot_ids[static_cast<std::size_t>(i)] + 1) * L, values.data() + i * L);
    if (n) ops::normalize_rows<T>(unit.data(), nullptr, values.data(), n, L);
    return ops::SlotView<T>{values.data(), unit.data(), n};
  }
  /// The same compaction for bf16 products (float banks): the values and unit
  /// rows rounded to bf16, bit for bit the rounding of gather_written's, at
  /// half its memory (the rows are normalised in fp32 and rounded after).
  /// Returns n.
  index_t gather_written_bf16(std::vector<bf16, AlignedAllocator<bf16>>& values,
                              std::vector<bf16, AlignedAllocator<bf16>>& unit, std::vector<index_t>& slot_ids) const {
    static_assert(std::is_same_v<T, float>, "bf16 copies of a bank are for float models");
    list_written(slot_ids);
    const index_t n = static_cast<index_t>(slot_ids.size()), L = latent();
    values.resize(static_cast<std::size_t>(n * L));
    unit.resize(static_cast<std::size_t>(n * L));
    parallel_for(n, n * L > 32768, [&](index_t i) {
      const T* row = memory_.data() + slot_ids[static_cast<std::size_t>(i)] * L;
      ops::convert_to_bf16_fast(values.data() + i * L, row, L);
      const T inv = ops::inverse_norm(row, L);  // normalize_rows_serial's scale
      bf16* u = unit.data() + i * L;
      for (index_t l = 0; l < L; ++l) u[l] = to_bf16(row[l] * inv);
    });
    return n;
  }

  /// The written slots' numbers, in slot order.
  void list_written(std::vector<index_t>& slot_ids) const {
    slot_ids.clear();
    for (index_t s = 0; s < slots(); ++s)
      if (is_written(s)) slot_ids.push_back(s);
  }

  // Read access for inspection and checkpoints.
  const Tensor<T>& memory() const { return memory_; }                       // (S, L)
  const std::vector<std::int64_t>& writes() const { return writes_; }       // (K)
  const std::vector<std::int64_t>& source_index() const { return source_index_; }  // (S), -1 if unwritten
  const std::vector<std::int64_t>& source_token() const { return source_token_; }  // (S), -1: whole image

  /// Restores the whole state (checkpoint load); shapes must match the bank.
  void restore(const Tensor<T>& memory, const std::vector<std::int64_t>& writes,
               const std::vector<std::int64_t>* source_index = nullptr,
               const std::vector<std::int64_t>* source_token = nullptr) {
    check_shape(memory, memory_.shape(), "memory bank");
    VHMN_CHECK(writes.size() == writes_.size(),
               "memory bank write counters have " << writes.size() << " entries, expected " << writes_.size());
    for (auto w : writes) VHMN_CHECK(w >= 0, "memory bank write counter is negative (" << w << ")");
    memory_ = memory;
    writes_ = writes;
    if (source_index) {
      VHMN_CHECK(source_index->size() == source_index_.size(), "memory bank provenance has the wrong length");
      source_index_ = *source_index;
    } else {
      std::fill(source_index_.begin(), source_index_.end(), -1);
    }
    if (source_token) {
      VHMN_CHECK(source_token->size() == source_token_.size(), "memory bank provenance has the wrong length");
      source_token_ = *source_token;
    } else {
      std::fill(source_token_.begin(), source_token_.end(), -1);
    }
  }

  /// Writable access for tools that build banks by hand (tests, imports).
  Tensor<T>& mutable_memory() { return memory_; }
  std::vector<std::int64_t>& mutable_writes() { return writes_; }

 private:
  Tensor<T> memory_;
  std::vector<std::int64_t> writes_;
  std::vector<std::int64_t> source_index_;
  std::vector<std::int64_t> source_token_;
};

}  // namespace vhmn
