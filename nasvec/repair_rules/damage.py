"""Controlled damage to a network's vector representation, and how much of the network repair keeps (chapter 3).

A decoder's output is usually *close* to a real network. :func:`damage` corrupts a known share of
the entries of each array of :func:`nasvec.graph.vectors.encode`'s output, and :func:`kept` measures
what :func:`nasvec.repair_rules.repair` gives back: the share of the original nodes, edges and attributes
kept, and the graph edit distance (:func:`nasvec.graph.distance.edit_distance`).

Kinds of damage (:data:`KINDS`), applied to ``k`` per cent of the entries of every array (op ids,
both rows of the edge list, every cell of the attribute matrix):

* ``nan``, ``inf``, ``huge`` — the entry becomes NaN, ±inf or ±1e9;
* ``ids`` — the entry becomes a random value of its kind: an op id, a node index (an edge rewired),
  a small integer attribute;
* ``flip`` — ``k`` per cent of the edges reversed (the other arrays untouched);
* ``mixed`` — each damaged entry draws one of ``nan``, ``inf``, ``huge``, ``ids``;
* ``noise`` — Gaussian noise of deviation ``sigma`` added to *every* entry, and with ``k > 0`` also ``k`` per cent
  of the entries of each array made NaN, ±inf or ±1e9 (a decoder that is noisy everywhere and broken somewhere).
"""

from __future__ import annotations

import numpy as np

from ..errors import RepairError
from ..graph.core import ArchGraph
from ..graph.distance import align
from ..graph.vectors import encode
from ..graph.vocab import OPS

KINDS = ("nan", "inf", "huge", "ids", "flip", "mixed", "noise")


def _arrays(g: ArchGraph) -> dict:
    v = encode(g)
    return {"ops": v.ops.numpy().astype(np.float64), "edge_index": v.edge_index.numpy().astype(np.float64),
            "attrs": v.attrs.numpy().copy(), "tensors": list(v.tensors)}


def _corrupt(a: np.ndarray, share: float, kind: str, rng: np.random.Generator, high: int):
    """``(damaged copy of a, flat indices damaged)``."""
    a = a.copy()
    flat = a.reshape(-1)
    n = int(round(share * flat.size))
    if not n:
        return a, np.zeros(0, dtype=np.int64)
    idx = rng.choice(flat.size, n, replace=False)
    kinds = rng.choice(["nan", "inf", "huge", "ids"] if kind == "mixed" else ["nan", "inf", "huge"], n) \
        if kind in ("mixed", "non-finite") else np.full(n, kind)
    sign = rng.choice([-1.0, 1.0], n)
    values = np.select([kinds == "nan", kinds == "inf", kinds == "huge"],
                       [np.nan, sign * np.inf, sign * 1e9], rng.integers(0, max(high, 1), n).astype(np.float64))
    flat[idx] = values
    return a, idx


def damage(g: ArchGraph, k: float, kind: str = "mixed", seed: int = 0, sigma: float = 0.25) -> dict:
    """The arrays of ``g`` (``ops``, ``edge_index``, ``attrs``, ``tensors``) with ``k`` per cent of the entries
    of each array damaged as ``kind`` says (see the module docstring); a dict :func:`nasvec.repair_rules.repair` takes.
    ``"damaged"`` lists the nodes whose own entries were touched (their op, a cell of their attribute row, or
    an end of an edge into or out of them; every node for ``noise``)."""
    if kind not in KINDS:
        raise RepairError(f"damage: kind must be one of {KINDS}, got {kind!r}")
    if not 0 <= k <= 100:
        raise RepairError(f"damage: k is a percentage in 0..100, got {k!r}")
    rng = np.random.default_rng(seed)
    v = _arrays(g)
    if kind == "noise":
        for key, high in (("ops", len(OPS)), ("edge_index", len(g)), ("attrs", 8)):
            v[key] = v[key] + rng.normal(0, sigma, v[key].shape)
            if k:
                v[key], _ = _corrupt(v[key], k / 100, "non-finite", rng, high)
        v["damaged"] = list(range(len(g)))
        return v
    share = k / 100
    edges = v["edge_index"].astype(np.int64)
    if kind == "flip":
        cols = rng.choice(edges.shape[1], int(round(share * edges.shape[1])), replace=False) if edges.shape[1] else []
        v["edge_index"][:, cols] = v["edge_index"][::-1, cols]
        v["damaged"] = sorted({int(x) for x in edges[:, cols].reshape(-1)})
        return v
    v["ops"], i_ops = _corrupt(v["ops"], share, kind, rng, len(OPS))
    v["edge_index"], i_edges = _corrupt(v["edge_index"], share, kind, rng, len(g))
    v["attrs"], i_attrs = _corrupt(v["attrs"], share, kind, rng, 8)
    cols = i_edges % max(edges.shape[1], 1)
    v["damaged"] = sorted(set(i_ops.tolist()) | set((i_attrs // v["attrs"].shape[1]).tolist())
                          | {int(x) for x in edges[:, cols].reshape(-1)})
    return v


def kept_nodes(original: ArchGraph, repaired: ArchGraph) -> dict:
    """Node of ``original`` -> node of ``repaired`` for the nodes repair kept: aligned (:func:`nasvec.graph.distance.align`)
    and of the same op."""
    return {i: j for i, j in align(original, repaired).items() if original.nodes[i].op == repaired.nodes[j].op}


def kept(original: ArchGraph, repaired: ArchGraph) -> dict:
    """How much of ``original`` ``repaired`` keeps: shares of its nodes (aligned in topological order, same op),
    of its edges (between kept nodes) and of its attribute values (on kept nodes); and the edit distance."""
    from ..graph.distance import edit_distance

    m = kept_nodes(original, repaired)
    edges_b = set(repaired.edges)
    edges = set(original.edges)
    attrs_total = sum(len(n.attrs) for n in original.nodes)
    attrs_same = sum(1 for i, j in m.items() for key, val in original.nodes[i].attrs.items()
                     if key in repaired.nodes[j].attrs and _same(val, repaired.nodes[j].attrs[key]))
    d = edit_distance(original, repaired)
    return {"nodes": len(m) / max(len(original), 1),
            "edges": sum((m.get(s), m.get(t)) in edges_b for s, t in edges) / max(len(edges), 1),
            "attributes": attrs_same / attrs_total if attrs_total else 1.0, "edit_distance": d.total}


def _same(a, b) -> bool:
    from ..graph.core import canonical_value

    return canonical_value(a) == canonical_value(b)
