"""Figures of chapter 5 ("Complexity-controlled search with a hypernetwork")."""

from __future__ import annotations

import numpy as np

from ...experiments.hypernetwork import POINTS
from .ternary import op_distribution, ternary


def search_curves(history):
    """Task loss and cost per epoch of one search."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].plot(history.epoch, history.task_loss, "o-")
    axes[0].set(xlabel="epoch", ylabel="training cross-entropy", title="task loss (s sampled per batch)")
    axes[1].plot(history.epoch, history.cost, "o-", color="tab:red")
    axes[1].set(xlabel="epoch", ylabel="Cost(softmax α(s); s)", title="cost (mean over batches)")
    return fig


def op_distributions(geno: dict):
    """Edges per op and cell of A-D."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(8.5, 6), sharey=True)
    for ax, name in zip(axes.flat, POINTS):
        op_distribution(ax, geno[name], title=f"({name}) s = {tuple(round(v, 2) for v in POINTS[name])}")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), fontsize=9, loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    return fig


def family_ternary(grid, family, labels):
    """Parameters, accuracy and conv count of the family, on the simplex of ``s`` (A-D marked)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, col, cmap, fmt in [(axes[0], "params", "viridis", "{:.0f}"), (axes[1], "accuracy %", "magma", "{:.1f}"),
                               (axes[2], "conv", "Blues", "{:.0f}")]:
        sc = ternary(ax, grid, family[col].to_numpy(), labels=labels, title=col, cmap=cmap, fmt=fmt, marked=POINTS)
        fig.colorbar(sc, ax=ax, shrink=0.7)
    return fig


def log_ticks(ax, lo: float, hi: float, n: int = 4) -> None:
    """At most ``n`` labelled ticks on a log x axis from ``lo`` to ``hi`` (two significant digits, ``k`` for
    thousands) and no minor labels, so the labels never overlap however narrow the range."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ticks = sorted({float(f"{v:.2g}") for v in np.geomspace(max(lo, 1e-12), max(hi, lo * 1.0001), n)})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def pareto(family, res: dict):
    """Accuracy against parameters of the grid's architectures, the Pareto front and A-D."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(family.params, family["accuracy %"], c="grey", label="grid architectures")
    front = family[family.pareto].sort_values("params")
    ax.step(front.params, front["accuracy %"], where="post", color="tab:red", label="Pareto front")
    for name in POINTS:
        ax.scatter(res[name]["params"], 100 * res[name]["accuracy"], marker="*", s=120, color="tab:blue")
        ax.annotate(name, (res[name]["params"], 100 * res[name]["accuracy"]), xytext=(4, 4 + 8 * "ABCD".index(name)),
                    textcoords="offset points", fontsize=9, color="tab:blue")
    ax.set(xscale="log", xlabel="parameters", ylabel="test accuracy %", title="accuracy against size")
    params = list(family.params) + [res[name]["params"] for name in POINTS]
    log_ticks(ax, min(params), max(params))
    ax.legend(fontsize=7)
    return fig


def device_latency(lat, batch: int):
    """Measured latency and accuracy of the uniform-``s`` and the measured-``s`` architectures."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].bar(lat.architecture, lat["latency ms (batch)"], color=["grey", "tab:blue", "tab:green"])
    axes[0].set(ylabel=f"forward ms, batch {batch}", title="measured latency")
    axes[1].bar(lat.architecture, lat["accuracy %"], color=["grey", "tab:blue", "tab:green"])
    axes[1].set(ylabel="test accuracy %", title="accuracy (trained from scratch)")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    return fig


def family_spread(fam, labels):
    """The family for every seed: accuracy against parameters (one colour per seed, A-D not included), and per
    grid point the spread of the accuracy over the seeds (mean, bars one sd) with the number of distinct
    architectures the seeds derived there."""
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})
    for seed, g in fam.groupby("seed"):
        ax.scatter(g.params, g["accuracy %"], s=18, label=f"seed {seed}", alpha=0.8)
    ax.set(xscale="log", xlabel="parameters", ylabel="test accuracy %", title="the family, every seed")
    log_ticks(ax, fam.params.min(), fam.params.max())
    ax.legend(fontsize=7)
    per = fam.groupby("point").agg(mean=("accuracy %", "mean"), sd=("accuracy %", "std"),
                                   lo=("accuracy %", "min"), hi=("accuracy %", "max"))
    s_cols = [c for c in fam.columns if c.startswith("s_")]
    names = fam.groupby("point")[s_cols].first().apply(lambda r: "(" + ", ".join(f"{v:.2g}" for v in r) + ")", axis=1)
    distinct = fam.groupby("point").architecture.nunique()
    x = np.arange(len(per))
    bx.errorbar(x, per["mean"], yerr=per["sd"].fillna(0), fmt="o", capsize=3, color="tab:blue", label="mean ± sd")
    bx.scatter(x, per["lo"], marker="_", color="grey", label="min / max")
    bx.scatter(x, per["hi"], marker="_", color="grey")
    for xi, d, top in zip(x, distinct, per["hi"]):
        bx.annotate(str(d), (xi, top), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=7)
    bx.set_xticks(x)
    bx.set_xticklabels(names, rotation=70, fontsize=7)
    bx.set(xlabel=f"s = ({', '.join(labels)})", ylabel="test accuracy %",
           title="per grid point over seeds (number: distinct architectures)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig


def both_accuracies(summary, slides: bool = True):
    """A-D: retrained from scratch and on the shared weights (mean ± sd over seeds), beside the slides' accuracy when
    ``slides`` (the same data)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(summary))
    for k, (col, colour) in enumerate((("retrained", "tab:blue"), ("shared weights", "tab:orange"))):
        ax.bar(x + (k - 1) * 0.27, summary[f"{col} mean %"], 0.27, yerr=summary[f"{col} sd"].fillna(0), capsize=3,
               color=colour, label=f"{col} (mean ± sd over {int(summary.seeds.iloc[0])} seeds)")
    shown = ["retrained mean %", "shared weights mean %"]
    if slides:
        ax.bar(x + 0.27, summary["slides %"], 0.27, color="0.6", label="slides")
        shown.append("slides %")
    lo = min(summary[shown].min()) - 5
    ax.set(xticks=x, xticklabels=summary.arch, ylabel="test accuracy %", ylim=(max(lo, 0), 100),
           title="A-D: retrained and on the shared weights" + (", and the slides" if slides else ""))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return fig


def saturation(curve, paper_accuracy: dict | None):
    """Test accuracy against training images (log scale) for the retrained architectures, the slides' as lines
    (``paper_accuracy``; ``None`` on other data than theirs)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for k, (name, g) in enumerate(curve.sort_values("n_train").groupby("arch", sort=False)):
        colour = f"C{k}"
        ax.plot(g.n_train, g["accuracy %"], "o-", color=colour, label=f"{name}, retrained")
        if paper_accuracy:
            ax.axhline(paper_accuracy[name], color=colour, ls="--", lw=1, label=f"{name}, slides")
    ax.set_xscale("log")
    ax.set(xlabel="training images", ylabel="test accuracy %", title="where from-scratch accuracy saturates")
    ax.legend(fontsize=8)
    return fig
