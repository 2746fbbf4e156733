// vhmn/core/workspace.hpp — backward workspaces that layers of one model share.
//
// Why: a layer's backward needs scratch buffers (gradients of its
// intermediates) only while its own backward runs. The blocks of a model run
// backward one after another, so block i can use block j's buffers: one set
// instead of `depth` sets (for paper-cifar at batch 64 that is ~100 MB
// instead of ~600 MB of peak memory).
// What this represents: a handle to a W (a plain struct of Tensors). A new or
// copied handle owns a W of its own; share(other) makes this handle use
// other's W from then on.
// Requires: layers that share a W never run backward at the same time.
#pragma once

#include <memory>

namespace vhmn {

template <class W>
class SharedWorkspace {
 public:
  SharedWorkspace() : w_(std::make_shared<W>()) {}
  // A copy is a new layer: it gets buffers of its own, never its source's.
  SharedWorkspace(const SharedWorkspace&) : w_(std::make_shared<W>()) {}
  SharedWorkspace& operator=(const SharedWorkspace&) {
    w_ = std::make_shared<W>();
    return *this;
  }
  SharedWorkspace(SharedWorkspace&&) noexcept = default;
  SharedWorkspace& operator=(SharedWorkspace&&) noexcept = default;

  /// Use other's buffers from now on (this handle's own are released).
  void share(const SharedWorkspace& other) { w_ = other.w_; }
  bool shares_with(const SharedWorkspace& other) const { return w_ == other.w_; }

  W* operator->() const { return w_.get(); }
  W& operator*() const { return *w_; }

 private:
  std::shared_ptr<W> w_;
};

}  // namespace vhmn
