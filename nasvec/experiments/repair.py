"""Chapter 3 ("Repair rules", ``notebooks/repair.ipynb``): the studies of repair and their tables.

* arbitrary decoder outputs (:func:`random_decoder_output`) repaired and counted (:func:`validity_study`);
* the decodes of chapter 2's models, written as CNNs (:func:`enas_decoder_output`, :func:`enas_decode_study`);
* the attribute-aware compressor on the CNN zoo (:func:`zoo_compressor`, :func:`prior_validity`).

Table 2 (training after a round trip) is in :mod:`nasvec.experiments.table2`.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd
import torch

from ..compress.attributed import AttributedConfig, attributed_batch, train_attributed
from ..compress.pernode_attr import PerNodeAttrConfig, edges_outside, reconstruction_report, train_pernode_attr
from ..data.enas import ENAS_TYPES, is_valid_enas
from ..data.zoo import load_zoo
from ..errors import ConfigError
from ..graph.codec import encode_attrs
from ..graph.core import ArchGraph, Node
from ..graph.vocab import N_COLUMNS, OP_INDEX, OPS
from ..repair_rules import RULES, problem, raw_arrays, repair, rule_table, valid_before_repair
from ..repair_rules.damage import damage, kept, kept_nodes

__all__ = ["DAMAGE_KINDS", "DECODER_KINDS", "attribute_accuracy", "change_log_example", "damage_study", "damage_summary", "reference_graphs", "pernode_compressor", "pernode_reconstruction", "broken_decode", "chapter2_decodes", "closing_lines", "compressor_line",
           "compressor_provenance", "enas_decode_study", "enas_decoder_output", "prior_validity", "prior_validity_table",
           "random_decoder_output", "reconstruction_summary", "rule_table", "validity_study", "validity_tables",
           "zoo_compressor"]

DECODER_KINDS = ("scores", "ids", "noise", "nan", "extreme")


# --------------------------------------------------------------------------- arbitrary decoder outputs
def random_decoder_output(rng: np.random.Generator, kind: str, n: int) -> dict:
    """One arbitrary decoder output of ``n`` nodes (``kind`` in :data:`DECODER_KINDS`).

    ``scores``: Gaussian op scores ``[n, len(OPS)]``, a dense adjacency of uniform probabilities and a
    sparse attribute matrix of small integers; ``ids``: integer op ids, a random ``[2, 2n]`` edge list
    (any direction, out of range too) and the same sparse attributes; ``noise``: uniform noise in
    [-100, 100] in every array; ``nan``: every value NaN; ``extreme``: +-1e30, +-inf and NaN.
    """
    if kind not in DECODER_KINDS:
        raise ConfigError(f"kind must be one of {DECODER_KINDS}, got {kind!r}")
    n_ops = len(OPS)
    sparse = np.full((n, N_COLUMNS), np.nan)
    mask = rng.random((n, N_COLUMNS)) < 0.15
    sparse[mask] = rng.integers(-1, 9, size=int(mask.sum()))
    if kind == "scores":
        return {"ops": rng.normal(size=(n, n_ops)), "adjacency": rng.random((n, n)) ** 3, "attrs": sparse}
    if kind == "ids":
        return {"ops": rng.integers(0, n_ops, size=n), "edge_index": rng.integers(-1, n + 1, size=(2, 2 * n)),
                "attrs": sparse}
    if kind == "noise":
        return {"ops": rng.uniform(-100, 100, size=n), "edge_index": rng.uniform(-100, 100, size=(2, 2 * n)),
                "attrs": rng.uniform(-100, 100, size=(n, N_COLUMNS))}
    if kind == "nan":
        return {"ops": np.full(n, np.nan), "edge_index": np.full((2, n), np.nan), "attrs": np.full((n, N_COLUMNS), np.nan)}
    pick = np.array([1e30, -1e30, np.inf, -np.inf, np.nan])
    return {"ops": rng.choice(pick, size=n), "edge_index": rng.choice(pick, size=(2, n)),
            "attrs": rng.choice(pick, size=(n, N_COLUMNS))}


def validity_study(outputs, input_shape=(1, 1, 28, 28)) -> dict:
    """Repair every output: share valid before and after, mean milliseconds per repair, rule counts."""
    before = after = 0
    rules: Counter = Counter()
    fired: Counter = Counter()
    t = 0.0
    sizes = []
    for v in outputs:
        before += valid_before_repair(v, input_shape)
        t0 = time.perf_counter()
        g, counts = repair(v, input_shape=input_shape, report=True)
        t += time.perf_counter() - t0
        after += problem(g, input_shape) is None
        rules.update(counts)
        fired.update({k: 1 for k in counts})
        sizes.append(len(g))
    n = max(len(outputs), 1)
    return {"n": len(outputs), "valid_before": before / n, "valid_after": after / n, "ms_per_repair": 1e3 * t / n,
            "mean_nodes_after": float(np.mean(sizes)) if sizes else 0.0, "rule_counts": dict(rules),
            "rule_fired": dict(fired)}


def validity_tables(seed: int, n_per_kind: int, max_nodes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_per_kind`` outputs of every kind with 1 to ``max_nodes`` nodes (drawn with ``seed``), repaired:
    the validity table and the rule-firing table (how many outputs of each kind needed each rule)."""
    rng = np.random.default_rng(seed)
    rows, rule_rows = [], []
    for kind in DECODER_KINDS:
        outs = [random_decoder_output(rng, kind, int(rng.integers(1, max_nodes + 1))) for _ in range(n_per_kind)]
        r = validity_study(outs)
        rows.append({"kind": kind, "outputs": r["n"], "valid before repair %": 100 * r["valid_before"],
                     "valid after repair %": 100 * r["valid_after"], "mean nodes after": r["mean_nodes_after"]})
        rule_rows.append({"kind": kind, **{k: r["rule_fired"].get(k, 0) for k in RULES}})
    return pd.DataFrame(rows), pd.DataFrame(rule_rows)


def broken_decode() -> tuple[dict, ArchGraph]:
    """A hand-made broken decode: no Output, a 40x40 kernel on a 28x28 image, an ``Add`` with one operand,
    a ``Sigmoid`` nobody reads, a ``Shape`` op, a ``Gemm`` reading a 4-D tensor and one edge pointing
    backwards. Returns its arrays and the graph as decoded (edge directions ignored, for a drawing)."""
    specs = [("Input", {}), ("Conv", {"kernel_shape": [40, 40], "out_channels": 8, "group": 3}), ("Relu", {}),
             ("Sigmoid", {}), ("Add", {}), ("Shape", {}), ("Gemm", {"out_features": 10})]
    edges = [(0, 1), (2, 1), (2, 4), (1, 3), (4, 5), (5, 6)]  # (2, 1) points backwards
    arrays = raw_arrays(ArchGraph([Node(o, a) for o, a in specs], []))
    arrays["edge_index"] = np.array(edges).T
    before = ArchGraph([Node(o) for o, _ in specs], sorted({(min(s, d), max(s, d)) for s, d in edges}))
    return arrays, before


# --------------------------------------------------------------------------- chapter 2's decodes
def _enas_layers(channels):
    conv = lambda k, group=1: ("Conv", {"dilations": [1, 1], "group": group, "kernel_shape": [k, k],  # noqa: E731
                                        "pads": [k // 2] * 4, "strides": [1, 1], "out_channels": channels, "bias": 1})
    pool = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1], "ceil_mode": 0}
    return {
        "input": [("Input", {}), conv(3)],
        "output": [("Output", {})],
        "conv3x3": [conv(3)],
        "conv5x5": [conv(5)],
        "sep_conv3x3": [conv(3, channels), conv(1)],
        "sep_conv5x5": [conv(5, channels), conv(1)],
        "avg_pool3x3": [("AveragePool", {**pool, "count_include_pad": 0})],
        "max_pool3x3": [("MaxPool", {**pool, "dilations": [1, 1]})],
    }


def enas_decoder_output(types, adj, vocab=None, channels: int = 16) -> dict:
    """A decode of a chapter-2 model (an ENAS cell) as a decoder output in the CNN vocabulary, for
    :func:`nasvec.repair_rules.repair`.

    ``types``: ``[N]`` ids into ``vocab`` (default :data:`nasvec.data.ENAS_TYPES`), ``-1`` padding at the
    end; ``adj``: ``[N, N]``, ``adj[i, j] > 0.5`` for an edge ``i -> j`` (``i < j``; the rest is ignored),
    as in :class:`nasvec.compress.base.DagBatch`. Every ENAS node becomes CNN layers of ``channels``
    output channels: ``input`` -> the Input and a 3x3 stem Conv; ``conv3x3``/``conv5x5`` -> Conv with
    "same" pads; ``sep_convKxK`` -> a KxK Conv with one group per output channel, then a 1x1 Conv
    (the vocabulary's stand-in for a depthwise-separable conv); ``avg_pool3x3``/``max_pool3x3`` -> 3x3
    pooling, stride 1, pads 1; ``output`` -> the Output. A node with several inputs reads their Concat
    (ENAS concatenates skip connections along the channels). Whatever the decode got wrong (no input,
    two outputs, a layer nobody reads...) is kept, for repair to fix: a valid ENAS cell gives a
    valid network and is returned unchanged by ``repair``. Returns ``{"ops", "edge_index", "attrs"}``.
    """
    vocab = ENAS_TYPES if vocab is None else vocab
    types = np.asarray(types).reshape(-1)
    n = int((types >= 0).sum())
    adj = np.asarray(adj, dtype=float)
    layers = _enas_layers(channels)
    ops, rows, edges, tensors, out = [], [], [], [], []
    for j in range(n):
        preds = [out[i] for i in range(j) if adj[i, j] > 0.5]
        if len(preds) > 1:
            ops.append("Concat")
            rows.append({"axis": 1})
            edges += [(s, len(ops) - 1) for s in preds]
            preds = [len(ops) - 1]
        for op, attrs in layers[vocab[int(types[j])]]:
            ops.append(op)
            rows.append(attrs)
            if op != "Input":
                edges += [(s, len(ops) - 1) for s in preds]
            preds = [len(ops) - 1]
        out.append(len(ops) - 1)
    return {"ops": np.array([OP_INDEX[o] for o in ops], dtype=np.int64),
            "edge_index": np.array(edges, dtype=np.int64).reshape(-1, 2).T,
            "attrs": np.stack([encode_attrs(a, tensors) for a in rows]) if rows else np.zeros((0, N_COLUMNS))}


def enas_decode_study(model, n: int, seed: int = 0, input_shape=(1, 1, 28, 28)) -> dict:
    """``n`` codes from a chapter-2 compressor's prior, each decoded once: the share of valid ENAS cells
    (D-VAE's check), and :func:`validity_study` of their :func:`enas_decoder_output`."""
    with torch.no_grad():
        decodes = model.sample(n, generator=torch.Generator().manual_seed(seed))
    cells = decodes.to_graphs(ENAS_TYPES)
    study = validity_study([enas_decoder_output(t, a) for t, a in zip(decodes.types.numpy(), decodes.adj.numpy())],
                           input_shape)
    return {**study, "valid_enas": float(np.mean([is_valid_enas(g) for g in cells])) if cells else 0.0}


def chapter2_decodes(trained: dict, n: int, seed: int = 0) -> tuple[pd.DataFrame, list]:
    """:func:`enas_decode_study` of every chapter-2 model (``{key: [Trained, ...]}`` of
    :func:`nasvec.experiments.compression.train_all`; its first run): the table, and one provenance row per model."""
    rows, provenance = [], []
    for key, runs in trained.items():
        model, hist, origin, cfg = runs[0].model, runs[0].history, runs[0].origin, runs[0].config
        r = enas_decode_study(model, n, seed=seed)
        rows.append({"model": model.name, "decodes": r["n"], "valid ENAS cells %": 100 * r["valid_enas"],
                     "runs as decoded %": 100 * r["valid_before"], "valid after repair %": 100 * r["valid_after"],
                     "rules fired": ", ".join(f"{k} {v}" for k, v in sorted(r["rule_fired"].items(), key=lambda kv: -kv[1]))})
        provenance.append({"what": "chapter 2 model", "model": model.name, "variant": "", "seed": seed,
                           "epochs": len(hist), "seconds": sum(h["seconds"] for h in hist), "from cache": origin != "this run",
                           "config": cfg.describe()})
    return pd.DataFrame(rows), provenance


# --------------------------------------------------------------------------- controlled damage
def reference_graphs(names=None, input_shape=(1, 3, 32, 32)) -> dict:
    """``{name: (graph, input shape)}`` of the reference CNNs (:mod:`nasvec.data.reference`, ``small_input``)."""
    from ..data.reference import REFERENCE, reference
    from ..io import from_torch

    out = {}
    for name in names or list(REFERENCE):
        net = reference(name, num_classes=10, in_channels=input_shape[1], small_input=True)
        out[name] = (from_torch(net, torch.zeros(input_shape)), tuple(input_shape))
    return out


def damage_study(graphs: dict, kinds, ks, seeds=range(3), num_classes: int | None = 10) -> pd.DataFrame:
    """Each graph (``{name: (graph, input shape)}``) damaged (:func:`nasvec.repair_rules.damage.damage`) for every kind,
    share ``k`` % and seed, then repaired for its own input shape: one row per repair with the shares of nodes,
    edges and attributes kept, the share of the *undamaged* nodes kept, the edit distance, whether the result
    is valid (:func:`nasvec.repair_rules.problem`) and the milliseconds the repair took."""
    rows = []
    for name, (g, shape) in graphs.items():
        for kind in kinds:
            for k in ([0] if kind == "noise" else ks):
                for seed in seeds:
                    v = damage(g, k, kind, seed=seed)
                    t0 = time.perf_counter()
                    r = repair(v, input_shape=shape, num_classes=num_classes)
                    ms = 1e3 * (time.perf_counter() - t0)
                    intact = set(range(len(g))) - set(v["damaged"])
                    m = kept_nodes(g, r)
                    rows.append({"network": name, "nodes in network": len(g), "kind": kind, "k %": k, "seed": seed,
                                 **kept(g, r),
                                 "undamaged nodes": sum(i in m for i in intact) / len(intact) if intact else np.nan,
                                 "valid": problem(r, shape) is None, "ms": ms})
    return pd.DataFrame(rows)


#: the kinds of damage chapter 3 shows (:data:`nasvec.repair_rules.damage.KINDS`)
DAMAGE_KINDS = ("nan", "inf", "huge", "ids", "mixed", "flip", "noise")


def change_log_example(name: str, k: float, seed: int = 0, kind: str = "mixed") -> pd.DataFrame:
    """:func:`nasvec.repair_rules.changes_table` of reference network ``name`` with ``k`` % of its entries damaged."""
    from ..repair_rules import changes_table

    g, shape = reference_graphs([name])[name]
    return changes_table(repair(damage(g, k, kind, seed=seed), input_shape=shape, num_classes=10))


def damage_summary(study: pd.DataFrame) -> pd.DataFrame:
    """Per kind and ``k``: the mean over seeds, then the mean and the worst over networks, in %."""
    per_net = study.groupby(["kind", "k %", "network"], sort=False)[
        ["nodes", "edges", "attributes", "undamaged nodes", "edit_distance", "valid"]].mean().reset_index()
    agg = per_net.groupby(["kind", "k %"], sort=False).agg(
        networks=("network", "nunique"), nodes_mean=("nodes", "mean"), nodes_worst=("nodes", "min"),
        edges_mean=("edges", "mean"), edges_worst=("edges", "min"), attributes_mean=("attributes", "mean"),
        undamaged_mean=("undamaged nodes", "mean"),
        edit_distance_mean=("edit_distance", "mean"), valid=("valid", "mean")).reset_index()
    for col in [c for c in agg.columns if c.split("_")[0] in ("nodes", "edges", "attributes", "undamaged", "valid")]:
        agg[col] = 100 * agg[col]
    return agg


# --------------------------------------------------------------------------- the attribute-aware compressor
def zoo_compressor(zoo_n: int, cfg: AttributedConfig, zoo_seed: int = 0):
    """The first ``zoo_n`` graphs of the CNN zoo and the attribute-aware compressor trained on them (cached).
    Returns ``(graphs, model, batch, history, from_cache)``."""
    zoo = load_zoo(zoo_n, seed=zoo_seed, progress=False)
    model, hist, hit = train_attributed(cfg, zoo, cache_name="repair-compressor",
                                        cache_config={"zoo_n": zoo_n, "zoo_seed": zoo_seed})
    return zoo, model, attributed_batch(model, zoo), hist, hit


def pernode_compressor(zoo_n: int, cfg: PerNodeAttrConfig, extra=(), copies: int = 0, zoo_seed: int = 0):
    """The paper's per-node compressor trained on the first ``zoo_n`` zoo graphs plus each graph of ``extra``
    repeated ``copies`` times (cached). Returns ``(zoo, model, history, from_cache)``."""
    zoo = load_zoo(zoo_n, seed=zoo_seed, progress=False)
    model, hist, hit = train_pernode_attr(cfg, zoo + list(extra) * copies, progress=False)
    return zoo, model, hist, hit


def pernode_reconstruction(model, sets: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per set of graphs (name -> graphs): how often the per-node compressor gives back each part exactly,
    per node and per network (:func:`nasvec.compress.pernode_attr.reconstruction_report`); and, for the
    first set, per attribute column over the nodes that have it."""
    rows, first = [], None
    for name, graphs in sets.items():
        r = reconstruction_report(model, graphs)
        first = first or r
        out, total = edges_outside(graphs, model.window)
        rows.append({"graphs": name, "networks": r["networks"], "nodes": r["nodes"],
                     **{f"{part} per node %": 100 * v for part, v in r["per_node"].items()},
                     **{f"{part} per network %": 100 * v for part, v in r["per_network"].items()},
                     "edges beyond the window": out, "edges": total})
    columns = pd.DataFrame([{"column": k, "right %": 100 * v} for k, v in first["columns"].items()])
    return pd.DataFrame(rows), columns.sort_values("right %", kind="stable").reset_index(drop=True)


def prior_validity(model, n: int, input_shape, seed: int = 0) -> dict:
    """Decode ``n`` codes z ~ N(0, I) of the attribute-aware compressor: share valid as decoded (the exact
    decode runs) and after repair, and the mean size of the decodes."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=gen)
    arrays = model.to_arrays(z)
    before = sum(valid_before_repair(a, input_shape) for a in arrays)
    after = sum(problem(repair(a, input_shape=input_shape), input_shape) is None for a in arrays)
    return {"samples": n, "valid_before": before / n, "valid_after": after / n,
            "mean_nodes": float(np.mean([len(a["ops"]) for a in arrays]))}


def prior_validity_table(model, n: int, seed: int = 0, shapes=((1, 1, 28, 28), (1, 3, 32, 32))) -> pd.DataFrame:
    """:func:`prior_validity` for each input shape, as the chapter's table."""
    rows = []
    for shape in shapes:
        pv = prior_validity(model, n, shape, seed=seed)
        rows.append({"input": "x".join(map(str, shape[1:])), "samples": pv["samples"], "mean nodes": pv["mean_nodes"],
                     "valid as decoded %": 100 * pv["valid_before"], "valid after repair %": 100 * pv["valid_after"]})
    return pd.DataFrame(rows)


def compressor_line(zoo, cfg: AttributedConfig, history, from_cache: bool) -> str:
    """One line on the zoo compressor's training: graphs (how many were cut), epochs, where from, loss."""
    return (f"{len(zoo)} zoo graphs ({sum(len(g) > cfg.max_nodes for g in zoo)} cut to {cfg.max_nodes} nodes), "
            f"{cfg.training.epochs} epochs, {'from the cache' if from_cache else 'trained now'}; "
            f"reconstruction loss per graph {history[0]['recon']:.1f} -> {history[-1]['recon']:.1f}")


def reconstruction_summary(recon: dict, n_graphs: int, cfg: AttributedConfig) -> pd.DataFrame:
    """The zoo compressor's mean-code reconstruction (:func:`~nasvec.compress.attributed.reconstruction_report`)."""
    return pd.DataFrame([{"graphs": n_graphs, "epochs": cfg.training.epochs,
                          **{k: v for k, v in recon.items() if k != "per_attr"}}])


def compressor_provenance(cfg: AttributedConfig, history, from_cache: bool) -> dict:
    return {"what": "compressor", "model": "split-attr", "variant": "", "seed": cfg.training.seed,
            "epochs": cfg.training.epochs,
            "seconds": sum(h["seconds"] for h in history), "from cache": from_cache, "config": cfg.describe()}


def attribute_accuracy(recon: dict) -> pd.DataFrame:
    """Per attribute column of a :func:`~nasvec.compress.attributed.reconstruction_report`: accuracy over
    all real nodes and over the nodes that have the attribute."""
    return pd.DataFrame([{"column": k, **v} for k, v in recon["per_attr"].items()])


def closing_lines(validity: pd.DataFrame, decodes: pd.DataFrame) -> str:
    """The two computed lines under the chapter's summary."""
    return (f"valid as decoded: {validity['valid before repair %'].mean():.1f} % of {validity['outputs'].sum()} outputs; "
            f"after repair: {validity['valid after repair %'].mean():.1f} %\n"
            f"chapter 2's decodes: {decodes['runs as decoded %'].min():.1f}-{decodes['runs as decoded %'].max():.1f} % "
            f"run as decoded (per model), {decodes['valid after repair %'].min():.1f} % or more after repair")
