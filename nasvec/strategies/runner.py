"""Run strategies on a benchmark for many seeds and record the anytime incumbent (chapter 7).

A benchmark here is a table: one accuracy per candidate id of a :class:`~nasvec.strategies.space.Space`
(NAS-Bench-201's 15,625 cells, the ENAS-6 pool, the trained cells of the live benchmark). A query is a
vectorised look-up, so a run of ``S`` seeds costs what the strategy itself computes; :func:`run` times
the two apart (the strategy's seconds per query exclude the look-up).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import SearchError
from .space import Space


@dataclass
class Table:
    """A tabular benchmark: ``space`` and ``accuracy`` (%) of every candidate; ``queries`` counts look-ups."""

    name: str
    space: Space
    accuracy: np.ndarray
    queries: int = 0

    def __post_init__(self):
        self.accuracy = np.asarray(self.accuracy, dtype=float)
        if self.accuracy.shape != (len(self.space),) or not np.isfinite(self.accuracy).all():
            raise SearchError(f"benchmark {self.name!r}: need one finite accuracy per candidate "
                              f"({len(self.space)}), got shape {self.accuracy.shape}")

    @property
    def best(self) -> float:
        return float(self.accuracy.max())

    def query(self, ids) -> np.ndarray:
        ids = self.space.check(ids)
        self.queries += ids.size
        return self.accuracy[ids]


@dataclass
class Trace:
    """One strategy's run: ``ids`` and ``values`` (S, T) in query order, and its own compute in seconds."""

    strategy: str
    benchmark: str
    ids: np.ndarray
    values: np.ndarray
    strategy_seconds: float
    lookup_seconds: float
    best: float

    def incumbent(self) -> np.ndarray:
        """Best accuracy found after each query, (S, T)."""
        return np.maximum.accumulate(self.values, axis=1)

    def regret(self) -> np.ndarray:
        return self.best - self.incumbent()


def run(make, bench: Table, n_seeds: int, n_queries: int, seed: int = 0) -> Trace:
    """Run ``make(space, n_seeds, seed)`` (a strategy class or factory) for ``n_queries`` queries per seed."""
    if n_queries < 1:
        raise SearchError(f"n_queries must be at least 1, got {n_queries}")
    strat = make(bench.space, n_seeds, seed)
    ids = np.zeros((n_seeds, 0), dtype=np.int64)
    vals = np.zeros((n_seeds, 0))
    t_strat = t_look = 0.0
    while ids.shape[1] < n_queries:
        t0 = time.perf_counter()
        ask = strat.ask()
        t1 = time.perf_counter()
        v = bench.query(ask)
        t2 = time.perf_counter()
        strat.tell(ask, v)
        t_strat += (t1 - t0) + (time.perf_counter() - t2)
        t_look += t2 - t1
        ids, vals = np.concatenate([ids, ask], 1), np.concatenate([vals, v], 1)
    return Trace(getattr(strat, "name", str(make)), bench.name, ids[:, :n_queries], vals[:, :n_queries],
                 t_strat, t_look, bench.best)
