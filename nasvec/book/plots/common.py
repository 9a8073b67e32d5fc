"""Plots shared by the chapters: image grids and architecture graphs.

Introduced in "Data sets used in this book": :func:`image_grid`, :func:`draw_graph`.
"""

from __future__ import annotations

import numpy as np


def image_grid(images, labels, class_names=None, per_class: int = 6, title: str | None = None, seed: int = 0):
    """A grid with ``per_class`` random samples of each class (rows = classes)."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4:  # (n, 1, h, w)
        images = images[:, 0]
    labels = np.asarray(labels)
    classes = np.unique(labels)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.9), squeeze=False)
    for r, c in enumerate(classes):
        idx = rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False)
        for k, i in enumerate(idx):
            ax = axes[r, k]
            ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                name = class_names[c] if class_names is not None else str(c)
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def graph_layers(g) -> list[int]:
    """Depth of each node: the length of the longest path from a source."""
    depth = [0] * len(g.nodes)
    for s, d in sorted(g.edges, key=lambda e: e[1]):
        depth[d] = max(depth[d], depth[s] + 1)
    return depth


def draw_graph(g, ax=None, labels=None, colors=None, title: str | None = None, horizontal: bool = False):
    """Draw an architecture graph layer by layer (sources on top), nodes labelled by op."""
    import matplotlib.pyplot as plt
    import networkx as nx

    nxg = g.to_networkx()
    depth = graph_layers(g)
    pos, seen = {}, {}
    for i, d in enumerate(depth):
        k = seen.get(d, 0)
        seen[d] = k + 1
        pos[i] = (k, -d)
    for i, d in enumerate(depth):  # centre each layer
        pos[i] = (pos[i][0] - (seen[d] - 1) / 2, pos[i][1])
    if horizontal:
        pos = {i: (-y, x) for i, (x, y) in pos.items()}
    if ax is None:
        width = max(seen.values())
        h = max(depth) + 1
        size = (max(3, 1.6 * h), max(2, 1.2 * width)) if horizontal else (max(3, 1.6 * width), max(2, 0.8 * h))
        fig, ax = plt.subplots(figsize=size)
    labels = labels or {i: n.op for i, n in enumerate(g.nodes)}
    ops = sorted({n.op for n in g.nodes})
    palette = plt.get_cmap("tab20")
    colors = colors or [palette(ops.index(n.op) % 20) for n in g.nodes]
    # straight arrows between neighbouring layers, arcs for skips so they do not hide behind nodes
    short = [(s, d) for s, d in g.edges if depth[d] - depth[s] == 1]
    long_ = [(s, d) for s, d in g.edges if depth[d] - depth[s] > 1]
    common = dict(ax=ax, arrows=True, arrowsize=9, edge_color="#555555", node_size=600, width=0.8)
    nx.draw_networkx_edges(nxg, pos, edgelist=short, **common)
    nx.draw_networkx_edges(nxg, pos, edgelist=long_, connectionstyle="arc3,rad=0.35", **common)
    for i, (x, y) in pos.items():
        ax.text(x, y, labels[i], ha="center", va="center", fontsize=7, zorder=3,
                bbox=dict(boxstyle="round,pad=0.3", fc=colors[i], ec="#333333", lw=0.6))
    xs, ys = zip(*pos.values()) if pos else ((0,), (0,))
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax
