#!/usr/bin/env bash
# bench/compare.sh — vhmn against the PyTorch reference on the same configs,
# batch and threads, in one go, and each as a fraction of the machine's FP32
# GEMM peak.
#
#   bash bench/compare.sh [--vhmn PATH] [--gemm PATH] [--configs "cifar-small paper-cifar"]
#                         [--batch 64] [--threads 2] [--repeats 5] [--scaling] [--out FILE]
#
#   --vhmn     the vhmn program (default: build-perf/vhmn, else build/vhmn)
#   --gemm     bench_gemm (default: next to vhmn); measures the FP32 peak
#   --scaling  also run vhmn and PyTorch on 1 thread (1 -> N thread scaling)
#   --out      also append every raw JSON result to FILE (one per line)
#
# For every config it runs `vhmn bench --json` and
# `bench/pytorch_reference.py bench --json` back to back with the same
# batch, threads and repeats (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS pinned
# for PyTorch's BLAS), then prints images/s, the vhmn/PyTorch ratios, peak
# RSS, and achieved GFLOP/s (vhmn's analytic count of the model's
# matrix-product flops, the same count for both) as a fraction of the peak
# of a 2048^3 single-precision GEMM. It also prints the cores' FP32 FMA
# ceiling (bench_gemm: register-only FMAs) and what share of it twice
# PyTorch's speed would take. Without torch, PyTorch columns are "-".
# Run on a quiet machine (check `uptime`): ratios only mean something when
# both sides ran under the same load.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${VHMN_PYTHON:-/usr/bin/python3}
vhmn=""
gemm=""
configs="cifar-small paper-cifar"
batch=64
threads=2
repeats=5
scaling=0
out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --vhmn) vhmn=$2; shift 2 ;;
    --gemm) gemm=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --scaling) scaling=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z $vhmn ]]; then
  for c in "$root/build-perf/vhmn" "$root/build/vhmn"; do
    if [[ -x $c ]]; then vhmn=$c; break; fi
  done
fi
[[ -x $vhmn ]] || { echo "compare.sh: vhmn program not found (--vhmn PATH)" >&2; exit 2; }
[[ -n $gemm ]] || gemm=$(dirname "$vhmn")/bench_gemm
have_torch=0
if [[ -x $PY ]] && "$PY" -c "import torch" >/dev/null 2>&1; then have_torch=1; fi

results=$(mktemp "${TMPDIR:-/tmp}/vhmn_compare.XXXXXX")
trap 'rm -f "$results"' EXIT

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -x $gemm ]]; then
  "$gemm" --json --threads "$threads" --repeats "$repeats" >> "$results"
fi
if [[ $have_torch -eq 1 ]]; then
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$PY" - "$threads" >> "$results" <<'EOF'
import json, sys, time, torch
t = int(sys.argv[1]); torch.set_num_threads(t)
n = 2048; a = torch.randn(n, n); b = torch.randn(n, n)
for _ in range(2): a @ b
ts = []
for _ in range(5):
    t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
ts.sort()
print(json.dumps({"kind": "torch_gemm", "threads": t, "gemm_gflops": 2 * n ** 3 / ts[len(ts) // 2] / 1e9}))
EOF
fi

run_pair() {  # run_pair CONFIG THREADS
  local cfg=$1 t=$2
  "$vhmn" bench --config "$cfg" --batch "$batch" --threads "$t" --repeats "$repeats" --json >> "$results"
  if [[ $have_torch -eq 1 ]]; then
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$PY" "$root/bench/pytorch_reference.py" bench \
      --config "$cfg" --batch "$batch" --threads "$t" --repeats "$repeats" --json >> "$results"
  fi
}
for cfg in $configs; do
  run_pair "$cfg" "$threads"
  if [[ $scaling -eq 1 && $threads -ne 1 ]]; then run_pair "$cfg" 1; fi
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n $out ]]; then cat "$results" >> "$out"; fi

"$PY" - "$results" "$threads" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
threads = int(sys.argv[2])
peak = next((r["gemm_gflops"] for r in rows if r.get("kind") == "gemm"), None)
tpeak = next((r["gemm_gflops"] for r in rows if r.get("kind") == "torch_gemm"), None)
ceiling = next((r.get("fma_ceiling_gflops") for r in rows if r.get("kind") == "gemm"), None)
if peak:
    print("FP32 GEMM peak (2048^3, %d threads): vhmn::ops::gemm %.1f GFLOP/s%s" % (
        threads, peak, ", torch.matmul %.1f GFLOP/s" % tpeak if tpeak else ""))
if ceiling:
    print("FP32 FMA ceiling (registers only, %d threads): %.1f GFLOP/s" % (threads, ceiling))
def find(impl, cfg, t):
    return next((r for r in rows if r.get("impl") == impl and r["config"] == cfg and r["threads"] == t), None)
fmt = "%-12s %3s | %9s %9s %6s | %9s %9s %6s | %7s %7s | %14s %14s"
print(fmt % ("config", "thr", "train v", "train pt", "ratio", "infer v", "infer pt", "ratio",
             "RSS v", "RSS pt", "train GF/peak", "infer GF/peak"))
def f(x, spec="%.1f"):
    return "-" if x is None else spec % x
for r in rows:
    if r.get("impl") != "vhmn":
        continue
    cfg, t = r["config"], r["threads"]
    p = find("pytorch", cfg, t)
    tr, ir = r["train_images_per_s"], r["infer_images_per_s"]
    ptr = p["train_images_per_s"] if p else None
    pir = p["infer_images_per_s"] if p else None
    frac = lambda g: "%.0f (%.0f%%)" % (g, 100 * g / peak) if peak else "%.0f" % g
    print(fmt % (cfg, t, f(tr), f(ptr), f(tr / ptr if ptr else None, "%.2fx"), f(ir), f(pir),
                 f(ir / pir if pir else None, "%.2fx"), f(r["peak_rss_mb"], "%.0f"),
                 f(p["peak_rss_mb"] if p else None, "%.0f"), frac(r["train_gflops"]), frac(r["infer_gflops"])))
    if p:
        gf_t = r["train_gflop"] * p["train_images_per_s"] / r["batch"]
        gf_i = r["infer_gflop"] * p["infer_images_per_s"] / r["batch"]
        line = "%-16s PyTorch at the same flop count: train %.0f GFLOP/s, infer %.0f GFLOP/s" % ("", gf_t, gf_i)
        if ceiling:  # what twice PyTorch's speed would take, against what the cores can do at all
            c = ceiling * t / threads
            line += "; 2x needs %.0f%% / %.0f%% of the FMA ceiling" % (200 * gf_t / c, 200 * gf_i / c)
        print(line)
# 1 -> N thread scaling
for r in rows:
    if r.get("impl") in ("vhmn", "pytorch") and r["threads"] == threads and threads != 1:
        one = find(r["impl"], r["config"], 1)
        if one:
            print("scaling %-8s %-12s 1 -> %d threads: train %.2fx, infer %.2fx" % (
                r["impl"], r["config"], threads, r["train_images_per_s"] / one["train_images_per_s"],
                r["infer_images_per_s"] / one["infer_images_per_s"]))
EOF
