"""Zero-cost proxies: scores of an untrained network from one batch (introduced in chapter 7).

Reimplemented after Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS" (ICLR), and the
measures of their code (``foresight/pruners/measures``). Every score sums over the weights of the
convolutions and linear layers (not their biases, not BatchNorm's scale and shift), as theirs do;
higher is better for all of them:

* ``synflow`` (Tanaka et al. 2020): in double precision, every parameter and buffer replaced by its
  absolute value, the input one image of all ones; ``R`` is the sum of the outputs, the score
  ``sum |theta * dR/dtheta|``. BatchNorm is switched off (each BN layer passes its input through),
  as their ``synflow`` measure does (``bn=False``): with BN a batch of one all-ones image would be
  normalised to zeros.
* ``snip`` (Lee et al. 2019): ``sum |dL/dtheta * theta|``, ``L`` the cross-entropy of the batch.
* ``grad_norm``: the sum over layers of the L2 norm of ``dL/dtheta`` (one norm per weight tensor).
* ``jacob_cov`` (Mellor et al. 2021): the per-example Jacobians ``d(sum of outputs)/d(input)`` of the
  batch, flattened, give a correlation matrix with eigenvalues ``v``; the score is
  ``-sum(log(v + k) + 1/(v + k))`` with ``k = 1e-5``. NaN where the correlations are undefined (a
  network whose output does not depend on its input).
* ``params``: the number of parameters, the free baseline.

``snip``, ``grad_norm`` and ``jacob_cov`` run the network in training mode (BatchNorm on the batch's
statistics), as theirs do. :func:`proxy_scores` computes each on a network freshly built by
``net_factory()`` after ``torch.manual_seed(seed)``, so the proxies do not interact (``synflow``
changes the weights it reads) and the same seed gives the same scores.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SearchError
from .cellnet import EDGE_COLUMNS, CellNet, check_cell

PROXIES = ("synflow", "snip", "grad_norm", "jacob_cov", "params")
#: proxies that read no data (only the input's shape)
DATA_FREE = ("synflow", "params")
JACOB_K = 1e-5


def _weights(net: nn.Module) -> list[torch.Tensor]:
    """The weight tensors of the convolutions and linear layers, the ones every proxy scores."""
    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# --------------------------------------------------------------------------- the measures
def synflow(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """``sum |theta * dR/dtheta|`` of the double-precision, absolute-valued, BN-free network on one image
    of ones (``x`` gives only its shape). Changes ``net`` (double, absolute values, BN bypassed)."""
    net.double()
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            if t.is_floating_point():
                t.abs_()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.forward = _identity
    net.zero_grad(set_to_none=True)
    out = net(torch.ones(1, *x.shape[1:], dtype=torch.float64))
    out.sum().backward()
    return float(sum((w * w.grad).detach().abs().sum() for w in _weights(net) if w.grad is not None))


def _identity(x):
    return x


def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """``sum |dL/dtheta * theta|`` with ``L`` the batch's cross-entropy."""
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum((w.grad * w).detach().abs().sum() for w in _weights(net) if w.grad is not None))


def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The sum over weight tensors of ``||dL/dtheta||_2``."""
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum(w.grad.detach().norm() for w in _weights(net) if w.grad is not None))


def jacob_cov(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues ``v`` of the correlation matrix of the
    per-example input Jacobians; NaN where a Jacobian is constant (zero variance)."""
    x = x.detach().clone().requires_grad_(True)
    out = net(x)
    (jac,) = torch.autograd.grad(out, x, torch.ones_like(out))
    jac = jac.reshape(len(x), -1).double().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return math.nan
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + JACOB_K) + 1.0 / (v + JACOB_K)))


def params(net: nn.Module, x=None, y=None) -> float:
    """The number of parameters."""
    return float(sum(p.numel() for p in net.parameters()))


MEASURES: dict[str, Callable] = {"synflow": synflow, "snip": snip, "grad_norm": grad_norm,
                                 "jacob_cov": jacob_cov, "params": params}


def check_names(names: Sequence[str]) -> tuple:
    names = tuple(names)
    bad = [n for n in names if n not in MEASURES]
    if bad or not names:
        raise SearchError(f"unknown zero-cost proxy {bad[0] if bad else '(none given)'!r}; "
                          f"choose from {', '.join(PROXIES)}")
    return names


# --------------------------------------------------------------------------- the one entry point
def proxy_scores(net_factory: Callable[[], nn.Module], x, y, names: Sequence[str] = PROXIES,
                 seed: int = 0) -> dict:
    """``{name: (score, seconds)}`` for each proxy in ``names`` on the batch ``(x, y)``.

    Each proxy gets its own network, ``net_factory()`` built after ``torch.manual_seed(seed)`` (so the
    same initial weights for every proxy, and the same scores for the same seed). ``seconds`` is the
    wall-clock time of the measure alone, not of building the network. ``x`` is a float batch
    ``[n, C, H, W]`` (``n >= 2`` for ``jacob_cov`` and BatchNorm), ``y`` its int labels.
    """
    names = check_names(names)
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    if x.ndim != 4 or len(x) != len(y) or len(x) < 2:
        raise SearchError(f"proxy_scores: x must be a batch [n >= 2, C, H, W] with one label each, "
                          f"got x {tuple(x.shape)} and y {tuple(y.shape)}")
    out = {}
    for name in names:
        torch.manual_seed(int(seed))
        net = net_factory()
        net.train()
        t0 = time.perf_counter()
        score = MEASURES[name](net, x, y)
        out[name] = (score, time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- the real NAS-Bench-201 network
def nb201_proxy_table(cells: Sequence, data_x, data_y, names: Sequence[str] = PROXIES, seed: int = 0,
                      progress: bool = True):
    """The proxies of NAS-Bench-201's own network (:class:`~nasvec.strategies.cellnet.CellNet` with C = 16,
    5 cells per stage, 10 classes) for each of ``cells``, on the batch ``(data_x, data_y)`` — CIFAR-10-shaped
    ``[n, 3, 32, 32]`` (``synflow`` and ``params`` read only its shape). One row per cell: ``cell`` (text),
    its op ids (``e01`` ... ``e23``), and per proxy ``<name>_score`` and ``<name>_seconds``. The same seed
    gives the same scores; the network's input channels are ``data_x``'s."""
    import pandas as pd
    from tqdm.auto import tqdm

    names = check_names(names)
    x = torch.as_tensor(data_x, dtype=torch.float32)
    if x.ndim != 4:
        raise SearchError(f"nb201_proxy_table: data_x must be a batch [n, C, H, W], got shape {tuple(x.shape)}")
    rows = []
    for cell in tqdm([check_cell(c) for c in cells], desc="NB201 proxies", disable=not progress):
        scores = proxy_scores(lambda: CellNet(cell, 16, 5, in_channels=x.shape[1], n_classes=10), x, data_y,
                              names, seed)
        row = {"cell": ",".join(map(str, cell)), **dict(zip(EDGE_COLUMNS, cell))}
        for name, (score, seconds) in scores.items():
            row.update({f"{name}_score": score, f"{name}_seconds": seconds})
        rows.append(row)
    return pd.DataFrame(rows)
