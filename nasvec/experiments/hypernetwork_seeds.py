"""Chapter 5 ("Complexity-controlled search with a hypernetwork") across seeds: the search, A-D and the family
repeated for every seed of the profile, and the tables and the sentence that show their spread.

The searches and trainings are independent tasks of :func:`nasvec.parallel.pmap` (serial, or on Ray), each
cached as a serial run would be (:meth:`~nasvec.experiments.hypernetwork.Study.run_search`,
:meth:`~nasvec.experiments.hypernetwork.Study.train_one`).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import torch

from ..cache import fingerprint
from ..parallel import pmap
from ..dnas.cells import edge_params
from .hypernetwork import PAPER, PAPER_COLUMNS, POINTS, Study, train_task, describe


def search_task(seed: int, study: Study):
    """The hypernetwork search of ``study`` with ``seed`` (cached): a task of :func:`nasvec.parallel.pmap`."""
    torch.set_num_threads(study.threads)
    _, result, loaded = study.for_seed(seed).run_search(progress=False)
    return result, loaded


def across_seeds(study: Study, seeds, grid, threads: int = 1, backend: str | None = None,
                 workers: int | None = None) -> list[dict]:
    """For each seed: the hypernetwork search with that seed, A-D and the ``grid``'s architectures derived
    from it, each trained from scratch with that seed. Searches and trainings are independent tasks of
    :func:`nasvec.parallel.pmap` (serial, or Ray), each on ``threads`` torch threads and cached as a serial
    run would be. One dict per seed: ``seed``, ``search`` (result, from_cache), ``ad`` and ``grid``
    (lists of ``(genotype, result)``)."""
    seeds = [int(s) for s in seeds]
    base = study.slim()
    base.threads = threads
    studies = [study.for_seed(s) for s in seeds]
    searched = pmap(partial(search_task, study=base), seeds, backend=backend, workers=workers,
                    desc="hypernetwork searches, one per seed", cpus_per_task=threads)
    points = [np.asarray(p, dtype=np.float64) for p in POINTS.values()] + list(np.asarray(grid, dtype=np.float64))
    genos = [st.family(st.arch_from(r), points) for st, (r, _) in zip(studies, searched)]
    jobs = list(dict.fromkeys((i, g) for i, gs in enumerate(genos) for g in gs))
    trained = pmap(partial(train_task, study=base), [(seeds[i], g) for i, g in jobs], backend=backend,
                   workers=workers, desc="from-scratch trainings, all seeds", cpus_per_task=threads)
    done = {job: {**res, "from_cache": loaded} for job, (res, loaded) in zip(jobs, trained)}
    out = []
    for i, (st, gs) in enumerate(zip(studies, genos)):
        pairs = [(g, done[(i, g)]) for g in gs]
        out.append({"seed": st.search_cfg.seed, "search": searched[i], "ad": pairs[:len(POINTS)],
                    "grid": pairs[len(POINTS):]})
    return out


def slides_spread(runs: list[dict], slides_ops: bool, net=None) -> pd.DataFrame:
    """A-D over seeds: mean and sd of test accuracy, parameters (of the whole network, and with ``net`` of the ops on
    the edges, the slides' count) and op counts, and how many distinct architectures the seeds derived at each
    point, beside the slides' numbers."""
    rows = []
    for j, name in enumerate(POINTS):
        per = pd.DataFrame([{**describe(*r["ad"][j]), **({"edge params": edge_params(r["ad"][j][0], net.channels,
                                                                                      net.layers)} if net else {})}
                            for r in runs])
        row = {"arch": name, "seeds": len(runs), "distinct architectures": len({r["ad"][j][0] for r in runs})}
        for col in ("accuracy %", "params", "edge params", "pool", "conv", "identity"):
            if col not in per:
                continue
            row[f"{col} mean"] = per[col].mean()
            row[f"{col} sd"] = per[col].std(ddof=1) if len(per) > 1 else 0.0
        if slides_ops:
            row.update(dict(zip(PAPER_COLUMNS, PAPER[name])))
        rows.append(row)
    return pd.DataFrame(rows)


def slides_spread_page(ad: pd.DataFrame) -> pd.DataFrame:
    """:func:`slides_spread` as a page shows it: mean ± sd in one cell per quantity, the slides' number (when the
    ops are the slides') in brackets after it."""
    counted = "edge params" if "edge params mean" in ad else "params"   # the count the slides' number is beside
    paper = dict(zip(("accuracy %", counted, "pool", "conv", "identity"), PAPER_COLUMNS))
    out = pd.DataFrame({"arch": ad.arch, "distinct architectures": ad["distinct architectures"]})
    for col, fmt in (("accuracy %", ".2f"), ("params", ",.0f"), ("edge params", ",.0f"), ("pool", ".1f"),
                     ("conv", ".1f"), ("identity", ".1f")):
        if f"{col} mean" not in ad:
            continue
        cells = [f"{m:{fmt}} ± {s:{fmt}}" for m, s in zip(ad[f"{col} mean"], ad[f"{col} sd"])]
        if col in paper and paper[col] in ad:
            cells = [f"{c} ({p:{',' if col == counted else ''}g})" for c, p in zip(cells, ad[paper[col]])]
        out[col] = cells
    return out


def family_spread(runs: list[dict], grid, ops) -> pd.DataFrame:
    """The family for every seed: one row per grid point and seed (``s``, accuracy, parameters, op counts, and a
    short hash of the architecture)."""
    return pd.DataFrame([{"seed": r["seed"], "point": k, **{f"s_{o}": v for o, v in zip(ops, p)}, **describe(g, res),
                          "architecture": fingerprint(g.to_dict(), length=8)}
                         for r in runs for k, (p, (g, res)) in enumerate(zip(grid, r["grid"]))])


def spread_line(ad: pd.DataFrame, fam: pd.DataFrame) -> str:
    """One sentence on the spread across seeds, computed from :func:`slides_spread` and :func:`family_spread`."""
    n = int(ad.seeds.iloc[0])
    if n < 2:
        return "One seed: no spread to report (the profile's seeds list has one entry)"
    agree = int((fam.groupby("point").architecture.nunique() == 1).sum())
    sd = fam.groupby("point")["accuracy %"].std(ddof=1)
    return (f"Across {n} seeds: A-D test accuracy sd {ad['accuracy % sd'].min():.2f}-{ad['accuracy % sd'].max():.2f} "
            f"points, and the seeds derive {', '.join(str(int(v)) for v in ad['distinct architectures'])} distinct "
            f"architectures at A-D; on the family's grid they agree on the architecture at {agree} of {len(sd)} points, "
            f"and the accuracy sd per point has median {sd.median():.2f} points (max {sd.max():.2f})")
