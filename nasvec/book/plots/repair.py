"""Figures of chapter 3 ("Repair rules")."""

from __future__ import annotations

import numpy as np

from ...experiments.table2 import AUTHORS_VARIANT, VARIANTS
from .common import draw_graph


def before_after(before, after):
    """A decode as decoded (left) and repaired (right), drawn layer by layer."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    draw_graph(before, ax=axes[0], title="as decoded")
    draw_graph(after, ax=axes[1], title="repaired")
    return fig


def table2_curves(runs: dict, models, seeds, data: str, authors=None):
    """Test accuracy per epoch of every Table 2 variant (mean over seeds), one panel per network; dashed, the
    authors' runs (mean over their three, ``authors``: :func:`nasvec.data.authors.table2_curves`)."""
    import matplotlib.pyplot as plt

    colors = dict(zip(VARIANTS, ["tab:blue", "tab:orange", "tab:green"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.8), squeeze=False)
    for ax, name in zip(axes[0], models):
        for variant in VARIANTS:
            acc = np.mean([runs[name, variant, s]["curves"]["test_acc"] for s in seeds], axis=0)
            ax.plot(range(1, len(acc) + 1), 100 * acc, marker="o", ms=3, color=colors[variant],
                    label=f"{variant} (ours, {data})")
            if authors is not None:
                a = authors[(authors.network == name) & (authors.variant.map(AUTHORS_VARIANT) == variant)]
                m = a.groupby("epoch").test_acc.mean()
                ax.plot(m.index, 100 * m.values, ls="--", color=colors[variant], label=f"{variant} (authors, CIFAR-10)")
        ax.set(title=name, xlabel="epoch", ylabel="test accuracy %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def damage_curves(summary):
    """Nodes and edges kept (mean over networks, and the worst network dotted) against the share of entries
    damaged, one line per kind of damage; noise on every entry as a horizontal band."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    kinds = [k for k in dict.fromkeys(summary.kind) if k != "noise"]
    colors = dict(zip(kinds, plt.cm.tab10.colors))
    for ax, what in zip(axes, ["nodes", "edges"]):
        for kind in kinds:
            d = summary[summary.kind == kind]
            ax.plot(d["k %"], d[f"{what}_mean"], marker="o", ms=3, color=colors[kind], label=kind)
            ax.plot(d["k %"], d[f"{what}_worst"], ls=":", color=colors[kind])
        noise = summary[summary.kind == "noise"]
        if len(noise):
            ax.axhline(float(noise[f"{what}_mean"].iloc[0]), color="black", lw=0.8, ls="--",
                       label="noise on every entry (mean)")
        ax.set(xscale="log", xlabel="entries damaged, % of each array", ylabel=f"{what} kept %", ylim=(0, 101),
               title=f"{what} kept (solid: mean over networks, dotted: the worst)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
