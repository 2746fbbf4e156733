// examples/custom_model_tape.cpp — a model of your own composed through the
// autodiff tape: a V-HMN backbone, a head written here (Linear -> a ReLU
// layer of our own -> Linear) and a loss written here (multi-class squared
// hinge). One tape.backward() per step gives every parameter its gradient.
//
//   example_custom_model_tape [STEPS]
//
// Trains on generated 16x16 images of three patterns, so it needs no data.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <vhmn/autodiff/layers.hpp>
#include <vhmn/train/optimizer.hpp>
#include <vhmn/vhmn.hpp>

using namespace vhmn;
using autodiff::Var;

// A layer of our own: the interface autodiff::call() documents.
struct ReLU {
  Shape output_shape(const Shape& in) const { return in; }
  void forward(float* y, const float* x, const Shape& in) {
    for (index_t i = 0; i < shape_numel(in); ++i) y[i] = x[i] > 0 ? x[i] : 0.0f;
  }
  // dx += dy where x > 0
  void backward(float* dx, const float* dy, const float* x, const float*, const Shape& in) {
    if (!dx) return;
    for (index_t i = 0; i < shape_numel(in); ++i) dx[i] += x[i] > 0 ? dy[i] : 0.0f;
  }
  void collect_params(ParamList<float>&) {}
};

// Our own loss: mean over the batch of sum_{k != y} max(0, 1 + z_k - z_y)^2.
struct SquaredHinge {
  const std::int32_t* labels = nullptr;
  Shape output_shape(const Shape&) const { return {1}; }
  void forward(float* loss, const float* z, const Shape& in) {
    const index_t B = in[0], K = in[1];
    double s = 0;
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < K; ++k)
        if (k != labels[b]) s += std::pow(std::max(0.0f, 1 + z[b * K + k] - z[b * K + labels[b]]), 2.0f);
    loss[0] = static_cast<float>(s / double(B));
  }
  // d/dz_k = 2 m / B, d/dz_y = -sum_k 2 m / B, with m = max(0, 1 + z_k - z_y)
  void backward(float* dz, const float* dloss, const float* z, const float*, const Shape& in) {
    const index_t B = in[0], K = in[1];
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < K; ++k) {
        if (k == labels[b]) continue;
        const float g = dloss[0] * 2 * std::max(0.0f, 1 + z[b * K + k] - z[b * K + labels[b]]) / float(B);
        dz[b * K + k] += g;
        dz[b * K + labels[b]] -= g;
      }
  }
  void collect_params(ParamList<float>&) {}
};

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 40;
  try {
    ModelConfig config;
    config.image = 16;
    config.channels = 1;
    config.patch = 4;
    config.dim = config.latent = 16;
    config.depth = 2;
    config.classes = 3;
    config.local_slots = 30;
    config.global_slots = 15;
    VHMN<float> backbone(config, /*seed=*/3);
    backbone.train();
    Linear<float> fc1("my_head.fc1.", config.dim, 32), fc2("my_head.fc2.", 32, config.classes);
    Rng init(4);
    fc1.init(init);
    fc2.init(init);
    ReLU relu;
    SquaredHinge loss_fn;

    // The parameters we train: the backbone's (not its unused head) and ours.
    ParamList<float> params;
    for (Param<float>* p : backbone.parameters())
      if (p->name.rfind("head.", 0) != 0) params.push_back(p);
    fc1.collect_params(params);
    fc2.collect_params(params);
    train::OptimizerOptions oo;
    oo.kind = train::OptimizerKind::AdamW;
    train::Optimizer<float> optimizer(params, oo);

    const index_t B = 24;
    Tensor<float> images({B, 1, 16, 16});
    std::vector<std::int32_t> labels(B);
    std::vector<std::int64_t> ids(B);
    Rng rng(5);
    autodiff::Tape<float> tape;
    double first = 0, last = 0;
    for (int step = 0; step < steps; ++step) {
      // a fresh batch of stripes (0), columns (1) and diagonals (2)
      for (index_t b = 0; b < B; ++b) {
        const int c = static_cast<int>(b % 3);
        labels[b] = c;
        ids[b] = step * B + b;
        const double phase = rng.uniform() * 6.28;
        for (index_t y = 0; y < 16; ++y)
          for (index_t x = 0; x < 16; ++x) {
            const double t = c == 0 ? y : c == 1 ? x : (x + y) * 0.7;
            images[(b * 16 + y) * 16 + x] = static_cast<float>(std::sin(t * 1.3 + phase) + 0.3 * rng.normal());
          }
      }
      loss_fn.labels = labels.data();
      for (Param<float>* p : params) p->grad.zero();
      tape.clear();
      const auto f = autodiff::backbone(tape, backbone, images.data(), B);  // tokens (B,N,D), pooled (B,D)
      const Var h = autodiff::call(tape, relu, autodiff::linear(tape, fc1, f.pooled));
      const Var z = autodiff::linear(tape, fc2, h);
      const Var loss = autodiff::call(tape, loss_fn, z);
      tape.backward(loss);
      optimizer.step(2e-3);
      backbone.remember(labels.data(), ids.data());  // V-HMN's bank writes, after the step
      last = tape.data(loss)[0];
      if (step == 0) first = last;
      if (step % 10 == 0 || step == steps - 1) std::printf("step %3d  squared hinge %.4f\n", step, last);
    }
    std::printf("loss %.4f -> %.4f over %d steps\n", first, last, steps);
    return last < first ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
