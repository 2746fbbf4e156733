// Fuzzes the image-folder scan (data::load_image_folder): the input bytes
// describe a small directory tree, built afresh in a scratch directory for
// each input: class folders, files with fuzzed names and extensions, empty
// folders, nested folders, FIFOs and symlinks (also dangling or looping).
// Image content is a valid or truncated BMP of at most 16 x 16 pixels, so
// this harness exercises the scan, sorting, labelling, size checks and
// resizing; the decoders themselves are fuzzed by fuzz_image.cpp.
// Invariant: an accepted data set is consistent (sizes, labels, names).
#include <sys/stat.h>

#include "fuzz_common.hpp"
#include "vhmn/data/image_folder.hpp"

namespace {

namespace fs = std::filesystem;

/// A 24-bit BMP of w x h pixels (bottom-up rows padded to 4 bytes).
vhmn_fuzz::Bytes bmp(int w, int h, std::uint8_t seed) {
  const int row = (3 * w + 3) / 4 * 4;
  const std::uint32_t data_size = static_cast<std::uint32_t>(row * h), file_size = 54 + data_size;
  vhmn_fuzz::Bytes b = {'B', 'M'};
  auto le32 = [&](std::uint32_t v) {
    for (int s = 0; s < 32; s += 8) b.push_back(static_cast<std::uint8_t>(v >> s));
  };
  auto le16 = [&](std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  le32(file_size);
  le32(0);
  le32(54);
  le32(40);
  le32(static_cast<std::uint32_t>(w));
  le32(static_cast<std::uint32_t>(h));
  le16(1);
  le16(24);
  le32(0);
  le32(data_size);
  le32(2835);
  le32(2835);
  le32(0);
  le32(0);
  for (std::uint32_t i = 0; i < data_size; ++i) b.push_back(static_cast<std::uint8_t>(seed + 7 * i));
  return b;
}

std::string name_from(vhmn_fuzz::Reader& r) {
  static const char* const ext[] = {".png", ".jpg", ".JPEG", ".bmp", ".BMP", ".txt", "", ".png.bak"};
  static const char alphabet[] = "abAB0_.- ";
  std::string n;
  const int len = 1 + r.byte() % 4;
  for (int i = 0; i < len; ++i) n += alphabet[r.byte() % (sizeof alphabet - 1)];
  if (n == "." || n == "..") n = "x";
  return n + ext[r.byte() % 8];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhmn;
  const fs::path root = vhmn_fuzz::scratch_dir("image_folder") / "root";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root);
  vhmn_fuzz::Reader r{data, size};
  data::ImageFolderOptions opt;
  const std::uint8_t mode = r.byte();
  opt.channels = (mode & 1) ? 3 : 1;
  opt.resize = (mode & 2) != 0;
  if (mode & 4) opt.height = opt.width = 1 + (mode >> 4) % 8;
  std::vector<fs::path> dirs;
  for (int op = 0; op < 24 && r.n > 0; ++op) {
    const std::uint8_t kind = r.byte() % 8;
    const fs::path parent = dirs.empty() || kind == 0 ? root : dirs[r.byte() % dirs.size()];
    const fs::path p = parent / name_from(r);
    // Never write through what is already there: fopen on an earlier FIFO
    // would block this harness itself.
    if (kind >= 2 && fs::exists(fs::symlink_status(p, ec))) continue;
    switch (kind) {
      case 0:
      case 1:  // a folder (a class at the top level, ignored below it)
        fs::create_directories(p, ec);
        if (!ec) dirs.push_back(p);
        break;
      case 2:
      case 3:
      case 4: {  // a whole image
        const int w = 1 + r.byte() % 16, h = 1 + r.byte() % 16;
        const vhmn_fuzz::Bytes b = bmp(w, h, r.byte());
        if (std::FILE* f = std::fopen(p.c_str(), "wb")) {
          std::fwrite(b.data(), 1, b.size(), f);
          std::fclose(f);
        }
        break;
      }
      case 5: {  // a truncated or damaged image
        vhmn_fuzz::Bytes b = bmp(1 + r.byte() % 16, 1 + r.byte() % 16, 0);
        b.resize(r.byte() % (b.size() + 1));
        // Damage any byte but width and height (offsets 18-25): a huge
        // declared size is a decoder matter (fuzz_image.cpp and the pixel
        // limit), and stb would spend seconds decoding it here.
        if (!b.empty() && (r.byte() & 1)) {
          const std::size_t at = r.byte() % b.size();
          if (at < 18 || at >= 26) b[at] ^= r.byte();
        }
        if (std::FILE* f = std::fopen(p.c_str(), "wb")) {
          std::fwrite(b.data(), 1, b.size(), f);
          std::fclose(f);
        }
        break;
      }
      case 6:  // a FIFO nobody writes to
        ::mkfifo(p.c_str(), 0600);
        break;
      case 7: {  // a symlink: to a folder, to itself, or dangling
        const std::uint8_t t = r.byte() % 3;
        const fs::path target = t == 0 ? (dirs.empty() ? root : dirs[0]) : t == 1 ? p : parent / "nowhere";
        fs::create_symlink(target, p, ec);
        break;
      }
    }
  }
  vhmn_fuzz::tolerate_errors([&] {
    const data::Dataset ds = data::load_image_folder(root.string(), opt);
    vhmn_fuzz::expect(ds.size > 0 && ds.classes > 0 && ds.class_names.size() == static_cast<std::size_t>(ds.classes),
                      "inconsistent classes");
    vhmn_fuzz::expect(ds.labels.size() == static_cast<std::size_t>(ds.size) &&
                          ds.pixels.size() == static_cast<std::size_t>(ds.size) * static_cast<std::size_t>(ds.image_numel()),
                      "inconsistent sizes");
    for (std::int32_t y : ds.labels) vhmn_fuzz::expect(y >= 0 && y < ds.classes, "label out of range");
  });
  return 0;
}
