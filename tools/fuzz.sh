#!/usr/bin/env bash
# tools/fuzz.sh — build the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp) and
# run each for a while; prints executions and exec/s per harness.
#
#   bash tools/fuzz.sh [SECONDS] [options] [HARNESS...]
#     SECONDS       per harness (default 300; --ci: 60)
#     --ci          CI mode: 60 s each unless SECONDS is given, 2 at a time
#     -j N          run N harnesses at once (default 1; --ci: 2)
#     --build DIR   build folder (default build-fuzz)
#     --seed        only rewrite the seed corpora in tests/fuzz/corpus that
#                   tests/fuzz/make_corpus.cpp makes (others are left alone)
#     HARNESS...    names such as fuzz_json (default: every tests/fuzz/fuzz_*.cpp)
#
# Needs clang++ with libFuzzer (Debian: clang, libclang-rt-14-dev). Each
# harness starts from tests/fuzz/corpus/<name without fuzz_>/ (never
# modified) plus what earlier runs found, kept in DIR/corpus/<name>/; an input
# that crashes, leaks, times out (> 10 s) or passes 2 GB is saved under
# DIR/findings/<name>/ and the script exits 1. A summary is also written to
# DIR/fuzz-summary.txt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds="" ci=0 jobs="" build=build-fuzz seed_only=0 names=()
while (( $# )); do
  case $1 in
    --ci) ci=1 ;;
    -j) jobs=$2; shift ;;
    --build) build=$2; shift ;;
    --seed) seed_only=1 ;;
    [0-9]*) seconds=$1 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) names+=("$1") ;;
  esac
  shift
done
(( ci )) && : "${seconds:=60}" "${jobs:=2}"
: "${seconds:=300}" "${jobs:=1}"
case $build in /*) ;; *) build=$root/$build ;; esac

if (( ${#names[@]} == 0 )); then
  for src in "$root"/tests/fuzz/fuzz_*.cpp; do names+=("$(basename "$src" .cpp)"); done
fi

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVHMN_BUILD_FUZZERS=ON -DVHMN_BUILD_TESTS=OFF -DVHMN_BUILD_PACKAGE_TESTS=OFF -DVHMN_BUILD_TOOLS=OFF \
  -DVHMN_BUILD_BENCH=OFF >/dev/null
if (( seed_only )); then
  cmake --build "$build" -j"${VHMN_JOBS:-2}" --target vhmn_fuzz_corpus
  "$build/vhmn_fuzz_corpus" "$root/tests/fuzz/corpus"  # rewrites only the folders it makes
  exit 0
fi
cmake --build "$build" -j"${VHMN_JOBS:-2}" --target "${names[@]}"

run_one() {  # run_one <harness>: fuzz it, leave its summary line in $build/logs/<harness>.summary
  local name=$1 short=${1#fuzz_}
  local corpus=$build/corpus/$name findings=$build/findings/$name log=$build/logs/$name.log
  mkdir -p "$corpus" "$findings" "$build/logs"
  local seeds=()
  [[ -d $root/tests/fuzz/corpus/$short ]] && seeds=("$root/tests/fuzz/corpus/$short")
  local rc=0
  "$build/$name" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$findings/" "$corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  local execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  local verdict="ok"
  if (( rc != 0 )); then verdict="FINDING (rc $rc, see $log and $findings/)"; fi
  printf '%-22s %12s execs %8s exec/s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$verdict" >"$build/logs/$name.summary"
  return $rc
}

echo "fuzz: ${#names[@]} harnesses, ${seconds} s each, $jobs at a time"
failed=0
running=0
for name in "${names[@]}"; do
  run_one "$name" &
  running=$((running + 1))
  if (( running >= jobs )); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while (( running > 0 )); do
  wait -n || failed=1
  running=$((running - 1))
done

{
  echo "fuzz summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds} s each):"
  for name in "${names[@]}"; do cat "$build/logs/$name.summary"; done
} | tee "$build/fuzz-summary.txt"
if (( failed )); then
  echo "fuzz: FINDINGS; inputs are under $build/findings/" >&2
  exit 1
fi
echo "fuzz: no findings"
