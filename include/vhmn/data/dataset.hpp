// vhmn/data/dataset.hpp — an in-memory labelled image data set.
//
// What this represents: `size` images of `channels` x `height` x `width`
// 8-bit pixels stored planar (CHW, like CIFAR's records and PyTorch tensors),
// one integer label each, plus where every image came from.
// Ensures (for what the readers return, and checked by validate()):
//   pixels.size() == size * channels * height * width      // [size, C, H, W]
//   labels.size() == source_index.size() == size, 0 <= label < classes
//   class_names.size() == classes
// source_index[i] is the index of image i in the original file(s) — for a
// data set split over several files (CIFAR-10's five training batches) the
// index in their concatenation. subset() carries it along, so a sample of a
// 10% or long-tailed subset still names its original image; the model's
// memory bank records it as provenance.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"

namespace vhmn {
namespace data {

/// Which half of a data set a reader loads.
enum class Split { Train, Test };

inline const char* split_name(Split s) { return s == Split::Train ? "train" : "test"; }

struct Dataset {
  index_t size = 0, channels = 0, height = 0, width = 0, classes = 0;
  std::vector<std::uint8_t> pixels;         // [size, C, H, W]
  std::vector<std::int32_t> labels;         // [size]
  std::vector<std::int64_t> source_index;   // [size] index in the original file(s)
  std::vector<std::string> class_names;     // [classes]
  std::string name;                         // e.g. "cifar10-train"

  /// Pixels per image, C*H*W.
  index_t image_numel() const { return channels * height * width; }
  /// First pixel of image i ([C, H, W], planar).
  const std::uint8_t* image(index_t i) const {
    return pixels.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(image_numel());
  }

  /// Images per class, [classes].
  std::vector<index_t> class_counts() const {
    std::vector<index_t> counts(static_cast<std::size_t>(classes), 0);
    for (std::int32_t y : labels) ++counts[static_cast<std::size_t>(y)];
    return counts;
  }

  /// Positions (into this data set) of the images of class c, in order.
  std::vector<index_t> indices_of_class(std::int32_t c) const {
    std::vector<index_t> out;
    for (index_t i = 0; i < size; ++i)
      if (labels[static_cast<std::size_t>(i)] == c) out.push_back(i);
    return out;
  }

  /// The images at `indices` (positions into this data set, any order,
  /// repeats allowed), keeping their labels and source_index.
  Dataset subset(const std::vector<index_t>& indices) const {
    Dataset out;
    out.size = static_cast<index_t>(indices.size());
    out.channels = channels;
    out.height = height;
    out.width = width;
    out.classes = classes;
    out.class_names = class_names;
    out.name = name;
    const std::size_t per = static_cast<std::size_t>(image_numel());
    out.pixels.resize(indices.size() * per);
    out.labels.resize(indices.size());
    out.source_index.resize(indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const index_t i = indices[k];
      VHMN_CHECK(i >= 0 && i < size, "subset of '" << name << "': index " << i << " out of range [0, " << size
                                                    << ")");
      const std::uint8_t* src = image(i);
      std::copy(src, src + per, out.pixels.begin() + static_cast<std::ptrdiff_t>(k * per));
      out.labels[k] = labels[static_cast<std::size_t>(i)];
      out.source_index[k] = source_index[static_cast<std::size_t>(i)];
    }
    return out;
  }

  /// Fails with a message naming the data set unless the invariants above hold.
  void validate() const {
    VHMN_CHECK(size >= 0 && channels > 0 && height > 0 && width > 0 && classes > 0,
               "data set '" << name << "' has bad dimensions: size " << size << ", C " << channels << ", H "
                            << height << ", W " << width << ", classes " << classes);
    VHMN_CHECK(pixels.size() == static_cast<std::size_t>(size * image_numel()),
               "data set '" << name << "' holds " << pixels.size() << " pixel bytes, expected "
                            << size * image_numel());
    VHMN_CHECK(labels.size() == static_cast<std::size_t>(size) && source_index.size() == labels.size(),
               "data set '" << name << "' has " << labels.size() << " labels and " << source_index.size()
                            << " source indices for " << size << " images");
    VHMN_CHECK(class_names.size() == static_cast<std::size_t>(classes),
               "data set '" << name << "' has " << class_names.size() << " class names for " << classes
                            << " classes");
    for (std::size_t i = 0; i < labels.size(); ++i)
      VHMN_CHECK(labels[i] >= 0 && labels[i] < classes,
                 "data set '" << name << "': image " << i << " has label " << labels[i] << ", outside [0, "
                              << classes << ")");
  }
};

/// Source indices 0, 1, ..., n-1 (what a freshly read file gets).
inline std::vector<std::int64_t> iota_source_index(index_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace data
}  // namespace vhmn
