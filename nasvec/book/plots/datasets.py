"""Figures of the chapter "Data sets used in this book"."""

from __future__ import annotations

import numpy as np

from ...data import ENAS_OPS
from ...experiments.datasets import op_shares


def enas_distributions(stats: dict, accuracy=None):
    """Op frequencies per source (bars) and, when given, the accuracy column of D-VAE's file (histogram)."""
    import matplotlib.pyplot as plt

    real = accuracy is not None
    fig, axes = plt.subplots(1, 2 if real else 1, figsize=(10 if real else 5, 3.2), squeeze=False)
    ax = axes[0, 0]
    width = 0.8 / len(stats)
    for k, (name, s) in enumerate(stats.items()):
        ax.bar(np.arange(6) + k * width, op_shares(s), width, label=name)
    ax.set_xticks(np.arange(6) + width * (len(stats) - 1) / 2, ENAS_OPS, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share of layers")
    ax.legend(fontsize=8)
    ax.set_title("operation frequencies", fontsize=10)
    if real:
        axes[0, 1].hist(accuracy, bins=40, color="tab:green")
        axes[0, 1].set_xlabel("weight-sharing accuracy on CIFAR-10")
        axes[0, 1].set_ylabel("architectures")
        axes[0, 1].set_title("accuracy column of the ENAS file", fontsize=10)
    return fig
