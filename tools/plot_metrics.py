#!/usr/bin/env python3
"""Render one or more RUN_DIR/metrics.jsonl files as an SVG accuracy curve.

usage: tools/plot_metrics.py OUT.svg LABEL=RUN_DIR/metrics.jsonl [...]

Plots test accuracy (solid) and train accuracy (dashed) against elapsed
minutes. Standard library only, so it runs anywhere python3 does.
"""
import json
import sys

W, H, L, R, T, B = 640, 360, 60, 20, 30, 50
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, runs = sys.argv[1], []
    for arg in sys.argv[2:]:
        label, _, path = arg.partition("=")
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        runs.append((label, rows))
    xmax = max(r["elapsed_s"] for _, rows in runs for r in rows) / 60.0
    accs = [r[k] for _, rows in runs for r in rows for k in ("test_acc", "train_acc") if r.get(k) is not None]
    ylo = max(0.0, (int(min(accs) * 20) / 20.0))
    yhi = min(1.0, (int(max(accs) * 20) + 1) / 20.0)

    def px(x):
        return L + (W - L - R) * x / xmax

    def py(y):
        return T + (H - T - B) * (1 - (y - ylo) / (yhi - ylo))

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    y = ylo
    while y <= yhi + 1e-9:
        svg.append(f'<line x1="{L}" x2="{W - R}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{L - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{100 * y:.0f}%</text>')
        y += 0.05
    step = 5 if xmax <= 40 else 10
    m = 0
    while m <= xmax + 1e-9:
        svg.append(f'<text x="{px(m):.1f}" y="{H - B + 18}" text-anchor="middle">{m}</text>')
        m += step
    svg.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">minutes of training (2 cores)</text>')
    svg.append(f'<line x1="{L}" x2="{W - R}" y1="{H - B}" y2="{H - B}" stroke="black"/>')
    svg.append(f'<line x1="{L}" x2="{L}" y1="{T}" y2="{H - B}" stroke="black"/>')
    for i, (label, rows) in enumerate(runs):
        c = COLOURS[i % len(COLOURS)]
        for key, dash in (("test_acc", ""), ("train_acc", ' stroke-dasharray="5,4"')):
            pts = [(px(r["elapsed_s"] / 60.0), py(r[key])) for r in rows if r.get(key) is not None]
            if pts:
                d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                svg.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
                for x, y in pts:
                    svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{c}"/>')
        tested = [r for r in rows if r.get("test_acc") is not None]
        best = max(tested, key=lambda r: r["test_acc"]) if tested else rows[-1]
        svg.append(f'<text x="{L + 10}" y="{T + 16 * (i + 1)}" fill="{c}">{label}: best test {100 * best["test_acc"]:.2f}% '
                   f'at {best["elapsed_s"] / 60:.1f} min (solid: test, dashed: train)</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
