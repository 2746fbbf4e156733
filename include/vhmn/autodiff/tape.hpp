// vhmn/autodiff/tape.hpp — reverse-mode autodiff over layer calls (define by run).
//
// What this represents: the graph of one forward, recorded as it runs, one
// entry per layer or op call. Each entry knows its inputs, its outputs and a
// backward closure; backward(loss) runs the closures in reverse order of the
// calls, giving every value that needs one its gradient.
//   Tape<double> tape;
//   Var x = autodiff::block(tape, block0, tape.leaf(tokens, {B, N, D}));
//   Var y = autodiff::call(tape, my_head, x);        // a user's own layer
//   Var loss = autodiff::call(tape, my_loss, y);      // shape {1}
//   tape.backward(loss);                             // grads in each Param
// The adapters for the library's layers and the interface of a user's own
// layer are in autodiff/layers.hpp.
// Rules:
//   - Every backward closure *accumulates* (+=) into its input gradients,
//     as every kernel in ops/ does, so a value used twice (fan-out, e.g. a
//     residual) simply gets both contributions.
//   - A value needs a gradient when it is a leaf made with requires_grad or
//     the output of a call that has a trainable (not frozen) parameter or an
//     input that needs one. A closure gets null for an input gradient nobody
//     needs (kernels then skip that product), and a call is not run at all
//     when none of its outputs received gradient.
//   - Layers keep the caches their backward reads, so one layer object may
//     be called at most once per graph (checked). Outputs must stay valid
//     until backward: layers own theirs, or the tape holds them (buffer()).
//   - clear() starts the next graph and keeps every buffer: a training loop
//     that records the same graph each step allocates nothing after the
//     first step.
// Requires: backward() once per graph; the loss value holds one element
// (or pass a seed gradient of the root's shape).
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <new>
#include <type_traits>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/core/tensor.hpp"

namespace vhmn::autodiff {

/// A value recorded on a tape: an index into it (cheap to copy).
struct Var {
  index_t id = -1;
  bool valid() const { return id >= 0; }
};

template <class T>
class Tape {
 public:
  static constexpr int kMaxInputs = 4;
  static constexpr int kMaxOutputs = 2;
  static constexpr std::size_t kClosureBytes = 96;

  Tape() = default;
  Tape(const Tape&) = delete;  // closures point at the tape
  Tape& operator=(const Tape&) = delete;

  /// Forgets the recorded graph; keeps every buffer for the next one.
  void clear() {
    n_values_ = 0;
    n_calls_ = 0;
    n_buffers_ = 0;
    backward_done_ = false;
  }

  /// A value the tape did not compute (images, targets, a parameter used as
  /// a value). `data` must stay valid until backward.
  Var leaf(const T* data, std::initializer_list<index_t> shape, bool requires_grad = false) {
    return add_value(data, shape.begin(), shape.end(), requires_grad);
  }
  Var leaf(const T* data, const Shape& shape, bool requires_grad = false) {
    return add_value(data, shape.begin(), shape.end(), requires_grad);
  }

  /// A buffer owned by the tape for an output: the n-th buffer asked for
  /// after clear() reuses the n-th buffer of the previous graph.
  T* buffer(std::initializer_list<index_t> shape) {
    index_t n = 1;
    for (index_t d : shape) n *= d;
    return buffer(n);
  }
  T* buffer(const Shape& shape) { return buffer(shape_numel(shape)); }
  /// The same by element count. Buffers are flat: the shape lives in the value.
  T* buffer(index_t numel) {
    if (buffers_.size() <= static_cast<std::size_t>(n_buffers_)) buffers_.emplace_back();
    Tensor<T>& t = buffers_[static_cast<std::size_t>(n_buffers_++)];
    t.resize({numel});  // keeps its storage when the size is unchanged
    return t.data();
  }

  /// Records one call with one output. `backward(const T* dout, T* const* din)`
  /// accumulates into din[i] (null: input i needs no gradient).
  /// `trainable`: the call has parameters the backward must reach.
  /// `owner`: the layer object (nullptr for a stateless op), checked to be
  /// called once per graph; `name` names it in that error.
  template <class Backward>
  Var record(std::initializer_list<Var> inputs, const T* out, std::initializer_list<index_t> out_shape,
             bool trainable, const void* owner, const char* name, Backward backward) {
    const Var o[1] = {add_output(out, out_shape.begin(), out_shape.end(), inputs, trainable)};
    push_call(inputs, o, 1, owner, name, Single<Backward>{backward});
    return o[0];
  }
  template <class Backward>
  Var record(std::initializer_list<Var> inputs, const T* out, const Shape& out_shape, bool trainable,
             const void* owner, const char* name, Backward backward) {
    const Var o[1] = {add_output(out, out_shape.data(), out_shape.data() + out_shape.size(), inputs, trainable)};
    push_call(inputs, o, 1, owner, name, Single<Backward>{backward});
    return o[0];
  }
  /// The same with two outputs; `backward(const T* const* dout, T* const* din)`.
  template <class Backward>
  std::array<Var, 2> record2(std::initializer_list<Var> inputs, const T* out0, std::initializer_list<index_t> shape0,
                             const T* out1, std::initializer_list<index_t> shape1, bool trainable, const void* owner,
                             const char* name, Backward backward) {
    const Var o[2] = {add_output(out0, shape0.begin(), shape0.end(), inputs, trainable),
                      add_output(out1, shape1.begin(), shape1.end(), inputs, trainable)};
    push_call(inputs, o, 2, owner, name, backward);
    return {o[0], o[1]};
  }

  const T* data(Var v) const { return value(v).data; }
  const Shape& shape(Var v) const { return value(v).shape; }
  index_t numel(Var v) const { return shape_numel(value(v).shape); }
  bool requires_grad(Var v) const { return value(v).requires_grad; }
  /// The gradient backward() gave `v` (shape of v); null if v needs none.
  const T* grad(Var v) const {
    const Value& x = value(v);
    return x.requires_grad && backward_done_ ? grads_[static_cast<std::size_t>(v.id)].data() : nullptr;
  }
  index_t size() const { return n_calls_; }

  /// Scratch for a kernel that cannot skip an input gradient nobody needs:
  /// `n` values, contents undefined, valid until the next scratch() call.
  T* scratch(index_t n) {
    if (discard_.numel() < n) discard_.resize({n});
    return discard_.data();
  }

  /// Reverse pass from a one-element value (a loss): seed gradient 1.
  void backward(Var root) {
    VHMN_CHECK(numel(root) == 1, "autodiff: backward(loss) needs a one-element value, got shape "
                                     << shape_string(shape(root)) << "; pass a seed gradient instead");
    const T one = T(1);
    backward(root, &one);
  }
  /// Reverse pass from `root` with seed gradient `seed` (root's shape).
  void backward(Var root, const T* seed) {
    VHMN_CHECK(!backward_done_, "autodiff: backward() already ran on this graph (its layers' caches are spent); "
                                "clear() the tape and record the forward again");
    VHMN_CHECK(value(root).requires_grad,
               "autodiff: backward from a value that depends on no trainable parameter and no requires_grad leaf");
    backward_done_ = true;
    while (grads_.size() < static_cast<std::size_t>(n_values_)) grads_.emplace_back();
    for (index_t i = 0; i < n_values_; ++i) {
      Value& v = values_[static_cast<std::size_t>(i)];
      v.reached = false;
      if (v.requires_grad) grads_[static_cast<std::size_t>(i)].resize_zero({shape_numel(v.shape)});  // flat
    }
    Tensor<T>& g = grads_[static_cast<std::size_t>(root.id)];
    for (index_t j = 0; j < g.numel(); ++j) g[j] += seed[j];
    values_[static_cast<std::size_t>(root.id)].reached = true;
    for (index_t c = n_calls_ - 1; c >= 0; --c) {
      Call& call = calls_[static_cast<std::size_t>(c)];
      bool any = false;
      const T* dout[kMaxOutputs] = {};
      for (int k = 0; k < call.n_out; ++k) {
        any = any || values_[static_cast<std::size_t>(call.out[k])].reached;
        dout[k] = grads_[static_cast<std::size_t>(call.out[k])].data();
      }
      if (!any) continue;  // nothing downstream of this call reached the root
      T* din[kMaxInputs] = {};
      for (int k = 0; k < call.n_in; ++k) {
        Value& in = values_[static_cast<std::size_t>(call.in[k])];
        if (!in.requires_grad) continue;
        din[k] = grads_[static_cast<std::size_t>(call.in[k])].data();
        in.reached = true;
      }
      call.run(call.closure, dout, din);
    }
  }

 private:
  struct Value {
    const T* data = nullptr;
    Shape shape;
    bool requires_grad = false, reached = false;
  };
  using Thunk = void (*)(const void* closure, const T* const* dout, T* const* din);
  struct Call {
    index_t in[kMaxInputs] = {}, out[kMaxOutputs] = {};
    int n_in = 0, n_out = 0;
    const void* owner = nullptr;
    Thunk run = nullptr;
    alignas(std::max_align_t) unsigned char closure[kClosureBytes];
  };
  template <class F>
  struct Single {
    F f;
    void operator()(const T* const* dout, T* const* din) const { f(dout[0], din); }
  };

  const Value& value(Var v) const {
    VHMN_CHECK(v.id >= 0 && v.id < n_values_, "autodiff: value " << v.id << " is not on this tape (it holds "
                                                                  << n_values_ << "; cleared since?)");
    return values_[static_cast<std::size_t>(v.id)];
  }
  template <class It>
  Var add_value(const T* data, It first, It last, bool requires_grad) {
    VHMN_CHECK(data != nullptr, "autodiff: a value needs data (got a null pointer)");
    if (values_.size() <= static_cast<std::size_t>(n_values_)) values_.emplace_back();
    Value& v = values_[static_cast<std::size_t>(n_values_)];
    v.data = data;
    v.shape.assign(first, last);  // reuses the previous graph's storage
    v.requires_grad = requires_grad;
    return Var{n_values_++};
  }
  Var add_output(const T* data, const index_t* first, const index_t* last, std::initializer_list<Var> inputs,
                 bool trainable) {
    bool needs = trainable;
    for (Var in : inputs) needs = needs || value(in).requires_grad;
    return add_value(data, first, last, needs);
  }
  template <class F>
  void push_call(std::initializer_list<Var> inputs, const Var* outs, int n_out, const void* owner, const char* name,
                 const F& f) {
    static_assert(std::is_trivially_copyable_v<F> && std::is_trivially_destructible_v<F>,
                  "a tape backward closure may capture only pointers, references and sizes");
    static_assert(sizeof(F) <= kClosureBytes && alignof(F) <= alignof(std::max_align_t),
                  "a tape backward closure is too large: capture a pointer to a struct instead");
    VHMN_CHECK(inputs.size() <= static_cast<std::size_t>(kMaxInputs),
               "autodiff: a call takes at most " << kMaxInputs << " inputs, got " << inputs.size());
    if (owner)
      for (index_t c = 0; c < n_calls_; ++c)
        VHMN_CHECK(calls_[static_cast<std::size_t>(c)].owner != owner,
                   "autodiff: layer '" << (name ? name : "?")
                                       << "' called twice on one graph: its forward caches hold only the last call "
                                          "(use a second layer object, or clear() the tape in between)");
    if (calls_.size() <= static_cast<std::size_t>(n_calls_)) calls_.emplace_back();
    Call& c = calls_[static_cast<std::size_t>(n_calls_++)];
    c.n_in = 0;
    for (Var in : inputs) c.in[c.n_in++] = in.id;
    c.n_out = n_out;
    for (int k = 0; k < n_out; ++k) c.out[k] = outs[k].id;
    c.owner = owner;
    ::new (static_cast<void*>(c.closure)) F(f);
    c.run = [](const void* closure, const T* const* dout, T* const* din) {
      (*static_cast<const F*>(closure))(dout, din);
    };
  }

  std::vector<Value> values_;   // grows to the largest graph; entries reused
  std::vector<Call> calls_;
  std::deque<Tensor<T>> grads_;    // per value; deque: addresses stay put as it grows
  std::deque<Tensor<T>> buffers_;  // outputs the tape owns
  Tensor<T> discard_;
  index_t n_values_ = 0, n_calls_ = 0, n_buffers_ = 0;
  bool backward_done_ = false;
};

}  // namespace vhmn::autodiff
