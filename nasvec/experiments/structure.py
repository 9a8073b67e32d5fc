"""Chapter 6 ("Predicting the structure from subsamples", ``notebooks/structure.ipynb``): its runs and tables.

One run (:func:`run_seed`, cached) is one task and one seed: the subsample searches at every size
``m`` (``k`` subsamples each), every meta-model at every ``(m, k)``, every competitor on the whole
training set with the subsample route's budget at the main point ``(m*, k*)`` (the whole-data trainings of
every meta-model included: the route picks one by validation), and a random search on the whole data
with as many candidates as one subsample search tried (the run a user would make without subsamples).
Every method's final structure is then trained once more on the whole training set, in one
population with one seed, and scored there: quality ``L`` on the validation set, error on the test set,
F to the planted structure (synthetic) or, on images, to the whole-data search's structure with the lowest
quality after that final training (its row is repeated as the target).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..cache import cached
from ..config import Config, check
from ..parallel import pmap
from ..subsample.competitors import COMPETITORS, run as run_competitor
from ..subsample.masked import FitConfig, Ledger, align, counts, fit_score, mask_penalty, proximity, quality
from ..subsample.meta import META_MODELS, predict, subsample_search
from ..subsample.tasks import TaskSpec, make_task
from ..stats import paired_difference
from ..subsample import competitors as competitors_module, masked as masked_module, meta as meta_module, \
    tasks as tasks_module

#: the method's modules and :func:`run_seed`: their source is part of every run's cache key
_CODE = [masked_module, tasks_module, meta_module, competitors_module]
REFERENCE_RS = "random search (N candidates)"   # the whole-data search a user would run without subsamples
ROUTE = "subsample route (picked by validation)"   # the meta-model of lowest validation quality, per seed


@dataclass(frozen=True)
class StudyConfig(Config):
    """The chapter's design: subsample ``sizes`` and numbers ``ks`` of subsamples (every meta-model at every
    pair), the ``main`` ``(m, k)`` whose cost sets the competitors' budget, ``candidates`` random structures
    per subsample (the paper's random search; also N of the whole-data reference search), the ``share``
    of active connections per layer, ``C`` of ``g(K) = C K``, F's ``alpha`` and ``beta``, the held-out
    ``val_fraction`` of each subsample, the set encoder's training ``set_steps``, and ``fit``: how every
    network is trained (:class:`~nasvec.subsample.masked.FitConfig`)."""

    sizes: tuple = (50, 100, 200, 400)
    ks: tuple = (1, 2, 4, 8)
    main: tuple = (200, 8)
    candidates: int = 64
    share: tuple = (0.06, 0.33)
    C: float = 1e-3
    alpha: float = 0.01
    beta: float = 0.005
    val_fraction: float = 0.25
    set_steps: int = 300
    fit: FitConfig = field(default_factory=FitConfig)

    def __post_init__(self):
        for name in ("sizes", "ks", "main", "share"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        check(len(self.main) == 2 and self.main[0] in self.sizes and self.main[1] in self.ks,
              f"StudyConfig: main (m, k) = {self.main} must pick one of sizes {self.sizes} and one of ks {self.ks}")
        check(self.alpha >= 0 and self.beta >= 0 and self.C >= 0, "StudyConfig: alpha, beta and C must be >= 0")
        check(self.candidates >= 1 and 0 < self.val_fraction < 1, "StudyConfig: candidates >= 1, 0 < val_fraction < 1")


def _held_out(cfg: StudyConfig, m: int) -> int:
    return max(2, int(round(cfg.val_fraction * m)))


def run_seed(spec: TaskSpec, seed: int, cfg: StudyConfig) -> dict:
    """One task and seed (see the module's docstring): ``{"rows": [...], "masks": {...}, "budget": B, ...}``."""
    task = make_task(spec, seed)
    shape = (task.n_features, task.n_features, task.classes)
    steps, n_full = cfg.fit.steps, len(task.x_train)
    sub = Ledger()
    records = subsample_search(task.x_train, task.y_train, shape, cfg.sizes, max(cfg.ks), cfg.candidates, cfg.share,
                               cfg.C, cfg.fit, cfg.val_fraction, seed, ledger=sub)
    final, rows = [], []      # final: structures trained once more on the whole data; rows: what they belong to
    for m in cfg.sizes:
        for k in cfg.ks:
            for meta in META_MODELS:
                use = [r for r in records if (r["m"] <= m if meta == "extrapolate" else r["m"] == m) and r["j"] < k]
                own = Ledger()
                z = predict(meta, use, task.x_train, task.y_train, task.classes, cfg.share, seed,
                            set_steps=cfg.set_steps, ledger=own)
                ss = sum(cfg.candidates * (r["m"] - _held_out(cfg, r["m"])) * steps for r in use)
                cpu = sub.cpu_s * ss / max(1, sub.sample_steps) + own.cpu_s
                rows.append({"method": meta, "family": "subsamples", "m": m, "k": k,
                             "trainings": cfg.candidates * len(use) + 1, "sample_steps": ss + n_full * steps,
                             "cpu_s": cpu})
                final.append(z)
    main_ss = next(r["sample_steps"] for r in rows if r["method"] == "vote" and (r["m"], r["k"]) == tuple(cfg.main))
    # the route picks its meta-model by validation, which trains every meta-model's structure on the whole data: the
    # competitors get the route's compute, those trainings included (>= 3: magnitude pruning needs 2 + the final one)
    budget = max(3, math.ceil((main_ss + (len(META_MODELS) - 1) * n_full * steps) / (n_full * steps)))
    found = {}
    for name in COMPETITORS + (REFERENCE_RS,):
        b = cfg.candidates if name == REFERENCE_RS else budget - 1   # the last training is the final one
        f = run_competitor("random search" if name == REFERENCE_RS else name, task, b, cfg.share, cfg.C, cfg.fit, seed)
        found[name] = f
        rows.append({"method": name, "family": "whole data", "m": n_full, "k": 1,
                     "trainings": f.ledger.trainings + 1, "sample_steps": f.ledger.sample_steps + n_full * steps,
                     "cpu_s": f.ledger.cpu_s})
        final.append(f.z)
    ev = Ledger()
    extra = [task.planted] if task.planted is not None else []
    out = fit_score(final + extra, task.x_train, task.y_train,
                    {"val": (task.x_val, task.y_val), "test": (task.x_test, task.y_test)}, cfg.fit,
                    seed=seed + 7919, ledger=ev)
    q = quality(out["val"], [z.K for z in final + extra], cfg.C)
    if task.planted is not None:
        t, target_name = len(final), "planted"
    else:   # the whole-data search's structure with the lowest quality after the final training
        t, target_name = min((i for i, r in enumerate(rows) if r["family"] == "whole data"), key=lambda i: q[i]), \
            "best whole-data structure"
    target, q_target = (final + extra)[t], float(q[t])
    share = ev.cpu_s / len(final + extra)
    for i, (row, z) in enumerate(zip(rows, final)):
        row["cpu_s"] += share
        row.update(task=spec.name, seed=seed, K=z.K, val_error=float(out["val"][i]), test_error=float(out["test"][i]),
                   quality=float(q[i]), F_paper=proximity(z, target, q[i], q_target, cfg.alpha, cfg.beta),
                   F_aligned=proximity(align(z, target), target, q[i], q_target, cfg.alpha, cfg.beta),
                   full_equiv=row["sample_steps"] / (n_full * steps))
    rows.append({"method": target_name, "family": "target", "m": n_full, "k": 1, "trainings": 1,
                 "sample_steps": n_full * steps, "cpu_s": share, "task": spec.name,
                 "seed": seed, "K": target.K, "val_error": float(out["val"][t]), "test_error": float(out["test"][t]),
                 "quality": q_target, "F_paper": 0.0, "F_aligned": 0.0, "full_equiv": 1.0})
    rng = np.random.default_rng([seed, 6040])
    shuffled = target.permute_hidden(rng.permutation(shape[1]))
    main = {r["method"]: z for r, z in zip(rows, final) if r["family"] == "whole data" or
            (r["m"], r["k"]) == tuple(cfg.main)}
    return {"rows": rows, "budget": budget, "target": target, "target_name": target_name,
            "masks": {name: align(z, target) for name, z in main.items()},
            "permuted_penalty": mask_penalty(shuffled, target, cfg.alpha, cfg.beta),
            "permuted_aligned": mask_penalty(align(shuffled, target), target, cfg.alpha, cfg.beta),
            "source": task.source,
            "n_train": n_full, "shape": shape, "K_search": sum(counts(shape, cfg.share))}


def _run_job(job) -> dict:
    """One task x seed run (cached), on ``threads`` torch threads: a task of :func:`nasvec.parallel.pmap`."""
    import torch

    spec, seed, cfg, threads = job
    torch.set_num_threads(threads)
    code = _CODE + [inspect.getsource(run_seed), inspect.getsource(_held_out)]
    value, loaded = cached("structure-run", {"task": spec, "seed": seed, "design": cfg, "code": code},
                           lambda: run_seed(spec, seed, cfg))
    return {**value, "from_cache": loaded}


def run_all(tasks: list[dict], seeds, cfg: StudyConfig, threads: int = 1, backend: str | None = None,
            workers: int | None = None) -> dict:
    """Every task for every seed, each run cached under its task, seed, design and the method's code:
    ``{task name: [runs]}``. The runs are independent tasks of :func:`nasvec.parallel.pmap` (serial, or on Ray
    with ``backend="ray"`` / ``nasvec book --backend ray``); each uses ``threads`` torch threads wherever it runs,
    so the results do not depend on the backend."""
    jobs = [(TaskSpec.from_dict(t), s, cfg, threads) for t in tasks for s in seeds]
    runs = pmap(_run_job, jobs, backend=backend, workers=workers, desc="task x seed", cpus_per_task=threads)
    out = {}
    for (spec, *_), run in zip(jobs, runs):
        out.setdefault(spec.name, []).append(run)
    return out


def tasks_table(tasks: list[dict]) -> pd.DataFrame:
    """The chapter's tasks: source, classes, features and split sizes."""
    rows = []
    for t in tasks:
        s = TaskSpec.from_dict(t)
        classes = (f"{s.n_classes} (teacher)" if s.source == "planted" else
                   f"{s.classes[0]} vs {s.classes[1]}" if s.classes else "all")
        rows.append({"task": s.name, "source": s.source, "classes": classes, "features": s.features,
                     "train": s.n_train, "validation": s.n_val, "test": s.n_test})
    return pd.DataFrame(rows)


def design_table(runs: dict) -> pd.DataFrame:
    """Per task: data, network shape, K of the search's share, the target, and the competitors' budget."""
    return pd.DataFrame([{"task": name, "data": rs[0]["source"], "network (n-h-c)": "-".join(map(str, rs[0]["shape"])),
                          "K of the search's share": rs[0]["K_search"], "target": rs[0]["target_name"],
                          "mean K of target": f"{np.mean([r['target'].K for r in rs]):.1f}",
                          "budget (whole-data trainings, the route's)": rs[0]["budget"]} for name, rs in runs.items()])


def provenance(runs: dict, cfg: StudyConfig) -> pd.DataFrame:
    """What produced the runs: per task, the seeds, how many runs came from the cache, and the design."""
    return pd.DataFrame([{"task": name, "seeds": ", ".join(str(r["rows"][0]["seed"]) for r in rs),
                          "runs from cache": sum(r["from_cache"] for r in rs),
                          "training": f"{cfg.fit.steps} full-batch Adam steps, lr {cfg.fit.lr:g}",
                          "design": cfg.describe()} for name, rs in runs.items()])


def frame(runs: dict) -> pd.DataFrame:
    """Every row of every run: task, seed, method, family, m, k, K, errors, quality, F, trainings, cost."""
    return pd.DataFrame([r for rs in runs.values() for run in rs for r in run["rows"]])


def route_rows(df: pd.DataFrame, main) -> pd.DataFrame:
    """The subsample route as a method of its own, one row per task and seed: the meta-model of lowest validation
    quality at the main point on that seed (:func:`picked_per_seed`), charged the whole-data trainings of the
    meta-models it did not choose (choosing by validation trains them all): compute, trainings and CPU seconds (one
    final training's seconds, the target row's, per meta-model not chosen)."""
    m, k = main
    out = []
    for task, d in df.groupby("task", sort=False):
        at = d[(d.family == "subsamples") & (d.m == m) & (d.k == k)]
        metas = [x for x in META_MODELS if x in set(at.method)]
        picks, _ = picked_per_seed(at, metas)
        final_s = d[d.family == "target"].set_index("seed").cpu_s
        for seed, meta in picks.items():
            row = at[(at.seed == seed) & (at.method == meta)].iloc[0].to_dict()
            extra = len(metas) - 1
            row.update(method=ROUTE, family="route", picked=meta, full_equiv=row["full_equiv"] + extra,
                       trainings=row["trainings"] + extra, cpu_s=row["cpu_s"] + extra * final_s.get(seed, 0.0))
            out.append(row)
    return pd.DataFrame(out)


def _at_main(df: pd.DataFrame, main) -> pd.DataFrame:
    """The rows at the main point, every whole-data method and the subsample route (:func:`route_rows`)."""
    m, k = main
    return pd.concat([df[(df.family != "subsamples") | ((df.m == m) & (df.k == k))], route_rows(df, main)],
                     ignore_index=True)


def summary(df: pd.DataFrame, main) -> pd.DataFrame:
    """At the main point (and every whole-data method, and the subsample route): mean and sd over seeds per task and
    method."""
    pick = _at_main(df, main)
    g = pick.groupby(["task", "family", "method"], sort=False)
    out = g.agg(seeds=("seed", "nunique"), test_error=("test_error", "mean"), test_error_sd=("test_error", "std"),
                K=("K", "mean"), quality=("quality", "mean"), F_paper=("F_paper", "mean"),
                F_aligned=("F_aligned", "mean"), F_aligned_sd=("F_aligned", "std"), trainings=("trainings", "mean"),
                full_equiv=("full_equiv", "mean")).reset_index()
    return out


def summary_page(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as a page shows it: mean ± sd in one cell, K and compute rounded."""
    pm = lambda m, s: f"{m:.4f} ± {0.0 if pd.isna(s) else s:.4f}"
    return pd.DataFrame({"task": summary.task, "method": summary.method,
                         "test error": [pm(m, s) for m, s in zip(summary.test_error, summary.test_error_sd)],
                         "K": summary.K.map(lambda v: f"{v:.1f}"), "L (validation)": summary.quality.map(lambda v: f"{v:.4f}"),
                         "F (paper)": summary.F_paper.map(lambda v: f"{v:.3f}"),
                         "F aligned": [f"{m:.3f} ± {0.0 if pd.isna(s) else s:.3f}"
                                       for m, s in zip(summary.F_aligned, summary.F_aligned_sd)],
                         "compute (whole-data trainings)": summary.full_equiv.map(lambda v: f"{v:.1f}")})


def timing(df: pd.DataFrame, main) -> pd.DataFrame:
    """CPU seconds per method (rows) and task (columns), mean over seeds at the main point; machine-dependent."""
    pick = _at_main(df, main)
    out = pick.groupby(["method", "task"], sort=False).cpu_s.mean().unstack("task")
    out = out.loc[[m for m in dict.fromkeys(pick.method) if m in out.index and m not in ("planted", "best whole-data structure")]]
    return out[list(dict.fromkeys(pick.task))].reset_index()


def sweep(df: pd.DataFrame) -> pd.DataFrame:
    """The meta-models over subsample size and number: mean and sd of test error and F per task."""
    sub = df[df.family == "subsamples"]
    return (sub.groupby(["task", "method", "m", "k"], sort=False)
            .agg(test_error=("test_error", "mean"), test_error_sd=("test_error", "std"),
                 F_aligned=("F_aligned", "mean"), F_aligned_sd=("F_aligned", "std"),
                 full_equiv=("full_equiv", "mean")).reset_index())


def permutation_table(runs: dict) -> pd.DataFrame:
    """F (as the paper defines it) between the target structure and a copy with its hidden neurons
    reordered (the same function): what the paper's F charges for an isomorphic copy."""
    rows = []
    for name, rs in runs.items():
        rows.append({"task": name, "target": rs[0]["target_name"], "K of target": float(np.mean([r["target"].K for r in rs])),
                     "F(Z, permuted Z), paper": float(np.mean([r["permuted_penalty"] for r in rs])),
                     "F aligned (ours)": float(np.mean([r["permuted_aligned"] for r in rs]))})
    return pd.DataFrame(rows)


def _route(word: str) -> str:
    return {"lower": "better (lower test error, over 2 standard errors)", "higher": "worse (higher test error, over 2 "
            "standard errors)", "tie": "a tie (the paired difference is within 2 standard errors)"}[word]


def picked_per_seed(at: pd.DataFrame, candidates) -> tuple[pd.Series, pd.Series]:
    """Per seed, the method among ``candidates`` of lowest validation quality on that seed, and its test error: what
    one run can pick (the other seeds' validation does not enter). Returns ``(picks, test errors)`` by seed."""
    rows = at[at.method.isin(candidates)].copy()
    rows["order"] = rows.method.map({x: i for i, x in enumerate(candidates)})
    best = rows.sort_values(["seed", "quality", "order"]).groupby("seed").head(1).set_index("seed")
    return best.method, best.test_error


def verdict(df: pd.DataFrame, runs: dict, main) -> str:
    """The chapter's verdict, one paragraph per task, computed from the rows: the subsample route (:func:`route_rows`:
    the meta-model of lowest validation quality on each seed, charged for choosing) paired with the competitors over
    the same seeds; a difference counts when it exceeds 2 standard errors (else a tie)."""
    m, k = main
    routes = route_rows(df, main)
    out = []
    for task, d in df.groupby("task", sort=False):
        at = d[(d.family != "subsamples") | ((d.m == m) & (d.k == k))]
        piv = at.pivot_table(index="seed", columns="method", values="test_error")
        r = routes[routes.task == task].set_index("seed")
        route, cost = r.test_error, r.full_equiv.mean()
        vs_rs = paired_difference(route - piv["random search"].reindex(route.index))
        vs_n = paired_difference(route - piv[REFERENCE_RS].reindex(route.index))
        cost_n = at[at.method == REFERENCE_RS].full_equiv.mean()
        F = at.groupby("method").F_aligned.mean()
        counts = r.picked.value_counts()
        chosen = ", ".join(f"*{x}* on {n}" for x, n in counts.items())
        out.append(
            f"**{task}.** From k = {k} subsamples of m = {m} objects the meta-model of lowest validation quality on "
            f"each seed ({chosen} of {len(r)} seeds) reaches a test error of {route.mean():.4f} (sd "
            f"{route.std(ddof=1):.4f}) for {cost:.1f} whole-data trainings' worth of compute (the whole-data "
            f"trainings of the meta-models not chosen included); random search on the whole data with the route's "
            f"budget ({runs[task][0]['budget']} trainings) reaches {piv['random search'].mean():.4f}: the subsample "
            f"route is {_route(vs_rs.word)}, {vs_rs.mean:+.4f} ± {vs_rs.se:.4f} (paired mean difference ± standard "
            f"error over {vs_rs.n} seeds). Against the whole-data random search with N candidates ({cost_n:.1f} "
            f"whole-data trainings' worth of compute, {cost_n / cost:.1f}x the subsample route's {cost:.1f}) it is "
            f"{_route(vs_n.word)}, {vs_n.mean:+.4f} ± {vs_n.se:.4f} over {vs_n.n} seeds. Aligned F to the "
            f"{runs[task][0]['target_name']}: {counts.index[0]} {F[counts.index[0]]:.3f}, random search "
            f"{F['random search']:.3f}, evolution {F['evolution']:.3f}, magnitude pruning "
            f"{F['magnitude pruning']:.3f}.")
    out.append(_overall(df, main))
    return "\n\n".join(out)


def _overall(df: pd.DataFrame, main) -> str:
    """One line over the tasks: the subsample route against random search with the route's budget and against the
    whole-data method of lowest validation quality (both picked per seed, as in :func:`verdict`)."""
    m, k = main
    at = df[(df.family != "subsamples") | ((df.m == m) & (df.k == k))]
    rs, whole_best, names, learned = [], [], [], []
    for task, d in at.groupby("task", sort=False):
        piv = d.pivot_table(index="seed", columns="method", values="test_error")
        _, route = picked_per_seed(d, [x for x in META_MODELS if x in piv])
        picks, whole = picked_per_seed(d, [x for x in COMPETITORS if x in piv])
        rs.append(paired_difference(route - piv["random search"].reindex(route.index)).word)
        whole_best.append(paired_difference(route - whole.reindex(route.index)).word)
        names += list(picks)
        learned.append(paired_difference(piv["set encoder"] - piv["vote"]).word)

    def count(words):
        return ", ".join(f"{label} on {words.count(w)}" for w, label in (("lower", "lower"), ("higher", "higher"),
                                                                          ("tie", "a tie")))

    n = len(rs)
    return (f"**Over the {n} tasks** (paired over the seeds; a difference counts when it exceeds 2 standard errors), "
            f"the subsample route's test error against random search with the route's budget is {count(rs)}; "
            f"against the whole-data method of lowest validation quality ({', '.join(sorted(set(names)))}) it is "
            f"{count(whole_best)}. The learned set encoder's test error against the plain vote's is {count(learned)}.")


def hint_line(runs: dict) -> str:
    """What the search is told: the share of active connections it draws at, against the target's density (for a
    planted task the teacher's: the search is given its density, a hint the paper's method has to find otherwise)."""
    parts = []
    for name, rs in runs.items():
        k_target = float(np.mean([r["target"].K for r in rs]))
        parts.append(f"{name} {rs[0]['K_search']} against {k_target:.1f} ({rs[0]['target_name']})")
    return ("Every search draws its structures with the profile's fixed share of active connections, so its K is "
            "given, not found: K of the search against the target's mean K, per task: " + "; ".join(parts) + ". "
            "For a planted task the target is the teacher, so the share tells the search the teacher's density.")
