"""Complexity vectors, the cost, the hypernetwork and the search loop (chapter 5).

* A complexity vector ``s`` is a point of the simplex (:mod:`.simplex`), one penalty per op (the slides' order for
  the default op set is ``(pool, identity, conv)``); ``Cost(gamma; s) = sum_edges sum_m gamma_m s_m``.
* The hypernetwork (the slides' form) maps ``s`` to logits
  ``alpha(s) = sum_r w_r(s) alpha_ref_r``, ``w_r(s) = softmax_r(-||s - s_ref_r||^2 / bandwidth)``;
  the reference logits ``alpha_ref_r`` are learned, the reference points ``s_ref_r`` are fixed by
  default (vertices, edge midpoints and centre of the simplex) and learned with ``learn_ref=True``
  (kept on the simplex by a softmax parametrisation). ``bandwidth=1`` is the slides' formula.
* :func:`differentiable_search` minimises ``E_s [ E_gamma L_task(w, gamma) + kappa Cost(gamma_bar(s); s) ]`` with
  ``s ~ Dirichlet(1)`` (uniform on the simplex), ``gamma ~ GumbelSoftmax(alpha(s), t)``, ``t`` linear
  from 1.0 to 0.2 over the epochs, and Adam on both the network weights and the hypernetwork
  (single-level, on the training data, as the slides state). ``gamma_bar(s)`` is ``softmax(alpha(s))``,
  the probability of each op under Gumbel-max (chapter 4 shows ``softmax(alpha / t)`` is *not*
  ``E[gamma(t)]``). The fixed-``s`` baseline is the same loop with free logits and one ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config, check
from ..errors import SearchError
from ..train import run_epochs
from .gumbel_softmax import sample as gumbel_sample
from .simplex import check_simplex, default_references, sample_simplex
from .cells import N_EDGES


@dataclass(frozen=True)
class SearchConfig(Config):
    """One search (:func:`differentiable_search`): epochs (temperature 1.0 -> 0.2), cost weight ``kappa``,
    batch size, Adam's learning rates for the weights (``lr_w``) and the architecture (``lr_a``), the
    hypernetwork's ``bandwidth`` and ``learn_ref``, and the seed."""

    epochs: int = 8
    kappa: float = 0.2
    batch_size: int = 64
    lr_w: float = 3e-3
    lr_a: float = 3e-2
    bandwidth: float = 1.0
    learn_ref: bool = False
    seed: int = 0

    def __post_init__(self):
        check(self.epochs >= 1 and self.batch_size >= 1, f"search: epochs and batch_size must be >= 1, got "
                                                          f"{self.epochs!r} and {self.batch_size!r}")
        check(self.kappa >= 0 and self.bandwidth > 0, f"search: kappa must be >= 0 and bandwidth > 0, got "
                                                       f"{self.kappa!r} and {self.bandwidth!r}")

    def describe(self) -> str:
        return (f"{self.epochs} epochs, batch {self.batch_size}, κ = {self.kappa}, t 1.0 → 0.2, "
                f"Adam lr {self.lr_w:g} (w) / {self.lr_a:g} (a)")


def cost(gamma: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``Cost(gamma; s) = sum_edges sum_m gamma_m s_m`` for ``gamma`` ``(..., k)`` and ``s`` ``(k,)``."""
    if gamma.shape[-1] != s.shape[-1]:
        raise SearchError(f"gamma has {gamma.shape[-1]} ops but s has {s.shape[-1]} entries")
    return (gamma * s).sum()


class HyperNet(nn.Module):
    """``alpha(s) = sum_r w_r(s) alpha_ref_r``, ``w_r(s) = softmax_r(-||s - s_ref_r||^2 / bandwidth)``."""

    def __init__(self, k: int, s_ref=None, learn_ref: bool = False, bandwidth: float = 1.0,
                 shape=(2, N_EDGES), init_scale: float = 1e-3, generator: torch.Generator | None = None):
        super().__init__()
        if not bandwidth > 0:
            raise SearchError(f"bandwidth must be > 0, got {bandwidth!r}")
        s_ref = default_references(k) if s_ref is None else s_ref
        ref = check_simplex(s_ref, k, name="s_ref")
        if ref.ndim != 2:
            raise SearchError(f"s_ref must be a matrix (m, {k}), got shape {tuple(ref.shape)}")
        self.k, self.bandwidth, self.learn_ref = k, float(bandwidth), learn_ref
        if learn_ref:
            self.ref_logits = nn.Parameter(torch.log(ref.clamp(min=1e-3)))
        else:
            self.register_buffer("ref_points", ref)
        self.alpha_ref = nn.Parameter(init_scale * torch.randn((len(ref), *shape, k), generator=generator))

    @property
    def s_ref(self) -> torch.Tensor:
        return torch.softmax(self.ref_logits, -1) if self.learn_ref else self.ref_points

    def weights(self, s) -> torch.Tensor:
        """Interpolation weights ``(m,)`` (or ``(n, m)`` for a batch of ``s``); they sum to 1."""
        s = check_simplex(s, self.k)
        d2 = ((s.unsqueeze(-2) - self.s_ref) ** 2).sum(-1)
        return torch.softmax(-d2 / self.bandwidth, dim=-1)

    def forward(self, s) -> torch.Tensor:
        w = self.weights(s)
        return torch.tensordot(w, self.alpha_ref, dims=1)


class FixedAlpha(nn.Module):
    """The fixed-``s`` baseline's architecture parameters: free logits, ``s`` ignored."""

    def __init__(self, k: int, shape=(2, N_EDGES), init_scale: float = 1e-3, generator=None):
        super().__init__()
        self.k = k
        self.alpha = nn.Parameter(init_scale * torch.randn((*shape, k), generator=generator))

    def forward(self, s=None):
        return self.alpha


def temperature(epoch: int, epochs: int, t0: float = 1.0, t1: float = 0.2) -> float:
    """Linear schedule: ``t0`` in the first epoch, ``t1`` in the last."""
    if epochs <= 1:
        return t0
    return t0 + (t1 - t0) * epoch / (epochs - 1)


def differentiable_search(net, arch, x, y, epochs: int, s=None, kappa: float = 0.05, batch_size: int = 64,
           lr_w: float = 3e-3, lr_a: float = 3e-2, t0: float = 1.0, t1: float = 0.2, seed: int = 0,
           progress: bool = True, desc: str = "search", device: str = "cpu") -> list[dict]:
    """Train super-network ``net`` and architecture model ``arch`` (a :class:`HyperNet` or :class:`FixedAlpha`).

    ``s=None`` samples one ``s ~ U(simplex)`` per batch (the hypernetwork objective); a fixed ``s``
    gives the baseline. ``device`` holds the super-network and the batches; ``s``, the logits and the
    Gumbel noise stay on the CPU (one seeded generator), and ``gamma`` is moved. One pass of
    :func:`nasvec.train.run_epochs` per epoch, Adam on both. Returns the history (per epoch:
    temperature, task loss, cost, seconds).
    """
    k = len(net.op_names)
    s_fixed = None if s is None else check_simplex(s, k)
    if s_fixed is not None and s_fixed.ndim != 1:
        raise SearchError(f"s must be one vector of length {k}, got shape {tuple(s_fixed.shape)}")
    if not kappa >= 0:
        raise SearchError(f"kappa must be >= 0, got {kappa!r}")
    if epochs < 1 or batch_size < 1:
        raise SearchError(f"epochs and batch_size must be >= 1, got {epochs!r} and {batch_size!r}")
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    net.to(device)
    gen = torch.Generator().manual_seed(seed)
    opt_w = torch.optim.Adam(net.parameters(), lr=lr_w)
    opt_a = torch.optim.Adam(arch.parameters(), lr=lr_a)

    def step(idx, epoch):
        t = temperature(epoch, epochs, t0, t1)
        s_b = s_fixed if s_fixed is not None else sample_simplex(k, generator=gen)
        alpha = arch(s_b)
        gamma = gumbel_sample(alpha, t, generator=gen).to(device)
        task = nn.functional.cross_entropy(net(x[idx].to(device), gamma), y[idx].to(device))
        c = cost(torch.softmax(alpha, -1), s_b)
        return task + kappa * c, {"task": task.item() * len(idx), "cost": c.item() * len(idx)}

    rows = run_epochs(step, len(y), epochs, batch_size, gen, [opt_w, opt_a], modules=[net], progress=progress,
                      desc=desc)
    return [{"epoch": r["epoch"], "t": temperature(r["epoch"] - 1, epochs, t0, t1), "task_loss": r["sums"]["task"] / r["count"],
             "cost": r["sums"]["cost"] / r["count"], "seconds": r["seconds"]} for r in rows]
