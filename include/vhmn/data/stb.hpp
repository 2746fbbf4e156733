// vhmn/data/stb.hpp — stb_image compiled privately for vhmn (detail header).
//
// What this represents: the PNG/JPEG/BMP decoders of stb_image.h and its raw
// deflate inflater (used by gzip.hpp), built as `static` functions inside
// namespace vhmn::detail::stb, with every public stbi_* function renamed
// vhmn_stbi_*. vhmn code calls only the two wrappers at the bottom.
//
// Why so careful: this header is included from many translation units, and a
// user may use stb_image as well (declarations only, or with
// STB_IMAGE_IMPLEMENTATION, before or after including vhmn). So
//  - every function is static: nothing is exported, no link clash;
//  - a namespace keeps stb's types and stbi__ internals apart from a user's;
//  - the public functions are renamed, because stb declares them extern "C"
//    and C linkage ignores namespaces;
//  - every macro stb reads or defines is saved (push_macro), cleared, and
//    restored (pop_macro) afterwards: a user's stb configuration (STBI_NO_PNG,
//    STBI_MALLOC, ...) does not change ours, and nothing of ours leaks out —
//    a later #include <stb_image.h> sees what it would have seen without vhmn;
//  - stb's own warnings are silenced here, at the library boundary.
// Requires: stb_image.h (v2.2x) on the include path (Debian: libstb-dev, with
// -I/usr/include/stb; CMake's vhmn::vhmn adds it when found).
#pragma once

#if !__has_include(<stb_image.h>)
#error "vhmn/data needs stb_image.h on the include path (e.g. -I/usr/include/stb)"
#endif

#include <cassert>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"

// The C headers stb_image includes, included first at global scope so their
// include guards keep stb from re-including them inside our namespace.
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) || defined(_M_X64) || defined(_M_IX86)
#include <emmintrin.h>
#if defined(_MSC_VER)
#include <intrin.h>
#endif
#define VHMN_STB_SIMD 1
#else
#define VHMN_STB_SIMD 0
#endif

// Every macro stb_image defines or reads, then every public function name.
#define VHMN_STB_MACROS(X) \
  X(STB_IMAGE_IMPLEMENTATION) X(STB_IMAGE_STATIC) X(STBI_INCLUDE_STB_IMAGE_H) X(STBI_VERSION) X(STBIDEF) \
  X(STBI_ONLY_JPEG) X(STBI_ONLY_PNG) X(STBI_ONLY_BMP) X(STBI_ONLY_PSD) X(STBI_ONLY_TGA) X(STBI_ONLY_GIF) \
  X(STBI_ONLY_HDR) X(STBI_ONLY_PIC) X(STBI_ONLY_PNM) X(STBI_NO_JPEG) X(STBI_NO_PNG) X(STBI_NO_BMP) \
  X(STBI_NO_PSD) X(STBI_NO_TGA) X(STBI_NO_GIF) X(STBI_NO_HDR) X(STBI_NO_PIC) X(STBI_NO_PNM) X(STBI_NO_ZLIB) \
  X(STBI_NO_STDIO) X(STBI_NO_LINEAR) X(STBI_NO_THREAD_LOCALS) X(STBI_NO_FAILURE_STRINGS) \
  X(STBI_FAILURE_USERMSG) X(STBI_SUPPORT_ZLIB) X(STBI_WINDOWS_UTF8) X(STBI_MINGW_ENABLE_SSE2) \
  X(STBI_NO_SIMD) X(STBI_NEON) X(STBI_SSE2) X(STBI_SIMD_ALIGN) X(STBI_MAX_DIMENSIONS) X(STBI_ASSERT) \
  X(STBI_EXTERN) X(stbi_inline) X(STBI_THREAD_LOCAL) X(STBI_NOTUSED) X(STBI_HAS_LROTL) X(stbi_lrot) \
  X(STBI_MALLOC) X(STBI_REALLOC) X(STBI_FREE) X(STBI_REALLOC_SIZED) X(STBI__X64_TARGET) X(STBI__X86_TARGET) \
  X(stbi__err) X(stbi__errpf) X(stbi__errpuc) X(stbi__vertically_flip_on_load) X(STBI__BYTECAST) \
  X(STBI__COMBO) X(STBI__CASE) X(stbi__float2int) X(FAST_BITS) X(stbi__f2f) X(stbi__fsh) X(STBI__IDCT_1D) \
  X(dct_const) X(dct_rot) X(dct_widen) X(dct_wadd) X(dct_wsub) X(dct_bfly32o) X(dct_interleave8) \
  X(dct_interleave16) X(dct_pass) X(dct_long_mul) X(dct_long_mac) X(dct_trn16) X(dct_trn32) X(dct_trn64) \
  X(dct_trn8_8) X(dct_trn8_16) X(dct_trn8_32) X(STBI__MARKER_none) X(STBI__RESTART) X(stbi__DNL) \
  X(stbi__SOI) X(stbi__EOI) X(stbi__SOF) X(stbi__SOS) X(stbi__SOF_progressive) X(stbi__div4) X(stbi__div16) \
  X(stbi__float2fixed) X(STBI__ZFAST_BITS) X(STBI__ZFAST_MASK) X(STBI__ZNSYMS) \
  X(stbi__unpremultiply_on_load) X(stbi__de_iphone_flag) X(STBI__PNG_TYPE) X(STBI__HDR_BUFLEN) \
  X(stbi_convert_iphone_png_to_rgb) X(stbi_convert_iphone_png_to_rgb_thread) X(stbi_convert_wchar_to_utf8) \
  X(stbi_failure_reason) X(stbi_hdr_to_ldr_gamma) X(stbi_hdr_to_ldr_scale) X(stbi_image_free) X(stbi_info) \
  X(stbi_info_from_callbacks) X(stbi_info_from_file) X(stbi_info_from_memory) X(stbi_is_16_bit) \
  X(stbi_is_16_bit_from_callbacks) X(stbi_is_16_bit_from_file) X(stbi_is_16_bit_from_memory) X(stbi_is_hdr) \
  X(stbi_is_hdr_from_callbacks) X(stbi_is_hdr_from_file) X(stbi_is_hdr_from_memory) X(stbi_ldr_to_hdr_gamma) \
  X(stbi_ldr_to_hdr_scale) X(stbi_load) X(stbi_load_16) X(stbi_load_16_from_callbacks) \
  X(stbi_load_16_from_memory) X(stbi_load_from_callbacks) X(stbi_load_from_file) X(stbi_load_from_file_16) \
  X(stbi_load_from_memory) X(stbi_load_gif_from_memory) X(stbi_loadf) X(stbi_loadf_from_callbacks) \
  X(stbi_loadf_from_file) X(stbi_loadf_from_memory) X(stbi_set_flip_vertically_on_load) \
  X(stbi_set_flip_vertically_on_load_thread) X(stbi_set_unpremultiply_on_load) \
  X(stbi_set_unpremultiply_on_load_thread) X(stbi_zlib_decode_buffer) X(stbi_zlib_decode_malloc) \
  X(stbi_zlib_decode_malloc_guesssize) X(stbi_zlib_decode_malloc_guesssize_headerflag) \
  X(stbi_zlib_decode_noheader_buffer) X(stbi_zlib_decode_noheader_malloc) \
  /* end */

VHMN_STB_MACROS(VHMN_PUSH_MACRO)

#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_STATIC
#undef STBI_INCLUDE_STB_IMAGE_H
#undef STBI_VERSION
#undef STBIDEF
#undef STBI_ONLY_JPEG
#undef STBI_ONLY_PNG
#undef STBI_ONLY_BMP
#undef STBI_ONLY_PSD
#undef STBI_ONLY_TGA
#undef STBI_ONLY_GIF
#undef STBI_ONLY_HDR
#undef STBI_ONLY_PIC
#undef STBI_ONLY_PNM
#undef STBI_NO_JPEG
#undef STBI_NO_PNG
#undef STBI_NO_BMP
#undef STBI_NO_PSD
#undef STBI_NO_TGA
#undef STBI_NO_GIF
#undef STBI_NO_HDR
#undef STBI_NO_PIC
#undef STBI_NO_PNM
#undef STBI_NO_ZLIB
#undef STBI_NO_STDIO
#undef STBI_NO_LINEAR
#undef STBI_NO_THREAD_LOCALS
#undef STBI_NO_FAILURE_STRINGS
#undef STBI_FAILURE_USERMSG
#undef STBI_SUPPORT_ZLIB
#undef STBI_WINDOWS_UTF8
#undef STBI_MINGW_ENABLE_SSE2
#undef STBI_NO_SIMD
#undef STBI_NEON
#undef STBI_SSE2
#undef STBI_SIMD_ALIGN
#undef STBI_MAX_DIMENSIONS
#undef STBI_ASSERT
#undef STBI_EXTERN
#undef stbi_inline
#undef STBI_THREAD_LOCAL
#undef STBI_NOTUSED
#undef STBI_HAS_LROTL
#undef stbi_lrot
#undef STBI_MALLOC
#undef STBI_REALLOC
#undef STBI_FREE
#undef STBI_REALLOC_SIZED
#undef STBI__X64_TARGET
#undef STBI__X86_TARGET
#undef stbi__err
#undef stbi__errpf
#undef stbi__errpuc
#undef stbi__vertically_flip_on_load
#undef STBI__BYTECAST
#undef STBI__COMBO
#undef STBI__CASE
#undef stbi__float2int
#undef FAST_BITS
#undef stbi__f2f
#undef stbi__fsh
#undef STBI__IDCT_1D
#undef dct_const
#undef dct_rot
#undef dct_widen
#undef dct_wadd
#undef dct_wsub
#undef dct_bfly32o
#undef dct_interleave8
#undef dct_interleave16
#undef dct_pass
#undef dct_long_mul
#undef dct_long_mac
#undef dct_trn16
#undef dct_trn32
#undef dct_trn64
#undef dct_trn8_8
#undef dct_trn8_16
#undef dct_trn8_32
#undef STBI__MARKER_none
#undef STBI__RESTART
#undef stbi__DNL
#undef stbi__SOI
#undef stbi__EOI
#undef stbi__SOF
#undef stbi__SOS
#undef stbi__SOF_progressive
#undef stbi__div4
#undef stbi__div16
#undef stbi__float2fixed
#undef STBI__ZFAST_BITS
#undef STBI__ZFAST_MASK
#undef STBI__ZNSYMS
#undef stbi__unpremultiply_on_load
#undef stbi__de_iphone_flag
#undef STBI__PNG_TYPE
#undef STBI__HDR_BUFLEN
#undef stbi_convert_iphone_png_to_rgb
#undef stbi_convert_iphone_png_to_rgb_thread
#undef stbi_convert_wchar_to_utf8
#undef stbi_failure_reason
#undef stbi_hdr_to_ldr_gamma
#undef stbi_hdr_to_ldr_scale
#undef stbi_image_free
#undef stbi_info
#undef stbi_info_from_callbacks
#undef stbi_info_from_file
#undef stbi_info_from_memory
#undef stbi_is_16_bit
#undef stbi_is_16_bit_from_callbacks
#undef stbi_is_16_bit_from_file
#undef stbi_is_16_bit_from_memory
#undef stbi_is_hdr
#undef stbi_is_hdr_from_callbacks
#undef stbi_is_hdr_from_file
#undef stbi_is_hdr_from_memory
#undef stbi_ldr_to_hdr_gamma
#undef stbi_ldr_to_hdr_scale
#undef stbi_load
#undef stbi_load_16
#undef stbi_load_16_from_callbacks
#undef stbi_load_16_from_memory
#undef stbi_load_from_callbacks
#undef stbi_load_from_file
#undef stbi_load_from_file_16
#undef stbi_load_from_memory
#undef stbi_load_gif_from_memory
#undef stbi_loadf
#undef stbi_loadf_from_callbacks
#undef stbi_loadf_from_file
#undef stbi_loadf_from_memory
#undef stbi_set_flip_vertically_on_load
#undef stbi_set_flip_vertically_on_load_thread
#undef stbi_set_unpremultiply_on_load
#undef stbi_set_unpremultiply_on_load_thread
#undef stbi_zlib_decode_buffer
#undef stbi_zlib_decode_malloc
#undef stbi_zlib_decode_malloc_guesssize
#undef stbi_zlib_decode_malloc_guesssize_headerflag
#undef stbi_zlib_decode_noheader_buffer
#undef stbi_zlib_decode_noheader_malloc

// Our configuration: static functions, the three formats the image-folder
// reader accepts (PNG brings the zlib inflater), no stdio (we read files
// ourselves to report errors by name), no float/HDR paths.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ASSERT(x) assert(x)
#if !VHMN_STB_SIMD
#define STBI_NO_SIMD
#endif
#define stbi_convert_iphone_png_to_rgb vhmn_stbi_convert_iphone_png_to_rgb
#define stbi_convert_iphone_png_to_rgb_thread vhmn_stbi_convert_iphone_png_to_rgb_thread
#define stbi_convert_wchar_to_utf8 vhmn_stbi_convert_wchar_to_utf8
#define stbi_failure_reason vhmn_stbi_failure_reason
#define stbi_hdr_to_ldr_gamma vhmn_stbi_hdr_to_ldr_gamma
#define stbi_hdr_to_ldr_scale vhmn_stbi_hdr_to_ldr_scale
#define stbi_image_free vhmn_stbi_image_free
#define stbi_info vhmn_stbi_info
#define stbi_info_from_callbacks vhmn_stbi_info_from_callbacks
#define stbi_info_from_file vhmn_stbi_info_from_file
#define stbi_info_from_memory vhmn_stbi_info_from_memory
#define stbi_is_16_bit vhmn_stbi_is_16_bit
#define stbi_is_16_bit_from_callbacks vhmn_stbi_is_16_bit_from_callbacks
#define stbi_is_16_bit_from_file vhmn_stbi_is_16_bit_from_file
#define stbi_is_16_bit_from_memory vhmn_stbi_is_16_bit_from_memory
#define stbi_is_hdr vhmn_stbi_is_hdr
#define stbi_is_hdr_from_callbacks vhmn_stbi_is_hdr_from_callbacks
#define stbi_is_hdr_from_file vhmn_stbi_is_hdr_from_file
#define stbi_is_hdr_from_memory vhmn_stbi_is_hdr_from_memory
#define stbi_ldr_to_hdr_gamma vhmn_stbi_ldr_to_hdr_gamma
#define stbi_ldr_to_hdr_scale vhmn_stbi_ldr_to_hdr_scale
#define stbi_load vhmn_stbi_load
#define stbi_load_16 vhmn_stbi_load_16
#define stbi_load_16_from_callbacks vhmn_stbi_load_16_from_callbacks
#define stbi_load_16_from_memory vhmn_stbi_load_16_from_memory
#define stbi_load_from_callbacks vhmn_stbi_load_from_callbacks
#define stbi_load_from_file vhmn_stbi_load_from_file
#define stbi_load_from_file_16 vhmn_stbi_load_from_file_16
#define stbi_load_from_memory vhmn_stbi_load_from_memory
#define stbi_load_gif_from_memory vhmn_stbi_load_gif_from_memory
#define stbi_loadf vhmn_stbi_loadf
#define stbi_loadf_from_callbacks vhmn_stbi_loadf_from_callbacks
#define stbi_loadf_from_file vhmn_stbi_loadf_from_file
#define stbi_loadf_from_memory vhmn_stbi_loadf_from_memory
#define stbi_set_flip_vertically_on_load vhmn_stbi_set_flip_vertically_on_load
#define stbi_set_flip_vertically_on_load_thread vhmn_stbi_set_flip_vertically_on_load_thread
#define stbi_set_unpremultiply_on_load vhmn_stbi_set_unpremultiply_on_load
#define stbi_set_unpremultiply_on_load_thread vhmn_stbi_set_unpremultiply_on_load_thread
#define stbi_zlib_decode_buffer vhmn_stbi_zlib_decode_buffer
#define stbi_zlib_decode_malloc vhmn_stbi_zlib_decode_malloc
#define stbi_zlib_decode_malloc_guesssize vhmn_stbi_zlib_decode_malloc_guesssize
#define stbi_zlib_decode_malloc_guesssize_headerflag vhmn_stbi_zlib_decode_malloc_guesssize_headerflag
#define stbi_zlib_decode_noheader_buffer vhmn_stbi_zlib_decode_noheader_buffer
#define stbi_zlib_decode_noheader_malloc vhmn_stbi_zlib_decode_noheader_malloc

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
namespace stb {
#include <stb_image.h>
}  // namespace stb
}  // namespace detail
}  // namespace vhmn

#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#elif defined(_MSC_VER)
#pragma warning(pop)
#endif

VHMN_STB_MACROS(VHMN_POP_MACRO)
#undef VHMN_STB_MACROS
#undef VHMN_STB_SIMD

namespace vhmn {
namespace detail {

/// Inflates a raw deflate stream (no zlib or gzip header) into `out`.
/// Returns false when the stream is corrupt or longer than 2 GiB.
static inline bool stb_inflate_raw(const std::uint8_t* data, std::size_t size,
                                   std::vector<std::uint8_t>& out) {
  out.clear();
  if (size > static_cast<std::size_t>(INT_MAX)) return false;
  int out_len = 0;
  char* raw = stb::vhmn_stbi_zlib_decode_noheader_malloc(reinterpret_cast<const char*>(data),
                                                         static_cast<int>(size), &out_len);
  if (!raw) return false;
  out.assign(reinterpret_cast<const std::uint8_t*>(raw),
             reinterpret_cast<const std::uint8_t*>(raw) + out_len);
  stb::vhmn_stbi_image_free(raw);  // stb allocated it with its STBI_MALLOC (malloc)
  return true;
}

/// The declared size of a PNG/JPEG/BMP held in memory, from its header only
/// (nothing of the image's size is allocated). On failure returns false and
/// sets `why` to stb's reason.
static inline bool stb_image_info(const std::uint8_t* data, std::size_t size, int& width, int& height,
                                  std::string& why) {
  if (size > static_cast<std::size_t>(INT_MAX)) {
    why = "file too large";
    return false;
  }
  int in_channels = 0;
  if (!stb::vhmn_stbi_info_from_memory(data, static_cast<int>(size), &width, &height, &in_channels)) {
    const char* reason = stb::vhmn_stbi_failure_reason();
    why = reason ? reason : "unknown decoder error";
    return false;
  }
  return true;
}

/// Decodes a PNG/JPEG/BMP held in memory to 8-bit interleaved pixels
/// [height, width, channels], converting to `channels` (1 grey or 3 RGB;
/// stb's grey is (77 R + 150 G + 29 B) >> 8). On failure returns false and
/// sets `why` to stb's reason.
static inline bool stb_decode_image(const std::uint8_t* data, std::size_t size, int channels,
                                    int& width, int& height, std::vector<std::uint8_t>& out,
                                    std::string& why) {
  out.clear();
  if (size > static_cast<std::size_t>(INT_MAX)) {
    why = "file too large";
    return false;
  }
  int in_channels = 0;
  stb::stbi_uc* px = stb::vhmn_stbi_load_from_memory(data, static_cast<int>(size), &width, &height,
                                                     &in_channels, channels);
  if (!px) {
    const char* reason = stb::vhmn_stbi_failure_reason();
    why = reason ? reason : "unknown decoder error";
    return false;
  }
  out.assign(px, px + static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                          static_cast<std::size_t>(channels));
  stb::vhmn_stbi_image_free(px);
  return true;
}

}  // namespace detail
}  // namespace vhmn
