// vhmn/data/gzip.hpp — reading .gz files (RFC 1952) without a zlib dependency.
//
// What this represents: a gzip member parser. The header (magic 1f 8b,
// method 8 = deflate, flags FTEXT/FHCRC/FEXTRA/FNAME/FCOMMENT) is parsed here;
// the raw deflate stream is inflated by stb_image's inflater (vhmn/data/stb.hpp);
// the trailer's CRC-32 and ISIZE are checked against what came out.
// Requires: one gzip member per file (what gzip and the MNIST mirrors write).
// A file of several concatenated members is reported as corrupt (its CRC
// cannot match), never silently truncated.
// Ensures: every failure is a vhmn::Error naming the file and the problem.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/data/file.hpp"
#include "vhmn/data/stb.hpp"

namespace vhmn {
namespace data {

namespace detail {
// Tables of the reflected CRC-32 polynomial 0xEDB88320 (IEEE 802.3, as gzip
// uses) for slicing-by-8: table[0] is the byte-wise table, table[k][b] is the
// CRC of byte b followed by k zero bytes, so 8 input bytes take 8 lookups.
using Crc32Tables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][n] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t n = 0; n < 256; ++n) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xFFu];
  return t;
}
inline constexpr Crc32Tables crc32_tables = make_crc32_tables();
}  // namespace detail

/// CRC-32 of `n` bytes, continuing from `crc` (start with 0). crc32("123456789") == 0xCBF43926.
inline std::uint32_t crc32(const std::uint8_t* data, std::size_t n, std::uint32_t crc = 0) {
  const auto& t = detail::crc32_tables;
  crc = ~crc;
  for (; n >= 8; n -= 8, data += 8) {
    const std::uint32_t lo = crc ^ (std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 |
                                    std::uint32_t(data[2]) << 16 | std::uint32_t(data[3]) << 24);
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][data[4]] ^ t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
  }
  for (; n > 0; --n, ++data) crc = t[0][(crc ^ *data) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

/// True when `bytes` starts with the gzip magic number 1f 8b.
inline bool is_gzip(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

/// Decompresses one gzip member held in memory. `name` (the file) is used in errors.
inline std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  const std::size_t n = bytes.size();
  // 10-byte header + at least an empty deflate block (2 bytes) + 8-byte trailer.
  VHMN_CHECK(n >= 18, "corrupt gzip file '" << name << "': only " << n << " bytes");
  VHMN_CHECK(is_gzip(bytes), "'" << name << "' is not a gzip file (magic " << std::hex << int(bytes[0]) << ' '
                                 << int(bytes[1]) << ", expected 1f 8b)");
  VHMN_CHECK(bytes[2] == 8, "corrupt gzip file '" << name << "': compression method " << int(bytes[2])
                                                  << ", only 8 (deflate) exists");
  const std::uint8_t flags = bytes[3];
  enum : std::uint8_t { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
  VHMN_CHECK((flags & 0xE0) == 0, "corrupt gzip file '" << name << "': reserved header flag bits set (flags 0x"
                                                        << std::hex << int(flags) << ")");
  const std::size_t trailer = n - 8;  // the header may not run into the trailer
  std::size_t pos = 10;               // magic, method, flags, mtime(4), xfl, os
  if (flags & FEXTRA) {
    VHMN_CHECK(pos + 2 <= trailer, "corrupt gzip file '" << name << "': header truncated in FEXTRA");
    const std::size_t xlen = bytes[pos] | (std::size_t(bytes[pos + 1]) << 8);
    pos += 2 + xlen;
    VHMN_CHECK(pos <= trailer, "corrupt gzip file '" << name << "': FEXTRA field runs past the end");
  }
  for (std::uint8_t field : {std::uint8_t(FNAME), std::uint8_t(FCOMMENT)}) {
    if (!(flags & field)) continue;
    while (pos < trailer && bytes[pos] != 0) ++pos;  // zero-terminated Latin-1 string
    VHMN_CHECK(pos < trailer, "corrupt gzip file '" << name << "': unterminated "
                                                    << (field == FNAME ? "FNAME" : "FCOMMENT") << " field");
    ++pos;
  }
  if (flags & FHCRC) {
    VHMN_CHECK(pos + 2 <= trailer, "corrupt gzip file '" << name << "': header truncated in FHCRC");
    const std::uint32_t stored = bytes[pos] | (std::uint32_t(bytes[pos + 1]) << 8);
    const std::uint32_t actual = crc32(bytes.data(), pos) & 0xFFFFu;
    VHMN_CHECK(stored == actual, "corrupt gzip file '" << name << "': header CRC mismatch");
    pos += 2;
  }
  (void)FTEXT;  // a hint about the content only; nothing to do

  // The inflater is also handed the 8 trailer bytes: it stops at the final
  // deflate block anyway, and stb_image 2.27 wrongly fails ("bad huffman
  // code") when the last code ends within 2 bytes of its input's end — the
  // trailer is the lookahead it needs. ISIZE and the CRC catch any overrun.
  std::vector<std::uint8_t> out;
  VHMN_CHECK(vhmn::detail::stb_inflate_raw(bytes.data() + pos, n - pos, out),
             "corrupt gzip file '" << name << "': the deflate stream does not decode (truncated or damaged)");
  auto le32 = [&](std::size_t at) {
    return std::uint32_t(bytes[at]) | (std::uint32_t(bytes[at + 1]) << 8) | (std::uint32_t(bytes[at + 2]) << 16) |
           (std::uint32_t(bytes[at + 3]) << 24);
  };
  const std::uint32_t stored_crc = le32(trailer), stored_size = le32(trailer + 4);
  VHMN_CHECK(stored_size == static_cast<std::uint32_t>(out.size()),
             "corrupt gzip file '" << name << "': trailer says " << stored_size << " bytes (mod 2^32) but "
                                   << out.size() << " were decoded");
  VHMN_CHECK(stored_crc == crc32(out.data(), out.size()),
             "corrupt gzip file '" << name << "': CRC-32 of the decoded data does not match the trailer");
  return out;
}

/// Reads a file, decompressing it when it starts with the gzip magic (the
/// content decides, not the extension).
inline std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_file(path);
  if (is_gzip(bytes)) return gunzip(bytes, path);
  return bytes;
}

}  // namespace data
}  // namespace vhmn
