"""Figures of chapter 7 ("Search and evaluation strategies side by side")."""

from __future__ import annotations

import numpy as np

_COLORS = {"random": "#7f7f7f", "evolution": "#d62728", "local search": "#2ca02c", "REINFORCE": "#e377c2",
           "GP-BO (one-hot)": "#1f77b4", "BANANAS": "#ff7f0e", "GP-BO (latent: per node)": "#9467bd",
           "GP-BO (latent: D-VAE)": "#17becf", "one-shot": "black"}


def anytime(studies: dict, oneshot=None):
    """Regret (best of the table minus the best found) against queries, one panel per benchmark: the mean over
    seeds and a band from the 25th to the 75th percentile; log scale. ``oneshot``: a (cost in reference trainings,
    regret) point per seed to mark on the live panel."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(studies), 1, figsize=(8, 3.6 * len(studies)), squeeze=False)
    for ax, (bench, traces) in zip(axes[:, 0], studies.items()):
        for name, tr in traces.items():
            reg = tr.regret()
            q = np.arange(1, reg.shape[1] + 1)
            color = _COLORS.get(name)
            ax.plot(q, reg.mean(0), label=name, color=color, lw=1.5)
            lo, hi = np.percentile(reg, [25, 75], axis=0)
            ax.fill_between(q, lo, hi, color=color, alpha=0.12, lw=0)
            n_seeds = reg.shape[0]
        if oneshot is not None and bench == "live":
            ax.scatter(oneshot["in reference trainings"], oneshot["regret"], color="black", marker="*",
                       s=90, zorder=5, label="one-shot (cost in reference trainings)")
        ax.set(xscale="log", xlabel="queries (reference trainings on the live pool)", ylabel="regret (accuracy points)",
               title=f"{bench} ({n_seeds} seeds)")
        ax.set_yscale("symlog", linthresh=0.01)   # a regret of 0 (the best cell found) stays on the axis
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=8, loc="lower left", ncol=2)
    fig.tight_layout()
    return fig


def proxies(spear, anchors: dict, nb201=None):
    """Spearman rho of every evaluation strategy with the reference training on the live benchmark, its seconds per cell,
    and on NAS-Bench-201 beside Abdelfattah et al.'s values."""
    import matplotlib.pyplot as plt

    n = 2 if nb201 is None else 3
    fig, axes = plt.subplots(n, 1, figsize=(7.5, 3.8 * n))
    s = spear.sort_values("spearman")
    colors = [{"training": "#1f77b4", "extrapolation": "#2ca02c"}.get(k, "#ff7f0e") for k in s.kind]
    axes[0].barh(s.strategy, s.spearman, color=colors)
    axes[0].set(xlabel="Spearman rho with the reference training", title="live benchmark: rank correlation")
    axes[0].axvline(0, color="black", lw=0.8)
    axes[1].scatter(s.seconds, s.spearman, c=colors)
    for _, r in s.iterrows():
        axes[1].annotate(r.strategy, (r.seconds, r.spearman), fontsize=7, xytext=(3, 3), textcoords="offset points")
    axes[1].set(xscale="log", xlabel="seconds per cell", ylabel="Spearman rho", title="live benchmark: cost and rank")
    axes[1].grid(alpha=0.3)
    if nb201 is not None:
        names = list(nb201.strategy)
        y = np.arange(len(names))
        axes[2].barh(y - 0.2, nb201["ours: Spearman rho"], height=0.4, label="ours", color="#ff7f0e")
        axes[2].barh(y + 0.2, [anchors.get(k, np.nan) for k in names], height=0.4, label="Abdelfattah et al.",
                     color="#7f7f7f")
        axes[2].set(yticks=y, yticklabels=names, xlabel="Spearman rho with 200-epoch accuracy",
                    title="NAS-Bench-201 (CIFAR-10)")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost(table):
    """Each strategy's own compute per query against its final regret, one marker per benchmark."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.4))
    markers = dict(zip(table.benchmark.unique(), "osD^"))
    for _, r in table.iterrows():
        ax.scatter(r["ms per query"], r["final regret"], color=_COLORS.get(r.strategy), marker=markers[r.benchmark], s=50)
    for name in table.strategy.unique():
        ax.scatter([], [], color=_COLORS.get(name), marker="o", label=name)
    ax.legend(fontsize=8, loc="best")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(bottom=0)
    ax.set(xscale="log", xlabel="strategy's own compute, ms per query (table look-up excluded)",
           ylabel="final regret (points)",
           title="cost and regret (" + ", ".join(f"{m} {b}" for b, m in markers.items()) + ")")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
