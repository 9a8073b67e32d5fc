"""Seed 002's base algorithm: random search for a near-optimal ``Z_j`` on each small subsample ``D_j``, and
meta-models that predict ``Z`` for the whole data set from the pairs ``(D_j, Z_j)``.

Chapter 6 ("Predicting the structure from subsamples") introduces it. The paper leaves the meta-model
open; four are here, from simple to learned (:data:`META_MODELS`):

* ``best subsample`` — the ``Z_j`` with the lowest quality on its own subsample (no meta-model at all);
* ``vote`` — per connection, the share of the ``Z_j`` (hidden neurons aligned first) that hold it; the
  most voted connections, as many per layer as the search used, and each neuron's most voted activation;
* ``extrapolate`` — that vote share per connection, fitted linearly in log subsample size over every
  size up to ``m`` and read off at the full data set's size;
* ``set encoder`` — learned: a DeepSets network reads a subsample (each object with its one-hot label),
  averages, and outputs every connection's and activation's logits; trained on the pairs ``(D_j, Z_j)``
  and applied to the whole training set (the paper's own words: a meta-model trained on the pairs).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import SearchError
from .masked import ACTIVATIONS, FitConfig, Ledger, Structure, align, counts, fit_score, quality, random_structure, top_mask

META_MODELS = ("best subsample", "vote", "extrapolate", "set encoder")


def subsample_search(x, y, shape, sizes, k: int, candidates: int, share, C: float, fit: FitConfig,
                     val_fraction: float, seed: int, ledger: Ledger | None = None) -> list[dict]:
    """For each size ``m`` and ``j < k``: a subsample ``D_j`` of ``m`` training objects (a ``val_fraction``
    of it held out), ``candidates`` random structures with the given ``share``, each trained on the rest
    of ``D_j``; returns one record per subsample with its best ``Z_j`` by quality on the held-out part,
    its indices, and every candidate's error (one population per size, each network on its own subsample)."""
    rng = np.random.default_rng([seed, 6021])
    records, by_size = [], {}
    for m in sizes:
        n_val = max(2, int(round(val_fraction * m)))
        if m - n_val < 2 or m > len(x):
            raise SearchError(f"subsample size {m}: needs at least {n_val + 2} and at most {len(x)} objects")
        for j in range(k):
            idx = rng.choice(len(x), size=m, replace=False)
            zs = [random_structure(shape, share, rng) for _ in range(candidates)]
            records.append({"m": m, "j": j, "idx": idx, "candidates": zs})
            by_size.setdefault(m, []).append(len(records) - 1)
    for m, recs in by_size.items():   # one population per size: every network its own subsample
        n_val = max(2, int(round(val_fraction * m)))
        pop = [z for r in recs for z in records[r]["candidates"]]
        idx = np.concatenate([np.repeat(records[r]["idx"][None], candidates, 0) for r in recs])
        out = fit_score(pop, x[idx[:, n_val:]], y[idx[:, n_val:]], {"val": (x[idx[:, :n_val]], y[idx[:, :n_val]])},
                        fit, seed=seed + m, ledger=ledger)
        for i, r in enumerate(recs):
            err = out["val"][i * candidates:(i + 1) * candidates]
            q = quality(err, [z.K for z in records[r]["candidates"]], C)
            best = int(np.argmin(q))
            records[r].update(z=records[r]["candidates"][best], error=float(err[best]), quality=float(q[best]),
                              errors=err)
    return records


def _aligned(zs: list[Structure], ref: Structure) -> list[Structure]:
    return [align(z, ref) for z in zs]


def _votes(zs: list[Structure]):
    v1 = np.mean([z.v1 for z in zs], 0)
    v2 = np.mean([z.v2 for z in zs], 0)
    na = len(ACTIVATIONS)
    a1 = np.mean([np.eye(na)[z.a1] for z in zs], 0)
    a2 = np.mean([np.eye(na)[z.a2] for z in zs], 0)
    return v1, a1, v2, a2


def from_scores(v1, a1, v2, a2, k1: int, k2: int) -> Structure:
    """The structure of the ``k1`` / ``k2`` highest connection scores per layer and each neuron's best activation."""
    return Structure(top_mask(v1, k1), np.argmax(a1, 1), top_mask(v2, k2), np.argmax(a2, 1))


def reference(records: list[dict]) -> Structure:
    """The subsamples' best ``Z_j`` (lowest quality), the frame every other ``Z_j`` is aligned to."""
    return min(records, key=lambda r: (r["quality"], r["m"], r["j"]))["z"]


def vote(records: list[dict], share) -> Structure:
    zs = [r["z"] for r in records]
    k1, k2 = counts(zs[0].shape, share)
    return from_scores(*_votes(_aligned(zs, reference(records))), k1, k2)


def extrapolate(records: list[dict], share, full_size: int) -> Structure:
    """Per connection and activation, the vote share at each subsample size, fitted by least squares in
    ``log m`` and evaluated at ``log full_size`` (a single size: the plain vote)."""
    zs = [r["z"] for r in records]
    k1, k2 = counts(zs[0].shape, share)
    ref = reference(records)
    sizes = sorted({r["m"] for r in records})
    per = [_votes(_aligned([r["z"] for r in records if r["m"] == m], ref)) for m in sizes]
    if len(sizes) == 1:
        return from_scores(*per[0], k1, k2)
    t = np.log(np.asarray(sizes, float))
    design = np.stack([np.ones_like(t), t], 1)
    out = []
    for part in zip(*per):
        stack = np.stack(part).reshape(len(sizes), -1)
        coef, *_ = np.linalg.lstsq(design, stack, rcond=None)
        out.append((coef[0] + coef[1] * np.log(full_size)).reshape(part[0].shape))
    return from_scores(*out, k1, k2)


class SetEncoder(torch.nn.Module):
    """DeepSets: ``rho(mean_i phi([x_i, onehot(y_i)]))`` -> logits of every connection and activation of Z."""

    def __init__(self, shape, classes: int, width: int = 64):
        super().__init__()
        n, h, c = shape
        self.shape, self.classes = shape, classes
        na = len(ACTIVATIONS)
        self.sizes = (n * h, h * na, h * c, c * na)
        self.phi = torch.nn.Sequential(torch.nn.Linear(n + classes, width), torch.nn.ReLU(),
                                       torch.nn.Linear(width, width), torch.nn.ReLU())
        self.rho = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(),
                                       torch.nn.Linear(width, sum(self.sizes)))

    def forward(self, x, y):
        feats = torch.cat([x, torch.nn.functional.one_hot(y, self.classes).float()], -1)
        return self.rho(self.phi(feats).mean(-2))

    def split(self, out):
        n, h, c = self.shape
        na = len(ACTIVATIONS)
        v1, a1, v2, a2 = torch.split(out, self.sizes, -1)
        return (v1.reshape(*out.shape[:-1], n, h), a1.reshape(*out.shape[:-1], h, na),
                v2.reshape(*out.shape[:-1], h, c), a2.reshape(*out.shape[:-1], c, na))


def set_encoder(records: list[dict], x, y, classes: int, share, seed: int, steps: int = 300, lr: float = 3e-3,
                ledger: Ledger | None = None) -> Structure:
    """Train a :class:`SetEncoder` on the pairs ``(D_j, aligned Z_j)`` (binary cross-entropy on connections,
    cross-entropy on activations) and read ``Z`` off its output on the whole training set ``(x, y)``."""
    import time

    t0 = time.process_time()
    zs = _aligned([r["z"] for r in records], reference(records))
    shape = zs[0].shape
    k1, k2 = counts(shape, share)
    torch.manual_seed(seed)
    model = SetEncoder(shape, classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    data = [(xt[r["idx"]], yt[r["idx"]]) for r in records]
    t1 = torch.from_numpy(np.stack([z.v1 for z in zs])).float()
    t2 = torch.from_numpy(np.stack([z.v2 for z in zs])).float()
    c1 = torch.from_numpy(np.stack([z.a1 for z in zs]))
    c2 = torch.from_numpy(np.stack([z.a2 for z in zs]))
    bce, ce = torch.nn.functional.binary_cross_entropy_with_logits, torch.nn.functional.cross_entropy
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        out = torch.stack([model(xd, yd) for xd, yd in data])
        v1, a1, v2, a2 = model.split(out)
        loss = (bce(v1, t1) + bce(v2, t2) + ce(a1.reshape(-1, a1.shape[-1]), c1.reshape(-1))
                + ce(a2.reshape(-1, a2.shape[-1]), c2.reshape(-1)))
        loss.backward()
        opt.step()
    with torch.no_grad():
        v1, a1, v2, a2 = (t.numpy() for t in model.split(model(xt, yt)))
    if ledger is not None:
        ledger.add(0, 0, time.process_time() - t0)
    return from_scores(v1, a1, v2, a2, k1, k2)


def predict(name: str, records: list[dict], x, y, classes: int, share, seed: int,
            set_steps: int = 300, ledger: Ledger | None = None) -> Structure:
    """The structure meta-model ``name`` (one of :data:`META_MODELS`) predicts for the whole training set."""
    if not records:
        raise SearchError("meta-model: no subsample searches given")
    if name == "best subsample":
        return min(records, key=lambda r: (r["quality"], r["m"], r["j"]))["z"]
    if name == "vote":
        return vote(records, share)
    if name == "extrapolate":
        return extrapolate(records, share, len(x))
    if name == "set encoder":
        return set_encoder(records, x, y, classes, share, seed, steps=set_steps, ledger=ledger)
    raise SearchError(f"unknown meta-model {name!r}; known: {', '.join(META_MODELS)}")
