// Fuzzes the IDX readers (MNIST / Fashion-MNIST), raw or gzipped: gunzip
// when the bytes start with the gzip magic, then both the image and the
// label parser. Invariant: accepted images hold count * rows * cols pixels.
#include "fuzz_common.hpp"
#include "vhmn/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhmn;
  const vhmn_fuzz::Bytes raw(data, data + size);
  vhmn_fuzz::tolerate_errors([&] {
    const vhmn_fuzz::Bytes bytes = data::is_gzip(raw) ? data::gunzip(raw, "fuzz.gz") : raw;
    vhmn_fuzz::tolerate_errors([&] {
      const data::IdxImages img = data::parse_idx_images(bytes, "fuzz");
      vhmn_fuzz::expect(img.pixels.size() == static_cast<std::size_t>(img.count) * static_cast<std::size_t>(img.rows) *
                                                 static_cast<std::size_t>(img.cols),
                        "IDX pixel count disagrees with the header");
    });
    vhmn_fuzz::tolerate_errors([&] {
      const std::vector<std::int32_t> labels = data::parse_idx_labels(bytes, "fuzz");
      vhmn_fuzz::expect(labels.size() + 8 == bytes.size(), "IDX label count disagrees with the file size");
    });
  });
  return 0;
}
