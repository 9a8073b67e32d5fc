"""Data for the search and training of derived architectures from scratch (chapter 5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .ops import SearchError


@dataclass
class Images:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    spec: dict = field(default_factory=dict)  # what was loaded (part of every cache key)

    @property
    def shape(self):
        return tuple(self.x_train.shape[1:])


def load_images(real_data: bool, n_train: int, n_test: int, seed: int = 0) -> Images:
    """:class:`Images` with float32 ``(n, 1, H, W)`` in [0, 1] and int64 labels.

    ``real_data=False``: scikit-learn's 8x8 digits, split at random (seeded) into ``n_train`` and
    ``n_test`` images. ``real_data=True``: Fashion-MNIST, a seeded, class-stratified subset of
    ``n_train`` images from the training split and ``n_test`` from the test split.
    """
    from .. import data

    spec = {"data": "fashion-mnist" if real_data else "digits", "n_train": n_train, "n_test": n_test, "seed": seed}
    if n_train < 1 or n_test < 1:
        raise SearchError(f"n_train and n_test must be >= 1, got {n_train!r} and {n_test!r}")
    rng = np.random.default_rng(seed)
    if not real_data:
        x, y = data.load_digits()
        if n_train + n_test > len(y):
            raise SearchError(f"n_train + n_test = {n_train + n_test} exceeds the {len(y)} digits")
        perm = rng.permutation(len(y))
        tr, te = perm[:n_train], perm[n_train:n_train + n_test]
        return Images(x[tr], y[tr], x[te], y[te], spec)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = data.load_fashion_mnist(split)
        if n > len(y):
            raise SearchError(f"n_{split} = {n} exceeds the {len(y)} Fashion-MNIST {split} images")
        idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n // 10 + (c < n % 10)] for c in range(10)])
        idx = np.sort(idx)
        out += [(x[idx].astype(np.float32) / 255.0)[:, None], y[idx]]
    return Images(*out, spec)


def train(model: nn.Module, x, y, epochs: int, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
          progress: bool = True, desc: str = "train", device: str = "cpu") -> dict:
    """Train a discrete network from scratch: Adam, cosine-annealed learning rate, cross-entropy."""
    from tqdm.auto import tqdm

    if epochs < 1 or batch_size < 1:
        raise SearchError(f"epochs and batch_size must be >= 1, got {epochs!r} and {batch_size!r}")
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    model.to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    losses, start = [], time.perf_counter()
    for _ in tqdm(range(epochs), desc=desc, disable=not progress, leave=False):
        perm = torch.randperm(len(y), generator=gen)
        total = 0.0
        for i in range(0, len(y), batch_size):
            idx = perm[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
    return {"losses": losses, "seconds": time.perf_counter() - start}


def resolve_device(device: str = "auto") -> str:
    """``"auto"``: ``"cuda"`` when a GPU is visible, else ``"cpu"``; other names are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not (device.startswith("cuda") and torch.cuda.is_available()):
        raise SearchError(f"device {device!r} is not available here; use 'cpu', 'auto' or a visible 'cuda' device")
    return device


@torch.no_grad()
def accuracy(model: nn.Module, x, y, batch_size: int = 500) -> float:
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    correct = sum((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(y), batch_size))
    return correct / len(y)
