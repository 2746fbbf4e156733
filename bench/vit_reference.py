#!/usr/bin/env python3
"""A plain ViT trained with vhmn's CIFAR-10 recipe: the baseline of the paper's
data-efficiency claim (10% of CIFAR-10: V-HMN 80.22% vs ViT 72.73%).

    /usr/bin/python3 bench/vit_reference.py --fraction 0.1 --epochs 40 --threads 1 \\
        --seed 0 --out runs/vit10.metrics.jsonl

is the ViT side of

    vhmn train --data cifar10 --fraction 0.1 --epochs 40 --threads 1 --seed 0 --out RUN_DIR

What is matched to vhmn's `cifar-fast` (docs/spec.md §6) and to the defaults of
`vhmn train --data cifar10` (tools/vhmn/cmd_train.cpp, RecipeDefaults):

* Model. Everything but the token mixer is V-HMN's: 32x32 images cut into
  4x4 patches (64 tokens), Conv2d patch embedding to D = 128 plus a learnt
  positional table (§1), 4 pre-norm blocks with two residual sums and an MLP
  of ratio 2 with exact GELU (§2), LayerNorm eps 1e-5, and V-HMN's head (§5):
  final LayerNorm, *attention pooling* over tokens (e_n = w.V_n + b,
  softmax over n, weighted sum; vhmn's head does not mean-pool, so neither
  does this one), then a linear classifier. Where V-HMN's block has its local
  window memory and global template memory (a_n + c), this block has
  multi-head self-attention, 4 heads of 32: Y = X + Proj(MHSA(LN_1(X))).
  Initialisation as §6: truncated normal (std 0.02, cut at 2 std) for every
  weight and the positional table, biases 0, LayerNorm weights 1.
* Data. The same CIFAR-10 binary files; --fraction keeps the same images as
  `vhmn train --fraction` with the same --seed (include/vhmn/data/subset.hpp:
  per class, in label order, a partial Fisher-Yates shuffle drawn from vhmn's
  xoshiro256** generator seeded with derive_seed(seed, 11), reimplemented
  here bit for bit). Normalisation (x/255 - mean)/std with the per-channel
  mean and population std of the (sub)set's pixels (data/normalize.hpp).
  The epoch order and every augmentation draw come from vhmn's generators
  too (data/loader.hpp: loader seed derive_seed(seed, 1); per epoch a
  Fisher-Yates shuffle; per batch a generator seeded by (epoch, batch)), so
  both models see the same images in the same order with the same crops and
  flips: random crop of the image zero-padded by 4 (pixel value 0, before
  normalisation, as vhmn pads the uint8 image) and a horizontal flip with
  probability 1/2. --check-vhmn CKPT confirms subset, order and
  normalisation against a checkpoint of the vhmn run.
* Recipe. AdamW (betas 0.9/0.999, eps 1e-8), lr 2e-3, decoupled weight
  decay 0.05 on weights only (not on biases, LayerNorms or the positional
  table, as vhmn's Param::decay; the attention-pool and head weights decay,
  as in vhmn), batch 64 with the last partial batch kept (5000 images: 79
  steps), linear warm-up over 1 epoch then cosine decay to 0 per step
  (train/optimizer.hpp WarmupCosine), soft-target cross-entropy with label
  smoothing 0.1 (targets 0.91 / 0.01), evaluation after every epoch on the
  full test set with flip test-time augmentation (mean logits of x and its
  mirror), fp32.
* Patch embedding from the whitened covariance of training patches, as
  `vhmn train --init whiten` (train/whitening.hpp): the covariance of the
  normalised 4x4x3 patches of up to 5000 images evenly spaced through the
  training (sub)set, Sigma = V diag(lambda) V^T; row r of the 128 x 48
  weight is v_r / sqrt(lambda_r + 5e-4), largest variance first, bias
  -W mu; rows 48..127 keep their random values.

What differs:

* The token mixer, which is the point of the comparison; and with it the
  size: this ViT has about 0.55 M parameters, V-HMN `cifar-fast` about
  1.20 M (its local query alone is a (128, 128 x 3 x 3) matrix per block).
  Width, depth, patch size, MLP ratio, head, epochs and recipe are matched;
  parameters are not. --mlp-ratio 7 gives a ViT of about V-HMN's parameter
  count, for a second comparison.
* Random numbers for the weights: torch's generator (torch.manual_seed),
  not vhmn's, so the initial weights are a different draw from the same
  distribution. The whitened filters equal vhmn's up to the sign of each
  row (checked with --check-vhmn on an untrained vhmn checkpoint: |cos| 1,
  norms and biases within 1e-7; LAPACK and Eigen choose eigenvector signs
  differently, here 30 of the 48 rows), which is the same initialisation
  up to the sign of each embedding channel, a symmetry of the random
  weights that read them.
* Arithmetic: PyTorch's kernels (summation order, float32 rounding).

Speed: Debian's python3-torch calls the system's libblas.so.3. With the
netlib reference BLAS (libblas3, what this machine has) a training step of
batch 64 takes seconds (about 2 GFLOP/s); with OpenBLAS it is ~15x faster.
Without installing anything system-wide:
    apt-get download libopenblas0-openmp && dpkg-deb -x libopenblas0-openmp_*.deb ob
    LD_LIBRARY_PATH=$PWD/ob/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=1 \
        /usr/bin/python3 bench/vit_reference.py ...
A short run gave the same loss and accuracy (to the 4 printed digits) with both.
"""

import argparse
import json
import math
import os
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as _exc:  # pragma: no cover - depends on the machine
    if __name__ == "__main__":
        print("SKIP: torch not installed (%s)" % _exc)
        sys.exit(77)
    raise

# the spec's truncated normal, the soft-target loss and the safetensors reader
# are pytorch_reference.py's (same folder)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import load_safetensors, soft_cross_entropy, trunc_normal_  # noqa: E402

MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------------------
# vhmn's random numbers (include/vhmn/core/rng.hpp, data/loader.hpp), bit for bit
# ---------------------------------------------------------------------------


def _mix64(z):
    """splitmix64's finaliser."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def derive_seed(seed, a, b=0, c=0):
    """data::derive_seed: a seed mixed with up to three words."""
    h = _mix64((seed + 0x9E3779B97F4A7C15) & MASK64)
    h = _mix64(h ^ ((a + 0x6A09E667F3BCC909) & MASK64))
    h = _mix64(h ^ ((b + 0xBB67AE8584CAA73B) & MASK64))
    return _mix64(h ^ ((c + 0x3C6EF372FE94F82B) & MASK64))


class Rng:
    """vhmn::Rng: xoshiro256** seeded through splitmix64."""

    def __init__(self, seed):
        x = seed & MASK64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            self.s.append(_mix64(x))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def below(self, n):
        """Uniform integer in [0, n), by rejection (unbiased)."""
        limit = (MASK64 // n) * n
        r = self.next()
        while r >= limit:
            r = self.next()
        return r % n

    def bernoulli(self, p):
        return self.uniform() < p


# ---------------------------------------------------------------------------
# Data: CIFAR-10 binary files, vhmn's subset, normalisation and loader
# ---------------------------------------------------------------------------


def read_cifar10(data_dir):
    """(train_images, train_labels, test_images, test_labels): uint8 [N,3,32,32], int64 [N]."""
    def read(names):
        recs = []
        for name in names:
            path = os.path.join(data_dir, name)
            if not os.path.exists(path):
                sys.exit("vit_reference: %s not found (give --data-dir, the cifar-10-batches-bin folder)" % path)
            raw = np.fromfile(path, dtype=np.uint8)
            if raw.size % 3073:
                sys.exit("vit_reference: %s is %d bytes, not a whole number of 3073-byte records" % (path, raw.size))
            recs.append(raw.reshape(-1, 3073))
        r = np.concatenate(recs)
        return np.ascontiguousarray(r[:, 1:].reshape(-1, 3, 32, 32)), r[:, 0].astype(np.int64)

    xtr, ytr = read(["data_batch_%d.bin" % i for i in range(1, 6)])
    xte, yte = read(["test_batch.bin"])
    return xtr, ytr, xte, yte


def stratified_fraction(labels, fraction, seed, classes=10):
    """data::stratified_fraction: per class floor(f n_c + 0.5) images (at least 1), ascending positions."""
    rng = Rng(seed)
    out = []
    for c in range(classes):  # classes in label order: one stream
        members = [int(i) for i in np.flatnonzero(labels == c)]
        n = len(members)
        k = min(max(int(math.floor(fraction * n + 0.5)), 1), n) if n else 0
        for i in range(min(k, n - 1)):  # partial Fisher-Yates
            j = i + rng.below(n - i)
            members[i], members[j] = members[j], members[i]
        out.extend(members[:k])
    return np.array(sorted(out), dtype=np.int64)


def compute_normalization(images):
    """data::compute_normalization: per-channel mean and population std of all pixels, on the 0..1 scale."""
    C = images.shape[1]
    count = float(images.shape[0] * images.shape[2] * images.shape[3])
    mean, std = [], []
    for c in range(C):
        plane = images[:, c].astype(np.int64)
        s1, s2 = int(plane.sum()), int((plane * plane).sum())  # exact, like vhmn's 64-bit sums
        m = s1 / count
        sd = math.sqrt(max(0.0, s2 / count - m * m)) / 255.0
        mean.append(m / 255.0)
        std.append(sd if sd > 0 else 1.0)
    return mean, std


def normalization_lut(mean, std, dtype):
    """lut[c, v] = (v/255 - mean[c]) / std[c], computed in double as one multiply-add."""
    lut = np.empty((len(mean), 256), dtype=np.float64)
    for c in range(len(mean)):
        scale, shift = 1.0 / (255.0 * std[c]), -mean[c] / std[c]
        lut[c] = np.arange(256, dtype=np.float64) * scale + shift
    return lut.astype(dtype)


def normalize(images, lut):
    """uint8 [B,C,H,W] -> lut's dtype, through the per-channel table."""
    return lut[np.arange(images.shape[1])[None, :, None, None], images]


class Loader:
    """data::DataLoader with crop (pad 4) and flip: same order, crops and flips as vhmn for the same seed."""

    def __init__(self, images, labels, lut, batch, seed, pad=4, flip=0.5, classes=10, smoothing=0.1):
        self.images, self.labels, self.lut = images, labels, lut
        self.batch, self.seed, self.pad, self.flip = batch, seed, pad, flip
        self.off = np.float32(smoothing / classes)
        self.on = np.float32(1.0 - smoothing + smoothing / classes)
        self.classes = classes

    def num_batches(self):
        return (len(self.labels) + self.batch - 1) // self.batch

    def epoch_order(self, epoch):
        n = len(self.labels)
        order = list(range(n))
        rng = Rng(derive_seed(self.seed, 0, epoch))
        for i in range(n - 1, 0, -1):
            j = rng.below(i + 1)
            order[i], order[j] = order[j], order[i]
        return order

    def batches(self, epoch):
        """Yields (images float32 [B,3,32,32], soft targets [B,K], labels [B]) for epoch `epoch` (from 0)."""
        order = self.epoch_order(epoch)
        p = self.pad
        padded = np.pad(self.images, ((0, 0), (0, 0), (p, p), (p, p)))  # zero pixels, as vhmn's uint8 crop
        H, W = self.images.shape[2], self.images.shape[3]
        for number in range(self.num_batches()):
            idx = order[number * self.batch:(number + 1) * self.batch]
            rng = Rng(derive_seed(self.seed, 1, epoch, number))
            out = np.empty((len(idx),) + self.images.shape[1:], dtype=np.uint8)
            for b, i in enumerate(idx):
                rng.bernoulli(1.0)  # crop probability 1: drawn all the same
                dy = rng.below(2 * p + 1) - p
                dx = rng.below(2 * p + 1) - p
                img = padded[i, :, p + dy:p + dy + H, p + dx:p + dx + W]  # out(y, x) = in(y + dy, x + dx)
                if rng.bernoulli(self.flip):
                    img = img[:, :, ::-1]
                out[b] = img
            y = self.labels[idx]
            targets = np.full((len(idx), self.classes), self.off, dtype=np.float32)
            targets[np.arange(len(idx)), y] = self.on
            yield (torch.from_numpy(normalize(out, self.lut)), torch.from_numpy(targets), torch.from_numpy(y))


# ---------------------------------------------------------------------------
# Patch embedding from whitened patches (include/vhmn/train/whitening.hpp)
# ---------------------------------------------------------------------------


def whitening_filters(images, mean, std, patch, rows, max_images=5000, eps=5e-4, gain=1.0):
    """(W [rows', C*p*p], b [rows']) with rows' = min(rows, C*p*p): w_r = gain v_r / sqrt(lambda_r + eps), b = -W mu."""
    n = images.shape[0]
    n_img = min(max(1, max_images), n)
    sel = np.array([s * n // n_img for s in range(n_img)], dtype=np.int64)  # evenly spaced through the set
    x = normalize(images[sel], normalization_lut(mean, std, np.float64))  # [n, C, H, W] double
    B, C, H, W = x.shape
    # every non-overlapping patch, flattened channel, then patch row, then column (docs/spec.md §1)
    x = x.reshape(B, C, H // patch, patch, W // patch, patch).transpose(0, 2, 4, 1, 3, 5)
    x = x.reshape(-1, C * patch * patch)
    mu = x.mean(axis=0)
    sigma = x.T @ x / x.shape[0] - np.outer(mu, mu)
    lam, vec = np.linalg.eigh(sigma)  # ascending, like Eigen's SelfAdjointEigenSolver
    P = sigma.shape[0]
    k = min(rows, P)
    w = np.empty((k, P))
    for r in range(k):
        j = P - 1 - r  # largest variance first
        w[r] = gain / math.sqrt(max(0.0, lam[j]) + eps) * vec[:, j]
    return w, -(w @ mu)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """Multi-head self-attention over the N tokens: softmax(q k^T / sqrt(d)) v, heads concatenated, projected."""

    def __init__(self, dim, heads):
        super().__init__()
        if dim % heads:
            raise ValueError("dim %d is not a multiple of heads %d" % (dim, heads))
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # x: (B, N, D)
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, D/heads)
        att = (q @ k.transpose(-2, -1)) * (D // self.heads) ** -0.5  # (B, heads, N, N)
        out = att.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


class Block(nn.Module):
    """Pre-norm transformer block: Y = X + MHSA(LN_1 X); Out = Y + MLP(LN_2 Y), MLP = fc2 GELU fc1."""

    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))  # exact (erf) GELU


class ViT(nn.Module):
    """Patch embedding + positions, pre-norm attention blocks, V-HMN's head (LayerNorm, attention pool, linear)."""

    def __init__(self, image=32, channels=3, patch=4, dim=128, depth=4, heads=4, mlp_ratio=2, classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros((image // patch) ** 2, dim))  # (N, D)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.pool = nn.Linear(dim, 1)  # attention-pool score e_n = w . V_n + b
        self.head = nn.Linear(dim, classes)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                trunc_normal_(m.weight)
                nn.init.zeros_(m.bias)
        trunc_normal_(self.pos_embed)

    def forward(self, images):  # images: (B, C, H, W) normalised
        x = self.patch_embed(images).flatten(2).transpose(1, 2) + self.pos_embed  # (B, N, D), n = row w + col
        for blk in self.blocks:
            x = blk(x)
        v = self.norm(x)
        pi = self.pool(v).squeeze(-1).softmax(dim=1)  # (B, N)
        z = (pi.unsqueeze(-1) * v).sum(dim=1)  # (B, D)
        return self.head(z)  # (B, K)


def decay_groups(model, weight_decay):
    """Weight decay on weights only: not on biases, LayerNorms or the positional table (vhmn's Param::decay)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or name == "pos_embed" else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, lr, warmup_steps, total_steps, min_lr=0.0):
    """WarmupCosine::at: linear warm-up to lr over warmup_steps, then cosine to min_lr at total_steps."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(model, images, labels, lut, batch, tta_flip):
    """(loss, top1, top5) over the whole set, in order; flip TTA: mean logits of x and its mirror."""
    model.eval()
    loss_sum, top1, top5 = 0.0, 0, 0
    for s in range(0, len(labels), batch):
        x = torch.from_numpy(normalize(images[s:s + batch], lut))
        y = torch.from_numpy(labels[s:s + batch])
        logits = model(x)
        if tta_flip:
            logits = 0.5 * (logits + model(torch.flip(x, dims=[3])))
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        top = logits.topk(5, dim=1).indices
        top1 += (top[:, 0] == y).sum().item()
        top5 += (top == y[:, None]).any(dim=1).sum().item()
    model.train()
    n = len(labels)
    return loss_sum / n, top1 / n, top5 / n


# ---------------------------------------------------------------------------
# Comparing with a vhmn run
# ---------------------------------------------------------------------------


def check_vhmn(ckpt, subset, labels, mean, std, loader, filters):
    """Checks that a `vhmn train` checkpoint of the same data options saw the images this script trains on:
    normalisation, and every global-bank slot's provenance against the subset and the epoch orders
    (slot s of class y holds that class's last write w < writes[y] with w = s mod S/K). Patch filters
    are compared too, which is meaningful only for an (almost) untrained checkpoint. Returns True if all agree."""
    tensors, meta = load_safetensors(ckpt)
    t = {name: v.numpy() for name, v in tensors.items()}
    ok = True
    vm, vs = json.loads(meta["vhmn.norm_mean"]), json.loads(meta["vhmn.norm_std"])
    d = max(max(abs(a - b) for a, b in zip(vm, mean)), max(abs(a - b) for a, b in zip(vs, std)))
    print("normalisation: vhmn mean %s std %s; here mean %s std %s; max difference %.2e"
          % (vm, vs, mean, std, d))
    ok &= d < 1e-12
    source = subset  # position in the (sub)set -> index in the 50,000 training images
    K = 10
    per_class = np.bincount(labels, minlength=K)
    members = {}  # (epoch, class) -> positions of that class's images in the epoch's order
    bad = checked = 0
    for name in sorted(k for k in t if k.endswith(".global.source_index")):
        src = t[name]
        writes = t[name.replace("source_index", "writes")]
        spc = len(src) // K
        for y in range(K):
            for s in range(min(int(writes[y]), spc)):
                w = int(writes[y]) - 1 - ((int(writes[y]) - 1 - s) % spc)  # last write number with w = s mod spc
                epoch, pos = divmod(w, int(per_class[y]))
                if (epoch, y) not in members:
                    order = loader.epoch_order(epoch)
                    for c in range(K):
                        members[(epoch, c)] = [i for i in order if labels[i] == c]
                checked += 1
                bad += int(source[members[(epoch, y)][pos]]) != int(src[y * spc + s])
    print("global-bank provenance: %d slots checked against this subset and epoch order, %d differ" % (checked, bad))
    ok &= checked > 0 and bad == 0
    w = t["patch_embed.weight"].reshape(t["patch_embed.weight"].shape[0], -1)[:filters[0].shape[0]].astype(np.float64)
    cos = np.abs((w * filters[0]).sum(1)) / (np.linalg.norm(w, axis=1) * np.linalg.norm(filters[0], axis=1))
    rel = np.abs(np.linalg.norm(w, axis=1) / np.linalg.norm(filters[0], axis=1) - 1)
    print("whitened filters vs the checkpoint's patch_embed rows (up to sign): |cos| min %.6f, norm ratio off by"
          " at most %.2e (epoch %s)" % (cos.min(), rel.max(), meta.get("train.epoch", "?")))
    return bool(ok)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="/work/shared/data/cifar-10-batches-bin",
                    help="the cifar-10-batches-bin folder (default %(default)s)")
    ap.add_argument("--fraction", type=float, default=0.1,
                    help="class-stratified fraction of the training set, as vhmn train --fraction (default 0.1)")
    ap.add_argument("--train-limit", type=int, default=0, help="first N training images before --fraction (0: all)")
    ap.add_argument("--test-limit", type=int, default=0, help="first N test images (0: all 10,000)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up epochs (default 1)")
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=2)
    ap.add_argument("--init", choices=["whiten", "random"], default="whiten")
    ap.add_argument("--tta", choices=["flip", "none"], default="flip")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="metrics.jsonl to write, one line per epoch (refuses to overwrite)")
    ap.add_argument("--check-vhmn", metavar="CKPT", default="",
                    help="compare data and whitening with a vhmn train checkpoint of the same options, then exit")
    args = ap.parse_args(argv)
    if not 0 < args.fraction <= 1:
        ap.error("--fraction %g: must be in (0, 1]" % args.fraction)
    for name in ("epochs", "batch", "threads", "heads", "mlp_ratio"):
        if getattr(args, name) < 1:
            ap.error("--%s %d: must be >= 1" % (name.replace("_", "-"), getattr(args, name)))
    if args.lr <= 0 or args.weight_decay < 0 or args.warmup < 0 or not 0 <= args.label_smoothing < 1:
        ap.error("need --lr > 0, --weight-decay >= 0, --warmup >= 0 and 0 <= --label-smoothing < 1")
    if args.out and os.path.exists(args.out):
        ap.error("--out %s already exists; give a new file" % args.out)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)

    xtr, ytr, xte, yte = read_cifar10(args.data_dir)
    if args.train_limit:
        xtr, ytr = xtr[:args.train_limit], ytr[:args.train_limit]
    if args.test_limit:
        xte, yte = xte[:args.test_limit], yte[:args.test_limit]
    subset = stratified_fraction(ytr, args.fraction, derive_seed(args.seed, 11))
    xtr, ytr = xtr[subset], ytr[subset]
    mean, std = compute_normalization(xtr)
    lut = normalization_lut(mean, std, np.float32)
    loader = Loader(xtr, ytr, lut, args.batch, derive_seed(args.seed, 1), smoothing=args.label_smoothing)

    model = ViT(heads=args.heads, mlp_ratio=args.mlp_ratio)
    filters = None
    if args.init == "whiten" or args.check_vhmn:
        filters = whitening_filters(xtr, mean, std, patch=4, rows=model.patch_embed.out_channels)
    if args.check_vhmn:
        return 0 if check_vhmn(args.check_vhmn, subset, ytr, mean, std, loader, filters) else 1
    if args.init == "whiten":
        w, b = filters
        with torch.no_grad():
            pe = model.patch_embed.weight.view(model.patch_embed.out_channels, -1)
            pe[:w.shape[0]] = torch.from_numpy(w).float()
            model.patch_embed.bias[:w.shape[0]] = torch.from_numpy(b).float()

    params = sum(p.numel() for p in model.parameters())
    print("vit_reference: ViT D 128, depth 4, heads %d, MLP ratio %d, patch 4: %d parameters"
          % (args.heads, args.mlp_ratio, params))
    print("data: %d training images (fraction %g, seed %d), %d test images; normalisation mean %s std %s"
          % (len(ytr), args.fraction, args.seed, len(yte), [round(m, 4) for m in mean], [round(s, 4) for s in std]))
    print("recipe: AdamW lr %g wd %g, batch %d, %g warm-up epoch(s) + cosine, smoothing %g, crop+flip, init %s, "
          "TTA %s, %d epochs, %d thread(s)" % (args.lr, args.weight_decay, args.batch, args.warmup,
                                               args.label_smoothing, args.init, args.tta, args.epochs, args.threads))
    sys.stdout.flush()

    opt = torch.optim.AdamW(decay_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    steps = loader.num_batches()
    warmup_steps = int(math.floor(args.warmup * steps + 0.5))  # std::llround
    total_steps = max(1, steps * args.epochs)
    out = open(args.out, "w") if args.out else None
    elapsed, step, best = 0.0, 0, -1.0
    for epoch in range(args.epochs):
        start = time.time()
        model.train()
        loss_sum = correct = seen = 0.0
        lr = 0.0
        for x, targets, y in loader.batches(epoch):
            lr = lr_at(step, args.lr, warmup_steps, total_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = model(x)
            loss = soft_cross_entropy(logits, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            seen += len(y)
        train_s = time.time() - start
        test_loss, test_acc, test_top5 = evaluate(model, xte, yte, lut, args.batch, args.tta == "flip")
        elapsed += time.time() - start
        best = max(best, test_acc)
        line = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                "test_loss": test_loss, "test_acc": test_acc, "test_top5": test_top5, "lr": lr,
                "images_per_s": seen / max(train_s, 1e-9), "elapsed_s": elapsed}
        print("epoch %d/%d: train loss %.4f acc %.4f, test acc %.4f (best %.4f), %.0f img/s, %.1f min"
              % (epoch + 1, args.epochs, line["train_loss"], line["train_acc"], test_acc, best,
                 line["images_per_s"], elapsed / 60))
        sys.stdout.flush()
        if out:
            out.write(json.dumps(line) + "\n")
            out.flush()
    if out:
        out.close()
    print("done: test accuracy %.2f%% after %d epochs (best %.2f%%), %.1f minutes"
          % (100 * test_acc, args.epochs, 100 * best, elapsed / 60))
    return 0


if __name__ == "__main__":
    sys.exit(main())
