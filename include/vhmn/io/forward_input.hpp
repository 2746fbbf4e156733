// vhmn/io/forward_input.hpp — the input file of `vhmn forward`, checked.
//
// What this represents: a safetensors file holding `images` [B, C, H, W]
// (normalised, any float or exactly representable integer dtype) and,
// optionally, `labels` [B] (integers), for a model of config `c`.
// Ensures: `images` exists with C, H, W those of the model and B >= 1, every
// value is finite, and `labels` (when present) has shape [B] with every label
// in [0, classes); otherwise a vhmn::Error names the file and the tensor.
// Allocation is bounded by the file: images are only converted once their
// shape matched a tensor the file really holds.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/io/safetensors.hpp"
#include "vhmn/nn/model_config.hpp"

namespace vhmn {
namespace io {

template <class T>
struct ForwardInput {
  index_t batch = 0;                 // B
  Tensor<T> images;                  // (B, C, H, W)
  std::vector<std::int64_t> labels;  // (B), empty when the file has none
};

/// Checks and converts a `vhmn forward` input file for a model of config `c`.
template <class T>
ForwardInput<T> parse_forward_input(const SafetensorsFile& input, const ModelConfig& c, const std::string& source) {
  const RawTensor* raw_images = input.find("images");
  VHMN_CHECK(raw_images, source << ": no tensor named 'images'");
  const Shape want_tail{c.channels, c.image, c.image};
  VHMN_CHECK(raw_images->shape.size() == 4 && Shape(raw_images->shape.begin() + 1, raw_images->shape.end()) == want_tail &&
                 raw_images->shape[0] > 0,
             source << ": 'images' has shape " << shape_string(raw_images->shape) << ", the model needs [B, "
                    << c.channels << ", " << c.image << ", " << c.image << "] with B >= 1");
  ForwardInput<T> in;
  in.batch = raw_images->shape[0];
  in.images = to_tensor<T>(*raw_images);
  for (index_t i = 0; i < in.images.numel(); ++i)
    VHMN_CHECK(std::isfinite(static_cast<double>(in.images[i])),
               source << ": 'images' holds a non-finite value at element " << i);
  if (const RawTensor* raw_labels = input.find("labels")) {
    VHMN_CHECK(raw_labels->shape == Shape{in.batch}, source << ": 'labels' has shape " << shape_string(raw_labels->shape)
                                                            << ", expected [" << in.batch << "]");
    in.labels = to_int64_vector(*raw_labels);
    for (index_t b = 0; b < in.batch; ++b) {
      const std::int64_t y = in.labels[static_cast<std::size_t>(b)];
      VHMN_CHECK(y >= 0 && y < c.classes,
                 source << ": label " << y << " of sample " << b << " is outside [0, " << c.classes << ")");
    }
  }
  return in;
}

}  // namespace io
}  // namespace vhmn
