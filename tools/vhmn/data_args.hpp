// tools/vhmn/data_args.hpp — `--data KIND --data-dir DIR`: which data set to load.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "args.hpp"

#include <vhmn/data/cifar.hpp>
#include <vhmn/data/idx.hpp>
#include <vhmn/data/image_folder.hpp>

namespace vhmn::cli {

inline const char* kDataHelp =
    "  --data       fashion-mnist | mnist | cifar10 | cifar100 | folder\n"
    "  --data-dir   where the files are. Without it the first existing folder of\n"
    "               $VHMN_DATA/NAME, ~/.local/share/vhmn/NAME ($XDG_DATA_HOME/vhmn/NAME) and\n"
    "               /usr/share/datasets/NAME is used, NAME being fashion-mnist, mnist,\n"
    "               cifar-10-batches-bin or cifar-100-binary (Debian's dataset-fashion-mnist\n"
    "               installs the last); $VHMN_DATA_DIR still names a CIFAR-10 folder.\n"
    "               folder: DIR/<class>/*.png|jpg|bmp, with DIR/train and DIR/test used as\n"
    "               the splits when they exist; an image declaring more than\n"
    "               $VHMN_MAX_PIXELS pixels (default 67108864) is refused before decoding\n";

/// The folder name a data set has under $VHMN_DATA and the standard locations.
inline std::string data_folder_name(const std::string& kind) {
  if (kind == "cifar10") return "cifar-10-batches-bin";
  if (kind == "cifar100") return "cifar-100-binary";
  return kind;
}

/// Where --data KIND looks without --data-dir, in order (kDataHelp).
inline std::vector<std::string> data_dir_candidates(const std::string& kind) {
  namespace fs = std::filesystem;
  const std::string name = data_folder_name(kind);
  std::vector<std::string> out;
  if (const char* root = std::getenv("VHMN_DATA"); root && *root) out.push_back((fs::path(root) / name).string());
  if (kind == "cifar10")
    if (const char* env = std::getenv("VHMN_DATA_DIR"); env && *env) out.push_back(env);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    out.push_back((fs::path(xdg) / "vhmn" / name).string());
  else if (const char* home = std::getenv("HOME"); home && *home)
    out.push_back((fs::path(home) / ".local/share/vhmn" / name).string());
  out.push_back("/usr/share/datasets/" + name);
  return out;
}

/// --data-dir, else the first existing candidate; fails naming every folder tried.
inline std::string default_data_dir(const std::string& kind) {
  VHMN_USAGE_CHECK(kind != "folder", "--data folder needs --data-dir DIR");
  VHMN_USAGE_CHECK(kind == "fashion-mnist" || kind == "mnist" || kind == "cifar10" || kind == "cifar100",
                   "unknown --data '" << kind << "' (known: fashion-mnist, mnist, cifar10, cifar100, folder)");
  std::string tried;
  for (const std::string& dir : data_dir_candidates(kind)) {
    if (std::filesystem::is_directory(dir)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir;
  }
  VHMN_FAIL("--data " << kind << ": no --data-dir given and none of the default folders exists (tried " << tried
                      << "); pass --data-dir DIR or set VHMN_DATA to the folder holding " << data_folder_name(kind));
}

/// --data-dir when given, else default_data_dir().
inline std::string data_dir_option(const Args& args, const std::string& kind) {
  return args.has("data-dir") ? args.str("data-dir", "") : default_data_dir(kind);
}

/// "clothes" for --data-dir /x/clothes/ (a folder data set's name in messages).
inline std::string folder_display_name(const std::string& dir) {
  const std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();
  return name.empty() ? dir : name;
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
    // "clothes/train", not just "train": messages name the user's folder
    out.name = folder_display_name(dir) + (root == dir ? "" : split == data::Split::Train ? "/train" : "/test");
  } else {
    throw UsageError("unknown --data '" + kind + "' (known: fashion-mnist, mnist, cifar10, cifar100, folder)");
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
