// tests/fuzz/fuzz_image.cpp — libFuzzer harness for image decoding: arbitrary
// bytes through vhmn::data::decode_image, the function `vhmn predict` and
// image folders use, with a pixel limit. Every input must either decode or
// fail with vhmn::Error; a crash, a sanitizer report, a leak or a timeout is
// a finding. Seed corpus: tests/fuzz/corpus/image/ (small valid PNG, JPEG
// and BMP files of every colour type the decoders take).
//
// By hand:
//   clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude \
//     -isystem /usr/include/stb -DVHMN_USE_SYSTEM_CODECS tests/fuzz/fuzz_image.cpp -lpng -ljpeg -o fuzz_image
//   ./fuzz_image -max_total_time=60 -rss_limit_mb=2048 tests/fuzz/corpus/image
// With -DVHMN_FUZZ_STB the harness fuzzes the stb_image fallback instead
// (the build without libpng/libjpeg): it finds stb's known bugs, which is why
// that path is not the default for untrusted files.
#ifdef VHMN_FUZZ_STB
#undef VHMN_USE_SYSTEM_CODECS
#endif

#include <cstddef>
#include <cstdint>

#include "vhmn/data/image_decode.hpp"

// The limit is lower than the CLI's default (2^26) so that the fuzzer spends
// its time in the parsers, not in decoding images of hundreds of megabytes;
// the check itself is the same code.
static constexpr std::uint64_t kFuzzMaxPixels = std::uint64_t(1) << 22;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Odd sizes ask for grey, even ones for RGB: both conversions get exercised.
  const vhmn::index_t channels = (size & 1) ? 1 : 3;
  try {
    const vhmn::data::DecodedImage img = vhmn::data::decode_image(data, size, channels, "fuzz input", kFuzzMaxPixels);
    // Touch every pixel so a short buffer shows up under ASan.
    unsigned sum = 0;
    for (std::uint8_t v : img.pixels) sum += v;
    if (img.pixels.size() != static_cast<std::size_t>(img.width * img.height * img.channels)) __builtin_trap();
    (void)sum;
  } catch (const vhmn::Error&) {
  }
  return 0;
}
