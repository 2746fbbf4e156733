// tools/vhmn/data_args.hpp — `--data KIND --data-dir DIR`: which data set to load.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <vhmn/data/cifar.hpp>
#include <vhmn/data/idx.hpp>
#include <vhmn/data/image_folder.hpp>

namespace vhmn::cli {

inline const char* kDataHelp =
    "  --data       fashion-mnist | mnist | cifar10 | cifar100 | folder\n"
    "  --data-dir   where the files are. Defaults: fashion-mnist: /usr/share/datasets/fashion-mnist\n"
    "               (Debian's dataset-fashion-mnist); cifar10: $VHMN_DATA_DIR or\n"
    "               ../shared/data/cifar-10-batches-bin; folder: DIR/<class>/*.png|jpg|bmp, with\n"
    "               DIR/train and DIR/test used as the splits when they exist; an image declaring\n"
    "               more than $VHMN_MAX_PIXELS pixels (default 67108864) is refused before decoding\n";

inline std::string default_data_dir(const std::string& kind) {
  if (kind == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  if (kind == "cifar10") {
    if (const char* env = std::getenv("VHMN_DATA_DIR")) return env;
    return "../shared/data/cifar-10-batches-bin";
  }
  VHMN_FAIL("--data " << kind << " needs --data-dir");
}

/// Loads one split. For a folder, `image`/`channels` give the size images are
/// resized to (0: keep the first image's size). Returns false for a folder
/// without that split (only "test" can be absent).
inline bool load_split(const std::string& kind, const std::string& dir, data::Split split, data::Dataset& out,
                       index_t image = 0, index_t channels = 3) {
  namespace fs = std::filesystem;
  if (kind == "fashion-mnist") {
    out = data::load_fashion_mnist(dir, split);
  } else if (kind == "mnist") {
    out = data::load_mnist(dir, split);
  } else if (kind == "cifar10") {
    out = data::load_cifar10(dir, split);
  } else if (kind == "cifar100") {
    out = data::load_cifar100(dir, split);
  } else if (kind == "folder") {
    const fs::path sub = fs::path(dir) / (split == data::Split::Train ? "train" : "test");
    std::string root = dir;
    if (fs::is_directory(sub)) {
      root = sub.string();
    } else if (split == data::Split::Test) {
      return false;
    }
    data::ImageFolderOptions opt;
    opt.height = opt.width = image;
    opt.channels = channels;
    out = data::load_image_folder(root, opt);
  } else {
    VHMN_FAIL("unknown --data '" << kind << "' (known: fashion-mnist, mnist, cifar10, cifar100, folder)");
  }
  return true;
}

/// Keeps the first n samples (n <= 0: all). For quick runs and tests.
inline void limit_dataset(data::Dataset& ds, long long n) {
  if (n <= 0 || n >= ds.size) return;
  std::vector<index_t> idx(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  ds = ds.subset(idx);
}

}  // namespace vhmn::cli
