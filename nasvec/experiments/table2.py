"""Chapter 3's Table 2: ResNet18 and AlexNet trained as written, after a round trip, after compression
and repair (``notebooks/repair.ipynb``).

:class:`Table2Config` is the table's setting (networks, input sizes, data, seeds) and
:class:`~nasvec.train.TrainConfig` its training; :func:`table2_network` builds one cell's network and
:func:`run_table2` trains every cell (cached).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..cache import cached
from ..compress.attributed import AttrBatch
from ..config import Config, check
from ..data import image_data, load_digits, load_fashion_mnist
from ..data.reference import reference
from ..errors import ConfigError
from ..graph.vectors import decode, encode
from ..io import from_torch, to_torch
from ..repair import repair
from ..train import TrainConfig, fit

VARIANTS = ("original", "roundtrip", "compressed")

#: the seed paper's Table 2 (50 epochs, data set not named): accuracy % (mean ± deviation)
PAPER = {("resnet18", "roundtrip"): "78.99 ± 0.39", ("resnet18", "compressed"): "79.17 ± 0.23",
         ("resnet18", "original"): "78.99 ± 0.39", ("alexnet", "roundtrip"): "70.46 ± 0.50",
         ("alexnet", "compressed"): "60.44 ± 0.39", ("alexnet", "original"): "71.54 ± 0.42"}


#: Table 2's training unless a profile says otherwise: the paper's 50 epochs; the paper names no optimizer,
#: so AdamW (lr 3e-4, weight decay 5e-4, cosine schedule): AlexNet, without batch normalisation, learns slowly
#: under SGD with momentum in the few epochs a CPU profile affords
TRAINING = TrainConfig(epochs=50, batch_size=128, lr=3e-4, optimizer="adamw", weight_decay=5e-4, schedule="cosine")


@dataclass(frozen=True)
class Table2Config(Config):
    """Which networks (``models``) at which input side (``sizes``), on which images (``data``: ``digits``
    or ``fashion_mnist``, ``n_train`` / ``n_test`` of them, drawn with ``split_seed``), over which
    ``seeds`` (of the weights and the training)."""

    models: tuple = ("resnet18", "alexnet")
    sizes: dict = field(default_factory=lambda: {"resnet18": 8, "alexnet": 28})
    data: str = "digits"
    n_train: int = 64
    n_test: int = 128
    seeds: tuple = (0,)
    split_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        check(self.data in ("digits", "fashion_mnist"), f"Table 2: data must be 'digits' or 'fashion_mnist', "
                                                         f"got {self.data!r}")
        missing = [m for m in self.models if m not in self.sizes]
        check(not missing, f"Table 2: no input size for {missing} (sizes: {self.sizes})")


def table2_network(name: str, variant: str, input_shape, num_classes: int, seed: int, compressor=None):
    """The network of one Table 2 cell, with fresh weights drawn after ``torch.manual_seed(seed)``.

    ``original``: the torch module of :mod:`nasvec.data.reference` (``small_input=True``); ``roundtrip``:
    that module exported (:func:`nasvec.io.from_torch`) -> :func:`encode` -> :func:`decode` ->
    :func:`to_torch`; ``compressed``: the graph encoded by ``compressor`` (an ``AttributedSplitVAE``) to its
    mean code, decoded and repaired (:func:`nasvec.repair.repair` with ``num_classes``) -> ``to_torch``.
    Returns ``(module, graph or None, repairs dict or None)``.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}, got {variant!r}")
    shape = tuple(input_shape)
    torch.manual_seed(seed)
    module = reference(name, num_classes=num_classes, in_channels=shape[1], small_input=True)
    if variant == "original":
        return module, None, None
    g = from_torch(module, torch.zeros(shape))
    if variant == "roundtrip":
        g2 = decode(encode(g))
        repairs = None
    else:
        if compressor is None:
            raise ConfigError("variant 'compressed' needs compressor=")
        batch = AttrBatch.from_graphs_attrs([g], compressor.codec, compressor.max_nodes)
        with torch.no_grad():
            arrays = compressor.to_arrays(compressor.encode(batch))[0]
        g2, repairs = repair(arrays, input_shape=shape, num_classes=num_classes, report=True)
    torch.manual_seed(seed)
    return to_torch(g2, shape), g2, repairs


def _images(cfg: Table2Config):
    return load_digits() if cfg.data == "digits" else load_fashion_mnist("train")


def run_table2(cfg: Table2Config, training: TrainConfig, compressor, compressor_key: dict) -> dict:
    """Train every network of ``cfg`` in every variant and seed (``training`` with each seed), cached under
    the whole setting (``compressor_key`` identifies the compressor of the ``compressed`` variant).
    Returns ``{(model, variant, seed): {"curves", "repairs", "nodes", "cached"}}``."""
    x_all, y_all = _images(cfg)
    runs = {}
    for name in cfg.models:
        data = image_data(x_all, y_all, cfg.n_train, cfg.n_test, size=cfg.sizes[name], seed=cfg.split_seed)
        shape = data.input_shape
        for variant in VARIANTS:
            for s in cfg.seeds:
                run_cfg = training.replace(seed=s)

                def train_one(name=name, variant=variant, s=s, data=data, shape=shape, run_cfg=run_cfg):
                    net, g, repairs = table2_network(name, variant, shape, 10, s, compressor=compressor)
                    curves = fit(net, data, run_cfg)
                    return {"curves": curves, "repairs": repairs, "nodes": None if g is None else len(g)}

                key = {"model": name, "variant": variant, "data": cfg.data, "n_train": cfg.n_train,
                       "n_test": cfg.n_test, "size": cfg.sizes[name], "split_seed": cfg.split_seed, "training": run_cfg,
                       "compressor": compressor_key if variant == "compressed" else None}
                runs[name, variant, s], hit = cached("repair-table2", key, train_one)
                runs[name, variant, s]["cached"] = hit
    return runs


def table2_table(runs: dict, cfg: Table2Config, training: TrainConfig) -> pd.DataFrame:
    """Table 2: accuracy (mean and std over seeds), parameters and graph size per network and variant,
    beside the paper's numbers."""
    rows = []
    for name in cfg.models:
        for variant in VARIANTS:
            accs = [100 * runs[name, variant, s]["curves"]["final_acc"] for s in cfg.seeds]
            r0 = runs[name, variant, cfg.seeds[0]]
            rows.append({"model": name, "variant": variant, "input": f"{cfg.sizes[name]}x{cfg.sizes[name]}",
                         "data": cfg.data, "train images": cfg.n_train, "epochs": training.epochs,
                         "seeds": len(cfg.seeds), "accuracy % (mean)": np.mean(accs),
                         "std": np.std(accs, ddof=1) if len(accs) > 1 else np.nan,
                         "params": r0["curves"]["params"], "graph nodes": r0["nodes"],
                         "paper (50 epochs, data set not named)": PAPER[name, variant]})
    return pd.DataFrame(rows)


def table2_repairs(runs: dict, cfg: Table2Config) -> pd.DataFrame:
    """The rules repair applied to each compressed network (first seed)."""
    return pd.DataFrame([{"model": name, **(runs[name, "compressed", cfg.seeds[0]]["repairs"] or {})}
                         for name in cfg.models]).fillna(0)


def provenance(runs: dict, training: TrainConfig) -> list[dict]:
    """One provenance row per training of Table 2 (where it came from, how long it took)."""
    return [{"what": "Table 2", "model": name, "variant": variant, "seed": s, "epochs": training.epochs,
             "seconds": runs[name, variant, s]["curves"]["seconds"], "from cache": runs[name, variant, s]["cached"],
             "config": training.replace(seed=s).describe()}
            for (name, variant, s) in runs]
