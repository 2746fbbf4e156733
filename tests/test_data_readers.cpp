// Readers: gzip (crc32, header fields, corruption), IDX raw and gzipped,
// CIFAR-10/100 binary, and every bad-input error message; plus the real
// Fashion-MNIST and CIFAR-10 test files when present.
#include <doctest/doctest.h>

#include <numeric>

#include "test_data_util.hpp"
#include "vhmn/data/cifar.hpp"
#include "vhmn/data/gzip.hpp"
#include "vhmn/data/idx.hpp"

using namespace vhmn_test_data;
using vhmn::Error;
using vhmn::index_t;
namespace vd = vhmn::data;

TEST_CASE("data: crc32 matches the standard check value") {
  const std::string s = "123456789";
  CHECK(vd::crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()) == 0xCBF43926u);
  CHECK(vd::crc32(nullptr, 0) == 0u);
  // Incremental use, and lengths that exercise both the 8-byte and the tail loop.
  Bytes b(1000);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 31 + 7);
  for (std::size_t cut : {0, 1, 7, 8, 9, 500, 999}) {
    const std::uint32_t part = vd::crc32(b.data() + cut, b.size() - cut, vd::crc32(b.data(), cut));
    CHECK(part == vd::crc32(b.data(), b.size()));
  }
}

TEST_CASE("data: gunzip decodes stored-block gzip with every optional header field") {
  Bytes data(200000);  // > 65535: several stored blocks
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>((i * i) >> 3);
  for (std::uint8_t flags : {0, 2, 4, 8, 16, 2 | 4 | 8 | 16}) {
    CAPTURE(int(flags));
    CHECK(vd::gunzip(gzip_stored(data, flags), "mem.gz") == data);
  }
  CHECK(vd::gunzip(gzip_stored({}), "empty.gz").empty());
  CHECK(vd::gunzip(gzip_stored(data, 0, 1000), "small-blocks.gz") == data);
}

TEST_CASE("data: gunzip decodes a Huffman-coded stream whose last code ends at the input's end") {
  // "hello hello hello vhmn" deflated (fixed Huffman, with a back-reference)
  // by zlib. stb_image 2.27 alone rejects this stream when given exactly its
  // bytes ("bad huffman code"); gunzip must hand it the trailer as lookahead.
  const std::string text = "hello hello hello vhmn";
  Bytes gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  gz.insert(gz.end(), {0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x22, 0xcb, 0x32, 0x72, 0xf3, 0x00});
  put_le32(gz, vd::crc32(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  put_le32(gz, static_cast<std::uint32_t>(text.size()));
  const Bytes out = vd::gunzip(gz, "hello.gz");
  CHECK(std::string(out.begin(), out.end()) == text);
}

TEST_CASE("data: corrupt gzip files fail with the file name and the problem") {
  const Bytes data(5000, 42);
  const Bytes good = gzip_stored(data, 8);
  auto fails_with = [](const Bytes& b, const char* what) {
    CHECK_THROWS_WITH_AS(vd::gunzip(b, "bad.gz"), doctest::Contains(what), Error);
    CHECK_THROWS_WITH_AS(vd::gunzip(b, "bad.gz"), doctest::Contains("bad.gz"), Error);
  };
  Bytes b = good;
  b[0] = 0x1e;
  fails_with(b, "not a gzip file");
  b = good;
  b[2] = 7;
  fails_with(b, "compression method 7");
  b = good;
  b[3] |= 0x20;
  fails_with(b, "reserved header flag");
  b = good;
  b[b.size() - 4] ^= 1;  // ISIZE
  fails_with(b, "trailer says");
  b = good;
  b[b.size() - 8] ^= 1;  // CRC-32
  fails_with(b, "CRC-32");
  b = good;
  b[40] ^= 0xFF;  // payload byte: the stored block still decodes, the CRC catches it
  fails_with(b, "CRC-32");
  b = Bytes(good.begin(), good.end() - 1000);  // truncated file
  fails_with(b, "corrupt gzip");
  b = good;
  b[10 + 11] ^= 0xFF;  // the block header after FNAME: BTYPE becomes the invalid type 3
  fails_with(b, "does not decode");
  b = gzip_stored(data, 2);
  b[10] ^= 1;  // header CRC16
  fails_with(b, "header CRC");
  fails_with(Bytes{0x1f, 0x8b, 8}, "only 3 bytes");
}

TEST_CASE("data: IDX images and labels, raw and gzipped, give the same data set") {
  TempDir dir("idx");
  // 3 images of 4x5, pixel = 10*image + position.
  Bytes px;
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 20; ++p) px.push_back(static_cast<std::uint8_t>(10 * i + p));
  write_bytes(dir / "img.idx", idx_images(3, 4, 5, px));
  write_bytes(dir / "img.idx.gz", gzip_stored(idx_images(3, 4, 5, px), 8));
  write_bytes(dir / "lab.idx", idx_labels({2, 0, 1}));
  write_bytes(dir / "lab.idx.gz", gzip_stored(idx_labels({2, 0, 1})));

  const vd::IdxImages im = vd::read_idx_images(dir / "img.idx");
  CHECK(im.count == 3);
  CHECK(im.rows == 4);
  CHECK(im.cols == 5);
  CHECK(im.pixels == px);
  for (auto [ip, lp] : {std::pair{"img.idx", "lab.idx"}, {"img.idx.gz", "lab.idx.gz"}, {"img.idx.gz", "lab.idx"}}) {
    const vd::Dataset ds = vd::load_idx(dir / ip, dir / lp, {"a", "b", "c"}, "tiny");
    ds.validate();
    CHECK(ds.size == 3);
    CHECK(ds.channels == 1);
    CHECK(ds.height == 4);
    CHECK(ds.width == 5);
    CHECK(ds.classes == 3);
    CHECK(ds.pixels == px);
    CHECK(ds.labels == std::vector<std::int32_t>{2, 0, 1});
    CHECK(ds.source_index == std::vector<std::int64_t>{0, 1, 2});
    CHECK(ds.image(1)[0] == 10);
  }
}

TEST_CASE("data: load_fashion_mnist finds .gz or raw files by the standard names") {
  TempDir dir("fmnist");
  Bytes px(2 * 28 * 28, 9);
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", gzip_stored(idx_images(2, 28, 28, px)));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_labels({9, 0}));
  const vd::Dataset ds = vd::load_fashion_mnist(dir.path.string(), vd::Split::Test);
  ds.validate();
  CHECK(ds.size == 2);
  CHECK(ds.name == "fashion-mnist-test");
  CHECK(ds.class_names[9] == "Ankle boot");
  CHECK(ds.labels == std::vector<std::int32_t>{9, 0});
  CHECK_THROWS_WITH_AS(vd::load_fashion_mnist(dir.path.string(), vd::Split::Train),
                       doctest::Contains("train-images-idx3-ubyte.gz' exists"), Error);
}

TEST_CASE("data: bad IDX files fail with the file name and the problem") {
  TempDir dir("idxbad");
  const Bytes px(3 * 4 * 4, 1);
  write_bytes(dir / "img", idx_images(3, 4, 4, px));
  write_bytes(dir / "lab", idx_labels({0, 1, 2}));
  write_bytes(dir / "lab2", idx_labels({0, 1}));
  write_bytes(dir / "lab_big", idx_labels({0, 1, 10}));
  write_bytes(dir / "short", idx_images(3, 4, 4, Bytes(2 * 4 * 4 + 5, 1)));
  write_bytes(dir / "long", idx_images(3, 4, 4, Bytes(3 * 4 * 4 + 2, 1)));
  write_bytes(dir / "tiny", Bytes{0, 0, 8});
  write_bytes(dir / "short_lab", Bytes{0, 0, 8, 1, 0, 0, 0, 5, 1, 2});
  write_bytes(dir / "bad.gz", Bytes{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
  const std::vector<std::string> ten = vd::fashion_mnist_class_names();

  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "lab"),
                       doctest::Contains("wrong magic number 0x00000801, expected 0x00000803"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_labels(dir / "img"),
                       doctest::Contains("wrong magic number 0x00000803, expected 0x00000801"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "short"),
                       doctest::Contains(("'" + (dir / "short") + "' is truncated").c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "long"), doctest::Contains("2 bytes after the 3 images"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "tiny"), doctest::Contains("truncated"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_labels(dir / "short_lab"),
                       doctest::Contains("header says 5 labels but it has 2"), Error);
  CHECK_THROWS_WITH_AS(vd::load_idx(dir / "img", dir / "lab2", ten, "x"),
                       doctest::Contains(("has 3 images but '" + (dir / "lab2") + "' has 2 labels").c_str()), Error);
  CHECK_THROWS_WITH_AS(vd::load_idx(dir / "img", dir / "lab_big", {"a", "b", "c"}, "x"),
                       doctest::Contains("label 2 is 10, outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "missing"),
                       doctest::Contains(("cannot open '" + (dir / "missing") + "'").c_str()), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "bad.gz"), doctest::Contains("corrupt gzip file"), Error);
  CHECK_THROWS_WITH_AS(vd::read_idx_images(dir / "bad.gz"), doctest::Contains("bad.gz"), Error);
}

TEST_CASE("data: CIFAR-10 binary batches, names and source indices") {
  TempDir dir("cifar10");
  int id = 0;
  std::vector<int> all_labels;
  for (int b = 1; b <= 5; ++b) {
    const std::vector<int> labels = {b % 10, (b + 3) % 10};
    write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(labels, id));
    id += 2;
    all_labels.insert(all_labels.end(), labels.begin(), labels.end());
  }
  write_bytes(dir / "test_batch.bin", cifar_records({7, 8, 9}, 100));
  write_text(dir / "batches.meta.txt", "plane\r\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");

  const vd::Dataset train = vd::load_cifar10(dir.path.string(), vd::Split::Train);
  train.validate();
  CHECK(train.size == 10);
  CHECK(train.channels == 3);
  CHECK(train.height == 32);
  CHECK(train.width == 32);
  CHECK(train.name == "cifar10-train");
  CHECK(train.class_names[0] == "plane");  // '\r' stripped, trailing blank line ignored
  CHECK(train.class_names[1] == "car");
  CHECK(std::vector<int>(train.labels.begin(), train.labels.end()) == all_labels);
  std::vector<std::int64_t> iota(10);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(train.source_index == iota);
  for (index_t i = 0; i < train.size; ++i) {
    const Bytes px = cifar_pixels(static_cast<int>(i));
    CHECK(std::equal(px.begin(), px.end(), train.image(i)));
  }
  const vd::Dataset test = vd::load_cifar10(dir.path.string(), vd::Split::Test);
  CHECK(test.size == 3);
  CHECK(test.labels == std::vector<std::int32_t>{7, 8, 9});
  CHECK(test.image(2)[1024] == cifar_pixels(102)[1024]);  // green plane starts at 1024

  // Without the name file: the built-in names.
  std::filesystem::remove(dir / "batches.meta.txt");
  CHECK(vd::load_cifar10(dir.path.string(), vd::Split::Test).class_names[0] == "airplane");
}

TEST_CASE("data: CIFAR-100 uses the fine label (second byte)") {
  TempDir dir("cifar100");
  write_bytes(dir / "train.bin", cifar_records({0, 55, 99}, 0, 2));
  const vd::Dataset ds = vd::load_cifar100(dir.path.string(), vd::Split::Train);
  ds.validate();
  CHECK(ds.classes == 100);
  CHECK(ds.labels == std::vector<std::int32_t>{0, 55, 99});
  CHECK(ds.class_names[55] == "class_55");
  CHECK(std::equal(ds.image(1), ds.image(1) + 3072, cifar_pixels(1).begin()));
  std::string names;
  for (int c = 0; c < 100; ++c) names += "n" + std::to_string(c) + "\n";
  write_text(dir / "fine_label_names.txt", names);
  CHECK(vd::load_cifar100(dir.path.string(), vd::Split::Train).class_names[55] == "n55");
  write_bytes(dir / "test.bin", cifar_records({100}, 0, 2));
  CHECK_THROWS_WITH_AS(vd::load_cifar100(dir.path.string(), vd::Split::Test),
                       doctest::Contains("record 0 has label 100, outside [0, 100)"), Error);
}

TEST_CASE("data: bad CIFAR files fail with the file name and the problem") {
  TempDir dir("cifarbad");
  for (int b = 1; b <= 5; ++b)
    if (b != 3) write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records({1}, b));
  CHECK_THROWS_WITH_AS(vd::load_cifar10(dir.path.string(), vd::Split::Train),
                       doctest::Contains(("'" + (dir / "data_batch_3.bin") + "' is missing").c_str()), Error);

  Bytes truncated = cifar_records({1, 2}, 0);
  truncated.resize(truncated.size() - 100);
  write_bytes(dir / "test_batch.bin", truncated);
  CHECK_THROWS_WITH_AS(vd::load_cifar10(dir.path.string(), vd::Split::Test),
                       doctest::Contains("has 6046 bytes, not a multiple of the record size 3073"), Error);

  write_bytes(dir / "test_batch.bin", cifar_records({3, 10}, 0));
  CHECK_THROWS_WITH_AS(vd::load_cifar10(dir.path.string(), vd::Split::Test),
                       doctest::Contains("test_batch.bin' record 1 has label 10, outside [0, 10)"), Error);

  write_bytes(dir / "test_batch.bin", {});
  CHECK_THROWS_WITH_AS(vd::load_cifar10(dir.path.string(), vd::Split::Test), doctest::Contains("is empty"), Error);

  write_bytes(dir / "test_batch.bin", cifar_records({3}, 0));
  write_text(dir / "batches.meta.txt", "a\nb\nc\n");
  CHECK_THROWS_WITH_AS(vd::load_cifar10(dir.path.string(), vd::Split::Test),
                       doctest::Contains("batches.meta.txt' names 3 classes, expected 10"), Error);
}

TEST_CASE("data: Dataset::subset keeps labels and source indices; validate catches bad sets") {
  vd::Dataset ds = synthetic({3, 2}, 1, 2, 2);
  const vd::Dataset sub = ds.subset({4, 0, 4});
  sub.validate();
  CHECK(sub.size == 3);
  CHECK(sub.labels == std::vector<std::int32_t>{ds.labels[4], ds.labels[0], ds.labels[4]});
  CHECK(sub.source_index == std::vector<std::int64_t>{1004, 1000, 1004});
  CHECK(std::equal(sub.image(1), sub.image(1) + 4, ds.image(0)));
  // A subset of a subset still names the original images.
  CHECK(sub.subset({1}).source_index == std::vector<std::int64_t>{1000});
  CHECK_THROWS_WITH_AS(ds.subset({5}), doctest::Contains("index 5 out of range [0, 5)"), Error);
  ds.labels[2] = 7;
  CHECK_THROWS_WITH_AS(ds.validate(), doctest::Contains("image 2 has label 7"), Error);
}

TEST_CASE("data: the real Fashion-MNIST test labels: 10,000 labels, 1,000 per class") {
  const std::string path = fashion_mnist_dir() + "/t10k-labels-idx1-ubyte.gz";
  if (!vd::file_exists(path)) {
    MESSAGE("skipped: " << path << " not found (install dataset-fashion-mnist or set VHMN_FASHION_MNIST_DIR)");
    return;
  }
  const std::vector<std::int32_t> labels = vd::read_idx_labels(path);
  REQUIRE(labels.size() == 10000);
  std::vector<int> per_class(10, 0);
  int out_of_range = 0;
  for (std::int32_t y : labels) {
    if (y < 0 || y >= 10) ++out_of_range;
    else ++per_class[static_cast<std::size_t>(y)];
  }
  CHECK(out_of_range == 0);
  CHECK(per_class == std::vector<int>(10, 1000));
}

TEST_CASE("data: the real CIFAR-10 test batch: 10,000 images, 1,000 per class") {
  const std::string root = shared_data_dir();
  const std::string dir = root + "/cifar-10-batches-bin";
  if (root.empty() || !vd::file_exists(dir + "/test_batch.bin")) {
    MESSAGE("skipped: CIFAR-10 not found (set VHMN_DATA_DIR to the directory holding cifar-10-batches-bin)");
    return;
  }
  const vd::Dataset test = vd::load_cifar10(dir, vd::Split::Test);
  test.validate();
  CHECK(test.size == 10000);
  CHECK(test.class_counts() == std::vector<index_t>(10, 1000));
  CHECK(test.class_names[3] == "cat");
  CHECK(test.labels[0] == 3);  // the first test image is a cat
  CHECK(test.labels[1] == 8);  // the second a ship
}
