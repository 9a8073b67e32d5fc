"""The shapes pass of repair (chapter 3): nodes emitted one by one, each made consistent with its inputs.

The graph is rebuilt in topological order with the shape of every node known as soon as it is
emitted (:class:`Draft`, through :func:`nasvec.graph.shapes.infer_node`), so each node can be fixed
for the tensors it actually reads. Per node the rules below apply, cheapest first:

* ``attributes`` — the fixers of :mod:`nasvec.repair_rules.attributes` (counted when a value changed);
* ``rank`` — a Flatten before a Gemm on a tensor of rank > 2, a ``[N, C] -> [N, C, 1, ...]``
  Reshape before a conv or pool, a global pool of a 2-D tensor replaced by Identity;
* ``operands`` — :func:`adapt`: the operands of Add/Mul/Sub/Div/Concat made to fit (pooling or
  zero-padding for spatial sizes, a 1x1 Conv or a Linear for channels), or dropped;
* ``size_cap`` — a node whose output exceeds ``MAX_ELEMENTS`` values per example becomes Identity;
* ``fallback`` — a node still inconsistent becomes Identity;
* ``no_layers`` and ``classifier`` — at the Output: an Identity between Input and Output, and with
  ``num_classes`` a GlobalAveragePool / Flatten / Gemm head when the output is not ``[N, num_classes]``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import GraphError
from ..graph.core import ArchGraph, Node
from ..graph.limits import MAX_CHANNELS, MAX_TOTAL_PARAMS, SizeCapError, check_node
from ..graph.shapes import TensorInfo, infer_node
from ..graph.vocab import ATTRS, check_attr
from .attributes import MAX_ELEMENTS, fix_conv, fix_linear, fix_pool, fix_simple, norm_axis

BINARY = {"Add", "Mul", "Sub", "Div"}
SPATIAL_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
GLOBAL_POOLS = ("GlobalAveragePool", "GlobalMaxPool")


class Draft:
    """The graph being emitted: nodes, inputs, shapes (what :func:`infer_node` needs of a graph) and
    the count of every rule that fired."""

    def __init__(self, input_shape, count: Counter, input_name: str = "", num_classes: int | None = None):
        self.nodes, self.ins, self.infos = [], [], []
        # the learned weights so far, and what the classifier head may still need of MAX_TOTAL_PARAMS
        self.params = 0
        self.reserve = (MAX_CHANNELS + 1) * num_classes if num_classes else 0
        self.spatial = max(1, len(input_shape) - 2)
        self.count = count
        self.current = "node"   # the node being emitted, as the change log names it
        self.nodes.append(Node("Input", {}, name=input_name))
        self.ins.append([])
        self.infos.append(TensorInfo(tuple(input_shape)))

    # what infer_node needs of a graph
    def predecessors(self, i):
        return self.ins[i]

    def label(self, i):
        return f"node {i} ({self.nodes[i].op})"

    def shape(self, k) -> tuple:
        return tuple(self.infos[k].shape)

    def emit(self, op, attrs, ins, name="", head: bool = False):
        """Append a node; a :class:`GraphError` (and nothing appended) when its shape does not infer, and a
        :class:`~nasvec.errors.SizeCapError` when it would exceed a cap of :mod:`nasvec.graph.limits` (the total
        keeps room for the classifier ``head``): every emitted node is within the caps, by construction."""
        self.nodes.append(Node(op, attrs, name=name))
        self.ins.append(list(ins))
        k = len(self.nodes) - 1
        try:
            for key, value in attrs.items():   # every attribute legal and encodable (widths of the attribute matrix)
                check_attr(self.label(k), op, key, value)
            info = infer_node(self, k, self.infos)
            w = check_node(self.label(k), op, attrs, self.infos[ins[0]].shape if ins else (), info.shape)
            if w and self.params + w > MAX_TOTAL_PARAMS - (0 if head else self.reserve):
                raise SizeCapError(f"{self.label(k)}: {w:,} more learned weights would pass MAX_TOTAL_PARAMS")
        except SizeCapError:
            self.nodes.pop(), self.ins.pop()
            raise
        except (GraphError, KeyError, IndexError, TypeError, ValueError) as e:
            self.nodes.pop(), self.ins.pop()
            raise GraphError(str(e)) from None
        self.infos.append(info)
        self.params += w
        return k

    def identity(self, srcs, name=""):
        return self.emit("Identity", {}, srcs[:1], name)

    def note(self, rule: str, what: str, n: int = 1) -> None:
        """Count rule ``rule`` and log what it did to the node being emitted."""
        if hasattr(self.count, "note"):
            self.count.note(rule, f"{self.current}: {what}", n)
        else:
            self.count[rule] += n

    def finish(self) -> ArchGraph:
        """Rule ``prune``, once more: nodes that a dropped operand left without a path to the Output go."""
        n = len(self.nodes)
        keep = reaching(self.ins, n)
        if n - sum(keep):
            self.current = "shapes pass"
            self.note("prune", f"{n - sum(keep)} node(s) left without a path to the Output dropped", n - sum(keep))
        new, nodes, edges = {}, [], []
        for i in range(n):
            if keep[i]:
                new[i] = len(nodes)
                nodes.append(self.nodes[i])
                edges.extend((new[s_], new[i]) for s_ in self.ins[i])
        return ArchGraph(nodes, edges)


def reaching(nins, n) -> list[bool]:
    """Which nodes reach the last node (the Output)."""
    keep = [False] * n
    keep[n - 1] = True
    for k in range(n - 1, -1, -1):
        if keep[k]:
            for s_ in nins[k]:
                keep[s_] = True
    return keep


def _elements(shape):
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


# --------------------------------------------------------------------------- node rules
def adapt(d: Draft, k, target, skip_axis=None, broadcast: bool = False):
    """Rule ``operands``: make node ``k``'s output fit ``target`` on every axis but ``skip_axis``, on the
    branch itself (the smallest local change, nothing cut): a rank 2 tensor is reshaped to ``[N, C, 1, ...]``
    and a spatial one pooled and flattened to ``[N, C]``; spatial sizes are pooled down or zero-padded up;
    channels are mapped by a 1x1 Conv (or a Linear). ``broadcast``: a size-1 axis may stay 1 (binary ops
    broadcast it). Returns the adapted node, or None when the shapes cannot be made to fit."""
    x, target = d.shape(k), tuple(target)
    if len(x) != len(target):
        if len(x) == 2 and len(target) > 2:
            k = d.emit("Reshape", {"shape": [0, -1] + [1] * (len(target) - 2)}, [k])
        elif len(x) > 2 and len(target) == 2:
            k = d.emit("Flatten", {"axis": 1}, [d.emit("GlobalAveragePool", {}, [k])])
        else:
            return None
        x = d.shape(k)
    rank = len(x)
    keep = (lambda j, size: size == 1) if broadcast else (lambda j, size: False)
    if rank > 2:  # spatial sizes: pool down, pad up
        down = [j for j in range(2, rank) if j != skip_axis and x[j] > target[j] and not keep(j, target[j])]
        if down:
            kern = [x[j] - (target[j] - 1) * (x[j] // target[j]) if j in down else 1 for j in range(2, rank)]
            strd = [x[j] // target[j] if j in down else 1 for j in range(2, rank)]
            k = d.emit("AveragePool", {"kernel_shape": kern, "strides": strd}, [k])
            x = d.shape(k)
        up = [j for j in range(2, rank) if j != skip_axis and x[j] < target[j] and not keep(j, x[j])]
        if up and 2 * rank > ATTRS["pads"][1]:   # a Pad of this rank has more pads than the encoding holds
            return None
        if up:
            pads = [0] * (2 * rank)
            for j in up:
                extra = target[j] - x[j]
                pads[j], pads[j + rank] = extra // 2, extra - extra // 2
            k = d.emit("Pad", {"pads": pads}, [k])
            x = d.shape(k)
    if skip_axis != 1 and x[1] != target[1] and not keep(1, x[1]):
        if rank > 2:
            k = d.emit("Conv", {"kernel_shape": [1] * (rank - 2), "out_channels": int(target[1])}, [k])
        else:
            k = d.emit("MatMul", {"out_features": int(target[1])}, [k])
    x = d.shape(k)
    fits = all(j == skip_axis or j == 0 or x[j] == target[j] or (broadcast and 1 in (x[j], target[j]))
               for j in range(rank))
    return k if fits else None


def to_spatial(d: Draft, k):
    """Rule ``rank``: [N, C] (rank 2) -> [N, C, 1, ...] so a conv or pool can read it."""
    d.note("rank", "a Reshape [N, C] -> [N, C, 1, ...] inserted before it")
    return d.emit("Reshape", {"shape": [0, -1] + [1] * d.spatial}, [k])


def with_attrs(d: Draft, op, raw, fixed, srcs, name):
    """Emit with the fixed attributes (rule ``attributes`` when they differ from the raw ones), under
    the size cap (rule ``size_cap``)."""
    if fixed != raw:
        d.note("attributes", ", ".join(f"{k} {raw.get(k, '-')} -> {fixed.get(k, '-')}"
                                       for k in sorted(set(raw) | set(fixed)) if raw.get(k) != fixed.get(k)))
    try:
        return d.emit(op, fixed, srcs, name)
    except SizeCapError as e:
        d.note("size_cap", f"{str(e).split(': ', 1)[-1]} -> Identity")
        return d.identity(srcs, name)


def partner(d: Draft, k):
    """The nearest node emitted before ``k`` (not the Input) with ``k``'s shape, or None: the second operand of
    a binary op that lost one (a residual Add whose skip edge was damaged reads the block's input again)."""
    x = d.shape(k)
    return next((j for j in range(k - 1, 0, -1) if d.shape(j) == x), None)


def _binary(d: Draft, op, raw, srcs, name):
    if len(srcs) < 2:
        other = partner(d, srcs[0])
        d.note("operands", f"one operand: the second reads the nearest earlier node of its shape ({other})"
               if other is not None else "one operand and no node of its shape -> Identity")
        if other is None:
            return d.identity(srcs, name)
        srcs = [srcs[0], other]
    a0, a1 = srcs[0], srcs[1]
    t, s = d.shape(a0), d.shape(a1)
    try:  # same rank only: right-aligned broadcasting across ranks depends on the batch size
        ok = len(t) == len(s) and np.broadcast_shapes(t, s) is not None
    except ValueError:
        ok = False
    usual = _usual(d) if not ok and len(s) == len(t) else None
    swapped = usual is not None and _off(d, s, usual) < _off(d, t, usual)
    if swapped:   # adapt the larger operand: pooling down keeps the caps (the operands keep their order)
        a0, a1, t, s = a1, a0, s, t
    if not ok:
        new = adapt(d, a1, t, broadcast=True)
        d.note("operands", f"operand {list(s)} adapted to {list(t)}" if new is not None
               else f"operand {list(s)} cannot fit {list(t)}: -> Identity")
        if new is None:
            return d.identity(srcs[:1], name)
        a1 = new
    if _elements(np.broadcast_shapes(d.shape(a0), d.shape(a1))) > MAX_ELEMENTS:
        d.note("size_cap", f"{op} would be too large -> Identity")
        return d.identity(srcs[:1], name)
    return d.emit(op, {}, [a1, a0] if swapped else [a0, a1], name)


def _usual(d: Draft, n: int = 25) -> float | None:
    """The median spatial size (values per channel) of the last ``n`` spatial tensors emitted: the size the network
    has around the node being emitted."""
    sizes = []
    for j in range(len(d.infos) - 1, 0, -1):   # newest first, stopping at n: linear in the graph overall
        shape = d.infos[j].shape
        if len(shape) > 2:
            sizes.append(_elements(shape) // shape[1])
            if len(sizes) == n:
                break
    return float(np.median(sizes)) if sizes else None


def _off(d: Draft, shape, usual) -> float:
    """How far a tensor's spatial size is from the ``usual`` one (log ratio; 0 without spatial axes)."""
    if usual is None or len(shape) < 3:
        return 0.0
    return abs(np.log(_elements((1,) + tuple(shape[1:])) // shape[1]) - np.log(usual))


def _majority(d: Draft, srcs, axn):
    """The operand whose shape (but axis ``axn``) most operands share: the Concat's reference, so one operand
    rewired to a far-away tensor is the one adapted, not the others. On a tie, the operand (of the first's rank)
    whose spatial size is nearest the network's around it (:func:`_usual`), the first among equals."""
    from collections import Counter

    keys = [tuple(t for j, t in enumerate(d.shape(s_)) if j != axn) + (len(d.shape(s_)),) for s_ in srcs]
    counts = Counter(keys)
    top = [k for k in keys if counts[k] == max(counts.values())]
    same = [k for k in top if k[-1] == top[0][-1]]
    if len(set(same)) == 1:
        return srcs[keys.index(same[0])]
    usual = _usual(d)
    common = min(same, key=lambda k: (round(_off(d, d.shape(srcs[keys.index(k)]), usual), 6), same.index(k)))
    return srcs[keys.index(common)]


def _concat(d: Draft, op, raw, srcs, name):
    x = d.shape(srcs[0])
    rank = len(x)
    ax = raw.get("axis", 1)
    axn = norm_axis(ax, rank)
    if axn in (None, 0):
        d.note("attributes", f"axis {ax} -> 1")
        ax, axn = 1, 1
    ref = _majority(d, srcs, axn)
    x = d.shape(ref)
    if len(x) != rank:   # the majority has another rank: the axis read for it
        rank, axn = len(x), norm_axis(ax, len(x)) or 1
        ax = ax if norm_axis(ax, rank) else 1
    ins = []
    for s_ in srcs:
        if s_ == ref:
            ins.append(s_)
            continue
        y = d.shape(s_)
        if len(y) == rank and all(y[j] == x[j] for j in range(rank) if j != axn):
            ins.append(s_)
            continue
        new = adapt(d, s_, x, skip_axis=axn)
        d.note("operands", f"operand {list(y)} adapted to {list(x)} (but axis {axn})" if new is not None
               else f"operand {list(y)} cannot fit {list(x)}: dropped")
        if new is not None:
            ins.append(new)
    total = sum(d.infos[s_].shape[axn] for s_ in ins)
    if _elements(x) // x[axn] * total > MAX_ELEMENTS:
        d.note("size_cap", "Concat would be too large -> Identity")
        return d.identity([ref], name)
    return with_attrs(d, op, raw, {"axis": ax} if "axis" in raw or ax != 1 else {"axis": 1}, ins, name)


def fallback(d: Draft, srcs, name):
    """Rule ``fallback``: a node that still does not fit becomes an Identity of its first input."""
    d.note("fallback", "still inconsistent -> Identity")
    return d.identity(srcs[:1], name)


def _spatial(d: Draft, op, raw, srcs, name):
    x = d.shape(srcs[0])
    try:
        if len(x) < 3:
            if op in GLOBAL_POOLS:
                d.note("rank", "a global pool of a 2-D tensor -> Identity")
                return d.identity(srcs, name)
            srcs = [to_spatial(d, srcs[0])]
            x = d.shape(srcs[0])
        if len(x) > d.spatial + 2:   # a channel shuffle cut short: fold the extra axes into the channels
            d.note("rank", f"its input {list(x)} folded to [N, C, spatial] by a Reshape")
            srcs = [d.emit("Reshape", {"shape": [0, -1] + list(x[-d.spatial:])}, srcs[:1])]
            x = d.shape(srcs[0])
        if op in GLOBAL_POOLS:
            return d.emit(op, {}, srcs, name)
        fixed = fix_conv(op, raw, x) if op in ("Conv", "ConvTranspose") else fix_pool(op, raw, x)
        return with_attrs(d, op, raw, fixed, srcs, name)
    except GraphError:
        return fallback(d, srcs, name)  # reading the Reshape, if one was added


def _linear(d: Draft, op, raw, srcs, name):
    x = d.shape(srcs[0])
    try:
        if op == "Gemm" and len(x) != 2:
            d.note("rank", "a Flatten inserted before it")
            srcs = [d.emit("Flatten", {"axis": 1}, srcs)]
            x = d.shape(srcs[0])
        return with_attrs(d, op, raw, fix_linear(op, raw, x), srcs, name)
    except GraphError:
        return fallback(d, srcs, name)  # reading the Flatten, if one was added


def _simple(d: Draft, op, raw, srcs, name):
    return with_attrs(d, op, raw, fix_simple(op, raw, d.shape(srcs[0])), srcs, name)


#: the node rules of each kind of op, applied when the node is emitted
EMITTERS = {**{op: _binary for op in BINARY}, "Concat": _concat, **{op: _spatial for op in SPATIAL_OPS},
            "Gemm": _linear, "MatMul": _linear}


def emit_node(d: Draft, op, raw, srcs, name):
    """Emit one node of ``op`` with the attributes ``raw`` read from the decoder, reading ``srcs``:
    the node rules in order, and rule ``fallback`` (Identity) when it still does not fit."""
    try:
        return EMITTERS.get(op, _simple)(d, op, raw, srcs, name)
    except GraphError:
        return fallback(d, srcs, name)


def emit_output(d: Draft, srcs, name, num_classes):
    """The Output: rule ``no_layers`` (an Identity when it would read the Input) and, with
    ``num_classes``, rule ``classifier``."""
    if d.nodes[srcs[0]].op == "Input":
        srcs = [d.emit("Identity", {}, srcs)]
        d.note("no_layers", "it read the Input: an Identity in between")
    if num_classes is not None:
        srcs = [classifier_head(d, srcs[0], int(num_classes))]
    return d.emit("Output", {}, srcs[:1], name)


def classifier_head(d: Draft, k, num_classes):
    """Rule ``classifier``: GlobalAveragePool / Flatten / Gemm until the output is ``[N, num_classes]``."""
    x = d.infos[k].shape
    if tuple(x) == (x[0], num_classes) and len(x) == 2:
        return k
    d.note("classifier", f"output {list(x)} -> [N, {num_classes}]: a head appended")
    if len(x) > 2:
        k = d.emit("GlobalAveragePool", {}, [k])
    if len(d.infos[k].shape) != 2:
        k = d.emit("Flatten", {"axis": 1}, [k])
    if d.infos[k].shape[1] > MAX_CHANNELS:   # the head's Linear within the caps: its first MAX_CHANNELS features
        d.note("classifier", f"{d.infos[k].shape[1]:,} features: the first {MAX_CHANNELS:,} read by the head")
        k = d.emit("Slice", {"starts": [0], "ends": [MAX_CHANNELS], "axes": [1]}, [k])
    return d.emit("Gemm", {"out_features": num_classes, "bias": 1}, [k], head=True)
