"""Chapter 6 ("Predicting the structure from subsamples") without the share hint, and with C at work.

The chapter's searches draw structures at a fixed share of active connections, which for a planted task is the
teacher's density: the search is told K. Here the share is searched instead: the subsample route (the vote at the
main point) runs at the hint's share times each of ``factors``, each vote is trained once on the whole data, and
validation quality ``L = error + C K`` picks the share — for every ``C`` of a range, so the page shows what C does
(the paper: "C is tuned separately"). The search over shares costs one route per factor; the tables say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cache import cached
from ..parallel import pmap
from ..subsample.masked import Ledger, fit_score
from ..subsample.meta import predict, subsample_search
from ..subsample.tasks import TaskSpec, make_task
from ..utils import paired_difference

#: multiples of the profile's share that the search tries (1: the hint itself)
FACTORS = (0.5, 1.0, 2.0)
#: the values of C in g(K) = C K whose choice of share the page shows
C_RANGE = (0.0, 1e-4, 1e-3, 1e-2)


def share_seed(spec: TaskSpec, seed: int, cfg, factors=FACTORS) -> list[dict]:
    """The vote at the main point ``(m, k)`` for each share ``factor x cfg.share`` (capped at 1), trained on the whole
    data: one row per factor with the share, K, validation and test error, and the subsample search's object-steps."""
    task = make_task(spec, seed)
    shape = (task.n_features, task.n_features, task.classes)
    m, k = cfg.main
    rows, structs = [], []
    for f in factors:
        share = tuple(min(1.0, f * s) for s in cfg.share)
        ledger = Ledger()
        records = subsample_search(task.x_train, task.y_train, shape, (m,), k, cfg.candidates, share, cfg.C, cfg.fit,
                                   cfg.val_fraction, seed, ledger=ledger)
        z = predict("vote", records, task.x_train, task.y_train, task.classes, share, seed, set_steps=cfg.set_steps)
        structs.append(z)
        rows.append({"task": spec.name, "seed": seed, "factor": f, "share": f"{share[0]:.3g}, {share[1]:.3g}",
                     "K": z.K, "sample_steps": ledger.sample_steps})
    out = fit_score(structs, task.x_train, task.y_train, {"val": (task.x_val, task.y_val),
                                                          "test": (task.x_test, task.y_test)}, cfg.fit, seed=seed + 7919)
    for row, v, t in zip(rows, out["val"], out["test"]):
        row.update(val_error=float(v), test_error=float(t))
    return rows


def _job(job):
    import inspect

    import torch

    spec, seed, cfg, factors, threads = job
    torch.set_num_threads(threads)
    key = {"task": spec, "seed": seed, "design": cfg, "factors": list(factors), "code": inspect.getsource(share_seed)}
    return cached("structure-share", key, lambda: share_seed(spec, seed, cfg, factors))[0]


def share_runs(tasks: list[dict], seeds, cfg, factors=FACTORS, threads: int = 1) -> pd.DataFrame:
    """:func:`share_seed` for every task and seed (cached; tasks of :func:`nasvec.parallel.pmap`): one row per task,
    seed and factor."""
    jobs = [(TaskSpec.from_dict(t), s, cfg, tuple(factors), threads) for t in tasks for s in seeds]
    rows = pmap(_job, jobs, desc="share searched, task x seed", cpus_per_task=threads)
    return pd.DataFrame([r for rs in rows for r in rs])


def share_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per task and share: mean K, validation and test error over the seeds."""
    return runs.groupby(["task", "factor", "share"], sort=False)[["K", "val_error", "test_error"]].mean().reset_index()


def by_c(runs: pd.DataFrame, c_range=C_RANGE) -> pd.DataFrame:
    """For each task and C: the share validation quality ``error + C K`` picks per seed, the test error of the picks
    against the hint's (factor 1), paired over the seeds."""
    rows = []
    for task, d in runs.groupby("task", sort=False):
        hint = d[d.factor == 1.0].set_index("seed").test_error
        for c in c_range:
            q = d.assign(quality=d.val_error + c * d.K)
            picked = q.loc[q.groupby("seed").quality.idxmin()].set_index("seed")
            mean, se, word = paired_difference((picked.test_error - hint.reindex(picked.index)).to_numpy())
            rows.append({"task": task, "C": c, "factors picked": ", ".join(f"{f:g}" for f in picked.factor),
                         "test error": picked.test_error.mean(), "hint's test error": hint.mean(),
                         "difference": mean, "se": se, "against the hint": word})
    return pd.DataFrame(rows)


def share_line(table: pd.DataFrame, c: float, cost_factor: int) -> str:
    """What searching the share (instead of being told it) does to the test error, per task, at ``c`` (a row of
    :func:`by_c` per task for that C)."""
    parts = []
    for _, r in table[np.isclose(table.C, c)].iterrows():
        hint = r["hint's test error"]
        verdict = "a tie" if r["against the hint"] == "tie" else f"{r['against the hint']} error than the hint"
        parts.append(f"{r.task}: factors {r['factors picked']} → test error {r['test error']:.4f} against the hint's "
                     f"{hint:.4f}, {verdict}")
    return (f"Searching the share by validation costs {cost_factor} subsample routes instead of one. At C = {c:g}, per "
            f"task (the factor picked on each seed → mean test error): " + "; ".join(parts) + ".")
