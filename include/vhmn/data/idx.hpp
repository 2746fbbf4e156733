// vhmn/data/idx.hpp — IDX files: MNIST and Fashion-MNIST.
//
// What this reads: the IDX format of LeCun's MNIST files, raw or gzipped
// (decided by the gzip magic, not the file name). Big-endian header:
//   images: magic 0x00000803, count, rows, cols, then count*rows*cols bytes
//   labels: magic 0x00000801, count, then count bytes
// A data set directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally with .gz.
// Images are one channel, so row-major [rows, cols] already is [1, H, W].
// Ensures: a wrong magic number, a file shorter or longer than its header
// says (sizes computed with checked arithmetic, never wrapping), image and label counts that differ, or a label outside [0, classes)
// fails with the file's name.
#pragma once

#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "vhmn/core/checked.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/file.hpp"
// .gz needs stb_image's inflater (data/stb.hpp). Without stb_image.h on the
// include path (e.g. single_include/vhmn/vhmn.hpp alone) raw IDX files are
// still read, and a gzipped one is refused by name.
#if __has_include(<stb_image.h>)
#include "vhmn/data/gzip.hpp"
#define VHMN_HAS_GZIP 1
#else
#define VHMN_HAS_GZIP 0
#endif

namespace vhmn {
namespace data {

namespace detail {
/// The bytes of an IDX file, gunzipped when they start with the gzip magic.
inline std::vector<std::uint8_t> read_idx_bytes(const std::string& path) {
#if VHMN_HAS_GZIP
  return read_file_maybe_gzip(path);
#else
  std::vector<std::uint8_t> bytes = read_file(path);
  VHMN_CHECK(!(bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b),
             "'" << path << "' is gzip-compressed, but this build of vhmn reads no gzip "
                 "(stb_image.h was not on the include path): gunzip it first");
  return bytes;
#endif
}
}  // namespace detail

/// The content of an IDX image file.
struct IdxImages {
  index_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // [count, rows, cols]
};

namespace detail {
inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

/// Checks the magic number and that the body has exactly `body` bytes after `header`.
inline void check_idx(const std::vector<std::uint8_t>& bytes, const std::string& path, std::uint32_t magic,
                      const char* what, std::size_t header) {
  VHMN_CHECK(bytes.size() >= 8, "IDX " << what << " file '" << path << "' is truncated: " << bytes.size()
                                       << " bytes, shorter than its header");
  const std::uint32_t found = be32(bytes.data());
  if (found != magic) {
    std::ostringstream hex;
    hex << std::hex << std::setfill('0') << "0x" << std::setw(8) << found << ", expected 0x" << std::setw(8)
        << magic;
    VHMN_FAIL("IDX " << what << " file '" << path << "' has the wrong magic number " << hex.str());
  }
  VHMN_CHECK(bytes.size() >= header, "IDX " << what << " file '" << path << "' is truncated: " << bytes.size()
                                            << " bytes, shorter than its " << header << "-byte header");
}
}  // namespace detail

/// Parses the (already decompressed) bytes of an IDX image file; `path` names it in errors.
inline IdxImages parse_idx_images(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  detail::check_idx(bytes, path, 0x00000803u, "images", 16);
  IdxImages out;
  out.count = detail::be32(bytes.data() + 4);
  out.rows = detail::be32(bytes.data() + 8);
  out.cols = detail::be32(bytes.data() + 12);
  // Checked: 2^22 images of 2^21 x 2^21 would wrap to 0 bytes in 64 bits.
  std::uint64_t body64 = 0;
  VHMN_CHECK(checked_product({std::uint64_t(out.count), std::uint64_t(out.rows), std::uint64_t(out.cols)}, &body64,
                             bytes.size() - 16),
             "IDX images file '" << path << "' is truncated: its header says " << out.count << " images of "
                                 << out.rows << "x" << out.cols << " (more bytes than the file's " << bytes.size()
                                 << ")");
  const std::size_t body = static_cast<std::size_t>(body64);
  VHMN_CHECK(bytes.size() - 16 == body, "IDX images file '" << path << "' has " << bytes.size() - 16 - body
                                                            << " bytes after the " << out.count
                                                            << " images its header announces");
  VHMN_CHECK(out.rows > 0 && out.cols > 0,
             "IDX images file '" << path << "' has empty images (" << out.rows << "x" << out.cols << ")");
  out.pixels.assign(bytes.begin() + 16, bytes.end());
  return out;
}

/// Reads an IDX unsigned-byte image file (magic 0x00000803), raw or gzipped.
inline IdxImages read_idx_images(const std::string& path) {
  return parse_idx_images(detail::read_idx_bytes(path), path);
}

/// Parses the (already decompressed) bytes of an IDX label file; `path` names it in errors.
inline std::vector<std::int32_t> parse_idx_labels(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  detail::check_idx(bytes, path, 0x00000801u, "labels", 8);
  const std::size_t count = detail::be32(bytes.data() + 4);
  VHMN_CHECK(bytes.size() - 8 >= count, "IDX labels file '" << path << "' is truncated: its header says " << count
                                                            << " labels but it has " << bytes.size() - 8);
  VHMN_CHECK(bytes.size() - 8 == count, "IDX labels file '" << path << "' has " << bytes.size() - 8 - count
                                                            << " bytes after the " << count
                                                            << " labels its header announces");
  return std::vector<std::int32_t>(bytes.begin() + 8, bytes.end());
}

/// Reads an IDX unsigned-byte label file (magic 0x00000801), raw or gzipped.
inline std::vector<std::int32_t> read_idx_labels(const std::string& path) {
  return parse_idx_labels(detail::read_idx_bytes(path), path);
}

/// A data set from an IDX image file and its label file. `class_names` gives
/// the classes (labels must lie in [0, class_names.size())).
inline Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                        std::vector<std::string> class_names, std::string name) {
  IdxImages images = read_idx_images(images_path);
  std::vector<std::int32_t> labels = read_idx_labels(labels_path);
  VHMN_CHECK(static_cast<index_t>(labels.size()) == images.count,
             "'" << images_path << "' has " << images.count << " images but '" << labels_path << "' has "
                 << labels.size() << " labels");
  const index_t classes = static_cast<index_t>(class_names.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    VHMN_CHECK(labels[i] < classes, "'" << labels_path << "' label " << i << " is " << labels[i] << ", outside [0, "
                                        << classes << ")");
  Dataset ds;
  ds.size = images.count;
  ds.channels = 1;
  ds.height = images.rows;
  ds.width = images.cols;
  ds.classes = classes;
  ds.pixels = std::move(images.pixels);
  ds.labels = std::move(labels);
  ds.source_index = iota_source_index(ds.size);
  ds.class_names = std::move(class_names);
  ds.name = std::move(name);
  return ds;
}

namespace detail {
/// `dir/base`, or `dir/base.gz` when only that exists.
inline std::string find_idx_file(const std::string& dir, const std::string& base) {
  const std::string raw = join_path(dir, base), gz = raw + ".gz";
  if (file_exists(raw)) return raw;
  if (file_exists(gz)) return gz;
  VHMN_FAIL("IDX file missing: neither '" << raw << "' nor '" << gz << "' exists");
}

inline Dataset load_idx_dir(const std::string& dir, Split split, std::vector<std::string> names,
                            const std::string& prefix) {
  const std::string stem = split == Split::Train ? "train" : "t10k";
  // Two statements: argument evaluation order is unspecified, and the images
  // file should be the one reported when both are missing.
  const std::string images = find_idx_file(dir, stem + "-images-idx3-ubyte");
  const std::string labels = find_idx_file(dir, stem + "-labels-idx1-ubyte");
  return load_idx(images, labels, std::move(names), prefix + "-" + split_name(split));
}
}  // namespace detail

/// Fashion-MNIST's ten classes, in label order.
inline std::vector<std::string> fashion_mnist_class_names() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

/// MNIST (digits "0".."9") from a directory of IDX files.
inline Dataset load_mnist(const std::string& dir, Split split) {
  return detail::load_idx_dir(dir, split, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, "mnist");
}

/// Fashion-MNIST from a directory of IDX files (Debian: /usr/share/datasets/fashion-mnist).
inline Dataset load_fashion_mnist(const std::string& dir, Split split) {
  return detail::load_idx_dir(dir, split, fashion_mnist_class_names(), "fashion-mnist");
}

}  // namespace data
}  // namespace vhmn
