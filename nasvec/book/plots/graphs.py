"""Figures of chapter 1 ("A network as a graph")."""

from __future__ import annotations

import numpy as np

from ...graph import vocab


def zoo_histograms(stats, graphs):
    """Graph sizes (log bins), out-degrees of all nodes (log counts), and graphs per family."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].hist(stats.nodes, bins=np.logspace(np.log10(max(1, stats.nodes.min())), np.log10(stats.nodes.max() + 1), 30))
    axes[0].set(xscale="log", xlabel="nodes per graph", ylabel="graphs", title="graph size")
    degrees = np.concatenate([g.out_degrees() for g in graphs])
    axes[1].hist(degrees, bins=np.arange(0, degrees.max() + 2) - 0.5, log=True)
    axes[1].set(xlabel="out-degree of a node", ylabel="nodes (log)", title="out-degree")
    stats.family.value_counts().sort_index().plot.barh(ax=axes[2], title="families")
    fig.tight_layout()
    return fig


def op_frequencies(freq):
    """Nodes per op in the zoo (log scale), the paper's ops in blue and the exporter's in orange."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(freq.op, freq["count"], color=["tab:blue" if op in vocab.PAPER_OPS else "tab:orange" for op in freq.op])
    ax.set(yscale="log", ylabel="nodes in the zoo", title="op frequencies (blue: the paper's ops, orange: exporter ops)")
    ax.tick_params(axis="x", rotation=75)
    return fig


def codec_time(timing):
    """Encode and decode milliseconds per graph against its size (log-log)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(timing.nodes, 1000 * timing.encode_s, ".", ms=3, label="encode")
    ax.loglog(timing.nodes, 1000 * timing.decode_s, ".", ms=3, label="decode")
    ax.set(xlabel="nodes", ylabel="ms per graph", title=f"encode / decode time, {len(timing)} zoo graphs")
    ax.legend()
    return fig
