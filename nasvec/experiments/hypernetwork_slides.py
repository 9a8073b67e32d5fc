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
from ..stats import paired_difference
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
    """A-D of one seed on that seed's super-network (cached under that seed's search): a task of
    :func:`nasvec.parallel.pmap`."""
    seed, result, genotypes = item
    torch.set_num_threads(study.threads)
    own = study.for_seed(seed)
    key = {"data": own.images.spec, "net": own.net, "search": own.search_cfg, "calibration": calibration,
           "genotypes": [g.to_dict() for g in genotypes]}
    return cached("search-shared", key, lambda: shared_accuracy(own, result["supernet_state"], genotypes,
                                                                   calibration))[0]


def both_accuracies(study: Study, runs: list[dict], calibration: int = 1000) -> pd.DataFrame:
    """A-D for every seed: retrained from scratch and on the shared weights, one row per seed and point."""
    base = study.slim()
    shared = pmap(partial(shared_task, study=base, calibration=calibration),
                  [(r["seed"], r["search"][0], [g for g, _ in r["ad"]]) for r in runs],
                  desc="A-D on the shared weights", cpus_per_task=study.threads)
    return pd.DataFrame([{"seed": r["seed"], "arch": name, "retrained %": 100 * r["ad"][j][1]["accuracy"],
                          "shared weights %": acc[j]}
                         for r, acc in zip(runs, shared) for j, name in enumerate(POINTS)])


def accuracy_summary(both: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of both accuracies at A-D beside the slides' (sd ``nan`` with one seed)."""
    g = both.groupby("arch", sort=False)
    out = pd.DataFrame({"arch": list(g.groups)})
    for col in ("retrained %", "shared weights %"):
        out[f"{col[:-2]} mean %"] = g[col].mean().values
        out[f"{col[:-2]} sd"] = g[col].std(ddof=1).values
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


def _paired(both: pd.DataFrame, column: str, i: str, j: str):
    """The paired difference over seeds of ``column`` at ``i`` minus at ``j`` (:func:`nasvec.stats.paired_difference`)."""
    wide = both.pivot(index="seed", columns="arch", values=column)
    return paired_difference(wide[i] - wide[j])


def order_verdict(both: pd.DataFrame, column: str) -> str:
    """Kendall's tau between our mean A-D accuracy (``column`` of :func:`both_accuracies`) and the slides', and how many
    of the six pairs our seeds resolve (paired difference over the same seeds larger than 2 standard errors; else a
    tie), and how many of those go the slides' way."""
    from scipy.stats import kendalltau

    names = list(POINTS)
    ours = both.groupby("arch")[column].mean().reindex(names).to_numpy()
    theirs = np.array([PAPER_ACCURACY[n] for n in names])
    order = " > ".join(np.array(names)[np.argsort(-ours, kind="stable")])
    head = (f"{column[:-2]}: our mean order {order} (slides C > A > D > B), Kendall's tau "
            f"{kendalltau(ours, theirs).statistic:+.2f}")
    if both.seed.nunique() < 2:
        return head + "; one seed: no pair can be told apart from a tie"
    resolved = agree = 0
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            p = _paired(both, column, names[a], names[b])
            if p.word != "tie":
                resolved += 1
                agree += np.sign(p.mean) == np.sign(theirs[a] - theirs[b])
    return (head + f"; over {both.seed.nunique()} seeds {resolved} of 6 pairs differ by more than 2 standard errors "
            f"(the other {6 - resolved} are ties), {int(agree)} of them in the slides' order")


def saturation_line(curve: pd.DataFrame, summary: pd.DataFrame) -> str:
    """How far the learning curve is from flat: the gain of its last step against the seeds' spread at the chapter's
    size (one seed per point: the spread of A-D across seeds is the yardstick)."""
    parts = []
    sd = summary.set_index("arch")["retrained sd"]
    for _, row in saturation_gain(curve).iterrows():
        noise, gain = sd.get(row.arch, float("nan")), row["last step gain (points)"]
        verdict = ("no seed spread to compare with" if not np.isfinite(noise) else
                   "within 2 sd of the seeds at the chapter's size: flat within our noise" if abs(gain) <= 2 * noise
                   else f"more than 2 sd of the seeds ({noise:.2f}): still changing")
        parts.append(f"{row.arch} gains {gain:+.2f} points in the last step (to {int(row['largest n']):,} images, "
                     f"{row['accuracy at largest %']:.2f} %), {verdict}")
    return "Learning curve: " + "; ".join(parts) + "."


def gap_lines(summary: pd.DataFrame, curve: pd.DataFrame | None, inferred_net: bool) -> list[str]:
    """For each of A-D whose mean differs from the slides' by more than 2 sd of our seeds (their spread): by how much,
    and what our runs say about three causes: the training data (the learning curve), retraining (the other
    accuracy) and the network's width (whether ours is the network the slides' counts imply)."""
    lines = []
    gains = saturation_gain(curve).set_index("arch") if curve is not None and len(curve) else None
    for _, row in summary.iterrows():
        for col, other in (("retrained", "shared weights"), ("shared weights", "retrained")):
            gap, sd = row[f"{col} mean %"] - row["slides %"], row[f"{col} sd"]
            if not np.isfinite(sd) or abs(gap) <= 2 * sd:
                continue
            why = [f"{other}: {row[f'{other} mean %']:.2f} %"]
            if col == "retrained" and gains is not None and row.arch in gains.index:
                g = gains.loc[row.arch]
                why.append(f"data: with {int(g['largest n']):,} training images instead of {int(g['smallest n']):,} one seed's "
                           f"{row.arch} reaches {g['accuracy at largest %']:.2f} %")
            why.append("width: ours is the network the slides' counts imply" if inferred_net else
                       "width: ours is not the network the slides' counts imply")
            lines.append(f"{row.arch}, {col}: {row[f'{col} mean %']:.2f} % against the slides' {row['slides %']:.1f} %, "
                         f"{gap:+.2f} points ({abs(gap) / sd:.1f} sd of our seeds); " + "; ".join(why))
    return lines


def closer_line(both: pd.DataFrame, data: str = "fashion-mnist") -> str:
    """Which of our two accuracies the slides' A-D are closer to (per seed, the mean absolute difference over A-D;
    a winner only when the paired difference exceeds 2 standard errors), and how far apart ours are; on other
    ``data`` than the slides' Fashion-MNIST, only the latter."""
    gap = float((both["retrained %"] - both["shared weights %"]).mean())
    head = f"On average retraining {'adds' if gap >= 0 else 'loses'} {abs(gap):.2f} points over the shared weights."
    if data != "fashion-mnist":
        return head + f" These are {data}, not the slides' Fashion-MNIST: the accuracies are not compared with theirs."
    slides = both.arch.map(PAPER_ACCURACY)
    per_seed = pd.DataFrame({"seed": both.seed, "retrained": (both["retrained %"] - slides).abs(),
                             "shared": (both["shared weights %"] - slides).abs()}).groupby("seed").mean()
    d = (per_seed.retrained - per_seed.shared).to_numpy()
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    dist = (f"mean absolute difference from the slides over A–D {per_seed.retrained.mean():.2f} points retrained, "
            f"{per_seed.shared.mean():.2f} on the shared weights")
    if not np.isfinite(se) or abs(d.mean()) <= 2 * se:
        return head + f" The slides' accuracies are as close to either (a tie over our seeds: {dist})."
    near = "retrained" if d.mean() < 0 else "on the shared weights"
    return (head + f" The slides' accuracies are closer to ours {near} ({dist}; the difference exceeds 2 standard "
            f"errors over our seeds): an inference on which accuracy their table reports, which the slides do not say.")


def verdicts(both: pd.DataFrame, penalty: pd.DataFrame, curve: pd.DataFrame | None, same_data: bool = True,
             inferred_net: bool = True) -> list[str]:
    """The chapter's verdicts against the slides, each computed from the tables it is given; accuracies are held
    against the slides' only when ``same_data`` (Fashion-MNIST)."""
    summary = accuracy_summary(both)
    lines = [order_verdict(both, "retrained %"), order_verdict(both, "shared weights %")] if same_data else [
        "accuracies: not compared with the slides' (other data than their Fashion-MNIST)"]
    for (arch, kind), g in penalty.groupby(["arch", "penalised"], sort=False):
        usable = g[~g.fewer.str.startswith("n/a")]
        if usable.empty:
            lines.append(f"raising the {kind} penalty ({arch}): cannot be checked, A uses no {kind} in any seed")
            continue
        lines.append(f"raising the {kind} penalty ({arch}) lowers the {kind} count in {(usable.fewer == 'yes').sum()} of "
                     f"{len(usable)} seeds" + (f" ({len(g) - len(usable)} more: A uses no {kind})"
                                                if len(usable) < len(g) else "") + "; the slides report it lowered")
    if same_data and both.seed.nunique() > 1:
        gaps = gap_lines(summary, curve, inferred_net)
        lines += gaps or ["every A-D mean of ours is within 2 sd of our seeds of the slides' number"]
    elif same_data:
        lines.append("one seed: no spread to hold the gaps to the slides' numbers against")
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
    builds them). One row per network, with the largest |residual| over A-D; sorted, exact fits first. Cached under
    its arguments and the source of the ops and cells it counts."""
    from ..dnas import cells, ops

    key = {"channels": list(channels), "convs": list(convs), "n_cells": n_cells, "source": [ops, cells]}
    return cached("slides-network-search", key, lambda: _network_search(channels, convs, n_cells))[0]


def _network_search(channels, convs, n_cells: int) -> pd.DataFrame:
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


def _describe_net(net) -> tuple:
    return " → ".join(net.layers), net.channels, next((o for o in net.ops if o.endswith("conv_3x3")), "?")


def is_inferred(networks: pd.DataFrame, net) -> bool:
    """Whether ``net`` is one of the networks that reproduce all four of the slides' counts exactly."""
    return any((r.cells, r.channels, r.conv) == _describe_net(net) for r in networks[networks.exact].itertuples())


def network_line(networks: pd.DataFrame, net) -> str:
    """What the search over networks found, and whether the profile's network is that one."""
    exact = networks[networks.exact]
    found = "; ".join(f"{r.cells}, {r.channels} channels, {r.conv}" for r in exact.itertuples()) or "none"
    ours, is_ours = _describe_net(net), is_inferred(networks, net)
    return (f"Of {len(networks):,} networks, {len(exact)} reproduce all four of the slides' counts exactly: {found}. "
            + ("This chapter's network (the profile's `net`) is that network."
               if is_ours else f"This chapter's network ({ours[0]}, {ours[1]} channels, {ours[2]}) is not: the "
                                f"profile trades it for speed, and its counts below are not comparable with the slides'."))


def with_shared(family: pd.DataFrame, study: Study, result: dict, genotypes, calibration: int) -> pd.DataFrame:
    """The family table with each point's accuracy on the search's shared weights (no retraining) beside the
    retrained one (cached like A-D's)."""
    shared = shared_task((study.search_cfg.seed, result, list(genotypes)), study, calibration)
    out = family.copy()
    out.insert(out.columns.get_loc("accuracy %") + 1, "shared weights %", shared)
    return out
