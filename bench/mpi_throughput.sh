#!/bin/bash
# Training images/s of 2 ranks x 1 thread with the gradient sums overlapped
# with the backward (VHMN_MPI_OVERLAP=1) and after it (=0), and of 1 rank x
# 2 threads, for each preset, with the time a step waits in the final MPI
# wait (docs/scaling.md).
# Usage: bench/mpi_throughput.sh BUILD_DIR [ROUNDS] [MODES]
#   MODES: a space-separated choice of "1x2 2x1-off 2x1-on" (default all)
#   PRESETS (env): default "cifar-small paper-cifar"; PAPER_LIMIT (env):
#   paper-cifar training images (default 128)
# Needs a -DVHMN_USE_MPI=ON build and CIFAR-10 in $VHMN_DATA
# (default ../shared/data/cifar-10-batches-bin).
# Rounds interleave the modes (their order turns each round, so a change of
# load hits every mode alike). Prints one line per run, then the median of
# each preset and mode.
set -eu
vhmn=$1/vhmn
rounds=${2:-3}
read -r -a modes <<< "${3:-1x2 2x1-off 2x1-on}"
presets=${PRESETS:-cifar-small paper-cifar}
data=${VHMN_DATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/cifar-10-batches-bin}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
results=$(mktemp)
trap 'rm -f "$results"' EXIT
n=${#modes[@]}
echo "start: $(date -u +%H:%M) UTC, load $(cut -d" " -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for preset in $presets; do
    limit=512
    [ "$preset" = paper-cifar ] && limit=${PAPER_LIMIT:-128}
    common=(train --data cifar10 --data-dir "$data" --config "$preset" --train-limit "$limit" --test-limit 2 --epochs 1 --batch 64
            --warmup 0 --augment crop,flip)
    for k in $(seq 0 $((n - 1))); do
      mode=${modes[$(((k + r) % n))]}
      d=$(mktemp -d)
      case $mode in
        1x2) "$vhmn" "${common[@]}" --threads 2 --out "$d/run" > "$d/log" ;;
        2x1-off | 2x1-on)
          overlap=0
          [ "$mode" = 2x1-on ] && overlap=1
          VHMN_MPI_OVERLAP=$overlap mpirun --oversubscribe -np 2 --bind-to none -x VHMN_MPI_OVERLAP \
            "$vhmn" "${common[@]}" --threads 1 --out "$d/run" > "$d/log" ;;
        *) echo "unknown mode '$mode' (1x2, 2x1-off, 2x1-on)" >&2; exit 2 ;;
      esac
      ips=$(sed -n 's/.*"images_per_s":\([0-9.e+]*\).*/\1/p' "$d/run/metrics.jsonl")
      wait_ms=$(sed -n 's/.*final wait \([0-9.]*\) ms.*/\1/p' "$d/log")
      echo "$preset $mode round $r images_per_s $ips $(grep 'communication per step' "$d/log" || true)"
      echo "$preset $mode $ips ${wait_ms:--}" >> "$results"
      rm -rf "$d"
    done
  done
done
echo "end: $(date -u +%H:%M) UTC, load $(cut -d" " -f1-3 /proc/loadavg)"
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "medians of $rounds rounds:"
for preset in $presets; do
  for mode in "${modes[@]}"; do
    ips=$(awk -v p="$preset" -v m="$mode" '$1 == p && $2 == m {print $3}' "$results" | median)
    wait_ms=$(awk -v p="$preset" -v m="$mode" '$1 == p && $2 == m && $4 != "-" {print $4}' "$results" | median)
    echo "$preset $mode images_per_s $ips final_wait_ms_per_step $wait_ms"
  done
done
