"""What repair reads: a decoder's arrays, coerced and checked (chapter 3).

:func:`fields` accepts a :class:`~nasvec.graph.vectors.VectorRep` or a dict of arrays; :func:`exact`
is the exact decode of well-formed arrays (the fixed point of repair); :func:`decode_ops` and
:func:`decode_edges` are the first rules (``op_ids``, ``edges``, ``acyclic``), which turn arbitrary
numbers into op ids and a forward edge list. :func:`problem` says why a graph would not run.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import GraphError, RepairError
from ..graph.codec import encode_attrs
from ..graph.core import ArchGraph
from ..graph.shapes import infer_shapes
from ..graph.vectors import VectorRep, decode
from ..graph.vocab import N_COLUMNS, OP_INDEX, OPS

N_OPS = len(OPS)
IDENTITY = OP_INDEX["Identity"]


def array(x, what):
    """``x`` as a float64 array, or a :class:`~nasvec.errors.RepairError` naming the field."""
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().double().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise RepairError(f"repair: v.{what} must be a numeric array, got {type(x).__name__}") from None


def fields(v):
    """``(ops, edge_index, adjacency, attrs, tensors, names)`` of a decoder output."""
    if isinstance(v, dict):
        get = v.get
    elif hasattr(v, "ops"):
        def get(k, default=None):
            return getattr(v, k, default)
    else:
        raise RepairError(f"repair: v must be a VectorRep or a dict with 'ops', 'edge_index' or 'adjacency' and "
                          f"'attrs', got {type(v).__name__}")
    if get("ops") is None:
        raise RepairError("repair: v has no 'ops'")
    adjacency = get("adjacency") if isinstance(v, dict) else None
    return (get("ops"), get("edge_index"), adjacency, get("attrs"), list(get("tensors", None) or []),
            list(get("names", None) or []))


def exact(ops, edge_index, attrs, tensors, names):
    """The exact decode of the arrays when they are well formed, else None."""
    try:
        o = array(ops, "ops")
        a = array(attrs, "attrs")
        e = array(edge_index, "edge_index")
        if o.ndim != 1 or a.shape != (len(o), N_COLUMNS) or e.ndim != 2 or e.shape[0] != 2:
            return None
        if not (np.isfinite(o).all() and (o == np.round(o)).all() and np.isfinite(e).all() and (e == np.round(e)).all()):
            return None
        if (o.size and np.abs(o).max() >= len(OPS)) or (e.size and np.abs(e).max() >= 2 ** 62):
            return None
        return decode(VectorRep(o.astype(np.int64), e.astype(np.int64), a, tensors, names))
    except Exception:  # noqa: BLE001 - anything malformed goes through the rules
        return None


def clean_adjacency_edges(adjacency, threshold):
    """A clean 0/1 matrix of forward edges as an edge list (inputs in index order), else None."""
    adj, scratch = array(adjacency, "adjacency"), Counter()
    if adj.ndim == 2 and adj.shape[0] == adj.shape[1] and np.isin(adj, (0.0, 1.0)).all():
        e = decode_edges(None, adj, len(adj), threshold, scratch)
        return None if sum(scratch.values()) else e
    return None


# --------------------------------------------------------------------------- the first rules
def decode_ops(ops, count) -> np.ndarray:
    """Rule ``op_ids``: op scores -> argmax; a non-integer id is rounded; out of range, NaN or inf -> Identity."""
    o = array(ops, "ops")
    if o.ndim == 2:  # scores
        if o.shape[1] == 0:
            return np.full(o.shape[0], IDENTITY, dtype=np.int64)
        s = np.where(np.isnan(o), -np.inf, o)[:, :N_OPS]
        ids = np.argmax(s, axis=1)
        ids[~np.isfinite(s).any(axis=1) & ~(s == np.inf).any(axis=1)] = IDENTITY
        count["op_ids"] += int(len(ids)) if o.shape[1] != N_OPS else 0
        return ids.astype(np.int64)
    o = o.reshape(-1)
    r = np.round(np.where(np.isfinite(o), o, -1.0))
    bad = ~np.isfinite(o) | (r < 0) | (r >= N_OPS)
    count["op_ids"] += int(bad.sum() + ((o != r) & ~bad).sum())
    r[bad] = IDENTITY
    return r.astype(np.int64)


def decode_edges(edge_index, adjacency, n, threshold, count) -> np.ndarray:
    """Rules ``edges`` and ``acyclic``: a ``[2, E]`` forward edge list grouped by destination.

    Edges naming a node outside ``0..n-1``, non-finite ones, self-loops and duplicates are dropped
    (``edges``); an edge pointing backwards is reversed (``acyclic``). A dense ``[n, n]`` score matrix
    (``adjacency``, or an ``edge_index`` of that shape) gives the edges above ``threshold``.
    """
    if adjacency is None and edge_index is not None:
        e = array(edge_index, "edge_index")
        if e.ndim == 2 and e.shape == (n, n) and n != 2:
            adjacency, e = e, None
    else:
        e = None
    if adjacency is not None:
        adj = array(adjacency, "adjacency")
        if adj.ndim != 2:
            raise RepairError(f"repair: v.adjacency must be a [N, N] matrix, got shape {adj.shape}")
        m = min(n, adj.shape[0], adj.shape[1]) if adj.size else 0
        adj = np.nan_to_num(adj[:m, :m], nan=0.0) > threshold
        src, dst = np.nonzero(adj.T)  # grouped by destination
        src, dst = dst, src
        e = np.stack([src, dst]).astype(np.float64)
    if e is None or e.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    if e.ndim != 2 or 2 not in e.shape:
        raise RepairError(f"repair: v.edge_index must be [2, E] (or a dense [N, N] score matrix), got shape {e.shape}")
    if e.shape[0] != 2:
        e = e.T
    ok = np.isfinite(e).all(0)
    e = np.round(np.where(np.isfinite(e), e, -1))
    ok &= (e >= 0).all(0) & (e < n).all(0)
    count["edges"] += int((~ok).sum())
    e = e[:, ok].astype(np.int64)
    loops = e[0] == e[1]
    count["edges"] += int(loops.sum())
    e = e[:, ~loops]
    back = e[0] > e[1]
    count["acyclic"] += int(back.sum())
    e = np.where(back, e[::-1], e)
    # stable order by destination; drop duplicates (keep the first)
    order = np.argsort(e[1], kind="stable")
    e = e[:, order]
    if e.shape[1]:
        key = e[1] * n + e[0]
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(e.shape[1], bool)
        keep[first] = True
        count["edges"] += int((~keep).sum())
        e = e[:, keep]
    return e


def attribute_matrix(attrs, n, count) -> np.ndarray:
    """The attribute matrix as ``[n, N_COLUMNS]`` floats; another shape is cut or padded with NaN
    (rule ``attributes``)."""
    a = array(attrs, "attrs") if attrs is not None else np.full((n, N_COLUMNS), np.nan)
    if a.ndim != 2:
        a = a.reshape(n, -1) if n and a.size and a.size % n == 0 else np.full((n, N_COLUMNS), np.nan)
    if a.shape != (n, N_COLUMNS):
        fixed = np.full((n, N_COLUMNS), np.nan)
        r, c = min(n, a.shape[0]), min(N_COLUMNS, a.shape[1])
        fixed[:r, :c] = a[:r, :c]
        a = fixed
        count["attributes"] += 1
    return a


# --------------------------------------------------------------------------- checks
def problem(g: ArchGraph, input_shape) -> str | None:
    """Why ``g`` would not run as a trainable network for ``input_shape`` (None when it would): the message of
    ``g.validate(input_shape)`` (structure, values, shapes, size caps and what the builders need)."""
    try:
        g.validate(input_shape)
    except GraphError as e:
        return str(e)
    return None


def is_classifier(g, input_shape, num_classes) -> bool:
    """Whether ``g``'s output is ``[N, num_classes]`` for ``input_shape``."""
    infos = infer_shapes(g, input_shape)
    out = [i for i, nd in enumerate(g.nodes) if nd.op == "Output"][0]
    return tuple(infos[out].shape) == (input_shape[0], num_classes)


def valid_before_repair(v, input_shape) -> bool:
    """Whether the arrays already decode exactly to a network that runs (no repair needed)."""
    ops, edge_index, adjacency, attrs, tensors, names = fields(v)
    if adjacency is not None:
        o = array(ops, "ops")
        if o.ndim == 2:
            ops = np.argmax(np.nan_to_num(o, nan=-np.inf), 1) if o.size else np.zeros(0)
        adj = np.nan_to_num(array(adjacency, "adjacency"), nan=0.0) > 0.5
        edge_index = np.stack(np.nonzero(adj.T)[::-1]) if adj.size else np.zeros((2, 0))
    g = exact(ops, edge_index, attrs, tensors, names)
    return g is not None and problem(g, input_shape) is None


def raw_arrays(g: ArchGraph) -> dict:
    """The arrays :func:`nasvec.graph.vectors.encode` would give for ``g``, without validating it (for
    tests and demonstrations: any op or attribute value of the vocabulary, legal or not)."""
    tensors: list = []
    attrs = np.full((len(g.nodes), N_COLUMNS), np.nan)
    for i, node in enumerate(g.nodes):
        attrs[i] = encode_attrs(node.attrs, tensors, strict=False)
    ops = np.array([OP_INDEX[n.op] for n in g.nodes], dtype=np.int64)
    return {"ops": ops, "edge_index": np.array(g.edges, dtype=np.int64).reshape(-1, 2).T, "attrs": attrs,
            "tensors": tensors}
