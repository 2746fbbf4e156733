#!/usr/bin/env python3
"""Independent PyTorch implementation of the V-HMN model in docs/spec.md.

Used to cross-check the C++ library `vhmn` (logits, loss and every parameter
gradient, float64 and float32) and as a CPU baseline for benchmarks.

Subcommands (run with --help for the options):
  crosscheck  build small random float64 models, run `vhmn forward` on them
              and compare with this implementation
  forward     same interface as `vhmn forward`: model + input -> out.safetensors
  bench       training / inference throughput of a preset on CPU
              (--precision bf16: torch.autocast("cpu", dtype=torch.bfloat16)
              around the forward and the loss, PyTorch's mixed precision)
  selftest    checks of this file alone (gradcheck, unfold order, names, I/O)
  golden      small hand-checkable numbers for the C++ unit tests
  init        write a freshly initialised checkpoint of a preset

Needs only torch (Debian python3-torch) and numpy; safetensors files are read
and written by the helpers below. Exit code 77 with "SKIP: torch not
installed" when torch cannot be imported.
"""

import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
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

# ---------------------------------------------------------------------------
# Configuration (docs/spec.md §6 and the checkpoint metadata of section 7)
# ---------------------------------------------------------------------------

CONFIG_KEYS = ("image", "channels", "patch", "dim", "latent", "depth", "window",
               "local_slots", "global_slots", "classes", "mlp_ratio", "iters",
               "local_writes")

DEFAULTS = dict(classes=10, mlp_ratio=2, iters=1, local_writes=1, inv_temp=None)

PRESETS = {
    "paper-cifar": dict(image=32, channels=3, patch=4, dim=300, latent=300, depth=6,
                        window=3, local_slots=2500, global_slots=1000, mlp_ratio=2, iters=1),
    "cifar-small": dict(image=32, channels=3, patch=4, dim=128, latent=128, depth=4,
                        window=3, local_slots=500, global_slots=200, mlp_ratio=2, iters=1),
    "fmnist-small": dict(image=28, channels=1, patch=4, dim=96, latent=96, depth=4,
                         window=3, local_slots=500, global_slots=200, mlp_ratio=2, iters=1),
}


def make_config(base=None, **overrides):
    """A full config dict from a preset name or dict plus overrides."""
    cfg = dict(DEFAULTS)
    if isinstance(base, str):
        if base not in PRESETS:
            raise ValueError("unknown preset %r (known: %s)" % (base, ", ".join(PRESETS)))
        cfg.update(PRESETS[base])
    elif base is not None:
        cfg.update(base)
    cfg.update(overrides)
    missing = [k for k in CONFIG_KEYS if k not in cfg]
    if missing:
        raise ValueError("config lacks %s" % ", ".join(missing))
    if cfg["image"] % cfg["patch"]:
        raise ValueError("image must be divisible by patch")
    if cfg["window"] % 2 != 1:
        raise ValueError("window must be odd")
    for key in ("local_slots", "global_slots"):
        if cfg[key] % cfg["classes"]:
            raise ValueError("%s must be divisible by classes" % key)
    hidden = cfg["mlp_ratio"] * cfg["dim"]
    if abs(hidden - round(hidden)) > 1e-9:
        raise ValueError("mlp_ratio * dim must be an integer")
    return cfg


def config_to_metadata(cfg):
    meta = {"vhmn.format": "1"}
    for key in CONFIG_KEYS:
        val = cfg[key]
        if isinstance(val, float) and val.is_integer():
            val = int(val)
        meta["vhmn." + key] = str(val)
    if cfg.get("inv_temp") is not None:
        meta["vhmn.inv_temperature"] = repr(float(cfg["inv_temp"]))
    return meta


def metadata_to_config(meta):
    if meta.get("vhmn.format") != "1":
        raise ValueError("not a vhmn format-1 checkpoint (vhmn.format=%r)" % meta.get("vhmn.format"))
    cfg = {}
    for key in CONFIG_KEYS:
        text = meta.get("vhmn." + key)
        if text is None:
            if key in DEFAULTS:
                cfg[key] = DEFAULTS[key]
                continue
            raise ValueError("checkpoint metadata lacks vhmn.%s" % key)
        num = float(text)
        cfg[key] = int(num) if num.is_integer() else num
    # optional key (docs/spec.md §3 choice); absent or <= 0 means the default sqrt(L)
    if "vhmn.inv_temperature" in meta and float(meta["vhmn.inv_temperature"]) > 0:
        cfg["inv_temp"] = float(meta["vhmn.inv_temperature"])
    return make_config(cfg)


# ---------------------------------------------------------------------------
# safetensors, written by hand (the python package is not available)
# ---------------------------------------------------------------------------

_ST_DTYPES = {
    "F64": (torch.float64, "<f8"),
    "F32": (torch.float32, "<f4"),
    "F16": (torch.float16, "<f2"),
    "I64": (torch.int64, "<i8"),
    "I32": (torch.int32, "<i4"),
    "I16": (torch.int16, "<i2"),
    "I8": (torch.int8, "i1"),
    "U8": (torch.uint8, "u1"),
    "BOOL": (torch.bool, "?"),
}
_TORCH_TO_ST = {v[0]: k for k, v in _ST_DTYPES.items()}


def save_safetensors(path, tensors, metadata=None):
    """Write an ordered dict name -> tensor; tensors tile the data section."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in _TORCH_TO_ST:
            raise ValueError("dtype %s of %s not supported" % (t.dtype, name))
        code = _TORCH_TO_ST[t.dtype]
        blob = t.numpy().astype(np.dtype(_ST_DTYPES[code][1]), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load_safetensors(path):
    """Return (dict name -> tensor, metadata dict). Validates the layout."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (hlen,) = struct.unpack("<Q", raw[:8])
    if hlen > len(raw) - 8:
        raise ValueError("%s: header length %d exceeds file" % (path, hlen))
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    meta = header.pop("__metadata__", None) or {}
    spans = []
    tensors = {}
    for name, info in header.items():
        code = info["dtype"]
        if code not in _ST_DTYPES:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, code))
        tdtype, npdtype = _ST_DTYPES[code]
        shape = [int(s) for s in info["shape"]]
        begin, end = (int(v) for v in info["data_offsets"])
        count = 1
        for s in shape:
            count *= s
        if end - begin != count * np.dtype(npdtype).itemsize or begin < 0 or end > len(data):
            raise ValueError("%s: tensor %s has bad data_offsets %r for shape %r"
                             % (path, name, info["data_offsets"], shape))
        spans.append((begin, end, name))
        arr = np.frombuffer(data, dtype=np.dtype(npdtype), count=count, offset=begin)
        tensors[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True)
                                         .reshape(shape)).to(tdtype)
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ValueError("%s: tensor %s does not tile the data section" % (path, name))
        pos = end
    if pos != len(data):
        raise ValueError("%s: %d trailing bytes after the last tensor" % (path, len(data) - pos))
    return tensors, meta


# ---------------------------------------------------------------------------
# The model (docs/spec.md sections 1-5)
# ---------------------------------------------------------------------------

def trunc_normal_(t, std=0.02):
    nn.init.trunc_normal_(t, mean=0.0, std=std, a=-2 * std, b=2 * std)
    return t


def retrieve(z, M, inv_temp):
    """Section 3: softmax over (already selected, written) rows of M."""
    zh = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True).clamp_min(1e-6)
    mh = M / torch.linalg.vector_norm(M, dim=-1, keepdim=True).clamp_min(1e-6)
    s = inv_temp * torch.matmul(zh, mh.t())
    a = torch.softmax(s, dim=-1)
    return torch.matmul(a, M)


def unfold_tokens(u, h, w, k, impl="torch"):
    """[B, h*w, D] tokens -> [B, h*w, D*k*k] windows, index d*k*k + i*k + j, zero padding.

    impl "torch" is torch.nn.functional.unfold (the definition in docs/spec.md §2);
    "shift" gathers the same values from k*k shifted views of a padded grid
    (identical result, faster than 1.13's im2col on CPU).
    """
    B, N, D = u.shape
    r = k // 2
    if impl == "torch":
        cols = F.unfold(u.transpose(1, 2).reshape(B, D, h, w), k, padding=r)
        return cols.transpose(1, 2).contiguous()  # contiguous: Linear runs one GEMM
    g = F.pad(u.reshape(B, h, w, D), (0, 0, r, r, r, r))
    views = [g[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)]
    return torch.stack(views, dim=-1).reshape(B, N, D * k * k)


class MemoryPath(nn.Module):
    """Query projection, Hopfield refinement against a class-balanced bank, out projection."""

    def __init__(self, in_features, latent, dim, slots, classes, iters, inv_temp):
        super().__init__()
        self.query = nn.Linear(in_features, latent)
        self.out = nn.Linear(2 * latent, dim)
        self.beta = nn.Parameter(torch.full((1,), 0.2))
        self.register_buffer("memory", torch.zeros(slots, latent))
        self.register_buffer("writes", torch.zeros(classes, dtype=torch.int64))
        # provenance (dataset index, token position); not part of docs/spec.md §7 names
        self.register_buffer("source", torch.full((slots, 2), -1, dtype=torch.int64),
                             persistent=False)
        self.slots, self.classes, self.iters = slots, classes, iters
        self.per_class = slots // classes
        self.inv_temp = math.sqrt(latent) if inv_temp is None else float(inv_temp)

    def written_mask(self):
        per = self.per_class
        j = torch.arange(self.slots, device=self.writes.device)
        filled = self.writes.clamp(max=per)
        return (j % per) < filled[j // per]

    def refine(self, q):
        if self.iters == 0:
            return q
        idx = self.written_mask().nonzero().squeeze(1)
        if idx.numel() == 0:
            return q
        M = self.memory.index_select(0, idx).detach().to(q.dtype)
        z = q
        for _ in range(self.iters):
            z = z + self.beta * (retrieve(z, M, self.inv_temp) - z)
        return z

    def forward(self, x):
        q = self.query(x)
        z = self.refine(q)
        return self.out(torch.cat([z, q], dim=-1)), q

    @torch.no_grad()
    def write(self, rows, labels, sources=None):
        """Sequential ring-buffer writes, in row order (vectorised; later rows win)."""
        n = labels.numel()
        if n == 0:
            return
        labels = labels.to(self.writes.device).long()
        K, per = self.classes, self.per_class
        onehot = F.one_hot(labels, K)
        rank = (onehot.cumsum(0) - 1).gather(1, labels[:, None]).squeeze(1)
        count = onehot.sum(0)
        keep = rank >= (count[labels] - per)  # earlier rows would be overwritten
        slot = labels * per + (self.writes[labels] + rank) % per
        self.memory[slot[keep]] = rows.detach()[keep].to(self.memory.dtype)
        if sources is not None:
            self.source[slot[keep]] = sources[keep].to(self.source.dtype)
        self.writes += count


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class HMNBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, L, k, K = cfg["dim"], cfg["latent"], cfg["window"], cfg["classes"]
        self.grid = cfg["image"] // cfg["patch"]
        self.window = k
        self.norm1 = nn.LayerNorm(D, eps=1e-5)
        self.local = MemoryPath(D * k * k, L, D, cfg["local_slots"], K, cfg["iters"], cfg["inv_temp"])
        # `global` is a Python keyword; nn.Module.__setattr__ registers it by name.
        setattr(self, "global", MemoryPath(D, L, D, cfg["global_slots"], K, cfg["iters"],
                                           cfg["inv_temp"]))
        self.norm2 = nn.LayerNorm(D, eps=1e-5)
        self.mlp = MLP(D, int(round(cfg["mlp_ratio"] * D)))
        self.last_q_local = None
        self.last_q_global = None
        self.unfold_impl = "torch"

    @property
    def global_(self):
        return getattr(self, "global")

    def forward(self, x):
        B, N, D = x.shape
        h = w = self.grid
        k = self.window
        u = self.norm1(x)
        cols = unfold_tokens(u, h, w, k, self.unfold_impl)  # [B, N, D*k*k]
        a, q_local = self.local(cols)
        c, q_global = self.global_(u.mean(dim=1))
        y = x + a + c.unsqueeze(1)
        out = y + self.mlp(self.norm2(y))
        if self.training:
            self.last_q_local = q_local.detach()
            self.last_q_global = q_global.detach()
        return out


class VHMN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        cfg = make_config(cfg)
        self.cfg = cfg
        C, D, p, K = cfg["channels"], cfg["dim"], cfg["patch"], cfg["classes"]
        N = (cfg["image"] // p) ** 2
        self.patch_embed = nn.Conv2d(C, D, p, stride=p)
        self.pos_embed = nn.Parameter(torch.zeros(N, D))
        self.blocks = nn.ModuleList([HMNBlock(cfg) for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(D, eps=1e-5)
        self.pool = nn.Linear(D, 1)
        self.head = nn.Linear(D, K)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        for name, prm in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if name == "pos_embed":
                trunc_normal_(prm)
            elif leaf == "beta":
                prm.fill_(0.2)
            elif "." in name and name.split(".")[-2].startswith("norm"):
                prm.fill_(1.0 if leaf == "weight" else 0.0)
            elif leaf == "weight":
                trunc_normal_(prm)
            else:
                prm.zero_()

    def set_unfold(self, impl):
        if impl not in ("torch", "shift"):
            raise ValueError("unfold impl must be 'torch' or 'shift'")
        for blk in self.blocks:
            blk.unfold_impl = impl
        return self

    def forward(self, images):
        x = self.patch_embed(images.to(self.pos_embed.dtype))
        x = x.flatten(2).transpose(1, 2) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        v = self.norm(x)
        pi = torch.softmax(self.pool(v).squeeze(-1), dim=1)
        z = torch.einsum("bn,bnd->bd", pi, v)
        return self.head(z)

    @torch.no_grad()
    def write_banks(self, labels, generator=None, indices=None):
        """docs/spec.md §4: call after a training forward pass.

        labels: [B] int64 or soft targets [B, K] (written under the argmax).
        indices: dataset index of each sample (provenance), default 0..B-1.
        """
        if labels.dim() == 2:
            labels = labels.argmax(dim=1)
        B = labels.numel()
        if indices is None:
            indices = torch.arange(B)
        lw = self.cfg["local_writes"]
        for blk in self.blocks:
            if blk.last_q_global is None:
                raise RuntimeError("write_banks needs a training-mode forward first")
            qg = blk.last_q_global
            blk.global_.write(qg, labels, torch.stack([indices, torch.full_like(indices, -1)], 1))
            ql = blk.last_q_local
            N = ql.shape[1]
            pos = torch.randint(N, (B, lw), generator=generator)
            rows = ql[torch.arange(B)[:, None], pos].reshape(B * lw, -1)
            lab = labels[:, None].expand(B, lw).reshape(-1)
            src = torch.stack([indices[:, None].expand(B, lw).reshape(-1), pos.reshape(-1)], 1)
            blk.local.write(rows, lab, src)
            blk.last_q_local = blk.last_q_global = None

    def bank_paths(self):
        for i, blk in enumerate(self.blocks):
            yield "blocks.%d.local" % i, blk.local
            yield "blocks.%d.global" % i, blk.global_


def soft_cross_entropy(logits, targets):
    """Mean over the batch of -sum_k t_k log softmax(logits)_k; targets [B] or [B, K]."""
    if targets.dim() == 1:
        targets = F.one_hot(targets.long(), logits.shape[1]).to(logits.dtype)
    return -(targets.to(logits.dtype) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def save_model(model, path, dtype=None):
    sd = model.state_dict()
    out = {}
    for name, t in sd.items():
        out[name] = t.to(dtype) if (dtype is not None and t.is_floating_point()) else t
    save_safetensors(path, out, config_to_metadata(model.cfg))


def load_model(path, dtype=torch.float64):
    tensors, meta = load_safetensors(path)
    model = VHMN(metadata_to_config(meta)).to(dtype)
    sd = model.state_dict()
    missing = [n for n in sd if n not in tensors]
    if missing:
        raise ValueError("%s lacks %s" % (path, ", ".join(missing)))
    for name, ref in sd.items():
        if tuple(tensors[name].shape) != tuple(ref.shape):
            raise ValueError("%s: %s has shape %s, expected %s"
                             % (path, name, list(tensors[name].shape), list(ref.shape)))
    model.load_state_dict({n: tensors[n].to(sd[n].dtype) for n in sd})
    return model


def spec_state_dict_shapes(cfg):
    """docs/spec.md §7's table, written out independently of the module code."""
    cfg = make_config(cfg)
    C, p, D, L, k = cfg["channels"], cfg["patch"], cfg["dim"], cfg["latent"], cfg["window"]
    K, N, R = cfg["classes"], (cfg["image"] // cfg["patch"]) ** 2, int(round(cfg["mlp_ratio"] * D))
    shapes = {"patch_embed.weight": [D, C, p, p], "patch_embed.bias": [D], "pos_embed": [N, D]}
    for i in range(cfg["depth"]):
        b = "blocks.%d." % i
        shapes[b + "norm1.weight"] = [D]
        shapes[b + "norm1.bias"] = [D]
        for path, fan_in, slots in (("local", D * k * k, cfg["local_slots"]),
                                    ("global", D, cfg["global_slots"])):
            shapes[b + path + ".query.weight"] = [L, fan_in]
            shapes[b + path + ".query.bias"] = [L]
            shapes[b + path + ".out.weight"] = [D, 2 * L]
            shapes[b + path + ".out.bias"] = [D]
            shapes[b + path + ".beta"] = [1]
            shapes[b + path + ".memory"] = [slots, L]
            shapes[b + path + ".writes"] = [K]
        shapes[b + "norm2.weight"] = [D]
        shapes[b + "norm2.bias"] = [D]
        shapes[b + "mlp.fc1.weight"] = [R, D]
        shapes[b + "mlp.fc1.bias"] = [R]
        shapes[b + "mlp.fc2.weight"] = [D, R]
        shapes[b + "mlp.fc2.bias"] = [D]
    shapes.update({"norm.weight": [D], "norm.bias": [D], "pool.weight": [1, D],
                   "pool.bias": [1], "head.weight": [K, D], "head.bias": [K]})
    return shapes


# ---------------------------------------------------------------------------
# Random test models for the cross-check
# ---------------------------------------------------------------------------

TINY = dict(image=8, channels=3, patch=2, dim=8, latent=6, depth=2, window=3,
            local_slots=12, global_slots=6, classes=3, mlp_ratio=2, iters=2, local_writes=1)

# name -> (config overrides, local writes per block, global writes per block, batch)
# S_l/K = 4 and S_g/K = 2 for the tiny shape.
VARIANTS = {
    "tiny": (dict(), [[1, 4, 2], [3, 0, 4]], [[2, 1, 0], [1, 2, 2]], 4),
    "k5": (dict(window=5), [[2, 3, 4], [4, 1, 0]], [[1, 1, 2], [0, 2, 1]], 3),
    "t0": (dict(iters=0), [[4, 4, 4], [2, 2, 2]], [[2, 2, 2], [1, 1, 1]], 3),
    "t1": (dict(iters=1), [[4, 2, 1], [1, 3, 4]], [[2, 0, 1], [2, 2, 2]], 4),
    "empty": (dict(), [[0, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]], 3),
    "partial": (dict(iters=3), [[0, 1, 0], [0, 0, 3]], [[0, 0, 1], [2, 0, 0]], 4),
    "wrapped": (dict(), [[7, 13, 4], [5, 9, 100]], [[3, 2, 5], [4, 7, 2]], 4),
    # configurable inverse temperature (metadata vhmn.inv_temperature), sharp softmax
    "temp": (dict(inv_temp=7.5), [[4, 3, 2], [2, 4, 1]], [[2, 1, 2], [1, 2, 0]], 4),
    # the cifar-small preset's shape (D = L = 128, 4 blocks, 500/200 slots, K 10):
    # full, partial, empty and wrapped classes; checks the f32 tolerance at scale
    "cifar": (dict(PRESETS["cifar-small"], classes=10, iters=2),
              [[50, 73, 20, 0, 50, 121, 3, 50, 49, 1]] * 2 + [[50] * 10] * 2,
              [[20, 33, 7, 0, 20, 41, 1, 20, 19, 2]] * 2 + [[20] * 10] * 2, 2),
    # one channel, 3x3 token grid smaller than the 5x5 window, odd sizes, 3 blocks
    "mono": (dict(image=12, channels=1, patch=4, dim=6, latent=5, depth=3, window=5,
                  local_slots=8, global_slots=4, classes=2, mlp_ratio=3, iters=3),
             [[1, 6], [0, 3], [4, 4]], [[2, 1], [0, 0], [5, 1]], 5),
}


def build_random_model(variant, seed=0, scale_memory=True):
    """A float64 model with non-trivial weights and partly filled banks."""
    over, lwrites, gwrites, batch = VARIANTS[variant]
    cfg = make_config(TINY, **over)
    gen = torch.Generator().manual_seed(seed)
    model = VHMN(cfg).double()

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    with torch.no_grad():
        for name, prm in model.named_parameters():
            parts = name.split(".")
            leaf = parts[-1]
            if leaf == "beta":
                blk = int(parts[1])
                prm.fill_((0.3 if parts[2] == "local" else 0.6) + 0.05 * blk)
            elif name == "pos_embed":
                prm.copy_(0.5 * randn(*prm.shape))
            elif len(parts) >= 2 and parts[-2].startswith("norm"):
                prm.copy_((1.0 if leaf == "weight" else 0.0) + 0.3 * randn(*prm.shape))
            elif leaf == "weight":
                fan_in = prm[0].numel()
                gain = 1.5 if parts[0] in ("pool", "head") else 1.2
                prm.copy_(gain / math.sqrt(fan_in) * randn(*prm.shape))
            else:
                prm.copy_(0.3 * randn(*prm.shape))
        for i, blk in enumerate(model.blocks):
            for path, counts in ((blk.local, lwrites[i]), (blk.global_, gwrites[i])):
                rows = randn(*path.memory.shape)
                if scale_memory:
                    rows *= 0.5 + torch.rand(rows.shape[0], 1, generator=gen, dtype=torch.float64)
                path.memory.copy_(rows)
                path.writes.copy_(torch.tensor(counts, dtype=torch.int64))
    images = torch.randn(batch, cfg["channels"], cfg["image"], cfg["image"], generator=gen)
    labels = torch.randint(cfg["classes"], (batch,), generator=gen)
    return model, images.float(), labels


def reference_outputs(model, images, labels):
    """Logits, loss and parameter gradients in the model's dtype (train-mode forward, no writes)."""
    model.zero_grad(set_to_none=True)
    model.train()
    logits = model(images)
    loss = soft_cross_entropy(logits, labels)
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for name, prm in model.named_parameters():
        g = prm.grad if prm.grad is not None else torch.zeros_like(prm)
        out["grad." + name] = g.detach().clone()
    for blk in model.blocks:
        blk.last_q_local = blk.last_q_global = None
    return out


def rel_err(a, b, floor=0.0):
    """max|a-b| / max(max|b|, floor, 1e-12) over one tensor."""
    a = a.double().reshape(-1)
    b = b.double().reshape(-1)
    if a.numel() == 0:
        return 0.0
    return (a - b).abs().max().item() / max(b.abs().max().item(), floor, 1e-12)


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

def cmd_crosscheck(args):
    variants = list(VARIANTS) if args.config == "all" else args.config.split(",")
    for v in variants:
        if v not in VARIANTS:
            print("unknown variant %r (known: %s, all)" % (v, ", ".join(VARIANTS)))
            return 2
    tol = args.tol if args.tol is not None else (1e-9 if args.dtype == "f64" else 1e-4)
    wdtype = torch.float64 if (args.weights or args.dtype) == "f64" else torch.float32
    workdir = args.workdir or tempfile.mkdtemp(prefix="vhmn_crosscheck_")
    os.makedirs(workdir, exist_ok=True)
    failed = []
    for v in variants:
        model, images, labels = build_random_model(v, seed=args.seed)
        if wdtype == torch.float32:
            # round the weights to what the file holds, then evaluate in float64
            with torch.no_grad():
                for t in list(model.parameters()) + [p.memory for _, p in model.bank_paths()]:
                    t.copy_(t.float().double())
        ref = reference_outputs(model, images, labels)
        vdir = os.path.join(workdir, v)
        os.makedirs(vdir, exist_ok=True)
        mpath = os.path.join(vdir, "model.safetensors")
        ipath = os.path.join(vdir, "input.safetensors")
        opath = os.path.join(vdir, "out.safetensors")
        save_model(model, mpath, dtype=wdtype)
        save_safetensors(ipath, {"images": images, "labels": labels})
        save_safetensors(os.path.join(vdir, "reference.safetensors"), ref)
        if os.path.exists(opath):
            os.remove(opath)
        cmd = [args.vhmn, "forward", "--model", mpath, "--input", ipath, "--out", opath,
               "--dtype", args.dtype, "--grad"]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        header = "[%s] dtype=%s weights=%s tol=%.0e" % (v, args.dtype,
                                                        "F64" if wdtype == torch.float64 else "F32", tol)
        if proc.returncode != 0 or not os.path.exists(opath):
            print("%s FAIL: `%s` exited %d\n%s" % (header, " ".join(cmd), proc.returncode,
                                                   proc.stdout.strip()))
            failed.append(v)
            continue
        got, _ = load_safetensors(opath)
        # A gradient that is zero by construction (pool.bias: softmax ignores a shift;
        # beta with an empty bank) has a reference made of rounding noise only; its
        # error is measured against the largest gradient of the model instead.
        gscale = max(t.abs().max().item() for n, t in ref.items() if n.startswith("grad."))
        worst = 0.0
        worst_name = ""
        bad = []
        for name, want in ref.items():
            if name not in got:
                bad.append("%s missing" % name)
                continue
            if tuple(got[name].shape) != tuple(want.shape):
                bad.append("%s shape %s != %s" % (name, list(got[name].shape), list(want.shape)))
                continue
            noise = name.startswith("grad.") and want.abs().max().item() <= 1e-8 * gscale
            e = rel_err(got[name], want, floor=gscale if noise else 0.0)
            if not math.isfinite(e) or e > tol:
                bad.append("%s rel err %.3e" % (name, e))
            if args.verbose:
                print("    %-40s %.3e%s" % (name, e, "  (reference ~0: error / largest gradient)"
                                             if noise else ""))
            if not math.isfinite(e) or e > worst:
                worst, worst_name = e, name
        extra = sorted(n for n in got if n not in ref)
        status = "FAIL" if bad else "ok"
        print("%s %s: %d tensors, worst rel err %.3e (%s)%s" % (
            header, status, len(ref), worst, worst_name,
            "; extra outputs ignored: " + ", ".join(extra) if extra else ""))
        for b in bad:
            print("    " + b)
        if bad:
            failed.append(v)
    if failed:
        print("FAILED variants: %s (files under %s)" % (", ".join(failed), workdir))
        return 1
    print("all %d variants within %.0e" % (len(variants), tol))
    return 0


def cmd_forward(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "f64" else torch.float32
    model = load_model(args.model, dtype=dtype)
    inp, _ = load_safetensors(args.input)
    images, labels = inp["images"], inp.get("labels")
    if args.grad:
        if labels is None:
            raise SystemExit("--grad needs labels in the input file")
        out = reference_outputs(model, images, labels)
    else:
        model.eval()
        with torch.no_grad():
            logits = model(images)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = soft_cross_entropy(logits, labels).reshape(1)
    save_safetensors(args.out, out)
    return 0


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cmd_bench(args):
    if args.autocast:
        args.precision = "bf16"
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = make_config(args.config, classes=args.classes)
    model = VHMN(cfg).set_unfold(args.unfold)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():  # all banks full of random rows
        for _, path in model.bank_paths():
            path.memory.copy_(torch.randn(path.memory.shape, generator=gen))
            path.writes.fill_(path.per_class)
    B = args.batch
    images = torch.randn(B, cfg["channels"], cfg["image"], cfg["image"], generator=gen)
    labels = torch.randint(cfg["classes"], (B,), generator=gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    # bf16: PyTorch's CPU mixed precision, as its docs prescribe: autocast
    # around the forward and the loss only (backward runs in the dtypes the
    # forward chose); weights, gradients and optimiser state stay fp32.
    def precision_scope():
        if args.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        with precision_scope():
            loss = soft_cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
        model.write_banks(labels, generator=gen)

    def infer_step():
        model.eval()
        with torch.no_grad(), precision_scope():
            model(images)

    def timed(fn):
        for _ in range(args.warmup):
            fn()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    t_train = timed(train_step)
    t_infer = timed(infer_step)
    res = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "config": args.config,
        "batch": B,
        "threads": args.threads,
        "repeats": args.repeats,
        "unfold": args.unfold,
        "precision": args.precision,
        "params": sum(p.numel() for p in model.parameters()),
        "train_step_ms": 1e3 * t_train,
        "infer_batch_ms": 1e3 * t_infer,
        "train_images_per_s": B / t_train,
        "infer_images_per_s": B / t_infer,
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print("%-20s %s" % (k, ("%.2f" % v) if isinstance(v, float) else v))
    return 0


def cmd_init(args):
    torch.manual_seed(args.seed)
    model = VHMN(make_config(args.config, classes=args.classes))
    save_model(model, args.out, dtype=torch.float64 if args.dtype == "f64" else torch.float32)
    print("wrote %s (%d parameters)" % (args.out, sum(p.numel() for p in model.parameters())))
    return 0


def cmd_golden(args):
    torch.set_printoptions(precision=17)
    d = torch.float64
    out = {}
    # 1. two-slot retrieval, L = 2: z = (1, 0), M = [[1, 0], [0, 2]]
    z = torch.tensor([1.0, 0.0], dtype=d)
    M = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=d)
    m = retrieve(z, M, math.sqrt(2))
    e = math.exp(math.sqrt(2))
    out["retrieve_two_slots"] = {
        "z": z.tolist(), "M": M.tolist(), "inv_temp": "sqrt(2)",
        "scores": [math.sqrt(2), 0.0],
        "weights": [e / (e + 1), 1 / (e + 1)],
        "result": m.tolist(),
        "result_closed_form": [e / (e + 1), 2 / (e + 1)],
    }
    beta = 0.2
    out["refine_one_iter_beta_0.2"] = (z + beta * (m - z)).tolist()
    # 2. unfold of a 2x2 grid with D = 1, k = 3 (zero padding 1): values 1..4
    grid = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=d)
    cols = F.unfold(grid, 3, padding=1).transpose(1, 2)[0]
    out["unfold_2x2_k3_D1"] = {"grid": [[1, 2], [3, 4]], "cols_per_token": cols.tolist()}
    # 3. D = 2 ordering: channel 0 = 1..4, channel 1 = 10..40; token 0's column
    grid2 = torch.stack([grid[0, 0], 10 * grid[0, 0]])[None]
    out["unfold_2x2_k3_D2_token0"] = F.unfold(grid2, 3, padding=1)[0, :, 0].tolist()
    # 4. masked slots: S = 4, K = 2, writes = [1, 5] -> slots 0, 2, 3 written
    path = MemoryPath(1, 2, 1, 4, 2, 1, None)
    path.writes.copy_(torch.tensor([1, 5]))
    out["written_mask_S4_K2_writes_1_5"] = path.written_mask().tolist()
    # 5. ring buffer: S = 4, K = 2, writes = [3, 0]; write labels [0, 0, 1] -> slots
    path.writes.copy_(torch.tensor([3, 0]))
    path.memory.zero_()
    path.write(torch.tensor([[1.0, 0], [2.0, 0], [3.0, 0]]), torch.tensor([0, 0, 1]))
    out["ring_write_S4_K2_writes_3_0_labels_001"] = {
        "memory_col0": path.memory[:, 0].tolist(), "writes_after": path.writes.tolist()}
    # 6. GELU and LayerNorm spot values
    out["gelu_erf"] = {str(x): F.gelu(torch.tensor(x, dtype=d)).item() for x in (-1.0, 0.5, 2.0)}
    ln = F.layer_norm(torch.tensor([1.0, 2.0, 4.0], dtype=d), (3,), eps=1e-5)
    out["layernorm_1_2_4"] = ln.tolist()
    print("{\n" + ",\n".join(" %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in out.items()) + "\n}")
    return 0


# ---------------------------------------------------------------------------
# Self-test: checks that need nothing but this file
# ---------------------------------------------------------------------------

def naive_forward(model, images):
    """Loop-based float64 evaluation of docs/spec.md sections 1-5 straight from the state_dict."""
    cfg = model.cfg
    sd = {k: v.double() for k, v in model.state_dict().items()}
    C, p, D, L, k = cfg["channels"], cfg["patch"], cfg["dim"], cfg["latent"], cfg["window"]
    K = cfg["classes"]
    h = w = cfg["image"] // p
    N = h * w
    inv_temp = math.sqrt(L) if cfg["inv_temp"] is None else cfg["inv_temp"]
    imgs = images.double()

    def layernorm(v, wt, bs):
        mu = v.mean()
        var = ((v - mu) ** 2).mean()
        return (v - mu) / math.sqrt(var.item() + 1e-5) * wt + bs

    def gelu(v):
        return 0.5 * v * (1 + torch.erf(v / math.sqrt(2)))

    def written_rows(mem, writes):
        per = mem.shape[0] // K
        rows = []
        for j in range(mem.shape[0]):
            if j % per < min(int(writes[j // per]), per):
                rows.append(mem[j])
        return rows

    def refine(q, rows, beta):
        if cfg["iters"] == 0 or not rows:
            return q
        z = q.clone()
        for _ in range(cfg["iters"]):
            zh = z / max(z.norm().item(), 1e-6)
            s = torch.stack([inv_temp * (zh * (r / max(r.norm().item(), 1e-6))).sum() for r in rows])
            a = torch.exp(s - s.max())
            a = a / a.sum()
            m = sum(a[j] * rows[j] for j in range(len(rows)))
            z = z + beta * (m - z)
        return z

    logits = []
    for b in range(imgs.shape[0]):
        X = torch.zeros(N, D, dtype=torch.float64)
        for row in range(h):
            for col in range(w):
                n = row * w + col
                vec = []
                for c in range(C):
                    for pr in range(p):
                        for pc in range(p):
                            vec.append(imgs[b, c, row * p + pr, col * p + pc])
                vec = torch.stack(vec)
                X[n] = sd["patch_embed.weight"].reshape(D, -1) @ vec + sd["patch_embed.bias"] + sd["pos_embed"][n]
        for i in range(cfg["depth"]):
            pre = "blocks.%d." % i
            U = torch.stack([layernorm(X[n], sd[pre + "norm1.weight"], sd[pre + "norm1.bias"])
                             for n in range(N)])
            lrows = written_rows(sd[pre + "local.memory"], sd[pre + "local.writes"])
            grows = written_rows(sd[pre + "global.memory"], sd[pre + "global.writes"])
            A = torch.zeros(N, D, dtype=torch.float64)
            for row in range(h):
                for col in range(w):
                    n = row * w + col
                    colv = torch.zeros(D * k * k, dtype=torch.float64)
                    for d in range(D):
                        for ii in range(k):
                            for jj in range(k):
                                rr, cc = row + ii - k // 2, col + jj - k // 2
                                if 0 <= rr < h and 0 <= cc < w:
                                    colv[d * k * k + ii * k + jj] = U[rr * w + cc, d]
                    q = sd[pre + "local.query.weight"] @ colv + sd[pre + "local.query.bias"]
                    z = refine(q, lrows, sd[pre + "local.beta"][0])
                    A[n] = sd[pre + "local.out.weight"] @ torch.cat([z, q]) + sd[pre + "local.out.bias"]
            g = U.sum(0) / N
            q = sd[pre + "global.query.weight"] @ g + sd[pre + "global.query.bias"]
            z = refine(q, grows, sd[pre + "global.beta"][0])
            c = sd[pre + "global.out.weight"] @ torch.cat([z, q]) + sd[pre + "global.out.bias"]
            Xn = torch.zeros(N, D, dtype=torch.float64)
            for n in range(N):
                Y = X[n] + A[n] + c
                Hh = gelu(sd[pre + "mlp.fc1.weight"] @ layernorm(Y, sd[pre + "norm2.weight"], sd[pre + "norm2.bias"])
                          + sd[pre + "mlp.fc1.bias"])
                Xn[n] = Y + sd[pre + "mlp.fc2.weight"] @ Hh + sd[pre + "mlp.fc2.bias"]
            X = Xn
        V = torch.stack([layernorm(X[n], sd["norm.weight"], sd["norm.bias"]) for n in range(N)])
        e = torch.stack([(sd["pool.weight"][0] * V[n]).sum() + sd["pool.bias"][0] for n in range(N)])
        pi = torch.exp(e - e.max())
        pi = pi / pi.sum()
        zp = sum(pi[n] * V[n] for n in range(N))
        logits.append(sd["head.weight"] @ zp + sd["head.bias"])
    return torch.stack(logits)


def naive_write(memory, writes, rows, labels):
    memory = memory.clone()
    writes = writes.clone()
    K = writes.numel()
    per = memory.shape[0] // K
    for r, y in zip(rows, labels.tolist()):
        memory[y * per + int(writes[y]) % per] = r
        writes[y] += 1
    return memory, writes


def cmd_selftest(args):
    torch.manual_seed(0)
    failures = []

    def check(name, ok, detail=""):
        print("%-58s %s %s" % (name, "ok" if ok else "FAIL", detail))
        if not ok:
            failures.append(name)

    # 1. state_dict names, order-independent, and shapes against docs/spec.md §7
    for preset in list(PRESETS) + ["tiny"]:
        cfg = make_config(TINY) if preset == "tiny" else make_config(preset)
        got = {k: list(v.shape) for k, v in VHMN(cfg).state_dict().items()}
        want = spec_state_dict_shapes(cfg)
        diff = sorted(set(got) ^ set(want)) + sorted(n for n in got if n in want and got[n] != want[n])
        check("state_dict names/shapes == docs/spec.md §7 (%s)" % preset, got == want, " ".join(diff[:6]))
    m = VHMN(make_config(TINY))
    wr = {k: v.dtype for k, v in m.state_dict().items() if k.endswith(".writes")}
    check("writes buffers are int64", all(d == torch.int64 for d in wr.values()))
    params = dict(m.named_parameters())
    check("banks are buffers, not parameters",
          not any(k.endswith(".memory") or k.endswith(".writes") for k in params))

    # 2. initialisation (docs/spec.md §6) on a preset
    m = VHMN(make_config("cifar-small"))
    sd = m.state_dict()
    w = sd["blocks.0.local.query.weight"]
    check("init: trunc normal std 0.02 within +-0.04",
          w.abs().max().item() <= 0.04 + 1e-7 and abs(w.std().item() - 0.0176) < 0.001,
          "std %.4f max %.4f" % (w.std().item(), w.abs().max().item()))
    check("init: biases 0, LN 1/0, betas 0.2",
          all(sd[n].abs().max().item() == 0 for n in sd if n.endswith(".bias"))
          and sd["blocks.1.norm2.weight"].eq(1).all().item() and sd["norm.weight"].eq(1).all().item()
          and all(sd[n].eq(0.2).all().item() for n in sd if n.endswith(".beta"))
          and sd["pos_embed"].abs().max().item() <= 0.04 and sd["pos_embed"].std().item() > 0.01
          and sd["patch_embed.weight"].abs().max().item() <= 0.04)

    # 3. unfold ordering d*k*k + i*k + j against an explicit loop
    for k in (3, 5):
        B, D, h, w = 2, 3, 4, 4
        g = torch.randn(B, D, h, w, dtype=torch.float64)
        cols = F.unfold(g, k, padding=k // 2).transpose(1, 2)
        ref = torch.zeros(B, h * w, D * k * k, dtype=torch.float64)
        for b in range(B):
            for r in range(h):
                for c in range(w):
                    for d in range(D):
                        for i in range(k):
                            for j in range(k):
                                rr, cc = r + i - k // 2, c + j - k // 2
                                if 0 <= rr < h and 0 <= cc < w:
                                    ref[b, r * w + c, d * k * k + i * k + j] = g[b, d, rr, cc]
        check("unfold order d*k*k+i*k+j (k=%d)" % k, torch.equal(cols, ref))
        tok = g.flatten(2).transpose(1, 2).contiguous().requires_grad_(True)
        c1 = unfold_tokens(tok, h, w, k, "torch")
        c2 = unfold_tokens(tok, h, w, k, "shift")
        wgt = torch.randn_like(c1)
        g1, = torch.autograd.grad((c1 * wgt).sum(), tok)
        g2, = torch.autograd.grad((c2 * wgt).sum(), tok)
        check("unfold 'shift' == 'torch', values and grads (k=%d)" % k,
              torch.equal(c1, ref) and torch.equal(c2, ref) and torch.allclose(g1, g2, 0, 1e-14))

    # 4. vectorised model == loop-based reference on every cross-check variant
    for v in VARIANTS:
        if v == "cifar":
            continue  # the loop evaluation would take minutes at that size
        model, images, labels = build_random_model(v, seed=1)
        model.eval()
        with torch.no_grad():
            a = model(images)
        b = naive_forward(model, images)
        e = rel_err(a, b)
        check("model == loop reference (%s)" % v, e < 1e-12, "rel %.2e" % e)

    # 5. gradcheck (float64) of the loss wrt every parameter and the images
    from torch.nn.utils.stateless import functional_call
    for v, fast in (("tiny", False), ("mono", False), ("partial", True), ("wrapped", True)):
        model, images, labels = build_random_model(v, seed=2)
        model.train()
        names = [n for n, _ in model.named_parameters()]
        buffers = dict(model.named_buffers())
        flat = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
        x = images.double().requires_grad_(True)

        def f(x, *ps):
            st = dict(zip(names, ps))
            st.update(buffers)
            return soft_cross_entropy(functional_call(model, st, (x,)), labels)

        ok = torch.autograd.gradcheck(f, (x,) + flat, eps=1e-6, atol=1e-7, rtol=1e-5,
                                      raise_exception=False, fast_mode=fast)
        check("gradcheck loss wrt params+images (%s%s)" % (v, ", fast mode" if fast else ""), ok)
    # and the refinement alone, with a saturating and a plain temperature
    for T in (1, 3):
        path = MemoryPath(4, 5, 4, 6, 3, T, None).double()
        path.memory.copy_(torch.randn(6, 5, dtype=torch.float64))
        path.writes.copy_(torch.tensor([2, 1, 7]))
        q = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
        beta = torch.tensor([0.45], dtype=torch.float64, requires_grad=True)

        ok = torch.autograd.gradcheck(lambda q, b: _refine_with(path, q, b), (q, beta),
                                      raise_exception=False)
        check("gradcheck refine wrt q, beta (T=%d)" % T, ok)

    # 6. no gradient reaches the banks; T=0 and empty banks return q, beta grad 0
    model, images, labels = build_random_model("empty", seed=3)
    out = reference_outputs(model, images, labels)
    check("empty banks: beta grads are exactly 0",
          all(out[n].abs().max().item() == 0 for n in out if n.endswith(".beta")))
    model, images, labels = build_random_model("t0", seed=3)
    out = reference_outputs(model, images, labels)
    check("T=0: beta grads are exactly 0",
          all(out[n].abs().max().item() == 0 for n in out if n.endswith(".beta")))
    check("memory never requires grad", not any(b.requires_grad for b in model.buffers()))
    # empty bank equals T=0 exactly (same weights)
    model, images, labels = build_random_model("tiny", seed=4)
    model.eval()
    with torch.no_grad():
        for _, p in model.bank_paths():
            p.writes.zero_()
        a = model(images)
        for blk in model.blocks:
            blk.local.iters = 0
            blk.global_.iters = 0
        b = model(images)
    check("empty banks == T=0", torch.equal(a, b))

    # 7. written mask and ring-buffer writes
    path = MemoryPath(2, 3, 2, 12, 3, 1, None)
    path.writes.copy_(torch.tensor([1, 9, 0]))
    want = [True, False, False, False, True, True, True, True, False, False, False, False]
    check("written mask: i < min(writes[y], S/K)", path.written_mask().tolist() == want)
    for trial in range(20):
        g = torch.Generator().manual_seed(trial)
        path.memory.copy_(torch.randn(12, 3, generator=g))
        path.writes.copy_(torch.randint(0, 9, (3,), generator=g))
        n = int(torch.randint(0, 15, (1,), generator=g))
        rows = torch.randn(n, 3, generator=g)
        labels = torch.randint(0, 3, (n,), generator=g)
        mem_ref, wr_ref = naive_write(path.memory, path.writes, rows, labels)
        path.write(rows, labels)
        if not (torch.equal(path.memory, mem_ref) and torch.equal(path.writes, wr_ref)):
            check("vectorised ring write == sequential (trial %d)" % trial, False)
            break
    else:
        check("vectorised ring write == sequential (20 random trials)", True)

    # 8. bank writes after a training forward: global q_g, local q at drawn tokens
    model, images, labels = build_random_model("tiny", seed=5)
    model.train()
    with torch.no_grad():
        before = {n: (p.memory.clone(), p.writes.clone()) for n, p in model.bank_paths()}
        model(images)
        qg = [blk.last_q_global.clone() for blk in model.blocks]
        ql = [blk.last_q_local.clone() for blk in model.blocks]
        g1 = torch.Generator().manual_seed(11)
        model.write_banks(labels, generator=g1)
    g2 = torch.Generator().manual_seed(11)
    ok = True
    B = labels.numel()
    for i, blk in enumerate(model.blocks):
        mem, wr = naive_write(*before["blocks.%d.global" % i], qg[i], labels)
        ok &= torch.equal(blk.global_.memory, mem) and torch.equal(blk.global_.writes, wr)
        pos = torch.randint(ql[i].shape[1], (B, 1), generator=g2)
        rows = torch.stack([ql[i][b, pos[b, 0]] for b in range(B)])
        mem, wr = naive_write(*before["blocks.%d.local" % i], rows, labels)
        ok &= torch.equal(blk.local.memory, mem) and torch.equal(blk.local.writes, wr)
        # provenance: slot written by sample b holds (b, drawn token)
        per = blk.local.per_class
        for b in range(B):
            y = int(labels[b])
            rank = int((labels[:b] == y).sum())
            slot = y * per + (int(before["blocks.%d.local" % i][1][y]) + rank) % per
            if rank >= int((labels == y).sum()) - per:
                ok &= blk.local.source[slot].tolist() == [b, int(pos[b, 0])]
    check("write_banks: q_g and q at drawn tokens, under labels", bool(ok))

    # 9. safetensors round trip, metadata rebuilds the model, layout is valid
    with tempfile.TemporaryDirectory() as tmp:
        model, images, labels = build_random_model("mono", seed=6)
        for dt, name in ((torch.float64, "F64"), (torch.float32, "F32")):
            path = os.path.join(tmp, "m_%s.safetensors" % name)
            save_model(model, path, dtype=dt)
            tensors, meta = load_safetensors(path)
            back = load_model(path)
            same_cfg = back.cfg == model.cfg
            sd1, sd2 = model.state_dict(), back.state_dict()
            exact = all(torch.equal(sd1[k].to(dt).to(sd1[k].dtype), sd2[k]) for k in sd1)
            dtypes_ok = all((tensors[k].dtype == torch.int64) if k.endswith(".writes")
                            else tensors[k].dtype == dt for k in tensors)
            check("safetensors round trip %s (config, values, dtypes)" % name,
                  same_cfg and exact and dtypes_ok and list(tensors) == list(sd1))
            with open(path, "rb") as f:
                raw = f.read()
            (hl,) = struct.unpack("<Q", raw[:8])
            hdr = json.loads(raw[8:8 + hl])
            meta_ok = all(isinstance(v, str) for v in hdr["__metadata__"].values())
            keys_ok = set("vhmn." + k for k in CONFIG_KEYS) | {"vhmn.format"} <= set(hdr["__metadata__"])
            check("metadata: string values, all docs/spec.md §7 keys (%s)" % name,
                  meta_ok and keys_ok and hl % 8 == 0)
        tmodel, _, _ = build_random_model("temp", seed=6)
        tpath = os.path.join(tmp, "temp.safetensors")
        save_model(tmodel, tpath)
        check("inverse temperature survives the round trip",
              load_model(tpath).blocks[0].local.inv_temp == 7.5
              and load_safetensors(tpath)[1]["vhmn.inv_temperature"] == "7.5")
        ipath = os.path.join(tmp, "in.safetensors")
        save_safetensors(ipath, {"images": images, "labels": labels})
        t, _ = load_safetensors(ipath)
        check("input file round trip (F32 images, I64 labels)",
              torch.equal(t["images"], images) and torch.equal(t["labels"], labels)
              and t["images"].dtype == torch.float32 and t["labels"].dtype == torch.int64)

    print("%s: %d failure(s)" % ("FAIL" if failures else "PASS", len(failures)))
    return 1 if failures else 0


def _refine_with(path, q, beta):
    """refine() of a MemoryPath with an explicit beta tensor (for gradcheck)."""
    saved = path.beta
    try:
        del path.beta
        path.beta = beta
        return path.refine(q)
    finally:
        del path.beta
        path.beta = saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("crosscheck", help="compare `vhmn forward --grad` with this implementation")
    p.add_argument("--vhmn", required=True, help="path to the vhmn binary")
    p.add_argument("--config", default="tiny",
                   help="variant(s), comma separated, or 'all': " + ", ".join(VARIANTS))
    p.add_argument("--dtype", choices=("f64", "f32"), default="f64", help="vhmn compute dtype")
    p.add_argument("--weights", choices=("f64", "f32"), default=None,
                   help="dtype stored in model.safetensors (default: --dtype)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=None, help="default 1e-9 (f64) / 1e-4 (f32)")
    p.add_argument("--workdir", default=None)
    p.add_argument("-v", "--verbose", action="store_true", help="print every tensor's error")

    p = sub.add_parser("forward", help="same interface as `vhmn forward`")
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", choices=("f64", "f32"), default="f64")
    p.add_argument("--grad", action="store_true")
    p.add_argument("--threads", type=int, default=None)

    p = sub.add_parser("bench", help="CPU throughput of a preset")
    p.add_argument("--config", default="cifar-small", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--unfold", choices=("shift", "torch"), default="shift",
                   help="window gather: shifted views (default, faster) or F.unfold")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss")
    p.add_argument("--autocast", action="store_true", help="the same as --precision bf16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("init", help="write a freshly initialised checkpoint")
    p.add_argument("--config", default="cifar-small", choices=sorted(PRESETS))
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", choices=("f64", "f32"), default="f32")
    p.add_argument("--seed", type=int, default=0)

    sub.add_parser("golden", help="small hand-checkable numbers (JSON)")
    sub.add_parser("selftest", help="checks of this implementation alone")

    args = ap.parse_args(argv)
    fn = {"crosscheck": cmd_crosscheck, "forward": cmd_forward, "bench": cmd_bench,
          "init": cmd_init, "golden": cmd_golden, "selftest": cmd_selftest}[args.cmd]
    return fn(args)


if __name__ == "__main__":
    sys.exit(main())
