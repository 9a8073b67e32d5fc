"""Chapter 7's evaluation strategies: low fidelity, zero-cost proxies and the one-shot point.

On the live benchmark every cell of a drawn set is trained by the reference training (the ground truth) and scored by each
cheaper evaluation (:func:`nasvec.strategies.live.live_table`); on NAS-Bench-201 the proxies of the real
network are ranked against the table's 200-epoch CIFAR-10 accuracy, beside Abdelfattah et al.'s numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cache import cached, fingerprint
from ..strategies import cellnet, live, oneshot, proxies

#: Abdelfattah et al. 2021, Spearman rho with the final accuracy on NAS-Bench-201, CIFAR-10: the cell headed "Table 1"
#: of their companion notebook (SamsungLabs/zero-cost-nas, notebooks/nasbench201_correlations.ipynb), its printed
#: output: |rho| over all 15,625 cells against the 200-epoch test accuracy of the cifar10-valid split, three decimals.
#: (Later work quotes snip and grad_norm as 0.58; no primary source we could read prints that, so it is not used.)
ANCHORS = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594}
#: NAS-Bench-201's published optimum on CIFAR-10 (its "Optimal" row: test accuracy, 200 epochs, mean of 3 seeds)
NB201_OPTIMUM = 94.37


def proxy_batch(n: int, seed: int = 0, real_data: bool = True) -> tuple:
    """A CIFAR-10-shaped batch ``[n, 3, 32, 32]`` for the data-dependent proxies, and what it is: CIFAR-10's
    training images when ``$NASVEC_DATA/cifar-10`` holds them, else Fashion-MNIST's (padded to 32x32, the grey
    channel repeated three times) when installed, else (or when not ``real_data``) scikit-learn's digits
    (8x8 scaled to 32x32)."""
    import torch
    import torch.nn.functional as F

    from ..data.cifar import load_cifar10
    from ..data.images import load_images
    from ..errors import DataError

    rng = np.random.default_rng(seed)
    try:
        if not real_data:
            raise DataError("embedded data only")
        x, y = load_cifar10("train", download=False)
        idx = rng.choice(len(x), n, replace=False)
        x = torch.as_tensor(np.asarray(x)[idx], dtype=torch.float32)
        x = x.reshape(n, 3, 32, 32) / 255.0 if x.ndim == 2 else x
        return (x - x.mean()) / x.std(), torch.as_tensor(np.asarray(y)[idx]), "CIFAR-10"
    except (DataError, TypeError):
        pass
    try:
        if not real_data:
            raise DataError("embedded data only")
        d = load_images(True, n, 1, seed)
        x, y, what = F.pad(d.x_train, (2, 2, 2, 2)), d.y_train, "Fashion-MNIST (padded to 32x32, 3 equal channels)"
    except DataError:
        d = load_images(False, n, 1, seed)
        x, y, what = F.interpolate(d.x_train, size=(32, 32), mode="bilinear"), d.y_train, \
            "digits (8x8 scaled to 32x32, 3 equal channels)"
    x = x.repeat(1, 3, 1, 1)
    return (x - x.mean()) / x.std(), y, what


def nb201_proxies(n_cells: int, names, batch: int = 32, seed: int = 0, data_free_cells: int = 0,
                  real_data: bool = True):
    """Proxies of NAS-Bench-201's network for ``n_cells`` random cells (``data_free_cells`` more for the
    data-free ``synflow`` and ``params``), joined with the table's accuracy; cached. Returns
    ``(rows, data description)``."""
    from ..data.nb201 import cell_index, load_nb201

    table = load_nb201()
    x, y, what = proxy_batch(batch, seed, real_data)
    cells = live.sample_cells(n_cells + data_free_cells, seed)
    names = proxies.check_names(names)
    free = tuple(n for n in names if n in proxies.DATA_FREE)
    key = {"cells": cells, "names": names, "x": x, "seed": seed, "n": n_cells,
           "source": [fingerprint(m) for m in (cellnet, proxies)]}

    def compute():
        a = proxies.nb201_proxy_table(cells[:n_cells], x, y, names, seed)
        b = proxies.nb201_proxy_table(cells[n_cells:], x, y, free, seed) if data_free_cells else None
        return pd.concat([a, b], ignore_index=True) if b is not None else a

    df, _ = cached("strategies-nb201-proxies", key, compute)
    df["accuracy"] = table.accuracy[cell_index(np.array(cells))]
    df["proxies"] = ["all"] * n_cells + ["data-free only"] * data_free_cells
    return df, what


def nb201_spearman(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`~nasvec.strategies.live.spearman_table` per proxy over the cells it was computed for (the
    data-dependent proxies on the first cells only, the data-free ones on all)."""
    rows = []
    for name in live.strategies_of(df):
        part = df if name in proxies.DATA_FREE else df[df.proxies == "all"]
        if len(part) > 1:
            keep = [c for c in part.columns if not c.endswith(("_score", "_seconds"))] + [f"{name}_score", f"{name}_seconds"]
            rows.append(live.spearman_table(part[keep]))
    return pd.concat(rows, ignore_index=True)


def anchors_table(spear: pd.DataFrame) -> pd.DataFrame:
    """Our Spearman rho per proxy beside Abdelfattah et al.'s (:data:`ANCHORS`: their notebook's Table 1), with whether theirs lies within 2 standard errors of ours at our number of cells (Fisher's
    z, standard error sqrt(1.06 / (n - 3))): "within noise", or "differs" ("–" with 3 cells or fewer)."""
    out = spear[spear.kind == "proxy"][["strategy", "spearman", "n", "seconds"]].copy()
    theirs = np.array([ANCHORS.get(s, np.nan) for s in out.strategy], dtype=float)
    out.insert(2, "Abdelfattah et al. 2021 (all NB201 cells)", theirs)
    n = out.n.to_numpy(dtype=float)
    se_z = np.sqrt(1.06 / np.maximum(n - 3, 1))   # Fieller et al. (1957) for Spearman's rho
    ours = np.clip(out.spearman.to_numpy(dtype=float), -0.999999, 0.999999)
    gap = np.abs(np.arctanh(ours) - np.arctanh(theirs))
    out.insert(3, "agreement", np.where(np.isnan(gap) | (n <= 3), "–",
                                        np.where(gap <= 2 * se_z, "within noise", "differs")))
    return out.rename(columns={"spearman": "ours: Spearman rho", "n": "cells", "seconds": "seconds per cell"})


def optimum_line(best: float) -> str:
    """The table's best accuracy against NAS-Bench-201's published optimum."""
    gap = NB201_OPTIMUM - best
    return (f"The table's best cell reaches {best:.2f} %; NAS-Bench-201's published optimum on CIFAR-10 is "
            f"{NB201_OPTIMUM:.2f} % (its Optimal row: test accuracy after 200 epochs, mean of three seeds), "
            f"{abs(gap):.2f} points {'higher' if gap > 0 else 'lower'} than ours (the NATS check above compares "
            f"single cells).")


def oneshot_points(cfg: live.LiveConfig, epochs: int, arch_lr: float, seeds, full_seconds: float) -> pd.DataFrame:
    """The one-shot search (GDAS-style, chapter 5's relaxation) per seed: the cell it picks, that cell's accuracy
    after the benchmark's reference training, the search's seconds and those seconds in reference trainings of a cell
    (cached)."""
    rows = []
    for seed in seeds:
        key = {"cfg": cfg, "epochs": epochs, "arch_lr": arch_lr, "seed": seed,
               "source": [fingerprint(m) for m in (cellnet, oneshot, live)]}

        def compute(seed=seed):
            found = oneshot.oneshot_search(cfg, epochs=epochs, arch_lr=arch_lr, seed=seed)
            return {"cell": tuple(int(c) for c in found["cell"]), "seconds": found["seconds"],
                    "accuracy": live.train_cell(found["cell"], cfg)["accuracy"]}

        r, _ = cached("strategies-oneshot", key, compute)
        rows.append({"seed": seed, "cell": ",".join(map(str, r["cell"])), "accuracy": r["accuracy"],
                     "search seconds": r["seconds"], "in reference trainings": r["seconds"] / full_seconds})
    return pd.DataFrame(rows)


def evaluation_sentence(live_spear: pd.DataFrame, nb201_anchors: pd.DataFrame, shot: pd.DataFrame,
                        reference: str = "the reference training") -> str:
    """What the tables say about the evaluation strategies, computed from them (``reference``: the live benchmark's
    ground-truth training by name, :attr:`~nasvec.strategies.live.LiveConfig.reference`)."""
    proxy = live_spear[live_spear.kind == "proxy"].sort_values("spearman", ascending=False)
    low = live_spear[(live_spear.kind == "training") & (live_spear.strategy != "reference_val")] \
        .sort_values("spearman", ascending=False)
    ceiling = live_spear[live_spear.strategy == "reference_val"]
    parts = [f"On the live benchmark ({int(live_spear.n.iloc[0])} cells) the best low-fidelity training is "
             f"{low.strategy.iloc[0]} (Spearman {low.spearman.iloc[0]:.2f}, {low.seconds.iloc[0]:.2f} s per cell) and "
             f"the best zero-cost proxy {proxy.strategy.iloc[0]} ({proxy.spearman.iloc[0]:.2f}, "
             f"{proxy.seconds.iloc[0]:.3f} s per cell)"
             + (f"; {reference} ranked by the validation split instead of the test split, the ceiling set by "
                f"noise, reaches {ceiling.spearman.iloc[0]:.2f}." if len(ceiling) else ".")]
    lc = live_spear[live_spear.kind == "extrapolation"]
    if len(lc):
        r = lc.iloc[0]
        parts.append(f"Learning-curve extrapolation (a − b/epoch fitted to every epoch of {reference} but the last) "
                     f"reaches Spearman {r.spearman:.2f} with regret {r.regret:.2f} points for {r.seconds:.2f} s per cell.")
    rows = nb201_anchors.dropna(subset=["Abdelfattah et al. 2021 (all NB201 cells)"])
    if len(rows):
        parts.append("On NAS-Bench-201: " + "; ".join(
            f"{r.strategy} {r['ours: Spearman rho']:.2f} here ({int(r.cells)} cells) against "
            f"{r['Abdelfattah et al. 2021 (all NB201 cells)']:.3f} in their Table 1 (all 15,625 cells): {r.agreement}"
            for _, r in rows.iterrows()) + ".")
    if len(shot):
        parts.append(f"The one-shot search picked cells with regret {shot.regret.min():.2f}–{shot.regret.max():.2f} "
                     f"points on the live pool at a cost of {shot['in reference trainings'].mean():.1f} times "
                     f"{reference} of one cell.")
    return " ".join(parts)


# --------------------------------------------------------------------------- what the survey names, and what ran
#: the survey's (seed 003) items by area: (item, how this chapter would run it, why not when it does not)
SURVEY = {
    "search space": [("chain-structured (layer-wise)", None, "no benchmark of a layer-wise space here; chapter 6 "
                                                             "searches layer-wise masks of two-layer networks"),
                     ("cell-based", "benchmark:NAS-Bench-201", "NAS-Bench-201 did not run"),
                     ("hierarchical", None, "no benchmark of a hierarchical space is on this machine")],
    "search strategy": [("random search", "strategy:random", "not in this run"),
                        ("evolution", "strategy:evolution", "not in this run"),
                        ("local search", "strategy:local search", "not in this run"),
                        ("predictor-based (BANANAS)", "strategy:BANANAS", "not in this run"),
                        ("Bayesian optimisation", "strategy:GP-BO (one-hot)", "not in this run"),
                        ("reinforcement learning", "strategy:REINFORCE", "not in this run"),
                        ("gradient-based (one-shot)", "oneshot", "not in this run; chapters 4-5 run DARTS-style "
                                                                  "search")],
    "evaluation strategy": [("lower fidelity (fewer epochs, less data)", "kind:training", "not in this run"),
                            ("learning-curve extrapolation", "kind:extrapolation", "the reference training has one "
                                                                                  "epoch: nothing to extrapolate from"),
                            ("weight sharing (one-shot)", "oneshot", "not in this run"),
                            ("weight inheritance / network morphisms", None, "not run: it needs networks grown from "
                                                                             "trained parents, which no benchmark "
                                                                             "here records"),
                            ("zero-cost proxies", "kind:proxy", "not in this run")],
    "benchmark": [("NAS-Bench-101", None, "not run: its data is not on this machine (nothing downloads at run "
                                          "time); the BANANAS paper's numbers on it are quoted beside ours"),
                  ("NAS-Bench-201", "benchmark:NAS-Bench-201", "not in this run"),
                  ("NAS-Bench-Suite", None, "not run: its data is not on this machine"),
                  ("D-VAE's ENAS-6 pool (not in the survey)", "benchmark:ENAS-6 pool", "needs the real data set "
                                                                                       "(standard profile)"),
                  ("live training here (not in the survey)", "benchmark:live", "not in this run")],
    "library": [("NASLib", None, "not used: not installable here; its design (search space, benchmark, ask/tell "
                                 "strategies) is what nasvec.strategies follows"),
                ("Auto-PyTorch", None, "not used: the chapter's strategies are nasvec.strategies")],
}


#: where an evaluation strategy runs, in words (a search strategy or benchmark is named by itself)
WHERE = {"kind:training": "the live benchmark: fewer epochs, less data", "kind:extrapolation": "the live benchmark",
         "kind:proxy": "the live benchmark and NAS-Bench-201", "oneshot": "the live benchmark: a GDAS-style supernet"}


def coverage(runs: dict, live_spear: pd.DataFrame, shot: pd.DataFrame) -> pd.DataFrame:
    """The survey's search spaces, strategies, evaluation strategies, benchmarks and libraries: run in this chapter
    or not, and where or why (what ran is read from this run's ``runs``, live evaluation table and one-shot runs)."""
    ran = {f"benchmark:{b}" for b in runs} | {f"strategy:{s}" for r in runs.values() for s in r} \
        | {f"kind:{k}" for k in live_spear.kind} | ({"oneshot"} if len(shot) else set())
    rows = []
    for area, items in SURVEY.items():
        for item, how, why_not in items:
            here = how is not None and how in ran
            rows.append({"area": area, "item": item, "run here": "yes" if here else "no",
                         "where / why not": WHERE.get(how, how.split(":", 1)[-1]) if here else why_not})
    return pd.DataFrame(rows)
