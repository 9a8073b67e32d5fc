"""The LIVE benchmark: NAS-Bench-201's cell space, trained for real (introduced in chapter 7).

The NAS-Bench-201 table (:mod:`nasvec.data.nb201`) gives every cell's accuracy after a training no
CPU can repeat, so on it an evaluation strategy can only be *looked up*. Here the same 15,625 cells
are put in a small :class:`~nasvec.strategies.cellnet.CellNet` (few channels, one or two cells per
stage) and trained on small image sets — scikit-learn's 8x8 digits (``dataset="digits"``, the quick
profile) or a Fashion-MNIST subset (``"fashion"``) — so that every evaluation strategy is run, and
timed, side by side on the same cells:

* full training (:class:`LiveConfig`'s ``training.epochs`` on all ``n_train`` images): its *test* accuracy is
  the ground truth ``accuracy``; its *validation* accuracy is the strategy ``reference_val`` (how well a
  search that trains everything could rank — the noise ceiling);
* lower fidelities ``(epochs, fraction)``: fewer epochs, a fraction of the training images; the
  strategy's score is its validation accuracy;
* the zero-cost proxies (:mod:`nasvec.strategies.proxies`) on one batch of training images.

:func:`live_table` trains and scores ``n`` random distinct cells, one row per cell, each cell cached
(:func:`nasvec.cache.cached`) and mapped with :func:`nasvec.parallel.pmap`, so an interrupted run
resumes; :func:`spearman_table` compares the strategies: Spearman's rho with the ground truth, the
regret of the cell each ranks first, and the seconds per cell. A cell's training is seeded by the
config alone, so the same cell and config give the same accuracy.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..config import Config, check
from ..errors import ConfigError
from ..data.nb201 import N_CELLS
from ..train import TrainConfig
from . import cellnet as _cellnet
from . import proxies as _proxies
from .cellnet import EDGE_COLUMNS, CellNet, check_cell

DATASETS = ("digits", "fashion")
CACHE_NAME = "strategies-live-cell"
#: learning-curve extrapolation's strategy name: the reference training's first epochs, extrapolated to its last
LC_NAME = "lc_extrapolate"


@dataclass(frozen=True)
class LiveConfig(Config):
    """The live benchmark: which images, the network's size and its full-fidelity training.

    ``dataset``: ``"digits"`` (8x8, 1,797 images in all: ``n_train + n_val + n_test`` at most that) or
    ``"fashion"`` (28x28, a class-stratified subset of Fashion-MNIST's training split for train and
    validation and of its test split for test; ``image_size`` resizes). ``training``: the
    :class:`~nasvec.train.TrainConfig` of a cell's full-fidelity training (default: 4 epochs of Adam at
    lr 3e-3 on a cosine schedule, batches of 64); its ``seed`` is the benchmark's one seed (the split, the
    weights, the shuffling, the proxies' batch). ``threads`` torch threads per training; ``proxy_batch``:
    the training images the zero-cost proxies see.
    """

    dataset: str = "digits"
    n_train: int = 1000
    n_val: int = 300
    n_test: int = 497
    channels: int = 8
    cells_per_stage: int = 1
    training: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=4))
    threads: int = 1
    proxy_batch: int = 64
    image_size: int | None = None

    @property
    def seed(self) -> int:
        """The benchmark's one seed: the training's."""
        return self.training.seed

    @property
    def reference(self) -> str:
        """What the benchmark's ground truth is, by name: ``"the 3-epoch training"`` (never "full training")."""
        return f"the {self.training.epochs}-epoch training"

    def settings_table(self, fidelities=()):
        """The live benchmark's settings as a two-column table (setting, value), printed beside its results."""
        import pandas as pd

        side = self.image_size or (28 if self.dataset == "fashion" else 8)
        data = "Fashion-MNIST" if self.dataset == "fashion" else "scikit-learn digits"
        tr = self.training
        rows = [("data", f"{data}, {side}x{side}: {self.n_train:,} training, {self.n_val:,} validation, "
                         f"{self.n_test:,} test images"),
                ("network", f"{self.channels} channels in the first stage, {self.cells_per_stage} cell(s) per stage"),
                ("ground truth", f"{self.reference}: {tr.epochs} epochs of {tr.optimizer} at lr {tr.lr:g}, batch "
                                 f"{tr.batch_size}, test accuracy")]
        rows += [("lower fidelity", f"{e} epoch(s) on {f:.0%} of the training images, validation accuracy")
                 for e, f in fidelities]
        return pd.DataFrame(rows, columns=["setting", "value"])

    def __post_init__(self):
        check(self.dataset in DATASETS, f"LiveConfig: dataset must be one of {list(DATASETS)}, got {self.dataset!r}")
        for name in ("n_train", "n_val", "n_test", "channels", "cells_per_stage", "threads"):
            value = getattr(self, name)
            check(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                  f"LiveConfig: {name} must be an integer >= 1, got {value!r}")
        check(isinstance(self.proxy_batch, int) and 2 <= self.proxy_batch <= self.n_train,
              f"LiveConfig: proxy_batch must be an integer in 2..n_train ({self.n_train}), got {self.proxy_batch!r}")
        check(isinstance(self.training, TrainConfig), f"LiveConfig: training must be a TrainConfig or a mapping of "
                                                      f"its settings, got {self.training!r}")
        check(self.image_size is None or (isinstance(self.image_size, int) and self.image_size >= 4),
              f"LiveConfig: image_size must be None or an integer >= 4, got {self.image_size!r}")
        if self.dataset == "digits":
            total = self.n_train + self.n_val + self.n_test
            check(total <= 1797, f"LiveConfig: n_train + n_val + n_test = {total} exceeds the 1797 digits")


# --------------------------------------------------------------------------- data
def live_data(cfg: LiveConfig) -> dict:
    """``{x_train, y_train, x_val, y_val, x_test, y_test}``: float tensors ``[n, 1, H, W]`` standardised
    with the training images' mean and deviation, int64 labels (loaded once per process)."""
    return _load(cfg.dataset, cfg.n_train, cfg.n_val, cfg.n_test, cfg.seed, cfg.image_size)


@lru_cache(maxsize=4)
def _load(dataset, n_train, n_val, n_test, seed, image_size) -> dict:
    import torch
    import torch.nn.functional as F

    from ..data.images import load_images

    data = load_images(dataset == "fashion", n_train + n_val, n_test, seed)
    order = torch.as_tensor(np.random.default_rng(seed).permutation(n_train + n_val))
    x, y = data.x_train[order], data.y_train[order]
    parts = {"train": (x[:n_train], y[:n_train]), "val": (x[n_train:], y[n_train:]),
             "test": (data.x_test, data.y_test)}
    mean, std = parts["train"][0].mean(), parts["train"][0].std()
    out = {}
    for name, (xs, ys) in parts.items():
        if image_size is not None and xs.shape[-1] != image_size:
            xs = F.interpolate(xs, size=(image_size, image_size), mode="bilinear", align_corners=False)
        out[f"x_{name}"], out[f"y_{name}"] = ((xs - mean) / std).contiguous(), ys
    return out


def _net(cell, cfg: LiveConfig):
    return CellNet(cell, cfg.channels, cfg.cells_per_stage, in_channels=1, n_classes=10)


class torch_threads:
    """``torch.set_num_threads(n)`` for a block, the previous number restored."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.before)


# --------------------------------------------------------------------------- one cell
def train_cell(cell, cfg: LiveConfig, epochs: int | None = None, fraction: float = 1.0, curve: bool = False) -> dict:
    """Train ``cell``'s network from scratch: ``epochs`` (default ``cfg.training.epochs``) on the first ``fraction``
    of the training images. Returns ``{"accuracy": test %, "val_accuracy": validation %, "seconds":
    training and validation time}``; the same cell, config, epochs and fraction give the same numbers.
    The BatchNorm statistics are recomputed on the training images before evaluating (:func:`recalibrate_bn`).
    ``curve``: also ``"val_curve"`` (validation % after each epoch, measured the same way) and ``"epoch_seconds"``
    (seconds from the start to the end of each epoch, the measurements excluded) and ``"measure_seconds"`` (the
    measurements' seconds up to each epoch): a learning curve."""
    import torch

    from ..data.images import ImageData
    from ..train import accuracy, fit_classifier

    cell = check_cell(cell)
    tc = cfg.training if epochs is None else cfg.training.replace(epochs=epochs)
    if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
        raise ConfigError(f"train_cell: fraction must be in (0, 1], got {fraction!r}")
    d = live_data(cfg)
    n = max(2, int(round(fraction * cfg.n_train)))
    with torch_threads(cfg.threads):
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed)
        net = _net(cell, cfg)
        lc = {"val_curve": [], "epoch_seconds": [], "measure_seconds": [], "measuring": 0.0}

        def measure(epoch):
            t = time.perf_counter()
            lc["epoch_seconds"].append(t - t0 - lc["measuring"])
            recalibrate_bn(net, d["x_train"][:n])
            lc["val_curve"].append(100.0 * accuracy(net, d["x_val"], d["y_val"]))
            lc["measuring"] += time.perf_counter() - t
            lc["measure_seconds"].append(lc["measuring"])

        fit_classifier(net, ImageData(d["x_train"][:n], d["y_train"][:n], d["x_val"], d["y_val"]), tc, evaluate=False,
                       after_epoch=measure if curve else None)
        recalibrate_bn(net, d["x_train"][:n])
        val = accuracy(net, d["x_val"], d["y_val"])
        seconds = time.perf_counter() - t0 - lc["measuring"]
        test = accuracy(net, d["x_test"], d["y_test"])
    out = {"accuracy": 100.0 * test, "val_accuracy": 100.0 * val, "seconds": seconds}
    if curve:
        out.update(val_curve=lc["val_curve"], epoch_seconds=lc["epoch_seconds"], measure_seconds=lc["measure_seconds"])
    return out


def extrapolate(curve, final_epoch: int) -> float:
    """Learning-curve extrapolation: fit ``acc(e) = a - b / e`` to the accuracies after epochs ``1..len(curve)`` (least
    squares; one point: the curve is flat) and predict the accuracy after ``final_epoch``. Introduced in chapter 7."""
    acc = np.asarray(curve, dtype=np.float64)
    if len(acc) == 0:
        raise ConfigError("extrapolate: the learning curve is empty")
    if len(acc) == 1:
        return float(acc[0])
    e = np.arange(1, len(acc) + 1, dtype=np.float64)
    design = np.stack([np.ones_like(e), -1.0 / e], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, acc, rcond=None)
    return float(a - b / final_epoch)


def recalibrate_bn(net, x, batch_size: int = 500) -> None:
    """Set every BatchNorm's running statistics to the mean and variance over ``x`` (one pass in training
    mode, cumulative averages). A training of a few dozen steps leaves the running averages (momentum 0.1)
    far from the weights' statistics, and the evaluation in eval mode near chance; this pass removes that
    artefact of short schedules without changing a weight."""
    import torch

    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for k in range(0, len(x), batch_size):
            net(x[k:k + batch_size])
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    net.eval()


def cell_proxies(cell, cfg: LiveConfig, names: Sequence[str] = _proxies.PROXIES) -> dict:
    """``{name: (score, seconds)}`` of the zero-cost proxies of ``cell``'s live network on the first
    ``cfg.proxy_batch`` training images (seeded by ``cfg.seed``)."""
    cell = check_cell(cell)
    d = live_data(cfg)
    k = cfg.proxy_batch
    with torch_threads(cfg.threads):
        return _proxies.proxy_scores(lambda: _net(cell, cfg), d["x_train"][:k], d["y_train"][:k], names, cfg.seed)


def fidelity_name(epochs: int, fraction: float) -> str:
    """``train_2ep`` (all images) or ``train_2ep_25pct`` (a quarter of them)."""
    return f"train_{epochs}ep" if fraction == 1 else f"train_{epochs}ep_{100 * fraction:g}pct"


def _check_fidelities(fidelities) -> tuple:
    out = []
    for f in fidelities:
        try:
            e, frac = f
        except (TypeError, ValueError):
            raise ConfigError(f"a fidelity is (epochs, fraction), got {f!r}") from None
        if not (isinstance(e, int) and e >= 1 and 0 < frac <= 1):
            raise ConfigError(f"a fidelity needs epochs >= 1 and fraction in (0, 1], got {f!r}")
        out.append((int(e), float(frac)))
    return tuple(out)


def _cell_row(item) -> dict:
    """One row of :func:`live_table` (a :func:`~nasvec.parallel.pmap` task, cached per cell)."""
    from ..cache import cached

    cfg, cell, fidelities, names = item
    row, _ = cached(CACHE_NAME, _key(*item), lambda: _compute_row(cfg, cell, fidelities, names))
    return row


def _key(cfg, cell, fidelities, names) -> dict:
    """The cache key of a row: the config, the cell, the fidelities, the proxies and the code that computes it."""
    import sys

    return {"cfg": cfg, "cell": list(cell), "fidelities": [list(f) for f in fidelities], "proxies": list(names),
            "code": [_cellnet, _proxies, sys.modules[__name__]]}


def _compute_row(cfg, cell, fidelities, names) -> dict:
    row = {"cell": ",".join(map(str, cell)), **dict(zip(EDGE_COLUMNS, cell))}
    full = train_cell(cell, cfg, curve=True)
    row.update(accuracy=full["accuracy"], val_accuracy=full["val_accuracy"], seconds=full["seconds"],
               reference_val_score=full["val_accuracy"], reference_val_seconds=full["seconds"])
    seen = cfg.training.epochs - 1   # learning-curve extrapolation sees every epoch but the last
    if seen >= 1:
        cost = full["epoch_seconds"][seen - 1] + full["measure_seconds"][seen - 1]
        row.update({LC_NAME + "_score": extrapolate(full["val_curve"][:seen], cfg.training.epochs),
                    LC_NAME + "_seconds": cost,
                    # the same curve read without extrapolating: what the extrapolation adds, at the same cost
                    f"first_{seen}ep_score": full["val_curve"][seen - 1], f"first_{seen}ep_seconds": cost})
    for epochs, fraction in fidelities:
        r = train_cell(cell, cfg, epochs, fraction)
        s = fidelity_name(epochs, fraction)
        row.update({f"{s}_score": r["val_accuracy"], f"{s}_accuracy": r["accuracy"], f"{s}_seconds": r["seconds"]})
    for name, (score, seconds) in (cell_proxies(cell, cfg, names).items() if names else ()):
        row.update({f"{name}_score": score, f"{name}_seconds": seconds})
    return row


# --------------------------------------------------------------------------- the table
def sample_cells(n: int, seed: int = 0) -> list[tuple]:
    """``n`` distinct cells drawn uniformly from the 15,625 (row ``i`` of the NAS-Bench-201 numbering is
    the base-5 number ``i``, first edge most significant)."""
    if not (isinstance(n, int) and 1 <= n <= N_CELLS):
        raise ConfigError(f"sample_cells: n must be an integer in 1..{N_CELLS}, got {n!r}")
    idx = np.random.default_rng(seed).choice(N_CELLS, size=n, replace=False)
    return [tuple(int(i) // 5 ** p % 5 for p in range(5, -1, -1)) for i in idx]


def live_table(cfg: LiveConfig, n_cells: int, seed: int = 0, fidelities: Sequence = ((1, 1.0),),
               proxies: bool | Sequence[str] = True, cells: Sequence | None = None, progress: bool = True):
    """One row per cell: its op ids (``e01`` ... ``e23``, and ``cell`` as text), the ground truth
    ``accuracy`` (test %, full training), ``val_accuracy`` and ``seconds``; per fidelity ``s``
    (:func:`fidelity_name`) ``s_score`` (validation %), ``s_accuracy`` (test %), ``s_seconds``; per
    proxy ``p`` ``p_score`` and ``p_seconds``. ``n_cells`` distinct random cells (``seed``), or the given
    ``cells``. ``proxies``: ``True`` (all), ``False`` (none) or a list of names. ``df.attrs["from_cache"]``
    counts the rows loaded from the cache (not a column: the table stays the same either way).
    """
    import pandas as pd

    from ..cache import cache_path
    from ..parallel import pmap

    fidelities = _check_fidelities(fidelities)
    names = _proxies.PROXIES if proxies is True else (() if proxies is False else _proxies.check_names(proxies))
    cells = sample_cells(n_cells, seed) if cells is None else [check_cell(c) for c in cells]
    items = [(cfg, cell, fidelities, tuple(names)) for cell in cells]
    hits = sum(cache_path(CACHE_NAME, _key(*item)).is_file() for item in items)
    rows = pmap(_cell_row, items, desc="live cells", progress=progress, cpus_per_task=cfg.threads)
    df = pd.DataFrame(rows)
    df.attrs["from_cache"] = int(hits)
    df.attrs["config"] = cfg.describe()
    return df


def strategies_of(df) -> list[str]:
    """The evaluation strategies of a live table: every ``<name>_score`` column, in order."""
    return [c[:-len("_score")] for c in df.columns if c.endswith("_score")]


def spearman_table(df, truth: str = "accuracy"):
    """Per strategy (each ``<s>_score`` column of ``df``): ``spearman`` (rho with ``truth``), ``regret``
    (best ``truth`` minus the ``truth`` of the cell the strategy ranks first; where several cells tie for
    first, their mean: the expected regret of a random tie-break), ``seconds`` (mean per cell) and ``kind``
    (``training``, ``extrapolation`` or ``proxy``). A NaN score ranks last; a constant score has rho NaN."""
    import pandas as pd
    from scipy.stats import ConstantInputWarning, spearmanr

    if truth not in df.columns:
        raise ConfigError(f"spearman_table: the table has no ground-truth column {truth!r}")
    y = df[truth].to_numpy(dtype=float)
    rows = []
    for s in strategies_of(df):
        score = df[f"{s}_score"].to_numpy(dtype=float)
        score = np.where(np.isnan(score), -np.inf, score)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConstantInputWarning)
            rho = float(spearmanr(score, y).statistic) if len(y) > 1 else math.nan
        top = score == score.max()
        sec = f"{s}_seconds"
        kind = "proxy" if s in _proxies.MEASURES else "extrapolation" if s == LC_NAME else "training"
        rows.append({"strategy": s, "kind": kind, "spearman": rho,
                     "regret": float(y.max() - y[top].mean()),
                     "seconds": float(df[sec].mean()) if sec in df.columns else math.nan, "n": len(y)})
    return pd.DataFrame(rows)
