#!/usr/bin/env bash
# Cross-check `vhmn forward --grad` against the independent PyTorch reference
# (bench/pytorch_reference.py) on small random models: float64 at 1e-9 and
# float32 at 1e-4 relative error for logits, loss and every parameter gradient.
#
# usage: tools/crosscheck.sh PATH_TO_vhmn [WORKDIR]
# exit:  0 all passed, 1 a mismatch or vhmn failure, 2 usage, 77 skipped (no torch)
set -u

PY=${VHMN_PYTHON:-/usr/bin/python3}  # Debian python with python3-torch
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ref="$root/bench/pytorch_reference.py"

if [ $# -lt 1 ]; then
  echo "usage: $0 PATH_TO_vhmn [WORKDIR]" >&2
  exit 2
fi
vhmn=$1
if [ ! -x "$PY" ] || ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "SKIP: torch not installed (needs $PY with python3-torch)"
  exit 77
fi
if [ ! -x "$vhmn" ]; then
  echo "error: vhmn binary not found or not executable: $vhmn" >&2
  exit 2
fi
case $vhmn in /*) ;; *) vhmn="$PWD/$vhmn" ;; esac

if [ $# -ge 2 ]; then
  work=$2
  keep=1
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/vhmn_crosscheck.XXXXXX")
  keep=0
fi
mkdir -p "$work"

rc=0
run() {  # run NAME ARGS...
  local name=$1
  shift
  echo "== $name"
  if ! "$PY" "$ref" crosscheck --vhmn "$vhmn" --workdir "$work/$name" "$@"; then
    rc=1
  fi
}

run f64        --config all --dtype f64 --seed 0
run f64-seed1  --config all --dtype f64 --seed 1
run f32        --config all --dtype f32 --seed 0
run f64-w32    --config tiny,wrapped,mono --dtype f64 --weights f32 --seed 2

if [ $rc -eq 0 ]; then
  echo "crosscheck: PASS"
  [ $keep -eq 0 ] && rm -rf "$work"
else
  echo "crosscheck: FAIL (inputs, reference and vhmn outputs kept under $work)"
fi
exit $rc
