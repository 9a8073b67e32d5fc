"""Chapter 3's Table 2: ResNet18 and AlexNet trained as written, after a round trip, after compression
and repair (``notebooks/repair.ipynb``), beside the runs of the seed paper's authors.

The authors' Table 2 (their repository: CIFAR-10, Adam, lr 1e-4, batch 64, 50 epochs, three runs per
variant) measures how much a near-lossless, per-node compression perturbs a network and what that
costs. :func:`changes` says what changed in each variant (graph edit distance with the edits,
parameters, repair rules); :func:`run_table2` trains every cell (cached); :func:`table2_table` puts
our runs beside the authors'. :class:`Table2Config` is the table's setting and
:class:`~nasvec.train.TrainConfig` its training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..cache import cached, fingerprint
from ..compress.attributed import AttrBatch
from ..compress.pernode_attr import compress_graph
from ..config import Config, check
from ..data import image_data, load_digits, load_fashion_mnist
from ..data.cifar import load_cifar10
from ..data.reference import reference
from ..errors import ConfigError
from ..graph.distance import edit_distance
from ..graph.vectors import decode, encode
from ..io import from_torch, to_torch
from ..repair_rules import repair
from ..train import TrainConfig, fit_classifier

VARIANTS = ("original", "roundtrip", "compressed")
#: the seed paper's Table 2 as printed: accuracy % after 50 epochs, and its "±" (the largest deviation from the
#: mean of three runs, by the authors' files). Its ResNet18 "original" repeats the round-trip row (a misprint).
PAPER = {("resnet18", "original"): (78.99, 0.39), ("resnet18", "roundtrip"): (78.99, 0.39),
         ("resnet18", "compressed"): (79.17, 0.23), ("alexnet", "original"): (71.54, 0.42),
         ("alexnet", "roundtrip"): (70.46, 0.50), ("alexnet", "compressed"): (60.44, 0.39)}
#: the authors' variant names (nasvec.data.authors) -> ours
AUTHORS_VARIANT = {"original": "original", "round trip": "roundtrip", "compressed": "compressed"}
#: the authors' training (their repository): Adam, lr 1e-4, batch 64, 50 epochs, no schedule
AUTHORS_TRAINING = TrainConfig(epochs=50, batch_size=64, lr=1e-4, optimizer="adam", schedule="constant")
#: Table 2's training unless a profile says otherwise (the CPU profiles: few epochs, AdamW at 3e-4, since
#: AlexNet without batch normalisation barely moves at lr 1e-4 in the few steps they afford)
TRAINING = TrainConfig(epochs=50, batch_size=128, lr=3e-4, optimizer="adamw", weight_decay=5e-4, schedule="cosine")
DATA = ("digits", "fashion_mnist", "cifar10")


@dataclass(frozen=True)
class Table2Config(Config):
    """Which networks (``models``) at which input side (``sizes``), on which images (``data``: ``digits``,
    ``fashion_mnist`` or ``cifar10``, ``n_train`` / ``n_test`` of them, drawn with ``split_seed``), over which
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
        check(self.data in DATA, f"Table 2: data must be one of {list(DATA)}, got {self.data!r}")
        missing = [m for m in self.models if m not in self.sizes]
        check(not missing, f"Table 2: no input size for {missing} (sizes: {self.sizes})")

    @property
    def channels(self) -> int:
        return 3 if self.data == "cifar10" else 1

    def input_shape(self, name: str) -> tuple:
        return (1, self.channels, self.sizes[name], self.sizes[name])


def original_graph(name: str, input_shape, num_classes: int = 10):
    """The reference network ``name`` (``small_input=True``) as a graph."""
    module = reference(name, num_classes=num_classes, in_channels=input_shape[1], small_input=True)
    return from_torch(module, torch.zeros(tuple(input_shape)))


def per_graph(model):
    """The compression of a Table 2 cell by this book's per-graph variant (an ``AttributedSplitVAE``)."""
    def compress(g):
        batch = AttrBatch.from_graphs_attrs([g], model.codec, model.max_nodes)
        with torch.no_grad():
            return model.to_arrays(model.encode(batch))[0]
    return compress


def per_node(compressor):
    """The compression of a Table 2 cell by a per-node compressor: graph -> the arrays its decode gives."""
    return lambda g: compress_graph(compressor, g)


def variant_graph(g, variant: str, input_shape, num_classes: int = 10, compress=None):
    """``(graph, rules fired)`` of a Table 2 cell built from the original graph ``g``: ``roundtrip`` is
    :func:`decode` of :func:`encode` (no rules: None); ``compressed``: ``compress(g)`` (the arrays a compressor decodes,
    e.g. :func:`per_node`), then :func:`nasvec.repair_rules.repair`."""
    if variant == "roundtrip":
        return decode(encode(g)), None
    if variant != "compressed":
        raise ConfigError(f"variant must be 'roundtrip' or 'compressed' here, got {variant!r}")
    if compress is None:
        raise ConfigError("variant 'compressed' needs compress=")
    return repair(compress(g), input_shape=tuple(input_shape), num_classes=num_classes, report=True)


def table2_network(name: str, variant: str, input_shape, num_classes: int, seed: int, compress=None):
    """The network of one Table 2 cell, with fresh weights drawn after ``torch.manual_seed(seed)``:
    ``original`` is the torch module of :mod:`nasvec.data.reference`; the others are built from their graph
    (:func:`variant_graph`) by :func:`to_torch`. Returns ``(module, graph or None, rules fired or None)``."""
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}, got {variant!r}")
    shape = tuple(input_shape)
    torch.manual_seed(seed)
    module = reference(name, num_classes=num_classes, in_channels=shape[1], small_input=True)
    if variant == "original":
        return module, None, None
    g2, rules = variant_graph(from_torch(module, torch.zeros(shape)), variant, shape, num_classes, compress)
    torch.manual_seed(seed)
    return to_torch(g2, shape), g2, rules


def changes(cfg: Table2Config, compressors: dict, num_classes: int = 10, listed: int = 6) -> pd.DataFrame:
    """What each variant changed: per network, the round trip and one row per compressor of ``compressors``
    (label -> ``compress`` callable, see :func:`variant_graph`): the graph edit distance to the original
    (:func:`nasvec.graph.distance.edit_distance`), parameters, the repair rules that fired and the first
    ``listed`` edits in words."""
    rows = []
    for name in cfg.models:
        shape = cfg.input_shape(name)
        g = original_graph(name, shape, num_classes)
        params0 = sum(p.numel() for p in to_torch(g, shape).parameters())
        for label, compress in [("round trip", None)] + list(compressors.items()):
            g2, rules = variant_graph(g, "roundtrip" if compress is None else "compressed", shape, num_classes, compress)
            d = edit_distance(g, g2)
            params = sum(p.numel() for p in to_torch(g2, shape).parameters())
            rows.append({"network": name, "variant": label, "nodes": len(g2), **d.as_row(), "params": params,
                         "params vs original %": 100 * params / params0,
                         "rules fired": ", ".join(f"{k} {v}" for k, v in sorted((rules or {}).items())) or "none",
                         "edits": "; ".join(d.edits[:listed]) + (f"; ... ({d.total - listed} more)" if d.total > listed else "")})
    return pd.DataFrame(rows)


def edit_lists(edits: pd.DataFrame) -> str:
    """The ``edits`` and ``rules fired`` columns of :func:`changes` as a Markdown list, one line per variant that
    changed anything."""
    lines = [f"* **{r['network']}, {r['variant']}** ({r['total']} edits; repair rules fired: {r['rules fired']}): "
             f"{r['edits']}" for _, r in edits.iterrows() if r["total"]]
    return "\n".join(lines) or "No variant changed anything."


def _images(cfg: Table2Config):
    if cfg.data == "digits":
        return load_digits()
    return load_fashion_mnist("train") if cfg.data == "fashion_mnist" else load_cifar10("train")


def run_table2(cfg: Table2Config, training: TrainConfig, compress, compressor_key: dict) -> dict:
    """Train every network of ``cfg`` in every variant and seed (``training`` with each seed), cached under
    the whole setting (``compress``: the ``compressed`` variant's compression, see :func:`variant_graph`;
    ``compressor_key`` identifies it).
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
                    net, g, repairs = table2_network(name, variant, shape, 10, s, compress=compress)
                    curves = fit_classifier(net, data, run_cfg)
                    return {"curves": curves, "repairs": repairs, "nodes": None if g is None else len(g)}

                key = {"model": name, "variant": variant, "data": cfg.data, "n_train": cfg.n_train,
                       "n_test": cfg.n_test, "size": cfg.sizes[name], "split_seed": cfg.split_seed, "training": run_cfg,
                       "compressor": compressor_key if variant == "compressed" else None}
                runs[name, variant, s], hit = cached("repair-table2", key, train_one)
                runs[name, variant, s]["cached"] = hit
    return runs


def _spread(values) -> tuple[float, float, float]:
    """Mean, the authors' "±" (largest deviation from the mean) and the standard deviation, in %."""
    v = 100 * np.asarray(values, dtype=float)
    if not len(v):
        return np.nan, np.nan, np.nan
    return v.mean(), np.abs(v - v.mean()).max(), v.std(ddof=1) if len(v) > 1 else np.nan


def table2_table(runs: dict, cfg: Table2Config, training: TrainConfig, authors: pd.DataFrame | None = None,
                 edits: dict | None = None) -> pd.DataFrame:
    """Table 2: our accuracy (mean, the authors' ± and the std over seeds), parameters and edits to the
    original (``edits``: ``(network, variant) -> total``, :func:`edit_totals`) per network and variant,
    beside the authors' three runs (``authors``: :func:`nasvec.data.authors.table2_runs`) and the paper as
    printed."""
    rows = []
    for name in cfg.models:
        for variant in VARIANTS:
            mean, dev, sd = _spread([runs[name, variant, s]["curves"]["final_acc"] for s in cfg.seeds])
            r0 = runs[name, variant, cfg.seeds[0]]
            row = {"network": name, "variant": variant, "data": cfg.data, "input": f"{cfg.sizes[name]}x{cfg.sizes[name]}",
                   "epochs": training.epochs, "runs": len(cfg.seeds), "accuracy %": mean, "±": dev, "std": sd,
                   "params": r0["curves"]["params"]}
            if edits is not None:
                row["edits to original"] = edits.get((name, variant), 0)
            if authors is not None:
                a = authors[(authors.network == name) & (authors.variant.map(AUTHORS_VARIANT) == variant)].accuracy
                am, adev, _ = _spread(a)
                row.update({"authors' runs %": " / ".join(f"{100 * x:.2f}" for x in a), "authors' mean %": am,
                            "authors' ±": adev})
            row["paper as printed"] = "{:.2f} ± {:.2f}".format(*PAPER[name, variant])
            rows.append(row)
    return pd.DataFrame(rows)


def misprint_note(authors: pd.DataFrame) -> str:
    """The sentence on the paper's ResNet18 "original" row, computed from the authors' runs (it says so if the
    runs ever agree with the printed number)."""
    a = authors[(authors.network == "resnet18") & (authors.variant == "original")].accuracy
    mean, dev, _ = _spread(a)
    printed = PAPER["resnet18", "original"]
    if abs(mean - printed[0]) < 0.005 and abs(dev - printed[1]) < 0.005:
        return f"The authors' ResNet18 original runs give {mean:.2f} ± {dev:.2f}, as the paper prints."
    return (f"The paper prints ResNet18's original as {printed[0]:.2f} ± {printed[1]:.2f}, the numbers of its round-trip "
            f"row; the authors' own three runs give {' / '.join(f'{100 * x:.2f}' for x in a)}, mean {mean:.2f} ± {dev:.2f}. "
            "The paper's \"±\" is the largest deviation from the mean of three runs, not a standard deviation.")


def edit_totals(changes_df: pd.DataFrame, compressed: str) -> dict:
    """``(network, variant) -> edits`` of :func:`changes`' table, its row ``compressed`` as Table 2's compressed."""
    label = {"round trip": "roundtrip", compressed: "compressed"}
    return {(r.network, label[r.variant]): int(r.total) for r in changes_df.itertuples() if r.variant in label}


def provenance(runs: dict, training: TrainConfig) -> list[dict]:
    """One provenance row per training of Table 2 (where it came from, how long it took)."""
    return [{"what": "Table 2", "model": name, "variant": variant, "seed": s, "epochs": training.epochs,
             "seconds": runs[name, variant, s]["curves"]["seconds"], "from cache": runs[name, variant, s]["cached"],
             "config": training.replace(seed=s).describe()}
            for (name, variant, s) in runs]


def compressor_key(cfg, graphs) -> dict:
    """What identifies a per-node compressor for Table 2's cache: its config and the graphs it learned."""
    return {"config": cfg, "graphs": fingerprint([(g.ops, sorted(g.edges)) for g in graphs])}


def summary(table: pd.DataFrame, edits: pd.DataFrame, compressed: str) -> str:
    """The chapter's lines on Table 2 (markdown), computed from :func:`table2_table` and :func:`changes`."""
    lines = []
    t = table.set_index(["network", "variant"])
    for name in dict.fromkeys(table.network):
        e = edits[(edits.network == name) & (edits.variant == compressed)].iloc[0]
        rt, cp = t.loc[(name, "roundtrip")], t.loc[(name, "compressed")]
        gap = cp["accuracy %"] - rt["accuracy %"]
        line = (f"* **{name}**: the per-node compression changes {int(e.total)} thing(s) of the original "
                f"({int(e.nodes_removed + e.nodes_added)} nodes, {int(e.ops_changed)} ops, "
                f"{int(e.edges_removed + e.edges_added)} edges, {int(e.attrs_changed)} attributes; "
                f"{e['params vs original %']:.1f} % of its parameters); trained, it reaches {cp['accuracy %']:.2f} % "
                f"against the round trip's {rt['accuracy %']:.2f} % ({gap:+.2f} points, {cp['runs']} run(s) each, "
                f"{cp['data']}, {cp['epochs']} epoch(s))")
        if "authors' mean %" in t.columns:
            theirs = t.loc[(name, "compressed"), "authors' mean %"] - t.loc[(name, "roundtrip"), "authors' mean %"]
            line += f"; the authors' runs: {theirs:+.2f} points"
        lines.append(line + ".")
    return "\n".join(lines)
