// vhmn/data/image_decode.hpp — image file bytes -> 8-bit pixels, for files
// from anywhere.
//
// What this represents: the one place vhmn decodes PNG, JPEG and BMP.
// decode_image() takes a file's bytes and returns [height, width, channels]
// uint8 (channels 1 grey or 3 RGB), whichever decoder ran; callers never see
// the decoder.
//
// Which decoder (chosen at compile time, the format by the file's first
// bytes, never by its extension):
//   VHMN_USE_SYSTEM_CODECS defined (CMake's default when libpng and
//   libjpeg(-turbo) are found; link -lpng -ljpeg):
//     PNG  -> libpng, JPEG -> libjpeg-turbo: decoders maintained and fuzzed
//     for hostile input (OSS-Fuzz);
//     BMP  -> stb_image, after its header passed the pixel limit (stb's BMP
//     reader is small; the known stb heap overflows are in its JPEG and PNG
//     code, which this build never runs on images).
//   otherwise (the single-header drop-in, a build without those libraries):
//     stb_image for all three, after the pixel limit. stb_image's own README
//     says it is not meant for untrusted files: this path is for images
//     you made.
//
// The pixel limit (decompression bombs): every decoder first reads only the
// header and fails when width x height exceeds the limit, before allocating
// anything of that size. A 1 MB PNG can declare 18900 x 18900 pixels (2.1 GB
// to decode), a 218-byte BMP 524304 x 1040. The limit is, in this order,
// what set_max_image_pixels() set, else $VHMN_MAX_PIXELS, else
// kDefaultMaxImagePixels (2^26 = 67,108,864: 8192 x 8192 passes). The CLI's
// --max-pixels sets it.
//
// Colour, the same on every path (stb's rules, so a model trained on one
// build reads images alike on the other): grey -> RGB replicates;
// RGB -> grey is (77 R + 150 G + 29 B) >> 8, except that a colour JPEG's grey
// is its decoded luma (Y) channel; alpha is dropped, not composited;
// palettes are expanded; 16-bit samples keep their high byte; gamma and
// colour profiles are ignored. CMYK/YCCK JPEGs are refused on the libjpeg path.
//
// Ensures: a corrupt, truncated, unsupported or oversized file fails with
// vhmn::Error naming the file and what was wrong — libpng's and libjpeg's
// errors (longjmp) are caught here and never end the program. On the libjpeg
// path, warnings that mean the entropy-coded data is damaged (premature end
// of file, bad Huffman code, lost sync) are errors too, as is a progressive
// JPEG of more than 500 scans (a known CPU-exhaustion input).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/data/stb.hpp"

#ifdef VHMN_USE_SYSTEM_CODECS
#if !__has_include(<png.h>) || !__has_include(<jpeglib.h>)
#error "VHMN_USE_SYSTEM_CODECS needs png.h and jpeglib.h (Debian: libpng-dev libjpeg62-turbo-dev)"
#endif
#include <csetjmp>
#include <png.h>
// jpeglib.h uses FILE and size_t without including their headers.
#include <jpeglib.h>
#include <jerror.h>
#define VHMN_HAS_SYSTEM_CODECS 1
#else
#define VHMN_HAS_SYSTEM_CODECS 0
#endif

namespace vhmn {
namespace data {

/// The default pixel limit: 2^26 pixels (8192 x 8192).
inline constexpr std::uint64_t kDefaultMaxImagePixels = std::uint64_t(1) << 26;

namespace detail {
inline std::atomic<std::uint64_t>& max_image_pixels_slot() {
  static std::atomic<std::uint64_t> limit{0};  // 0: not set, use $VHMN_MAX_PIXELS or the default
  return limit;
}
}  // namespace detail

/// Parses a pixel limit (a positive decimal integer); `what` names its source in the error.
inline std::uint64_t parse_max_image_pixels(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  VHMN_CHECK(!text.empty() && text[0] >= '0' && text[0] <= '9' && *end == '\0' && errno == 0 && v > 0,
             what << " must be a positive number of pixels, got '" << text << "'");
  return static_cast<std::uint64_t>(v);
}

/// Sets the pixel limit for every later decode (0: back to $VHMN_MAX_PIXELS or the default).
inline void set_max_image_pixels(std::uint64_t pixels) { detail::max_image_pixels_slot() = pixels; }

/// The pixel limit in force: set_max_image_pixels(), else $VHMN_MAX_PIXELS, else the default.
inline std::uint64_t max_image_pixels() {
  const std::uint64_t set = detail::max_image_pixels_slot();
  if (set) return set;
  if (const char* env = std::getenv("VHMN_MAX_PIXELS"))
    if (*env) return parse_max_image_pixels(env, "VHMN_MAX_PIXELS");
  return kDefaultMaxImagePixels;
}

enum class ImageFormat { Unknown, Png, Jpeg, Bmp };

/// The format the first bytes announce (PNG signature, JPEG SOI marker, "BM").
inline ImageFormat sniff_image_format(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, png_sig, 8) == 0) return ImageFormat::Png;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat::Jpeg;
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat::Bmp;
  return ImageFormat::Unknown;
}

/// The library that decodes `format` in this build.
inline const char* image_decoder_name(ImageFormat format) {
#if VHMN_HAS_SYSTEM_CODECS
  if (format == ImageFormat::Png) return "libpng";
  if (format == ImageFormat::Jpeg) return "libjpeg";
#else
  (void)format;
#endif
  return "stb_image";
}

/// What: a decoded image. Pixels are interleaved, [height, width, channels].
struct DecodedImage {
  index_t height = 0, width = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
};

namespace detail {

/// Fails unless a declared width x height is within the limit; runs before
/// any buffer of that size exists.
inline void check_declared_pixels(std::uint64_t width, std::uint64_t height, std::uint64_t max_pixels,
                                  const std::string& name) {
  VHMN_CHECK(width > 0 && height > 0, "cannot decode image '" << name << "': it declares " << width << "x" << height
                                                              << " pixels");
  // Both sides are below 2^32 (every format stores them in 32 bits): no overflow.
  VHMN_CHECK(width * height <= max_pixels,
             "image '" << name << "' declares " << width << "x" << height << " pixels (" << width * height
                       << "), more than the limit of " << max_pixels
                       << " (a decompression bomb? raise the limit with --max-pixels or VHMN_MAX_PIXELS)");
}

/// Interleaved `from`-channel pixels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)
/// to `to` channels (1 or 3), by stb's rules (see the file comment).
inline void convert_channels(const std::uint8_t* in, int from, std::size_t count, int to, std::uint8_t* out) {
  const std::size_t F = static_cast<std::size_t>(from);
  for (std::size_t p = 0; p < count; ++p, in += F) {
    if (to == 1) {
      out[p] = from >= 3 ? static_cast<std::uint8_t>((77 * in[0] + 150 * in[1] + 29 * in[2]) >> 8) : in[0];
    } else if (from >= 3) {
      out[3 * p] = in[0], out[3 * p + 1] = in[1], out[3 * p + 2] = in[2];
    } else {
      out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = in[0];
    }
  }
}

/// stb_image: header first (stbi_info), then the pixels, converted by stb itself.
inline DecodedImage decode_with_stb(const std::uint8_t* data, std::size_t size, int channels,
                                    std::uint64_t max_pixels, const std::string& name) {
  int w = 0, h = 0;
  std::string why;
  VHMN_CHECK(vhmn::detail::stb_image_info(data, size, w, h, why), "cannot decode image '" << name << "': " << why);
  check_declared_pixels(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h), max_pixels, name);
  DecodedImage img;
  VHMN_CHECK(vhmn::detail::stb_decode_image(data, size, channels, w, h, img.pixels, why),
             "cannot decode image '" << name << "': " << why);
  img.width = w;
  img.height = h;
  img.channels = channels;
  return img;
}

#if VHMN_HAS_SYSTEM_CODECS

// ---- libpng ---------------------------------------------------------------
// libpng reports errors by longjmp to the last setjmp on png_jmpbuf. Each
// phase below is its own function that sets the jump point first and holds
// no C++ object with a destructor, so a jump skips nothing; the buffers live
// in the caller, and PngReader's destructor frees libpng's state either way.
struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0, pos = 0;
  char why[200] = "";
  PngReader() = default;
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
  ~PngReader() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

inline void png_on_error(png_structp png, png_const_charp message) {
  PngReader* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->why, sizeof r->why, "%s", message ? message : "libpng error");
  png_longjmp(png, 1);
}
inline void png_on_warning(png_structp, png_const_charp) {}  // recoverable: libpng carries on
inline void png_on_read(png_structp png, png_bytep out, png_size_t n) {
  PngReader* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "the file is truncated");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

/// Phase 1: the chunks before the pixels; the declared size and colour type.
inline bool png_read_header(PngReader& r, std::uint32_t& width, std::uint32_t& height) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  r.info = png_create_info_struct(r.png);
  if (!r.info) png_error(r.png, "out of memory");
  png_set_read_fn(r.png, &r, &png_on_read);
  // Our own limit speaks about the size (not libpng's 1e6 x 1e6); bound the
  // memory ancillary chunks (text, ICC profiles) may take, and their number.
  png_set_user_limits(r.png, 0x7fffffffu, 0x7fffffffu);
  png_set_chunk_malloc_max(r.png, 8u << 20);
  png_set_chunk_cache_max(r.png, 1000);
  png_read_info(r.png, r.info);
  width = png_get_image_width(r.png, r.info);
  height = png_get_image_height(r.png, r.info);
  return true;
}

/// Phase 2: transformations to 8-bit grey / grey+alpha / RGB / RGBA.
inline bool png_set_output(PngReader& r, int& channels, std::size_t& row_bytes) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  const int colour = png_get_color_type(r.png, r.info), depth = png_get_bit_depth(r.png, r.info);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);  // (and its tRNS to alpha)
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(r.png);
  if (depth == 16) png_set_strip_16(r.png);  // the high byte, as stb
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  channels = png_get_channels(r.png, r.info);
  row_bytes = png_get_rowbytes(r.png, r.info);
  return true;
}

/// Phase 3: every row (all passes when interlaced) into rows[y].
inline bool png_read_pixels(PngReader& r, png_bytep* rows) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_read_image(r.png, rows);
  return true;
}

inline DecodedImage decode_png(const std::uint8_t* data, std::size_t size, int channels, std::uint64_t max_pixels,
                               const std::string& name) {
  PngReader r;
  r.data = data;
  r.size = size;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, &png_on_error, &png_on_warning);
  VHMN_CHECK(r.png, "cannot decode image '" << name << "': libpng: out of memory");
  // IHDR is the first chunk: its size is checked before libpng reads on (to
  // the first IDAT), so even a file that is only a header is refused by size.
  auto be32 = [&](std::size_t at) {
    return std::uint32_t(data[at]) << 24 | std::uint32_t(data[at + 1]) << 16 | std::uint32_t(data[at + 2]) << 8 |
           std::uint32_t(data[at + 3]);
  };
  if (size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) check_declared_pixels(be32(16), be32(20), max_pixels, name);
  std::uint32_t w = 0, h = 0;
  VHMN_CHECK(png_read_header(r, w, h), "cannot decode image '" << name << "': libpng: " << r.why);
  check_declared_pixels(w, h, max_pixels, name);
  int in_channels = 0;
  std::size_t row_bytes = 0;
  VHMN_CHECK(png_set_output(r, in_channels, row_bytes), "cannot decode image '" << name << "': libpng: " << r.why);
  VHMN_CHECK(in_channels >= 1 && in_channels <= 4 && row_bytes == std::size_t(w) * std::size_t(in_channels),
             "cannot decode image '" << name << "': libpng: unexpected layout (" << in_channels << " channels, "
                                     << row_bytes << " bytes per row)");
  std::vector<std::uint8_t> native(row_bytes * h);  // [h, w, in_channels]
  std::vector<png_bytep> rows(h);
  for (std::uint32_t y = 0; y < h; ++y) rows[y] = native.data() + std::size_t(y) * row_bytes;
  VHMN_CHECK(png_read_pixels(r, rows.data()), "cannot decode image '" << name << "': libpng: " << r.why);
  DecodedImage img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(std::size_t(w) * h * std::size_t(channels));
  convert_channels(native.data(), in_channels, std::size_t(w) * h, channels, img.pixels.data());
  return img;
}

// ---- libjpeg(-turbo) --------------------------------------------------------
// The same structure: libjpeg's error_exit must not return, so ours longjmps
// to the phase that is running.
struct JpegReader {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  bool created = false;
  char why[JMSG_LENGTH_MAX + 64] = "";
  JpegReader() {
    std::memset(&cinfo, 0, sizeof cinfo);
    std::memset(&progress, 0, sizeof progress);
  }
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;
  ~JpegReader() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

/// More progressive scans than this is an attack, not a photo (TurboJPEG's limit too).
inline constexpr int kMaxJpegScans = 500;

[[noreturn]] inline void jpeg_on_error(j_common_ptr c) {
  JpegReader* r = static_cast<JpegReader*>(c->client_data);
  char text[JMSG_LENGTH_MAX] = "";
  (*c->err->format_message)(c, text);
  std::snprintf(r->why, sizeof r->why, "%s", text);
  std::longjmp(r->jump, 1);
}
/// Warnings (level -1) that mean damaged image data end the decode; the
/// others (odd markers, extra bytes, a bad ICC profile) are ignored, as are
/// trace messages.
inline void jpeg_on_message(j_common_ptr c, int level) {
  if (level >= 0) return;
  switch (c->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      jpeg_on_error(c);
    default:
      c->err->num_warnings++;
  }
}
inline void jpeg_on_progress(j_common_ptr c) {
  if (!c->is_decompressor) return;
  const j_decompress_ptr d = reinterpret_cast<j_decompress_ptr>(c);
  if (d->progressive_mode && d->input_scan_number > kMaxJpegScans) {
    JpegReader* r = static_cast<JpegReader*>(c->client_data);
    std::snprintf(r->why, sizeof r->why, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(r->jump, 1);
  }
}

/// Phase 1: markers up to the first scan; the declared size and colour space.
inline bool jpeg_read_header_phase(JpegReader& r, const std::uint8_t* data, std::size_t size) {
  if (setjmp(r.jump)) return false;
  jpeg_create_decompress(&r.cinfo);  // keeps err and client_data, clears the rest
  r.created = true;
  r.cinfo.progress = &r.progress;
  jpeg_mem_src(&r.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&r.cinfo, TRUE);
  return true;
}

/// Phase 2: output colour space (grey or RGB) and dimensions.
inline bool jpeg_set_output(JpegReader& r, J_COLOR_SPACE space) {
  if (setjmp(r.jump)) return false;
  r.cinfo.out_color_space = space;
  jpeg_calc_output_dimensions(&r.cinfo);
  return true;
}

/// Phase 3: all scanlines into `out` ([output_height, row_bytes]) and the end of the file.
inline bool jpeg_read_pixels(JpegReader& r, std::uint8_t* out, std::size_t row_bytes) {
  if (setjmp(r.jump)) return false;
  jpeg_start_decompress(&r.cinfo);
  while (r.cinfo.output_scanline < r.cinfo.output_height) {
    JSAMPROW row = out + std::size_t(r.cinfo.output_scanline) * row_bytes;
    if (jpeg_read_scanlines(&r.cinfo, &row, 1) != 1) {
      std::snprintf(r.why, sizeof r.why, "no scanline decoded");
      return false;
    }
  }
  jpeg_finish_decompress(&r.cinfo);
  return true;
}

inline DecodedImage decode_jpeg(const std::uint8_t* data, std::size_t size, int channels, std::uint64_t max_pixels,
                                const std::string& name) {
  JpegReader r;
  r.cinfo.err = jpeg_std_error(&r.err);
  r.err.error_exit = &jpeg_on_error;
  r.err.emit_message = &jpeg_on_message;
  r.cinfo.client_data = &r;
  r.progress.progress_monitor = &jpeg_on_progress;
  VHMN_CHECK(jpeg_read_header_phase(r, data, size), "cannot decode image '" << name << "': libjpeg: " << r.why);
  check_declared_pixels(r.cinfo.image_width, r.cinfo.image_height, max_pixels, name);
  const J_COLOR_SPACE in_space = r.cinfo.jpeg_color_space;
  VHMN_CHECK(in_space != JCS_CMYK && in_space != JCS_YCCK,
             "cannot decode image '" << name << "': CMYK JPEG files are not supported (convert it to RGB)");
  const bool grey = channels == 1 || r.cinfo.num_components == 1;
  VHMN_CHECK(jpeg_set_output(r, grey ? JCS_GRAYSCALE : JCS_RGB),
             "cannot decode image '" << name << "': libjpeg: " << r.why);
  const std::uint32_t w = r.cinfo.output_width, h = r.cinfo.output_height;
  const int in_channels = r.cinfo.output_components;
  VHMN_CHECK(in_channels == (grey ? 1 : 3) && w == r.cinfo.image_width && h == r.cinfo.image_height,
             "cannot decode image '" << name << "': libjpeg: unexpected output (" << w << "x" << h << ", "
                                     << in_channels << " channels)");
  const std::size_t row_bytes = std::size_t(w) * std::size_t(in_channels);
  std::vector<std::uint8_t> native(row_bytes * h);  // [h, w, in_channels]
  VHMN_CHECK(jpeg_read_pixels(r, native.data(), row_bytes), "cannot decode image '" << name << "': libjpeg: "
                                                                                      << r.why);
  DecodedImage img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  if (in_channels == channels) {
    img.pixels.swap(native);
  } else {
    img.pixels.resize(std::size_t(w) * h * std::size_t(channels));
    convert_channels(native.data(), in_channels, std::size_t(w) * h, channels, img.pixels.data());
  }
  return img;
}

#endif  // VHMN_HAS_SYSTEM_CODECS

}  // namespace detail

/// Decodes a PNG, JPEG or BMP file held in memory to [height, width,
/// channels] uint8 (channels 1 or 3). `name` (the file's path) goes into
/// every error. Files declaring more than `max_pixels` pixels fail before
/// their pixels are decoded.
inline DecodedImage decode_image(const std::uint8_t* data, std::size_t size, index_t channels,
                                 const std::string& name, std::uint64_t max_pixels = max_image_pixels()) {
  VHMN_CHECK(channels == 1 || channels == 3,
             "decode_image '" << name << "': channels must be 1 or 3, got " << channels);
  const ImageFormat format = sniff_image_format(data, size);
  if (format == ImageFormat::Unknown) {
    std::ostringstream head;
    for (std::size_t i = 0; i < size && i < 4; ++i) {
      char hex[4];
      std::snprintf(hex, sizeof hex, " %02x", data[i]);
      head << hex;
    }
    VHMN_FAIL("cannot decode image '" << name << "': not a PNG, JPEG or BMP file ("
                                      << (size ? "it starts with" + head.str() : std::string("it is empty"))
                                      << ")");
  }
  const int C = static_cast<int>(channels);
#if VHMN_HAS_SYSTEM_CODECS
  if (format == ImageFormat::Png) return detail::decode_png(data, size, C, max_pixels, name);
  if (format == ImageFormat::Jpeg) return detail::decode_jpeg(data, size, C, max_pixels, name);
#endif
  return detail::decode_with_stb(data, size, C, max_pixels, name);
}

}  // namespace data
}  // namespace vhmn
