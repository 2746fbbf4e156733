// vhmn/io/json.hpp — a small, strict JSON value with a parser and a writer.
//
// Used for the safetensors header (docs/spec.md §7) and for metrics.jsonl
// lines. Strict on purpose: a checkpoint header that is only "almost JSON"
// is a corrupt file, so the parser accepts exactly RFC 8259 text (UTF-8,
// no comments, no trailing commas, no NaN) and says where it stopped.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vhmn/core/error.hpp"

namespace vhmn {
namespace io {

namespace json_detail {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
/// (overlong forms, surrogates and code points past U+10FFFF are invalid).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return len;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// A byte as it should appear in an error message: 'x' or 0xNN.
inline std::string describe_byte(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  if (c >= 0x21 && c < 0x7F) return std::string("'") + ch + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

/// Decimal text -> double, independent of the global C/C++ locale.
inline double text_to_double(const std::string& text, bool* ok) {
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  double v = 0.0;
  in >> v;
  *ok = !in.fail() && std::isfinite(v);
  return v;
}

inline std::string double_to_text(double v, int precision) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.precision(precision);
  out << v;
  return out.str();
}

}  // namespace json_detail

/// What this represents: one JSON value — null, bool, number, string, array
///   or object. A number keeps its double value and, when it was written as
///   an integer (or built from one) that fits, its exact int64 value.
///   Objects keep their members in insertion order.
/// Requires: as_*() / at() only on values of the matching kind (checked).
/// Ensures: parse() accepts only strict JSON, rejects duplicate keys and
///   nesting deeper than max_depth, and fails with the byte offset and what
///   was expected; dump() writes compact JSON that parse() reads back equal.
class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Member = std::pair<std::string, Json>;
  static constexpr int max_depth = 128;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double d) : type_(Type::Number), double_(d) {}
  Json(float f) : Json(static_cast<double>(f)) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Json(I v) : type_(Type::Number) {
    if constexpr (std::is_unsigned_v<I>) {
      VHMN_CHECK(static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
                 "JSON integer " << v << " does not fit in int64");
    }
    int_ = static_cast<std::int64_t>(v);
    is_int_ = true;
    double_ = static_cast<double>(int_);
  }
  Json(const char* s) : type_(Type::String), string_(s) {}
  Json(std::string s) : type_(Type::String), string_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::String), string_(s) {}

  static Json array() {
    Json j;
    j.type_ = Type::Array;
    return j;
  }
  static Json object() {
    Json j;
    j.type_ = Type::Object;
    return j;
  }

  /// Parses strict JSON text. `context` (e.g. a file name) prefixes errors.
  static Json parse(std::string_view text, std::string_view context = {});

  /// Compact JSON text. Fails on non-finite numbers and invalid UTF-8 strings.
  std::string dump() const {
    std::string out;
    dump_to(out);
    return out;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  /// True for numbers holding an exact int64 (written without '.'/exponent).
  bool is_int64() const { return type_ == Type::Number && is_int_; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  static const char* type_name(Type t) {
    switch (t) {
      case Type::Null: return "null";
      case Type::Bool: return "bool";
      case Type::Number: return "number";
      case Type::String: return "string";
      case Type::Array: return "array";
      case Type::Object: return "object";
    }
    return "?";
  }
  const char* type_name() const { return type_name(type_); }

  bool as_bool() const {
    expect(Type::Bool);
    return bool_;
  }
  double as_double() const {
    expect(Type::Number);
    return double_;
  }
  /// The exact integer; fails for 1.5, 1.0, 1e3 or integers beyond int64.
  std::int64_t as_int64() const {
    expect(Type::Number);
    VHMN_CHECK(is_int_, "JSON number " << json_detail::double_to_text(double_, 17)
                                       << " is not an exact int64 integer");
    return int_;
  }
  const std::string& as_string() const {
    expect(Type::String);
    return string_;
  }
  const std::vector<Json>& as_array() const {
    expect(Type::Array);
    return array_;
  }
  const std::vector<Member>& as_object() const {
    expect(Type::Object);
    return object_;
  }

  /// Number of array elements or object members.
  std::size_t size() const {
    VHMN_CHECK(is_array() || is_object(), "JSON " << type_name() << " has no size");
    return is_array() ? array_.size() : object_.size();
  }
  const Json& at(std::size_t i) const {
    expect(Type::Array);
    VHMN_CHECK(i < array_.size(), "JSON array index " << i << " out of range (size " << array_.size() << ")");
    return array_[i];
  }
  /// The member named `key`, or nullptr. Linear: objects here are small.
  const Json* find(std::string_view key) const {
    expect(Type::Object);
    for (const Member& m : object_)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const Json& at(std::string_view key) const {
    const Json* v = find(key);
    VHMN_CHECK(v != nullptr, "JSON object has no key \"" << key << "\"");
    return *v;
  }

  /// Appends to an array.
  Json& push_back(Json value) {
    expect(Type::Array);
    array_.push_back(std::move(value));
    return *this;
  }
  /// Sets `key` in an object: replaces the value in place, or appends.
  Json& set(std::string_view key, Json value) {
    expect(Type::Object);
    for (Member& m : object_) {
      if (m.first == key) {
        m.second = std::move(value);
        return *this;
      }
    }
    object_.emplace_back(std::string(key), std::move(value));
    return *this;
  }

  /// Deep equality; numbers compare exactly as int64 when both are, else as double.
  friend bool operator==(const Json& a, const Json& b) {
    if (a.type_ != b.type_) return false;
    switch (a.type_) {
      case Type::Null: return true;
      case Type::Bool: return a.bool_ == b.bool_;
      case Type::Number: return (a.is_int_ && b.is_int_) ? a.int_ == b.int_ : a.double_ == b.double_;
      case Type::String: return a.string_ == b.string_;
      case Type::Array: return a.array_ == b.array_;
      case Type::Object: return a.object_ == b.object_;
    }
    return false;
  }
  friend bool operator!=(const Json& a, const Json& b) { return !(a == b); }

 private:
  class Parser;

  void expect(Type t) const {
    VHMN_CHECK(type_ == t, "expected JSON " << type_name(t) << ", got " << type_name());
  }

  static void dump_string(std::string& out, const std::string& s) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        // Pass valid UTF-8 through; refuse to write text our parser would reject.
        const std::size_t len = json_detail::utf8_sequence_length(s, i);
        VHMN_CHECK(len != 0, "cannot write JSON string with invalid UTF-8 at byte " << i);
        out.append(s, i, len);
        i += len;
        continue;
      }
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
    }
    out += '"';
  }

  static void dump_number(std::string& out, const Json& j) {
    if (j.is_int_) {
      out += std::to_string(j.int_);
      return;
    }
    VHMN_CHECK(std::isfinite(j.double_), "cannot write non-finite number " << j.double_ << " as JSON");
    // Shortest of %.15g..%.17g that reads back bit-exact (17 always does),
    // so 0.1 prints as 0.1 in metrics lines instead of 0.10000000000000001.
    std::string text;
    for (int precision = 15; precision <= 17; ++precision) {
      text = json_detail::double_to_text(j.double_, precision);
      bool ok = false;
      if (json_detail::text_to_double(text, &ok) == j.double_ && ok) break;
    }
    // Keep it a non-integer on re-parse: 1.0 stays "1.0", not the integer 1.
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    out += text;
  }

  void dump_to(std::string& out) const {
    switch (type_) {
      case Type::Null: out += "null"; break;
      case Type::Bool: out += bool_ ? "true" : "false"; break;
      case Type::Number: dump_number(out, *this); break;
      case Type::String: dump_string(out, string_); break;
      case Type::Array:
        out += '[';
        for (std::size_t i = 0; i < array_.size(); ++i) {
          if (i) out += ',';
          array_[i].dump_to(out);
        }
        out += ']';
        break;
      case Type::Object:
        out += '{';
        for (std::size_t i = 0; i < object_.size(); ++i) {
          if (i) out += ',';
          dump_string(out, object_[i].first);
          out += ':';
          object_[i].second.dump_to(out);
        }
        out += '}';
        break;
    }
  }

  Type type_ = Type::Null;
  bool bool_ = false;
  bool is_int_ = false;
  std::int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<Json> array_;
  std::vector<Member> object_;
};

/// Recursive-descent parser over the text; pos_ is the byte offset in errors.
class Json::Parser {
 public:
  Parser(std::string_view text, std::string_view context) : text_(text), context_(context) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != text_.size()) fail("trailing characters after the JSON value (found " + found() + ")");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const {
    if (context_.empty()) {
      VHMN_FAIL("invalid JSON at byte " << pos << ": " << what);
    } else {
      VHMN_FAIL(context_ << ": invalid JSON at byte " << pos << ": " << what);
    }
  }
  std::string found() const {
    return pos_ < text_.size() ? json_detail::describe_byte(text_[pos_]) : std::string("end of input");
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  Json parse_value(int depth) {
    if (at_end()) fail("unexpected end of input, expected a value");
    switch (peek()) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Json(parse_string());
      case 't': parse_literal("true"); return Json(true);
      case 'f': parse_literal("false"); return Json(false);
      case 'n': parse_literal("null"); return Json();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
        fail("invalid token " + found() + ", expected a value");
    }
  }

  void parse_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid token, expected '" + std::string(word) + "'");
    pos_ += word.size();
  }

  void check_depth(int depth) const {
    if (depth > Json::max_depth)
      fail("nesting deeper than " + std::to_string(Json::max_depth) + " levels");
  }

  Json parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Json arr = Json::array();
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      skip_ws();
      arr.array_.push_back(parse_value(depth));
      skip_ws();
      if (at_end()) fail("unexpected end of input, expected ',' or ']' in array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return arr;
      }
      fail("expected ',' or ']' in array, found " + found());
    }
  }

  Json parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Json obj = Json::object();
    std::unordered_set<std::string> keys;  // duplicate detection without O(n^2)
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skip_ws();
      if (at_end() || peek() != '"') fail("expected a string key in object, found " + found());
      const std::size_t key_pos = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) fail_at(key_pos, "duplicate key \"" + key + "\" in object");
      skip_ws();
      if (at_end() || peek() != ':') fail("expected ':' after object key, found " + found());
      ++pos_;
      skip_ws();
      Json value = parse_value(depth);
      obj.object_.emplace_back(std::move(key), std::move(value));
      skip_ws();
      if (at_end()) fail("unexpected end of input, expected ',' or '}' in object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return obj;
      }
      fail("expected ',' or '}' in object, found " + found());
    }
  }

  std::uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("bad \\u escape, expected 4 hex digits");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_ + static_cast<std::size_t>(k)];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail("bad \\u escape, expected 4 hex digits");
    }
    pos_ += 4;
    return v;
  }

  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail_at(start, "unterminated string");
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("control character " + json_detail::describe_byte(peek()) + " in string (must be escaped)");
      if (c >= 0x80) {
        const std::size_t len = json_detail::utf8_sequence_length(text_, pos_);
        if (len == 0) fail("invalid UTF-8 in string");
        out.append(text_.substr(pos_, len));
        pos_ += len;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      const std::size_t escape_pos = pos_;
      ++pos_;
      if (at_end()) fail_at(start, "unterminated string");
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at(escape_pos, "bad \\u escape: lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by a \u low surrogate.
            if (text_.substr(pos_, 2) != "\\u")
              fail_at(escape_pos, "bad \\u escape: high surrogate not followed by a \\u low surrogate");
            pos_ += 2;
            const std::uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF)
              fail_at(escape_pos, "bad \\u escape: high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          json_detail::append_utf8(out, cp);
          break;
        }
        default:
          fail_at(escape_pos, "bad escape '\\" + std::string(1, e) + "' in string");
      }
    }
  }

  Json parse_number() {
    const std::size_t start = pos_;
    const auto digit = [&] { return !at_end() && peek() >= '0' && peek() <= '9'; };
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!digit()) fail("invalid number, expected a digit, found " + found());
    if (peek() == '0') {
      ++pos_;
      if (digit()) fail_at(start, "invalid number, leading zeros are not allowed");
    } else {
      while (digit()) ++pos_;
    }
    bool integral = true;
    if (!at_end() && peek() == '.') {
      integral = false;
      ++pos_;
      if (!digit()) fail("invalid number, expected a digit after '.', found " + found());
      while (digit()) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digit()) fail("invalid number, expected a digit in the exponent, found " + found());
      while (digit()) ++pos_;
    }
    const std::string text(text_.substr(start, pos_ - start));
    Json j;
    j.type_ = Type::Number;
    if (integral) {
      // Accumulate as a negative magnitude so INT64_MIN fits.
      std::int64_t acc = 0;
      bool fits = true;
      constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
      for (std::size_t k = negative ? 1 : 0; k < text.size(); ++k) {
        const int d = text[k] - '0';
        if (acc < (min + d) / 10) {
          fits = false;
          break;
        }
        acc = acc * 10 - d;
      }
      if (fits && !negative && acc == min) fits = false;
      if (fits) {
        j.int_ = negative ? acc : -acc;
        j.is_int_ = true;
        j.double_ = static_cast<double>(j.int_);
        return j;
      }
    }
    bool ok = false;
    j.double_ = json_detail::text_to_double(text, &ok);
    if (!ok) fail_at(start, "number " + text + " is out of range for a double");
    return j;
  }

  std::string_view text_;
  std::string_view context_;
  std::size_t pos_ = 0;
};

inline Json Json::parse(std::string_view text, std::string_view context) {
  return Parser(text, context).parse_document();
}

}  // namespace io
}  // namespace vhmn
