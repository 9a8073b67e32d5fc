"""Chapter 6 ("Predicting the structure from subsamples") without the share hint, and with C at work.

The chapter's searches draw structures at a fixed share of active connections, which for a planted task is the
teacher's density: the search is told K. Here the share is searched instead, on a grid fixed in advance for every
task (:data:`GRID`, the same share in both layers: no task's hint is on it): the subsample route (the vote at the main
point) runs at each share of the grid, each vote is trained once on the whole data, and validation quality
``L = error + C K`` picks the share — for every ``C`` of a range, so the page shows what C does (the paper: "C is
tuned separately"). The route at the hint's share runs beside them, for the comparison only (it is never picked).
The search over shares costs one route per share of the grid; the tables say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cache import cached
from ..parallel import pmap
from ..subsample.masked import Ledger, fit_score
from ..subsample.meta import predict, subsample_search
from ..subsample.tasks import TaskSpec, make_task
from ..stats import paired_difference

#: the shares of active connections the search tries, the same in both layers, fixed for every task
GRID = (0.05, 0.1, 0.2, 0.4, 0.8)
#: the values of C in g(K) = C K whose choice of share the page shows
C_RANGE = (0.0, 1e-4, 1e-3, 1e-2)


def share_seed(spec: TaskSpec, seed: int, cfg, grid=GRID) -> list[dict]:
    """The vote at the main point ``(m, k)`` at each share of ``grid`` (both layers) and at the profile's share (the
    hint, ``hint`` True), trained on the whole data: one row per share with K, validation and test error, and the
    subsample search's object-steps."""
    task = make_task(spec, seed)
    shape = (task.n_features, task.n_features, task.classes)
    m, k = cfg.main
    shares = [(float(g), float(g)) for g in grid] + [tuple(cfg.share)]
    rows, structs = [], []
    for i, share in enumerate(shares):
        ledger = Ledger()
        records = subsample_search(task.x_train, task.y_train, shape, (m,), k, cfg.candidates, share, cfg.C, cfg.fit,
                                   cfg.val_fraction, seed, ledger=ledger)
        z = predict("vote", records, task.x_train, task.y_train, task.classes, share, seed, set_steps=cfg.set_steps)
        structs.append(z)
        hint = i == len(grid)
        rows.append({"task": spec.name, "seed": seed, "hint": hint, "grid share": np.nan if hint else share[0],
                     "share": f"{share[0]:.3g}, {share[1]:.3g}" + (" (hint)" if hint else ""),
                     "K": z.K, "sample_steps": ledger.sample_steps})
    out = fit_score(structs, task.x_train, task.y_train, {"val": (task.x_val, task.y_val),
                                                          "test": (task.x_test, task.y_test)}, cfg.fit, seed=seed + 7919)
    for row, v, t in zip(rows, out["val"], out["test"]):
        row.update(val_error=float(v), test_error=float(t))
    return rows


def _job(job):
    import inspect

    import torch

    spec, seed, cfg, grid, threads = job
    torch.set_num_threads(threads)
    key = {"task": spec, "seed": seed, "design": cfg, "grid": list(grid), "code": inspect.getsource(share_seed)}
    return cached("structure-share", key, lambda: share_seed(spec, seed, cfg, grid))[0]


def share_runs(tasks: list[dict], seeds, cfg, grid=GRID, threads: int = 1) -> pd.DataFrame:
    """:func:`share_seed` for every task and seed (cached; tasks of :func:`nasvec.parallel.pmap`): one row per task,
    seed and share."""
    jobs = [(TaskSpec.from_dict(t), s, cfg, tuple(grid), threads) for t in tasks for s in seeds]
    rows = pmap(_job, jobs, desc="share searched, task x seed", cpus_per_task=threads)
    return pd.DataFrame([r for rs in rows for r in rs])


def share_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per task and share: mean K, validation and test error over the seeds."""
    return runs.groupby(["task", "share"], sort=False)[["K", "val_error", "test_error"]].mean().reset_index()


def by_c(runs: pd.DataFrame, c_range=C_RANGE) -> pd.DataFrame:
    """For each task and C: the share of the grid that validation quality ``error + C K`` picks per seed, the test
    error of the picks against the hint's, paired over the seeds."""
    rows = []
    for task, d in runs.groupby("task", sort=False):
        hint, grid = d[d.hint].set_index("seed").test_error, d[~d.hint]
        for c in c_range:
            q = grid.assign(quality=grid.val_error + c * grid.K)
            picked = q.loc[q.groupby("seed").quality.idxmin()].set_index("seed")
            p = paired_difference(picked.test_error - hint.reindex(picked.index))
            rows.append({"task": task, "C": c, "shares picked": ", ".join(f"{g:g}" for g in picked["grid share"]),
                         "test error": picked.test_error.mean(), "hint's test error": hint.mean(),
                         "difference": p.mean, "se": p.se, "against the hint": p.word})
    return pd.DataFrame(rows)


def share_line(table: pd.DataFrame, c: float, grid_size: int) -> str:
    """What searching the share (instead of being told it) does to the test error, per task, at ``c`` (a row of
    :func:`by_c` per task for that C)."""
    parts = []
    for _, r in table[np.isclose(table.C, c)].iterrows():
        hint = r["hint's test error"]
        verdict = "a tie" if r["against the hint"] == "tie" else f"{r['against the hint']} error than the hint"
        parts.append(f"{r.task}: shares {r['shares picked']} → test error {r['test error']:.4f} against the hint's "
                     f"{hint:.4f}, {verdict}")
    return (f"Searching the share by validation costs {grid_size} subsample routes instead of one. At C = {c:g}, per "
            f"task (the share picked on each seed → mean test error): " + "; ".join(parts) + ".")
