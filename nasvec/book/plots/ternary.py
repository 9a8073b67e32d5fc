"""Plots over the simplex (chapters 4 and 5): ternary maps, the triangle outline, op distributions."""

from __future__ import annotations

import numpy as np

from ...dnas.simplex import CORNERS, to_plane
from ...dnas.cells import CELL_TYPES


def ternary(ax, points, values, labels=("pool", "identity", "conv"), title="", cmap="viridis",
            marked=None, fmt="{:.0f}", size=120):
    """Scatter ``values`` at simplex ``points`` on a triangle; ``marked`` = {name: point} adds labels."""
    xy = to_plane(np.atleast_2d(points))
    tri = np.vstack([CORNERS, CORNERS[:1]])
    ax.plot(tri[:, 0], tri[:, 1], color="black", lw=1)
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap=cmap, s=size, edgecolors="grey", linewidths=0.5)
    for (x, y), v in zip(xy, values):
        ax.annotate(fmt.format(v), (x, y), xytext=(0, -11), textcoords="offset points", fontsize=6.5,
                    ha="center", va="center")
    offs = [(0.0, -0.17), (1.0, -0.17), (0.5, 0.905)]
    for (x, y), lab in zip(offs, labels):
        ax.text(x, y, f"{lab} = 1", ha="center", fontsize=8)
    for name, p in (marked or {}).items():
        x, y = to_plane(p)
        ax.annotate(name, (x, y), xytext=(x + 0.04, y + 0.03), fontsize=9, color="red", weight="bold")
        ax.plot(x, y, "x", color="red")
    ax.set_aspect("equal")
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.2, 0.97)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return sc


def op_distribution(ax, genotype, title=""):
    """Stacked bars: how many edges of each cell use each op."""
    ops = genotype.ops
    bottom = np.zeros(len(CELL_TYPES))
    for op in ops:
        counts = np.array([sum(e[0] == op for e in getattr(genotype, c)) for c in CELL_TYPES])
        ax.bar(CELL_TYPES, counts, bottom=bottom, label=op)
        bottom += counts
    ax.set_ylabel("edges")
    ax.set_title(title, fontsize=10)
