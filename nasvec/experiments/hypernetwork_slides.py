"""Chapter 5 ("Complexity-controlled search with a hypernetwork") held against the slides (seed 004): the accuracy of
A-D on the super-network's shared weights (the slides' "without retraining") beside retrained from scratch, where
our from-scratch accuracy saturates with the training data, and the verdicts computed from those numbers.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..cache import cached
from ..data.images import load_images
from ..dnas.cells import EDGES, SuperNet, cell_widths, one_hot, op_params
from ..parallel import pmap
from .hypernetwork import PAPER, POINTS, Study, penalty_effect, train_task

#: the slides' A-D accuracies (%), in POINTS' order
PAPER_ACCURACY = {name: PAPER[name][0] for name in POINTS}


# --------------------------------------------------------------------------- shared weights, no retraining
@torch.no_grad()
def shared_accuracy(study: Study, supernet_state: dict, genotypes, calibration: int = 1000, batch: int = 256) -> list:
    """Test accuracy (%) of each genotype computed by the search's super-network on its shared weights (a one-hot
    ``gamma``): no gradient step. The batch-norm statistics are recomputed for each genotype on ``calibration``
    training images (the search's running statistics mix every op); ``calibration=0`` keeps the search's."""
    images = study.images
    net = SuperNet(study.ops, **study.net.kwargs(images))
    net.load_state_dict(supernet_state)
    x_cal = torch.as_tensor(images.x_train[:calibration], dtype=torch.float32)
    x_test = torch.as_tensor(images.x_test, dtype=torch.float32)
    y_test = torch.as_tensor(images.y_test, dtype=torch.long)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    out = []
    for g in genotypes:
        gamma = one_hot(g)
        if calibration:
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None   # a cumulative average over the calibration batches
            net.train()
            for i in range(0, len(x_cal), batch):
                net(x_cal[i:i + batch], gamma)
        net.eval()
        pred = torch.cat([net(x_test[i:i + batch], gamma).argmax(1) for i in range(0, len(x_test), batch)])
        out.append(100.0 * (pred == y_test).float().mean().item())
    net.load_state_dict(supernet_state)
    return out


def shared_task(item, study: Study, calibration: int):
    """A-D of one seed on that seed's super-network (cached): a task of :func:`nasvec.parallel.pmap`."""
    result, genotypes = item
    torch.set_num_threads(study.threads)
    key = {"data": study.images.spec, "net": study.net, "search": study.search_cfg, "calibration": calibration,
           "genotypes": [g.to_dict() for g in genotypes]}
    return cached("search-shared", key, lambda: shared_accuracy(study, result["supernet_state"], genotypes,
                                                                   calibration))[0]


def both_accuracies(study: Study, runs: list[dict], calibration: int = 1000) -> pd.DataFrame:
    """A-D for every seed: retrained from scratch and on the shared weights, one row per seed and point."""
    base = study.slim()
    shared = pmap(partial(shared_task, study=base, calibration=calibration),
                  [(r["search"][0], [g for g, _ in r["ad"]]) for r in runs],
                  desc="A-D on the shared weights", cpus_per_task=study.threads)
    return pd.DataFrame([{"seed": r["seed"], "arch": name, "retrained %": 100 * r["ad"][j][1]["accuracy"],
                          "shared weights %": acc[j]}
                         for r, acc in zip(runs, shared) for j, name in enumerate(POINTS)])


def accuracy_summary(both: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of both accuracies at A-D beside the slides'."""
    g = both.groupby("arch", sort=False)
    out = pd.DataFrame({"arch": list(g.groups)})
    for col in ("retrained %", "shared weights %"):
        out[f"{col[:-2]} mean %"] = g[col].mean().values
        out[f"{col[:-2]} sd"] = g[col].std(ddof=1).fillna(0.0).values
    out["slides %"] = [PAPER_ACCURACY[a] for a in out.arch]
    out["seeds"] = g.size().values
    return out


# --------------------------------------------------------------------------- where the accuracy saturates
def saturation(study: Study, genotypes: dict, sizes, n_test: int, real_data: bool, data_seed: int) -> pd.DataFrame:
    """Test accuracy of ``genotypes`` (name -> genotype) retrained from scratch on ``sizes`` training images each
    (the study's training config, the same test images): a learning curve over the data, one row per point."""
    items, studies = [], {}
    for n in sizes:
        studies[n] = Study(load_images(real_data, int(n), n_test, seed=data_seed), study.net, study.search_cfg,
                           study.training, study.device, study.threads).slim()
        items += [(n, name) for name in genotypes]
    out = pmap(partial(_saturation_task, studies=studies, genotypes=genotypes), items,
               desc="learning curves (from scratch)", cpus_per_task=study.threads)
    return pd.DataFrame([{"arch": name, "n_train": n, "accuracy %": 100 * res["accuracy"], "params": res["params"],
                          "train epochs": study.training.epochs, "seconds": res["seconds"], "from cache": loaded}
                         for (n, name), (res, loaded) in zip(items, out)])


def _saturation_task(item, studies: dict, genotypes: dict):
    n, name = item
    return train_task((None, genotypes[name]), studies[n])


def saturation_gain(curve: pd.DataFrame) -> pd.DataFrame:
    """Per architecture: accuracy at the chapter's size, at the largest size, and the gain of the last doubling-or-more
    of the data (points per step), which says how far the curve is from flat."""
    rows = []
    for name, g in curve.sort_values("n_train").groupby("arch", sort=False):
        acc, n = g["accuracy %"].to_numpy(), g["n_train"].to_numpy()
        rows.append({"arch": name, "smallest n": int(n[0]), "accuracy at smallest %": acc[0],
                     "largest n": int(n[-1]), "accuracy at largest %": acc[-1],
                     "last step gain (points)": acc[-1] - acc[-2] if len(acc) > 1 else float("nan")})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- verdicts
def penalty_by_seed(runs: list[dict]) -> pd.DataFrame:
    """For every seed: does raising each op's penalty from 1/3 (A) to 0.70 (B conv, C pool, D identity) lower its
    count? One row per seed and penalised op."""
    return pd.DataFrame([{"seed": r["seed"], **row}
                         for r in runs for row in penalty_effect(dict(zip(POINTS, [g for g, _ in r["ad"]])))])


def order_verdict(summary: pd.DataFrame, column: str) -> str:
    """Kendall's tau between our mean A-D accuracy (``column``) and the slides', and how many of the six pairs our
    seeds resolve (difference of means over 2 standard errors) in the slides' order."""
    from scipy.stats import kendalltau

    ours, theirs = summary[f"{column} mean %"].to_numpy(), summary["slides %"].to_numpy()
    se = summary[f"{column} sd"].to_numpy() / np.sqrt(summary["seeds"].to_numpy())
    tau = kendalltau(ours, theirs).statistic
    resolved = agree = 0
    for i in range(len(ours)):
        for j in range(i + 1, len(ours)):
            if abs(ours[i] - ours[j]) > 2 * np.hypot(se[i], se[j]):
                resolved += 1
                agree += np.sign(ours[i] - ours[j]) == np.sign(theirs[i] - theirs[j])
    order = " > ".join(summary.arch.to_numpy()[np.argsort(-ours, kind="stable")])
    return (f"{column}: our order {order} (slides C > A > D > B), Kendall's tau {tau:+.2f}; our seeds "
            f"resolve {resolved} of 6 pairs (difference over 2 standard errors), {int(agree)} of them in the slides' order")


def gap_lines(summary: pd.DataFrame, curve: pd.DataFrame | None) -> list[str]:
    """For each of A-D whose retrained or shared-weights mean differs from the slides' by more than 2 sd of our
    seeds: by how much, and what the learning curve says about data as a cause."""
    lines = []
    gains = saturation_gain(curve).set_index("arch") if curve is not None and len(curve) else None
    for _, row in summary.iterrows():
        for col in ("retrained", "shared weights"):
            gap = row[f"{col} mean %"] - row["slides %"]
            if abs(gap) > 2 * max(row[f"{col} sd"], 1e-9):
                line = (f"{row.arch}, {col}: {row[f'{col} mean %']:.2f} % against the slides' {row['slides %']:.1f} %, "
                        f"{gap:+.2f} points ({abs(gap) / max(row[f'{col} sd'], 1e-9):.1f} sd of our seeds)")
                if col == "retrained" and gains is not None and row.arch in gains.index:
                    g = gains.loc[row.arch]
                    line += (f"; with {g['largest n']:,} training images instead of {g['smallest n']:,} the first seed's "
                             f"{row.arch} reaches {g['accuracy at largest %']:.2f} % (last step {g['last step gain (points)']:+.2f})")
                lines.append(line)
    return lines


def closer_line(summary: pd.DataFrame, data: str = "fashion-mnist") -> str:
    """Which of our two accuracies the slides' A-D are closer to (mean absolute difference), and how far apart ours
    are; on other ``data`` than the slides' Fashion-MNIST, only the latter."""
    gap = float((summary["retrained mean %"] - summary["shared weights mean %"]).mean())
    if data != "fashion-mnist":
        return (f"On average retraining {'adds' if gap >= 0 else 'loses'} {abs(gap):.2f} points over the shared weights. "
                f"These are {data}, not the slides' Fashion-MNIST: the accuracies are not compared with theirs.")
    dist = {col: float((summary[f"{col} mean %"] - summary["slides %"]).abs().mean())
            for col in ("retrained", "shared weights")}
    near = min(dist, key=dist.get)
    return (f"The slides' accuracies are closer to ours **{near}**: mean absolute difference over A–D "
            f"{dist['retrained']:.2f} points retrained, {dist['shared weights']:.2f} on the shared weights. On average "
            f"retraining {'adds' if gap >= 0 else 'loses'} {abs(gap):.2f} points over the shared weights, so the slides' "
            f"table most plausibly reports {'retrained' if near == 'retrained' else 'shared-weight'} accuracies "
            f"(an inference from these distances; the slides do not say).")


def verdicts(summary: pd.DataFrame, penalty: pd.DataFrame, curve: pd.DataFrame | None,
             same_data: bool = True) -> list[str]:
    """The chapter's verdicts against the slides, each computed from the tables it is given; accuracies are held
    against the slides' only when ``same_data`` (Fashion-MNIST)."""
    lines = [order_verdict(summary, "retrained"), order_verdict(summary, "shared weights")] if same_data else [
        "accuracies: not compared with the slides' (other data than their Fashion-MNIST)"]
    for (arch, kind), g in penalty.groupby(["arch", "penalised"], sort=False):
        usable = g[~g.fewer.str.startswith("n/a")]
        if usable.empty:
            lines.append(f"raising the {kind} penalty ({arch}): cannot be checked, A uses no {kind} in any seed")
            continue
        lines.append(f"raising the {kind} penalty ({arch}) lowers the {kind} count in {(usable.fewer == 'yes').sum()} of "
                     f"{len(usable)} seeds" + (f" ({len(g) - len(usable)} more: A uses no {kind})"
                                                if len(usable) < len(g) else "") + "; the slides report it lowered")
    if same_data:
        gaps = gap_lines(summary, curve)
        lines += gaps or ["every A-D accuracy of ours is within 2 sd of our seeds of the slides' number"]
    return lines


# --------------------------------------------------------------------------- the slides' network, from their counts
#: the slides' op counts of A-D, (pool, identity, conv), and their parameter counts
PAPER_COUNTS = {name: (PAPER[name][2], PAPER[name][4], PAPER[name][3]) for name in POINTS}
PAPER_PARAMS = {name: PAPER[name][1] for name in POINTS}


def edge_classes(ops, channels: int, layers) -> dict:
    """The genotype's edges grouped by what an op costs on them, summed over the cells of their type: ``{class:
    (number of edges, {op: parameters})}`` for normal edges, reduction edges from the cell's inputs (stride 2)
    and the other reduction edges."""
    widths = cell_widths(channels, layers)
    spec = {"normal": ("normal", 1, sum(src >= 0 for src, _ in EDGES)),
            "reduction, stride 2": ("reduction", 2, sum(src < 2 for src, _ in EDGES)),
            "reduction, stride 1": ("reduction", 1, sum(src >= 2 for src, _ in EDGES))}
    return {name: (n, {op: sum(op_params(op, c, stride) for kind, c in widths if kind == cell) for op in ops})
            for name, (cell, stride, n) in spec.items()}


def _compositions(n: int) -> np.ndarray:
    """Every ``(pool, identity, conv)`` split of ``n`` edges."""
    return np.array([(p, i, n - p - i) for p in range(n + 1) for i in range(n + 1 - p)])


def placements(ops, channels: int, layers) -> pd.DataFrame:
    """Every way to spread pool / identity / conv counts over the edge classes, with the resulting count."""
    classes = edge_classes(ops, channels, layers)
    parts = []
    for name, (n, cost) in classes.items():
        comp = _compositions(n)
        parts.append((name, comp, comp @ np.array([cost[o] for o in ops])))
    grids = np.meshgrid(*[np.arange(len(c)) for _, c, _ in parts], indexing="ij")
    idx = [g.ravel() for g in grids]
    counts = sum(c[i] for (_, c, _), i in zip(parts, idx))
    params = sum(p[i] for (_, _, p), i in zip(parts, idx))
    out = pd.DataFrame({"pool": counts[:, 0], "identity": counts[:, 1], "conv": counts[:, 2], "params": params})
    for (name, c, _), i in zip(parts, idx):
        out[f"conv, {name}"], out[f"identity, {name}"] = c[i, 2], c[i, 1]
    return out


def fit_counts(ops, channels: int, layers) -> pd.DataFrame:
    """For each of A-D: the slides' count, the nearest count this network gives with the slides' op counts, and how
    the convolutions and identities then sit on the edge classes."""
    table = placements(ops, channels, layers)
    rows = []
    for name, (pool, ident, conv) in PAPER_COUNTS.items():
        same = table[(table.pool == pool) & (table.identity == ident) & (table.conv == conv)]
        best = same.iloc[int(np.argmin(np.abs(same.params.to_numpy() - PAPER_PARAMS[name])))]
        exact = int((same.params == PAPER_PARAMS[name]).sum())
        rows.append({"arch": name, "slides params": PAPER_PARAMS[name], "ours, nearest": int(best.params),
                     "residual %": 100 * (best.params - PAPER_PARAMS[name]) / PAPER_PARAMS[name],
                     "exact placements": exact,
                     **{c: int(best[c]) for c in table.columns if c.startswith(("conv, ", "identity, reduction, stride 2"))}})
    return pd.DataFrame(rows)


def network_search(channels=range(4, 65), convs=("conv_3x3", "sep_conv_3x3", "dil_conv_3x3"), n_cells: int = 3):
    """Which networks reproduce all four of the slides' counts: every cell sequence of ``n_cells`` normal or reduction
    cells, every first-cell width in ``channels`` and every convolution in ``convs`` (pool and identity as DARTS
    builds them). One row per network, with the largest |residual| over A-D; sorted, exact fits first."""
    from itertools import product

    rows = []
    for layers in product(("normal", "reduction"), repeat=n_cells):
        if "normal" not in layers or "reduction" not in layers:
            continue     # both genotypes must be used: 28 edges
        for conv in convs:
            ops = ("max_pool_3x3", "skip_connect", conv)
            for c in channels:
                fit = fit_counts(ops, c, layers)
                rows.append({"cells": " → ".join(layers), "channels": c, "conv": conv,
                             "exact": bool((fit["exact placements"] > 0).all()),
                             "max |residual| %": float(fit["residual %"].abs().max())})
    return pd.DataFrame(rows).sort_values(["max |residual| %", "channels"]).reset_index(drop=True)


def cost_scale_line(kappa: float, history: list, from_cache: bool) -> str:
    """The weight of the cost against the task loss in the last epoch of a search (κ is an open choice)."""
    last = history[-1]
    weighted = kappa * last["cost"]
    return (f"Search: {len(history)} epochs, {'loaded from the cache' if from_cache else 'run now'}. In its last epoch "
            f"κ·Cost is {weighted:.2f} (κ = {kappa:g}, Cost {last['cost']:.2f} over 28 edges) against a task loss of "
            f"{last['task_loss']:.2f}: the {'cost term outweighs the task loss' if weighted > last['task_loss'] else 'task loss outweighs the cost term'}.")


def network_line(networks: pd.DataFrame, net) -> str:
    """What the search over networks found, and whether the profile's network is that one."""
    exact = networks[networks.exact]
    found = "; ".join(f"{r.cells}, {r.channels} channels, {r.conv}" for r in exact.itertuples()) or "none"
    ours = " → ".join(net.layers), net.channels, next((o for o in net.ops if o.endswith("conv_3x3")), "?")
    is_ours = any((r.cells, r.channels, r.conv) == ours for r in exact.itertuples())
    return (f"Of {len(networks):,} networks, {len(exact)} reproduce all four of the slides' counts exactly: {found}. "
            + ("This chapter's network (the profile's `net`) is that network."
               if is_ours else f"This chapter's network ({ours[0]}, {ours[1]} channels, {ours[2]}) is not: the "
                                f"profile trades it for speed, and its counts below are not comparable with the slides'."))
