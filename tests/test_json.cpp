// Tests for vhmn/io/json.hpp: round trips, exact numbers, escapes, Unicode,
// and one case per parse error, each checking the message names the problem.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "vhmn/io/json.hpp"

using vhmn::io::Json;

namespace {

// Parses, dumps, parses again: the value and the text are both stable.
void check_round_trip(const std::string& text, const std::string& expected_dump) {
  const Json v = Json::parse(text);
  CHECK(v.dump() == expected_dump);
  const Json again = Json::parse(v.dump());
  CHECK(again == v);
  CHECK(again.dump() == expected_dump);
}

#define CHECK_JSON_ERROR(text, problem) \
  CHECK_THROWS_WITH_AS(Json::parse(text), doctest::Contains(problem), vhmn::Error)

}  // namespace

TEST_CASE("json: literals, numbers and containers round trip compactly") {
  check_round_trip("null", "null");
  check_round_trip(" true ", "true");
  check_round_trip("false", "false");
  check_round_trip("0", "0");
  check_round_trip("-12", "-12");
  check_round_trip("\"hi\"", "\"hi\"");
  check_round_trip("[ ]", "[]");
  check_round_trip("{ }", "{}");
  check_round_trip("[1, 2.5, \"x\", [true, null], {\"a\": {}}]", "[1,2.5,\"x\",[true,null],{\"a\":{}}]");
  check_round_trip("\t\r\n{\"b\" : 1 ,\n \"a\" : [ -0.5e1 ] }\n", "{\"b\":1,\"a\":[-5.0]}");
}

TEST_CASE("json: integers are exact in int64, doubles round trip bit-exact") {
  const Json big = Json::parse("9223372036854775807");
  CHECK(big.is_int64());
  CHECK(big.as_int64() == std::numeric_limits<std::int64_t>::max());
  CHECK(big.dump() == "9223372036854775807");
  const Json small = Json::parse("-9223372036854775808");
  CHECK(small.as_int64() == std::numeric_limits<std::int64_t>::min());
  CHECK(small.dump() == "-9223372036854775808");

  // Beyond int64: still a number, but not an exact integer.
  const Json over = Json::parse("9223372036854775808");
  CHECK(over.is_number());
  CHECK_FALSE(over.is_int64());
  CHECK(over.as_double() == 9223372036854775808.0);
  CHECK_THROWS_WITH_AS(over.as_int64(), doctest::Contains("not an exact int64"), vhmn::Error);

  // Written with a fraction or exponent: not an integer, even if integral.
  CHECK_THROWS_WITH_AS(Json::parse("1.0").as_int64(), doctest::Contains("not an exact int64"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json::parse("1e3").as_int64(), doctest::Contains("not an exact int64"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json::parse("1.5").as_int64(), doctest::Contains("not an exact int64"), vhmn::Error);
  CHECK(Json::parse("1e3").as_double() == 1000.0);

  const double values[] = {0.1,     1.0 / 3.0, -2.5e-300, 1.7976931348623157e308, 4.9406564584124654e-324,
                           123456.0, 1e21,      -0.0,      3.141592653589793,      0.30000000000000004};
  for (double d : values) {
    const std::string text = Json(d).dump();
    const Json back = Json::parse(text);
    CAPTURE(text);
    CHECK_FALSE(back.is_int64());  // a double stays a double
    CHECK(back.as_double() == d);
    CHECK(std::signbit(back.as_double()) == std::signbit(d));
  }
  CHECK(Json(0.1).dump() == "0.1");  // shortest form that reads back exactly
  CHECK(Json(1.0).dump() == "1.0");
  CHECK(Json(-0.0).dump() == "-0.0");
  CHECK(Json(0.30000000000000004).dump() == "0.30000000000000004");
  CHECK(Json(std::int64_t{42}).dump() == "42");
  CHECK(Json(7u).as_int64() == 7);
  CHECK(Json::parse("-0").as_int64() == 0);
  CHECK(Json::parse("1E+2").as_double() == 100.0);
  CHECK(Json::parse("1e-400").as_double() == 0.0);  // underflow to zero is fine
}

TEST_CASE("json: dump rejects non-finite numbers") {
  CHECK_THROWS_WITH_AS(Json(std::numeric_limits<double>::quiet_NaN()).dump(), doctest::Contains("non-finite"),
                       vhmn::Error);
  CHECK_THROWS_WITH_AS(Json(std::numeric_limits<double>::infinity()).dump(), doctest::Contains("non-finite"),
                       vhmn::Error);
  Json arr = Json::array();
  arr.push_back(Json(-std::numeric_limits<double>::infinity()));
  CHECK_THROWS_WITH_AS(arr.dump(), doctest::Contains("non-finite"), vhmn::Error);
}

TEST_CASE("json: string escaping in both directions") {
  const Json s = Json::parse(R"("q\" b\\ s\/ \b\f\n\r\t \u0001\u001F end")");
  CHECK(s.as_string() == "q\" b\\ s/ \b\f\n\r\t \x01\x1f end");
  CHECK(s.dump() == R"("q\" b\\ s/ \b\f\n\r\t \u0001\u001f end")");
  CHECK(Json::parse(s.dump()) == s);

  // A NUL inside a string survives both ways.
  const Json nul = Json::parse(R"("a\u0000b")");
  CHECK(nul.as_string() == std::string("a\0b", 3));
  CHECK(nul.dump() == R"("a\u0000b")");
  CHECK(Json(std::string("\x7f")).dump() == "\"\x7f\"");
}

TEST_CASE("json: unicode escapes become UTF-8, surrogate pairs included") {
  CHECK(Json::parse(R"("\u00e9")").as_string() == "\xC3\xA9");                      // é
  CHECK(Json::parse(R"("\u20AC")").as_string() == "\xE2\x82\xAC");                  // €
  CHECK(Json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");        // U+1F600
  CHECK(Json::parse(R"("\uDBFF\uDFFF")").as_string() == "\xF4\x8F\xBF\xBF");        // U+10FFFF
  CHECK(Json::parse(R"("\u007f\u0080\u07ff\u0800\uffff")").as_string() ==
        "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF");
  // Raw UTF-8 passes through unchanged and is written back raw.
  const std::string raw = "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"";
  CHECK(Json::parse(raw).as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(Json::parse(raw).dump() == raw);
  // Keys are strings too.
  CHECK(Json::parse(R"({"\u00e9":1})").contains("\xC3\xA9"));
}

TEST_CASE("json: objects keep insertion order; builders and accessors") {
  Json o = Json::object();
  o.set("z", Json(1)).set("a", Json("x")).set("m", Json::array());
  CHECK(o.dump() == R"({"z":1,"a":"x","m":[]})");
  o.set("z", Json(true));  // replaces in place, keeps position
  CHECK(o.dump() == R"({"z":true,"a":"x","m":[]})");
  CHECK(o.size() == 3);
  CHECK(o.contains("a"));
  CHECK_FALSE(o.contains("b"));
  CHECK(o.find("b") == nullptr);
  CHECK(o.at("a").as_string() == "x");
  CHECK(o.as_object()[2].first == "m");
  CHECK_THROWS_WITH_AS(o.at("b"), doctest::Contains("no key \"b\""), vhmn::Error);

  Json a = Json::array();
  a.push_back(Json(1)).push_back(Json(nullptr)).push_back(Json(2.5));
  CHECK(a.dump() == "[1,null,2.5]");
  CHECK(a.at(0).as_int64() == 1);
  CHECK(a.at(1).is_null());
  CHECK(a.as_array().size() == 3);
  CHECK_THROWS_WITH_AS(a.at(3), doctest::Contains("out of range"), vhmn::Error);

  // Wrong-kind access names both kinds.
  CHECK_THROWS_WITH_AS(a.as_object(), doctest::Contains("expected JSON object, got array"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json("s").as_double(), doctest::Contains("expected JSON number, got string"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json(1).as_string(), doctest::Contains("expected JSON string, got number"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json().as_bool(), doctest::Contains("expected JSON bool, got null"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json(1).push_back(Json(2)), doctest::Contains("expected JSON array"), vhmn::Error);
  CHECK_THROWS_WITH_AS(Json(1).set("k", Json(2)), doctest::Contains("expected JSON object"), vhmn::Error);
  CHECK(Json(true).as_bool());
  CHECK(Json::parse(R"({"a":[1,{"b":null}]})") == Json::parse(R"({ "a" : [ 1 , { "b" : null } ] })"));
  CHECK(Json::parse(R"({"a":1,"b":2})") != Json::parse(R"({"b":2,"a":1})"));  // order matters
}

TEST_CASE("json: a metrics line is one compact line") {
  Json line = Json::object();
  line.set("step", Json(std::int64_t{100})).set("loss", Json(0.25)).set("note", Json("a\nb"));
  const std::string text = line.dump();
  CHECK(text == R"({"step":100,"loss":0.25,"note":"a\nb"})");
  CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("json: every parse error names the byte offset and the problem") {
  CHECK_JSON_ERROR("", "at byte 0: unexpected end of input, expected a value");
  CHECK_JSON_ERROR("   ", "at byte 3: unexpected end of input");
  CHECK_JSON_ERROR("[1,]", "at byte 3: invalid token ']', expected a value");
  CHECK_JSON_ERROR("@", "invalid token '@'");
  CHECK_JSON_ERROR("tru", "expected 'true'");
  CHECK_JSON_ERROR("nul", "expected 'null'");
  CHECK_JSON_ERROR("falsy", "expected 'false'");
  CHECK_JSON_ERROR("NaN", "invalid token 'N'");
  CHECK_JSON_ERROR("'a'", "invalid token");
  CHECK_JSON_ERROR("[1 2]", "at byte 3: expected ',' or ']' in array");
  CHECK_JSON_ERROR("[1", "expected ',' or ']' in array");
  CHECK_JSON_ERROR("{\"a\" 1}", "at byte 5: expected ':' after object key");
  CHECK_JSON_ERROR("{\"a\":1 \"b\":2}", "expected ',' or '}' in object");
  CHECK_JSON_ERROR("{\"a\":1", "expected ',' or '}' in object");
  CHECK_JSON_ERROR("{a:1}", "at byte 1: expected a string key in object");
  CHECK_JSON_ERROR("{\"a\":1,}", "expected a string key in object");
  CHECK_JSON_ERROR("{\"a\":1,\"a\":2}", "at byte 7: duplicate key \"a\" in object");
  CHECK_JSON_ERROR("\"abc", "at byte 0: unterminated string");
  CHECK_JSON_ERROR("\"abc\\", "unterminated string");
  CHECK_JSON_ERROR("\"a\\qb\"", "at byte 2: bad escape '\\q' in string");
  CHECK_JSON_ERROR("\"a\nb\"", "at byte 2: control character byte 0x0a in string");
  CHECK_JSON_ERROR(std::string("\"a\0b\"", 5), "control character byte 0x00 in string");
  CHECK_JSON_ERROR("\"\\u12\"", "bad \\u escape, expected 4 hex digits");
  CHECK_JSON_ERROR("\"\\u12G4\"", "bad \\u escape, expected 4 hex digits");
  CHECK_JSON_ERROR("\"\\ud83d\"", "high surrogate not followed by a \\u low surrogate");
  CHECK_JSON_ERROR("\"\\ud83dx\"", "high surrogate not followed");
  CHECK_JSON_ERROR("\"\\ud83d\\u0041\"", "high surrogate not followed by a low surrogate");
  CHECK_JSON_ERROR("\"\\ude00\"", "lone low surrogate");
  CHECK_JSON_ERROR("\"\xC3\"", "at byte 1: invalid UTF-8 in string");
  CHECK_JSON_ERROR("\"\xC0\xAF\"", "invalid UTF-8");       // overlong '/'
  CHECK_JSON_ERROR("\"\xED\xA0\x80\"", "invalid UTF-8");   // encoded surrogate
  CHECK_JSON_ERROR("\"\xF4\x90\x80\x80\"", "invalid UTF-8");  // past U+10FFFF
  CHECK_JSON_ERROR("\"\xFF\"", "invalid UTF-8");
  CHECK_JSON_ERROR("-", "invalid number, expected a digit");
  CHECK_JSON_ERROR("+1", "invalid token '+'");
  CHECK_JSON_ERROR(".5", "invalid token '.'");
  CHECK_JSON_ERROR("01", "at byte 0: invalid number, leading zeros are not allowed");
  CHECK_JSON_ERROR("-01", "leading zeros");
  CHECK_JSON_ERROR("1.", "expected a digit after '.'");
  CHECK_JSON_ERROR("1.e5", "expected a digit after '.'");
  CHECK_JSON_ERROR("1e", "expected a digit in the exponent");
  CHECK_JSON_ERROR("1e+", "expected a digit in the exponent");
  CHECK_JSON_ERROR("1e400", "out of range");
  CHECK_JSON_ERROR("-1e400", "out of range");
  CHECK_JSON_ERROR("1 2", "at byte 2: trailing characters after the JSON value (found '2')");
  CHECK_JSON_ERROR("{} x", "trailing characters");
  CHECK_JSON_ERROR("[]]", "trailing characters");
  CHECK_JSON_ERROR("\xEF\xBB\xBF{}", "invalid token byte 0xef");  // no BOM allowed
  CHECK_JSON_ERROR("/*c*/1", "invalid token '/'");
}

TEST_CASE("json: nesting is limited to 128 levels") {
  const auto nested = [](int depth, char open, char close) {
    return std::string(static_cast<std::size_t>(depth), open) + std::string(static_cast<std::size_t>(depth), close);
  };
  CHECK(Json::parse(nested(128, '[', ']')).is_array());
  CHECK_JSON_ERROR(nested(129, '[', ']'), "at byte 128: nesting deeper than 128 levels");
  CHECK_JSON_ERROR(nested(100000, '[', ']'), "nesting deeper than 128 levels");  // no stack overflow
  std::string objects;
  for (int i = 0; i < 129; ++i) objects += "{\"k\":";
  objects += "1" + std::string(129, '}');
  CHECK_JSON_ERROR(objects, "nesting deeper than 128 levels");
}

TEST_CASE("json: a context prefixes parse errors") {
  CHECK_THROWS_WITH_AS(Json::parse("[", "model.safetensors: header"),
                       doctest::Contains("model.safetensors: header: invalid JSON at byte 1"), vhmn::Error);
}

TEST_CASE("json: dump refuses strings that are not UTF-8") {
  CHECK_THROWS_WITH_AS(Json(std::string("a\xFF")).dump(), doctest::Contains("invalid UTF-8"), vhmn::Error);
  Json o = Json::object();
  o.set(std::string("\xC3"), Json(1));
  CHECK_THROWS_WITH_AS(o.dump(), doctest::Contains("invalid UTF-8"), vhmn::Error);
}
