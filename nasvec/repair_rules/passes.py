"""The structural rules of repair (chapter 3): passes over a graph's skeleton, before any shape is known.

A :class:`Skeleton` is a decoded graph that may be anything: ops by name, each node's attribute row
and inputs. Each pass below is one rule of :data:`nasvec.repair_rules.RULES`, applied in this order; each
counts how often it fired in ``skeleton.count``. After them the skeleton has one Input first, one
Output last, every node reading and read, no op with more inputs than it takes, and ``keep`` marks
the nodes on a path to the Output.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from dataclasses import dataclass, field

from ..graph.codec import ATTR_ITEMS, HEADS, read_attrs
from ..graph.vocab import OP_INDEX, OPS, allowed_attrs
from .attributes import symmetric
from .emit import BINARY, reaching

SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze"}


class Tally(Counter):
    """How often each rule fired, and what it changed: ``log`` lists ``(rule, what)`` in the order of the
    changes; nodes are named by their index in the decoder's arrays (``new`` for a node a rule added)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list = []

    def note(self, rule: str, what: str, n: int = 1) -> None:
        self[rule] += n
        self.log.append((rule, what))


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
    unread: list = field(default_factory=list)
    present: object = None   # [N, attributes] bool: whose head cell holds anything (from the arrays)
    orig: list = field(default_factory=list)   # each node's index in the decoder's arrays (None: added)
    symmetric: dict = field(default_factory=dict)   # node -> its attributes with symmetric spatial lists

    def __post_init__(self):
        self.alive = self.alive or [True] * len(self.ops)
        self.orig = self.orig or list(range(len(self.ops)))

    def label(self, i) -> str:
        """Node ``i`` as the report names it: its index in the decoder's arrays and its op."""
        k = self.orig[i]
        return f"node {'new' if k is None else k} ({self.ops[i]})"

    def note(self, rule: str, what: str, n: int = 1) -> None:
        if hasattr(self.count, "note"):
            self.count.note(rule, what, n)
        else:
            self.count[rule] += n

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


#: ops in the order a tie between equally good fits is broken: the most common in CNNs first
OP_PRIOR = ("Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool", "Gemm", "Concat",
            "GlobalAveragePool", "Flatten", "Clip", "HardSwish", "Sigmoid", "Mul", "Dropout", "Pad", "ReduceMean")
_NEVER_GUESSED = {"Input", "Output", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze"}


#: the attribute without which a row is no evidence of the op (a known op id is changed to one of these only
#: when the row holds it)
KEY_ATTR = {"Conv": "kernel_shape", "MaxPool": "kernel_shape", "AveragePool": "kernel_shape", "Gemm": "out_features",
            "BatchNormalization": "epsilon", "Slice": "starts", "Reshape": "shape", "Transpose": "perm"}
_COLUMN = {name: j for j, (name, _) in enumerate(ATTR_ITEMS)}

_TABLES = None
_ALL = None
_LISTS = np.array([kind in ("ints", "floats") for _, (kind, _) in ATTR_ITEMS])


def evidence(matrix: np.ndarray) -> np.ndarray:
    """``[N, attributes]`` bool: the attribute rows that say a node carries an attribute — its head cell a
    plausible value (finite, below 1e6) and, for a list, its first entry present. A damaged cell that left a
    value where none was (inf, 1e9) is no evidence of an attribute."""
    head = matrix[:, HEADS]
    ok = np.isfinite(head) & (np.abs(head) < 1e6)
    ok[:, _LISTS] &= np.isfinite(matrix[:, HEADS[_LISTS] + 1])
    return ok


def _all_allowed() -> np.ndarray:
    """``[len(OPS), len(ATTR_ITEMS)]`` bool: whether each op may carry each attribute (cached)."""
    global _ALL
    if _ALL is None:
        _ALL = np.array([[name in allowed_attrs(op) for name, _ in ATTR_ITEMS] for op in OPS])
    return _ALL


def _tables():
    """``(candidate op names, [ops, heads] allowed matrix, tie-break order)`` for :func:`op_from_attrs` (cached)."""
    global _TABLES
    if _TABLES is None:
        cands = [op for op in OPS if op not in _NEVER_GUESSED]
        allowed = np.array([[name in allowed_attrs(op) for name, _ in ATTR_ITEMS] for op in cands], dtype=np.int64)
        rank = np.array([OP_PRIOR.index(op) if op in OP_PRIOR else len(OP_PRIOR) for op in cands])
        _TABLES = cands, allowed, rank
    return _TABLES


def op_from_attrs(s: Skeleton) -> None:
    """Rule ``op_from_attrs`` (see :data:`nasvec.repair_rules.RULES`): an unread op id, one its attribute row
    contradicts, or one that takes fewer inputs than the node has while its row names a foreign attribute (then
    only for an op that takes more inputs), is taken from the row (:func:`evidence`): the op that takes the
    node's inputs and whose allowed attributes cover the row's best (most covered minus uncovered, then fewest
    unused, then the most common op); a readable op changes only to one whose key attribute (:data:`KEY_ATTR`)
    the row holds."""
    n = len(s)
    if not n:
        return
    if s.present is None:
        width = int(HEADS.max()) + 1
        rows = np.asarray([r if r is not None else [math.nan] * width for r in s.rows], dtype=np.float64)
        s.present = ~np.isnan(rows[:, HEADS])
    present = s.present
    cands, allowed, rank = _tables()
    have = present.sum(1)
    own_ok = (present & _all_allowed()[[OP_INDEX[op] for op in s.ops]]).sum(1)
    unread = np.asarray(s.unread, bool) if s.unread else np.zeros(n, bool)
    crowded = np.array([len(s.ins[i]) > arity(op) for i, op in enumerate(s.ops)]) & (own_ok < have)
    contradicted = (have >= 2) & (2 * own_ok <= have)
    suspect = np.flatnonzero(unread | contradicted | crowded)
    if not len(suspect):
        return
    p = present[suspect].astype(np.int64)
    inter = p @ allowed.T                                    # [suspects, candidates]
    extra = p.sum(1, keepdims=True) - inter
    unused = allowed.sum(1)[None] - inter
    score = (inter - extra) * 10_000 - unused * 100 - rank[None]
    takes = np.array([arity(op) for op in cands])
    score -= 1_000_000 * (np.array([len(s.ins[i]) for i in suspect])[:, None] > takes[None])   # too many inputs
    best = score.argmax(1)
    for k, i in enumerate(suspect):
        op = s.ops[i]
        if unread[i]:
            guess = cands[best[k]] if have[i] else ("Add" if len(s.ins[i]) >= 2 else "Relu")
        elif op in _NEVER_GUESSED or extra[k, best[k]]:
            continue
        else:
            guess = cands[best[k]]
            if not contradicted[i] and arity(guess) <= arity(op):   # crowded only: the guess must take the inputs
                continue
            if guess in KEY_ATTR and not present[i, _COLUMN[KEY_ATTR[guess]]]:   # a stray cell or two is no evidence
                continue
        if guess != op:
            s.ops[i] = guess
            was = "unreadable" if unread[i] else op
            how = "read from its attributes" if have[i] else "no attributes, the commonest op of its inputs"
            s.note("op_from_attrs", f"node {s.orig[i]}: op {was} -> {guess} ({how})")


def shape_ops(s: Skeleton) -> None:
    """Rule ``shape_ops``: shape arithmetic (Shape, Gather, Unsqueeze, Squeeze) -> Identity; Constant dropped.
    A Reshape or Transpose with static attributes stays; the shapes pass keeps it when it keeps the batch
    axis apart (a channel shuffle does) and makes it an Identity otherwise (rule ``fallback``)."""
    for i, op in enumerate(s.ops):
        if op in SHAPE_OPS:
            s.note("shape_ops", f"{s.label(i)} -> Identity")
            s.ops[i] = "Identity"
        elif op == "Constant":
            s.alive[i] = False
            s.note("shape_ops", f"{s.label(i)} dropped")


def one_source(s: Skeleton) -> None:
    """Rule ``one_source``: extra Inputs -> Identity (the first one stays the source)."""
    inputs = [i for i in range(len(s)) if s.alive[i] and s.ops[i] == "Input"]
    for i in inputs[1:]:
        s.note("one_source", f"{s.label(i)}: a second Input -> Identity")
        s.ops[i] = "Identity"
    s.src = inputs[0] if inputs else None


def one_sink(s: Skeleton) -> None:
    """Rule ``one_sink``: extra Outputs -> Identity (the last one stays the sink); then the nodes are
    renumbered with the Input first and the Output last, either added when missing (both rules)."""
    outputs = [i for i in range(len(s)) if s.alive[i] and s.ops[i] == "Output"]
    for i in outputs[:-1]:
        s.note("one_sink", f"{s.label(i)}: an Output before the last -> Identity")
        s.ops[i] = "Identity"
    s.sink = outputs[-1] if outputs else None
    _renumber(s)


def _renumber(s: Skeleton) -> None:
    """New index space: 0 = Input, 1..m = the other live nodes in order, m + 1 = Output."""
    src, sink, count = s.src, s.sink, s.count
    order = [i for i in range(len(s)) if s.alive[i] and i != src and i != sink]
    if src is None or (order and src > order[0]):
        s.note("one_source", "an Input added" if src is None else f"{s.label(src)} moved first")
    if sink is None or (order and sink < order[-1]):
        s.note("one_sink", "an Output added" if sink is None else f"{s.label(sink)} moved last")
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
    s.orig = [s.orig[src] if src is not None else None] + [s.orig[i] for i in order] + [
        s.orig[sink] if sink is not None else None]
    s.ins, s.alive, s.src, s.sink = ins, [True] * (m + 2), 0, m + 1


def orphans(s: Skeleton) -> None:
    """Rule ``orphans``: a node with no inputs reads the node just before it — or, a Slice just after a Slice,
    what that Slice reads (slices of one tensor stand side by side: a channel split)."""
    n = len(s)
    for k in range(1, n):
        if not s.ins[k] and k < n - 1:
            src = s.ins[k - 1][0] if s.ops[k] == s.ops[k - 1] == "Slice" and s.ins[k - 1] else k - 1
            s.ins[k].append(src)
            s.note("orphans", f"{s.label(k)} had no input: reads {s.label(src)}")


def _consumers(s: Skeleton) -> list[int]:
    out = [0] * len(s)
    for k in range(len(s)):
        for j in s.ins[k]:
            out[j] += 1
    return out


def _needs(op, n_inputs: int) -> int:
    """How many more inputs a node of ``op`` with ``n_inputs`` needs before it is well formed (a Concat of one
    input, a binary op of one operand)."""
    return max(0, min(arity(op), 2) - n_inputs) if op == "Concat" or op in BINARY else 0


def dangling(s: Skeleton) -> None:
    """Rule ``dangling``: a node nobody reads feeds the nearest later node that can take it, in this order of
    preference: a node that lacks an input it needs (a Concat of one input, a binary op of one operand); else the
    nearest with a free input slot (a Concat, an Output without input) or whose input slot holds a node that
    others read too (that input moves to the dangling node: nothing else is cut). A decoder that moved one end
    of an edge is undone this way."""
    n = len(s)
    outdeg = _consumers(s)
    need = [_needs(s.ops[k], len(s.ins[k])) for k in range(n)]
    for k in range(n - 2, -1, -1):
        if outdeg[k]:
            continue
        j = next((j for j in range(k + 1, n) if need[j] > 0), None)
        if j is not None:
            s.ins[j].append(k)
            need[j] -= 1
            s.note("dangling", f"{s.label(k)} was read by nobody: feeds {s.label(j)}, which lacked an input", 0)
        else:
            for j in range(k + 1, n):
                if len(s.ins[j]) < arity(s.ops[j]):
                    s.ins[j].append(k)
                    s.note("dangling", f"{s.label(k)} was read by nobody: feeds {s.label(j)}", 0)
                    break
                shared = [t for t, src in enumerate(s.ins[j]) if src != k and outdeg[src] > 1]
                if shared:
                    t = max(shared, key=lambda t: j - s.ins[j][t])   # the farthest of the shared inputs gives way
                    outdeg[s.ins[j][t]] -= 1
                    s.note("dangling", f"{s.label(k)} was read by nobody: feeds {s.label(j)} in place of "
                                       f"{s.label(s.ins[j][t])}, which others read too", 0)
                    s.ins[j][t] = k
                    break
            else:
                continue
        outdeg[k] += 1
        s.count["dangling"] += 1


def limit_arity(s: Skeleton) -> None:
    """Rule ``arity``: inputs beyond an op's arity are dropped — first those whose node others read too
    (dropping them cuts nothing), then the farthest back; a node left unread is reconnected by rule ``dangling``,
    which also gives a binary op with one operand a second one when a node is unread; otherwise the shapes pass
    does (rule ``operands``)."""
    outdeg = _consumers(s)
    for k in range(1, len(s)):
        ar = arity(s.ops[k])
        if len(s.ins[k]) > ar:
            order = sorted(range(len(s.ins[k])), key=lambda t: (outdeg[s.ins[k][t]] > 1, k - s.ins[k][t]))
            keep = sorted(order[:ar])
            for t in order[ar:]:
                outdeg[s.ins[k][t]] -= 1
            s.note("arity", f"{s.label(k)} takes {ar} input(s): the edge(s) from "
                            + ", ".join(s.label(s.ins[k][t]) for t in order[ar:]) + " dropped")
            s.ins[k] = [s.ins[k][t] for t in keep]


def prune(s: Skeleton) -> None:
    """Rule ``prune``: nodes not on a path from the Input to the Output are dropped (marked in ``keep``)."""
    s.keep = reaching(s.ins, len(s))
    gone = [i for i in range(len(s)) if not s.keep[i]]
    if gone:
        s.note("prune", "dropped, no path to the Output: " + ", ".join(s.label(i) for i in gone), len(gone))


#: the ops rule ``symmetric`` looks at
SPATIAL_OPS = ("Conv", "MaxPool", "AveragePool")


def odd_lists(s: Skeleton) -> None:
    """Rule ``symmetric``: a conv or pool whose strides or dilations differ between axes, or one of whose pads
    differs from all its others, is made symmetric (:func:`nasvec.repair_rules.attributes.symmetric`) — only when at
    least 3 in 4 of the decode's kept convs and pools (and at least 4) are symmetric: an odd one out among
    symmetric siblings is a damaged value, while a network that is asymmetric by design keeps its lists."""
    nodes = [k for k in range(len(s)) if s.keep[k] and s.ops[k] in SPATIAL_OPS and s.rows[k] is not None]
    odd = {}
    for k in nodes:
        a = read_attrs(s.rows[k], s.ops[k])
        fixed = symmetric(a)
        if fixed != a:
            odd[k] = (fixed, [f"{name} {a[name]} -> {fixed[name]}" for name in ("strides", "dilations", "pads")
                              if a.get(name) != fixed.get(name)])
    if not odd or len(nodes) < 4 or 4 * len(odd) > len(nodes):
        return
    for k, (fixed, what) in odd.items():
        s.symmetric[k] = fixed
        s.note("symmetric", f"{s.label(k)}: " + ", ".join(what)
               + f" (like the decode's other {len(nodes) - len(odd)} convs and pools)")
