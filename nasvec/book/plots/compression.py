"""Figures of chapter 2 ("Compressing architecture graphs")."""

from __future__ import annotations

import numpy as np

#: the paper's colours (D-VAE red, DVAE-EMB green, the proposed model blue) and ours for the rest
COLORS = {"dvae": "tab:red", "dvae_emb": "tab:green", "split": "tab:blue", "ae": "tab:gray",
          "vae": "tab:purple", "seq2seq": "tab:orange"}


def losses(trained: dict):
    """Figure 1: reconstruction loss and KL divergence per graph against the epoch, per model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, (model, hist, _) in trained.items():
        ep = [r["epoch"] for r in hist]
        axes[0].plot(ep, [r["recon"] for r in hist], marker=".", color=COLORS[key],
                     label=f"{model.name} ({model.latent_dim})")
        if key != "ae":
            axes[1].plot(ep, [r["kl"] for r in hist], marker=".", color=COLORS[key], label=model.name)
    axes[0].set(xlabel="epoch", ylabel="reconstruction loss per graph (sum)", yscale="log", title="reconstruction")
    axes[1].set(xlabel="epoch", ylabel="KL divergence per graph (sum)", title="KL divergence")
    axes[0].legend(fontsize=8)
    return fig


def per_node_vs_per_graph(keys, table1):
    """Each model's per-graph against per-node accuracy, on the curve ``p^8`` of independent nodes."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    p = np.linspace(0, 1, 200)
    ax.plot(100 * p, 100 * p ** 8, color="black", lw=0.8, label="p⁸ (independent nodes)")
    for key, (_, r) in zip(keys, table1.iterrows()):
        ax.scatter(r["per node %"], r["per graph %"], color=COLORS[key], zorder=3, label=r["model"])
    ax.set(xlabel="per-node accuracy %", ylabel="per-graph accuracy %", title="the two measures of Table 1")
    ax.legend(fontsize=7)
    return fig


def latent_sweep(sweep_df, sweep: dict, names: dict):
    """Per-graph and per-node reconstruction against latent size (log axis), the paper's 6 dotted."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for key in sweep:
        d = sweep_df[sweep_df["model"] == names[key]]
        axes[0].plot(d["latent_dim"], 100 * d["per_graph"], marker="o", color=COLORS[key], label=names[key])
        axes[1].plot(d["latent_dim"], 100 * d["per_node"], marker="o", color=COLORS[key], label=names[key])
    for ax, what in zip(axes, ["per-graph", "per-node"]):
        ax.axvline(6, color="black", lw=0.6, ls=":")
        ax.set(xscale="log", xlabel="latent size (split: structure + types)", ylabel=f"{what} accuracy %",
               title=f"{what} reconstruction (D-VAE's protocol)")
        ax.set_xticks(sorted({d for k in sweep for d in sweep[k]}))
        ax.xaxis.set_major_formatter(plt.ScalarFormatter())
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
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
