"""Plots of chapter 5: ternary (barycentric) maps over the simplex, op distributions, Pareto fronts."""

from __future__ import annotations

import numpy as np

from .ops import SearchError
from .space import CELL_TYPES

_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def barycentric(s) -> np.ndarray:
    """Plane coordinates ``(n, 2)`` of points ``(n, 3)`` of the 2-simplex (corners: e1 left, e2 right, e3 top)."""
    s = np.atleast_2d(np.asarray(s, dtype=np.float64))
    if s.shape[-1] != 3:
        raise SearchError(f"ternary plots need 3 ops, got points of length {s.shape[-1]}")
    return s @ _CORNERS


def ternary(ax, points, values, labels=("pool", "identity", "conv"), title="", cmap="viridis",
            marked=None, fmt="{:.0f}", size=120):
    """Scatter ``values`` at simplex ``points`` on a triangle; ``marked`` = {name: point} adds labels."""
    xy = barycentric(points)
    tri = np.vstack([_CORNERS, _CORNERS[:1]])
    ax.plot(tri[:, 0], tri[:, 1], color="black", lw=1)
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap=cmap, s=size, edgecolors="grey", linewidths=0.5)
    for (x, y), v in zip(xy, values):
        ax.annotate(fmt.format(v), (x, y), xytext=(0, -11), textcoords="offset points", fontsize=6.5,
                    ha="center", va="center")
    offs = [(0.0, -0.17), (1.0, -0.17), (0.5, 0.905)]
    for (x, y), lab in zip(offs, labels):
        ax.text(x, y, f"{lab} = 1", ha="center", fontsize=8)
    for name, p in (marked or {}).items():
        (x, y), = barycentric(p)
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
