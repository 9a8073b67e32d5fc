"""A neural network as an attributed directed acyclic graph (chapter 1).

An :class:`ArchGraph` holds its nodes in topological order; every edge goes
from a lower to a higher index. A node has an operation name (``op``) and a
dictionary of attributes. This module knows nothing of torch, ONNX, training
or the book: with the vocabulary it is the bottom layer every other module builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..errors import GraphError
from .vocab import validate as _validate


def canonical_value(value: Any):
    """A hashable, comparable form of an attribute value."""
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(canonical_value(v) for v in value)
    if isinstance(value, (float, np.floating)):
        # float attributes are float32 numbers, as in ONNX: compare at that precision
        return float(np.float32(value)) if np.isfinite(value) and abs(value) < 3.4e38 else float(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


@dataclass(eq=False)
class Node:
    """One layer or operation: an op type, its attributes and an optional name.

    Two nodes are equal when their ops and attributes are equal (float
    attributes at float32 precision, ONNX's); names are labels only and do
    not take part in comparison.
    """

    op: str
    attrs: dict = field(default_factory=dict)
    name: str = ""

    def key(self):
        return (self.op, tuple(sorted((k, canonical_value(v)) for k, v in self.attrs.items())))

    def __eq__(self, other):
        return isinstance(other, Node) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        label = f"{self.name}:" if self.name else ""
        return f"Node({label}{self.op}{' ' + str(self.attrs) if self.attrs else ''})"


class ArchGraph:
    """An attributed DAG with nodes in topological order.

    ``nodes`` is a list of :class:`Node`; ``edges`` a list of ``(src, dst)``
    index pairs with ``src < dst``. The order of a node's incoming edges is
    kept (it is the order of the op's inputs: it matters for Concat or Sub);
    edges are stored grouped by destination (a stable sort), so two graphs
    with the same inputs per node compare equal. ``meta`` holds facts that are
    not part of the architecture (e.g. the input shape of the file it came from)
    and does not take part in comparison.
    """

    def __init__(self, nodes: Iterable[Node], edges: Iterable[tuple[int, int]], name: str = "", meta: dict | None = None):
        self.nodes = [n if isinstance(n, Node) else Node(*n) for n in nodes]
        self.edges = sorted(((int(s), int(d)) for s, d in edges), key=lambda e: e[1])
        self.name = name
        self.meta = dict(meta or {})
        n = len(self.nodes)
        for k, (s, d) in enumerate(self.edges):
            if not (0 <= s < n and 0 <= d < n):
                raise GraphError(f"edge {k} ({s} -> {d}) names a node outside 0..{n - 1}")
            if s >= d:
                raise GraphError(
                    f"edge {k} ({s} -> {d}) does not go forward: nodes must be in topological "
                    f"order (node {d} {self.nodes[d].op!r} cannot read node {s} {self.nodes[s].op!r})"
                )

    # --- structure -----------------------------------------------------
    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def ops(self) -> list[str]:
        return [n.op for n in self.nodes]

    def inputs(self) -> list[list[int]]:
        """For every node, its predecessors in input order."""
        ins: list[list[int]] = [[] for _ in self.nodes]
        for s, d in self.edges:
            ins[d].append(s)
        return ins

    def outputs(self) -> list[list[int]]:
        """For every node, its successors."""
        outs: list[list[int]] = [[] for _ in self.nodes]
        for s, d in self.edges:
            outs[s].append(d)
        return outs

    def validate(self, input_shape=None) -> "ArchGraph":
        """Check that this is a network of the vocabulary; raise :class:`GraphError` naming the node.

        Ops and attributes must be in :mod:`nasvec.graph.vocab` with values of the right kind and range (sizes
        >= 1, pads >= 0, layer widths within :mod:`nasvec.graph.limits`, required attributes present); one
        ``Input`` (the only node without inputs, besides ``Constant`` nodes), one ``Output`` (the only node
        without consumers, fed by exactly one node). With ``input_shape`` (or the one ``meta`` records, when
        ``input_shape="meta"``), also every shape (:func:`checked_shapes`: consistent, within
        the size caps, buildable): a graph that validates for a shape builds with ``to_onnx`` (full checker) and
        ``to_torch`` for it. Returns the graph.
        """
        _validate(self)
        if input_shape is not None:
            from .shapes import default_input_shape

            checked_shapes(self, default_input_shape(self, None if input_shape == "meta" else input_shape))
        return self

    def label(self, i: int) -> str:
        node = self.nodes[i]
        return f"node {i}" + (f" {node.name!r}" if node.name else "") + f" ({node.op})"

    def predecessors(self, i: int) -> list[int]:
        return [s for s, d in self.edges if d == i]

    def successors(self, i: int) -> list[int]:
        return [d for s, d in self.edges if s == i]

    def in_degrees(self) -> np.ndarray:
        deg = np.zeros(len(self.nodes), dtype=np.int64)
        for _, d in self.edges:
            deg[d] += 1
        return deg

    def out_degrees(self) -> np.ndarray:
        deg = np.zeros(len(self.nodes), dtype=np.int64)
        for s, _ in self.edges:
            deg[s] += 1
        return deg

    def to_networkx(self):
        import networkx as nx

        g = nx.DiGraph()
        for i, node in enumerate(self.nodes):
            g.add_node(i, op=node.op, attrs=node.attrs, name=node.name)
        g.add_edges_from(self.edges)
        return g

    # --- comparison ----------------------------------------------------
    def __eq__(self, other):
        return (
            isinstance(other, ArchGraph)
            and self.nodes == other.nodes
            and self.edges == other.edges
        )

    def __hash__(self):
        return hash((tuple(n.key() for n in self.nodes), tuple(self.edges)))

    def __repr__(self):
        head = f"{self.name!r}, " if self.name else ""
        return f"ArchGraph({head}{len(self.nodes)} nodes, {len(self.edges)} edges)"


def require_graph(g, who: str) -> None:
    """A :class:`~nasvec.errors.GraphError` naming ``who`` unless ``g`` is an :class:`ArchGraph`."""
    if not isinstance(g, ArchGraph):
        raise GraphError(f"{who}: expected an ArchGraph (from nasvec.from_onnx, from_torch, decode or repair), "
                         f"got {type(g).__name__}")


def checked_shapes(g: ArchGraph, input_shape) -> list:
    """:func:`infer_shapes`, and what every builder needs beyond consistent shapes (``ArchGraph.validate`` with an
    input shape): the size caps of :mod:`nasvec.graph.limits` per node and in total, explicit pads (no SAME
    auto_pad), 1-3 spatial dims, symmetric ConvTranspose pads, batch norm of rank 2-5 in inference mode, and a
    floating output that is not the Input itself. Raises :class:`GraphError` naming the node."""
    from .limits import check_node, check_total
    from .shapes import infer_shapes

    infos = infer_shapes(g, input_shape)
    ins = g.inputs()
    total = 0
    for i, node in enumerate(g.nodes):
        op, a, where = node.op, node.attrs, g.label(i)
        x = infos[ins[i][0]].shape if ins[i] else ()
        total += check_node(where, op, a, x, infos[i].shape)
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise GraphError(f"{where}: auto_pad {a['auto_pad']} (the builders need explicit pads)")
        if op in ("Conv", "ConvTranspose", "MaxPool", "AveragePool"):
            r = len(a.get("kernel_shape", ()))
            if not 1 <= r <= 3:
                raise GraphError(f"{where}: {r} spatial dims (1-3 are supported)")
            if op == "ConvTranspose" and "pads" in a and list(a["pads"][:r]) != list(a["pads"][r:]):
                raise GraphError(f"{where}: asymmetric ConvTranspose pads {a['pads']}")
            if op in ("MaxPool", "AveragePool") and "pads" in a:
                d = a.get("dilations", [1] * r)
                half = [((k - 1) * dd + 1) // 2 for k, dd in zip(a["kernel_shape"], d)]
                if any(p > half[j % r] for j, p in enumerate(a["pads"])):
                    raise GraphError(f"{where}: pads {a['pads']} exceed half the kernel {a['kernel_shape']}")
        if op == "BatchNormalization" and (not 2 <= len(x) <= 5 or a.get("training_mode", 0)):
            raise GraphError(f"{where}: BatchNormalization needs an input of rank 2-5 and training_mode 0")
        if op == "Output":
            if g.nodes[ins[i][0]].op == "Input":
                raise GraphError("the Output reads the Input directly: the network has no layers")
            if infos[ins[i][0]].value is not None:
                raise GraphError("the output is an integer (shape arithmetic) tensor")
    check_total(total)
    return infos
