// vhmn/data/image_folder.hpp — a data set from root/<class>/<image> files.
//
// What this reads: every sub-folder of `root` is a class (sorted by name, so
// label 0 is the first name in byte order, as torchvision's ImageFolder);
// inside it every .png/.jpg/.jpeg/.bmp file (extension case-insensitive,
// other files ignored, sorted by file name) is an image, decoded by
// vhmn/data/image_decode.hpp (libpng / libjpeg where built with them, else
// stb_image; the format from the file's bytes; files declaring more than
// the pixel limit refused before decoding), converted to the requested
// channel count (grey -> RGB replicates; RGB -> grey is stb's
// (77 R + 150 G + 29 B) >> 8; alpha is dropped) and resized to
// height x width (vhmn/data/resize.hpp).
// source_index is the position in that sorted enumeration.
// Ensures: a missing root, a root without class folders, a class folder
// without images, an unreadable image, or (when resizing is off) an image of
// another size fails with the file's or folder's name.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/file.hpp"
#include "vhmn/data/image_decode.hpp"
#include "vhmn/data/resize.hpp"

namespace vhmn {
namespace data {

struct ImageFolderOptions {
  /// Target size. Both 0: the first image's size, which every image must then have.
  index_t height = 0, width = 0;
  /// 1 (grey) or 3 (RGB).
  index_t channels = 3;
  /// false: an image whose size differs from height x width is an error.
  bool resize = true;
  /// Largest width x height of one file before decoding; 0: max_image_pixels().
  std::uint64_t max_pixels = 0;
};

/// Decodes one image file to planar [channels, H, W] uint8; fails naming the
/// file. max_pixels 0: max_image_pixels().
inline std::vector<std::uint8_t> read_image_file(const std::string& path, index_t channels, index_t& height,
                                                 index_t& width, std::uint64_t max_pixels = 0) {
  VHMN_CHECK(channels == 1 || channels == 3, "read_image_file: channels must be 1 or 3, got " << channels);
  const std::vector<std::uint8_t> bytes = read_file(path);
  const DecodedImage img =
      decode_image(bytes.data(), bytes.size(), channels, path, max_pixels ? max_pixels : max_image_pixels());
  height = img.height;
  width = img.width;
  std::vector<std::uint8_t> chw(img.pixels.size());
  const std::size_t hw = static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height);
  const std::size_t C = static_cast<std::size_t>(channels);
  for (std::size_t p = 0; p < hw; ++p)
    for (std::size_t c = 0; c < C; ++c) chw[c * hw + p] = img.pixels[p * C + c];  // HWC -> CHW
  return chw;
}

namespace detail {
inline bool is_image_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

/// Entries of a directory; errors are reported as vhmn::Error, never as
/// std::filesystem_error (the range-for form would throw from operator++).
inline std::vector<std::filesystem::directory_entry> list_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::directory_entry> out;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(*it);
  VHMN_CHECK(!ec, "image folder: cannot list '" << dir.string() << "' (" << ec.message() << ")");
  return out;
}
}  // namespace detail

/// Loads root/<class>/*.{png,jpg,jpeg,bmp} as a labelled data set.
inline Dataset load_image_folder(const std::string& root, const ImageFolderOptions& opt = {}) {
  namespace fs = std::filesystem;
  VHMN_CHECK(opt.channels == 1 || opt.channels == 3, "image folder '" << root << "': channels must be 1 or 3, got "
                                                                       << opt.channels);
  VHMN_CHECK((opt.height == 0) == (opt.width == 0) && opt.height >= 0 && opt.width >= 0,
             "image folder '" << root << "': give both height and width, or neither (got " << opt.height << "x"
                              << opt.width << ")");
  std::error_code ec;
  VHMN_CHECK(fs::is_directory(root, ec), "image folder '" << root << "' does not exist or is not a directory");

  std::vector<std::string> classes;
  for (const fs::directory_entry& e : detail::list_directory(root)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec) && !name.empty() && name[0] != '.') classes.push_back(name);
  }
  VHMN_CHECK(!classes.empty(), "image folder '" << root << "' has no class sub-folders");
  std::sort(classes.begin(), classes.end());

  // Enumerate first: every class folder must hold images before any is decoded.
  std::vector<std::pair<std::string, std::int32_t>> files;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const fs::path dir = fs::path(root) / classes[c];
    std::vector<std::string> names;
    for (const fs::directory_entry& e : detail::list_directory(dir))
      if (e.is_regular_file(ec) && detail::is_image_extension(e.path())) names.push_back(e.path().string());
    VHMN_CHECK(!names.empty(),
               "empty class folder '" << dir.string() << "': no .png, .jpg, .jpeg or .bmp images in it");
    std::sort(names.begin(), names.end());
    for (std::string& n : names) files.emplace_back(std::move(n), static_cast<std::int32_t>(c));
  }

  Dataset ds;
  ds.channels = opt.channels;
  ds.height = opt.height;
  ds.width = opt.width;
  ds.classes = static_cast<index_t>(classes.size());
  ds.class_names = classes;
  ds.name = fs::path(root).filename().string();
  if (ds.name.empty()) ds.name = fs::path(root).parent_path().filename().string();  // "root/" has no filename
  std::vector<std::uint8_t> resized;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string& path = files[i].first;
    index_t h = 0, w = 0;
    std::vector<std::uint8_t> img = read_image_file(path, opt.channels, h, w, opt.max_pixels);
    if (ds.height == 0) {  // size taken from the first image
      ds.height = h;
      ds.width = w;
      ds.pixels.reserve(files.size() * static_cast<std::size_t>(ds.image_numel()));
    }
    const bool same = h == ds.height && w == ds.width;
    VHMN_CHECK(same || (opt.resize && opt.height > 0),
               "image '" << path << "' is " << w << "x" << h << " (width x height), expected " << ds.width << "x"
                         << ds.height << (opt.height > 0 ? " (resizing is off)" : " (the first image's size)"));
    if (!same) {
      resized.resize(static_cast<std::size_t>(ds.image_numel()));
      resize_bilinear(img.data(), ds.channels, h, w, resized.data(), ds.height, ds.width);
      img.swap(resized);
    }
    ds.pixels.insert(ds.pixels.end(), img.begin(), img.end());
    ds.labels.push_back(files[i].second);
    ds.source_index.push_back(static_cast<std::int64_t>(i));
  }
  ds.size = static_cast<index_t>(files.size());
  return ds;
}

}  // namespace data
}  // namespace vhmn
