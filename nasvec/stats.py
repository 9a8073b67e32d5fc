"""The book's rule for a verdict over the same seeds (a paired difference larger than 2 standard errors, else a tie).

Introduced in the chapter "Predicting the structure from subsamples"; chapters 5 and 7 use it too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Paired(NamedTuple):
    """A paired difference over seeds: its ``mean``, standard error ``se``, the ``word`` a page states ("lower",
    "higher" or "tie") and the ``seeds`` it paired (the labels of the finite differences)."""

    mean: float
    se: float
    word: str
    seeds: tuple

    @property
    def n(self) -> int:
        return len(self.seeds)


def paired_difference(diff) -> Paired:
    """The verdict on paired differences ``diff`` (one per seed: a sequence, or a pandas Series indexed by seed).
    A seed whose difference is not finite (one side missing or failed) is dropped, and ``seeds`` names the ones kept.
    ``word`` is "lower" or "higher" when ``|mean| > 2 se``, else "tie" — also with fewer than two seeds, whose
    standard error is unknown (``nan``)."""
    index = getattr(diff, "index", None)   # a pandas Series: its seeds; a list's .index is a method
    labels = list(index) if index is not None and not callable(index) else list(range(len(diff)))
    d = np.asarray(diff, dtype=np.float64).reshape(-1)
    keep = np.isfinite(d)
    d, seeds = d[keep], tuple(x for x, k in zip(labels, keep) if k)
    mean = float(d.mean()) if len(d) else float("nan")
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    word = "tie" if not np.isfinite(se) or abs(mean) <= 2 * se else ("lower" if mean < 0 else "higher")
    return Paired(mean, se, word, seeds)
