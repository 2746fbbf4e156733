// vhmn/explain/png.hpp — PNG files of a Canvas, through a private stb_image_write.
//
// What this represents: encode_png() / write_png() of an RGB Canvas, and
// encode_png_rgb() of any interleaved 8-bit buffer. The PNG encoder of
// stb_image_write.h is compiled privately, the way vhmn/data/stb.hpp
// compiles stb_image: as static functions inside namespace
// vhmn::detail::stbw, every public stbi_write_* name renamed vhmn_stbi_*,
// every macro stb_image_write reads or defines saved (push_macro), cleared
// and restored (pop_macro), and its warnings silenced here. So this header
// is safe in many translation units and beside a user's own
// stb_image_write, before or after it, with or without
// STB_IMAGE_WRITE_IMPLEMENTATION.
// Requires: stb_image_write.h (v1.1x) on the include path (Debian:
// libstb-dev, -I/usr/include/stb). Not part of vhmn/vhmn.hpp for that reason
// (like vhmn/data/); include it yourself.
// Ensures: write_png() replaces the file atomically (write, then rename) and
// fails with a message naming the path.
#pragma once

#if !__has_include(<stb_image_write.h>)
#error "vhmn/explain/png.hpp needs stb_image_write.h on the include path (e.g. -I/usr/include/stb)"
#endif

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/explain/canvas.hpp"

// The C headers stb_image_write includes, first at global scope so their
// include guards keep them out of our namespace. (<assert.h> is not
// guarded; STBIW_ASSERT below keeps stb from including it.)
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VHMN_STBW_MACROS(X)                                                                                   \
  X(INCLUDE_STB_IMAGE_WRITE_H) X(STB_IMAGE_WRITE_IMPLEMENTATION) X(STB_IMAGE_WRITE_STATIC) X(STBIWDEF)        \
  X(STBI_WRITE_NO_STDIO) X(STBIW_WINDOWS_UTF8) X(STBIW_ZLIB_COMPRESS) X(STBIW_CRC32) X(STBIW_ASSERT)          \
  X(STBIW_EXTERN) X(STBIW_MALLOC) X(STBIW_REALLOC) X(STBIW_REALLOC_SIZED) X(STBIW_FREE) X(STBIW_MEMMOVE)      \
  X(STBIW_UCHAR) X(_CRT_SECURE_NO_WARNINGS) X(_CRT_NONSTDC_NO_DEPRECATE) X(stbiw__ZHASH) X(stbiw__max)        \
  X(stbiw__sbraw) X(stbiw__sbm) X(stbiw__sbn) X(stbiw__sbneedgrow) X(stbiw__sbmaybegrow) X(stbiw__sbgrow)     \
  X(stbiw__sbpush) X(stbiw__sbcount) X(stbiw__sbfree) X(stbiw__zlib_flush) X(stbiw__zlib_add)                 \
  X(stbiw__zlib_huffa) X(stbiw__zlib_huff1) X(stbiw__zlib_huff2) X(stbiw__zlib_huff3) X(stbiw__zlib_huff4)    \
  X(stbiw__zlib_huff) X(stbiw__zlib_huffb) X(stbiw__wpng4) X(stbiw__wp32) X(stbiw__wptag)                     \
  X(stbi_write_png) X(stbi_write_bmp) X(stbi_write_tga) X(stbi_write_hdr) X(stbi_write_jpg)                   \
  X(stbiw_convert_wchar_to_utf8) X(stbi_write_func) X(stbi_write_png_to_func) X(stbi_write_bmp_to_func)       \
  X(stbi_write_tga_to_func) X(stbi_write_hdr_to_func) X(stbi_write_jpg_to_func)                              \
  X(stbi_flip_vertically_on_write) X(stbi_write_png_to_mem) X(stbi_zlib_compress) X(stbi_write_tga_with_rle) \
  X(stbi_write_png_compression_level) X(stbi_write_force_png_filter)                                         \
  /* end */

VHMN_STBW_MACROS(VHMN_PUSH_MACRO)

#undef INCLUDE_STB_IMAGE_WRITE_H
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_STATIC
#undef STBIWDEF
#undef STBI_WRITE_NO_STDIO
#undef STBIW_WINDOWS_UTF8
#undef STBIW_ZLIB_COMPRESS
#undef STBIW_CRC32
#undef STBIW_ASSERT
#undef STBIW_EXTERN
#undef STBIW_MALLOC
#undef STBIW_REALLOC
#undef STBIW_REALLOC_SIZED
#undef STBIW_FREE
#undef STBIW_MEMMOVE
#undef STBIW_UCHAR
#undef _CRT_SECURE_NO_WARNINGS
#undef _CRT_NONSTDC_NO_DEPRECATE
#undef stbiw__ZHASH
#undef stbiw__max
#undef stbiw__sbraw
#undef stbiw__sbm
#undef stbiw__sbn
#undef stbiw__sbneedgrow
#undef stbiw__sbmaybegrow
#undef stbiw__sbgrow
#undef stbiw__sbpush
#undef stbiw__sbcount
#undef stbiw__sbfree
#undef stbiw__zlib_flush
#undef stbiw__zlib_add
#undef stbiw__zlib_huffa
#undef stbiw__zlib_huff1
#undef stbiw__zlib_huff2
#undef stbiw__zlib_huff3
#undef stbiw__zlib_huff4
#undef stbiw__zlib_huff
#undef stbiw__zlib_huffb
#undef stbiw__wpng4
#undef stbiw__wp32
#undef stbiw__wptag

// Our configuration: static functions, no stdio (we write files ourselves,
// atomically, with errors that name the path).
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ASSERT(x) assert(x)
#define stbi_write_png vhmn_stbi_write_png
#define stbi_write_bmp vhmn_stbi_write_bmp
#define stbi_write_tga vhmn_stbi_write_tga
#define stbi_write_hdr vhmn_stbi_write_hdr
#define stbi_write_jpg vhmn_stbi_write_jpg
#define stbiw_convert_wchar_to_utf8 vhmn_stbiw_convert_wchar_to_utf8
#define stbi_write_func vhmn_stbi_write_func
#define stbi_write_png_to_func vhmn_stbi_write_png_to_func
#define stbi_write_bmp_to_func vhmn_stbi_write_bmp_to_func
#define stbi_write_tga_to_func vhmn_stbi_write_tga_to_func
#define stbi_write_hdr_to_func vhmn_stbi_write_hdr_to_func
#define stbi_write_jpg_to_func vhmn_stbi_write_jpg_to_func
#define stbi_flip_vertically_on_write vhmn_stbi_flip_vertically_on_write
#define stbi_write_png_to_mem vhmn_stbi_write_png_to_mem
#define stbi_zlib_compress vhmn_stbi_zlib_compress
#define stbi_write_tga_with_rle vhmn_stbi_write_tga_with_rle
#define stbi_write_png_compression_level vhmn_stbi_write_png_compression_level
#define stbi_write_force_png_filter vhmn_stbi_write_force_png_filter

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wfloat-equal"
#pragma GCC diagnostic ignored "-Wswitch-default"
#pragma GCC diagnostic ignored "-Wpedantic"
#elif defined(_MSC_VER)
#pragma warning(push, 0)
#endif

namespace vhmn {
namespace detail {
namespace stbw {
#include <stb_image_write.h>
}  // namespace stbw
}  // namespace detail
}  // namespace vhmn

#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#elif defined(_MSC_VER)
#pragma warning(pop)
#endif

VHMN_STBW_MACROS(VHMN_POP_MACRO)
#undef VHMN_STBW_MACROS

namespace vhmn::explain {

namespace detail {
inline void png_append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}
}  // namespace detail

/// PNG bytes of an interleaved 8-bit image (height, width, channels), channels 1..4.
inline std::vector<std::uint8_t> encode_png_rgb(const std::uint8_t* pixels, index_t width, index_t height,
                                                index_t channels) {
  VHMN_CHECK(width > 0 && height > 0 && width < (1 << 24) && height < (1 << 24) && channels >= 1 && channels <= 4,
             "PNG of " << width << "x" << height << "x" << channels << " is out of range");
  std::vector<std::uint8_t> out;
  const int ok = vhmn::detail::stbw::vhmn_stbi_write_png_to_func(
      &detail::png_append, &out, static_cast<int>(width), static_cast<int>(height), static_cast<int>(channels),
      pixels, static_cast<int>(width * channels));
  VHMN_CHECK(ok && !out.empty(), "PNG encoding of a " << width << "x" << height << " image failed");
  return out;
}

/// PNG bytes of a canvas.
inline std::vector<std::uint8_t> encode_png(const Canvas& c) {
  return encode_png_rgb(c.data(), c.width(), c.height(), 3);
}

/// Writes bytes to `path` atomically (a temporary file beside it, then rename).
inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    VHMN_CHECK(f, "cannot open " << tmp << " for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    VHMN_CHECK(f, "cannot write " << tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  VHMN_CHECK(!ec, "cannot rename " << tmp << " to " << path << ": " << ec.message());
}

/// Writes a canvas as a PNG file; returns the PNG bytes (e.g. to embed them).
inline std::vector<std::uint8_t> write_png(const std::string& path, const Canvas& c) {
  std::vector<std::uint8_t> bytes = encode_png(c);
  write_file_atomic(path, bytes);
  return bytes;
}

}  // namespace vhmn::explain
