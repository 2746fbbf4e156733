// A program outside the repository that uses vhmn through its CMake package
// (see CMakeLists.txt here). It does something small with the public API and
// checks that the build switches it sees are the ones vhmn was built with.
#include <vhmn/vhmn.hpp>

#include <cstdio>

#if defined(VHMN_EXPECT_CODECS) && VHMN_EXPECT_CODECS
#include <png.h>
// jpeglib.h needs FILE and size_t first.
#include <jpeglib.h>
#endif

static int failures = 0;

static void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

int main() {
  vhmn::Tensor<float> t({2, 3});
  check(t.numel() == 6, "Tensor<float>({2,3}) has 6 elements");
  check(t.dim(0) == 2 && t.dim(1) == 3, "Tensor shape is [2, 3]");
  t.fill(0.5f);
  float sum = 0.0f;
  for (float v : t) sum += v;
  check(sum == 3.0f, "fill(0.5) sums to 3");

  vhmn::Rng a(42), b(42);
  bool same = true;
  for (int i = 0; i < 16; ++i) same = same && (a.next() == b.next());
  check(same, "two Rng with one seed give one stream");
  const double u = a.uniform();
  check(u >= 0.0 && u < 1.0, "Rng::uniform() is in [0, 1)");

  vhmn::set_num_threads(1);
  check(vhmn::num_threads() == 1, "set_num_threads(1) is honoured");

#if VHMN_HAS_EXCEPTIONS
  bool threw = false;
  try {
    t.resize({-1});
  } catch (const vhmn::Error&) {
    threw = true;
  }
  check(threw, "a negative dimension throws vhmn::Error");
#endif

#ifdef VHMN_EXPECT_SIMD
  check(VHMN_HAS_SIMD == VHMN_EXPECT_SIMD, "SIMD switch matches the vhmn build");
#endif
#ifdef VHMN_EXPECT_OPENMP
  check(VHMN_HAS_OPENMP == VHMN_EXPECT_OPENMP, "OpenMP switch matches the vhmn build");
#endif
#ifdef VHMN_EXPECT_STB
#if __has_include(<stb_image.h>)
  check(VHMN_EXPECT_STB == 1, "<stb_image.h> is reachable only when vhmn found stb");
#else
  check(VHMN_EXPECT_STB == 0, "<stb_image.h> is reachable when vhmn found stb");
#endif
#endif

#ifdef VHMN_EXPECT_CODECS
#ifdef VHMN_USE_SYSTEM_CODECS
  check(VHMN_EXPECT_CODECS == 1, "VHMN_USE_SYSTEM_CODECS is defined only when vhmn found libpng and libjpeg");
#else
  check(VHMN_EXPECT_CODECS == 0, "VHMN_USE_SYSTEM_CODECS is defined when vhmn found libpng and libjpeg");
#endif
#if VHMN_EXPECT_CODECS
  // Both libraries are linked through vhmn::vhmn (this would not link otherwise).
  check(png_access_version_number() >= 10600, "libpng 1.6 or later is linked");
  jpeg_error_mgr err;
  check(jpeg_std_error(&err) == &err, "libjpeg is linked");
#endif
#endif

  std::printf("consumer: simd=%d openmp=%d threads=%d: %s\n", VHMN_HAS_SIMD, VHMN_HAS_OPENMP,
              vhmn::num_threads(), failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
