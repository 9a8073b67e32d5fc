"""The tables of the chapter "Data sets used in this book" (``notebooks/datasets.ipynb``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import ENAS_OPS, ENAS_TYPES, FASHION_MNIST_CLASSES, enas_statistics


def class_counts(y_train, y_test) -> pd.DataFrame:
    """Fashion-MNIST images per class, train and test."""
    return pd.DataFrame({"class": FASHION_MNIST_CLASSES, "train": np.bincount(y_train, minlength=10),
                         "test": np.bincount(y_test, minlength=10)})


def enas_sources(generated, enas=None) -> dict:
    """:func:`nasvec.data.enas_statistics` of the generated graphs and, when given, of D-VAE's file."""
    stats = {"generated": enas_statistics(generated)}
    if enas is not None:
        stats["D-VAE file"] = enas_statistics(enas.graphs)
    return stats


def op_shares(s: dict) -> np.ndarray:
    """The share of the layers that use each ENAS op (six layers per graph)."""
    return np.array([s["op_counts"][op] for op in ENAS_OPS]) / (6 * s["graphs"])


def enas_summary(stats: dict) -> pd.DataFrame:
    """One row per source: graphs, distinct ones, the share of skip connections set, op shares."""
    return pd.DataFrame([
        dict(source=name, graphs=s["graphs"], distinct=s["distinct"],
             skip_share=s["skip_ones"] / (s["skip_ones"] + s["skip_zeros"]),
             **{op: s["op_counts"][op] / (6 * s["graphs"]) for op in ENAS_OPS})
        for name, s in stats.items()])


def data_sizes(digits_y, fashion=None, enas=None, n_generated: int = 0) -> pd.DataFrame:
    """The chapter's summary: every data set with its kind, split sizes, shape, classes and source.

    ``fashion``: ``(y_train, y_test)`` of Fashion-MNIST when it was loaded; ``enas``: D-VAE's file.
    """
    rows = [dict(data_set="digits", kind="images", train=len(digits_y), test=0,
                 shape="1×8×8", classes=len(np.unique(digits_y)), source="sklearn (embedded)")]
    if fashion is not None:
        fy, ty = fashion
        rows.append(dict(data_set="Fashion-MNIST", kind="images", train=len(fy), test=len(ty),
                         shape="1×28×28", classes=len(np.unique(fy)), source="Zalando Research (MIT)"))
    if enas is not None:
        rows.append(dict(data_set="ENAS (D-VAE)", kind="architectures", train=len(enas.train),
                         test=len(enas.test), shape="8 nodes", classes=len(ENAS_TYPES), source="D-VAE (MIT)"))
    rows.append(dict(data_set="ENAS (generated)", kind="architectures", train=n_generated, test=0,
                     shape="8 nodes", classes=len(ENAS_TYPES), source="nasvec.data.generate_enas"))
    return pd.DataFrame(rows)
