#!/usr/bin/env bash
# tools/cross_test.sh ARCH [BUILD_DIR] — builds a fast subset of the unit
# tests with Debian's cross compiler for ARCH and runs it under qemu-user.
#
#   ARCH  aarch64 (NEON through xsimd) or s390x (big-endian; xsimd has no
#         instruction set there, so the scalar path is chosen automatically)
#
# Needs: g++-aarch64-linux-gnu / g++-s390x-linux-gnu, qemu-user, and the
# host's header-only dependencies (Eigen, xsimd, doctest, stb), which are
# architecture-independent. The test binary is static, so qemu needs no
# target sysroot. Image codecs come from stb (no cross libpng / libjpeg).
# The subset (override with VHMN_CROSS_TESTS="test_a test_b"): checkpoints
# moving between architectures (test_portability, with committed x86-64
# data: loads, logits, byte-identical write-back), the safetensors format,
# checkpoint round trips and JSON. test_ops / test_layers / test_memory also
# build, but add minutes of compile time per architecture.
set -euo pipefail
arch=${1:?usage: tools/cross_test.sh aarch64|s390x [BUILD_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/build-cross-$arch}
case $arch in
  aarch64) expect_simd=1 ;;
  s390x) expect_simd=0 ;;
  *) echo "cross_test.sh: unknown ARCH '$arch' (aarch64 or s390x)" >&2; exit 2 ;;
esac
cxx=$arch-linux-gnu-g++
command -v "$cxx" >/dev/null || { echo "cross_test.sh: $cxx not found (apt-get install g++-$arch-linux-gnu)" >&2; exit 2; }
command -v "qemu-$arch" >/dev/null || { echo "cross_test.sh: qemu-$arch not found (apt-get install qemu-user)" >&2; exit 2; }

# Only the header-only libraries from the host's /usr/include, never its libc headers.
mkdir -p "$out/inc"
for lib in xsimd doctest; do ln -sfn "/usr/include/$lib" "$out/inc/$lib"; done
tests=(${VHMN_CROSS_TESTS:-test_portability test_safetensors test_checkpoint test_json})
flags=(-std=c++17 -O2 -Wall -Wextra -I"$root/include" -isystem "$out/inc" -isystem /usr/include/eigen3
       -isystem /usr/include/stb -DVHMN_TEST_DATA_DIR="\"$root/tests/data\"" -DVHMN_EXPECT_SIMD=$expect_simd)
start=$(date +%s)
printf '%s\n' main "${tests[@]}" | xargs -P "${VHMN_CROSS_JOBS:-2}" -I{} \
  "$cxx" "${flags[@]}" -c "$root/tests/{}.cpp" -o "$out/{}.o"
objs=("$out/main.o")
for t in "${tests[@]}"; do objs+=("$out/$t.o"); done
"$cxx" -static -pthread "${objs[@]}" -o "$out/vhmn_cross_tests"
echo "cross_test.sh: $arch build $(( $(date +%s) - start )) s"
start=$(date +%s)
"qemu-$arch" "$out/vhmn_cross_tests" ${VHMN_CROSS_DOCTEST_ARGS:-}
echo "cross_test.sh: $arch tests $(( $(date +%s) - start )) s"
