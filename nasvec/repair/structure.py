"""The structural rules of repair (chapter 3): passes over a graph's skeleton, before any shape is known.

A :class:`Skeleton` is a decoded graph that may be anything: ops by name, each node's attribute row
and inputs. Each pass below is one rule of :data:`nasvec.repair.RULES`, applied in this order; each
counts how often it fired in ``skeleton.count``. After them the skeleton has one Input first, one
Output last, every node reading and read, no op with more inputs than it takes, and ``keep`` marks
the nodes on a path to the Output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .emit import BINARY, reaching

SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze"}


@dataclass
class Skeleton:
    """Ops, attribute rows (lists of floats, None for Input/Output), inputs and names of every node."""

    ops: list
    rows: list
    ins: list
    names: list
    count: Counter
    alive: list = field(default_factory=list)
    src: int | None = None
    sink: int | None = None
    keep: list = field(default_factory=list)

    def __post_init__(self):
        self.alive = self.alive or [True] * len(self.ops)

    def __len__(self):
        return len(self.ops)


def arity(op) -> int:
    """How many inputs ``op`` reads after repair (Concat: any number)."""
    if op == "Input":
        return 0
    if op in BINARY:
        return 2
    if op == "Concat":
        return 1 << 30
    return 1


def shape_ops(s: Skeleton) -> None:
    """Rule ``shape_ops``: shape arithmetic (Shape, Gather, Unsqueeze, Squeeze) -> Identity; Constant dropped.
    A Reshape or Transpose with static attributes stays; the shapes pass keeps it when it keeps the batch
    axis apart (a channel shuffle does) and makes it an Identity otherwise (rule ``fallback``)."""
    for i, op in enumerate(s.ops):
        if op in SHAPE_OPS:
            s.ops[i] = "Identity"
            s.count["shape_ops"] += 1
        elif op == "Constant":
            s.alive[i] = False
            s.count["shape_ops"] += 1


def one_source(s: Skeleton) -> None:
    """Rule ``one_source``: extra Inputs -> Identity (the first one stays the source)."""
    inputs = [i for i in range(len(s)) if s.alive[i] and s.ops[i] == "Input"]
    for i in inputs[1:]:
        s.ops[i] = "Identity"
        s.count["one_source"] += 1
    s.src = inputs[0] if inputs else None


def one_sink(s: Skeleton) -> None:
    """Rule ``one_sink``: extra Outputs -> Identity (the last one stays the sink); then the nodes are
    renumbered with the Input first and the Output last, either added when missing (both rules)."""
    outputs = [i for i in range(len(s)) if s.alive[i] and s.ops[i] == "Output"]
    for i in outputs[:-1]:
        s.ops[i] = "Identity"
        s.count["one_sink"] += 1
    s.sink = outputs[-1] if outputs else None
    _renumber(s)


def _renumber(s: Skeleton) -> None:
    """New index space: 0 = Input, 1..m = the other live nodes in order, m + 1 = Output."""
    src, sink, count = s.src, s.sink, s.count
    order = [i for i in range(len(s)) if s.alive[i] and i != src and i != sink]
    if src is None or (order and src > order[0]):
        count["one_source"] += 1  # added, or moved first
    if sink is None or (order and sink < order[-1]):
        count["one_sink"] += 1  # added, or moved last
    m = len(order)
    new_of = {old: k + 1 for k, old in enumerate(order)}
    if src is not None:
        new_of[src] = 0
    ins = [[] for _ in range(m + 2)]
    for old in range(len(s)):
        if not s.alive[old] or old == src:
            count["one_source"] += len(s.ins[old]) if old == src else 0  # edges into the Input
            continue
        k = m + 1 if old == sink else new_of[old]
        for j in s.ins[old]:
            if j == sink:
                count["one_sink"] += 1  # edges out of the Output
            elif s.alive[j]:
                ins[k].append(new_of[j])  # still forward: only the Input moved first, the Output last
    s.ops = ["Input"] + [s.ops[i] for i in order] + ["Output"]
    s.rows = [None] + [s.rows[i] for i in order] + [None]
    s.names = ([s.names[src] if src is not None else ""] + [s.names[i] for i in order]
               + [s.names[sink] if sink is not None else ""])
    s.ins, s.alive, s.src, s.sink = ins, [True] * (m + 2), 0, m + 1


def orphans(s: Skeleton) -> None:
    """Rule ``orphans``: a node with no inputs reads the node just before it."""
    n = len(s)
    for k in range(1, n):
        if not s.ins[k] and k < n - 1:
            s.ins[k].append(k - 1)
            s.count["orphans"] += 1


def _consumers(s: Skeleton) -> list[int]:
    out = [0] * len(s)
    for k in range(len(s)):
        for j in s.ins[k]:
            out[j] += 1
    return out


def dangling(s: Skeleton) -> None:
    """Rule ``dangling``: a node nobody reads feeds the nearest later node that can take it — one with a free
    input slot, or one whose input slot holds a node that others read too (that input moves to the dangling
    node: nothing else is cut). A decoder that moved one end of an edge is undone this way."""
    n = len(s)
    outdeg = _consumers(s)
    free = [(arity(s.ops[k]) - len(s.ins[k])) for k in range(n)]
    for k in range(n - 2, -1, -1):
        if outdeg[k]:
            continue
        for j in range(k + 1, n):
            if free[j] > 0:
                s.ins[j].append(k)
                free[j] -= 1
                break
            shared = [t for t, src in enumerate(s.ins[j]) if src != k and outdeg[src] > 1]
            if shared:
                t = max(shared, key=lambda t: j - s.ins[j][t])   # the farthest of the shared inputs gives way
                outdeg[s.ins[j][t]] -= 1
                s.ins[j][t] = k
                break
        else:
            continue
        outdeg[k] += 1
        s.count["dangling"] += 1


def limit_arity(s: Skeleton) -> None:
    """Rule ``arity``: inputs beyond an op's arity are dropped — first those whose node others read too
    (dropping them cuts nothing), then the farthest back. A binary op with one operand is left to the shapes
    pass, which gives it a second one (rule ``operands``)."""
    outdeg = _consumers(s)
    for k in range(1, len(s)):
        ar = arity(s.ops[k])
        if len(s.ins[k]) > ar:
            s.count["arity"] += 1
            order = sorted(range(len(s.ins[k])), key=lambda t: (outdeg[s.ins[k][t]] > 1, k - s.ins[k][t]))
            keep = sorted(order[:ar])
            for t in order[ar:]:
                outdeg[s.ins[k][t]] -= 1
            s.ins[k] = [s.ins[k][t] for t in keep]


def prune(s: Skeleton) -> None:
    """Rule ``prune``: nodes not on a path from the Input to the Output are dropped (marked in ``keep``)."""
    s.keep = reaching(s.ins, len(s))
    s.count["prune"] += len(s) - sum(s.keep)
