"""The repair engine (chapter 3): :func:`repair` and the rules it runs, :data:`RULES`.

``repair(v)`` takes a vector representation in the form :func:`nasvec.graph.vectors.encode` returns
(a :class:`~nasvec.graph.vectors.VectorRep` or a dict with ``ops``, ``edge_index`` or ``adjacency``,
``attrs``) whose arrays may hold anything: op *scores* ``[N, len(OPS)]`` instead of ids, ids that are
non-integer, negative, out of range, NaN or inf; garbage in any attribute column; edges outside the
graph, backwards or to themselves, or a dense ``[N, N]`` adjacency score matrix. It returns an
:class:`~nasvec.graph.ArchGraph` that passes ``validate()``, builds with ``to_onnx(g, input_shape)``
(full ``onnx.checker``) and runs in onnxruntime and as ``to_torch(g)`` (forward and backward) for
``input_shape``. ``g.meta["repairs"]`` counts how often each rule fired ({} for a graph that was
already valid) and ``g.meta["changes"]`` says what each did, node by node (:func:`changes_table`);
``repair(v, report=True)`` returns ``(g, counts)``.

**Minimal change is the contract.** Every rule prefers the smallest change that makes the graph valid,
in this order of preference: restore a damaged value from what the rest of the decode implies (an op
from its attribute row, a list entry from the list's other entries, a permutation's missing axis, a
Reshape's entry from the element count); reconnect rather than drop (a node without inputs reads the
node before it, a node nobody reads feeds the nearest node that can take it, a binary op that lost an
operand reads the nearest earlier node of the same shape); fix a shape clash on the offending branch
(an attribute within its legal range, a pooling, padding, reshape or 1x1 projection) rather than cut
it; only then replace a node by an Identity (``fallback``) or drop what no longer reaches the Output
(``prune``).

**Valid input is returned unchanged.** If the arrays decode exactly (:func:`nasvec.graph.vectors.decode`)
to a graph that validates, whose shapes infer for ``input_shape`` and that ``to_torch`` supports,
that graph is the result: ``repair(encode(g)) == g``. Otherwise the rules of :data:`RULES` run, in
that order, each a named function: the array rules (:mod:`.arrays`), the structural passes
(:mod:`.passes`), then the shapes pass that emits node by node and applies the node rules
(:mod:`.emit`, :mod:`.attributes`). They are deterministic (no randomness, stable orders) and linear
in the number of nodes and edges.

A repaired CNN keeps the batch axis: no op of the result mixes or moves axis 0 (Flatten axis 1,
Concat/Softmax/Slice/ReduceMean/Pad leave it alone, Gemm never transposes its input), so the network
trains with any batch size. Layer sizes are capped (:data:`MAX_CHANNELS`, :data:`MAX_LAYER_PARAMS`,
:data:`MAX_ELEMENTS`) so that garbage cannot ask for terabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from typing import Callable

from ..errors import GraphError, RepairError
from ..graph.codec import read_attrs
from ..graph.core import ArchGraph, Node
from ..graph.limits import MAX_CHANNELS, MAX_ELEMENTS
from ..graph.vocab import OPS
from . import emit, passes
from .arrays import (array, attribute_matrix, clean_adjacency_edges, decode_edges, decode_ops, exact, fields,
                     is_classifier, problem, raw_arrays, valid_before_repair)

__all__ = ["RULES", "Rule", "changes_table", "repair", "rule_table"]


@dataclass(frozen=True)
class Rule:
    """One repair rule: what it fixes, the function that does it, and the pass it belongs to.

    ``stage``: ``"arrays"`` (reading the decoder's arrays, before any pass), ``"structure"`` (a pass over
    the whole skeleton: :func:`repair` runs these in the order of :data:`RULES`) or ``"node"`` (applied
    to each node as the shapes pass emits it, by :func:`~nasvec.repair_rules.emit.emit_node` and
    :func:`~nasvec.repair_rules.emit.emit_output`) or ``"final"`` (the check of the result). For the array and node
    rules ``apply`` is the function
    where the rule is written; only the structural passes are called through it.
    """

    fixes: str
    apply: Callable
    stage: str


def _built(g: ArchGraph, input_shape, num_classes, count) -> ArchGraph:
    """Rule ``build_check``: the result must pass ``validate(input_shape)`` and ``to_onnx``'s full checker (weights as
    graph inputs, so nothing is allocated). Every rule above aims at that; should one miss, the result is the
    smallest network that builds (a global pool and, with ``num_classes``, a Linear head) and the log says so."""
    from ..io.onnx_write import to_onnx

    try:
        g.validate(input_shape)
        to_onnx(g, input_shape, weights="none")
        return g
    except GraphError as e:
        count.note("build_check", f"result: {str(e)[:300]} -> the smallest network that builds")
    nodes = [Node("Input"), Node("GlobalAveragePool"), Node("Flatten", {"axis": 1})]
    if num_classes is not None:
        nodes.append(Node("Gemm", {"out_features": int(num_classes), "bias": 1}))
    nodes.append(Node("Output"))
    return ArchGraph(nodes, [(i, i + 1) for i in range(len(nodes) - 1)])


#: rule name -> :class:`Rule`, in the order they run (the chapter's rule table is built from this)
RULES = {
    "op_ids": Rule("op scores -> argmax; an id that is non-integer is rounded; out of range, NaN or inf -> Identity",
                   decode_ops, "arrays"),
    "edges": Rule("edges naming a node outside 0..N-1, non-finite, self-loops and duplicates are dropped",
                  decode_edges, "arrays"),
    "acyclic": Rule("the node order is the topological order: an edge pointing backwards is reversed",
                    decode_edges, "arrays"),
    "op_from_attrs": Rule("an op id that could not be read, that contradicts its attribute row (two or more "
                          "attributes its op does not take, all taken by another op), or that takes fewer inputs than "
                          "the node has while its row names a foreign attribute (then only an op taking more inputs), "
                          "is read from the row: the op that takes the inputs and fits the row best, a known op only "
                          "for one whose key attribute the row holds (KEY_ATTR); a row without attributes gives Add "
                          "(two inputs) or Relu",
                          passes.op_from_attrs, "structure"),
    "shape_ops": Rule("shape arithmetic (Shape, Gather, Unsqueeze, Squeeze) -> Identity; Constant dropped; a Reshape "
                      "or Transpose stays only if it keeps the batch axis apart", passes.shape_ops, "structure"),
    "one_source": Rule("exactly one Input, first: extra Inputs -> Identity, a missing one is added, edges into it "
                       "dropped", passes.one_source, "structure"),
    "one_sink": Rule("exactly one Output, last: extra Outputs -> Identity, a missing one is added, edges out of it "
                     "dropped", passes.one_sink, "structure"),
    "orphans": Rule("a node with no inputs reads the node just before it (a Slice after a Slice: what that Slice "
                    "reads)", passes.orphans, "structure"),
    "arity": Rule("inputs beyond an op's arity are dropped: first those read by others too, then the farthest back "
                  "(a node left unread is reconnected by the next rule)", passes.limit_arity, "structure"),
    "dangling": Rule("a node nobody reads feeds the nearest later node that lacks an input it needs (a Concat of one "
                     "input, a binary op of one operand), else the nearest with a free input slot or one whose input "
                     "is read by others too (that input moves to it)", passes.dangling,
                     "structure"),
    "prune": Rule("nodes not on a path from the Input to the Output are dropped", passes.prune, "structure"),
    "symmetric": Rule("a conv or pool whose strides or dilations differ between axes (-> the smaller) or one of whose "
                      "pads differs from all its others (-> theirs), among convs and pools at least 3 in 4 of which "
                      "are symmetric", passes.odd_lists, "structure"),
    "no_layers": Rule("an Output reading the Input directly gets an Identity in between", emit.emit_output, "node"),
    "attributes": Rule("attribute values made legal for the op and the input shape (kernel, stride, pads, group, "
                       "channels, axes, ...); missing required ones filled with defaults", emit.with_attrs, "node"),
    "rank": Rule("Flatten inserted before Gemm; [N, C] -> [N, C, 1, 1] Reshape before a conv or pool, and a tensor "
                 "of more axes than the input folded into [N, C, spatial]; global pool of a 2-D tensor -> Identity",
                 emit.to_spatial, "node"),
    "operands": Rule("Add/Mul/Sub/Div/Concat operands made compatible on the offending branch: reshape or global pool "
                     "for the rank, pooling or zero-padding for spatial sizes, a 1x1 Conv (or Linear) for channels; "
                     "a binary op with one operand reads the nearest earlier node of the same shape", emit.adapt,
                     "node"),
    "size_cap": Rule("a node that would exceed a cap of nasvec.graph.limits (values per example, layer width, weights "
                     "per layer or in total) -> Identity", emit.with_attrs,
                     "node"),
    "fallback": Rule("a node still inconsistent after the rules above -> Identity", emit.fallback, "node"),
    "classifier": Rule("with num_classes: GlobalAveragePool / Flatten / Gemm head appended when the output is not "
                       "[N, num_classes] (reading at most MAX_CHANNELS features)", emit.classifier_head, "node"),
    "build_check": Rule("the result must validate for input_shape and pass to_onnx's full checker; should a rule "
                        "above miss, the smallest network that builds is returned instead", _built, "final"),
}


def changes_table(g):
    """What repair changed in ``g`` and why (``g.meta["changes"]``): a table of ``rule`` and ``change``, in the
    order the rules made them; nodes are named by their index in the decoder's arrays."""
    import pandas as pd

    return pd.DataFrame(g.meta.get("changes", []), columns=["rule", "change"])


def rule_table():
    """The rules as a table: ``rule``, ``what it fixes`` (the chapter shows it)."""
    import pandas as pd

    return pd.DataFrame({"rule": list(RULES), "what it fixes": [r.fixes for r in RULES.values()]})


def _check_args(input_shape, num_classes) -> tuple:
    try:
        if isinstance(input_shape, (str, bytes)):
            raise TypeError
        input_shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError, OverflowError):
        raise RepairError(f"repair: input_shape must be a tuple of positive ints, got {input_shape!r}") from None
    if len(input_shape) < 3 or min(input_shape) < 1 or len(input_shape) > 5:
        raise RepairError(f"repair: input_shape must be (N, C, spatial...) with 1-3 spatial dims of positive sizes, "
                          f"got {input_shape}")
    if int(np.prod(input_shape[1:], dtype=object)) > MAX_ELEMENTS:
        raise RepairError(f"repair: input_shape {input_shape} holds more than MAX_ELEMENTS = {MAX_ELEMENTS:,} values "
                          f"per example (nasvec.graph.limits)")
    if num_classes is not None and (not isinstance(num_classes, (int, np.integer)) or not
                                    1 <= num_classes <= MAX_CHANNELS):
        raise RepairError(f"repair: num_classes must be an int in 1..{MAX_CHANNELS} (nasvec.graph.limits) or None, "
                          f"got {num_classes!r}")
    return input_shape


def _fixed_point(ops, edge_index, adjacency, attrs, tensors, names, input_shape, num_classes, threshold):
    """The exact decode when it already runs (and is a classifier, if asked): the graph to return, or None."""
    strict_edges = edge_index
    if adjacency is not None:
        strict_edges = clean_adjacency_edges(adjacency, threshold)
    if strict_edges is None:
        return None
    g = exact(ops, strict_edges, attrs, tensors, names)
    if g is None or problem(g, input_shape) is not None:
        return None
    if num_classes is not None and not is_classifier(g, input_shape, num_classes):
        return None
    return g


def _skeleton(ops, edge_index, adjacency, attrs, names, threshold, count) -> passes.Skeleton:
    """The array rules: op ids, the attribute matrix, a forward edge list."""
    ids = decode_ops(ops, count)
    raw = array(ops, "ops")
    unread = (~np.isfinite(raw) | (np.round(raw) < 0) | (np.round(raw) >= len(OPS)) if raw.ndim == 1
              else ~np.isfinite(raw).any(1) if raw.ndim == 2 else np.zeros(len(ids), bool))
    n = len(ids)
    matrix = attribute_matrix(attrs, n, count)
    rows = matrix.tolist()
    e = decode_edges(edge_index, adjacency, n, threshold, count)
    for rule, what in (("op_ids", "op id(s) rounded or unreadable"), ("edges", "edge(s) dropped: outside the graph, "
                       "not finite, self-loops or duplicates"), ("acyclic", "backward edge(s) reversed")):
        if count[rule] and hasattr(count, "log"):
            count.log.append((rule, f"{count[rule]} {what}"))
    ins = [[] for _ in range(n)]
    for s_, d_ in zip(e[0].tolist(), e[1].tolist()):
        ins[d_].append(s_)
    names = [str(names[i]) if i < len(names) else "" for i in range(n)]
    return passes.Skeleton([OPS[k] for k in ids], rows, ins, names, count, unread=unread.tolist(),
                              present=passes.evidence(matrix))


def _shapes(s: passes.Skeleton, input_shape, num_classes):
    """The shapes pass: emit the kept nodes in order, applying the node rules, then prune again."""
    d = emit.Draft(input_shape, s.count, input_name=s.names[0], num_classes=num_classes)
    emitted = {0: 0}
    for k in range(1, len(s)):
        if not s.keep[k]:
            continue
        srcs = [emitted[j] for j in s.ins[k] if j in emitted]
        d.current = s.label(k)
        if s.ops[k] == "Output":
            emitted[k] = emit.emit_output(d, srcs, s.names[k], num_classes)
        else:
            a = s.symmetric[k] if k in s.symmetric else read_attrs(s.rows[k], s.ops[k])
            emitted[k] = emit.emit_node(d, s.ops[k], a, srcs, s.names[k])
    return d.finish()


def repair(v, input_shape=(1, 1, 28, 28), num_classes: int | None = None, report: bool = False,
           edge_threshold: float = 0.5):
    """Turn a decoder's output ``v`` into a valid, runnable :class:`ArchGraph` (see the module docstring).

    ``input_shape``: the shape the network must run on. ``num_classes``: if given, the output is made
    ``[N, num_classes]`` (a classifier head is appended when it is not). ``edge_threshold``: a dense
    adjacency entry above it is an edge. ``report=True`` returns ``(graph, counts)``; the counts are
    also in ``graph.meta["repairs"]``. Input that is not arrays at all is a :class:`~nasvec.errors.RepairError`.
    """
    input_shape = _check_args(input_shape, num_classes)
    ops, edge_index, adjacency, attrs, tensors, names = fields(v)
    g = _fixed_point(ops, edge_index, adjacency, attrs, tensors, names, input_shape, num_classes, edge_threshold)
    if g is not None:
        g.meta.update(input_shape=input_shape, repairs={}, changes=[])
        return (g, {}) if report else g
    count = passes.Tally()
    skeleton = _skeleton(ops, edge_index, adjacency, attrs, names, edge_threshold, count)
    for rule in RULES.values():
        if rule.stage == "structure":
            rule.apply(skeleton)
    g = _built(_shapes(skeleton, input_shape, num_classes), input_shape, num_classes, count)
    g.meta.update(input_shape=input_shape, repairs={k: c for k, c in sorted(count.items()) if c}, changes=count.log)
    return (g, dict(g.meta["repairs"])) if report else g


