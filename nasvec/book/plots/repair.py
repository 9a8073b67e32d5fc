"""Figures of chapter 3 ("Repair rules")."""

from __future__ import annotations

import numpy as np

from ...experiments.table2 import VARIANTS
from .common import draw_graph


def before_after(before, after):
    """A decode as decoded (left) and repaired (right), drawn layer by layer."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    draw_graph(before, ax=axes[0], title="as decoded")
    draw_graph(after, ax=axes[1], title="repaired")
    return fig


def table2_curves(runs: dict, models, seeds):
    """Test accuracy per epoch of every Table 2 variant (mean over seeds), one panel per network."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.5), squeeze=False)
    for ax, name in zip(axes[0], models):
        for variant in VARIANTS:
            acc = np.mean([runs[name, variant, s]["curves"]["test_acc"] for s in seeds], axis=0)
            ax.plot(range(1, len(acc) + 1), 100 * acc, marker="o", label=variant)
        ax.set(title=name, xlabel="epoch", ylabel="test accuracy %")
        ax.legend()
    return fig
