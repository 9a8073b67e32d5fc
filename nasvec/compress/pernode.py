"""The seed paper's proposed compressor as its authors built it: per node (chapter 2).

The authors' code (read for the book; facts in the chapter) compresses **each node on its own**,
with two small VAEs side by side:

* the *structure* VAE maps a node's adjacency row (its ``max_nodes`` entries: an edge to every
  other node, 8 on ENAS-6) through ``8 -> 8 -> 4``: a code of 4 numbers;
* the *op-type* VAE maps the node's one-hot op type (8 ENAS types) through ``8 -> 4 -> 2``: 2 numbers.

So the paper's "4 + 2" is **per node**: an 8-node graph's code is ``8 x (4 + 2) = 48`` numbers
(D-VAE: 56 per graph). The two VAEs are trained together on the sum of their losses (the type
cross-entropy and the row's binary cross-entropy, summed over nodes, plus ``beta`` times the KL
divergence of both). Their hidden activation is not given; we use ReLU.

The graph-level code of a :class:`PerNodeVAE` is the per-node codes in node order, flattened:
``[B, max_nodes * (structure_dim + type_dim)]``, node ``i``'s ``[z_structure, z_type]`` at
``i * (structure_dim + type_dim)``. Decoding reads each node's row and type back from its own code
(edges ``i -> j`` with ``j <= i`` in a decoded row cannot be part of a DAG in topological order and
are dropped, as in every :class:`~nasvec.compress.base.DagBatch`).

The model needs graphs of exactly ``max_nodes`` nodes (ENAS-6: always 8), since nothing in a
node's code says whether the node exists. Introduced in chapter 2 ("Compressing architecture graphs").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import CompressError
from .base import Compressor, DagBatch, check_batch, kl_divergence, mlp, pick


class PerNodeVAE(Compressor):
    """The seed paper's model: per node, adjacency row -> ``structure_dim``, op type -> ``type_dim``.

    ``structure_hidden`` and ``type_hidden``: the hidden layer of each VAE (the authors': 8 and 4).
    ``latent_dim`` (optional) must equal ``max_nodes * (structure_dim + type_dim)``, the per-graph size.
    """

    name = "per-node (paper)"

    def __init__(self, vocab, max_nodes, latent_dim=None, structure_dim=4, type_dim=2, structure_hidden=8,
                 type_hidden=4):
        structure_dim, type_dim = int(structure_dim), int(type_dim)
        if structure_dim < 1 or type_dim < 1:
            raise CompressError(f"per-node model: structure_dim={structure_dim} and type_dim={type_dim} must both be >= 1")
        per_graph = int(max_nodes) * (structure_dim + type_dim)
        if latent_dim is not None and int(latent_dim) != per_graph:
            raise CompressError(f"per-node model: latent_dim={latent_dim} must be max_nodes x (structure_dim + type_dim) "
                                f"= {max_nodes} x ({structure_dim} + {type_dim}) = {per_graph}")
        super().__init__(vocab, max_nodes, per_graph)
        self.structure_dim, self.type_dim = structure_dim, type_dim
        self.node_dim = structure_dim + type_dim
        self.hidden = (int(structure_hidden), int(type_hidden))
        n, t = self.max_nodes, len(self.vocab)
        self.enc_s = mlp([n, self.hidden[0], 2 * structure_dim])
        self.dec_s = mlp([structure_dim, self.hidden[0], n])
        self.enc_t = mlp([t, self.hidden[1], 2 * type_dim])
        self.dec_t = mlp([type_dim, self.hidden[1], t])

    # --- the per-node vectors -------------------------------------------------
    def _check(self, batch: DagBatch) -> None:
        check_batch(self, batch)
        short = (batch.n_nodes != self.max_nodes).nonzero()
        if len(short):
            k = int(short[0])
            raise CompressError(f"{self.name}: graph {k} has {int(batch.n_nodes[k])} nodes; the per-node model "
                                f"needs graphs of exactly max_nodes={self.max_nodes} nodes")

    @staticmethod
    def rows(batch: DagBatch) -> torch.Tensor:
        """``[B, N, N]`` 0/1: row ``i`` holds node ``i``'s outgoing edges (its adjacency row)."""
        return (batch.adj > 0.5).float()

    def _enc(self, batch: DagBatch):
        """Per node ``(mu, logvar)``, each ``[B, N, structure_dim + type_dim]``."""
        self._check(batch)
        mu_s, lv_s = self.enc_s(self.rows(batch)).chunk(2, -1)
        mu_t, lv_t = self.enc_t(F.one_hot(batch.types, len(self.vocab)).float()).chunk(2, -1)
        return torch.cat([mu_s, mu_t], -1), torch.cat([lv_s, lv_t], -1)

    def _dec(self, z: torch.Tensor):
        """Per-node codes ``[B, N, node_dim]`` -> type logits ``[B, N, T]`` and row logits ``[B, N, N]``."""
        zs, zt = z[..., :self.structure_dim], z[..., self.structure_dim:]
        return self.dec_t(zt), self.dec_s(zs)

    # --- the Compressor interface ----------------------------------------------
    def loss(self, batch: DagBatch, beta: float = 1.0) -> dict:
        mu, logvar = self._enc(batch)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        type_logits, row_logits = self._dec(z)
        ce = F.cross_entropy(type_logits.reshape(-1, len(self.vocab)), batch.types.reshape(-1), reduction="sum")
        bce = F.binary_cross_entropy_with_logits(row_logits, self.rows(batch), reduction="sum")
        kl = kl_divergence(mu, logvar)
        return {"loss": ce + bce + beta * kl, "recon": ce + bce, "kl": kl, "recon_types": ce, "recon_edges": bce}

    def encode(self, batch: DagBatch, stochastic: bool = False) -> torch.Tensor:
        mu, logvar = self._enc(batch)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if stochastic else mu
        return z.flatten(1)

    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise CompressError(f"{self.name}: codes must have shape [batch, {self.latent_dim}] "
                                f"({self.max_nodes} nodes x {self.node_dim}), got {tuple(z.shape)}")
        type_logits, row_logits = self._dec(z.reshape(len(z), self.max_nodes, self.node_dim))
        types, adj = pick(type_logits, row_logits, stochastic)
        return DagBatch(types, torch.triu(adj, 1))
