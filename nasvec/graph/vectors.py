"""The vector representation of a graph (chapter 1): op ids, adjacency list, attribute matrix.

``encode(g)`` gives a :class:`VectorRep`:

* ``ops`` — ``[N]`` long, the op of every node as an index into :data:`nasvec.graph.vocab.OPS`;
* ``edge_index`` — ``[2, E]`` long, the adjacency list: column ``e`` is an edge ``src -> dst``; edges are
  grouped by destination and, within one destination, in the order of the op's inputs;
* ``attrs`` — ``[N, A]`` float64, the attribute matrix; the columns are :data:`nasvec.graph.vocab.COLUMNS`
  and the encoding of every kind of attribute is documented in :mod:`nasvec.graph.vocab` (the codec: :mod:`nasvec.graph.codec`)
  (missing = ``NaN``, lists = length + values, strings = index, tensors = index into ``tensors``);
* ``tensors`` — tensor-valued attributes (``Constant`` values, ``Gather`` indices), by index;
* ``names`` — node names, and ``meta`` — e.g. the input shape (labels; not part of the architecture).

The paper keeps a set of vectors per node rather than one flat vector because one vector of fixed
length cannot hold graphs of every size; :meth:`VectorRep.adjacency` gives the per-node adjacency
vectors (a dense ``[N, N]`` matrix) when a model wants them. ``decode(encode(g)) == g`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import GraphError
from .codec import HEADS, decode_attrs, encode_attrs
from .core import ArchGraph, Node, require_graph
from .vocab import N_COLUMNS, OP_INDEX, OPS


@dataclass
class VectorRep:
    """A graph as tensors (see the module docstring)."""

    ops: torch.Tensor
    edge_index: torch.Tensor
    attrs: torch.Tensor
    tensors: list = field(default_factory=list)
    names: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return int(self.ops.shape[0])

    def adjacency(self) -> torch.Tensor:
        """Dense ``[N, N]`` 0/1 matrix, row ``i`` = node ``i``'s adjacency vector (its out-edges)."""
        a = torch.zeros(self.num_nodes, self.num_nodes)
        if self.edge_index.numel():
            a[self.edge_index[0], self.edge_index[1]] = 1.0
        return a

    def to_pyg(self):
        """As ``torch_geometric.data.Data``: ``x`` = one-hot op | attribute matrix (NaN -> 0) | present mask.

        The exact fields ``op``, ``attrs`` (float64, with NaN) and ``tensors`` ride along, so
        :func:`from_pyg` gives back this representation.
        """
        from torch_geometric.data import Data

        onehot = torch.nn.functional.one_hot(self.ops, len(OPS)).float()
        present = ~torch.isnan(self.attrs)
        values = torch.nan_to_num(self.attrs, nan=0.0, posinf=1e6, neginf=-1e6).float()
        x = torch.cat([onehot, values, present.float()], dim=1)
        return Data(x=x, edge_index=self.edge_index, op=self.ops, attrs=self.attrs, tensors=self.tensors,
                    names=self.names, num_nodes=self.num_nodes)


def from_pyg(data) -> VectorRep:
    """Inverse of :meth:`VectorRep.to_pyg`."""
    return VectorRep(data.op, data.edge_index, data.attrs, list(getattr(data, "tensors", [])),
                     list(getattr(data, "names", [])))


def encode(g: ArchGraph) -> VectorRep:
    """The vector representation of ``g`` (checked with :meth:`ArchGraph.validate` first)."""
    require_graph(g, "encode")
    g.validate()
    n = len(g.nodes)
    attrs = np.full((n, N_COLUMNS), np.nan)
    tensors = []
    ops = np.empty(n, dtype=np.int64)
    for i, node in enumerate(g.nodes):
        ops[i] = OP_INDEX[node.op]
        attrs[i] = encode_attrs(node.attrs, tensors)
    edges = np.array(g.edges, dtype=np.int64).reshape(-1, 2).T
    return VectorRep(torch.from_numpy(ops), torch.from_numpy(np.ascontiguousarray(edges)),
                     torch.from_numpy(attrs), tensors, [node.name for node in g.nodes], dict(g.meta))


def _numeric(x, field: str) -> np.ndarray:
    """``x`` as a NumPy array of numbers, or a :class:`GraphError` naming the ``field`` of the VectorRep."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise GraphError(f"decode: {field} must hold numbers, got an array of {a.dtype}")
    return a


def _ids(a: np.ndarray, field: str, high: int, what: str) -> np.ndarray:
    """Whole numbers in ``0..high-1`` (or a GraphError naming ``field`` and the first bad index)."""
    bad = ~np.isfinite(a) | (a != np.round(a)) | (a < 0) | (a >= high)
    if bad.any():
        at = tuple(int(t) for t in np.argwhere(bad)[0])
        raise GraphError(f"decode: {field}{list(at)} = {a[at]!r} is not {what} (a whole number in 0..{high - 1}); "
                         f"a decoder's raw arrays go through nasvec.repair_rules.repair")
    return a.astype(np.int64)


def decode(v: VectorRep, name: str = "") -> ArchGraph:
    """The graph of a vector representation: the exact inverse of :func:`encode`.

    The input must be well formed (op ids in range, attribute columns as :func:`encode` writes them,
    edges going forward); a decoder's raw output goes through :func:`nasvec.repair_rules.repair` instead.
    Anything else is a :class:`GraphError` naming the field and index (``ops[i]``, ``edge_index[r, j]``, node ``i``'s
    attribute), and the decoded graph is validated (:meth:`ArchGraph.validate`).
    """
    if not isinstance(v, VectorRep):
        hint = " (a decoder's raw arrays go through nasvec.repair_rules.repair)" if isinstance(v, dict) else ""
        raise GraphError(f"decode: expected a VectorRep (from nasvec.encode), got {type(v).__name__}{hint}")
    ops = _numeric(v.ops, "ops")
    attrs = _numeric(v.attrs, "attrs").astype(np.float64, copy=False)
    ei = _numeric(v.edge_index, "edge_index")
    if ops.ndim != 1:
        raise GraphError(f"decode: ops must be one op id per node (shape [N]), got shape {ops.shape}")
    n = len(ops)
    if attrs.shape != (n, N_COLUMNS):
        raise GraphError(f"decode: attrs has shape {attrs.shape}, expected ({n}, {N_COLUMNS})")
    if ei.size and (ei.ndim != 2 or ei.shape[0] != 2):
        raise GraphError(f"decode: edge_index must have shape [2, E], got {ei.shape}")
    ops = _ids(ops, "ops", len(OPS), "an op id")
    ei = _ids(ei.reshape(2, -1), "edge_index", max(n, 1), "a node index") if ei.size else np.zeros((2, 0), np.int64)
    nodes = []
    rows, which = np.nonzero(~np.isnan(attrs[:, HEADS]))
    bounds = np.searchsorted(rows, np.arange(n + 1))
    tolist = attrs.tolist()
    for i in range(n):
        try:
            a = decode_attrs(tolist[i], which[bounds[i]:bounds[i + 1]], v.tensors)
        except (ValueError, OverflowError, IndexError, TypeError) as e:
            raise GraphError(f"decode: node {i} ({OPS[ops[i]]}): its attribute row cannot be read ({e}); a decoder's "
                             f"raw arrays go through nasvec.repair_rules.repair") from None
        label = v.names[i] if i < len(v.names) else ""
        nodes.append(Node(OPS[int(ops[i])], a, name=label))
    edges = list(zip(ei[0].tolist(), ei[1].tolist()))
    g = ArchGraph(nodes, edges, name=name, meta=getattr(v, "meta", None))
    return g.validate()
