"""Structures Z = {V_1, alpha_1, V_2, alpha_2} of seed 002 and a population of masked two-layer networks.

Chapter 6 ("Predicting the structure from subsamples", ``notebooks/structure.ipynb``) introduces it.
A :class:`Structure` is the paper's architecture of ``f(x) = sigma_2(W_2 sigma_1(W_1 x))``: binary masks
``V_k = [W_k != 0]`` (``v1``: inputs x hidden, ``v2``: hidden x outputs) and one activation per neuron
(``a1``, ``a2``: indices into :data:`ACTIVATIONS`). :func:`train` fits a whole population of such
networks at once (one batched matrix product per layer; each network may see its own data set) with
every mask fixed: a weight outside the mask gets a zero gradient and stays zero. The paper's
quality ``L(Z) = L(y, f_Z(X)) + C K`` and proximity ``F(Z_opt, Z)`` are :func:`quality` and
:func:`proximity`; :func:`align` orders hidden neurons like a reference (the paper's F does not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..config import Config, check
from ..errors import SearchError
from ..train import run_epochs

#: the class of activation functions a neuron chooses from (the paper fixes "a class"; we fix this one)
ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid")


@dataclass(frozen=True, eq=False)
class Structure:
    """``Z``: masks ``v1`` ``(n, h)`` and ``v2`` ``(h, c)`` (bool), activations ``a1`` ``(h,)``, ``a2`` ``(c,)``."""

    v1: np.ndarray
    a1: np.ndarray
    v2: np.ndarray
    a2: np.ndarray

    def __post_init__(self):
        v1, v2 = np.asarray(self.v1, bool), np.asarray(self.v2, bool)
        a1, a2 = np.asarray(self.a1, np.int64), np.asarray(self.a2, np.int64)
        if v1.ndim != 2 or v2.ndim != 2 or v1.shape[1] != v2.shape[0]:
            raise SearchError(f"structure: v1 must be (inputs, hidden) and v2 (hidden, outputs), "
                              f"got {v1.shape} and {v2.shape}")
        if a1.shape != (v1.shape[1],) or a2.shape != (v2.shape[1],):
            raise SearchError(f"structure: a1 must have one activation per hidden neuron ({v1.shape[1]}) and a2 one "
                              f"per output ({v2.shape[1]}), got {a1.shape} and {a2.shape}")
        for name, a in (("a1", a1), ("a2", a2)):
            if a.size and (a.min() < 0 or a.max() >= len(ACTIVATIONS)):
                raise SearchError(f"structure: {name} holds activation {int(a.max())}; there are "
                                  f"{len(ACTIVATIONS)} ({', '.join(ACTIVATIONS)})")
        for name, value in (("v1", v1), ("a1", a1), ("v2", v2), ("a2", a2)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(inputs n, hidden h, outputs c)``."""
        return self.v1.shape[0], self.v1.shape[1], self.v2.shape[1]

    @property
    def K(self) -> int:
        """The number of active connections, ``sum_k |V_k|`` (the paper's "active neurons" K)."""
        return int(self.v1.sum() + self.v2.sum())

    def key(self) -> bytes:
        """Bytes equal for equal structures (a hash key)."""
        return b"".join(np.ascontiguousarray(a).tobytes() for a in (self.v1, self.a1, self.v2, self.a2)) + \
            repr(self.shape).encode()

    def __eq__(self, other):
        return isinstance(other, Structure) and self.shape == other.shape and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def permute_hidden(self, perm) -> "Structure":
        """The same network with hidden neuron ``perm[j]`` moved to position ``j`` (an isomorphic copy)."""
        perm = np.asarray(perm)
        if sorted(perm.tolist()) != list(range(self.shape[1])):
            raise SearchError(f"permute_hidden: {perm.tolist()} is not a permutation of {self.shape[1]} neurons")
        return Structure(self.v1[:, perm], self.a1[perm], self.v2[perm], self.a2)

    def describe(self) -> str:
        n, h, c = self.shape
        return f"{n}-{h}-{c} network, K = {self.K} ({int(self.v1.sum())} + {int(self.v2.sum())})"


def counts(shape: tuple[int, int, int], share) -> tuple[int, int]:
    """Active connections per layer for a share ``(s1, s2)`` (or one ``s`` for both): ``round(s * entries)``,
    at least 1 and at most all."""
    n, h, c = shape
    s1, s2 = (share, share) if np.isscalar(share) else share
    check(0 < s1 <= 1 and 0 < s2 <= 1, f"share must be in (0, 1] per layer, got {share}")
    return (int(min(n * h, max(1, round(s1 * n * h)))), int(min(h * c, max(1, round(s2 * h * c)))))


def _mask(rng, rows: int, cols: int, k: int) -> np.ndarray:
    m = np.zeros(rows * cols, bool)
    m[rng.choice(rows * cols, size=k, replace=False)] = True
    return m.reshape(rows, cols)


def random_structure(shape, share, rng: np.random.Generator, n_act: int = len(ACTIVATIONS)) -> Structure:
    """A structure with exactly :func:`counts` connections per layer at random places and each neuron's
    activation drawn uniformly from the first ``n_act`` of :data:`ACTIVATIONS` (the paper's random search)."""
    n, h, c = shape
    k1, k2 = counts(shape, share)
    return Structure(_mask(rng, n, h, k1), rng.integers(n_act, size=h), _mask(rng, h, c, k2), rng.integers(n_act, size=c))


def mutate(z: Structure, rng: np.random.Generator, n_act: int = len(ACTIVATIONS)) -> Structure:
    """One change that keeps K: move one connection of a layer to an empty place of the same layer, or
    give one neuron another activation (each layer's move and the activation change equally likely)."""
    v1, a1, v2, a2 = z.v1.copy(), z.a1.copy(), z.v2.copy(), z.a2.copy()
    moves = [m for m, v in (("v1", v1), ("v2", v2)) if 0 < v.sum() < v.size] + (["act"] if n_act > 1 else [])
    if not moves:
        raise SearchError(f"mutate: {z.describe()} has no connection to move and one activation to choose from")
    move = moves[rng.integers(len(moves))]
    if move == "act":
        neurons = np.concatenate([a1, a2])
        i = rng.integers(len(neurons))
        neurons[i] = (neurons[i] + 1 + rng.integers(n_act - 1)) % n_act
        a1, a2 = neurons[:len(a1)], neurons[len(a1):]
    else:
        v = v1 if move == "v1" else v2
        flat = v.reshape(-1)
        on, off = np.flatnonzero(flat), np.flatnonzero(~flat)
        flat[rng.choice(on)] = False
        flat[rng.choice(off)] = True
    return Structure(v1, a1, v2, a2)


def top_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """A mask of the ``k`` highest entries of ``scores`` (ties to the lower flat index)."""
    scores = np.asarray(scores, float)
    order = np.lexsort((np.arange(scores.size), -scores.reshape(-1)))
    out = np.zeros(scores.size, bool)
    out[order[:k]] = True
    return out.reshape(scores.shape)


# --------------------------------------------------------------------------- the paper's functionals
def quality(error, K, C: float):
    """``L(Z) = L(y, f_Z(X)) + g(K)`` with ``g(K) = C K`` (the paper's base algorithm); ``error`` is the
    share of misclassified objects (1 - accuracy, so that lower is better)."""
    return np.asarray(error, float) + C * np.asarray(K, float)


def mask_penalty(z: Structure, z_opt: Structure, alpha: float, beta: float) -> float:
    """``sum_k sum_ij alpha [V_k = 1, V_opt,k = 0] + beta [V_k = 0, V_opt,k = 1]``: alpha for each extra
    connection of ``z``, beta for each connection of ``z_opt`` that ``z`` lacks."""
    if z.shape != z_opt.shape:
        raise SearchError(f"proximity is defined for structures of one shape; got {z.shape} and {z_opt.shape}")
    extra = int((z.v1 & ~z_opt.v1).sum() + (z.v2 & ~z_opt.v2).sum())
    missing = int((~z.v1 & z_opt.v1).sum() + (~z.v2 & z_opt.v2).sum())
    return alpha * extra + beta * missing


def proximity(z: Structure, z_opt: Structure, quality_z: float, quality_opt: float, alpha: float, beta: float) -> float:
    """The paper's ``F(Z_opt, Z) = L(Z) - L(Z_opt) + mask_penalty``; zero for ``z == z_opt``. The masks are
    compared as indexed: a copy of ``z_opt`` with its hidden neurons reordered is a different ``Z`` here."""
    return float(quality_z - quality_opt + mask_penalty(z, z_opt, alpha, beta))


def align(z: Structure, ref: Structure) -> Structure:
    """``z`` with its hidden neurons reordered to be closest to ``ref`` (ours; the paper compares masks as
    indexed): the permutation minimising :func:`mask_penalty` (the same one for every ``alpha, beta > 0``), ties
    broken by equal activations (an assignment problem, solved exactly)."""
    from scipy.optimize import linear_sum_assignment

    if z.shape != ref.shape:
        raise SearchError(f"align: structures of shapes {z.shape} and {ref.shape}")
    # alpha * extra + beta * missing = constant - (alpha + beta) * (connections in common) whatever the order, so
    # the best order minimises the connections not in common (an integer), then the activations that differ
    a = np.concatenate([z.v1, z.v2.T]).astype(np.int64)      # (n + c, h): neuron j's in and out connections
    b = np.concatenate([ref.v1, ref.v2.T]).astype(np.int64)
    differ = a.T @ (1 - b) + (1 - a).T @ b                    # differ[i, j]: z's neuron i at ref's place j
    cost = (z.shape[1] + 1) * differ + (z.a1[:, None] != ref.a1[None, :])
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(z.shape[1], int)
    perm[cols] = rows
    return z.permute_hidden(perm)


# --------------------------------------------------------------------------- a population of masked networks
@dataclass(frozen=True)
class FitConfig(Config):
    """How every masked network of the chapter is trained: full-batch Adam, ``steps`` steps at ``lr``,
    cross-entropy on the outputs ``sigma_2(...)`` (one per class), at most ``chunk`` networks per batched
    product; the weights start at ``N(0, 1 / active fan-in)``."""

    steps: int = 150
    lr: float = 0.03
    chunk: int = 256

    def __post_init__(self):
        check(self.steps >= 1 and self.lr > 0 and self.chunk >= 1,
              f"FitConfig: steps and chunk must be >= 1 and lr > 0, got {self}")


@dataclass
class Ledger:
    """What a method spent: trainings, sample-steps (objects x optimiser steps, summed) and CPU seconds."""

    trainings: int = 0
    sample_steps: int = 0
    cpu_s: float = 0.0

    def add(self, trainings: int, sample_steps: int, cpu_s: float) -> None:
        self.trainings += int(trainings)
        self.sample_steps += int(sample_steps)
        self.cpu_s += float(cpu_s)


def stack_structures(structs: list[Structure]):
    if not structs:
        raise SearchError("train: no structures given")
    shapes = {z.shape for z in structs}
    if len(shapes) != 1:
        raise SearchError(f"train: a population must share one shape, got {sorted(shapes)}")
    na = len(ACTIVATIONS)
    v1 = torch.from_numpy(np.stack([z.v1 for z in structs])).float()
    v2 = torch.from_numpy(np.stack([z.v2 for z in structs])).float()
    a1 = torch.nn.functional.one_hot(torch.from_numpy(np.stack([z.a1 for z in structs])), na).float()
    a2 = torch.nn.functional.one_hot(torch.from_numpy(np.stack([z.a2 for z in structs])), na).float()
    return v1, a1, v2, a2


#: each activation as ``a z + b relu(z) + c sigmoid(k z) + d`` (tanh(z) = 2 sigmoid(2z) - 1): one formula
#: for a population whose neurons each have their own activation
_COEF = torch.tensor([  # a, b, c, k, d
    [1.0, 0.0, 0.0, 1.0, 0.0],   # identity
    [0.0, 1.0, 0.0, 1.0, 0.0],   # relu
    [0.0, 0.0, 2.0, 2.0, -1.0],  # tanh
    [0.0, 0.0, 1.0, 1.0, 0.0],   # sigmoid
])


def activate(z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Each neuron's own activation: ``z`` ``(P, m, h)``, ``onehot`` ``(P, h, a)`` over :data:`ACTIVATIONS`."""
    a, b, c, k, d = (onehot @ _COEF).unsqueeze(1).unbind(-1)     # each (P, 1, h)
    out = a * z + d
    if bool(b.any()):
        out = out + b * torch.relu(z)
    if bool(c.any()):
        out = out + c * torch.sigmoid(k * z)
    return out


def forward(x: torch.Tensor, w1, w2, v1, a1, v2, a2) -> torch.Tensor:
    """Outputs ``(P, m, c)`` of ``P`` masked networks on ``x`` ``(m, n)`` (shared) or ``(P, m, n)`` (own)."""
    h = activate(torch.matmul(x, w1 * v1), a1)
    return activate(torch.bmm(h, w2 * v2), a2)


def init_weights(structs: list[Structure], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial weights ``N(0, 1 / fan-in)``, fan-in counted over the mask (at least 1), zero outside it."""
    v1, _, v2, _ = stack_structures(structs)
    w1 = torch.randn(v1.shape, generator=generator) / v1.sum(1, keepdim=True).clamp(min=1).sqrt()
    w2 = torch.randn(v2.shape, generator=generator) / v2.sum(1, keepdim=True).clamp(min=1).sqrt()
    return w1 * v1, w2 * v2


def _as_batch(x, y, count: int):
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if x.ndim == 2:
        if y.ndim != 1 or len(y) != len(x):
            raise SearchError(f"data: {len(x)} objects but labels of shape {tuple(y.shape)}")
    elif x.ndim == 3:
        if x.shape[0] != count or y.shape != x.shape[:2]:
            raise SearchError(f"data: per-network objects must be (networks={count}, m, n) with labels (networks, m); "
                              f"got {tuple(x.shape)} and {tuple(y.shape)}")
    else:
        raise SearchError(f"data: objects must be (m, n) or (networks, m, n), got {tuple(x.shape)}")
    return x, y


def train(structs: list[Structure], x, y, cfg: FitConfig, seed: int = 0, init=None, ledger: Ledger | None = None):
    """Train every structure's weights on ``(x, y)`` with its masks fixed; returns ``(w1, w2)``.

    ``x`` is ``(m, n)`` for one data set shared by all, or ``(P, m, n)`` with ``y`` ``(P, m)`` for one data
    set per network. ``init``: starting weights (else :func:`init_weights` from ``seed``; the draws do not
    depend on ``cfg.chunk``). ``ledger`` is charged one training and ``m * steps`` sample-steps per network.
    """
    t0 = time.process_time()
    x, y = _as_batch(x, y, len(structs))
    n, _, c = structs[0].shape
    if x.shape[-1] != n:
        raise SearchError(f"train: the structures read {n} inputs, the data has {x.shape[-1]} features")
    if int(y.max()) >= c or int(y.min()) < 0:
        raise SearchError(f"train: labels run from {int(y.min())} to {int(y.max())}, the structures have {c} outputs")
    w1_all, w2_all = init if init is not None else init_weights(structs, torch.Generator().manual_seed(seed))
    out1, out2 = [], []
    for lo in range(0, len(structs), cfg.chunk):
        sl = slice(lo, lo + cfg.chunk)
        v1, a1, v2, a2 = stack_structures(structs[sl])
        w1 = (w1_all[sl] * v1).clone().requires_grad_(True)
        w2 = (w2_all[sl] * v2).clone().requires_grad_(True)
        xb, yb = (x[sl], y[sl]) if x.ndim == 3 else (x, y.expand(len(v1), -1))
        opt = torch.optim.Adam([w1, w2], lr=cfg.lr)

        def step(_idx, _epoch):   # full batch: the whole data set every step; the networks' losses summed
            logits = forward(xb, w1, w2, v1, a1, v2, a2)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, c), yb.reshape(-1),
                                                     reduction="sum") / yb.shape[1], {}

        run_epochs(step, 1, cfg.steps, 1, torch.Generator(), [opt])
        out1.append(w1.detach() * v1)
        out2.append(w2.detach() * v2)
    if ledger is not None:
        ledger.add(len(structs), len(structs) * int(y.shape[-1]) * cfg.steps, time.process_time() - t0)
    return torch.cat(out1), torch.cat(out2)


@torch.no_grad()
def errors(structs: list[Structure], weights, x, y, chunk: int = 256) -> np.ndarray:
    """Each network's share of misclassified objects on ``(x, y)`` (shared or per network)."""
    x, y = _as_batch(x, y, len(structs))
    w1_all, w2_all = weights
    out = []
    for lo in range(0, len(structs), chunk):
        sl = slice(lo, lo + chunk)
        v1, a1, v2, a2 = stack_structures(structs[sl])
        xb, yb = (x[sl], y[sl]) if x.ndim == 3 else (x, y.expand(len(v1), -1))
        pred = forward(xb, w1_all[sl], w2_all[sl], v1, a1, v2, a2).argmax(-1)
        out.append((pred != yb).float().mean(1))
    return torch.cat(out).numpy().astype(float)


def fit_score(structs: list[Structure], x_fit, y_fit, evals: dict, cfg: FitConfig, seed: int = 0,
              ledger: Ledger | None = None, init=None) -> dict:
    """Train the population on ``(x_fit, y_fit)`` and return ``{name: errors}`` for each ``evals[name] = (x, y)``
    (and ``"weights"``)."""
    w = train(structs, x_fit, y_fit, cfg, seed=seed, init=init, ledger=ledger)
    out = {name: errors(structs, w, xe, ye, cfg.chunk) for name, (xe, ye) in evals.items()}
    out["weights"] = w
    return out
