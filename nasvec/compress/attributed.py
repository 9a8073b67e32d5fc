"""The attribute-aware split-latent compressor of chapter 3 (the seed paper's proposal extended to attributes).

:class:`AttributedSplitVAE` extends chapter 2's :class:`~nasvec.compress.setvec.SplitVAE` (structure and op
types in separate latent spaces) with a third latent space for the attribute matrix: the code of a graph
is ``[z_structure, z_types, z_attributes]`` and each part is decoded on its own.

**Attributes as classes.** Every column of the attribute matrix (:data:`nasvec.graph.vocab.COLUMNS`) that the
training graphs use becomes a categorical variable: class 0 is "missing" (``NaN``), classes 1.. the
``max_values - 1`` most frequent values in the training graphs (an unseen value maps to the nearest known
one). :class:`AttrCodec` holds these tables. Tensor-valued columns (Constant values, Gather indices) are
not modelled: the repair rules drop those ops anyway.

**Size.** Graphs are cut to their first ``max_nodes`` nodes in topological order (the prefix of a larger
graph has no Output; the repair rules add one when a prefix is decoded) and padded with a "no node" class.

**Networks.** The node attribute one-hots go through a shared per-node linear embedding (``embed`` dims)
before the MLP encoder, and the decoder's per-node features go through a shared linear head per column,
so the model stays small for graphs of ~100 nodes. :meth:`AttributedSplitVAE.to_arrays` turns a code into
the arrays :func:`nasvec.repair_rules.repair` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cache import cached
from ..config import Config, check
from ..errors import CompressError
from ..graph.core import ArchGraph
from ..graph.vectors import encode
from ..graph.vocab import ATTRS, COLUMNS, N_COLUMNS, OPS
from .base import DagBatch, VAETraining, fit_compressor, kl_divergence, mlp
from .setvec import SplitVAE


def _rows(g: ArchGraph) -> np.ndarray:
    return encode(g).attrs.numpy()


class AttrCodec:
    """Per-column value tables: attribute matrix (float, NaN = missing) <-> class ids (0 = missing)."""

    def __init__(self, graphs: Sequence[ArchGraph], max_values: int = 32):
        if max_values < 2:
            raise CompressError(f"AttrCodec: max_values must be >= 2, got {max_values}")
        if not graphs:
            raise CompressError("AttrCodec: needs at least one graph")
        a = np.concatenate([_rows(g) for g in graphs])
        self.columns, self.values = [], []
        for j, (name, _) in enumerate(COLUMNS):
            if ATTRS[name][0] == "tensor":
                continue
            col = a[:, j]
            col = col[~np.isnan(col)]
            if not len(col):
                continue
            vals, counts = np.unique(col, return_counts=True)
            top = vals[np.argsort(-counts, kind="stable")[:max_values - 1]]
            self.columns.append(j)
            self.values.append(np.sort(top))
        self.sizes = [len(v) + 1 for v in self.values]

    @property
    def names(self) -> list[str]:
        """Column labels: ``group``, ``pads.len`` (a list's length), ``pads[0]``, ..."""
        out = []
        for j in self.columns:
            name, k = COLUMNS[j]
            kind = ATTRS[name][0]
            out.append(name if kind not in ("ints", "floats") else f"{name}.len" if k < 0 else f"{name}[{k}]")
        return out

    def encode(self, attrs: np.ndarray) -> np.ndarray:
        """``[n, N_COLUMNS]`` float -> ``[n, len(columns)]`` class ids."""
        out = np.zeros((len(attrs), len(self.columns)), dtype=np.int64)
        for c, (j, vals) in enumerate(zip(self.columns, self.values)):
            x = attrs[:, j]
            known = ~np.isnan(x)
            pos = np.clip(np.searchsorted(vals, x[known]), 0, len(vals) - 1)
            left = np.clip(pos - 1, 0, len(vals) - 1)
            nearer = np.where(np.abs(vals[left] - x[known]) < np.abs(vals[pos] - x[known]), left, pos)
            out[known, c] = nearer + 1
        return out

    def decode(self, classes: np.ndarray) -> np.ndarray:
        """``[n, len(columns)]`` class ids -> ``[n, N_COLUMNS]`` float (unmodelled columns NaN)."""
        out = np.full((len(classes), N_COLUMNS), np.nan)
        for c, (j, vals) in enumerate(zip(self.columns, self.values)):
            k = classes[:, c]
            col = np.full(len(k), np.nan)
            col[k > 0] = vals[k[k > 0] - 1]
            out[:, j] = col
        return out


@dataclass
class AttrBatch(DagBatch):
    """A :class:`DagBatch` plus attribute classes ``attr_classes [B, N, len(codec.columns)]`` (0 = missing)."""

    attr_classes: torch.Tensor = None

    def to(self, device) -> "AttrBatch":
        return AttrBatch(self.types.to(device), self.adj.to(device), self.attr_classes.to(device))

    def __getitem__(self, idx) -> "AttrBatch":
        return AttrBatch(self.types[idx], self.adj[idx], self.attr_classes[idx])

    @classmethod
    def from_graphs_attrs(cls, graphs: Sequence[ArchGraph], codec: AttrCodec, max_nodes: int) -> "AttrBatch":
        """Graphs cut to their first ``max_nodes`` nodes (edges among them kept) and padded."""
        cut = [truncate(g, max_nodes) for g in graphs]
        base = DagBatch.from_graphs(cut, OPS, max_nodes=max_nodes)
        attr = torch.zeros(len(cut), max_nodes, len(codec.columns), dtype=torch.long)
        for b, g in enumerate(graphs):
            rows = _rows(g)[:max_nodes]
            attr[b, :len(rows)] = torch.from_numpy(codec.encode(rows))
        return cls(base.types, base.adj, attr)


def truncate(g: ArchGraph, max_nodes: int) -> ArchGraph:
    """The first ``max_nodes`` nodes of ``g`` (topological order) and the edges among them."""
    if len(g) <= max_nodes:
        return g
    return ArchGraph(g.nodes[:max_nodes], [(s, d) for s, d in g.edges if d < max_nodes], name=g.name)


class AttributedSplitVAE(SplitVAE):
    """Structure, op types and attributes in three separate latent spaces (see the module docstring)."""

    name = "split-attr"

    def __init__(self, codec: AttrCodec, max_nodes: int, structure_dim: int = 16, type_dim: int = 8,
                 attr_dim: int = 16, hidden=(256, 256), embed: int = 16):
        super().__init__(OPS, max_nodes, structure_dim=structure_dim, type_dim=type_dim, hidden=hidden)
        if attr_dim < 1 or embed < 1:
            raise CompressError(f"AttributedSplitVAE: attr_dim={attr_dim} and embed={embed} must be >= 1")
        self.codec = codec
        self.attr_dim = int(attr_dim)
        self.latent_dim = structure_dim + type_dim + self.attr_dim
        self.sizes = list(codec.sizes)
        self.kmax = max(self.sizes)
        n_cols = len(self.sizes)
        valid = torch.zeros(n_cols, self.kmax, dtype=torch.bool)
        for c, k in enumerate(self.sizes):
            valid[c, :k] = True
        self.register_buffer("_valid", valid, persistent=False)
        self.embed_in = nn.Linear(n_cols * self.kmax, embed)
        self.enc_a = mlp([max_nodes * embed, *hidden, 2 * self.attr_dim])
        self.dec_a = mlp([self.attr_dim, *list(hidden)[::-1], max_nodes * embed])
        self.head_a = nn.Linear(embed, n_cols * self.kmax)
        self.embed = embed

    def _attr_onehot(self, batch: AttrBatch) -> torch.Tensor:
        return F.one_hot(batch.attr_classes, self.kmax).float().flatten(-2)

    def _enc(self, batch):
        mu, lv = super()._enc(batch)
        e = torch.relu(self.embed_in(self._attr_onehot(batch))).flatten(1)
        mu_a, lv_a = self.enc_a(e).chunk(2, -1)
        return torch.cat([mu, mu_a], -1), torch.cat([lv, lv_a], -1)

    def _dec_all(self, z):
        d = self.structure_dim + self.type_dim
        type_logits, edge_logits = super()._dec(z[:, :d])
        h = torch.relu(self.dec_a(z[:, d:])).reshape(-1, self.max_nodes, self.embed)
        attr_logits = self.head_a(h).reshape(-1, self.max_nodes, len(self.sizes), self.kmax)
        attr_logits = attr_logits.masked_fill(~self._valid, -1e9)  # [B, N, columns, kmax]
        return type_logits, edge_logits, attr_logits

    def attr_terms(self, attr_logits, batch) -> torch.Tensor:
        ce = F.cross_entropy(attr_logits.reshape(-1, self.kmax), batch.attr_classes.reshape(-1), reduction="none")
        return (ce.reshape(batch.attr_classes.shape) * batch.mask[..., None].float()).sum()

    def loss(self, batch: AttrBatch, beta: float = 1.0) -> dict:
        mu, logvar = self._enc(batch)
        z = self.reparameterize(mu, logvar) if self.training else mu
        t, e, a = self._dec_all(z)
        recon = self.recon_terms(t, e, batch) + self.attr_terms(a, batch)
        kl = kl_divergence(mu, logvar)
        return {"loss": recon + beta * kl, "recon": recon, "kl": kl}

    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
        t, e, _ = self._dec_all(z)
        return self.to_batch(t, e, stochastic)

    def decode_full(self, z: torch.Tensor) -> AttrBatch:
        """Argmax decode of ops, edges and attribute classes (graphs end at their first "no node")."""
        t, e, a = self._dec_all(z)
        base = self.to_batch(t, e, False)
        cls = a.argmax(-1)
        return AttrBatch(base.types, base.adj, cls)

    def to_arrays(self, z: torch.Tensor) -> list[dict]:
        """Codes -> the raw arrays :func:`nasvec.repair_rules.repair` takes (ops, dense adjacency, attrs)."""
        with torch.no_grad():
            b = self.decode_full(z)
        out = []
        for k in range(len(b)):
            n = int(b.mask[k].sum())
            out.append({"ops": b.types[k, :n].numpy(), "adjacency": b.adj[k, :n, :n].numpy(),
                        "attrs": self.codec.decode(b.attr_classes[k, :n].numpy())})
        return out


def reconstruction_report(model: AttributedSplitVAE, batch: AttrBatch) -> dict:
    """Mean-code reconstruction: per-graph exact match, per-node op accuracy, edge accuracy over the node
    pairs of the true graph, and per-attribute-column accuracy over its real nodes."""
    model.eval()
    with torch.no_grad():
        dec = model.decode_full(model.encode(batch))
    mask = batch.mask
    n_nodes = mask.sum(1)
    ops_ok = (dec.types == batch.types) | ~mask
    pair = mask[:, :, None] & mask[:, None, :]
    iu = torch.triu(torch.ones_like(pair[0]), 1)
    pair = pair & iu
    edge_ok = ((dec.adj > 0.5) == (batch.adj > 0.5)) | ~pair
    attr_ok = (dec.attr_classes == batch.attr_classes) | ~mask[..., None]
    same_len = dec.mask.sum(1) == n_nodes
    graph_ok = same_len & ops_ok.all(1) & edge_ok.flatten(1).all(1) & attr_ok.flatten(1).all(1)
    per_attr = {}
    for c, name in enumerate(model.codec.names):
        used = mask & (batch.attr_classes[..., c] > 0)
        per_attr[name] = {
            "acc": float(((dec.attr_classes[..., c] == batch.attr_classes[..., c]) & mask).sum() / mask.sum()),
            "acc_present": float(((dec.attr_classes[..., c] == batch.attr_classes[..., c]) & used).sum() / used.sum())
            if used.any() else float("nan"),
            "present": int(used.sum()),
        }
    return {
        "graph_exact": float(graph_ok.float().mean()),
        "graph_ops_exact": float((same_len & ops_ok.all(1)).float().mean()),
        "node_op_acc": float((dec.types == batch.types)[mask].float().mean()),
        "edge_acc": float(((dec.adj > 0.5) == (batch.adj > 0.5))[pair].float().mean()),
        "node_attr_acc": float(attr_ok[mask].all(-1).float().mean()),
        "per_attr": per_attr,
    }


@dataclass(frozen=True)
class AttributedConfig(Config):
    """The attribute-aware compressor of chapter 3 and its training (constructor arguments, cache key, provenance).

    ``max_nodes``: graphs are cut to their first ``max_nodes`` nodes; ``dims``: the latent sizes of
    structure, op types and attributes; ``hidden``: the MLP sizes; ``max_values``: classes per
    attribute column (the most frequent values); ``training``: the
    :class:`~nasvec.compress.base.VAETraining` (Adam with ``lr``, ``batch_size``, KL weight ``beta``).
    """

    max_nodes: int = 80
    dims: tuple = (16, 8, 16)
    hidden: tuple = (128,)
    max_values: int = 32
    training: VAETraining = field(default_factory=lambda: VAETraining(epochs=40, lr=3e-3, batch_size=16))

    def __post_init__(self):
        object.__setattr__(self, "dims", tuple(int(d) for d in self.dims))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check(self.max_nodes >= 2, f"AttributedConfig: max_nodes={self.max_nodes} must be >= 2")
        check(len(self.dims) == 3, f"AttributedConfig: dims must be (structure, types, attributes), got {self.dims}")

    def describe(self) -> str:
        tr = self.training
        return (f"latent {' + '.join(map(str, self.dims))}, hidden {list(self.hidden)}, {self.max_nodes} nodes; "
                f"{tr.epochs} epochs, Adam lr {tr.lr:g}, batch {tr.batch_size}, seed {tr.seed}")


def train_attributed(cfg: AttributedConfig, graphs: Sequence[ArchGraph], cache_name: str | None = None,
                     cache_config: dict | None = None, progress: bool = True):
    """Build the codec and the model from ``graphs`` and train it as ``cfg`` says (through
    :func:`nasvec.compress.base.fit_compressor`); cached with :func:`nasvec.cache.cached` under ``cfg`` and
    ``cache_config`` (what identifies ``graphs``) when ``cache_name`` is given.
    Returns ``(model, history, from_cache)``, as every compressor trainer does; the training batch is
    :func:`attributed_batch` ``(model, graphs)``."""
    codec = AttrCodec(graphs, max_values=cfg.max_values)
    tr = cfg.training

    def build():
        torch.manual_seed(tr.seed)
        return AttributedSplitVAE(codec, cfg.max_nodes, *cfg.dims, hidden=cfg.hidden)

    def compute():
        batch = AttrBatch.from_graphs_attrs(graphs, codec, cfg.max_nodes)
        model = build()
        history = fit_compressor(model, batch, progress=progress, **tr.as_dict())
        return {"state": model.state_dict(), "history": history}

    if cache_name is None:
        value, hit = compute(), False
    else:
        value, hit = cached(cache_name, {"graphs": dict(cache_config or {}), "compressor": cfg}, compute)
    model = build()
    model.load_state_dict(value["state"])
    model.eval()
    return model, value["history"], hit


def attributed_batch(model: AttributedSplitVAE, graphs: Sequence[ArchGraph]) -> AttrBatch:
    """``graphs`` as the batch ``model`` reads (its codec, cut to its ``max_nodes``)."""
    return AttrBatch.from_graphs_attrs(graphs, model.codec, model.max_nodes)
