// Helpers shared by tests/test_data_*.cpp: a scratch directory, writers for
// small CIFAR / IDX / gzip / BMP / PNG files, and where the real data lives.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "vhmn/core/rng.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/gzip.hpp"

namespace vhmn_test_data {

using Bytes = std::vector<std::uint8_t>;

/// A fresh directory under the system temp dir, removed when it goes out of scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    // A name no concurrent run of the tests shares (only the name is random).
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("vhmn_test_" + tag + "_" + std::to_string(rd()) + std::to_string(rd() % 1000));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, Bytes(text.begin(), text.end()));
}

inline void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
inline void put_le32(Bytes& b, std::uint32_t v) {
  for (int s = 0; s < 32; s += 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
inline void put_le16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}

/// A raw deflate stream made of stored (uncompressed) blocks of at most `block` bytes.
inline Bytes deflate_stored(const Bytes& data, std::size_t block = 65535) {
  Bytes out;
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min(block, data.size() - pos);
    const bool last = pos + n == data.size();
    out.push_back(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored); the rest of the byte is padding
    put_le16(out, static_cast<std::uint32_t>(n));
    put_le16(out, static_cast<std::uint32_t>(~n & 0xFFFFu));
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
               data.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < data.size());
  return out;
}

/// A gzip file of `data` with stored deflate blocks; `flags` may add the
/// optional header fields FHCRC (2), FEXTRA (4), FNAME (8), FCOMMENT (16).
inline Bytes gzip_stored(const Bytes& data, std::uint8_t flags = 0, std::size_t block = 65535) {
  Bytes out = {0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3};
  if (flags & 4) {
    put_le16(out, 4);
    out.insert(out.end(), {'x', 'y', 0, 0});
  }
  if (flags & 8) {
    const std::string name = "images.idx";
    out.insert(out.end(), name.begin(), name.end());
    out.push_back(0);
  }
  if (flags & 16) {
    const std::string comment = "written by vhmn tests";
    out.insert(out.end(), comment.begin(), comment.end());
    out.push_back(0);
  }
  if (flags & 2) put_le16(out, vhmn::data::crc32(out.data(), out.size()) & 0xFFFFu);
  const Bytes body = deflate_stored(data, block);
  out.insert(out.end(), body.begin(), body.end());
  put_le32(out, vhmn::data::crc32(data.data(), data.size()));
  put_le32(out, static_cast<std::uint32_t>(data.size()));
  return out;
}

/// IDX image file: magic 0x00000803, count, rows, cols, pixels.
inline Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels) {
  Bytes b;
  put_be32(b, 0x00000803u);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

/// IDX label file: magic 0x00000801, count, labels.
inline Bytes idx_labels(const Bytes& labels) {
  Bytes b;
  put_be32(b, 0x00000801u);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

/// A 32x32 CIFAR pixel block whose bytes are a function of (record id, position).
inline Bytes cifar_pixels(int id) {
  Bytes px(3072);
  for (int i = 0; i < 3072; ++i) px[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id * 7 + i * 13);
  return px;
}

/// CIFAR records: `label_bytes` copies of each label (CIFAR-100: coarse = fine) + pixels.
inline Bytes cifar_records(const std::vector<int>& labels, int first_id, int label_bytes = 1) {
  Bytes b;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    for (int k = 0; k < label_bytes; ++k)
      b.push_back(static_cast<std::uint8_t>(label_bytes == 2 && k == 0 ? 0 : labels[r]));
    const Bytes px = cifar_pixels(first_id + static_cast<int>(r));
    b.insert(b.end(), px.begin(), px.end());
  }
  return b;
}

/// 24-bit uncompressed BMP of planar RGB pixels [3, h, w].
inline Bytes bmp_rgb(int w, int h, const Bytes& chw) {
  const int row = (3 * w + 3) / 4 * 4;
  Bytes b = {'B', 'M'};
  put_le32(b, static_cast<std::uint32_t>(54 + row * h));
  put_le32(b, 0);
  put_le32(b, 54);
  put_le32(b, 40);
  put_le32(b, static_cast<std::uint32_t>(w));
  put_le32(b, static_cast<std::uint32_t>(h));  // positive: rows stored bottom-up
  put_le16(b, 1);
  put_le16(b, 24);
  for (int i = 0; i < 6; ++i) put_le32(b, 0);
  for (int y = h - 1; y >= 0; --y) {
    for (int x = 0; x < w; ++x)
      for (int c = 2; c >= 0; --c) b.push_back(chw[static_cast<std::size_t>((c * h + y) * w + x)]);  // BGR
    for (int p = 3 * w; p < row; ++p) b.push_back(0);
  }
  return b;
}

/// 8-bit PNG (colour type 0 grey or 2 RGB) of planar pixels [channels, h, w],
/// its zlib stream made of stored deflate blocks.
inline Bytes png(int w, int h, int channels, const Bytes& chw) {
  Bytes raw;  // scanlines, each prefixed with filter type 0
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) raw.push_back(chw[static_cast<std::size_t>((c * h + y) * w + x)]);
  }
  Bytes z = {0x78, 0x01};
  const Bytes body = deflate_stored(raw);
  z.insert(z.end(), body.begin(), body.end());
  std::uint32_t a = 1, s = 0;  // Adler-32
  for (std::uint8_t v : raw) {
    a = (a + v) % 65521;
    s = (s + a) % 65521;
  }
  put_be32(z, (s << 16) | a);

  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const Bytes& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    Bytes td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    put_be32(out, vhmn::data::crc32(td.data(), td.size()));
  };
  Bytes ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(w));
  put_be32(ihdr, static_cast<std::uint32_t>(h));
  ihdr.insert(ihdr.end(), {8, static_cast<std::uint8_t>(channels == 3 ? 2 : 0), 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", z);
  chunk("IEND", {});
  return out;
}

/// Root of the shared data sets: $VHMN_DATA_DIR, else the build's
/// VHMN_SHARED_DATA_DIR; empty when neither is set.
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("VHMN_DATA_DIR")) return env;
#ifdef VHMN_SHARED_DATA_DIR
  return VHMN_SHARED_DATA_DIR;
#else
  return "";
#endif
}

/// Fashion-MNIST's directory: $VHMN_FASHION_MNIST_DIR, else the Debian package's.
inline std::string fashion_mnist_dir() {
  if (const char* env = std::getenv("VHMN_FASHION_MNIST_DIR")) return env;
  return "/usr/share/datasets/fashion-mnist";
}

/// A synthetic data set: `per_class[c]` images of class c, random pixels.
inline vhmn::data::Dataset synthetic(const std::vector<vhmn::index_t>& per_class, vhmn::index_t C, vhmn::index_t H,
                                     vhmn::index_t W, std::uint64_t seed = 1) {
  vhmn::data::Dataset ds;
  ds.channels = C;
  ds.height = H;
  ds.width = W;
  ds.classes = static_cast<vhmn::index_t>(per_class.size());
  ds.name = "synthetic";
  vhmn::Rng rng(seed);
  // Interleave the classes so class members are not contiguous.
  std::vector<vhmn::index_t> left = per_class;
  for (bool any = true; any;) {
    any = false;
    for (std::size_t c = 0; c < left.size(); ++c)
      if (left[c] > 0) {
        --left[c];
        any = true;
        ds.labels.push_back(static_cast<std::int32_t>(c));
      }
  }
  ds.size = static_cast<vhmn::index_t>(ds.labels.size());
  ds.pixels.resize(static_cast<std::size_t>(ds.size * C * H * W));
  for (auto& p : ds.pixels) p = static_cast<std::uint8_t>(rng.below(256));
  for (vhmn::index_t i = 0; i < ds.size; ++i) ds.source_index.push_back(1000 + i);  // distinct from positions
  for (std::size_t c = 0; c < per_class.size(); ++c) ds.class_names.push_back("c" + std::to_string(c));
  return ds;
}

}  // namespace vhmn_test_data
