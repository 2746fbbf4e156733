#!/bin/bash
# Training images/s of 1 rank x 2 threads against 2 ranks x 1 thread, and the
# communication cost per step, for each preset (docs/scaling.md).
# Usage: bench/mpi_throughput.sh BUILD_DIR [REPEATS] ; needs a -DVHMN_USE_MPI=ON
# build and ../shared/data/cifar-10-batches-bin. Prints one line per run;
# take medians (a shared machine is noisy).
set -eu
vhmn=$1/vhmn
repeats=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for preset in cifar-small paper-cifar; do
  limit=512
  [ "$preset" = paper-cifar ] && limit=128
  common=(train --data cifar10 --config "$preset" --train-limit "$limit" --test-limit 2 --epochs 1 --batch 64
          --warmup 0 --augment crop,flip)
  for r in $(seq "$repeats"); do
    d=$(mktemp -d)
    "$vhmn" "${common[@]}" --threads 2 --out "$d/one" > "$d/one.log"
    ips=$(sed -n 's/.*"images_per_s":\([0-9.e+]*\).*/\1/p' "$d/one/metrics.jsonl")
    echo "$preset 1x2 run $r images_per_s $ips"
    mpirun --oversubscribe -np 2 --bind-to none "$vhmn" "${common[@]}" --threads 1 --out "$d/two" > "$d/two.log"
    ips=$(sed -n 's/.*"images_per_s":\([0-9.e+]*\).*/\1/p' "$d/two/metrics.jsonl")
    echo "$preset 2x1 run $r images_per_s $ips $(grep 'communication per step' "$d/two.log")"
    rm -rf "$d"
  done
done
