"""Figures of chapter 2 ("Compressing architecture graphs")."""

from __future__ import annotations

import numpy as np

#: the paper's colours (D-VAE red, DVAE-EMB green, the proposed model blue) and ours for the rest
COLORS = {"dvae": "tab:red", "dvae_emb": "tab:green", "pernode": "tab:blue", "split": "tab:cyan", "ae": "tab:gray",
          "vae": "tab:purple", "seq2seq": "tab:orange"}
#: the authors' recorded curves -> our model key
AUTHORS = {"dvae": "dvae", "dvae_emb": "dvae_emb", "pernode_structure": "pernode", "pernode_types": "pernode"}


def losses(trained: dict, authors: dict | None = None):
    """Figure 1: reconstruction loss and KL divergence per graph against the epoch (first run of each model),
    and, dashed, the curves the seed paper's authors recorded (``authors``: :func:`nasvec.data.authors.figure1_curves`)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for key, runs in trained.items():
        model, hist = runs[0].model, runs[0].history
        ep = [r["epoch"] for r in hist]
        axes[0].plot(ep, [r["recon"] for r in hist], color=COLORS[key], label=f"{model.name} (ours)")
        if key != "ae":
            axes[1].plot(ep, [r["kl"] for r in hist], color=COLORS[key], label=f"{model.name} (ours)")
    for name, df in (authors or {}).items():
        key = AUTHORS[name]
        if key not in trained:
            continue
        what = {"pernode_structure": " structure VAE", "pernode_types": " op-type VAE"}.get(name, "")
        style = ":" if name == "pernode_types" else "--"
        label = f"{trained[key][0].model.name}{what} (authors)"
        axes[0].plot(df.epoch, df.recon, ls=style, color=COLORS[key], alpha=0.8, label=label)
        axes[1].plot(df.epoch, df.kl, ls=style, color=COLORS[key], alpha=0.8, label=label)
    axes[0].set(xlabel="epoch", ylabel="reconstruction loss per graph (sum, nats)", yscale="log",
                title="reconstruction")
    axes[1].set(xlabel="epoch", ylabel="KL divergence per graph (sum, nats)", yscale="log", title="KL divergence")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=10)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def per_node_vs_per_graph(keys, table1):
    """Each model's per-graph against per-node accuracy, on the curve ``p^8`` of independent nodes."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.8))
    p = np.linspace(0, 1, 200)
    ax.plot(100 * p, 100 * p ** 8, color="black", lw=0.8, label="p⁸ (independent nodes)")
    for key, (_, r) in zip(keys, table1.iterrows()):
        ax.scatter(r["per node %"], r["exact decodes %"], color=COLORS[key], zorder=3, label=r["model"])
    ax.set(xlabel="per-node accuracy %", ylabel="exact decodes % (share of decodes)", title="the two measures of Table 1")
    ax.legend(fontsize=7)
    return fig


def latent_sweep(sweep_df, sweep: dict, names: dict):
    """Per-graph and per-node reconstruction against the code's size per graph (log axis)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for key in sweep:
        d = sweep_df[sweep_df["model"] == names[key]]
        for ax, col in zip(axes, ["per_graph", "per_node"]):
            ax.plot(d["code_per_graph"], 100 * d[col], marker="o", color=COLORS[key], label=names[key])
    ticks = sorted(set(sweep_df["code_per_graph"]))
    for ax, what in zip(axes, ["per-graph", "per-node"]):
        ax.set(xscale="log", xlabel="numbers per graph (per-node model: 8 nodes x its code)",
               ylabel=f"{what} accuracy %", title=f"{what} reconstruction (D-VAE's protocol)")
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(plt.ScalarFormatter())
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(fontsize=8)
    return fig


def search_curves(search, best_in_pool: float, objective_name: str):
    """Best objective found against the number of queries, mean ± std over seeds, per method."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for method, d in search.groupby("method", sort=False):
        s = d.groupby("query")["best"].agg(["mean", "std"])
        ax.plot(s.index, s["mean"], label=method)
        ax.fill_between(s.index, s["mean"] - s["std"], s["mean"] + s["std"], alpha=0.2)
    ax.axhline(best_in_pool, color="black", lw=0.8, ls="--", label="best in the pool")
    ax.set(xlabel="queries", ylabel=f"best {objective_name}", title="search over the architectures in the pool")
    ax.legend(fontsize=8)
    return fig


def equal_budget(budget_df, names: dict):
    """Test graphs reconstructed exactly against the CPU seconds of training, one line per model."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for key, name in names.items():
        d = budget_df[budget_df["model"] == name]
        if len(d):
            ax.plot(d["seconds"], 100 * d["per_graph"], marker="o", color=COLORS[key], label=name)
    ax.set(xscale="log", xlabel="CPU seconds of training", ylabel="test graphs reconstructed %",
           title="what a budget buys (most likely decode, mean code)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def convergence(curves, published: dict, names: dict):
    """The shipped models' test reconstruction while they trained, with their published figures dotted."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for key, name in names.items():
        d = curves[curves["model"] == name]
        if not len(d):
            continue
        ax.plot(d["epoch"], 100 * d["per_graph"], marker=".", color=COLORS[key], label=f"{name}: per graph")
        ax.plot(d["epoch"], 100 * d["per_node"], ls="--", color=COLORS[key], label=f"{name}: per node")
        if name in published:
            ax.axhline(published[name], ls=":", color=COLORS[key], label=f"{name}: published")
    ax.set(xlabel="epoch", ylabel="test reconstruction %", ylim=(0, 101),
           title="the shipped models while they trained (mean code, sampled decodes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig
