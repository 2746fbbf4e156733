// vhmn/core/tensor.hpp — a dense, contiguous, row-major buffer with a shape.
//
// What this represents: an owning N-d array of T, last dimension fastest
// (the layout of a contiguous PyTorch tensor). It is deliberately plain:
// kernels take raw pointers plus explicit sizes, llm.c style; the shape is
// for checking and for checkpoints.
// Ensures: storage is 64-byte aligned (SIMD and Eigen friendly); resize()
// keeps the allocation when it already fits, so workspaces reused with the
// same shape allocate nothing in the steady state.
#pragma once

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"

namespace vhmn {

/// Minimal 64-byte aligned allocator (std::vector-compatible).
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::size_t alignment = 64;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n == 0) return nullptr;
    void* p = ::operator new(n * sizeof(T), std::align_val_t(alignment));
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (p) ::operator delete(p, std::align_val_t(alignment));
  }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};

using Shape = std::vector<index_t>;

inline index_t shape_numel(const Shape& shape) {
  index_t n = 1;
  for (index_t d : shape) n *= d;
  return n;
}

inline std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

template <class T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;
  explicit Tensor(Shape shape) { resize(std::move(shape)); }
  Tensor(std::initializer_list<index_t> shape) { resize(Shape(shape)); }

  /// Sets the shape; keeps the allocation if large enough. New elements are zero.
  void resize(Shape shape) {
    for (index_t d : shape) VHMN_CHECK(d >= 0, "negative tensor dimension in " << shape_string(shape));
    shape_ = std::move(shape);
    data_.resize(static_cast<std::size_t>(shape_numel(shape_)));
  }
  /// Same, from a brace list: reuses the shape's storage, so resizing a
  /// workspace to the shape it already has allocates nothing.
  void resize(std::initializer_list<index_t> shape) {
    for (index_t d : shape) VHMN_CHECK(d >= 0, "negative tensor dimension in " << shape_string(Shape(shape)));
    shape_.assign(shape.begin(), shape.end());
    data_.resize(static_cast<std::size_t>(shape_numel(shape_)));
  }
  /// Sets the shape and zero-fills.
  void resize_zero(Shape shape) {
    resize(std::move(shape));
    zero();
  }
  void resize_zero(std::initializer_list<index_t> shape) {
    resize(shape);
    zero();
  }
  void zero() { std::fill(data_.begin(), data_.end(), T(0)); }
  void fill(T v) { std::fill(data_.begin(), data_.end(), v); }

  const Shape& shape() const { return shape_; }
  index_t dim(std::size_t i) const { return shape_.at(i); }
  std::size_t rank() const { return shape_.size(); }
  index_t numel() const { return static_cast<index_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T& operator[](index_t i) { return data_[static_cast<std::size_t>(i)]; }
  const T& operator[](index_t i) const { return data_[static_cast<std::size_t>(i)]; }
  T* begin() { return data(); }
  T* end() { return data() + numel(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + numel(); }

  /// Reinterprets the same elements under another shape of equal size.
  void reshape(Shape shape) {
    VHMN_CHECK(shape_numel(shape) == numel(), "cannot reshape " << shape_string(shape_) << " to "
                                                                << shape_string(shape));
    shape_ = std::move(shape);
  }

  /// Element-wise converted copy (e.g. float weights to double).
  template <class U>
  Tensor<U> cast() const {
    Tensor<U> out(shape_);
    for (index_t i = 0; i < numel(); ++i) out[i] = static_cast<U>((*this)[i]);
    return out;
  }

 private:
  Shape shape_;
  std::vector<T, AlignedAllocator<T>> data_;
};

/// Fails with a message naming `what` unless `t` has exactly `expected` shape.
template <class T>
void check_shape(const Tensor<T>& t, const Shape& expected, const std::string& what) {
  VHMN_CHECK(t.shape() == expected, what << " has shape " << shape_string(t.shape()) << ", expected "
                                         << shape_string(expected));
}

}  // namespace vhmn
