"""D-VAE's ENAS architectures and generated ones from the same search space (chapters 2 and 3).

* :func:`load_enas`     – D-VAE's ``final_structures6.txt`` with D-VAE's own train/test split;
* :func:`generate_enas` – random architectures from the ENAS macro search space (no files needed);
* :func:`enas_split`    – chapter 2's architectures and their split, whichever of the two;
* :func:`enas_to_graph`, :func:`graph_to_enas` – D-VAE's list encoding <-> :class:`~nasvec.graph.ArchGraph`;
* :func:`enas_invalid_reason`, :func:`is_valid_enas` – D-VAE's check that a decode is an ENAS network.
"""

from __future__ import annotations

import ast
import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError
from ..graph.core import ArchGraph, Node
from ..utils import record_input
from .images import data_dir, split_indices

# --------------------------------------------------------------------------- ENAS
ENAS_OPS = ("conv3x3", "sep_conv3x3", "conv5x5", "sep_conv5x5", "avg_pool3x3", "max_pool3x3")
#: D-VAE's node types: 0 input, 1 output, 2 + ENAS op id.
ENAS_TYPES = ("input", "output") + ENAS_OPS
ENAS_FILE_SHA256 = "fea9a7dde1545e7d3bd58fd4b9c3db08a89c18e0351f770cde2fe530c4791725"


def enas_to_graph(arch) -> ArchGraph:
    """One ENAS architecture (``[[o0], [o1, s], ...]``) as an :class:`ArchGraph`.

    D-VAE's convention: node 0 is the input, nodes 1..n the layers, n+1 the output;
    layer i reads layer i-1 and every earlier node j whose skip flag is set; the output reads the last layer.
    """
    n = len(arch)
    nodes = [Node("input")]
    edges = []
    for i, layer in enumerate(arch):
        if len(layer) != i + 1:
            raise DataError(f"ENAS layer {i} has {len(layer)} entries, expected {i + 1} (op id and {i} skip flags)")
        op, flags = layer[0], layer[1:]
        if not (isinstance(op, int) and 0 <= op < len(ENAS_OPS)):
            raise DataError(f"ENAS layer {i}: op id {op!r} is not in 0..{len(ENAS_OPS) - 1}")
        if any(f not in (0, 1) for f in flags):
            raise DataError(f"ENAS layer {i}: skip flags {flags!r} must be 0 or 1")
        nodes.append(Node(ENAS_OPS[op]))
        preds = sorted({i} | {j for j, f in enumerate(flags) if f})
        edges += [(j, i + 1) for j in preds]
    nodes.append(Node("output"))
    edges.append((n, n + 1))
    return ArchGraph(nodes, edges)


def graph_to_enas(g: ArchGraph) -> list[list[int]]:
    """Inverse of :func:`enas_to_graph` (raises :class:`DataError` if ``g`` is not an ENAS graph)."""
    n = len(g) - 2
    if n < 1 or g.nodes[0].op != "input" or g.nodes[-1].op != "output":
        raise DataError("not an ENAS graph: it must start with 'input' and end with 'output'")
    arch = []
    for i in range(n):
        op = g.nodes[i + 1].op
        if op not in ENAS_OPS:
            raise DataError(f"node {i + 1}: op {op!r} is not an ENAS op")
        preds = set(g.predecessors(i + 1))
        if i not in preds:
            raise DataError(f"node {i + 1} does not read node {i}")
        arch.append([ENAS_OPS.index(op)] + [int(j in preds) for j in range(i)])
    return arch


def enas_types(g: ArchGraph) -> list[int]:
    """D-VAE node types (0 input, 1 output, 2.. ops) of an ENAS graph."""
    return [ENAS_TYPES.index(n.op) for n in g.nodes]


@dataclass
class EnasData:
    """D-VAE's ENAS-6 architectures: graphs, weight-sharing accuracies and the train/test split."""

    graphs: list[ArchGraph]
    accuracy: np.ndarray
    train: np.ndarray  # indices into graphs, in D-VAE's shuffled order
    test: np.ndarray
    source: str

    def __len__(self):
        return len(self.graphs)


def load_enas(path: str | os.PathLike | None = None, burn_in: int = 1000, verify: bool = True) -> EnasData:
    """Read ``final_structures6.txt`` with D-VAE's conventions.

    The first ``burn_in`` lines are skipped (19,020 remain), the rest shuffled with
    ``random.Random(0)`` and split 90/10: 17,118 train and 1,902 test graphs.
    ``train``/``test`` index the returned list, which keeps the file order.
    """
    path = Path(path) if path is not None else data_dir() / "dvae" / "final_structures6.txt"
    if not path.is_file():
        raise DataError(f"D-VAE's ENAS file {path} not found; set NASVEC_DATA to the folder holding "
                        "dvae/final_structures6.txt (github.com/muhanzhang/D-VAE, data/)")
    raw = path.read_bytes()
    if verify and path.name == "final_structures6.txt":
        got = hashlib.sha256(raw).hexdigest()
        if got != ENAS_FILE_SHA256:
            raise DataError(f"{path}: SHA-256 {got} differs from D-VAE's file ({ENAS_FILE_SHA256})")
    record_input(path)
    graphs, accs = [], []
    for lineno, line in enumerate(raw.decode().splitlines(), start=1):
        if lineno <= burn_in or not line.strip():
            continue
        try:
            arch, acc = ast.literal_eval(line)
            graphs.append(enas_to_graph(arch))
        except (ValueError, SyntaxError, TypeError, DataError) as err:
            raise DataError(f"{path}, line {lineno}: not an ENAS architecture ({err})") from None
        accs.append(float(acc))
    order = list(range(len(graphs)))
    random.Random(0).shuffle(order)
    n_train = int(0.9 * len(order))
    return EnasData(graphs, np.array(accs), np.array(order[:n_train]), np.array(order[n_train:]), str(path))


def generate_enas(n: int, n_layers: int = 6, skip_prob: float = 0.3, seed: int = 0) -> list[ArchGraph]:
    """``n`` random architectures from the ENAS macro search space (as in D-VAE's data).

    Ops are uniform over the six ENAS ops; each skip flag is set with ``skip_prob``
    (0.30 in D-VAE's file). Needs no files: the quick profile's graphs.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        arch = [[int(rng.integers(len(ENAS_OPS)))] + [int(f) for f in rng.random(i) < skip_prob]
                for i in range(n_layers)]
        out.append(enas_to_graph(arch))
    return out


def enas_split(real_data: bool, n_generated: int = 1000, seed: int = 0):
    """Chapter 2's architectures and their 90/10 split: ``(graphs, accuracy, train_idx, test_idx)``.

    ``real_data``: D-VAE's file with D-VAE's split (:func:`load_enas`; ``accuracy`` is its column);
    otherwise ``n_generated`` graphs of :func:`generate_enas` split by a seeded permutation (``accuracy``
    is None). Chapter 3 uses it to reload chapter 2's trained compressors from the cache.
    """
    if real_data:
        enas = load_enas()
        return enas.graphs, enas.accuracy, enas.train, enas.test
    graphs = generate_enas(n_generated, seed=seed)
    train, test = split_indices(len(graphs), int(0.9 * len(graphs)), None, seed)
    return graphs, None, train, test


def enas_statistics(graphs: list[ArchGraph]) -> dict:
    """Counts that describe a set of ENAS graphs: size, distinct architectures, op and skip frequencies."""
    ops = {op: 0 for op in ENAS_OPS}
    skips = 0
    slots = 0
    for g in graphs:
        for n in g.nodes[1:-1]:
            ops[n.op] += 1
        n_layers = len(g) - 2
        skips += len(g.edges) - n_layers - 1  # chain edges and the output edge are fixed
        slots += n_layers * (n_layers - 1) // 2
    return {"graphs": len(graphs), "distinct": len(set(graphs)), "op_counts": ops,
            "skip_ones": skips, "skip_zeros": slots - skips}


# --------------------------------------------------------------------------- validity (D-VAE's is_valid_ENAS)
def _as_types_edges(g, vocab: Sequence[str]):
    if isinstance(g, ArchGraph):
        return [n.op for n in g.nodes], list(g.edges)
    types, edges = g
    return [vocab[t] if isinstance(t, (int, np.integer)) else t for t in types], list(edges)


def enas_invalid_reason(g, vocab: Sequence[str] = ENAS_TYPES, n_layers: int | None = None) -> str | None:
    """Why ``g`` is not a valid ENAS network, or ``None`` when it is.

    ``g`` is an :class:`~nasvec.graph.ArchGraph` or a pair ``(types, edges)`` (type ids into
    ``vocab`` or op names; edges ``(src, dst)`` with ``src < dst``). The checks are those of D-VAE's
    ``is_valid_ENAS`` — a valid DAG computation graph (acyclic; exactly one ``input`` and one
    ``output``; no node but the input without predecessors, no node but the output without
    successors), every node ``i`` feeding node ``i + 1``, the output reading only the last layer —
    plus what they imply and we state explicitly: the input comes first, the output last, every
    node in between is one of the six ENAS ops, and so every node is reachable from the input and
    reaches the output. ``n_layers`` (optional) also demands that many layers.
    """
    ops, edges = _as_types_edges(g, vocab)
    n = len(ops)
    if n < 2:
        return f"{n} node(s): a network needs at least an input and an output"
    for s, d in edges:
        if not (0 <= s < d < n):
            return f"edge {s} -> {d} is not a forward edge between nodes 0..{n - 1} (the graph must be a DAG in topological order)"
    if ops.count("input") != 1:
        return f"{ops.count('input')} input nodes (exactly one is required)"
    if ops.count("output") != 1:
        return f"{ops.count('output')} output nodes (exactly one is required)"
    if ops[0] != "input":
        return f"node 0 is {ops[0]!r}, the first node must be the input"
    if ops[-1] != "output":
        return f"node {n - 1} is {ops[-1]!r}, the last node must be the output"
    for i, op in enumerate(ops[1:-1], start=1):
        if op not in ENAS_OPS:
            return f"node {i}: op {op!r} is not an ENAS op {list(ENAS_OPS)}"
    if n_layers is not None and n - 2 != n_layers:
        return f"{n - 2} layers, expected {n_layers}"
    eset = set(edges)
    indeg = np.zeros(n, dtype=int)
    outdeg = np.zeros(n, dtype=int)
    for s, d in eset:
        outdeg[s] += 1
        indeg[d] += 1
    for i in range(1, n):
        if indeg[i] == 0:
            return f"node {i} ({ops[i]}) has no predecessor: it is not reachable from the input"
    for i in range(n - 1):
        if outdeg[i] == 0:
            return f"node {i} ({ops[i]}) has no successor: it does not reach the output"
    for i in range(n - 1):
        if (i, i + 1) not in eset:
            return f"node {i} ({ops[i]}) does not feed node {i + 1} ({ops[i + 1]}): ENAS layers form a chain"
    if indeg[n - 1] != 1:
        return f"the output reads {indeg[n - 1]} nodes; it must read only the last layer"
    return None


def is_valid_enas(g, vocab: Sequence[str] = ENAS_TYPES, n_layers: int | None = None) -> bool:
    """``True`` when :func:`enas_invalid_reason` finds nothing wrong."""
    return enas_invalid_reason(g, vocab, n_layers) is None
