// Image decoding (vhmn/data/image_decode.hpp): PNG of every colour type and
// depth, interlaced, and JPEG decode to pixels known from how the test made
// them; truncated, corrupt and hostile files (the stb Huffman overflow,
// decompression bombs) fail with the file's name; the pixel limit.
//
// The PNG files are written here by hand (stored deflate blocks, Adam7 by
// hand), so their pixels do not depend on any decoder. The JPEG files are
// written with libjpeg's compressor at quality 100 with flat 8x8 blocks,
// which every decoder returns within +-2 of the block's colour.
#include <doctest/doctest.h>

#include <cstdlib>

#include "test_data_util.hpp"
#include "vhmn/data/image_decode.hpp"
#include "vhmn/data/image_folder.hpp"

using namespace vhmn_test_data;
using vhmn::Error;
using vhmn::index_t;
namespace vd = vhmn::data;

namespace {

/// A PNG of `samples` ([h, w, samples per pixel] values of `depth` bits;
/// palette images hold indices), optionally Adam7-interlaced.
struct PngSpec {
  int w = 0, h = 0, colour = 2, depth = 8;
  bool interlaced = false;
  std::vector<std::uint16_t> samples;
  Bytes palette, trns;  // PLTE (RGB triples) and tRNS chunks, when not empty
};

int samples_per_pixel(int colour) { return colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : 4; }

/// Filter-0 scanlines of the pixels (x0 + k dx, y0 + j dy): one pass of Adam7, or the whole image.
void append_scanlines(Bytes& raw, const PngSpec& s, int x0, int y0, int dx, int dy) {
  const int spp = samples_per_pixel(s.colour);
  for (int y = y0; y < s.h; y += dy) {
    if (x0 >= s.w) return;  // an empty pass has no scanlines at all
    raw.push_back(0);
    unsigned acc = 0;
    int bits = 0;
    for (int x = x0; x < s.w; x += dx)
      for (int c = 0; c < spp; ++c) {
        const std::uint16_t v = s.samples[static_cast<std::size_t>((y * s.w + x) * spp + c)];
        if (s.depth == 16) {
          raw.push_back(static_cast<std::uint8_t>(v >> 8));
          raw.push_back(static_cast<std::uint8_t>(v));
        } else {
          acc = (acc << s.depth) | v;
          bits += s.depth;
          if (bits == 8) raw.push_back(static_cast<std::uint8_t>(acc)), acc = 0, bits = 0;
        }
      }
    if (bits) raw.push_back(static_cast<std::uint8_t>(acc << (8 - bits)));  // pad the last byte
  }
}

Bytes png_file(const PngSpec& s) {
  Bytes raw;
  if (s.interlaced) {
    const int pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                            {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    for (const auto& p : pass) append_scanlines(raw, s, p[0], p[1], p[2], p[3]);
  } else {
    append_scanlines(raw, s, 0, 0, 1, 1);
  }
  Bytes z = {0x78, 0x01};
  const Bytes body = deflate_stored(raw);
  z.insert(z.end(), body.begin(), body.end());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (std::uint8_t v : raw) a = (a + v) % 65521, b = (b + a) % 65521;
  put_be32(z, (b << 16) | a);

  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const Bytes& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    Bytes td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    put_be32(out, vhmn::data::crc32(td.data(), td.size()));
  };
  Bytes ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(s.w));
  put_be32(ihdr, static_cast<std::uint32_t>(s.h));
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(s.depth), static_cast<std::uint8_t>(s.colour), 0, 0,
                           static_cast<std::uint8_t>(s.interlaced ? 1 : 0)});
  chunk("IHDR", ihdr);
  if (!s.palette.empty()) chunk("PLTE", s.palette);
  if (!s.trns.empty()) chunk("tRNS", s.trns);
  chunk("IDAT", z);
  chunk("IEND", {});
  return out;
}

/// Samples that differ from pixel to pixel and channel to channel, below 2^depth.
std::vector<std::uint16_t> pattern(int w, int h, int spp, int depth) {
  std::vector<std::uint16_t> v(static_cast<std::size_t>(w * h * spp));
  const unsigned mask = depth == 16 ? 0xFFFFu : (1u << depth) - 1;
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint16_t>((i * 40503u + 17u) & mask);
  return v;
}

std::uint8_t grey_of(int r, int g, int b) { return static_cast<std::uint8_t>((77 * r + 150 * g + 29 * b) >> 8); }

vd::DecodedImage decode(const Bytes& file, index_t channels, const std::string& name = "test.img") {
  return vd::decode_image(file.data(), file.size(), channels, name);
}

/// A BMP header (BITMAPINFOHEADER, 24-bit) declaring w x h, followed by `payload` bytes of pixels.
Bytes bmp_header_only(std::uint32_t w, std::uint32_t h, std::size_t payload) {
  Bytes b = {'B', 'M'};
  put_le32(b, static_cast<std::uint32_t>(54 + payload));
  put_le32(b, 0);
  put_le32(b, 54);
  put_le32(b, 40);
  put_le32(b, w);
  put_le32(b, h);
  put_le16(b, 1);
  put_le16(b, 24);
  for (int i = 0; i < 6; ++i) put_le32(b, 0);
  b.resize(b.size() + payload, 0x55);
  return b;
}

}  // namespace

TEST_CASE("image decode: which decoder this build uses") {
  MESSAGE("PNG: " << std::string(vd::image_decoder_name(vd::ImageFormat::Png))
                  << ", JPEG: " << std::string(vd::image_decoder_name(vd::ImageFormat::Jpeg))
                  << ", BMP: " << std::string(vd::image_decoder_name(vd::ImageFormat::Bmp)));
#if VHMN_HAS_SYSTEM_CODECS
  CHECK(std::string(vd::image_decoder_name(vd::ImageFormat::Png)) == "libpng");
  CHECK(std::string(vd::image_decoder_name(vd::ImageFormat::Jpeg)) == "libjpeg");
#endif
  CHECK(std::string(vd::image_decoder_name(vd::ImageFormat::Bmp)) == "stb_image");
}

TEST_CASE("image decode: 8-bit PNG grey, RGB, RGBA, grey+alpha, to 1 and 3 channels") {
  const int w = 5, h = 3;
  for (int colour : {0, 2, 6, 4}) {
    CAPTURE(colour);
    PngSpec s;
    s.w = w, s.h = h, s.colour = colour;
    const int spp = samples_per_pixel(colour);
    s.samples = pattern(w, h, spp, 8);
    const Bytes file = png_file(s);
    const vd::DecodedImage rgb = decode(file, 3), grey = decode(file, 1);
    REQUIRE(rgb.width == w);
    REQUIRE(rgb.height == h);
    REQUIRE(rgb.channels == 3);
    REQUIRE(rgb.pixels.size() == static_cast<std::size_t>(w * h * 3));
    REQUIRE(grey.pixels.size() == static_cast<std::size_t>(w * h));
    for (int p = 0; p < w * h; ++p) {
      const std::uint16_t* in = &s.samples[static_cast<std::size_t>(p * spp)];
      const bool colourful = spp >= 3;
      for (int c = 0; c < 3; ++c)
        CHECK(rgb.pixels[static_cast<std::size_t>(3 * p + c)] == in[colourful ? c : 0]);  // alpha dropped
      CHECK(grey.pixels[static_cast<std::size_t>(p)] == (colourful ? grey_of(in[0], in[1], in[2]) : in[0]));
    }
  }
}

TEST_CASE("image decode: 16-bit PNG keeps the high byte; 1-, 2-, 4-bit grey scale to 0..255") {
  PngSpec s;
  s.w = 4, s.h = 4, s.colour = 2, s.depth = 16;
  s.samples = pattern(4, 4, 3, 16);
  const vd::DecodedImage img = decode(png_file(s), 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) CHECK(img.pixels[i] == s.samples[i] >> 8);

  for (int depth : {1, 2, 4}) {
    CAPTURE(depth);
    PngSpec g;
    g.w = 7, g.h = 3, g.colour = 0, g.depth = depth;  // 7 wide: rows end in a partly used byte
    g.samples = pattern(7, 3, 1, depth);
    const vd::DecodedImage out = decode(png_file(g), 1);
    const int scale = 255 / ((1 << depth) - 1);
    for (std::size_t i = 0; i < out.pixels.size(); ++i) CHECK(out.pixels[i] == g.samples[i] * scale);
  }
}

TEST_CASE("image decode: palette PNG (8- and 2-bit, with tRNS) expands to its colours") {
  Bytes palette;
  for (int i = 0; i < 4; ++i)
    palette.insert(palette.end(), {static_cast<std::uint8_t>(60 * i + 10), static_cast<std::uint8_t>(200 - 50 * i),
                                   static_cast<std::uint8_t>(33 * i)});
  for (int depth : {8, 2}) {
    CAPTURE(depth);
    PngSpec s;
    s.w = 6, s.h = 2, s.colour = 3, s.depth = depth;
    s.palette = palette;
    s.trns = {255, 0, 128};  // alpha of the first three entries: dropped in the output
    s.samples = pattern(6, 2, 1, 2);
    const vd::DecodedImage img = decode(png_file(s), 3);
    for (int p = 0; p < 12; ++p)
      for (int c = 0; c < 3; ++c)
        CHECK(img.pixels[static_cast<std::size_t>(3 * p + c)] == palette[3u * s.samples[static_cast<std::size_t>(p)] +
                                                                          static_cast<std::size_t>(c)]);
  }
}

TEST_CASE("image decode: interlaced (Adam7) PNG equals the same image not interlaced") {
  for (const std::pair<int, int>& size : {std::pair<int, int>{11, 7}, {1, 1}, {3, 9}, {16, 16}}) {
    const int w = size.first, h = size.second;
    CAPTURE(w);
    CAPTURE(h);
    PngSpec s;
    s.w = w, s.h = h, s.colour = 2, s.interlaced = true;
    s.samples = pattern(w, h, 3, 8);
    const vd::DecodedImage img = decode(png_file(s), 3);
    REQUIRE(img.pixels.size() == s.samples.size());
    for (std::size_t i = 0; i < img.pixels.size(); ++i) CHECK(img.pixels[i] == s.samples[i]);
  }
}

TEST_CASE("image decode: truncated, corrupt and unknown files fail naming the file") {
  PngSpec s;
  s.w = 8, s.h = 8, s.colour = 2;
  s.samples = pattern(8, 8, 3, 8);
  const Bytes good = png_file(s);
  // Cut inside the pixel data (IDAT), and inside the header.
  for (std::size_t keep : {good.size() - 40, std::size_t(30), std::size_t(8)}) {
    CAPTURE(keep);
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    CHECK_THROWS_WITH_AS(decode(cut, 3, "dir/cut.png"), doctest::Contains("cannot decode image 'dir/cut.png'"), Error);
  }
  Bytes bad_crc = good;
  bad_crc[40] ^= 0x5A;  // inside IDAT: its CRC no longer matches
  CHECK_THROWS_WITH_AS(decode(bad_crc, 3, "crc.png"), doctest::Contains("cannot decode image 'crc.png'"), Error);
  CHECK_THROWS_WITH_AS(decode(Bytes{'G', 'I', 'F', '8', '9', 'a'}, 3, "x.png"),
                       doctest::Contains("cannot decode image 'x.png': not a PNG, JPEG or BMP file (it starts with "
                                         "47 49 46 38)"),
                       Error);
  CHECK_THROWS_WITH_AS(decode(Bytes{}, 3, "empty.jpg"), doctest::Contains("'empty.jpg': not a PNG, JPEG or BMP file"),
                       Error);
  CHECK_THROWS_WITH_AS(decode(good, 2, "two.png"), doctest::Contains("channels must be 1 or 3, got 2"), Error);
  // A BMP whose pixel data stops early.
  const Bytes bmp = bmp_rgb(4, 4, Bytes(48, 7));
  const Bytes bmp_cut(bmp.begin(), bmp.begin() + 40);
  CHECK_THROWS_WITH_AS(decode(bmp_cut, 3, "cut.bmp"), doctest::Contains("cannot decode image 'cut.bmp'"), Error);

  // Through read_image_file: the path is in the message.
  TempDir dir("imgdecode");
  write_bytes(dir / "cut.png", Bytes(good.begin(), good.begin() + 60));
  index_t hh = 0, ww = 0;
  CHECK_THROWS_WITH_AS(vd::read_image_file(dir / "cut.png", 3, hh, ww),
                       doctest::Contains(("cannot decode image '" + (dir / "cut.png") + "'").c_str()), Error);
}

TEST_CASE("image decode: decompression bombs are refused from their header (defect 4)") {
  // The header of a PNG declaring 18900 x 18900 RGB (the 1 MB file of the
  // issue decodes to 1.07 GB, 2.1 GB with stb's copy of the inflated data).
  Bytes bomb = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  {
    Bytes td = {'I', 'H', 'D', 'R'};
    put_be32(td, 18900);
    put_be32(td, 18900);
    td.insert(td.end(), {8, 2, 0, 0, 0});
    put_be32(bomb, 13);
    bomb.insert(bomb.end(), td.begin(), td.end());
    put_be32(bomb, vhmn::data::crc32(td.data(), td.size()));
  }
  CHECK_THROWS_WITH_AS(decode(bomb, 3, "bomb.png"),
                       doctest::Contains("image 'bomb.png' declares 18900x18900 pixels (357210000), more than the "
                                         "limit of 67108864"),
                       Error);
  // The BMP files the fuzzer found: 218 and 812 bytes, 3.2 GB / 31 s and 5.6 GB / 111 s to decode before.
  CHECK_THROWS_WITH_AS(decode(bmp_header_only(524304, 1040, 218 - 54), 3, "wide.bmp"),
                       doctest::Contains("image 'wide.bmp' declares 524304x1040 pixels (545276160)"), Error);
  CHECK_THROWS_WITH_AS(decode(bmp_header_only(28, 15990800, 812 - 54), 1, "tall.bmp"),
                       doctest::Contains("image 'tall.bmp' declares 28x15990800 pixels (447742400)"), Error);
  // The same files as kept in tests/fuzz/regressions/image/ (the PNG: its first 33 bytes).
  const std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path() / "fuzz/regressions/image";
  for (const char* name : {"bomb-18900x18900-header.png", "bomb-524304x1040.bmp", "bomb-28x15990800.bmp"}) {
    CAPTURE(name);
    index_t h = 0, w = 0;
    CHECK_THROWS_WITH_AS(vd::read_image_file((dir / name).string(), 3, h, w),
                         doctest::Contains("more than the limit of 67108864"), Error);
  }
}

TEST_CASE("image decode: the pixel limit is settable, by call, by setting and by VHMN_MAX_PIXELS") {
  PngSpec s;
  s.w = 20, s.h = 10, s.colour = 0;
  s.samples = pattern(20, 10, 1, 8);
  const Bytes file = png_file(s);
  CHECK(vd::decode_image(file.data(), file.size(), 1, "a.png", 200).pixels.size() == 200);  // exactly the limit
  CHECK_THROWS_WITH_AS(vd::decode_image(file.data(), file.size(), 1, "a.png", 199),
                       doctest::Contains("declares 20x10 pixels (200), more than the limit of 199"), Error);
  const Bytes bmp = bmp_rgb(4, 4, Bytes(48, 9));  // the stb path checks first too
  CHECK_THROWS_WITH_AS(vd::decode_image(bmp.data(), bmp.size(), 3, "b.bmp", 15),
                       doctest::Contains("declares 4x4 pixels (16), more than the limit of 15"), Error);

  CHECK(vd::max_image_pixels() == vd::kDefaultMaxImagePixels);
  ::setenv("VHMN_MAX_PIXELS", "150", 1);
  CHECK(vd::max_image_pixels() == 150);
  CHECK_THROWS_WITH_AS(decode(file, 1), doctest::Contains("more than the limit of 150"), Error);
  vd::set_max_image_pixels(1000);  // the setting (the CLI's --max-pixels) wins over the environment
  CHECK(decode(file, 1).pixels.size() == 200);
  vd::set_max_image_pixels(0);
  ::setenv("VHMN_MAX_PIXELS", "12x", 1);
  CHECK_THROWS_WITH_AS(vd::max_image_pixels(), doctest::Contains("VHMN_MAX_PIXELS must be a positive number of "
                                                                 "pixels, got '12x'"),
                       Error);
  ::unsetenv("VHMN_MAX_PIXELS");
  CHECK_THROWS_WITH_AS(vd::parse_max_image_pixels("-5", "--max-pixels"),
                       doctest::Contains("--max-pixels must be a positive number of pixels, got '-5'"), Error);
  CHECK(vd::parse_max_image_pixels("268435456", "--max-pixels") == 268435456u);

  // The image folder option.
  TempDir dir("imglimit");
  write_bytes(dir / "a/1.png", file);
  vd::ImageFolderOptions opt;
  opt.max_pixels = 100;
  CHECK_THROWS_WITH_AS(vd::load_image_folder(dir.path.string(), opt),
                       doctest::Contains(("image '" + (dir / "a/1.png") + "' declares 20x10").c_str()), Error);
  opt.max_pixels = 0;
  CHECK(vd::load_image_folder(dir.path.string(), opt).size == 1);
}

#if VHMN_HAS_SYSTEM_CODECS
namespace {
/// A JPEG (libjpeg's compressor, quality 100, no chroma subsampling) of
/// interleaved pixels [h, w, channels]. bit_scans >= 0 (grey, progressive):
/// a scan script of 1 + 63 (bit_scans + 1) scans (see the scan-limit test).
Bytes jpeg_file(int w, int h, int channels, const Bytes& hwc, bool progressive = false, int bit_scans = -1) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = channels;
  c.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 100, TRUE);
  for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  std::vector<jpeg_scan_info> script;
  if (progressive && bit_scans < 0) jpeg_simple_progression(&c);
  if (progressive && bit_scans >= 0) {  // grey only: DC, then each AC coefficient bit by bit
    script.push_back({1, {0, 0, 0, 0}, 0, 0, 0, 0});
    for (int k = 1; k < 64; ++k) {
      script.push_back({1, {0, 0, 0, 0}, k, k, 0, bit_scans});
      for (int al = bit_scans - 1; al >= 0; --al) script.push_back({1, {0, 0, 0, 0}, k, k, al + 1, al});
    }
    c.scan_info = script.data();
    c.num_scans = static_cast<int>(script.size());
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(hwc.data() + static_cast<std::size_t>(c.next_scanline) * w * channels);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  Bytes file(out, out + size);
  jpeg_destroy_compress(&c);
  std::free(out);
  return file;
}

/// 16 x 16 pixels in four flat 8 x 8 blocks of the given colours (RGB triples).
Bytes four_blocks(const int (&colour)[4][3], int channels) {
  Bytes px(16 * 16 * static_cast<std::size_t>(channels));
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < channels; ++c)
        px[static_cast<std::size_t>((y * 16 + x) * channels + c)] =
            static_cast<std::uint8_t>(colour[(y / 8) * 2 + x / 8][c]);
  return px;
}
}  // namespace

TEST_CASE("image decode: JPEG (baseline and progressive, RGB and grey) decodes to its blocks' colours") {
  const int colour[4][3] = {{200, 30, 40}, {20, 180, 60}, {30, 60, 220}, {128, 128, 128}};
  for (bool progressive : {false, true}) {
    CAPTURE(progressive);
    const Bytes rgb_px = four_blocks(colour, 3);
    const Bytes file = jpeg_file(16, 16, 3, rgb_px, progressive);
    const vd::DecodedImage img = decode(file, 3, "rgb.jpg");
    REQUIRE(img.width == 16);
    REQUIRE(img.height == 16);
    REQUIRE(img.pixels.size() == rgb_px.size());
    for (std::size_t i = 0; i < rgb_px.size(); ++i) CHECK(std::abs(int(img.pixels[i]) - int(rgb_px[i])) <= 2);
    // Grey from a colour JPEG: its luma, 0.299 R + 0.587 G + 0.114 B.
    const vd::DecodedImage grey = decode(file, 1, "rgb.jpg");
    for (int p = 0; p < 256; ++p) {
      const int* c = colour[(p / 16 / 8) * 2 + (p % 16) / 8];
      const double y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      CHECK(std::abs(grey.pixels[static_cast<std::size_t>(p)] - y) <= 2.5);
    }
    // A grey JPEG, replicated to RGB.
    const Bytes grey_px = four_blocks(colour, 1);
    const vd::DecodedImage g3 = decode(jpeg_file(16, 16, 1, grey_px, progressive), 3, "grey.jpg");
    for (int p = 0; p < 256; ++p)
      for (int c = 0; c < 3; ++c)
        CHECK(std::abs(int(g3.pixels[static_cast<std::size_t>(3 * p + c)]) - int(grey_px[static_cast<std::size_t>(p)])) <=
              2);
  }
}

TEST_CASE("image decode: truncated and corrupt JPEG files fail naming the file") {
  const int colour[4][3] = {{200, 30, 40}, {20, 180, 60}, {30, 60, 220}, {128, 128, 128}};
  const Bytes good = jpeg_file(16, 16, 3, four_blocks(colour, 3));
  REQUIRE(decode(good, 3).pixels.size() == 16u * 16u * 3u);
  for (std::size_t keep : {good.size() - 2, good.size() / 2, std::size_t(100), std::size_t(3)}) {
    CAPTURE(keep);
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    CHECK_THROWS_WITH_AS(decode(cut, 3, "cut.jpg"), doctest::Contains("cannot decode image 'cut.jpg': libjpeg: "), Error);
  }
  Bytes bad_marker = good;
  bad_marker[3] = 0x02;  // the first marker after SOI is no marker
  CHECK_THROWS_WITH_AS(decode(bad_marker, 3, "bad.jpg"), doctest::Contains("cannot decode image 'bad.jpg': libjpeg: "),
                       Error);
  // A progressive grey JPEG whose scan script sends every AC coefficient
  // alone, bit by bit from bit `al`: 1 + 63 (al + 1) valid scans. More than
  // 500 scans is refused (a known CPU-exhaustion input), fewer decode.
  CHECK(decode(jpeg_file(16, 16, 1, four_blocks(colour, 1), true, 5), 1, "379.jpg").pixels.size() == 256u);
  CHECK_THROWS_WITH_AS(decode(jpeg_file(16, 16, 1, four_blocks(colour, 1), true, 9), 1, "631.jpg"),
                       doctest::Contains("cannot decode image '631.jpg': libjpeg: more than 500 progressive scans"),
                       Error);
}

TEST_CASE("image decode: the JPEG that overflows stb's Huffman table is refused cleanly (defect 3)") {
  // SOI, then a DHT whose 16 code-length counts add up to 257 (255 codes of
  // length 1, 2 of length 2): stb_image 2.27 writes h->size[257], one past
  // its 257-byte array (stbi__build_huffman), before it notices; libjpeg
  // checks the counts first ("Bogus Huffman table definition").
  Bytes file = {0xFF, 0xD8, 0xFF, 0xC4};
  const int n = 257;
  const std::uint32_t length = 2 + 1 + 16 + n;
  file.push_back(static_cast<std::uint8_t>(length >> 8));
  file.push_back(static_cast<std::uint8_t>(length));
  file.push_back(0x00);  // class 0 (DC), table 0
  file.push_back(255);
  file.push_back(2);
  for (int i = 2; i < 16; ++i) file.push_back(0);
  for (int i = 0; i < n; ++i) file.push_back(static_cast<std::uint8_t>(i));
  file.insert(file.end(), {0xFF, 0xD9});
  CHECK_THROWS_WITH_AS(decode(file, 3, "huffman.jpg"),
                       doctest::Contains("cannot decode image 'huffman.jpg': libjpeg: Bogus Huffman table definition"),
                       Error);
}

TEST_CASE("image decode: the fuzzer's findings in stb's JPEG decoder are refused cleanly") {
  // tests/fuzz/regressions/image/: inputs that crash the stb_image fallback
  // (fuzz_image -DVHMN_FUZZ_STB), kept so the hardened path is checked on them.
  const std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path() / "fuzz/regressions/image";
  // 546 bytes: SEGV reading out of bounds in stbi__jpeg_huff_decode (progressive AC scan), after 72,914 runs.
  const Bytes segv = vd::read_file((dir / "stb-progressive-ac-segv.jpg").string());
  REQUIRE(segv.size() == 546u);
  CHECK_THROWS_WITH_AS(decode(segv, 3, "segv.jpg"),
                       doctest::Contains("cannot decode image 'segv.jpg': libjpeg: Huffman table 0x00 was not defined"),
                       Error);
  // Eleven more JPEGs that crash the stb fallback in 15 minutes of
  // fuzz_image -DVHMN_FUZZ_STB -fork=1 (heap-buffer-overflow, use-after-free,
  // SEGV; all in stb's JPEG code): each is a clean error here.
  int crashes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string file = e.path().filename().string();
    if (file.rfind("stb-jpeg-crash-", 0) != 0) continue;
    CAPTURE(file);
    ++crashes;
    const Bytes bytes = vd::read_file(e.path().string());
    CHECK_THROWS_WITH_AS(decode(bytes, 3, file), doctest::Contains(("cannot decode image '" + file + "': libjpeg: ").c_str()),
                         Error);
  }
  CHECK(crashes == 11);
  // The Huffman-count overflow of the test above, as a file.
  const Bytes huff = vd::read_file((dir / "stb-huffman-257.jpg").string());
  CHECK_THROWS_WITH_AS(decode(huff, 1, "h.jpg"), doctest::Contains("libjpeg: Bogus Huffman table definition"), Error);
}
#endif  // VHMN_HAS_SYSTEM_CODECS
