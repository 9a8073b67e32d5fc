"""Run strategies on a benchmark for many seeds and record the anytime incumbent (chapter 7).

A benchmark here is a table (the protocol every strategy is run against, :class:`Table`): per candidate id of a
:class:`~nasvec.strategies.space.Space`, the *search signal* a strategy sees (``query``: a validation score) and
the score a paper *reports* (``report``: the test score of the same architecture), each in a declared ``unit``,
and where the benchmark records one, the seconds a query would cost. NAS-Bench-201 has one accuracy per cell, so
there the two are the same number; the ENAS-6 pool and the live benchmark keep them apart. A query is a
vectorised look-up, so a run of ``S`` seeds costs what the strategy itself computes; :func:`run` times the two apart
(the strategy's seconds per query exclude the look-up). A :class:`Trace` keeps both scores: regret on the search
signal, and the test regret of the pick the search signal makes, with the floor (the test regret of the oracle
validation pick) beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import SearchError
from .space import Space


@dataclass
class Table:
    """A tabular benchmark: ``space`` and per candidate the search signal ``accuracy`` and the reported score
    ``test`` (None: the same numbers, as on NAS-Bench-201), both in ``unit`` ("%" or "fraction"; higher is better);
    ``seconds``: per candidate, what a query costs in the benchmark's own records (None when it records none).
    Only the space's allowed candidates need finite scores. ``queries`` counts look-ups."""

    name: str
    space: Space
    accuracy: np.ndarray
    test: np.ndarray | None = None
    unit: str = "%"
    seconds: np.ndarray | None = None
    queries: int = 0

    def __post_init__(self):
        ok = self.space.allowed
        for field_ in ("accuracy", "test", "seconds"):
            v = getattr(self, field_)
            if v is None:
                continue
            v = np.asarray(v, dtype=float)
            if v.shape != (len(self.space),) or not np.isfinite(v[ok]).all():
                raise SearchError(f"benchmark {self.name!r}: {field_} needs one finite value per allowed candidate "
                                  f"({len(self.space)} in all), got shape {v.shape}")
            setattr(self, field_, v)
        if self.unit not in ("%", "fraction"):
            raise SearchError(f"benchmark {self.name!r}: unit must be '%' or 'fraction', got {self.unit!r}")

    @property
    def same_signal(self) -> bool:
        """Whether the search signal is the reported score (one number per candidate)."""
        return self.test is None

    @property
    def best(self) -> float:
        """The best search signal of an allowed candidate."""
        return float(self.accuracy[self.space.allowed].max())

    @property
    def best_test(self) -> float:
        """The best reported score of an allowed candidate."""
        return float(self.reported()[self.space.allowed].max())

    @property
    def floor(self) -> float:
        """Test regret of the oracle validation pick: the best an exhaustive search on the signal can do."""
        allowed = np.flatnonzero(self.space.allowed)
        return self.best_test - float(self.reported()[allowed[np.argmax(self.accuracy[allowed])]])

    def reported(self) -> np.ndarray:
        return self.accuracy if self.test is None else self.test

    def query(self, ids) -> np.ndarray:
        ids = self.space.check(ids)
        self.queries += ids.size
        return self.accuracy[ids]

    def report(self, ids) -> np.ndarray:
        """The reported (test) score of ``ids``: never seen by a strategy."""
        return self.reported()[self.space.check(ids)]


@dataclass
class Trace:
    """One strategy's run: ``ids`` and ``values`` (S, T) in query order (the search signal), ``reports`` (S, T)
    the reported scores of the same ids, and its own compute in seconds; ``best`` / ``best_test`` / ``floor`` from
    the benchmark."""

    strategy: str
    benchmark: str
    ids: np.ndarray
    values: np.ndarray
    strategy_seconds: float
    lookup_seconds: float
    best: float
    reports: np.ndarray | None = None
    best_test: float | None = None
    floor: float = 0.0

    def incumbent(self) -> np.ndarray:
        """Best search signal found after each query, (S, T)."""
        return np.maximum.accumulate(self.values, axis=1)

    def regret(self) -> np.ndarray:
        """Regret on the search signal after each query, (S, T)."""
        return self.best - self.incumbent()

    def picked_test(self) -> np.ndarray:
        """The reported score of the best-signal candidate so far (the first to reach it), (S, T)."""
        reports = self.values if self.reports is None else self.reports
        S, T = self.values.shape
        at = np.zeros((S, T), dtype=np.int64)
        for t in range(1, T):
            better = self.values[:, t] > self.values[np.arange(S), at[:, t - 1]]
            at[:, t] = np.where(better, t, at[:, t - 1])
        return np.take_along_axis(reports, at, 1)

    def test_regret(self) -> np.ndarray:
        """Test regret of the pick the search signal makes after each query, (S, T) (its floor: ``floor``)."""
        best = self.best if self.best_test is None else self.best_test
        return best - self.picked_test()


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
    ids = ids[:, :n_queries]
    return Trace(getattr(strat, "name", str(make)), bench.name, ids, vals[:, :n_queries], t_strat, t_look,
                 bench.best, None if bench.same_signal else bench.report(ids), bench.best_test, bench.floor)
