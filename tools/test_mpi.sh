#!/usr/bin/env bash
# tools/test_mpi.sh — the MPI build and its 2-rank tests (.ci/run's MPI step).
#
#   bash tools/test_mpi.sh [BUILD_DIR] [extra cmake options...]
#
# Configures BUILD_DIR (default build-mpi) with -DVHMN_USE_MPI=ON, builds only
# what the tests need (vhmn_mpi_tests, vhmn) and runs `ctest -L mpi`: two
# ranks over loopback (mpirun --oversubscribe -np 2; as root too, the tests
# set OMPI_ALLOW_RUN_AS_ROOT). Needs libopenmpi-dev and openmpi-bin.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-mpi}
if [[ $# -gt 0 ]]; then shift; fi
case $build in
  /*) ;;
  *) build=$root/$build ;;
esac
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVHMN_USE_MPI=ON -DVHMN_BUILD_PACKAGE_TESTS=OFF \
  -DVHMN_BUILD_BENCH=OFF "$@"
cmake --build "$build" -j"${VHMN_JOBS:-2}" --target vhmn_mpi_tests vhmn_cli
cd "$build"
ctest -L mpi --output-on-failure
