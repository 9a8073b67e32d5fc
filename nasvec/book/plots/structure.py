"""Figures of chapter 6 ("Predicting the structure from subsamples")."""

from __future__ import annotations

import numpy as np

from ...subsample.masked import ACTIVATIONS

_COLORS = {"best subsample": "#8c564b", "vote": "#1f77b4", "extrapolate": "#2ca02c", "set encoder": "#9467bd",
           "random search": "#ff7f0e", "evolution": "#d62728", "reinforce": "#e377c2", "AdaNet-style growth": "#17becf",
           "magnitude pruning": "#7f7f7f", "random search (N candidates)": "#bcbd22", "planted": "black",
           "best whole-data structure": "black"}


_SUBSAMPLE = ("best subsample", "vote", "extrapolate", "set encoder")


def _band(ax, x, mean, sd, label, color):
    ax.plot(x, mean, marker="o", ms=3, label=label, color=color)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)


def sweep(sw, summary, task: str, main):
    """Test error and aligned F of every meta-model against subsample size (at k = k*) and against the number
    of subsamples (at m = m*), mean and a band of one sd over seeds; random search on the whole data with the
    route's budget as a dashed line."""
    import matplotlib.pyplot as plt

    m_star, k_star = main
    d = sw[sw.task == task]
    ref = summary[(summary.task == task) & (summary.method == "random search")].iloc[0]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharey="row")
    for col, (var, fixed, val) in enumerate((("m", "k", k_star), ("k", "m", m_star))):
        for method, g in d[d[fixed] == val].groupby("method", sort=False):
            g = g.sort_values(var)
            for row, what in enumerate(("test_error", "F_aligned")):
                _band(axes[row, col], g[var], g[what], g[f"{what}_sd"].fillna(0), method, _COLORS[method])
        for row, what in enumerate(("test_error", "F_aligned")):
            ax = axes[row, col]
            ax.axhline(ref[what], ls="--", color=_COLORS["random search"], lw=1,
                       label="random search, whole data, route's budget")
            ax.set_xscale("log", base=2)
            ticks = sorted(d[var].unique())
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel("subsample size m" if var == "m" else "number of subsamples k")
            ax.set_ylabel("test error" if what == "test_error" else "F to the target (aligned)")
            ax.set_title(f"{'test error' if row == 0 else 'F'} at {fixed} = {val}", fontsize=10)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(task, fontsize=11)
    fig.tight_layout()
    return fig


def pareto(df, main):
    """Test error against K for every method (mean over seeds, bars one sd), one panel per task."""
    import matplotlib.pyplot as plt

    m, k = main
    pick = df[(df.family != "subsamples") | ((df.m == m) & (df.k == k))]
    tasks = list(dict.fromkeys(pick.task))
    cols = min(3, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.axis("off")
    for ax, task in zip(axes.flat, tasks):
        g = pick[pick.task == task].groupby("method", sort=False).agg(
            K=("K", "mean"), Ksd=("K", "std"), err=("test_error", "mean"), sd=("test_error", "std"))
        for method, r in g.iterrows():
            target = method in ("planted", "best whole-data structure")
            ax.errorbar(r.K, r.err, xerr=r.Ksd if np.isfinite(r.Ksd) else 0, yerr=r.sd if np.isfinite(r.sd) else 0,
                        fmt="*" if target else ("s" if method in _SUBSAMPLE else "o"), ms=9 if target else 6,
                        color=_COLORS.get(method, "gray"), label="target" if target else method, capsize=2)
        ax.set_xlabel("K (active connections)")
        ax.set_ylabel("test error")
        ax.set_title(task, fontsize=10)
        ax.grid(alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False,
               title="squares: meta-models on subsamples; circles: searches on the whole data; star: the target")
    fig.tight_layout(rect=(0, 0.12 / rows + 0.03, 1, 1))
    return fig


def masks(run, methods):
    """The target's masks beside the structures that ``methods`` found (hidden neurons aligned to the target):
    V_1 (inputs x hidden) above V_2 (hidden x outputs); each hidden column is labelled with its activation."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    items = [(run["target_name"], run["target"])] + [(m, run["masks"][m]) for m in methods]
    n, h, c = run["shape"]
    fig, axes = plt.subplots(2, len(items), figsize=(2.3 * len(items), 4.2),
                             gridspec_kw={"height_ratios": [n, max(c, 2)]}, squeeze=False)
    short = {a: a[:3] if a != "identity" else "id" for a in ACTIVATIONS}
    target = run["target"]
    for i, (name, z) in enumerate(items):
        for row, (v, ref) in enumerate(((z.v1, target.v1), (z.v2.T, target.v2.T))):
            img = np.where(v & ref, 3, np.where(v, 2, np.where(ref, 1, 0)))   # both, only here, only in target
            ax = axes[row, i]
            ax.imshow(img, cmap=ListedColormap(["white", "#f4c2c2", "#9ecae1", "black"]), vmin=0, vmax=3,
                      interpolation="nearest", aspect="auto")
            ax.set_xticks(range(h))
            ax.set_xticklabels([short[ACTIVATIONS[a]] for a in z.a1] if row == 0 else [], rotation=90, fontsize=6)
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{name}\nK = {z.K}", fontsize=8)
        axes[0, 0].set_ylabel("inputs (V1)", fontsize=8)
        axes[1, 0].set_ylabel("outputs (V2)", fontsize=8)
    fig.text(0.5, -0.02, "black: connection in both; blue: only in this structure; pink: only in the target",
             ha="center", fontsize=8)
    fig.tight_layout()
    return fig
