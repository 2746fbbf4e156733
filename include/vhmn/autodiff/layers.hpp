// vhmn/autodiff/layers.hpp — the library's layers, and a user's own, on a Tape.
//
// Each function runs a layer's forward now and records its backward:
//   Var x  = tape.leaf(tokens, {B, N, D});
//   Var y  = autodiff::block(tape, model.blocks[0], x);      // HMNBlock
//   auto f = autodiff::backbone(tape, model, images, B);    // whole V-HMN minus head
//   Var s  = autodiff::add(tape, y, f.tokens);               // fan-out is fine
//   Var z  = autodiff::call(tape, my_layer, s);              // user layer
// A user's own layer takes part through call() when it has
//   Shape output_shape(const Shape& in) const;        // y's shape for input shape `in`
//   void forward(T* y, const T* x, const Shape& in);   // writes y (tape-owned)
//   void backward(T* dx, const T* dy, const T* x, const T* y, const Shape& in);
//       // dx += dL/dx (null: not wanted); its parameters' grads +=
//   void collect_params(ParamList<T>& list);           // its Param<T>s (may be none)
// x and y stay valid until the backward, so the layer needs no caches of
// its own and may even be called more than once per graph. A one-element
// output (shape {1}) makes the layer a loss: tape.backward(loss).
#pragma once

#include <algorithm>

#include "vhmn/autodiff/tape.hpp"
#include "vhmn/core/simd.hpp"
#include "vhmn/nn/vhmn_model.hpp"
#include "vhmn/ops/cross_entropy.hpp"

namespace vhmn::autodiff {

namespace detail {
template <class T, class Layer>
bool trainable(Layer& layer, ParamList<T>& scratch) {
  scratch.clear();
  layer.collect_params(scratch);
  return any_trainable(scratch);
}
template <class T, class Layer>
const char* first_name(Layer& layer, ParamList<T>& scratch) {
  scratch.clear();
  layer.collect_params(scratch);
  return scratch.empty() ? "?" : scratch[0]->name.c_str();
}
// collect_params' list and an output shape, reused across calls: no allocation per step
template <class T>
ParamList<T>& param_scratch() {
  thread_local ParamList<T> list;
  return list;
}
inline Shape& shape_scratch() {
  thread_local Shape shape;
  return shape;
}
}  // namespace detail

/// y = a + b, same shapes.
template <class T>
Var add(Tape<T>& tape, Var a, Var b) {
  const index_t n = tape.numel(a);
  VHMN_CHECK(tape.shape(a) == tape.shape(b), "autodiff::add: shapes " << shape_string(tape.shape(a)) << " and "
                                                                       << shape_string(tape.shape(b)) << " differ");
  T* y = tape.buffer(tape.shape(a));
  const T *pa = tape.data(a), *pb = tape.data(b);
  simd::map2(n, pa, pb, y, [](auto u, auto v) { return u + v; });
  return tape.record({a, b}, y, tape.shape(a), false, nullptr, "add", [n](const T* dy, T* const* din) {
    // y = a + b:  da += dy, db += dy
    if (din[0]) simd::add_to(n, dy, din[0]);
    if (din[1]) simd::add_to(n, dy, din[1]);
  });
}

/// A user's own layer (interface above).
template <class T, class Layer>
Var call(Tape<T>& tape, Layer& layer, Var x) {
  const Shape out_shape = layer.output_shape(tape.shape(x));
  T* y = tape.buffer(out_shape);
  layer.forward(y, tape.data(x), tape.shape(x));
  const bool train = detail::trainable<T>(layer, detail::param_scratch<T>());
  struct Ctx {
    Layer* layer;
    Tape<T>* tape;
    Var x;
    const T* y;
  };
  const Ctx ctx{&layer, &tape, x, y};
  return tape.record({x}, y, out_shape, train, nullptr, "user layer", [ctx](const T* dy, T* const* din) {
    ctx.layer->backward(din[0], dy, ctx.tape->data(ctx.x), ctx.y, ctx.tape->shape(ctx.x));
  });
}

/// HMNBlock on tokens x (B, N, D) -> (B, N, D).
template <class T, int D, int L>
Var block(Tape<T>& tape, HMNBlock<T, D, L>& blk, Var x) {
  const Shape& s = tape.shape(x);
  VHMN_CHECK(s.size() == 3 && s[1] == blk.tokens() && s[2] == blk.dim(),
             "autodiff::block: input must be (B, " << blk.tokens() << ", " << blk.dim() << "), got " << shape_string(s));
  const index_t B = s[0], n = tape.numel(x);
  const T* y = blk.forward(tape.data(x), B);
  auto& scratch = detail::param_scratch<T>();
  const bool train = detail::trainable<T>(blk, scratch);
  return tape.record({x}, y, {B, s[1], s[2]}, train, &blk, detail::first_name<T>(blk, scratch),
                     [&blk, &tape, n](const T* dy, T* const* din) {
                       // the block's kernels always write dx: scratch when nobody wants it
                       blk.backward(din[0] ? din[0] : tape.scratch(n), dy);
                     });
}
template <class T, int D, int L>
Var block(Tape<T>& tape, std::unique_ptr<HMNBlock<T, D, L>>& blk, Var x) {
  return block(tape, *blk, x);
}

/// LayerNorm over the last dimension of x (..., D).
template <class T, int D>
Var layer_norm(Tape<T>& tape, LayerNorm<T, D>& ln, Var x) {
  const Shape& s = tape.shape(x);
  VHMN_CHECK(!s.empty() && s.back() == ln.dim(),
             "autodiff::layer_norm: last dimension must be " << ln.dim() << ", got " << shape_string(s));
  const index_t n = tape.numel(x);
  const T* y = ln.forward(tape.data(x), n / ln.dim());
  auto& scratch = detail::param_scratch<T>();
  const bool train = detail::trainable<T>(ln, scratch);
  return tape.record({x}, y, s, train, &ln, detail::first_name<T>(ln, scratch),
                     [&ln, &tape, n](const T* dy, T* const* din) {
                       T* dx = din[0] ? din[0] : tape.scratch(n);
                       ln.backward(dx, dy);
                     });
}

/// AttentionPool: tokens (B, N, D) -> (B, D).
template <class T, int D>
Var attention_pool(Tape<T>& tape, AttentionPool<T, D>& pool, Var x) {
  const Shape& s = tape.shape(x);
  VHMN_CHECK(s.size() == 3 && s[2] == pool.dim(),
             "autodiff::attention_pool: input must be (B, N, " << pool.dim() << "), got " << shape_string(s));
  const index_t B = s[0], n = tape.numel(x);
  const T* z = pool.forward(tape.data(x), B, s[1]);
  auto& scratch = detail::param_scratch<T>();
  const bool train = detail::trainable<T>(pool, scratch);
  return tape.record({x}, z, {B, s[2]}, train, &pool, detail::first_name<T>(pool, scratch),
                     [&pool, &tape, n](const T* dz, T* const* din) {
                       T* dx = din[0] ? din[0] : tape.scratch(n);
                       pool.backward(dx, dz);
                     });
}

/// Linear on x (..., In) -> (..., Out). Stateless, so it may be called more
/// than once per graph (shared weights).
template <class T, int In, int Out>
Var linear(Tape<T>& tape, Linear<T, In, Out>& lin, Var x) {
  const Shape& s = tape.shape(x);
  VHMN_CHECK(!s.empty() && s.back() == lin.in(),
             "autodiff::linear: last dimension must be " << lin.in() << ", got " << shape_string(s));
  const index_t R = tape.numel(x) / lin.in();
  T* y = tape.buffer(R * lin.out());
  const T* px = tape.data(x);
  lin.forward(y, px, R);
  const bool train = !lin.weight.frozen || !lin.bias.frozen;
  Shape& out = detail::shape_scratch();
  out.assign(s.begin(), s.end());
  out.back() = lin.out();
  return tape.record({x}, y, out, train, nullptr, lin.weight.name.c_str(),
                     [&lin, px, R](const T* dy, T* const* din) { lin.backward(din[0], dy, px, R); });
}

/// The V-HMN backbone: images (B, C, H, W) -> tokens after the final norm
/// (B, N, D) and the pooled vector (B, D) (VHMN::forward_features). The
/// model's own head is not used; build yours on these.
template <class T>
struct Features {
  Var tokens, pooled;
};
template <class T, int D, int L, class In>
Features<T> backbone(Tape<T>& tape, VHMN<T, D, L>& model, const In* images, index_t B) {
  const auto f = model.forward_features(images, B);
  auto& scratch = detail::param_scratch<T>();
  scratch.clear();
  model.patch_embed.collect_params(scratch);
  for (auto& b : model.blocks) b->collect_params(scratch);
  model.norm.collect_params(scratch);
  model.pool.collect_params(scratch);
  const bool train = any_trainable(scratch);
  const auto out = tape.record2({}, f.tokens, {f.batch, f.num_tokens, f.dim}, f.pooled, {f.batch, f.dim}, train,
                                &model, "VHMN backbone", [&model](const T* const* dout, T* const*) {
                                  model.backward_features(dout[0], dout[1]);
                                });
  return Features<T>{out[0], out[1]};
}

/// Mean soft-target cross-entropy of logits (B, K) against targets (B, K)
/// (rows sum to 1); a one-element loss value.
template <class T>
Var cross_entropy(Tape<T>& tape, Var logits, const T* targets) {
  const Shape& s = tape.shape(logits);
  VHMN_CHECK(s.size() == 2, "autodiff::cross_entropy: logits must be (B, K), got " << shape_string(s));
  const index_t B = s[0], K = s[1];
  T* probs = tape.buffer(B * K);
  T* loss = tape.buffer(1);
  loss[0] = ops::cross_entropy_forward(probs, tape.data(logits), targets, B, K);
  return tape.record({logits}, loss, {1}, false, nullptr, "cross_entropy",
                     [&tape, probs, targets, B, K](const T* dloss, T* const* din) {
                       if (!din[0]) return;
                       // dlogits += dloss * d(mean loss)/dlogits
                       T* g = tape.scratch(B * K);
                       std::fill(g, g + B * K, T(0));
                       ops::cross_entropy_backward(g, probs, targets, B, K);
                       for (index_t i = 0; i < B * K; ++i) din[0][i] += dloss[0] * g[i];
                     });
}

}  // namespace vhmn::autodiff
