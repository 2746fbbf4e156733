#!/usr/bin/env python3
"""Predicted data-parallel efficiency of vhmn training (docs/scaling.md).

Per step on R nodes (every rank sends and receives over one link of
`gbps` Gb/s, latency `alpha` s per message):
  compute   t_c = b * s_img                 b = samples per rank
  gradients t_g = 2 (R-1)/R * G / bw + 2 (R-1) alpha    (ring all-reduce)
  bank      t_b = (R-1)/R * R b w / bw + (R-1) alpha    (ring all-gather of the
                                                         writes, w bytes/sample)
  efficiency = t_c / (t_c + t_g + t_b)   (no overlap of compute and communication)
Usage: scaling_model.py NAME S_IMG GRAD_BYTES BANK_BYTES_PER_SAMPLE [NAME ...]
"""
import sys

NODES = [4, 16, 64, 256]
NETS = [(10, 30e-6), (25, 20e-6), (100, 5e-6)]  # Gb/s, assumed per-message latency (TCP; 100: RDMA)


def efficiency(s_img, grad, bank, nodes, b, gbps, alpha):
    bw = gbps * 1e9 / 8
    t_c = b * s_img
    t_g = 2 * (nodes - 1) / nodes * grad / bw + 2 * (nodes - 1) * alpha
    t_b = (nodes - 1) / nodes * nodes * b * bank / bw + (nodes - 1) * alpha
    return t_c / (t_c + t_g + t_b), t_g, t_b


def main(argv):
    if len(argv) % 4 or not argv:
        sys.exit(__doc__)
    for i in range(0, len(argv), 4):
        name, s_img, grad, bank = argv[i], float(argv[i + 1]), float(argv[i + 2]), float(argv[i + 3])
        for title, per_rank in (("weak scaling, 64 samples per rank (global batch 64 R)", lambda r: 64),
                                ("strong scaling, global batch 512", lambda r: 512 / r)):
            print(f"\n{name}: {title}; compute {s_img * 1e3:.2f} ms/image, gradients {grad / 1e6:.2f} MB, "
                  f"bank writes {bank:.0f} B/sample")
            print("| Gb/s | " + " | ".join(f"{n} nodes" for n in NODES) + " |")
            print("|---:|" + "---:|" * len(NODES))
            for gbps, alpha in NETS:
                cells = []
                for n in NODES:
                    b = per_rank(n)
                    if b < 1:
                        cells.append("n/a (batch/rank < 1)")
                        continue
                    e, t_g, t_b = efficiency(s_img, grad, bank, n, b, gbps, alpha)
                    cells.append(f"{100 * e:.0f}% (ar {t_g * 1e3:.1f} ms, bank {t_b * 1e3:.1f} ms)")
                print(f"| {gbps} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
