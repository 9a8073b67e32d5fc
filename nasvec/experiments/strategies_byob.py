"""Chapter 7's "Bring your own benchmark": a benchmark the book does not ship, wrapped in the protocol of
:mod:`nasvec.strategies` and searched by every strategy.

The benchmark is generated (:func:`generated_benchmark`) with what a benchmark from another domain brings and
NAS-Bench-201 does not: positions with different numbers of choices, codes that are not architectures, codes that are
the same architecture (two interchangeable branches), scores as fractions, and a validation score that is a noisy
estimate of the test score. What a user writes to wrap their own is what this module does: a
:class:`~nasvec.strategies.space.Space` (``Space.product`` with ``valid`` and ``canonical``, or ``Space.pool`` of
their codes) and a :class:`~nasvec.strategies.runner.Table` (validation as ``accuracy``, test as ``test``, the unit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..strategies.runner import Table, Trace
from ..strategies.space import Space

#: choices per position: two interchangeable branches (4 ops each), a merge (5), a flag (2), a width (6), a depth (3)
CARDS = (4, 4, 5, 2, 6, 3)


def _valid(codes: np.ndarray) -> np.ndarray:
    """An architecture needs an op on at least one branch (op 0 is "none"), and the widest width (5) does not fit
    the deepest depth (2)."""
    return ((codes[:, 0] > 0) | (codes[:, 1] > 0)) & ~((codes[:, 4] == 5) & (codes[:, 5] == 2))


def _canonical(codes: np.ndarray) -> np.ndarray:
    """The two branches are interchangeable: a code's representative lists them in increasing order."""
    out = codes.copy()
    out[:, :2] = np.sort(codes[:, :2], 1)
    return out


def generated_benchmark(seed: int = 0, noise: float = 0.02) -> Table:
    """The worked example's benchmark (:data:`CARDS`): a test score in [0, 1] per architecture from a random
    quadratic model of the codes, the validation score the test score plus Gaussian ``noise`` (fractions), and a
    cost in seconds per query growing with width and depth."""
    sp = Space.product("generated", CARDS, valid=_valid, canonical=_canonical)
    rng = np.random.default_rng(seed)
    onehot = sp.encode("onehot").astype(float)
    w = rng.normal(0, 1, onehot.shape[1])
    pair = rng.normal(0, 0.3, (onehot.shape[1], onehot.shape[1]))
    raw = onehot @ w + np.einsum("ni,ij,nj->n", onehot, pair, onehot)
    raw = (raw - raw.mean()) / raw.std()
    test = 0.70 + 0.08 * np.tanh(raw)
    val = test + rng.normal(0, noise, len(sp))
    seconds = 30.0 * (1 + sp.codes[:, 4]) * (1 + sp.codes[:, 5])
    return Table("generated", sp, val, test=test, unit="fraction", seconds=seconds)


def describe(bench: Table) -> pd.DataFrame:
    """What the benchmark declares: size, valid and distinct architectures, units, how far validation is from test."""
    ok = bench.space.allowed
    codes = len(bench.space)
    return pd.DataFrame([
        {"what": "codes (product of the choices per position)", "value": f"{codes:,} ({' x '.join(map(str, bench.space.cards))})"},
        {"what": "codes that are not architectures", "value": f"{int((~_valid(bench.space.codes)).sum()):,}"},
        {"what": "architectures a strategy may query (valid, one per isomorphism class)", "value": f"{int(ok.sum()):,}"},
        {"what": "unit of both scores", "value": bench.unit},
        {"what": "Spearman of validation with test", "value": f"{pd.Series(bench.accuracy[ok]).corr(pd.Series(bench.test[ok]), method='spearman'):.3f}"},
        {"what": "floor: test regret of the oracle validation pick", "value": f"{bench.floor:.4f}"},
        {"what": "seconds a query costs (the benchmark's records): median", "value": f"{np.median(bench.seconds[ok]):.0f}"},
    ])


def hygiene(traces: dict[str, Trace], bench: Table) -> pd.DataFrame:
    """Per strategy: queries in all, to codes that are not architectures, and to an architecture already queried
    by the same search (the protocol makes both zero), and the benchmark seconds its final search would have cost."""
    rows = []
    for name, tr in traces.items():
        ids = tr.ids
        repeats = sum(len(r) - len(set(bench.space.canon[r].tolist())) for r in ids)
        rows.append({"strategy": name, "queries": ids.size, "not architectures": int((~bench.space.allowed[ids]).sum()),
                     "repeats of an architecture": int(repeats),
                     "benchmark hours per search": float(bench.seconds[ids].sum(1).mean() / 3600)})
    return pd.DataFrame(rows)
