#!/usr/bin/env bash
# bench/compare.sh — vhmn against the PyTorch reference on the same configs,
# batch and threads, in one go, and each as a fraction of the machine's FP32
# GEMM peak.
#
#   bash bench/compare.sh [--vhmn PATH] [--gemm PATH] [--configs "cifar-small paper-cifar"]
#                         [--batch 64] [--threads 2] [--repeats 5] [--rounds 3] [--scaling]
#                         [--precision fp32|bf16|both] [--out FILE]
#
#   --vhmn     the vhmn program (default: build-perf/vhmn, else build/vhmn)
#   --gemm     bench_gemm (default: next to vhmn); measures the FP32 peak
#   --rounds   how many times to run the whole comparison (default 3)
#   --scaling  also run vhmn and PyTorch on 1 thread (1 -> N thread scaling)
#   --precision  fp32 (default): both sides in fp32, as before.
#              bf16: vhmn --precision bf16 against PyTorch fp32 and PyTorch
#              bf16 (torch.autocast("cpu", dtype=torch.bfloat16) around the
#              forward and loss); both: vhmn fp32 and bf16 against both.
#              bf16 GFLOP/s are shown as a share of bench_gemm's bf16
#              ceiling (register-only vdpbf16ps) when it reports one.
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
#
# Shared machines are noisy (a neighbour can take a third of a core for a
# minute), so the comparison runs in rounds: each round runs every config
# on both sides back to back, vhmn first in odd rounds and PyTorch first in
# even ones, and a ratio is taken within each round. The table shows the
# median over rounds of images/s and of the per-round ratios, with the
# ratios' range; the GEMM peak and FMA ceiling are the best of the rounds.
# Run on a quiet machine all the same (check `uptime`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${VHMN_PYTHON:-/usr/bin/python3}
vhmn=""
gemm=""
configs="cifar-small paper-cifar"
batch=64
threads=2
repeats=5
rounds=3
scaling=0
precision=fp32
out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --vhmn) vhmn=$2; shift 2 ;;
    --gemm) gemm=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --scaling) scaling=1; shift ;;
    --precision) precision=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z $vhmn ]]; then
  for c in "$root/build-perf/vhmn" "$root/build/vhmn"; do
    if [[ -x $c ]]; then vhmn=$c; break; fi
  done
fi
[[ -x $vhmn ]] || { echo "compare.sh: vhmn program not found (--vhmn PATH)" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds must be a positive integer" >&2; exit 2; }
case $precision in
  fp32) vhmn_precisions="fp32"; torch_precisions="fp32" ;;
  bf16) vhmn_precisions="bf16"; torch_precisions="fp32 bf16" ;;
  both) vhmn_precisions="fp32 bf16"; torch_precisions="fp32 bf16" ;;
  *) echo "compare.sh: --precision must be fp32, bf16 or both, got '$precision'" >&2; exit 2 ;;
esac
[[ -n $gemm ]] || gemm=$(dirname "$vhmn")/bench_gemm
have_torch=0
if [[ -x $PY ]] && "$PY" -c "import torch" >/dev/null 2>&1; then have_torch=1; fi

results=$(mktemp "${TMPDIR:-/tmp}/vhmn_compare.XXXXXX")
trap 'rm -f "$results"' EXIT

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

measure_peaks() {  # the 2048^3 GEMM peak of both sides and the FMA ceiling
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
}

run_vhmn() {  # run_vhmn CONFIG THREADS: one run per vhmn precision
  for p in $vhmn_precisions; do
    "$vhmn" bench --config "$1" --batch "$batch" --threads "$2" --repeats "$repeats" --precision "$p" \
      --json >> "$results"
  done
}
run_torch() {  # run_torch CONFIG THREADS: one run per PyTorch precision
  if [[ $have_torch -eq 1 ]]; then
    for p in $torch_precisions; do
      OMP_NUM_THREADS=$2 OPENBLAS_NUM_THREADS=$2 "$PY" "$root/bench/pytorch_reference.py" bench \
        --config "$1" --batch "$batch" --threads "$2" --repeats "$repeats" --precision "$p" --json >> "$results"
    done
  fi
}
run_pair() {  # run_pair ROUND CONFIG THREADS: both sides back to back, order alternating by round
  if (( $1 % 2 == 1 )); then run_vhmn "$2" "$3"; run_torch "$2" "$3"
  else run_torch "$2" "$3"; run_vhmn "$2" "$3"; fi
}
for ((round = 1; round <= rounds; round++)); do
  echo "# round $round of $rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  measure_peaks
  for cfg in $configs; do
    run_pair "$round" "$cfg" "$threads"
    if [[ $scaling -eq 1 && $threads -ne 1 ]]; then run_pair "$round" "$cfg" 1; fi
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n $out ]]; then cat "$results" >> "$out"; fi

"$PY" - "$results" "$threads" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
threads = int(sys.argv[2])
def best(kind, key="gemm_gflops"):
    v = [r[key] for r in rows if r.get("kind") == kind and r.get(key)]
    return max(v) if v else None
peak, tpeak, ceiling = best("gemm"), best("torch_gemm"), best("gemm", "fma_ceiling_gflops")
if peak:
    print("FP32 GEMM peak (2048^3, %d threads, best round): vhmn::ops::gemm %.1f GFLOP/s%s" % (
        threads, peak, ", torch.matmul %.1f GFLOP/s" % tpeak if tpeak else ""))
if ceiling:
    print("FP32 FMA ceiling (registers only, %d threads): %.1f GFLOP/s" % (threads, ceiling))
# runs[(impl, config, threads)] = one fp32 result per round, in round order;
# runs16[(impl, precision, config, threads)] = every precision's results
runs, runs16 = {}, {}
for r in rows:
    if r.get("impl") in ("vhmn", "pytorch"):
        p = r.get("precision", "fp32")
        runs16.setdefault((r["impl"], p, r["config"], r["threads"]), []).append(r)
        if p == "fp32":
            runs.setdefault((r["impl"], r["config"], r["threads"]), []).append(r)
med = statistics.median
def median_of(rs, key):  # the median over rounds of one field
    return med([r[key] for r in rs]) if rs else None
def per_round(a, b, key):  # the ratio a/b taken within each round
    return [x[key] / y[key] for x, y in zip(a, b)]
def ratio_text(v):
    if not v:
        return "-"
    return "%.2fx" % med(v) + (" (%.2f-%.2f)" % (min(v), max(v)) if len(v) > 1 else "")
rounds = max((len(v) for v in runs16.values()), default=0)
print("medians over %d round(s); ratios are per-round vhmn/PyTorch, median (min-max)" % rounds)
fmt = "%-12s %3s | %8s %8s %-18s | %8s %8s %-18s | %6s %6s | %11s %11s"
if any(impl == "vhmn" for impl, _, _ in runs):
    print(fmt % ("config", "thr", "train v", "train pt", "ratio", "infer v", "infer pt", "ratio",
                 "RSS v", "RSS pt", "train GF", "infer GF"))
def f(x, spec="%.1f"):
    return "-" if x is None else spec % x
for (impl, cfg, t), v in runs.items():
    if impl != "vhmn":
        continue
    p = runs.get(("pytorch", cfg, t), [])
    tr, ir = median_of(v, "train_images_per_s"), median_of(v, "infer_images_per_s")
    ptr, pir = median_of(p, "train_images_per_s"), median_of(p, "infer_images_per_s")
    frac = lambda g: "%.0f (%.0f%%)" % (g, 100 * g / peak) if peak else "%.0f" % g
    print(fmt % (cfg, t, f(tr), f(ptr), ratio_text(per_round(v, p, "train_images_per_s")), f(ir), f(pir),
                 ratio_text(per_round(v, p, "infer_images_per_s")),
                 f(max(r["peak_rss_mb"] for r in v), "%.0f"),
                 f(max(r["peak_rss_mb"] for r in p) if p else None, "%.0f"),
                 frac(median_of(v, "train_gflops")), frac(median_of(v, "infer_gflops"))))
    if p:
        gf_t = v[0]["train_gflop"] * ptr / v[0]["batch"]
        gf_i = v[0]["infer_gflop"] * pir / v[0]["batch"]
        line = "%-16s PyTorch at the same flop count: train %.0f GFLOP/s, infer %.0f GFLOP/s" % ("", gf_t, gf_i)
        if ceiling:  # what twice PyTorch's speed would take, against what the cores can do at all
            c = ceiling * t / threads
            line += "; 2x needs %.0f%% / %.0f%% of the FMA ceiling" % (200 * gf_t / c, 200 * gf_i / c)
        print(line)
# bf16: vhmn bf16 against PyTorch fp32 and PyTorch bf16 (autocast), GFLOP/s
# as a share of the bf16 ceiling; RSS next to vhmn fp32's when it ran
ceil16 = best("gemm", "bf16_ceiling_gflops")
peak16 = best("gemm", "bf16_gemm_gflops")
if any(impl == "vhmn" and p == "bf16" for impl, p, _, _ in runs16):
    if peak16 or ceil16:
        print("bf16 (%d threads, best round):%s%s" % (
            threads, " GEMM peak %.1f GFLOP/s" % peak16 if peak16 else "",
            ", vdpbf16ps ceiling (registers only) %.1f GFLOP/s" % ceil16 if ceil16 else ""))
    print("bf16: vhmn --precision bf16 (%s) against PyTorch fp32 (pt32) and autocast bf16 (pt16)" % ", ".join(sorted(
        {r.get("bf16_backend", "?") for (i, p, _, _), v in runs16.items() if i == "vhmn" and p == "bf16" for r in v})))
    fmt16 = "%-12s %3s | %7s %7s %-17s %7s %-17s | %7s %7s %-17s %7s %-17s | %5s %5s %5s %5s | %9s %9s"
    print(fmt16 % ("config", "thr", "train16", "pt32", "ratio", "pt16", "ratio", "infer16", "pt32", "ratio", "pt16",
                   "ratio", "RSS16", "RSS32", "RSSp32", "RSSp16", "train GF", "infer GF"))
    for (impl, p, cfg, t), v in runs16.items():
        if impl != "vhmn" or p != "bf16":
            continue
        p32, p16 = runs16.get(("pytorch", "fp32", cfg, t), []), runs16.get(("pytorch", "bf16", cfg, t), [])
        v32 = runs16.get(("vhmn", "fp32", cfg, t), [])
        rss = lambda rs: max(r["peak_rss_mb"] for r in rs) if rs else None
        c16 = ceil16 * t / threads if ceil16 else None
        frac = lambda g: "%.0f (%.0f%%)" % (g, 100 * g / c16) if c16 else "%.0f" % g
        print(fmt16 % (cfg, t, f(median_of(v, "train_images_per_s")), f(median_of(p32, "train_images_per_s")),
                       ratio_text(per_round(v, p32, "train_images_per_s")), f(median_of(p16, "train_images_per_s")),
                       ratio_text(per_round(v, p16, "train_images_per_s")),
                       f(median_of(v, "infer_images_per_s")), f(median_of(p32, "infer_images_per_s")),
                       ratio_text(per_round(v, p32, "infer_images_per_s")), f(median_of(p16, "infer_images_per_s")),
                       ratio_text(per_round(v, p16, "infer_images_per_s")),
                       f(rss(v), "%.0f"), f(rss(v32), "%.0f"), f(rss(p32), "%.0f"), f(rss(p16), "%.0f"),
                       frac(median_of(v, "train_gflops")), frac(median_of(v, "infer_gflops"))))
# 1 -> N thread scaling, taken within each round
for (impl, cfg, t), v in runs.items():
    if t == threads and threads != 1 and (impl, cfg, 1) in runs:
        one = runs[(impl, cfg, 1)]
        print("scaling %-8s %-12s 1 -> %d threads: train %s, infer %s" % (
            impl, cfg, threads, ratio_text(per_round(v, one, "train_images_per_s")),
            ratio_text(per_round(v, one, "infer_images_per_s"))))
EOF
