"""How far apart two networks are: a graph edit distance with the list of edits (chapter 3).

:func:`edit_distance` aligns the nodes of two graphs in topological order (:func:`align`: the longest
common subsequence of their ops, a changed op aligned in place) and counts the edits that turn
the first graph into the second: nodes removed and added, ops changed, edges removed and added, and
attributes changed (on aligned nodes of the same op, one per attribute name whose value differs).
Each edit is also listed in words (``node 12 MaxPool: kernel_shape [3, 3] -> [2, 2]``).

The true graph edit distance minimises over all alignments, which is NP-hard; this one fixes the
alignment by the order both graphs already share, so it is an upper bound that is exact for the
edits a decoder makes in place (an op, an edge, an attribute). Introduced in chapter 3 ("Repair rules").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import GraphError
from .core import ArchGraph, canonical_value

KINDS = ("nodes_removed", "nodes_added", "ops_changed", "edges_removed", "edges_added", "attrs_changed")


@dataclass
class EditDistance:
    """Counts of each kind of edit (see :data:`KINDS`), their sum and the edits in words."""

    nodes_removed: int = 0
    nodes_added: int = 0
    ops_changed: int = 0
    edges_removed: int = 0
    edges_added: int = 0
    attrs_changed: int = 0
    edits: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(getattr(self, k) for k in KINDS)

    def as_row(self) -> dict:
        return {**{k: getattr(self, k) for k in KINDS}, "total": self.total}


def align(a: ArchGraph, b: ArchGraph) -> dict[int, int]:
    """Node ``i`` of ``a`` -> node ``j`` of ``b``: the longest common subsequence of the two op sequences
    (dynamic programming; a repetitive network such as DenseNet defeats greedy matching), with a node
    whose op changed in place aligned to its counterpart (a diagonal step is preferred to a gap)."""
    ops = {op: k for k, op in enumerate(dict.fromkeys(a.ops + b.ops))}
    x = np.array([ops[o] for o in a.ops], dtype=np.int64)
    y = np.array([ops[o] for o in b.ops], dtype=np.int64)
    n, m = len(x), len(y)
    L = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(1, n + 1):
        t = np.maximum(L[i - 1, :-1] + (y == x[i - 1]), L[i - 1, 1:])
        L[i, 1:] = np.maximum.accumulate(t)
    pairs, i, j = {}, n, m
    while i > 0 and j > 0:
        diag = L[i - 1, j - 1]
        if x[i - 1] == y[j - 1] and L[i, j] == diag + 1:
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif L[i, j] == diag and diag >= L[i - 1, j] and diag >= L[i, j - 1]:
            pairs[i - 1] = j - 1      # the op changed in place
            i, j = i - 1, j - 1
        elif L[i, j] == L[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return dict(sorted(pairs.items()))


def _fmt(v) -> str:
    c = canonical_value(v)
    return str(list(c)) if isinstance(c, tuple) else str(c)


def edit_distance(a: ArchGraph, b: ArchGraph) -> EditDistance:
    """The edits that turn ``a`` into ``b`` (see the module docstring)."""
    if not isinstance(a, ArchGraph) or not isinstance(b, ArchGraph):
        raise GraphError(f"edit_distance takes two ArchGraphs, got {type(a).__name__} and {type(b).__name__}")
    m = align(a, b)
    d = EditDistance()
    hit = set(m.values())
    for i, node in enumerate(a.nodes):
        if i not in m:
            d.nodes_removed += 1
            d.edits.append(f"node {i} {node.op}: removed")
            continue
        other = b.nodes[m[i]]
        if other.op != node.op:
            d.ops_changed += 1
            d.edits.append(f"node {i} {node.op}: op -> {other.op}")
            continue
        for key in sorted(set(node.attrs) | set(other.attrs)):
            va, vb = node.attrs.get(key), other.attrs.get(key)
            if (va is None) != (vb is None) or (va is not None and canonical_value(va) != canonical_value(vb)):
                d.attrs_changed += 1
                d.edits.append(f"node {i} {node.op}: {key} {'-' if va is None else _fmt(va)} -> "
                               f"{'-' if vb is None else _fmt(vb)}")
    for j, node in enumerate(b.nodes):
        if j not in hit:
            d.nodes_added += 1
            d.edits.append(f"node {j} of the second graph, {node.op}: added")
    edges_b = set(b.edges)
    mapped = set()
    for s, t in sorted(set(a.edges)):
        e = (m.get(s), m.get(t))
        if e in edges_b:
            mapped.add(e)
        else:
            d.edges_removed += 1
            d.edits.append(f"edge {s} -> {t} ({a.nodes[s].op} -> {a.nodes[t].op}): removed")
    for s, t in sorted(edges_b - mapped):
        d.edges_added += 1
        d.edits.append(f"edge {s} -> {t} of the second graph ({b.nodes[s].op} -> {b.nodes[t].op}): added")
    return d
