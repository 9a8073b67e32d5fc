"""Chapter 5 ("Complexity-controlled search with a hypernetwork", ``notebooks/hypernetwork.ipynb``):
its cached runs and tables.

A :class:`Study` holds the chapter's images and its three configs — the network
(:class:`~nasvec.dnas.NetConfig`), the searches (:class:`~nasvec.dnas.SearchConfig`) and the
from-scratch trainings (:class:`~nasvec.train.TrainConfig`) — and runs searches (hypernetwork or
fixed ``s``) and trainings, each stored with :func:`nasvec.cache.cached` under its full configuration
together with the wall-clock seconds it took when it was computed.
"""

from __future__ import annotations

import copy
import time
from functools import partial

import numpy as np
import pandas as pd
import torch

from ..cache import cached
from ..errors import SearchError
from ..parallel import pmap, resolve as resolve_backend
from ..dnas.cells import Genotype, NetConfig, Network, SuperNet, count_params, derive, edge_params
from ..dnas.hyper import FixedAlpha, HyperNet, SearchConfig, differentiable_search
from ..dnas.latency import activation_bytes, compare_latency, measure_ops, to_simplex
from ..dnas.ops import OP_KIND, SLIDES_OPS
from ..dnas.simplex import check_simplex, default_references
from ..train import TrainConfig, accuracy, fit_classifier, resolve_device

#: the from-scratch training unless a profile says otherwise: Adam, lr 3e-3, torch's cosine annealing
TRAINING = TrainConfig(epochs=10, batch_size=64, lr=3e-3, optimizer="adam", schedule="cosine-annealing")

#: the slides' four complexity vectors s = (pool, identity, conv)
POINTS = {"A": (1 / 3, 1 / 3, 1 / 3), "B": (0.15, 0.15, 0.70), "C": (0.70, 0.15, 0.15), "D": (0.15, 0.70, 0.15)}
#: the slides' table: accuracy %, parameters, pool / conv / identity counts of A-D (Fashion-MNIST)
PAPER = {"A": (82.5, 38304, 12, 6, 10), "B": (79.2, 5120, 17, 0, 11),
         "C": (85.0, 143488, 0, 13, 15), "D": (81.4, 12320, 18, 9, 1)}
PAPER_COLUMNS = ["paper accuracy %", "paper params", "paper pool", "paper conv", "paper identity"]


def make_arch(k: int, cfg: SearchConfig, fixed: bool):
    """The architecture parameters of a search: free logits (fixed ``s``) or the hypernetwork."""
    gen = torch.Generator().manual_seed(cfg.seed)
    if fixed:
        return FixedAlpha(k, generator=gen)
    return HyperNet(k, bandwidth=cfg.bandwidth, learn_ref=cfg.learn_ref, generator=gen)


class Study:
    """Chapter 5's runs on ``images`` with one network, search and training config (all cached).

    ``device``: ``cpu``, ``cuda`` or ``auto`` (:func:`nasvec.train.resolve_device`). A study keeps no results:
    every run returns its own, and the chapter's tables (the functions below the class) take them.
    """

    def __init__(self, images, net: NetConfig, search_cfg: SearchConfig, training: TrainConfig, device: str = "cpu",
                 threads: int = 1):
        self.images, self.net, self.search_cfg, self.training = images, net, search_cfg, training
        self.device = resolve_device(device)
        self.threads = threads   # torch threads of each search and training run through nasvec.parallel

    @property
    def ops(self) -> tuple:
        return self.net.ops

    @property
    def slides_ops(self) -> bool:
        """Whether the ops are one pooling, the identity and one convolution, in the order of the slides'
        ``s = (pool, identity, conv)`` (their 3x3 convolution, or the separable one their counts imply)."""
        return tuple(OP_KIND[o] for o in self.ops) == tuple(OP_KIND[o] for o in SLIDES_OPS)

    @property
    def slides_data(self) -> bool:
        """Whether the images are the slides' (Fashion-MNIST): only then do accuracies compare with theirs."""
        return self.images.spec["data"] == "fashion-mnist"

    # --- runs -----------------------------------------------------------------
    def run_search(self, s=None, progress: bool = True, **changes):
        """One search: the hypernetwork objective (``s=None``) or the fixed-``s`` baseline (``changes``:
        settings that differ from the study's search config). Returns ``(arch, result, from_cache)``."""
        cfg = self.search_cfg.replace(**changes)
        k = len(self.ops)
        s_list = None if s is None else [round(float(v), 6) for v in check_simplex(s, k).tolist()]
        images, net = self.images, self.net

        def compute():
            torch.manual_seed(cfg.seed)
            supernet = SuperNet(net.ops, **net.kwargs(images))
            arch = make_arch(k, cfg, fixed=s is not None)
            start = time.perf_counter()
            history = differentiable_search(
                supernet, arch, images.x_train, images.y_train, cfg.epochs, s=s_list, kappa=cfg.kappa,
                batch_size=cfg.batch_size, lr_w=cfg.lr_w, lr_a=cfg.lr_a, seed=cfg.seed, progress=progress,
                device=self.device, desc="hypernetwork search" if s is None else f"fixed-s search {s_list}")
            return {"arch_state": arch.state_dict(), "history": history, "seconds": time.perf_counter() - start,
                    "supernet_state": {k: v.cpu() for k, v in supernet.state_dict().items()}}

        key = {"data": images.spec, "net": net, "search": cfg, "s": s_list, "stores": "arch and supernet"}
        result, loaded = cached("search-hyper" if s is None else "search-fixed", key, compute)
        arch = make_arch(k, cfg, fixed=s is not None)
        arch.load_state_dict(result["arch_state"])
        return arch, result, loaded

    def for_seed(self, seed: int) -> "Study":
        """The same study with the search's and the trainings' seed set to ``seed`` (the data stay)."""
        return Study(self.images, self.net, self.search_cfg.replace(seed=seed), self.training.replace(seed=seed),
                     self.device, self.threads)

    def slim(self) -> "Study":
        """A copy of this study for the tasks of :func:`nasvec.parallel.pmap` (once per map). A GPU study refuses
        the Ray backend, whose workers are CPU processes."""
        if self.device != "cpu" and resolve_backend()[0] == "ray":
            raise SearchError(f"the Ray backend runs on CPU workers, this study on {self.device!r}: use the serial "
                              "backend on a GPU machine (or device: cpu)")
        return copy.copy(self)

    def arch_from(self, result: dict, s=None, **changes):
        """The architecture parameters a search's ``result`` holds (what :meth:`run_search` returns first)."""
        arch = make_arch(len(self.ops), self.search_cfg.replace(**changes), fixed=s is not None)
        arch.load_state_dict(result["arch_state"])
        return arch

    def train_one(self, genotype: Genotype, progress: bool = True):
        """Train ``genotype`` from scratch; ``(result, from_cache)`` with test accuracy, params, seconds."""
        images, net, cfg = self.images, self.net, self.training

        def compute():
            torch.manual_seed(cfg.seed)
            model = Network(genotype, **net.kwargs(images))
            curves = fit_classifier(model, images, cfg, evaluate=False, device=self.device, progress=progress,
                                    desc="train")
            acc = accuracy(model, images.x_test, images.y_test)
            model.cpu()
            return {"accuracy": acc, "params": count_params(model), "losses": curves["train_loss"],
                    "seconds": curves["seconds"], "state": model.state_dict()}

        key = {"data": images.spec, "net": net, "train": cfg, "genotype": genotype.to_dict()}
        return cached("search-train", key, compute)

    def train(self, genotypes, progress: bool = True) -> list[dict]:
        """Train every distinct genotype of the list once (independent tasks of :func:`nasvec.parallel.pmap`: serial,
        or on Ray); one result per entry (with ``from_cache`` and its ``genotype``)."""
        distinct = list(dict.fromkeys(genotypes))
        out = pmap(partial(train_task, study=self.slim()), [(None, g) for g in distinct],
                   desc="train derived architectures", progress=progress, cpus_per_task=self.threads)
        done = {g: {**res, "from_cache": loaded, "genotype": g} for g, (res, loaded) in zip(distinct, out)}
        return [done[g] for g in genotypes]

    def family(self, arch, points, rule: str = "argmax") -> list[Genotype]:
        """The genotype derived from ``arch(s)`` at each point ``s``."""
        with torch.no_grad():
            return [derive(arch(p), self.ops, rule) for p in np.asarray(points, dtype=np.float64)]

    def build(self, genotype: Genotype, state: dict | None = None) -> Network:
        """The discrete network of ``genotype`` for these images (with trained weights if ``state`` is given)."""
        model = Network(genotype, **self.net.kwargs(self.images))
        if state is not None:
            model.load_state_dict(state)
        return model


# --------------------------------------------------------------------------- the chapter's tables
def settings(study: Study) -> pd.DataFrame:
    """What the runs were: data, ops, cells, search, hypernetwork, training."""
    images, net, cfg, tr = study.images, study.net, study.search_cfg, study.training
    return pd.DataFrame([
        {"setting": "data", "value": f"{images.spec['data']} ({len(images.y_train)} train / {len(images.y_test)} test)"},
        {"setting": "ops (order of s)", "value": ", ".join(net.ops)},
        {"setting": "cells", "value": " → ".join(net.layers) + f", {net.channels} channels, stem stride {net.stem_stride}"},
        {"setting": "search", "value": cfg.describe()},
        {"setting": "hypernetwork", "value": f"m = {len(default_references(len(net.ops)))} fixed reference points, "
                                             f"bandwidth {cfg.bandwidth:g}"},
        {"setting": "from-scratch training", "value": f"{tr.epochs} epochs, {_OPTIMIZER_NAMES[tr.optimizer]} lr "
                                                      f"{sci(tr.lr)} ({tr.schedule.split('-')[0]}), "
                                                      f"batch {tr.batch_size}"},
    ])


def slides_table(study: Study, geno: dict, res: dict) -> pd.DataFrame:
    """A-D: the architecture derived at each of the slides' points, trained, beside the slides' numbers."""
    return pd.DataFrame([{"arch": n, "s (pool, id, conv)": str(tuple(round(v, 2) for v in s)),
                          **describe(geno[n], res[n]),
                          "edge params": edge_params(geno[n], study.net.channels, study.net.layers),
                          **(dict(zip(PAPER_COLUMNS, PAPER[n])) if study.slides_ops else {}),
                          "train epochs": study.training.epochs}
                         for n, s in POINTS.items()])


def slides_table_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`slides_table` as a page shows it: the slides' number in brackets after ours (when the table has them),
    so the comparison fits the page's width."""
    pairs = (("accuracy %", "paper accuracy %", ".2f"), ("edge params", "paper params", ",.0f"),
             ("pool", "paper pool", "d"), ("conv", "paper conv", "d"), ("identity", "paper identity", "d"))
    out = table[["arch", "s (pool, id, conv)"]].copy()
    for ours, theirs, fmt in pairs:
        if theirs in table:
            out[f"{ours} (slides)"] = [f"{a:{fmt}} ({b:{fmt}})" for a, b in zip(table[ours], table[theirs])]
        else:
            out[ours] = [f"{a:{fmt}}" for a in table[ours]]
        if ours == "accuracy %":
            out["params"] = [f"{v:,}" for v in table["params"]]
    return out


def family_table(study: Study, grid, genotypes, results) -> pd.DataFrame:
    """The family over the grid: per point its architecture's counts, accuracy, size, Pareto membership."""
    fam = pd.DataFrame([{**{f"s_{o}": v for o, v in zip(study.ops, p)}, **describe(g, r)}
                        for p, g, r in zip(grid, genotypes, results)])
    fam["pareto"] = pareto_mask(fam.params, fam["accuracy %"])
    fam["train epochs"] = study.training.epochs
    return fam


def comparison(study: Study, geno, res, fixed_geno, fixed_res) -> pd.DataFrame:
    """A-D from the hypernetwork beside A-D from separate fixed-``s`` searches."""
    return pd.DataFrame([{"arch": name, "search": how, **describe(g, r), "search epochs": study.search_cfg.epochs,
                          "train epochs": study.training.epochs}
                         for name in POINTS
                         for how, g, r in (("hypernetwork", geno[name], res[name]),
                                           ("fixed s", fixed_geno[name], fixed_res[name]))])


def bandwidth_counts(study: Study, geno, sharp_geno, fixed_geno, sharp_bandwidth: float) -> pd.DataFrame:
    """Op counts of A-D from the slides' hypernetwork, a sharper one and the fixed-``s`` searches."""
    b = study.search_cfg.bandwidth
    counts = pd.DataFrame([{"arch": n, "search": how, **describe(g)}
                           for n in POINTS for how, g in ((f"hypernetwork, b = {b:g}", geno[n]),
                                                          (f"hypernetwork, b = {sharp_bandwidth:g}", sharp_geno[n]),
                                                          ("fixed s", fixed_geno[n]))])
    counts["search epochs"] = study.search_cfg.epochs
    return counts


def op_costs(study: Study, batch: int, repeats: int, seed: int = 0) -> pd.DataFrame:
    """Each op timed alone at the first cell's channels and resolution, and its memory; normalised to ``s``."""
    side = study.images.shape[1] // study.net.stem_stride
    meas = pd.DataFrame(measure_ops(study.ops, study.net.channels, side, side, batch, repeats=repeats, seed=seed))
    meas["s from latency"] = to_simplex(meas.latency_ms)
    meas["s from memory"] = to_simplex(meas.memory_bytes)
    return meas


def costliest_line(meas: pd.DataFrame) -> str:
    """Which op the measurements of :func:`op_costs` find costliest, by latency and by memory."""
    lat = meas.set_index("op")["latency_ms"]
    mem = meas.set_index("op")["memory_bytes"]
    return (f"Measured on this machine, the costliest op is {lat.idxmax()} by latency ({lat.max():.3g} ms against "
            f"{lat.min():.3g} ms for {lat.idxmin()}) and {mem.idxmax()} by memory.")


def device_table(study: Study, hyper, meas: pd.DataFrame, batch: int, repeats: int,
                 rounds: int) -> tuple[pd.DataFrame, list[dict]]:
    """The architectures the hypernetwork gives for the uniform ``s`` and the measured ones, trained and timed:
    ``(table, the trainings' results)``."""
    candidates = {"A (uniform)": POINTS["A"], "latency s": tuple(meas["s from latency"]),
                  "memory s": tuple(meas["s from memory"])}
    geno = dict(zip(candidates, study.family(hyper, list(candidates.values()))))
    res = dict(zip(candidates, study.train(list(geno.values()))))
    x = torch.as_tensor(study.images.x_test[:batch])
    models = {name: study.build(g, res[name]["state"]) for name, g in geno.items()}
    latency = compare_latency(models, x, repeats, rounds)
    table = pd.DataFrame([{"architecture": name, "s": str(tuple(round(v, 3) for v in s)),
                           "latency ms (batch)": 1e3 * latency[name],
                           "memory MB": activation_bytes(models[name], x) / 2**20, **describe(geno[name], res[name])}
                          for name, s in candidates.items()])
    return table, list(res.values())


def provenance(study: Study, runs: dict, trainings) -> pd.DataFrame:
    """Where every run came from: ``runs`` maps a name to ``(result, from_cache)`` of a search; ``trainings`` lists
    the result lists of :meth:`Study.train` (an architecture trained twice counts once)."""
    trained = {r["genotype"]: r for results in trainings for r in results}
    return pd.DataFrame(
        [{"run": name, "epochs": study.search_cfg.epochs, "from cache": c, "seconds": r["seconds"]}
         for name, (r, c) in runs.items()]
        + [{"run": f"from-scratch trainings ({len(trained)} distinct architectures)",
            "epochs": study.training.epochs, "from cache": all(r["from_cache"] for r in trained.values()),
            "seconds": sum(r["seconds"] for r in trained.values())}])


# --------------------------------------------------------------------------- across seeds (nasvec.parallel)
def train_task(item, study: Study):
    """The from-scratch training of ``item = (seed, genotype)`` (cached; seed ``None``: the study's own): a task
    of :func:`nasvec.parallel.pmap`."""
    seed, genotype = item
    torch.set_num_threads(study.threads)
    return (study if seed is None else study.for_seed(seed)).train_one(genotype, progress=False)


def fixed_task(s, study: Study):
    """One fixed-``s`` search (cached): a task of :func:`nasvec.parallel.pmap`."""
    torch.set_num_threads(study.threads)
    _, result, loaded = study.run_search(s=s, progress=False)
    return result, loaded


def fixed_searches(study: Study, points: dict) -> dict:
    """The fixed-``s`` search at each of ``points`` (name -> s), as independent tasks of
    :func:`nasvec.parallel.pmap`: ``{name: (arch, result, from_cache)}`` like :meth:`Study.run_search`."""
    out = pmap(partial(fixed_task, study=study.slim()), list(points.values()), desc="fixed-s searches",
               cpus_per_task=study.threads)
    return {name: (study.arch_from(r, s=s), r, c) for (name, s), (r, c) in zip(points.items(), out)}


_OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


def sci(x: float) -> str:
    """``0.003`` -> ``3e-3``."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def search_timing(hyper_run, hyper_cached, fixed: dict) -> tuple[pd.DataFrame, str]:
    """Search seconds of the hypernetwork and of each fixed-``s`` search, as multiples of one fixed-``s``
    search (a ``_timing`` table), and the line that sums it up."""
    times = pd.DataFrame([{"run": "hypernetwork (all s)", "search seconds": hyper_run["seconds"], "from cache": hyper_cached}]
                         + [{"run": f"fixed s = {name}", "search seconds": r["seconds"], "from cache": c}
                            for name, (_, r, c) in fixed.items()])
    one_fixed = float(np.mean([r["seconds"] for _, r, _ in fixed.values()]))
    times["× one fixed-s run"] = times["search seconds"] / one_fixed
    line = (f"hypernetwork search = {hyper_run['seconds'] / one_fixed:.2f} × a fixed-s search (mean of {len(fixed)}); "
            f"{len(fixed)} fixed-s searches together = {len(fixed):.0f} ×")
    return times, line


def penalty_effects(searches: dict, epochs: int) -> pd.DataFrame:
    """:func:`penalty_effect` of each search's A-D (``searches``: name -> genotypes by point)."""
    return pd.concat([pd.DataFrame(penalty_effect(gs)).assign(search=how) for how, gs in searches.items()]
                     ).assign(**{"search epochs": epochs})


def findings(effects: pd.DataFrame | None, family: pd.DataFrame, n_grid: int, distinct: int, latency: pd.DataFrame) -> str:
    """The chapter's closing lines, computed from this run's tables."""
    lines = []
    if effects is not None:
        for how, grp in effects.groupby("search", sort=False):
            lines.append(f"{how}: the penalised op is used less in {(grp.fewer == 'yes').sum()} of "
                         f"{(~grp.fewer.str.startswith('n/a')).sum()} cases where A uses it")
    fast = latency.set_index("architecture")["latency ms (batch)"]
    lines.append(f"latency-derived architecture: {fast['latency s'] / fast['A (uniform)']:.2f} × the latency of A "
                 f"(measured in this run)")
    lines.append(f"family: {distinct} distinct architectures on {n_grid} grid points, "
                 f"{family.params.min():,}–{family.params.max():,} parameters, accuracy "
                 f"{family['accuracy %'].min():.1f}–{family['accuracy %'].max():.1f} %")
    return "\n".join(lines)


# --------------------------------------------------------------------------- counting and comparing architectures
def describe(genotype: Genotype, result: dict | None = None) -> dict:
    """One table row: test accuracy %, parameters (when trained) and pool / conv / identity counts."""
    row = {}
    if result is not None:
        row = {"accuracy %": 100 * result["accuracy"], "params": result["params"]}
    counts = genotype.kind_counts()
    row.update({k: counts[k] for k in ("pool", "conv", "identity")})
    if counts["none"]:
        row["none"] = counts["none"]
    return row


def penalty_effect(genotypes: dict, base: str = "A", raised: dict | None = None) -> list[dict]:
    """For each ``name -> kind`` in ``raised``: the count of that op kind at ``base`` and at ``name``.

    ``fewer`` is ``"yes"`` / ``"no"``, or ``"n/a ..."`` when ``base`` does not use the op at all.
    """
    raised = raised or {"B": "conv", "C": "pool", "D": "identity"}
    out = []
    for name, kind in raised.items():
        before, after = genotypes[base].kind_counts()[kind], genotypes[name].kind_counts()[kind]
        out.append({"arch": name, "penalised": kind, f"count at {base}": before, "count at arch": after,
                    "fewer": "n/a (none at " + base + ")" if before == 0 else ("yes" if after < before else "no")})
    return out


def pareto_mask(params, acc) -> np.ndarray:
    """True where no other point has fewer-or-equal params and higher-or-equal accuracy (one strictly)."""
    params, acc = np.asarray(params, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    if params.shape != acc.shape or params.ndim != 1:
        raise SearchError(f"params and acc must be vectors of one length, got {params.shape} and {acc.shape}")
    dominated = ((params[None, :] <= params[:, None]) & (acc[None, :] >= acc[:, None])
                 & ((params[None, :] < params[:, None]) | (acc[None, :] > acc[:, None]))).any(1)
    return ~dominated
