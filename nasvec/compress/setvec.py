"""The compressors of chapter 2 other than D-VAE: autoencoder, VAE, sequence-to-sequence, split latent.

All four see a graph as the seed paper's *set of vectors*: for node ``i`` (in topological
order) its op type (one-hot over the vocabulary plus a "no node" class for padding) and its
adjacency vector (``adj[j, i]`` for every earlier node ``j``). They differ in how they compress it:

* :class:`GraphAE` – an autoencoder: an MLP maps the flattened vectors to a code ``z`` and back;
* :class:`GraphVAE` – the same MLPs as a variational autoencoder (Kingma & Welling), ``q(z|G) = N(mu, sigma^2)``;
* :class:`Seq2SeqVAE` – sequence to sequence: a GRU reads the node vectors in topological order,
  another GRU writes them back one node at a time (teacher forcing in training, its own outputs when decoding);
* :class:`SplitVAE` – the seed paper's proposed model: structure (adjacency) and op types are
  compressed into *separate* latent spaces with their own sizes (the paper: 4 + 2); the code
  is their concatenation ``[z_structure, z_types]`` and each half is decoded on its own.

All are :class:`~nasvec.compress.base.Compressor` subclasses: ``loss`` returns sums over the batch
(type cross-entropy + edge binary cross-entropy, and the KL divergence to ``N(0, I)``),
``encode``/``decode``/``sample`` work on :class:`~nasvec.compress.base.DagBatch`.
:func:`nasvec.compress.make_compressor` builds any model of the chapter by name (D-VAE and DVAE-EMB
come from :mod:`nasvec.compress.dvae`). Introduced in chapter 2 ("Compressing architecture graphs").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CompressError
from .base import Compressor, DagBatch, check_batch, kl_divergence, mlp, pick


class SetOfVectorsCompressor(Compressor):
    """Shared machinery: targets, losses and decoding of the set-of-vectors representation.

    ``n_classes = len(vocab) + 1``: class ``len(vocab)`` means "no node here" (padding), so graphs
    with fewer than ``max_nodes`` nodes are represented too. Edge ``j -> i`` is kept only for
    ``j < i``; the ``max_nodes * (max_nodes - 1) / 2`` slots of the strict upper triangle are the
    structure part of the vector.
    """

    variational = True

    def __init__(self, vocab, max_nodes, latent_dim):
        super().__init__(vocab, max_nodes, latent_dim)
        self.n_classes = len(self.vocab) + 1
        iu = torch.triu_indices(self.max_nodes, self.max_nodes, offset=1)
        self.register_buffer("_iu", iu, persistent=False)

    # --- representation ------------------------------------------------
    @property
    def n_pairs(self) -> int:
        return self.max_nodes * (self.max_nodes - 1) // 2

    def type_targets(self, batch: DagBatch) -> torch.Tensor:
        """``[B, N]`` class ids with padding mapped to the "no node" class."""
        t = batch.types.clone()
        t[t < 0] = len(self.vocab)
        return t

    def edge_targets(self, batch: DagBatch) -> torch.Tensor:
        """``[B, N(N-1)/2]`` the strict upper triangle of the adjacency (edges ``j -> i``, ``j < i``)."""
        return (batch.adj[:, self._iu[0], self._iu[1]] > 0.5).float()

    def type_onehot(self, batch: DagBatch) -> torch.Tensor:
        return F.one_hot(self.type_targets(batch), self.n_classes).float()

    def flat_input(self, batch: DagBatch) -> torch.Tensor:
        return torch.cat([self.type_onehot(batch).flatten(1), self.edge_targets(batch)], 1)

    # --- loss ------------------------------------------------------------
    def recon_terms(self, type_logits: torch.Tensor, edge_logits: torch.Tensor, batch: DagBatch) -> torch.Tensor:
        """Sum over the batch of the type cross-entropy and the edge binary cross-entropy."""
        ce = F.cross_entropy(type_logits.reshape(-1, self.n_classes), self.type_targets(batch).reshape(-1),
                             reduction="sum")
        bce = F.binary_cross_entropy_with_logits(edge_logits, self.edge_targets(batch), reduction="sum")
        return ce + bce

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    # --- the interface, from each model's _enc (batch -> mu, logvar) and _dec (z -> logits) ----------
    def loss(self, batch: DagBatch, beta: float = 1.0) -> dict:
        mu, logvar = self._enc(batch)
        if self.variational:
            z = self.reparameterize(mu, logvar) if self.training else mu
            kl = kl_divergence(mu, logvar)
        else:
            z, kl = mu, mu.new_zeros(())
        recon = self.recon_terms(*self._train_logits(z, batch), batch)
        return {"loss": recon + beta * kl, "recon": recon, "kl": kl}

    def _train_logits(self, z: torch.Tensor, batch: DagBatch):
        """The logits the loss scores: the decoder's (seq2seq: teacher-forced on ``batch``)."""
        return self._dec(z)

    def encode(self, batch: DagBatch, stochastic: bool = False) -> torch.Tensor:
        mu, logvar = self._enc(batch)
        return self.reparameterize(mu, logvar) if stochastic and self.variational else mu

    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
        return self.to_batch(*self._dec(z), stochastic)

    # --- decoding ----------------------------------------------------------
    def to_batch(self, type_logits: torch.Tensor, edge_logits: torch.Tensor, stochastic: bool) -> DagBatch:
        """Logits -> a :class:`DagBatch`: argmax / threshold, or sampled when ``stochastic``.

        A graph ends at its first "no node" class: later slots become padding, and edges touching
        padding are dropped, so every decode is a well-formed DAG batch.
        """
        b, n = type_logits.shape[:2]
        cls, edges = pick(type_logits, edge_logits, stochastic)
        pad = cls == len(self.vocab)
        ended = torch.cumsum(pad.long(), 1) > 0
        types = torch.where(ended, torch.full_like(cls, -1), cls)
        adj = torch.zeros(b, n, n, device=type_logits.device)
        adj[:, self._iu[0], self._iu[1]] = edges
        alive = (~ended).float()
        adj = adj * alive[:, :, None] * alive[:, None, :]
        return DagBatch(types, adj)


# --------------------------------------------------------------------------- MLP models
class GraphVAE(SetOfVectorsCompressor):
    """A VAE on the flattened set of vectors: MLP encoder to ``(mu, logvar)``, MLP decoder back.

    ``hidden``: sizes of the hidden layers (the decoder mirrors them).
    """

    name = "VAE"
    variational = True

    def __init__(self, vocab, max_nodes, latent_dim=56, hidden=(256, 256)):
        super().__init__(vocab, max_nodes, latent_dim)
        hidden = list(hidden)
        d_in = self.max_nodes * self.n_classes + self.n_pairs
        out = 2 * latent_dim if self.variational else latent_dim
        self.encoder = mlp([d_in, *hidden, out])
        self.decoder = mlp([latent_dim, *hidden[::-1], d_in])
        self.hidden = hidden

    def _enc(self, batch):
        check_batch(self, batch)
        h = self.encoder(self.flat_input(batch))
        if not self.variational:
            return h, None
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar

    def _dec(self, z):
        out = self.decoder(z)
        k = self.max_nodes * self.n_classes
        return out[:, :k].reshape(-1, self.max_nodes, self.n_classes), out[:, k:]


class GraphAE(GraphVAE):
    """The plain autoencoder: as :class:`GraphVAE` but deterministic (no KL term, ``kl = 0``).

    It has no prior; :meth:`sample` still decodes ``z ~ N(0, I)``, which is only meaningful
    as far as its codes happen to lie there (chapter 2 shows how far).
    """

    name = "AE"
    variational = False


# --------------------------------------------------------------------------- sequence to sequence
class Seq2SeqVAE(SetOfVectorsCompressor):
    """Sequence to sequence over the nodes in topological order, as a VAE.

    Encoder: a GRU over the node vectors ``[one-hot type, adjacency vector]`` (bidirectional by
    default); its final states give ``(mu, logvar)``. Decoder: a GRU initialised from ``z``
    emits one node per step — its type logits and the logits of its edges from every earlier
    node — reading ``z`` and the previous node's vector (the true one in training, its own decode
    otherwise).
    """

    name = "seq2seq"

    def __init__(self, vocab, max_nodes, latent_dim=56, hidden=128, bidirectional=True):
        super().__init__(vocab, max_nodes, latent_dim)
        self.hidden = int(hidden)
        self.bidirectional = bool(bidirectional)
        d_node = self.n_classes + self.max_nodes
        self.enc_rnn = nn.GRU(d_node, self.hidden, batch_first=True, bidirectional=self.bidirectional)
        d_enc = self.hidden * (2 if self.bidirectional else 1)
        self.to_mu = nn.Linear(d_enc, latent_dim)
        self.to_logvar = nn.Linear(d_enc, latent_dim)
        self.z_to_h = nn.Linear(latent_dim, self.hidden)
        self.dec_rnn = nn.GRU(d_node + latent_dim, self.hidden, batch_first=True)
        self.type_head = nn.Linear(self.hidden, self.n_classes)
        self.edge_head = nn.Linear(self.hidden, self.max_nodes)
        # edges into node i may only come from nodes j < i
        self.register_buffer("_prev", torch.tril(torch.ones(max_nodes, max_nodes), -1).bool(), persistent=False)

    def node_vectors(self, batch: DagBatch) -> torch.Tensor:
        """``[B, N, classes + N]``: one-hot type and the vector of incoming edges of each node."""
        return torch.cat([self.type_onehot(batch), (batch.adj > 0.5).float().transpose(1, 2)], -1)

    def _enc(self, batch):
        check_batch(self, batch)
        _, h = self.enc_rnn(self.node_vectors(batch))
        h = torch.cat(list(h), -1)
        return self.to_mu(h), self.to_logvar(h)

    def _heads(self, out, first: int = 0):
        """GRU outputs ``[B, T, H]`` for nodes ``first .. first + T - 1`` -> type logits ``[B, T, C]``
        and incoming-edge logits ``[B, T, N]`` (only edges from earlier nodes are allowed)."""
        t = out.shape[1]
        edge_logits = self.edge_head(out).masked_fill(~self._prev[first:first + t], -30.0)
        return self.type_head(out), edge_logits

    def _upper(self, in_logits):
        """Incoming-edge logits ``[B, i, j]`` (edge ``j -> i``) -> strict upper triangle ``[B, pairs]``."""
        return in_logits.transpose(1, 2)[:, self._iu[0], self._iu[1]]

    def _teacher_forced(self, z, teacher):
        """Training: one GRU pass; step ``i`` reads ``z`` and the true vector of node ``i - 1``."""
        b = z.shape[0]
        prev = torch.cat([teacher.new_zeros(b, 1, teacher.shape[-1]), teacher[:, :-1]], 1)
        inp = torch.cat([prev, z[:, None].expand(-1, self.max_nodes, -1)], -1)
        out, _ = self.dec_rnn(inp, torch.tanh(self.z_to_h(z))[None])
        type_logits, in_logits = self._heads(out)
        return type_logits, self._upper(in_logits)

    def _generate(self, z, stochastic: bool):
        """Decoding: node by node, each step reading its own previous decision; returns the decisions."""
        b = z.shape[0]
        h = torch.tanh(self.z_to_h(z))[None]
        prev = z.new_zeros(b, self.n_classes + self.max_nodes)
        classes, incoming = [], []
        for i in range(self.max_nodes):
            out, h = self.dec_rnn(torch.cat([prev, z], -1)[:, None], h)
            tl, el = self._heads(out, first=i)
            tl, el = tl[:, 0], el[:, 0]
            if stochastic:
                cls = torch.distributions.Categorical(logits=tl).sample()
                e = torch.bernoulli(torch.sigmoid(el))
            else:
                cls = tl.argmax(-1)
                e = (el > 0).float()
            e = e * self._prev[i]
            prev = torch.cat([F.one_hot(cls, self.n_classes).float(), e], -1)
            classes.append(cls)
            incoming.append(e)
        cls = torch.stack(classes, 1)
        edges = self._upper(torch.stack(incoming, 1))
        # decisions as saturated logits, so that to_batch's argmax / threshold returns them unchanged
        return F.one_hot(cls, self.n_classes).float() * 60.0 - 30.0, edges * 60.0 - 30.0

    def _train_logits(self, z, batch):
        return self._teacher_forced(z, self.node_vectors(batch))

    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
        # the generator already sampled (or took the argmax); read its choices off deterministically
        return self.to_batch(*self._generate(z, stochastic), stochastic=False)


# --------------------------------------------------------------------------- the seed's split latent
class SplitVAE(SetOfVectorsCompressor):
    """The seed paper's proposed model: structure and op types in separate latent spaces.

    Two VAEs side by side: one compresses the adjacency vectors into ``structure_dim``
    dimensions, the other the op-type vectors into ``type_dim`` dimensions (the paper: 4 and 2).
    The code of a graph is ``[z_structure, z_types]`` (``latent_dim = structure_dim + type_dim``);
    each half is decoded by its own MLP, so the adjacency is restored from ``z_structure`` alone
    and the op types from ``z_types`` alone. The paper does not describe its encoders and
    decoders; we use MLPs of the same size as :class:`GraphVAE`'s.
    """

    name = "split"

    def __init__(self, vocab, max_nodes, latent_dim=None, structure_dim=4, type_dim=2, hidden=(256, 256)):
        structure_dim, type_dim = int(structure_dim), int(type_dim)
        if latent_dim is not None and int(latent_dim) != structure_dim + type_dim:
            raise CompressError(f"split model: latent_dim={latent_dim} must equal structure_dim + type_dim = "
                             f"{structure_dim} + {type_dim}; use split_latent({latent_dim}) to choose the halves")
        if structure_dim < 1 or type_dim < 1:
            raise CompressError(f"split model: structure_dim={structure_dim} and type_dim={type_dim} must both be >= 1")
        super().__init__(vocab, max_nodes, structure_dim + type_dim)
        self.structure_dim, self.type_dim = structure_dim, type_dim
        hidden = list(hidden)
        self.hidden = hidden
        d_types = self.max_nodes * self.n_classes
        self.enc_s = mlp([self.n_pairs, *hidden, 2 * structure_dim])
        self.dec_s = mlp([structure_dim, *hidden[::-1], self.n_pairs])
        self.enc_t = mlp([d_types, *hidden, 2 * type_dim])
        self.dec_t = mlp([type_dim, *hidden[::-1], d_types])

    def _enc(self, batch):
        check_batch(self, batch)
        mu_s, lv_s = self.enc_s(self.edge_targets(batch)).chunk(2, -1)
        mu_t, lv_t = self.enc_t(self.type_onehot(batch).flatten(1)).chunk(2, -1)
        return torch.cat([mu_s, mu_t], -1), torch.cat([lv_s, lv_t], -1)

    def _dec(self, z):
        zs, zt = z[:, :self.structure_dim], z[:, self.structure_dim:]
        return self.dec_t(zt).reshape(-1, self.max_nodes, self.n_classes), self.dec_s(zs)


def split_latent(total: int) -> tuple[int, int]:
    """Structure and type sizes for a total latent size, in the paper's 2 : 1 ratio (6 -> 4 + 2)."""
    total = int(total)
    if total < 2:
        raise CompressError(f"split model needs a latent size of at least 2 (one per half), got {total}")
    t = max(1, round(total / 3))
    return total - t, t
