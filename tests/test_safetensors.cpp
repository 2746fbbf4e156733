// Tests for vhmn/io/safetensors.hpp: golden bytes worked out by hand,
// bit-exact round trips, dtype conversions, one case per malformed file
// (each checking the message names the file and the problem), and atomic
// writes that leave the old file alone when they fail.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vhmn/io/safetensors.hpp"

namespace fs = std::filesystem;
using vhmn::Shape;
using vhmn::Tensor;
using vhmn::io::DType;
using vhmn::io::RawTensor;
using vhmn::io::SafetensorsFile;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Substring matcher for messages built at run time (doctest::String has no
// implicit conversion from std::string).
doctest::Contains has(const std::string& part) { return doctest::Contains(part.c_str()); }

Bytes le64(std::uint64_t v) {
  Bytes b(8);
  for (int k = 0; k < 8; ++k) b[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(v >> (8 * k));
  return b;
}

// A file from a header text and a data section, with the true header length.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  // sized up front: GCC 12 reports a false -Warray-bounds for insert() here
  Bytes out(8 + header.size() + data.size());
  const Bytes len = le64(header.size());
  std::copy(len.begin(), len.end(), out.begin());
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}

SafetensorsFile parse(const Bytes& b) { return vhmn::io::parse_safetensors(b.data(), b.size(), "bad.safetensors"); }

// Every malformed file must fail naming the source and the specific problem.
#define CHECK_BAD_FILE(bytes, problem)                                                                   \
  do {                                                                                                   \
    CHECK_THROWS_WITH_AS(parse(bytes), doctest::Contains("safetensors file 'bad.safetensors'"), vhmn::Error); \
    CHECK_THROWS_WITH_AS(parse(bytes), doctest::Contains(problem), vhmn::Error);                         \
  } while (0)

RawTensor raw(const std::string& name, DType dtype, Shape shape, Bytes bytes) {
  RawTensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes = std::move(bytes);
  return t;
}

Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(gen() & 0xFF);
  return b;
}

Bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const fs::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A fresh scratch directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("vhmn_st_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    return names;
  }
};

void check_same(const SafetensorsFile& a, const SafetensorsFile& b) {
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    CAPTURE(a.tensors[i].name);
    CHECK(a.tensors[i].name == b.tensors[i].name);
    CHECK(a.tensors[i].dtype == b.tensors[i].dtype);
    CHECK(a.tensors[i].shape == b.tensors[i].shape);
    CHECK(a.tensors[i].bytes == b.tensors[i].bytes);
  }
}

}  // namespace

TEST_CASE("safetensors: dtype names and sizes") {
  const DType all[] = {DType::BOOL, DType::U8,  DType::I8,  DType::I16,  DType::U16, DType::I32, DType::U32,
                       DType::I64,  DType::U64, DType::F16, DType::BF16, DType::F32, DType::F64};
  const std::size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 2, 2, 4, 8};
  for (std::size_t i = 0; i < 13; ++i) {
    CHECK(vhmn::io::dtype_from_string(vhmn::io::dtype_name(all[i])) == all[i]);
    CHECK(vhmn::io::dtype_size(all[i]) == sizes[i]);
  }
  CHECK(std::string(vhmn::io::dtype_name(DType::BF16)) == "BF16");
  CHECK_THROWS_WITH_AS(vhmn::io::dtype_from_string("f32"), doctest::Contains("unknown safetensors dtype \"f32\""),
                       vhmn::Error);
}

TEST_CASE("safetensors: golden bytes of a one-tensor file") {
  // w = [1.0f, -2.0f] as F32 [2]. Header text (54 bytes):
  //   {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}
  // padded with 2 spaces to 56 so the data starts at 8 + 56 = 64.
  // 1.0f = 0x3F800000 and -2.0f = 0xC0000000, little-endian.
  SafetensorsFile file;
  Tensor<float> w({2});
  w[0] = 1.0f;
  w[1] = -2.0f;
  file.tensors.push_back(vhmn::io::make_raw("w", w, DType::F32));
  const Bytes bytes = vhmn::io::serialize_safetensors(file);

  const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ";
  REQUIRE(header.size() == 56);
  Bytes expected = {0x38, 0, 0, 0, 0, 0, 0, 0};  // 56
  expected.insert(expected.end(), header.begin(), header.end());
  const Bytes data = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0};
  expected.insert(expected.end(), data.begin(), data.end());
  CHECK(bytes == expected);

  // And the reader takes the same bytes apart.
  const SafetensorsFile back = parse(expected);
  CHECK(back.metadata.empty());
  REQUIRE(back.tensors.size() == 1);
  CHECK(back.tensors[0].name == "w");
  CHECK(back.tensors[0].dtype == DType::F32);
  CHECK(back.tensors[0].shape == Shape{2});
  CHECK(back.tensors[0].bytes == data);
  const Tensor<float> t = vhmn::io::to_tensor<float>(back.tensors[0]);
  CHECK(t[0] == 1.0f);
  CHECK(t[1] == -2.0f);
}

TEST_CASE("safetensors: golden header with metadata, scalar and empty tensors") {
  SafetensorsFile file;
  file.metadata["vhmn.format"] = "1";
  file.tensors.push_back(raw("b", DType::I64, {}, {5, 0, 0, 0, 0, 0, 0, 0}));
  file.tensors.push_back(raw("e", DType::F64, {0, 3}, {}));
  const Bytes bytes = vhmn::io::serialize_safetensors(file);
  const std::string header =
      "{\"__metadata__\":{\"vhmn.format\":\"1\"},"
      "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"e\":{\"dtype\":\"F64\",\"shape\":[0,3],\"data_offsets\":[8,8]}}";
  // 143 bytes of JSON + 1 space = 144, so the data starts at 152 = 19 * 8.
  REQUIRE(header.size() == 143);
  Bytes expected = le64(144);
  expected.insert(expected.end(), header.begin(), header.end());
  expected.insert(expected.end(), 1, ' ');
  expected.insert(expected.end(), {5, 0, 0, 0, 0, 0, 0, 0});
  CHECK(bytes == expected);
}

TEST_CASE("safetensors: round trip is bit-exact for every dtype, scalars, empties and metadata") {
  SafetensorsFile file;
  file.metadata["vhmn.format"] = "1";
  file.metadata["vhmn.dim"] = "64";
  file.metadata["note"] = "caf\xC3\xA9 \"quoted\"\n";
  file.metadata["empty"] = "";
  // F32 with NaN payloads, -0, denormals and infinities: the bytes are random.
  file.tensors.push_back(raw("blocks.0.local.memory", DType::F32, {3, 5}, random_bytes(60, 1)));
  file.tensors.push_back(raw("f64", DType::F64, {2, 2}, random_bytes(32, 2)));
  file.tensors.push_back(raw("blocks.0.local.writes", DType::I64, {3}, random_bytes(24, 3)));
  file.tensors.push_back(raw("scalar", DType::F32, {}, random_bytes(4, 4)));
  file.tensors.push_back(raw("empty", DType::F32, {0}, {}));
  file.tensors.push_back(raw("empty2", DType::I64, {4, 0, 2}, {}));
  file.tensors.push_back(raw("u8", DType::U8, {3}, random_bytes(3, 5)));
  file.tensors.push_back(raw("i8", DType::I8, {1}, random_bytes(1, 6)));
  file.tensors.push_back(raw("f16", DType::F16, {5}, random_bytes(10, 7)));
  file.tensors.push_back(raw("bf16", DType::BF16, {1, 1}, random_bytes(2, 8)));
  file.tensors.push_back(raw("i16", DType::I16, {2}, random_bytes(4, 9)));
  file.tensors.push_back(raw("u16", DType::U16, {2}, random_bytes(4, 10)));
  file.tensors.push_back(raw("i32", DType::I32, {2}, random_bytes(8, 11)));
  file.tensors.push_back(raw("u32", DType::U32, {2}, random_bytes(8, 12)));
  file.tensors.push_back(raw("u64", DType::U64, {1}, random_bytes(8, 13)));
  file.tensors.push_back(raw("bool", DType::BOOL, {2}, {0, 1}));

  const Bytes bytes = vhmn::io::serialize_safetensors(file);
  const std::uint64_t header_len = [&] {
    std::uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | bytes[static_cast<std::size_t>(k)];
    return v;
  }();
  CHECK((8 + header_len) % 8 == 0);  // data section 8-byte aligned

  const SafetensorsFile back = parse(bytes);
  // Read back in data-offset order, which is the order they were written.
  check_same(file, back);
  CHECK(vhmn::io::serialize_safetensors(back) == bytes);  // stable re-serialization
  REQUIRE(back.find("scalar") != nullptr);
  CHECK(back.find("scalar")->numel() == 1);
  CHECK(back.find("missing") == nullptr);

  // Through the file system as well.
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  vhmn::io::write_safetensors(path, file);
  CHECK(read_all(path) == bytes);
  check_same(file, vhmn::io::read_safetensors(path));
  CHECK(dir.entries().size() == 1);  // no temporary left behind

  // Overwriting replaces the file.
  SafetensorsFile small;
  small.tensors.push_back(raw("x", DType::U8, {1}, {7}));
  vhmn::io::write_safetensors(path, small);
  check_same(small, vhmn::io::read_safetensors(path));
  CHECK(dir.entries().size() == 1);

  // An empty file (no tensors, no metadata) is "{}" padded to 8.
  const Bytes empty = vhmn::io::serialize_safetensors(SafetensorsFile{});
  CHECK(empty == make_file("{}      "));
  CHECK(parse(empty).tensors.empty());
}

TEST_CASE("safetensors: tensors are returned ordered by data offset") {
  // Header lists b before a, but a's data comes first.
  const std::string header =
      "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]},"
      "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  const SafetensorsFile f = parse(make_file(header, {9, 8, 7}));
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].name == "a");
  CHECK(f.tensors[0].bytes == Bytes{9});
  CHECK(f.tensors[1].name == "b");
  CHECK(f.tensors[1].bytes == Bytes{8, 7});
  // Unknown fields in a tensor entry and unknown metadata keys are ignored.
  const SafetensorsFile g = parse(make_file(
      "{\"__metadata__\":{\"x\":\"y\"},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":1}}  ",
      {1}));
  CHECK(g.metadata.at("x") == "y");
  CHECK(g.tensors.size() == 1);
}

TEST_CASE("safetensors: to_tensor and make_raw convert values, exactly where it matters") {
  using vhmn::io::make_raw;
  using vhmn::io::to_tensor;

  Tensor<double> d({2, 2});
  d[0] = 0.1;
  d[1] = -1e-310;  // subnormal double
  d[2] = 1e300;
  d[3] = -0.0;
  const RawTensor r64 = make_raw("d", d, DType::F64);
  const Tensor<double> d2 = to_tensor<double>(r64);
  CHECK(d2.shape() == Shape{2, 2});
  for (vhmn::index_t i = 0; i < 4; ++i) CHECK(std::memcmp(&d2[i], &d[i], sizeof(double)) == 0);

  // double -> F32 rounds; but a finite value that overflows float fails.
  Tensor<double> small({1});
  small[0] = 0.1;
  CHECK(to_tensor<float>(make_raw("s", small, DType::F32))[0] == 0.1f);
  CHECK_THROWS_WITH_AS(make_raw("d", d, DType::F32), doctest::Contains("tensor \"d\": element 2"), vhmn::Error);
  CHECK_THROWS_WITH_AS(to_tensor<float>(r64), doctest::Contains("tensor \"d\": element 2"), vhmn::Error);
  // Infinities and NaN pass through float conversions.
  Tensor<float> inf({2});
  inf[0] = std::numeric_limits<float>::infinity();
  inf[1] = std::numeric_limits<float>::quiet_NaN();
  const Tensor<double> inf2 = to_tensor<double>(make_raw("inf", inf, DType::F32));
  CHECK(std::isinf(inf2[0]));
  CHECK(std::isnan(inf2[1]));

  // int64 round trip, extremes included.
  const std::vector<std::int64_t> writes = {0, -1, std::numeric_limits<std::int64_t>::min(),
                                            std::numeric_limits<std::int64_t>::max()};
  const RawTensor w = vhmn::io::make_raw_i64("blocks.0.local.writes", writes);
  CHECK(w.dtype == DType::I64);
  CHECK(w.shape == Shape{4});
  CHECK(w.bytes[8] == 0xFF);  // -1 little-endian
  CHECK(vhmn::io::to_int64_vector(w) == writes);

  // Integers into floats must be exact.
  CHECK(to_tensor<double>(vhmn::io::make_raw_i64("ok", {(std::int64_t{1} << 53)}))[0] == 9007199254740992.0);
  CHECK_THROWS_WITH_AS(to_tensor<double>(vhmn::io::make_raw_i64("big", {(std::int64_t{1} << 53) + 1})),
                       doctest::Contains("tensor \"big\": element 0 (I64 9007199254740993)"), vhmn::Error);
  CHECK_THROWS_WITH_AS(to_tensor<float>(vhmn::io::make_raw_i64("big", {(1 << 24) + 1})),
                       doctest::Contains("tensor \"big\""), vhmn::Error);
  CHECK(to_tensor<float>(vhmn::io::make_raw_i64("ok", {1 << 24}))[0] == 16777216.0f);
  CHECK_THROWS_WITH_AS(to_tensor<float>(vhmn::io::make_raw_i64("max", {std::numeric_limits<std::int64_t>::max()})),
                       doctest::Contains("tensor \"max\""), vhmn::Error);

  // Floats into integers must be integral and in range.
  Tensor<float> f({3});
  f[0] = 3.0f;
  f[1] = -4.0f;
  f[2] = 1.5f;
  CHECK_THROWS_WITH_AS(to_tensor<std::int64_t>(make_raw("f", f, DType::F32)),
                       doctest::Contains("tensor \"f\": element 2 (F32 1.5)"), vhmn::Error);
  CHECK_THROWS_WITH_AS(make_raw("f", f, DType::I64), doctest::Contains("cannot be stored as I64"), vhmn::Error);
  f[2] = 300.0f;
  const Tensor<std::int32_t> fi = to_tensor<std::int32_t>(make_raw("f", f, DType::F32));
  CHECK(fi[0] == 3);
  CHECK(fi[1] == -4);
  CHECK_THROWS_WITH_AS(make_raw("f", f, DType::I8), doctest::Contains("tensor \"f\": element 2 (300)"), vhmn::Error);
  CHECK_THROWS_WITH_AS(make_raw("f", f, DType::U8), doctest::Contains("element 1 (-4)"), vhmn::Error);

  // Integer narrowing is range-checked both ways.
  Tensor<std::int64_t> i({2});
  i[0] = 5;
  i[1] = std::int64_t{1} << 40;
  CHECK_THROWS_WITH_AS(make_raw("i", i, DType::I32), doctest::Contains("element 1"), vhmn::Error);
  i[1] = -7;
  const RawTensor i32 = make_raw("i", i, DType::I32);
  CHECK(i32.bytes == Bytes{5, 0, 0, 0, 0xF9, 0xFF, 0xFF, 0xFF});
  CHECK(to_tensor<std::int64_t>(i32)[1] == -7);
  CHECK_THROWS_WITH_AS(to_tensor<std::uint8_t>(i32), doctest::Contains("element 1 (I32 -7)"), vhmn::Error);
  CHECK(to_tensor<double>(i32)[1] == -7.0);

  // F16 and BF16 known encodings, both directions.
  const RawTensor h = raw("h", DType::F16, {6}, {0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x7C, 0x00, 0x80});
  const Tensor<float> hf = to_tensor<float>(h);
  CHECK(hf[0] == 1.0f);
  CHECK(hf[1] == -2.0f);
  CHECK(hf[2] == 65504.0f);
  CHECK(hf[3] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(hf[4]));
  CHECK((hf[5] == 0.0f && std::signbit(hf[5])));
  CHECK(make_raw("h", hf, DType::F16).bytes == h.bytes);
  Tensor<float> half_round({3});
  half_round[0] = 1.0f + std::ldexp(1.0f, -11);  // tie: rounds to even (1.0)
  half_round[1] = 1.0f + 3 * std::ldexp(1.0f, -11);  // tie: rounds to even (1 + 2^-9)
  half_round[2] = 0.1f;
  const Tensor<float> hr = to_tensor<float>(make_raw("r", half_round, DType::F16));
  CHECK(hr[0] == 1.0f);
  CHECK(hr[1] == 1.0f + std::ldexp(1.0f, -9));
  CHECK(hr[2] == doctest::Approx(0.1f).epsilon(1e-3));
  Tensor<float> too_big({1});
  too_big[0] = 70000.0f;
  CHECK_THROWS_WITH_AS(make_raw("t", too_big, DType::F16), doctest::Contains("cannot be stored as F16"), vhmn::Error);
  const RawTensor b = raw("b", DType::BF16, {2}, {0x80, 0x3F, 0x00, 0xC0});
  const Tensor<float> bf = to_tensor<float>(b);
  CHECK(bf[0] == 1.0f);
  CHECK(bf[1] == -2.0f);
  CHECK(make_raw("b", bf, DType::BF16).bytes == b.bytes);

  // BOOL holds 0/1 only.
  const RawTensor flags = raw("flags", DType::BOOL, {3}, {0, 1, 2});
  CHECK_THROWS_WITH_AS(to_tensor<int>(flags), doctest::Contains("tensor \"flags\": element 2 is not a valid BOOL"),
                       vhmn::Error);
  Tensor<int> bits({2});
  bits[1] = 1;
  CHECK(make_raw("bits", bits, DType::BOOL).bytes == Bytes{0, 1});
  bits[1] = 2;
  CHECK_THROWS_WITH_AS(make_raw("bits", bits, DType::BOOL), doctest::Contains("cannot be stored as BOOL"),
                       vhmn::Error);

  // Byte counts that disagree with the shape are refused.
  CHECK_THROWS_WITH_AS(to_tensor<float>(raw("short", DType::F32, {2}, {0, 0, 0})),
                       doctest::Contains("tensor \"short\": it holds 3 bytes but F32 [2] needs 8"), vhmn::Error);
}

TEST_CASE("safetensors: serialize refuses inconsistent input") {
  SafetensorsFile f;
  f.tensors.push_back(raw("a", DType::F32, {2}, {0, 0, 0, 0}));
  CHECK_THROWS_WITH_AS(vhmn::io::serialize_safetensors(f), doctest::Contains("tensor \"a\": it holds 4 bytes"),
                       vhmn::Error);
  f.tensors[0].bytes.resize(8);
  f.tensors.push_back(f.tensors[0]);
  CHECK_THROWS_WITH_AS(vhmn::io::serialize_safetensors(f), doctest::Contains("duplicate tensor name \"a\""),
                       vhmn::Error);
  f.tensors[1].name = "__metadata__";
  CHECK_THROWS_WITH_AS(vhmn::io::serialize_safetensors(f), doctest::Contains("reserved"), vhmn::Error);
  f.tensors[1].name = "";
  CHECK_THROWS_WITH_AS(vhmn::io::serialize_safetensors(f), doctest::Contains("empty name"), vhmn::Error);
  f.tensors[1].name = "b";
  f.tensors[1].shape = {-2};
  CHECK_THROWS_WITH_AS(vhmn::io::serialize_safetensors(f), doctest::Contains("negative dimension"), vhmn::Error);
}

TEST_CASE("safetensors: every malformed file is rejected with its problem named") {
  const std::string ok_entry = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  const Bytes eight(8, 0);
  // Sanity: the well-formed version of what we corrupt below parses.
  CHECK(parse(make_file("{" + ok_entry + "}", eight)).tensors.size() == 1);

  SUBCASE("file shorter than 8 bytes") {
    CHECK_BAD_FILE(Bytes{}, "shorter than 8 bytes (0 bytes)");
    CHECK_BAD_FILE(Bytes(7, 0), "shorter than 8 bytes (7 bytes)");
  }
  SUBCASE("header length past the end of the file") {
    Bytes b = le64(100);
    b.insert(b.end(), {'{', '}'});
    CHECK_BAD_FILE(b, "header length 100 runs past the end of the file (10 bytes)");
    CHECK_BAD_FILE(le64(1), "runs past the end");
  }
  SUBCASE("header length absurdly large") {
    Bytes b = le64(std::uint64_t{1} << 40);
    b.insert(b.end(), {'{', '}'});
    CHECK_BAD_FILE(b, "header length 1099511627776 is absurdly large");
    CHECK_BAD_FILE(le64(std::numeric_limits<std::uint64_t>::max()), "absurdly large");
    CHECK_BAD_FILE(le64(100000001), "absurdly large");
  }
  SUBCASE("header is not valid JSON") {
    CHECK_BAD_FILE(make_file(""), "header: invalid JSON at byte 0");
    CHECK_BAD_FILE(make_file("{\"w\":"), "header: invalid JSON at byte 5: unexpected end of input");
    CHECK_BAD_FILE(make_file("{" + ok_entry + std::string("}\0\0", 3), eight), "invalid JSON");  // padded with NULs, not spaces
    CHECK_BAD_FILE(make_file("{" + ok_entry + "} x", eight), "trailing characters");
    CHECK_BAD_FILE(make_file("{\"w\xFF\":1}"), "invalid UTF-8");
  }
  SUBCASE("header is not an object") {
    CHECK_BAD_FILE(make_file("[1,2]"), "header is not a JSON object (it is a array)");
    CHECK_BAD_FILE(make_file("7       "), "header is not a JSON object");
  }
  SUBCASE("metadata not an object of strings") {
    CHECK_BAD_FILE(make_file("{\"__metadata__\":5}"), "__metadata__ must be an object of strings, got number");
    CHECK_BAD_FILE(make_file("{\"__metadata__\":[\"a\"]}"), "__metadata__ must be an object of strings");
    CHECK_BAD_FILE(make_file("{\"__metadata__\":{\"vhmn.dim\":64}}"),
                   "__metadata__ must be an object of strings, but key \"vhmn.dim\" holds a number");
    CHECK_BAD_FILE(make_file("{\"__metadata__\":{\"a\":null}}"), "key \"a\" holds a null");
  }
  SUBCASE("tensor entry missing fields or with wrong JSON types") {
    CHECK_BAD_FILE(make_file("{\"w\":5}"), "tensor \"w\" must be an object, got number");
    CHECK_BAD_FILE(make_file("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight), "tensor \"w\" is missing \"dtype\"");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight), "is missing \"shape\"");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight), "is missing \"data_offsets\"");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\": dtype must be a string, got number");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\": shape must be an array, got number");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", eight),
                   "data_offsets must be an array of 2 integers");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", eight),
                   "data_offsets must be an array of 2 integers");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\"}}", eight),
                   "data_offsets must be an array of 2 integers");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}}", eight),
                   "data_offsets end must be an integer, got string");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.0,8]}}", eight),
                   "data_offsets begin must be an integer, got a non-integer number");
  }
  SUBCASE("unknown dtype") {
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\" has unknown dtype \"F8\"");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                   "unknown dtype \"f32\"");
  }
  SUBCASE("negative or non-integer shape entries") {
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\": shape entry 0 must not be negative, got -2");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\": shape entry 1 must be an integer, got a non-integer number");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", eight),
                   "shape entry 0 must be an integer");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", eight),
                   "shape entry 0 must be an integer, got string");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e1],\"data_offsets\":[0,8]}}", eight),
                   "shape entry 0 must be an integer");
  }
  SUBCASE("data offsets out of bounds, negative, or begin > end") {
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", eight),
                   "tensor \"w\": data_offsets [0, 16] out of bounds of the data section (8 bytes)");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight),
                   "tensor \"w\": data_offsets begin 8 > end 0");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", eight),
                   "data_offsets begin must not be negative");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}",
                             eight),
                   "data_offsets end must be an integer");
  }
  SUBCASE("overlapping tensors") {
    const Bytes twelve(12, 0);
    CHECK_BAD_FILE(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                             twelve),
                   "tensor \"b\" (data_offsets [4, 12]) overlaps tensor \"a\" which ends at 8");
    CHECK_BAD_FILE(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                             eight),
                   "overlaps");
    // An empty tensor placed inside another one still overlaps it.
    CHECK_BAD_FILE(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                             eight),
                   "tensor \"e\" (data_offsets [4, 4]) overlaps");
  }
  SUBCASE("gaps: the tensors must tile the data section") {
    const Bytes twenty(20, 0);
    CHECK_BAD_FILE(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                             twenty),
                   "gap in the data section: bytes [8, 12) before tensor \"b\"");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", Bytes(12, 0)),
                   "gap in the data section: bytes [0, 4) before tensor \"w\"");
    CHECK_BAD_FILE(make_file("{" + ok_entry + "}", Bytes(12, 0)),
                   "gap in the data section: trailing bytes [8, 12) belong to no tensor");
    CHECK_BAD_FILE(make_file("{}", Bytes(3, 0)), "trailing bytes [0, 3)");
  }
  SUBCASE("byte size disagrees with shape and dtype") {
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
                   "tensor \"w\": byte size 8 (data_offsets [0, 8]) disagrees with F32 shape [3] = 12 bytes");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                   "disagrees with F64 shape [2] = 16 bytes");
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,8]}}", eight),
                   "disagrees with F32 shape [] = 4 bytes");
    // A shape whose byte count overflows 64 bits cannot fool the check.
    CHECK_BAD_FILE(make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}",
                             eight),
                   "disagrees with F32 shape [4611686018427387904, 4] (too large)");
  }
  SUBCASE("duplicate tensor names") {
    CHECK_BAD_FILE(make_file("{" + ok_entry + "," + ok_entry + "}", eight), "duplicate key \"w\"");
  }
  SUBCASE("empty tensor name") {
    CHECK_BAD_FILE(make_file("{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                   "tensor with an empty name");
  }
}

TEST_CASE("safetensors: read_safetensors names the path when the file cannot be opened") {
  TempDir dir;
  const std::string missing = (dir.path / "nope.safetensors").string();
  CHECK_THROWS_WITH_AS(vhmn::io::read_safetensors(missing),
                       has("cannot open safetensors file '" + missing + "': No such file or directory"),
                       vhmn::Error);
  // A directory opens on some systems but cannot be read.
  CHECK_THROWS_WITH_AS(vhmn::io::read_safetensors(dir.path.string()), has(dir.path.string()),
                       vhmn::Error);
  // A corrupt file on disk: the message names the path.
  const fs::path bad = dir.path / "bad.safetensors";
  write_all(bad, Bytes{1, 2, 3});
  CHECK_THROWS_WITH_AS(vhmn::io::read_safetensors(bad.string()),
                       has("safetensors file '" + bad.string() + "': file is shorter than 8 bytes"),
                       vhmn::Error);
}

TEST_CASE("safetensors: a failed write leaves the old file intact and no temporary behind") {
  TempDir dir;
  SafetensorsFile good;
  good.metadata["vhmn.format"] = "1";
  good.tensors.push_back(raw("w", DType::F32, {2}, random_bytes(8, 42)));
  const fs::path path = dir.path / "model.safetensors";
  vhmn::io::write_safetensors(path.string(), good);
  const Bytes before = read_all(path);

  SUBCASE("inconsistent tensors fail before the disk is touched") {
    SafetensorsFile bad = good;
    bad.tensors[0].bytes.resize(3);
    CHECK_THROWS_WITH_AS(vhmn::io::write_safetensors(path.string(), bad), doctest::Contains("it holds 3 bytes"),
                         vhmn::Error);
    CHECK(read_all(path) == before);
    CHECK(dir.entries().size() == 1);
  }
  SUBCASE("target path is a directory: the rename fails and the temporary is removed") {
    const fs::path sub = dir.path / "sub";
    fs::create_directory(sub);
    fs::create_directory(sub / "keep");  // non-empty, so no platform can replace it
    CHECK_THROWS_WITH_AS(vhmn::io::write_safetensors(sub.string(), good),
                         has("cannot write safetensors file '" + sub.string() + "'"), vhmn::Error);
    CHECK(fs::is_directory(sub / "keep"));
    CHECK(dir.entries().size() == 2);  // model.safetensors and sub: no temporary
    CHECK(read_all(path) == before);
  }
  SUBCASE("target directory does not exist") {
    const std::string missing = (dir.path / "no_such_dir" / "model.safetensors").string();
    CHECK_THROWS_WITH_AS(vhmn::io::write_safetensors(missing, good),
                         has("cannot write safetensors file '" + missing + "'"), vhmn::Error);
    CHECK_THROWS_WITH_AS(vhmn::io::write_safetensors(missing, good), doctest::Contains("No such file or directory"),
                         vhmn::Error);
    CHECK(dir.entries().size() == 1);
  }
  SUBCASE("target directory is not writable") {
    fs::permissions(dir.path, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    // Root (and some file systems) ignore permissions; only check where they bite.
    const fs::path probe = dir.path / "probe";
    const bool writable = static_cast<bool>(std::ofstream(probe));
    if (writable) {
      std::error_code ec;
      fs::remove(probe, ec);
      MESSAGE("directory permissions are not enforced here (running as root?); skipping");
    } else {
      SafetensorsFile other;
      other.tensors.push_back(raw("x", DType::U8, {1}, {1}));
      CHECK_THROWS_WITH_AS(vhmn::io::write_safetensors(path.string(), other),
                           doctest::Contains("cannot create temporary"), vhmn::Error);
      CHECK(read_all(path) == before);
    }
    fs::permissions(dir.path, fs::perms::owner_all, fs::perm_options::add);
    CHECK(dir.entries().size() == 1);
  }
  check_same(good, vhmn::io::read_safetensors(path.string()));
}

TEST_CASE("safetensors: F16 and BF16 decode then encode every bit pattern back to itself") {
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float hf = vhmn::io::st_detail::half_to_float(h);
    const float bf = vhmn::io::st_detail::bf16_to_float(h);
    if (std::isnan(hf)) {
      CHECK(std::isnan(vhmn::io::st_detail::half_to_float(vhmn::io::st_detail::float_to_half(hf))));
    } else if (vhmn::io::st_detail::float_to_half(hf) != h) {
      FAIL_CHECK("F16 pattern " << bits << " does not round trip");
    }
    if (std::isnan(bf)) {
      CHECK(std::isnan(vhmn::io::st_detail::bf16_to_float(vhmn::io::st_detail::float_to_bf16(bf))));
    } else if (vhmn::io::st_detail::float_to_bf16(bf) != h) {
      FAIL_CHECK("BF16 pattern " << bits << " does not round trip");
    }
  }
}

TEST_CASE("safetensors: corrupted bytes either parse consistently or fail with vhmn::Error") {
  SafetensorsFile file;
  file.metadata["vhmn.format"] = "1";
  file.tensors.push_back(raw("a", DType::F32, {2, 3}, random_bytes(24, 1)));
  file.tensors.push_back(raw("b", DType::I64, {}, random_bytes(8, 2)));
  file.tensors.push_back(raw("c", DType::U8, {0}, {}));
  const Bytes good = vhmn::io::serialize_safetensors(file);
  std::mt19937 gen(1234);
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes b = good;
    const int edits = 1 + static_cast<int>(gen() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = gen() % b.size();
      switch (gen() % 3) {
        case 0: b[at] = static_cast<std::uint8_t>(gen()); break;       // overwrite a byte
        case 1: b.erase(b.begin() + static_cast<std::ptrdiff_t>(at)); break;  // drop a byte
        default: b.resize(at); break;                                  // truncate
      }
      if (b.empty()) break;
    }
    try {
      const SafetensorsFile f = parse(b);
      // Whatever parses must satisfy the reader's guarantees.
      std::size_t total = 0;
      for (const RawTensor& t : f.tensors) {
        CHECK(t.bytes.size() == static_cast<std::size_t>(t.numel()) * vhmn::io::dtype_size(t.dtype));
        total += t.bytes.size();
      }
      CHECK(total <= b.size());
      ++parsed;
    } catch (const vhmn::Error& e) {
      CHECK(std::string(e.what()).find("bad.safetensors") != std::string::npos);
      ++rejected;
    }
  }
  CHECK(rejected > 0);
  CHECK(parsed + rejected == 3000);
}
