#!/usr/bin/env bash
# tools/test.sh — THE test command (README "Quick start" and .ci/run both run it).
#
#   bash tools/test.sh [BUILD_DIR] [extra cmake options...]
#
# Configures a Release build in BUILD_DIR (default: build, relative paths are
# taken from the repository root), builds everything with -j2 (VHMN_JOBS to
# change) and runs every ctest test: the doctest suite and the packaging
# tests. Examples:
#   bash tools/test.sh
#   bash tools/test.sh build-scalar -DVHMN_USE_OPENMP=OFF -DVHMN_USE_SIMD=OFF
#   bash tools/test.sh build-clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS=-Werror
#   VHMN_CTEST_EXCLUDE='^crosscheck\.' bash tools/test.sh build-asan -DVHMN_SANITIZE=address,undefined
# VHMN_CTEST_EXCLUDE, when set, is a ctest -E regex of tests to skip.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
if [[ $# -gt 0 ]]; then shift; fi
case $build in
  /*) ;;
  *) build=$root/$build ;;
esac
jobs=${VHMN_JOBS:-2}
# Per-test limit in seconds; the slowest test (a short training run) must fit.
timeout=${VHMN_TEST_TIMEOUT:-1200}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j"$jobs"
cd "$build"
exclude=()
if [[ -n ${VHMN_CTEST_EXCLUDE:-} ]]; then exclude=(-E "$VHMN_CTEST_EXCLUDE"); fi
ctest --output-on-failure --timeout "$timeout" "${exclude[@]}"
