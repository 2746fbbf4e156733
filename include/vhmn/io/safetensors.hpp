// vhmn/io/safetensors.hpp — the safetensors checkpoint format, read and write.
//
// Layout (docs/spec.md §7): an 8-byte little-endian u64 header length N,
// N bytes of UTF-8 JSON (right-padded with spaces), then the data section.
// The header maps each tensor name to {"dtype", "shape", "data_offsets"}
// (offsets relative to the data section) plus an optional "__metadata__"
// object of strings. Tensor data is little-endian.
//
// Endianness: RawTensor::bytes always hold the file's little-endian bytes;
// to_tensor / make_raw assemble and split values with shifts, so the same
// code is correct on little- and big-endian hosts without detecting either.
// Floating point must be IEEE-754 (checked at compile time).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "vhmn/core/checked.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/file.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/io/atomic_file.hpp"
#include "vhmn/io/json.hpp"

namespace vhmn {
namespace io {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "safetensors needs IEEE-754 float");
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8, "safetensors needs IEEE-754 double");

/// Element types of the safetensors format (the subset vhmn reads and writes).
enum class DType { BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::BOOL: return "BOOL";
    case DType::U8: return "U8";
    case DType::I8: return "I8";
    case DType::I16: return "I16";
    case DType::U16: return "U16";
    case DType::I32: return "I32";
    case DType::U32: return "U32";
    case DType::I64: return "I64";
    case DType::U64: return "U64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F32: return "F32";
    case DType::F64: return "F64";
  }
  return "?";
}

/// Bytes per element.
inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::BOOL:
    case DType::U8:
    case DType::I8: return 1;
    case DType::I16:
    case DType::U16:
    case DType::F16:
    case DType::BF16: return 2;
    case DType::I32:
    case DType::U32:
    case DType::F32: return 4;
    case DType::I64:
    case DType::U64:
    case DType::F64: return 8;
  }
  return 0;
}

/// The dtype spelled `name` ("F32", ...); false if unknown.
inline bool dtype_from_string(std::string_view name, DType* out) {
  static const DType all[] = {DType::BOOL, DType::U8,  DType::I8,  DType::I16,  DType::U16, DType::I32, DType::U32,
                              DType::I64,  DType::U64, DType::F16, DType::BF16, DType::F32, DType::F64};
  for (DType t : all) {
    if (name == dtype_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

/// Like dtype_from_string, but fails naming the unknown dtype.
inline DType dtype_from_string(std::string_view name) {
  DType t{};
  VHMN_CHECK(dtype_from_string(name, &t), "unknown safetensors dtype \"" << name << "\"");
  return t;
}

/// What this represents: one named tensor exactly as stored — its dtype,
///   shape and little-endian bytes.
/// Requires (checked when serialized): bytes.size() == numel(shape) * dtype_size(dtype).
struct RawTensor {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<std::uint8_t> bytes;

  index_t numel() const { return shape_numel(shape); }
};

/// What this represents: the contents of one safetensors file.
/// Ensures (after reading): tensors are ordered by data offset, names are
///   unique, and each tensor's bytes match its dtype and shape.
/// Writing keeps the order given here.
struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<RawTensor> tensors;

  /// The tensor named `name`, or nullptr.
  const RawTensor* find(const std::string& name) const {
    for (const RawTensor& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

/// Headers larger than this are treated as corrupt (same limit as the
/// reference implementation), so a garbage length cannot make us allocate.
inline constexpr std::uint64_t safetensors_max_header = 100000000;

namespace st_detail {

// Little-endian loads and stores by shifts: correct on any host byte order.
template <class U>
inline U load_le(const std::uint8_t* p) {
  U v = 0;
  for (std::size_t k = 0; k < sizeof(U); ++k) v |= static_cast<U>(static_cast<U>(p[k]) << (8 * k));
  return v;
}
template <class U>
inline void store_le(std::uint8_t* p, U v) {
  for (std::size_t k = 0; k < sizeof(U); ++k) p[k] = static_cast<std::uint8_t>(v >> (8 * k));
}

template <class To, class From>
inline To bit_cast(From from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast size mismatch");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

/// IEEE binary16 bits -> float (exact).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  float magnitude;
  if (exp == 0) {
    magnitude = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
  } else if (exp == 31) {
    magnitude = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  return bit_cast<float>(bit_cast<std::uint32_t>(magnitude) | sign);
}

/// float -> IEEE binary16 bits, round to nearest even; overflow gives inf.
inline std::uint16_t float_to_half(float f) {
  const std::uint32_t bits = bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>(sign | 0x7E00u);
  if (a >= 65520.0f) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds past max half
  if (a < std::ldexp(1.0f, -14)) {
    // Subnormal range: value / 2^-24, rounded to nearest even (exact in float).
    const float scaled = std::ldexp(a, 24);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  int e = 0;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  // 11 significant bits: round m * 2^11 to an integer in [1024, 2048].
  auto sig = static_cast<std::uint32_t>(std::nearbyint(std::ldexp(m, 11)));
  int biased = e - 1 + 15;
  if (sig == 2048) {
    sig = 1024;
    ++biased;
  }
  return static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(biased) << 10) | (sig & 0x3FFu));
}

inline float bf16_to_float(std::uint16_t b) { return bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

/// float -> bfloat16 bits, round to nearest even (NaN stays NaN).
inline std::uint16_t float_to_bf16(float f) {
  const std::uint32_t bits = bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

/// One element on its way between a file and a Tensor<T>, in the widest
/// type of its kind so every conversion can be checked for exactness.
struct Scalar {
  enum Kind { Float, Signed, Unsigned } kind = Float;
  double f = 0.0;
  std::int64_t s = 0;
  std::uint64_t u = 0;
};

template <class T>
inline Scalar to_scalar(T v) {
  Scalar x;
  if constexpr (std::is_floating_point_v<T>) {
    x.kind = Scalar::Float;
    x.f = static_cast<double>(v);
  } else if constexpr (std::is_signed_v<T>) {
    x.kind = Scalar::Signed;
    x.s = static_cast<std::int64_t>(v);
  } else {
    x.kind = Scalar::Unsigned;
    x.u = static_cast<std::uint64_t>(v);
  }
  return x;
}

inline std::string describe(const Scalar& x) {
  switch (x.kind) {
    case Scalar::Float: return json_detail::double_to_text(x.f, 17);
    case Scalar::Signed: return std::to_string(x.s);
    case Scalar::Unsigned: return std::to_string(x.u);
  }
  return "?";
}

/// Converts `x` to T, or returns false if T cannot hold it: integers must be
/// exact in a float T, floats must be integral and in range for an integer T,
/// and a finite double must not overflow a float T. Rounding a double to
/// float is allowed (that is what a narrower checkpoint means).
template <class T>
inline bool convert(const Scalar& x, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    if (x.kind == Scalar::Float) {
      const T v = static_cast<T>(x.f);
      if (std::isfinite(x.f) && !std::isfinite(v)) return false;
      *out = v;
      return true;
    }
    // 2^63 and 2^64 are exact in every float type; values at or past them
    // cannot cast back to the source type, so they are not exact.
    if (x.kind == Scalar::Signed) {
      const T v = static_cast<T>(x.s);
      if (v >= std::ldexp(T(1), 63) || static_cast<std::int64_t>(v) != x.s) return false;
      *out = v;
      return true;
    }
    const T v = static_cast<T>(x.u);
    if (v >= std::ldexp(T(1), 64) || static_cast<std::uint64_t>(v) != x.u) return false;
    *out = v;
    return true;
  } else {
    using L = std::numeric_limits<T>;
    if (x.kind == Scalar::Float) {
      // T's range is [-2^digits, 2^digits) (signed) or [0, 2^digits) (unsigned).
      const double limit = std::ldexp(1.0, L::digits);
      const double lower = std::is_signed_v<T> ? -limit : 0.0;
      if (!(x.f >= lower && x.f < limit) || std::trunc(x.f) != x.f) return false;
      *out = static_cast<T>(x.f);
      return true;
    }
    if (x.kind == Scalar::Signed) {
      if constexpr (std::is_signed_v<T>) {
        if (x.s < static_cast<std::int64_t>(L::min()) || x.s > static_cast<std::int64_t>(L::max())) return false;
      } else {
        if (x.s < 0 || static_cast<std::uint64_t>(x.s) > static_cast<std::uint64_t>(L::max())) return false;
      }
      *out = static_cast<T>(x.s);
      return true;
    }
    if (x.u > static_cast<std::uint64_t>(L::max())) return false;
    *out = static_cast<T>(x.u);
    return true;
  }
}

/// Reads element `p` of dtype `dt` as a Scalar; false for a BOOL byte not 0/1.
inline bool load_scalar(DType dt, const std::uint8_t* p, Scalar* x) {
  switch (dt) {
    case DType::BOOL:
      if (p[0] > 1) return false;
      *x = to_scalar<std::uint64_t>(p[0]);
      return true;
    case DType::U8: *x = to_scalar(p[0]); return true;
    case DType::I8: *x = to_scalar(static_cast<std::int8_t>(p[0])); return true;
    case DType::I16: *x = to_scalar(static_cast<std::int16_t>(load_le<std::uint16_t>(p))); return true;
    case DType::U16: *x = to_scalar(load_le<std::uint16_t>(p)); return true;
    case DType::I32: *x = to_scalar(static_cast<std::int32_t>(load_le<std::uint32_t>(p))); return true;
    case DType::U32: *x = to_scalar(load_le<std::uint32_t>(p)); return true;
    case DType::I64: *x = to_scalar(static_cast<std::int64_t>(load_le<std::uint64_t>(p))); return true;
    case DType::U64: *x = to_scalar(load_le<std::uint64_t>(p)); return true;
    case DType::F16: *x = to_scalar(half_to_float(load_le<std::uint16_t>(p))); return true;
    case DType::BF16: *x = to_scalar(bf16_to_float(load_le<std::uint16_t>(p))); return true;
    case DType::F32: *x = to_scalar(bit_cast<float>(load_le<std::uint32_t>(p))); return true;
    case DType::F64: *x = to_scalar(bit_cast<double>(load_le<std::uint64_t>(p))); return true;
  }
  return false;
}

/// Writes `x` as dtype `dt` at `p`; false if `dt` cannot hold it exactly
/// (floats may round to a narrower float, as in convert()).
inline bool store_scalar(DType dt, const Scalar& x, std::uint8_t* p) {
  switch (dt) {
    case DType::BOOL: {
      std::uint8_t v = 0;
      if (!convert(x, &v) || v > 1) return false;
      p[0] = v;
      return true;
    }
    case DType::U8: {
      std::uint8_t v = 0;
      if (!convert(x, &v)) return false;
      p[0] = v;
      return true;
    }
    case DType::I8: {
      std::int8_t v = 0;
      if (!convert(x, &v)) return false;
      p[0] = static_cast<std::uint8_t>(v);
      return true;
    }
    case DType::I16: {
      std::int16_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, static_cast<std::uint16_t>(v));
      return true;
    }
    case DType::U16: {
      std::uint16_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, v);
      return true;
    }
    case DType::I32: {
      std::int32_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, static_cast<std::uint32_t>(v));
      return true;
    }
    case DType::U32: {
      std::uint32_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, v);
      return true;
    }
    case DType::I64: {
      std::int64_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, static_cast<std::uint64_t>(v));
      return true;
    }
    case DType::U64: {
      std::uint64_t v = 0;
      if (!convert(x, &v)) return false;
      store_le(p, v);
      return true;
    }
    case DType::F16:
    case DType::BF16: {
      float v = 0.0f;
      if (!convert(x, &v)) return false;
      const std::uint16_t bits = dt == DType::F16 ? float_to_half(v) : float_to_bf16(v);
      const float back = dt == DType::F16 ? half_to_float(bits) : bf16_to_float(bits);
      if (std::isfinite(v) && !std::isfinite(back)) return false;  // overflow
      if (x.kind != Scalar::Float && back != v) return false;       // integer not exact
      store_le(p, bits);
      return true;
    }
    case DType::F32: {
      float v = 0.0f;
      if (!convert(x, &v)) return false;
      store_le(p, bit_cast<std::uint32_t>(v));
      return true;
    }
    case DType::F64: {
      double v = 0.0;
      if (!convert(x, &v)) return false;
      store_le(p, bit_cast<std::uint64_t>(v));
      return true;
    }
  }
  return false;
}

/// a * b, or false on overflow past `limit`.
inline bool mul_within(std::uint64_t a, std::uint64_t b, std::uint64_t limit, std::uint64_t* out) {
  return checked_mul(a, b, out, limit);
}

/// Checks a tensor's shape and byte count before it is written.
inline void check_raw(const RawTensor& t, const char* action) {
  for (index_t d : t.shape)
    VHMN_CHECK(d >= 0, "cannot " << action << " tensor \"" << t.name << "\": negative dimension in shape "
                                 << shape_string(t.shape));
  std::uint64_t expected = dtype_size(t.dtype);
  for (index_t d : t.shape)
    VHMN_CHECK(mul_within(expected, static_cast<std::uint64_t>(d), std::numeric_limits<std::uint64_t>::max(),
                          &expected),
               "cannot " << action << " tensor \"" << t.name << "\": shape " << shape_string(t.shape)
                         << " is too large");
  VHMN_CHECK(expected == t.bytes.size(), "cannot " << action << " tensor \"" << t.name << "\": it holds "
                                                   << t.bytes.size() << " bytes but " << dtype_name(t.dtype)
                                                   << " " << shape_string(t.shape) << " needs " << expected);
}

/// A non-negative JSON integer or fail naming `what`.
inline std::uint64_t header_uint(const Json& v, const std::string& source, const std::string& what) {
  VHMN_CHECK(v.is_int64(), "safetensors file '" << source << "': " << what << " must be an integer, got "
                                                << (v.is_number() ? "a non-integer number" : v.type_name()));
  const std::int64_t i = v.as_int64();
  VHMN_CHECK(i >= 0, "safetensors file '" << source << "': " << what << " must not be negative, got " << i);
  return static_cast<std::uint64_t>(i);
}

}  // namespace st_detail

/// Parses a whole safetensors file held in memory. `source` names it in
/// errors. Fails (never returns partial results) on any malformed input.
inline SafetensorsFile parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& source) {
  using st_detail::header_uint;
  const std::string where = "safetensors file '" + source + "'";
  VHMN_CHECK(size >= 8, where << ": file is shorter than 8 bytes (" << size
                              << " bytes), so it has no header length; not a safetensors file");
  const std::uint64_t header_len = st_detail::load_le<std::uint64_t>(data);
  VHMN_CHECK(header_len <= safetensors_max_header,
             where << ": header length " << header_len << " is absurdly large (limit " << safetensors_max_header
                   << " bytes); the file is corrupt or not safetensors");
  VHMN_CHECK(header_len <= size - 8, where << ": header length " << header_len << " runs past the end of the file ("
                                           << size << " bytes)");
  const std::size_t data_start = 8 + static_cast<std::size_t>(header_len);
  const std::uint64_t data_size = size - data_start;

  const std::string_view header_text(reinterpret_cast<const char*>(data + 8), static_cast<std::size_t>(header_len));
  const Json header = Json::parse(header_text, where + ": header");
  VHMN_CHECK(header.is_object(), where << ": header is not a JSON object (it is a " << header.type_name() << ")");

  struct Entry {
    std::uint64_t begin, end;
    std::size_t index;
  };
  SafetensorsFile file;
  std::vector<RawTensor> tensors;
  std::vector<Entry> entries;
  for (const Json::Member& member : header.as_object()) {
    const std::string& name = member.first;
    const Json& info = member.second;
    if (name == "__metadata__") {
      VHMN_CHECK(info.is_object(), where << ": __metadata__ must be an object of strings, got " << info.type_name());
      for (const Json::Member& kv : info.as_object()) {
        VHMN_CHECK(kv.second.is_string(), where << ": __metadata__ must be an object of strings, but key \""
                                                << kv.first << "\" holds a " << kv.second.type_name());
        file.metadata.emplace(kv.first, kv.second.as_string());
      }
      continue;
    }
    // Names are unique here: the JSON parser rejects duplicate keys.
    const std::string what = "tensor \"" + name + "\"";
    VHMN_CHECK(!name.empty(), where << ": tensor with an empty name");
    VHMN_CHECK(info.is_object(), where << ": " << what << " must be an object, got " << info.type_name());
    // Other fields are ignored, as the reference reader does.
    const Json* dtype = info.find("dtype");
    const Json* shape = info.find("shape");
    const Json* offsets = info.find("data_offsets");
    VHMN_CHECK(dtype, where << ": " << what << " is missing \"dtype\"");
    VHMN_CHECK(shape, where << ": " << what << " is missing \"shape\"");
    VHMN_CHECK(offsets, where << ": " << what << " is missing \"data_offsets\"");
    VHMN_CHECK(dtype->is_string(), where << ": " << what << ": dtype must be a string, got " << dtype->type_name());
    VHMN_CHECK(shape->is_array(), where << ": " << what << ": shape must be an array, got " << shape->type_name());
    VHMN_CHECK(offsets->is_array() && offsets->size() == 2,
               where << ": " << what << ": data_offsets must be an array of 2 integers [begin, end]");

    RawTensor t;
    t.name = name;
    VHMN_CHECK(dtype_from_string(dtype->as_string(), &t.dtype),
               where << ": " << what << " has unknown dtype \"" << dtype->as_string() << "\"");
    // Element count * size, with overflow detected rather than wrapped.
    std::uint64_t nbytes = dtype_size(t.dtype);
    bool fits = true;
    for (std::size_t k = 0; k < shape->size(); ++k) {
      const std::uint64_t d = header_uint(shape->at(k), source, what + ": shape entry " + std::to_string(k));
      fits = fits && st_detail::mul_within(nbytes, d, std::numeric_limits<std::uint64_t>::max(), &nbytes);
      t.shape.push_back(static_cast<index_t>(d));  // d <= INT64_MAX: it came from an int64
    }
    const std::uint64_t begin = header_uint(offsets->at(0), source, what + ": data_offsets begin");
    const std::uint64_t end = header_uint(offsets->at(1), source, what + ": data_offsets end");
    VHMN_CHECK(begin <= end, where << ": " << what << ": data_offsets begin " << begin << " > end " << end);
    VHMN_CHECK(end <= data_size, where << ": " << what << ": data_offsets [" << begin << ", " << end
                                       << "] out of bounds of the data section (" << data_size << " bytes)");
    VHMN_CHECK(fits && nbytes == end - begin,
               where << ": " << what << ": byte size " << (end - begin) << " (data_offsets [" << begin << ", " << end
                     << "]) disagrees with " << dtype_name(t.dtype) << " shape " << shape_string(t.shape)
                     << (fits ? " = " + std::to_string(nbytes) + " bytes" : std::string(" (too large)")));
    entries.push_back({begin, end, tensors.size()});
    tensors.push_back(std::move(t));
  }

  // The tensors must tile [0, data_size) exactly: no overlap, no gap.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const RawTensor* previous = nullptr;
  for (const Entry& e : entries) {
    const RawTensor& t = tensors[e.index];
    VHMN_CHECK(e.begin >= covered, where << ": tensor \"" << t.name << "\" (data_offsets [" << e.begin << ", "
                                         << e.end << "]) overlaps tensor \"" << (previous ? previous->name : "")
                                         << "\" which ends at " << covered);
    VHMN_CHECK(e.begin == covered, where << ": gap in the data section: bytes [" << covered << ", " << e.begin
                                         << ") before tensor \"" << t.name << "\" belong to no tensor");
    covered = e.end;
    previous = &t;
  }
  VHMN_CHECK(covered == data_size, where << ": gap in the data section: trailing bytes [" << covered << ", "
                                         << data_size << ") belong to no tensor");

  file.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    RawTensor& t = tensors[e.index];
    const std::uint8_t* p = data + data_start + e.begin;
    t.bytes.assign(p, p + (e.end - e.begin));
    file.tensors.push_back(std::move(t));
  }
  return file;
}

/// Reads and parses the file at `path` (a regular file only, read through
/// vhmn::read_regular_file); errors name the path.
inline SafetensorsFile read_safetensors(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_regular_file(path, "safetensors file");
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

/// The file's bytes: header (padded so data starts 8-byte aligned), then the
/// tensors' data in the order given. Fails on duplicate or reserved names
/// and on byte counts that disagree with dtype and shape.
inline std::vector<std::uint8_t> serialize_safetensors(const SafetensorsFile& file) {
  Json header = Json::object();
  if (!file.metadata.empty()) {
    Json meta = Json::object();
    for (const auto& kv : file.metadata) meta.set(kv.first, Json(kv.second));
    header.set("__metadata__", std::move(meta));
  }
  std::map<std::string_view, int> seen;
  std::uint64_t offset = 0;
  for (const RawTensor& t : file.tensors) {
    VHMN_CHECK(!t.name.empty(), "cannot write a tensor with an empty name");
    VHMN_CHECK(t.name != "__metadata__", "cannot write a tensor named \"__metadata__\" (reserved)");
    VHMN_CHECK(seen.emplace(t.name, 0).second, "cannot write duplicate tensor name \"" << t.name << "\"");
    st_detail::check_raw(t, "write");
    Json shape = Json::array();
    for (index_t d : t.shape) shape.push_back(Json(static_cast<std::int64_t>(d)));
    Json offsets = Json::array();
    offsets.push_back(Json(static_cast<std::int64_t>(offset)));
    offset += t.bytes.size();
    offsets.push_back(Json(static_cast<std::int64_t>(offset)));
    Json info = Json::object();
    info.set("dtype", Json(dtype_name(t.dtype)));
    info.set("shape", std::move(shape));
    info.set("data_offsets", std::move(offsets));
    header.set(t.name, std::move(info));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // 8 + N is then a multiple of 8
  VHMN_CHECK(text.size() <= safetensors_max_header, "cannot write safetensors: header of " << text.size()
                                                        << " bytes exceeds the limit " << safetensors_max_header);

  std::vector<std::uint8_t> out(8 + text.size());
  out.reserve(out.size() + static_cast<std::size_t>(offset));
  st_detail::store_le<std::uint64_t>(out.data(), text.size());
  std::memcpy(out.data() + 8, text.data(), text.size());
  for (const RawTensor& t : file.tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

/// Writes `file` to `path` atomically and durably (io/atomic_file.hpp):
/// a fresh temporary next to `path`, fsynced, renamed over `path`, then the
/// directory fsynced. On any failure the temporary is removed and an
/// existing `path` is left untouched.
inline void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  const std::vector<std::uint8_t> bytes = serialize_safetensors(file);  // fails before touching disk
  write_file_atomic(path, bytes.data(), bytes.size(), "safetensors file");
}

/// Converts a stored tensor to Tensor<T>. Fails, naming the tensor and the
/// element, when a value does not fit T: integers that a float T cannot hold
/// exactly, non-integral or out-of-range floats into an integer T, finite
/// values that overflow a float T, or BOOL bytes other than 0/1.
template <class T>
Tensor<T> to_tensor(const RawTensor& raw) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "to_tensor needs a numeric T");
  st_detail::check_raw(raw, "convert");
  Tensor<T> out(raw.shape);
  const std::size_t esize = dtype_size(raw.dtype);
  const std::uint8_t* p = raw.bytes.data();
  const index_t n = out.numel();
  for (index_t i = 0; i < n; ++i, p += esize) {
    st_detail::Scalar x;
    if (!st_detail::load_scalar(raw.dtype, p, &x))
      VHMN_FAIL("tensor \"" << raw.name << "\": element " << i << " is not a valid " << dtype_name(raw.dtype)
                            << " value (byte " << static_cast<int>(p[0]) << ")");
    if (!st_detail::convert(x, &out[i]))
      VHMN_FAIL("tensor \"" << raw.name << "\": element " << i << " (" << dtype_name(raw.dtype) << " "
                            << st_detail::describe(x) << ") cannot be represented exactly enough in the requested "
                            << (std::is_floating_point_v<T> ? "floating" : "integer") << " type of "
                            << sizeof(T) << " bytes");
  }
  return out;
}

/// Stores `t` as dtype `dtype` under `name`. Fails, naming the tensor and
/// element, when a value does not fit the dtype (same rules as to_tensor).
template <class T>
RawTensor make_raw(const std::string& name, const Tensor<T>& t, DType dtype) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "make_raw needs a numeric T");
  RawTensor raw;
  raw.name = name;
  raw.dtype = dtype;
  raw.shape = t.shape();
  const std::size_t esize = dtype_size(dtype);
  raw.bytes.resize(static_cast<std::size_t>(t.numel()) * esize);
  std::uint8_t* p = raw.bytes.data();
  for (index_t i = 0; i < t.numel(); ++i, p += esize) {
    const st_detail::Scalar x = st_detail::to_scalar(t[i]);
    if (!st_detail::store_scalar(dtype, x, p))
      VHMN_FAIL("tensor \"" << name << "\": element " << i << " (" << st_detail::describe(x)
                            << ") cannot be stored as " << dtype_name(dtype));
  }
  return raw;
}

/// A 1-d I64 tensor `[values.size()]` (e.g. `blocks.i.local.writes`).
inline RawTensor make_raw_i64(const std::string& name, const std::vector<std::int64_t>& values) {
  Tensor<std::int64_t> t({static_cast<index_t>(values.size())});
  std::copy(values.begin(), values.end(), t.begin());
  return make_raw(name, t, DType::I64);
}

/// The elements of an integer tensor of any shape, flattened, as int64.
inline std::vector<std::int64_t> to_int64_vector(const RawTensor& raw) {
  const Tensor<std::int64_t> t = to_tensor<std::int64_t>(raw);
  return std::vector<std::int64_t>(t.begin(), t.end());
}

}  // namespace io
}  // namespace vhmn
