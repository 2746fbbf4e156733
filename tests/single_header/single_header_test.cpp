// Compiles and runs against single_include/vhmn/vhmn.hpp alone: the include
// path holds single_include/vhmn and not include/, so any `#include "vhmn/..."`
// left in the generated file, or a header missing from it, fails the build.
#include "vhmn.hpp"

#include <cstdio>

int single_header_image_failures();  // image_part.cpp: vhmn_image.hpp

#ifndef VHMN_HAS_SIMD
#error "vhmn.hpp did not define VHMN_HAS_SIMD"
#endif

int main() {
  int failures = 0;
  vhmn::Tensor<float> t({4, 8});
  t.fill(1.0f);
  float sum = 0.0f;
  for (float v : t) sum += v;
  if (t.numel() != 32 || sum != 32.0f) {
    std::fprintf(stderr, "single header: Tensor check failed\n");
    ++failures;
  }
  vhmn::Rng a(7), b(7);
  for (int i = 0; i < 8; ++i)
    if (a.next() != b.next()) {
      std::fprintf(stderr, "single header: Rng streams differ\n");
      ++failures;
      break;
    }
  failures += single_header_image_failures();
  std::printf("single header: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
