"""The one-shot (weight-sharing) point of the live benchmark (introduced in chapter 7).

A supernet with the live benchmark's skeleton (:class:`~nasvec.strategies.cellnet.Skeleton`) whose
every cell edge holds all five NAS-Bench-201 ops; the architecture is a 6 x 5 matrix of logits
``alpha`` shared by all cells. As in chapter 5 (and GDAS, Dong & Yang 2019), each training step draws
one hard Gumbel-Softmax sample per edge, ``h = onehot(argmax) - stop_grad(y) + y`` with
``y = softmax((log_softmax(alpha) + g) / tau)``: the forward pass runs only the sampled op of each
edge (its output times the sample's 1, the other ops contributing their 0 weights, which still carry
the straight-through gradient to ``alpha``). Steps alternate: the weights on a training batch, then
the logits on a validation batch (Adam). The temperature anneals linearly from ``tau[0]`` to
``tau[1]`` over the epochs (a single number keeps it fixed). The cell found is the argmax per edge;
its true accuracy is :func:`~nasvec.strategies.live.train_cell`'s, which the caller computes.

The ops inside the supernet use BatchNorm without affine parameters and without running statistics,
as NAS-Bench-201's search networks do (the shared weights see a different op mix every step).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .cellnet import N_EDGES, N_OPS, Skeleton, make_op
from ..data.nb201 import NB201_EDGES


class MixedCell(nn.Module):
    """A cell whose every edge holds all five ops; ``forward(x, hard, index)`` runs op ``index[e]`` of edge
    ``e`` times ``hard[e, index[e]]`` and adds the other entries of ``hard[e]`` (zeros, with gradients)."""

    def __init__(self, c: int):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(make_op(o, c, affine=False, track=False) for o in range(N_OPS))
                                   for _ in range(N_EDGES))

    def _edge(self, e, x, hard, index):
        k = int(index[e])
        out = self.edges[e][k](x) * hard[e, k]
        return out + (hard[e].sum() - hard[e, k])

    def forward(self, x, hard, index):
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(self._edge(e, nodes[a], hard, index) for e, (a, b) in enumerate(NB201_EDGES) if b == j))
        return nodes[3]


class SuperNet(Skeleton):
    """The weight-sharing network over the live cell space; ``alpha`` holds the architecture logits."""

    def __init__(self, channels: int = 8, cells_per_stage: int = 1, in_channels: int = 1, n_classes: int = 10):
        super().__init__(MixedCell, channels, cells_per_stage, in_channels, n_classes)
        self.alpha = nn.Parameter(1e-3 * torch.randn(N_EDGES, N_OPS))

    def weights(self) -> list:
        return [p for name, p in self.named_parameters() if name != "alpha"]


def gumbel_hard(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> tuple:
    """``(hard, index)``: a straight-through hard Gumbel-Softmax sample per row of ``alpha`` at temperature
    ``tau`` (noise from ``generator``), and its argmax per row."""
    u = torch.rand(alpha.shape, generator=generator).clamp_(1e-10, 1 - 1e-10)
    y = F.softmax((alpha.log_softmax(-1) - torch.log(-torch.log(u))) / tau, dim=-1)
    index = y.argmax(-1)
    hard = F.one_hot(index, alpha.shape[-1]).to(y.dtype) - y.detach() + y
    return hard, index


def _taus(tau) -> tuple:
    pair = (tau, tau) if isinstance(tau, (int, float)) else tuple(tau)
    if len(pair) != 2 or not all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0 for t in pair):
        raise ConfigError(f"oneshot_search: tau must be a positive number or a (start, end) pair, got {tau!r}")
    return float(pair[0]), float(pair[1])


def oneshot_search(cfg, epochs: int | None = None, tau=(10.0, 0.1), seed: int | None = None,
                   arch_lr: float = 3e-3, progress: bool = False) -> dict:
    """GDAS-style search on the live benchmark ``cfg`` (a :class:`~nasvec.strategies.live.LiveConfig`):
    ``epochs`` (default ``cfg.training.epochs``) over the training images, the weights with ``cfg``'s optimizer and
    cosine schedule, the logits with Adam at ``arch_lr`` (betas 0.5, 0.999; weight decay 1e-3) on
    validation batches. Returns ``{"cell": argmax per edge, "seconds", "logits": (6, 5) array,
    "history": the argmax cell and the mean training loss after each epoch}``; seeded by ``seed``
    (default ``cfg.seed``)."""
    from ..train import make_optimizer, make_schedule, run_epochs
    from .live import torch_threads, live_data

    epochs = cfg.training.epochs if epochs is None else epochs
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ConfigError(f"oneshot_search: epochs must be an integer >= 1, got {epochs!r}")
    if not arch_lr > 0:
        raise ConfigError(f"oneshot_search: arch_lr must be > 0, got {arch_lr!r}")
    t_start, t_end = _taus(tau)
    seed = cfg.seed if seed is None else int(seed)
    d = live_data(cfg)
    x, y, xv, yv = d["x_train"], d["y_train"], d["x_val"], d["y_val"]
    with torch_threads(cfg.threads):
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        net = SuperNet(cfg.channels, cfg.cells_per_stage, in_channels=x.shape[1], n_classes=10)
        tc = cfg.training.replace(epochs=epochs, seed=seed)
        opt = make_optimizer(net.weights(), tc)
        sched = make_schedule(opt, tc.schedule, epochs * math.ceil(len(x) / tc.batch_size))
        arch_opt = torch.optim.Adam([net.alpha], lr=arch_lr, betas=(0.5, 0.999), weight_decay=1e-3)
        gen_noise = torch.Generator().manual_seed(seed + 1)
        gen_val = torch.Generator().manual_seed(seed + 2)

        def tau_at(epoch):
            return t_start + (t_end - t_start) * (epoch / max(epochs - 1, 1))

        def step(idx, epoch):
            if len(idx) < 2:
                return None
            tau_e = tau_at(epoch)
            vidx = torch.randint(len(xv), (tc.batch_size,), generator=gen_val)
            hard, index = gumbel_hard(net.alpha, tau_e, gen_noise)
            arch_opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xv[vidx], hard, index), yv[vidx]).backward()
            arch_opt.step()
            hard, index = gumbel_hard(net.alpha.detach(), tau_e, gen_noise)
            loss = F.cross_entropy(net(x[idx], hard, index), y[idx])
            return loss, {"loss": float(loss.detach()) * len(idx)}

        history = []

        def on_epoch(row):
            history.append({"epoch": row["epoch"], "loss": row["sums"].get("loss", 0.0) / max(row["count"], 1),
                            "cell": tuple(int(i) for i in net.alpha.detach().argmax(-1))})

        run_epochs(step, len(x), epochs, tc.batch_size, torch.Generator().manual_seed(seed), [opt],
                   [sched] if sched else [], [net], on_epoch, progress=progress, desc="one-shot")
        seconds = time.perf_counter() - t0
    logits = net.alpha.detach().numpy().copy()
    return {"cell": tuple(int(i) for i in np.argmax(logits, -1)), "seconds": seconds, "logits": logits,
            "history": history}
