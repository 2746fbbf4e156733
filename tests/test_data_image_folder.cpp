// Image folders (PNG/BMP written by the test), resizing, channel conversion,
// their error messages — and stb_image used by the "user" in the same
// translation unit as vhmn's private copy.
#include <doctest/doctest.h>

#include "test_data_util.hpp"
#include "vhmn/data/image_folder.hpp"
#include "vhmn/data/resize.hpp"

// The user's own stb_image, implementation included, after vhmn's: vhmn's
// copy must neither clash with it nor leak its configuration into it.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_STATIC
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

using namespace vhmn_test_data;
using vhmn::Error;
using vhmn::index_t;
namespace vd = vhmn::data;

namespace {
Bytes pattern(int c, int h, int w, int seed) {
  Bytes px(static_cast<std::size_t>(c * h * w));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(seed * 37 + i * 11);
  return px;
}
}  // namespace

TEST_CASE("data: resize_bilinear is exact at the same size and keeps constants") {
  const Bytes img = pattern(2, 5, 7, 1);
  Bytes out(img.size());
  vd::resize_bilinear(img.data(), 2, 5, 7, out.data(), 5, 7);
  CHECK(out == img);
  const Bytes flat(3 * 9 * 13, 77);
  for (auto [h, w] : {std::pair<index_t, index_t>{4, 4}, {20, 31}, {9, 1}, {1, 13}}) {
    Bytes r(static_cast<std::size_t>(3 * h * w));
    vd::resize_bilinear(flat.data(), 3, 9, 13, r.data(), h, w);
    CHECK(std::all_of(r.begin(), r.end(), [](std::uint8_t v) { return v == 77; }));
  }
  // Shrinking by 2 widens the triangle to +-2 input pixels (antialiasing):
  // output 0 (centre 1.0) reads inputs 0, 1, 2 with weights 3/7, 3/7, 1/7.
  const Bytes step = {0, 0, 210, 210};
  Bytes half(2);
  vd::resize_bilinear(step.data(), 1, 1, 4, half.data(), 1, 2);
  CHECK(half == Bytes{30, 180});
  // Enlarging a 1x2 ramp interpolates monotonically between the two values.
  const Bytes ramp = {0, 200};
  Bytes wide(8);
  vd::resize_bilinear(ramp.data(), 1, 1, 2, wide.data(), 1, 8);
  CHECK(wide.front() == 0);
  CHECK(wide.back() == 200);
  CHECK(std::is_sorted(wide.begin(), wide.end()));
  CHECK_THROWS_WITH_AS(vd::resize_bilinear(ramp.data(), 1, 1, 2, wide.data(), 0, 8), doctest::Contains("bad sizes"),
                       Error);
}

TEST_CASE("data: an image folder of PNG and BMP files, resized and converted") {
  TempDir dir("imgfolder");
  const Bytes cat_a = pattern(3, 4, 4, 1), cat_b = pattern(3, 4, 4, 2), dog = Bytes(8 * 8, 90);
  write_bytes(dir / "cat/a.png", png(4, 4, 3, cat_a));
  write_bytes(dir / "cat/b.BMP", bmp_rgb(4, 4, cat_b));  // extension case does not matter
  write_bytes(dir / "dog/c.png", png(8, 8, 1, dog));     // grey, 8x8: resized, replicated to RGB
  write_text(dir / "dog/notes.txt", "not an image");     // ignored
  write_text(dir / ".cache/x.png", "ignored: hidden folder");

  vd::ImageFolderOptions opt;
  opt.height = opt.width = 4;
  const vd::Dataset ds = vd::load_image_folder(dir.path.string(), opt);
  ds.validate();
  CHECK(ds.size == 3);
  CHECK(ds.classes == 2);
  CHECK(ds.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(ds.labels == std::vector<std::int32_t>{0, 0, 1});
  CHECK(ds.source_index == std::vector<std::int64_t>{0, 1, 2});
  CHECK(std::equal(cat_a.begin(), cat_a.end(), ds.image(0)));  // PNG: exact, planar
  CHECK(std::equal(cat_b.begin(), cat_b.end(), ds.image(1)));  // BMP: bottom-up BGR undone
  CHECK(std::all_of(ds.image(2), ds.image(2) + 48, [](std::uint8_t v) { return v == 90; }));

  // One channel: RGB becomes stb's grey, (77 R + 150 G + 29 B) >> 8.
  opt.channels = 1;
  const vd::Dataset grey = vd::load_image_folder(dir.path.string(), opt);
  CHECK(grey.channels == 1);
  for (int p = 0; p < 16; ++p) {
    const int r = cat_a[static_cast<std::size_t>(p)], g = cat_a[static_cast<std::size_t>(16 + p)],
              b = cat_a[static_cast<std::size_t>(32 + p)];
    CHECK(grey.image(0)[p] == (77 * r + 150 * g + 29 * b) >> 8);
  }

  // The user's own stb_image (included above) decodes the same file; vhmn's copy is separate.
  const Bytes file = vd::read_file(dir / "cat/a.png");
  int w = 0, h = 0, n = 0;
  stbi_uc* px = stbi_load_from_memory(file.data(), static_cast<int>(file.size()), &w, &h, &n, 3);
  REQUIRE(px != nullptr);
  CHECK(w == 4);
  CHECK(h == 4);
  CHECK(px[3 * 5 + 1] == cat_a[16 + 5]);  // pixel 5, green
  stbi_image_free(px);
}

TEST_CASE("data: image folder sizes: first image's size, or an error without resizing") {
  TempDir dir("imgsize");
  write_bytes(dir / "a/1.png", png(6, 5, 3, pattern(3, 5, 6, 1)));
  write_bytes(dir / "b/2.png", png(6, 5, 3, pattern(3, 5, 6, 2)));
  const vd::Dataset ds = vd::load_image_folder(dir.path.string());
  CHECK(ds.height == 5);
  CHECK(ds.width == 6);
  write_bytes(dir / "b/3.png", png(4, 4, 3, pattern(3, 4, 4, 3)));
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string()),
                       doctest::Contains((dir / "b/3.png" + "' is 4x4 (width x height), expected 6x5").c_str()), Error);
  vd::ImageFolderOptions opt;
  opt.height = 5;
  opt.width = 6;
  opt.resize = false;
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string(), opt), doctest::Contains("resizing is off"), Error);
  opt.resize = true;
  CHECK(vd::load_image_folder(dir.path.string(), opt).size == 3);
}

TEST_CASE("data: bad image folders fail with the folder or file name") {
  TempDir dir("imgbad");
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir / "nope"), doctest::Contains("does not exist"), Error);
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string()), doctest::Contains("has no class sub-folders"),
                       Error);
  write_bytes(dir / "a/1.png", png(2, 2, 1, Bytes(4, 1)));
  write_text(dir / "b/readme.txt", "no images here");
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string()),
                       doctest::Contains(("empty class folder '" + (dir / "b") + "'").c_str()), Error);
  std::filesystem::remove_all(dir / "b");
  write_text(dir / "a/2.jpg", "this is not a JPEG");
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string()),
                       doctest::Contains(("cannot decode image '" + (dir / "a/2.jpg") + "'").c_str()), Error);
  vd::ImageFolderOptions opt;
  opt.channels = 4;
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string(), opt), doctest::Contains("channels must be 1 or 3"),
                       Error);
  opt.channels = 3;
  opt.height = 4;
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string(), opt), doctest::Contains("both height and width"),
                       Error);
}
