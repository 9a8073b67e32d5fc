"""Operating characteristics on the machine at hand: latency and memory of ops and networks.

Latency is the median wall-clock time of a forward pass (``torch.no_grad``, eval mode) over
``repeats`` runs after ``warmup`` runs. Memory is counted, not sampled: the bytes of the op's
parameters plus the bytes of every new tensor its leaf modules produce in one training-mode forward
pass (what autograd keeps for the backward pass, roughly); an identity allocates nothing.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from torch import nn

from ..errors import SearchError
from .ops import make_op, resolve_ops


@torch.no_grad()
def measure_latency(model: nn.Module, x: torch.Tensor, repeats: int = 20, warmup: int = 3) -> float:
    """Median seconds of ``model(x)`` (eval mode, no gradients)."""
    if repeats < 1 or warmup < 0:
        raise SearchError(f"repeats must be >= 1 and warmup >= 0, got {repeats!r} and {warmup!r}")
    model.eval()
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare_latency(models: dict, x: torch.Tensor, repeats: int = 20, rounds: int = 5, warmup: int = 3) -> dict:
    """Median forward seconds of each model, measured in interleaved rounds.

    On a shared machine the load changes over seconds; interleaving the models and taking the
    median over rounds of medians keeps that drift from favouring whichever model ran first.
    """
    if rounds < 1:
        raise SearchError(f"rounds must be >= 1, got {rounds!r}")
    times = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(measure_latency(model, x, repeats, warmup))
    return {name: statistics.median(t) for name, t in times.items()}


def activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the new tensors produced by the leaf modules of ``model`` in one forward pass."""
    total = [0]

    def hook(mod, inputs, out):
        if isinstance(out, torch.Tensor) and not any(
                isinstance(i, torch.Tensor) and i.data_ptr() == out.data_ptr() for i in inputs):
            total[0] += out.numel() * out.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        model.train()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


def measure_ops(ops, channels: int, height: int, width: int, batch: int, repeats: int = 20,
                warmup: int = 3, seed: int = 0) -> list[dict]:
    """Latency (ms) and memory (bytes) of each op on a batch ``(batch, channels, height, width)``, stride 1."""
    ops = resolve_ops(ops)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, channels, height, width), generator=gen)
    rows = []
    for name in ops:
        op = make_op(name, channels, 1)
        params = sum(p.numel() * p.element_size() for p in op.parameters())
        rows.append({"op": name, "latency_ms": 1e3 * measure_latency(op, x, repeats, warmup),
                     "memory_bytes": params + activation_bytes(op, x), "param_bytes": params})
    return rows


def to_simplex(values, name: str = "values") -> np.ndarray:
    """Normalise non-negative measurements (one per op) to a complexity vector on the simplex."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or not np.isfinite(v).all() or (v < 0).any() or v.sum() <= 0:
        raise SearchError(f"{name} must be finite, non-negative and not all zero, got {v.tolist()}")
    return v / v.sum()
