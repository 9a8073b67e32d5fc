"""A small image-classifier training loop (chapter 3's Table 2): ``fit(model, data, epochs, seed) -> curves``.

Plain SGD with momentum 0.9 and a cosine learning-rate schedule, cross-entropy, mini-batches in a seeded
order; after every epoch the test accuracy and the mean training loss are recorded. Deterministic for
a given seed on the CPU (torch's own seeding of weights happens where the model is built: build it
after :func:`nasvec.utils.seed_everything` or with :func:`seeded`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ImageData:
    """Train and test images ``[n, C, H, W]`` float32 and labels int64 (torch tensors)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def input_shape(self) -> tuple:
        return (1, *self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def image_data(x, y, n_train: int, n_test: int, size: int | None = None, seed: int = 0) -> ImageData:
    """Split ``(x, y)`` (images ``[n, H, W]`` uint8 or ``[n, C, H, W]`` float in [0, 1]) into a seeded
    train/test subset of ``n_train`` / ``n_test`` images, standardised, resized to ``size`` (bilinear)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"image_data: x must be [n, H, W] or [n, C, H, W], got shape {x.shape}")
    if len(x) != len(y):
        raise ValueError(f"image_data: x has {len(x)} images but y has {len(y)} labels")
    if n_train < 1 or n_test < 1 or n_train + n_test > len(x):
        raise ValueError(f"image_data: n_train={n_train} + n_test={n_test} must be >= 1 each and at most {len(x)}")
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    order = np.random.default_rng(seed).permutation(len(x))
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    xt = torch.from_numpy(x)
    if size is not None and tuple(xt.shape[2:]) != (size, size):
        xt = F.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    mean, std = xt[tr].mean(), xt[tr].std()
    xt = (xt - mean) / std
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    return ImageData(xt[tr].contiguous(), yt[tr], xt[te].contiguous(), yt[te])


def accuracy(model, x, y, batch_size: int = 500) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for k in range(0, len(x), batch_size):
            correct += int((model(x[k:k + batch_size]).argmax(1) == y[k:k + batch_size]).sum())
    return correct / len(x)


def fit(model, data: ImageData, epochs: int, seed: int, batch_size: int = 64, lr: float = 0.05,
        weight_decay: float = 5e-4, progress: bool = False, optimizer: str = "sgd") -> dict:
    """Train ``model`` on ``data`` for ``epochs``; returns curves and the final test accuracy.

    ``optimizer``: ``"sgd"`` (Nesterov momentum 0.9) or ``"adam"`` (decoupled weight decay, AdamW);
    the learning rate follows a cosine schedule to 0 either way.

    ``{"epoch": [1..E], "train_loss": [...], "test_acc": [...], "final_acc": float, "seconds": float,
    "params": int}``.
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"fit: batch_size must be >= 1, got {batch_size}")
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True)
    elif optimizer == "adam":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f"fit: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    n = len(data.x_train)
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    curves = {"epoch": [], "train_loss": [], "test_acc": []}
    t0 = time.perf_counter()
    it = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="epochs", leave=False)
    for ep in it:
        model.train()
        perm = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for k in range(0, n, batch_size):
            idx = perm[k:k + batch_size]
            if len(idx) < 2:  # BatchNorm needs two examples
                continue
            out = model(data.x_train[idx])
            loss = F.cross_entropy(out, data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        curves["epoch"].append(ep + 1)
        curves["train_loss"].append(total / max(count, 1))
        curves["test_acc"].append(accuracy(model, data.x_test, data.y_test))
    curves["final_acc"] = curves["test_acc"][-1]
    curves["seconds"] = time.perf_counter() - t0
    curves["params"] = sum(p.numel() for p in model.parameters())
    return curves


# --------------------------------------------------------------------------- Table 2 (chapter 3)
TABLE2_VARIANTS = ("original", "roundtrip", "compressed")


def table2_network(name: str, variant: str, input_shape, num_classes: int, seed: int, compressor=None):
    """The network of one Table 2 cell, with fresh weights drawn after ``torch.manual_seed(seed)``.

    ``original``: the torch module of :mod:`nasvec.models` (``small_input=True``); ``roundtrip``: that module
    exported (:func:`nasvec.onnx_io.from_torch`) -> :func:`encode` -> :func:`decode` -> :func:`to_torch`;
    ``compressed``: the graph encoded by ``compressor`` (an ``AttributedSplitVAE``) to its mean code,
    decoded and repaired (:func:`nasvec.repair.repair` with ``num_classes``) -> ``to_torch``.
    Returns ``(module, graph or None, repairs dict or None)``.
    """
    from .models import reference
    from .onnx_io import from_torch
    from .repair import repair
    from .torch_io import to_torch
    from .vectors import decode, encode

    if variant not in TABLE2_VARIANTS:
        raise ValueError(f"variant must be one of {TABLE2_VARIANTS}, got {variant!r}")
    shape = tuple(input_shape)
    torch.manual_seed(seed)
    module = reference(name, num_classes=num_classes, in_channels=shape[1], small_input=True)
    if variant == "original":
        return module, None, None
    g = from_torch(module, torch.zeros(shape))
    if variant == "roundtrip":
        g2 = decode(encode(g))
        repairs = None
    else:
        if compressor is None:
            raise ValueError("variant 'compressed' needs compressor=")
        from .compress.attributed import AttrBatch

        batch = AttrBatch.from_graphs_attrs([g], compressor.codec, compressor.max_nodes)
        with torch.no_grad():
            arrays = compressor.to_arrays(compressor.encode(batch))[0]
        g2, repairs = repair(arrays, input_shape=shape, num_classes=num_classes, report=True)
    torch.manual_seed(seed)
    return to_torch(g2, shape), g2, repairs
