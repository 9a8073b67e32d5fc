"""The seed paper's compressor of whole CNNs, per node: structure, op type and every attribute (chapter 3).

Chapter 2's :class:`~nasvec.compress.pernode.PerNodeVAE` is the paper's model on ENAS cells. On CNNs of
any size (the zoo's run from 10 to 3,000 nodes) the authors compress, again per node, a node's
adjacency row, its op type and each of its attributes separately. :class:`PerNodeAttributedVAE` does
that with small VAEs side by side, all applied to every node on its own:

* **structure** — the node's adjacency row as *successor offsets*: entry ``k - 1`` says whether the
  node feeds the node ``k`` places later, ``k = 1 .. window``. A row of fixed length cannot span
  graphs of 3,000 nodes; offsets can, and 99 % of the zoo's edges span fewer than 120 nodes (an edge
  longer than ``window`` is lost, and counted). ``window -> structure_hidden -> structure_dim``;
* **op type** — the one-hot of the op (the vocabulary's ops) ``-> type_hidden -> type_dim``;
* **attributes** — every attribute column the zoo uses (:class:`~nasvec.compress.attributed.AttrCodec`:
  "missing" or one of its most frequent values) through its own VAE, ``classes -> attr_hidden -> attr_dim``
  (all columns computed together with batched weights).

A node's code is ``[z_structure, z_type, z_attr of every column]``; a graph's is its nodes' codes in
topological order, so a network of ``n`` nodes is ``[n, node_dim]``. The paper names the parts, not
their sizes or activations; ours are :class:`PerNodeAttrConfig`'s defaults, and ReLU.
:meth:`PerNodeAttributedVAE.to_arrays` decodes a graph's codes into the arrays
:func:`nasvec.repair_rules.repair` takes. Introduced in chapter 3 ("Repair rules").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cache import cached, fingerprint
from ..config import Config, check
from ..errors import CompressError
from ..graph.core import ArchGraph
from ..graph.vectors import encode
from ..graph.vocab import OP_INDEX, OPS
from .attributed import AttrCodec
from .base import VAETraining, fit_compressor, kl_divergence, mlp


@dataclass
class NodeBatch:
    """Nodes of one or more graphs: ``rows [M, window]`` (successor offsets), ``ops [M]``, ``attrs [M, C]``
    (attribute classes, 0 = missing) and ``graph [M]`` (which graph each node belongs to)."""

    rows: torch.Tensor
    ops: torch.Tensor
    attrs: torch.Tensor
    graph: torch.Tensor

    def __len__(self) -> int:
        return len(self.ops)

    def __getitem__(self, idx) -> "NodeBatch":
        return NodeBatch(self.rows[idx], self.ops[idx], self.attrs[idx], self.graph[idx])

    def fingerprint_parts(self):
        return [self.rows > 0.5, self.ops, self.attrs, self.graph]

    @classmethod
    def from_graphs(cls, graphs: Sequence[ArchGraph], codec: AttrCodec, window: int) -> "NodeBatch":
        rows, ops, attrs, owner = [], [], [], []
        for b, g in enumerate(graphs):
            r = np.zeros((len(g), window), dtype=np.float32)
            for s, d in g.edges:
                if d - s <= window:
                    r[s, d - s - 1] = 1.0
            rows.append(r)
            ops.append([OP_INDEX[n.op] for n in g.nodes])
            attrs.append(codec.encode(encode(g).attrs.numpy()))
            owner.append(np.full(len(g), b))
        return cls(torch.from_numpy(np.concatenate(rows)), torch.as_tensor(np.concatenate(ops), dtype=torch.long),
                   torch.from_numpy(np.concatenate(attrs)), torch.from_numpy(np.concatenate(owner)))


def edges_outside(graphs: Sequence[ArchGraph], window: int) -> tuple[int, int]:
    """``(edges longer than window, all edges)`` of ``graphs``: what the structure code cannot hold."""
    return sum(d - s > window for g in graphs for s, d in g.edges), sum(len(g.edges) for g in graphs)


class PerNodeAttributedVAE(nn.Module):
    """See the module docstring; ``codec`` says which attribute columns and classes there are."""

    name = "per-node, attributes (paper)"

    def __init__(self, codec: AttrCodec, window: int = 128, structure_dim: int = 8, type_dim: int = 2,
                 attr_dim: int = 1, structure_hidden: int = 64, type_hidden: int = 16, attr_hidden: int = 8):
        super().__init__()
        if min(window, structure_dim, type_dim, attr_dim, structure_hidden, type_hidden, attr_hidden) < 1:
            raise CompressError("per-node attributed model: window, every dimension and hidden size must be >= 1")
        self.codec, self.window = codec, int(window)
        self.structure_dim, self.type_dim, self.attr_dim = int(structure_dim), int(type_dim), int(attr_dim)
        self.sizes = list(codec.sizes)
        self.kmax, n_cols = max(self.sizes), len(self.sizes)
        self.node_dim = self.structure_dim + self.type_dim + n_cols * self.attr_dim
        self.enc_s = mlp([self.window, structure_hidden, 2 * self.structure_dim])
        self.dec_s = mlp([self.structure_dim, structure_hidden, self.window])
        self.enc_t = mlp([len(OPS), type_hidden, 2 * self.type_dim])
        self.dec_t = mlp([self.type_dim, type_hidden, len(OPS)])
        # one small VAE per attribute column, as batched weights [columns, in, out]
        shapes = {"ea1": (self.kmax, attr_hidden), "ea2": (attr_hidden, 2 * self.attr_dim),
                  "da1": (self.attr_dim, attr_hidden), "da2": (attr_hidden, self.kmax)}
        for key, (i, o) in shapes.items():
            self.register_parameter(key + "_w", nn.Parameter(torch.randn(n_cols, i, o) / i ** 0.5))
            self.register_parameter(key + "_b", nn.Parameter(torch.zeros(n_cols, o)))
        valid = torch.zeros(n_cols, self.kmax, dtype=torch.bool)
        for c, k in enumerate(self.sizes):
            valid[c, :k] = True
        self.register_buffer("_valid", valid, persistent=False)

    def _cols(self, x, key):
        """``x [M, C, in]`` through column ``c``'s own linear layer ``key`` -> ``[M, C, out]``."""
        return torch.einsum("mci,cio->mco", x, getattr(self, key + "_w")) + getattr(self, key + "_b")

    def _enc(self, batch: NodeBatch):
        mu_s, lv_s = self.enc_s(batch.rows).chunk(2, -1)
        mu_t, lv_t = self.enc_t(F.one_hot(batch.ops, len(OPS)).float()).chunk(2, -1)
        h = F.relu(self._cols(F.one_hot(batch.attrs, self.kmax).float(), "ea1"))
        mu_a, lv_a = self._cols(h, "ea2").chunk(2, -1)
        return (torch.cat([mu_s, mu_t, mu_a.flatten(1)], -1), torch.cat([lv_s, lv_t, lv_a.flatten(1)], -1))

    def _dec(self, z):
        s, t = self.structure_dim, self.structure_dim + self.type_dim
        za = z[:, t:].reshape(len(z), len(self.sizes), self.attr_dim)
        attr_logits = self._cols(F.relu(self._cols(za, "da1")), "da2").masked_fill(~self._valid, -1e9)
        return self.dec_s(z[:, :s]), self.dec_t(z[:, s:t]), attr_logits

    def loss(self, batch: NodeBatch, beta: float = 1.0) -> dict:
        """Sums over the nodes: the row's binary cross-entropy, the op's and every attribute's cross-entropy,
        and ``beta`` times the KL divergence."""
        mu, logvar = self._enc(batch)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        rows, ops, attrs = self._dec(z)
        recon = (F.binary_cross_entropy_with_logits(rows, batch.rows, reduction="sum")
                 + F.cross_entropy(ops, batch.ops, reduction="sum")
                 + F.cross_entropy(attrs.reshape(-1, self.kmax), batch.attrs.reshape(-1), reduction="sum"))
        kl = kl_divergence(mu, logvar)
        return {"loss": recon + beta * kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def encode(self, batch: NodeBatch) -> torch.Tensor:
        """The mean code of every node, ``[M, node_dim]``."""
        return self._enc(batch)[0]

    @torch.no_grad()
    def decode_nodes(self, z: torch.Tensor) -> NodeBatch:
        """Most likely row, op and attribute classes of every node's code (``graph`` all 0)."""
        if z.dim() != 2 or z.shape[1] != self.node_dim:
            raise CompressError(f"{self.name}: codes must have shape [nodes, {self.node_dim}], got {tuple(z.shape)}")
        rows, ops, attrs = self._dec(z)
        return NodeBatch((rows > 0).float(), ops.argmax(-1), attrs.argmax(-1), torch.zeros(len(z), dtype=torch.long))

    def to_arrays(self, z: torch.Tensor) -> dict:
        """One graph's node codes ``[n, node_dim]`` -> the arrays :func:`nasvec.repair_rules.repair` takes
        (op ids, dense adjacency from the decoded offsets inside the graph, attribute matrix)."""
        nodes = self.decode_nodes(z)
        n = len(z)
        adj = np.zeros((n, n), dtype=np.float32)
        src, off = np.nonzero(nodes.rows.numpy())
        keep = src + off + 1 < n
        adj[src[keep], src[keep] + off[keep] + 1] = 1.0
        return {"ops": nodes.ops.numpy(), "adjacency": adj, "attrs": self.codec.decode(nodes.attrs.numpy())}


@dataclass(frozen=True)
class PerNodeAttrConfig(Config):
    """The per-node attributed compressor and its training (constructor arguments, cache key, provenance):
    ``window`` offsets per adjacency row, ``dims`` and ``hidden`` of (structure, op type, each attribute),
    ``max_values`` classes per attribute column, ``training`` the :class:`~nasvec.compress.base.VAETraining`
    (batches of nodes)."""

    window: int = 128
    dims: tuple = (8, 2, 1)
    hidden: tuple = (64, 16, 8)
    max_values: int = 32
    training: VAETraining = field(default_factory=lambda: VAETraining(epochs=30, lr=3e-3, batch_size=256))

    def __post_init__(self):
        object.__setattr__(self, "dims", tuple(int(d) for d in self.dims))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check(len(self.dims) == 3 and len(self.hidden) == 3, "PerNodeAttrConfig: dims and hidden are "
                                                              "(structure, op type, each attribute)")
        check(self.window >= 1, "PerNodeAttrConfig: window >= 1")

    def describe(self) -> str:
        tr = self.training
        return (f"per node: offsets window {self.window} -> {self.dims[0]}, op -> {self.dims[1]}, each attribute -> "
                f"{self.dims[2]}; hidden {list(self.hidden)}; {tr.epochs} epochs, Adam lr {tr.lr:g}, "
                f"batch {tr.batch_size} nodes, seed {tr.seed}")

    def build(self, codec: AttrCodec) -> PerNodeAttributedVAE:
        torch.manual_seed(self.training.seed)
        return PerNodeAttributedVAE(codec, self.window, *self.dims, *self.hidden)


def train_pernode_attr(cfg: PerNodeAttrConfig, graphs: Sequence[ArchGraph], progress: bool = True):
    """Codec, model and training on every node of ``graphs`` (cached under ``cfg``, the graphs and the code).
    Returns ``(model, history, from_cache)``, as every compressor trainer does."""
    codec = AttrCodec(graphs, max_values=cfg.max_values)
    batch = NodeBatch.from_graphs(graphs, codec, cfg.window)

    def compute():
        model = cfg.build(codec)
        hist = fit_compressor(model, batch, progress=progress, **cfg.training.as_dict())
        return {"state": model.state_dict(), "history": hist}

    key = {"config": cfg, "nodes": fingerprint(batch), "source": fingerprint(PerNodeAttributedVAE, AttrCodec)}
    value, hit = cached("pernode-attr", key, compute)
    model = cfg.build(codec)
    model.load_state_dict(value["state"])
    model.eval()
    return model, value["history"], hit


def compress_graph(model: PerNodeAttributedVAE, g: ArchGraph) -> dict:
    """``g`` encoded node by node (mean codes) and decoded: the arrays for :func:`nasvec.repair_rules.repair`."""
    return model.to_arrays(model.encode(NodeBatch.from_graphs([g], model.codec, model.window)))


@torch.no_grad()
def reconstruction_report(model: PerNodeAttributedVAE, graphs: Sequence[ArchGraph]) -> dict:
    """How often each part comes back exactly (mean codes, most likely decode), per node and per network.

    Attributes are compared as values (the original's attribute matrix against the decoded one, in the
    codec's columns), so a value the codec does not know counts as wrong. Returns ``per_node`` and
    ``per_network`` shares for ``op``, ``row`` (edges inside the window), ``attributes`` (every
    column) and ``everything``; ``columns``: per attribute column, the share right over the nodes that
    have it; ``nodes`` and ``networks``: the counts.
    """
    batch = NodeBatch.from_graphs(graphs, model.codec, model.window)
    dec = model.decode_nodes(model.encode(batch))
    truth = np.concatenate([encode(g).attrs.numpy() for g in graphs])[:, model.codec.columns]
    got = model.codec.decode(dec.attrs.numpy())[:, model.codec.columns]
    same_attr = (truth == got) | (np.isnan(truth) & np.isnan(got))
    parts = {"op": (dec.ops == batch.ops).numpy(), "row": (dec.rows == batch.rows).all(1).numpy(),
             "attributes": same_attr.all(1)}
    parts["everything"] = parts["op"] & parts["row"] & parts["attributes"]
    owner = batch.graph.numpy()
    per_network = {k: float(np.mean([v[owner == b].all() for b in range(len(graphs))])) for k, v in parts.items()}
    present = ~np.isnan(truth)
    columns = {name: float(same_attr[present[:, c], c].mean()) if present[:, c].any() else float("nan")
               for c, name in enumerate(model.codec.names)}
    return {"per_node": {k: float(v.mean()) for k, v in parts.items()}, "per_network": per_network,
            "columns": columns, "nodes": len(batch), "networks": len(graphs)}
