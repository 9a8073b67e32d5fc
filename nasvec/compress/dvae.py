"""D-VAE and DVAE-EMB, batched over the graphs of a batch (chapter 2).

**D-VAE** (Zhang, Jiang, Cui, Garnett, Chen, NeurIPS 2019) encodes a DAG by *asynchronous message
passing* in topological order and decodes it one node at a time. What we take from the paper and
its reference code (hidden 501, latent 56, bidirectional, batch 32, lr 1e-4, KL weight 0.005):

* **encoder** – node ``v``'s state is ``h_v = GRU_e(x_v, S_v)``: ``x_v`` is the one-hot of its type,
  ``S_v = sum_{u -> v} g(h_u) * m(h_u)`` the *gated sum* over its predecessors, with
  ``g = sigmoid(Linear([h_u, onehot(u)]))`` and ``m = Linear([h_u, onehot(u)])`` (no bias; the
  one-hot of the node's position is D-VAE's ``vid`` option, on by default). Nodes without
  predecessors start from zeros. The *bidirectional* encoder runs a second pass with its own GRU
  and gates over the reversed graph; the graph state is ``[h_sink (forward), h_source (backward)]``
  through a linear layer (D-VAE's ``hg_unify``), and two linear layers give ``mu`` and ``log sigma^2``;
* **decoder** – ``H0 = tanh(Linear(z))``; node 0 gets ``GRU_d(x_0, H0)``. For every later position
  ``v``: the new node's type from the *graph state* (the state of the last node added) through an
  MLP ``hs -> 2 hs -> types``; its state ``GRU_d(x_v, 0)``; then, for ``u = v-1, v-2, ..., 0``, the
  probability of the edge ``u -> v`` from an MLP ``2 hs -> 4 hs -> 1`` on ``[h_u, h_v]``, and after
  each decision ``h_v`` is recomputed as ``GRU_d(x_v, gated sum over its predecessors so far)``
  (the decoder shares the forward gates with the encoder, as in D-VAE's code);
* **the input and output nodes** – as in D-VAE, node 0 is always the ``start_type`` (not
  predicted), the last position is forced to the ``end_type``, and an ``end_type`` node is
  connected to every node that has no successor yet and ends the graph;
* **loss** – teacher forcing: the decoder is run on the true graph, and the loss is the sum over
  the batch of the type negative log-likelihood and the edge binary cross-entropy, plus
  ``beta * KL(q(z|G) || N(0, I))``;
* **reparameterisation** – D-VAE's code draws ``z = mu + eps_scale * sigma * eps`` with
  ``eps_scale = 0.01`` during training (while the KL term is that of ``N(mu, sigma^2)``);
  we keep it as the default and :meth:`DVAE.encode` with ``stochastic=True`` draws the same way.
  ``eps_scale=1`` gives a textbook VAE.

Differences from the reference code, none of which matter for ENAS (8 nodes in every graph):
graphs shorter than ``max_nodes`` end with an explicit "stop" class (D-VAE reuses the start type
as padding), and losses on padding positions are masked out; ``start_type``/``end_type`` can be
switched off for vocabularies without input and output nodes (node 0's type is then predicted from
``H0`` and a graph ends only at "stop" or at ``max_nodes``).

**DVAE-EMB** (Chatzianastasis, Dasoulas, Siolas, Vazirgiannis, 2021): D-VAE with *learned
operation embeddings* instead of one-hot types. One embedding table (``emb_dim`` = 3 in their
code) feeds the forward and backward encoder GRUs and the decoder GRU, and is trained with the
rest of the model; everything else is D-VAE's. Their code initialises the table from embeddings
learned in an earlier run of theirs; we learn it from scratch (N(0, 1) initialisation).

**Batching.** The reference code loops over the graphs of a batch in Python (igraph objects). Here
a batch is a :class:`~nasvec.compress.base.DagBatch` whose nodes are in topological order, so all
graphs are processed together position by position: the encoder does one GRU step per node
position and direction for the whole batch. With teacher forcing the decoder's intermediate states
do not depend on its own decisions, so at position ``v`` the ``v + 1`` states
``GRU_d(x_v, partial sum)`` (one before each edge decision, and the final one) are computed in one
GRU call from cumulative sums of the predecessors' gated messages, and all ``v`` edge logits in one
MLP call; the first layer of the edge MLP is split so that the part that reads ``h_u`` is computed
once per node. The result equals D-VAE's sequential computation. Free decoding (``decode``) has to
decide edges one after another, as D-VAE does, but still for the whole batch at once.

Introduced in chapter 2 ("Compressing architecture graphs").
"""

from __future__ import annotations

import inspect
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CompressError
from .base import Compressor, DagBatch, check_batch, kl_divergence
from .dvae_decoders import free_decode, teacher_forced_recon

_AUTO = "auto"


def _resolve_type(vocab: list[str], value, default: str, what: str) -> int | None:
    if value is None:
        return None
    if value == _AUTO:
        return vocab.index(default) if default in vocab else None
    if isinstance(value, str):
        if value not in vocab:
            raise CompressError(f"{what}={value!r} is not in the vocabulary {vocab} (pass {what}=None to switch it off)")
        return vocab.index(value)
    raise CompressError(f"{what} must be an op name from the vocabulary, 'auto' or None, got {value!r}")


class DVAE(Compressor):
    """D-VAE (Zhang et al., 2019), batched; see the module docstring for the model.

    ``hidden``: GRU state size (D-VAE: 501); ``bidirectional``: add the reverse encoder pass;
    ``vid``: append the one-hot of a node's position to its state in the gates (D-VAE's default);
    ``eps_scale``: scale of the reparameterisation noise (D-VAE's code: 0.01);
    ``start_type``/``end_type``: op names of the input and output nodes (``"auto"``: ``"input"`` and
    ``"output"`` when the vocabulary has them; ``None``: no such node).
    """

    name = "D-VAE"
    # the decoders live in their own module: its source is part of a checkpoint's cache key
    source_modules = (inspect.getmodule(teacher_forced_recon),)

    def __init__(self, vocab: Sequence[str], max_nodes: int, latent_dim: int = 56, hidden: int = 501,
                 bidirectional: bool = True, vid: bool = True, eps_scale: float = 0.01,
                 start_type: str | None = _AUTO, end_type: str | None = _AUTO):
        super().__init__(vocab, max_nodes, latent_dim)
        if self.max_nodes < 2:
            raise CompressError(f"{self.name}: max_nodes={max_nodes} must be at least 2")
        if self.latent_dim < 1:
            raise CompressError(f"{self.name}: latent_dim={latent_dim} must be at least 1")
        if int(hidden) < 1:
            raise CompressError(f"{self.name}: hidden={hidden} must be at least 1")
        if not float(eps_scale) >= 0:
            raise CompressError(f"{self.name}: eps_scale={eps_scale} must be >= 0")
        self.hidden = int(hidden)
        self.bidirectional = bool(bidirectional)
        self.vid = bool(vid)
        self.eps_scale = float(eps_scale)
        self.start_type = _resolve_type(self.vocab, start_type, "input", "start_type")
        self.end_type = _resolve_type(self.vocab, end_type, "output", "end_type")
        if self.start_type is not None and self.start_type == self.end_type:
            raise CompressError(f"{self.name}: start_type and end_type are the same op {self.vocab[self.start_type]!r}")
        self.n_types = len(self.vocab)
        self.stop = self.n_types            # the extra "no more nodes" class of the type head
        hs, vs = self.hidden, self.hidden + (self.max_nodes if self.vid else 0)
        d_x = self._input_size()
        # encoder
        self.gru_forward = nn.GRUCell(d_x, hs)
        self.gate_forward = nn.Linear(vs, hs)
        self.mapper_forward = nn.Linear(vs, hs, bias=False)
        if self.bidirectional:
            self.gru_backward = nn.GRUCell(d_x, hs)
            self.gate_backward = nn.Linear(vs, hs)
            self.mapper_backward = nn.Linear(vs, hs, bias=False)
            self.hg_unify = nn.Linear(2 * hs, hs)
        self.fc_mu = nn.Linear(hs, self.latent_dim)
        self.fc_logvar = nn.Linear(hs, self.latent_dim)
        # decoder
        self.fc_z = nn.Linear(self.latent_dim, hs)
        self.gru_decoder = nn.GRUCell(d_x, hs)
        self.add_vertex = nn.Sequential(nn.Linear(hs, 2 * hs), nn.ReLU(), nn.Linear(2 * hs, self.n_types + 1))
        self.add_edge = nn.Sequential(nn.Linear(2 * hs, 4 * hs), nn.ReLU(), nn.Linear(4 * hs, 1))

    # ------------------------------------------------------------------ node inputs
    def _input_size(self) -> int:
        return len(self.vocab)

    def node_input(self, types: torch.Tensor) -> torch.Tensor:
        """``[..., d_x]`` GRU inputs for type ids (padding ``-1`` and "stop" give zeros' stand-ins)."""
        t = types.clamp(0, self.n_types - 1)
        return F.one_hot(t, self.n_types).float()

    # ------------------------------------------------------------------ pieces
    # The weights are sliced once per call (not once per node): the backward pass of a slice
    # materialises a gradient of the whole matrix, which per node would cost more than the matmuls.
    def _gate_views(self, gate: nn.Linear, mapper: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """Gate and mapper as one layer: ``(weight [2 hs, hs] on h, per-position bias [N, 2 hs])``.

        D-VAE's gate and mapper read ``[h_u, onehot(u)]``; the one-hot's columns are a per-position bias.
        """
        hs = self.hidden
        weight = torch.cat([gate.weight[:, :hs], mapper.weight[:, :hs]], 0)
        bias = torch.cat([gate.bias, gate.bias.new_zeros(hs)])[None].expand(self.max_nodes, -1)
        if self.vid:
            bias = bias + torch.cat([gate.weight[:, hs:], mapper.weight[:, hs:]], 0).T
        return weight, bias

    def _gated(self, h: torch.Tensor, v: int, views: tuple) -> torch.Tensor:
        """The gated message ``sigmoid(gate([h, onehot(v)])) * mapper([h, onehot(v)])`` of node ``v``."""
        g, m = F.linear(h, views[0], views[1][v]).split(self.hidden, -1)
        return torch.sigmoid(g) * m

    def _edge_views(self) -> tuple:
        """``(weight on h_u, weight on h_new, bias)`` of the edge MLP's first layer, split."""
        lin = self.add_edge[0]
        return lin.weight[:, :self.hidden], lin.weight[:, self.hidden:], lin.bias

    def _edge_out(self, hid_pre: torch.Tensor) -> torch.Tensor:
        """Edge logits from the first layer's pre-activation ``[..., 4 hs]``."""
        return self.add_edge[2](F.relu(hid_pre)).squeeze(-1)

    @staticmethod
    def _gru(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``nn.GRUCell`` from its projections ``gi = W_ih x + b_ih`` and ``gh = W_hh h + b_hh``."""
        i_r, i_z, i_n = gi.chunk(3, -1)
        h_r, h_z, h_n = gh.chunk(3, -1)
        r = torch.sigmoid(i_r + h_r)
        upd = torch.sigmoid(i_z + h_z)
        return (1 - upd) * torch.tanh(i_n + r * h_n) + upd * h

    def _decoder_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per type: the decoder GRU's input projection ``W_ih x_t + b_ih`` and the state ``GRU_d(x_t, 0)``."""
        cell = self.gru_decoder
        all_types = torch.arange(self.n_types, device=cell.weight_ih.device)
        gi = F.linear(self.node_input(all_types), cell.weight_ih, cell.bias_ih)
        s0 = self._gru(gi, cell.bias_hh.expand(self.n_types, -1), gi.new_zeros(self.n_types, self.hidden))
        return gi, s0

    def _check(self, batch: DagBatch) -> None:
        check_batch(self, batch)
        n = batch.n_nodes
        if bool((n < 1).any()):
            raise CompressError(f"{self.name}: graph {int((n < 1).nonzero()[0])} has no nodes")
        if self.start_type is not None and bool((batch.types[:, 0] != self.start_type).any()):
            k = int((batch.types[:, 0] != self.start_type).nonzero()[0])
            raise CompressError(f"{self.name}: graph {k} starts with type {int(batch.types[k, 0])}, not the "
                             f"start_type {self.vocab[self.start_type]!r} (pass start_type=None for graphs without one)")
        if self.end_type is not None:
            last = batch.types.gather(1, (n - 1).clamp_min(0)[:, None])[:, 0]
            ends = (batch.types == self.end_type).sum(1)
            bad = (last != self.end_type) | (ends != 1)
            if bool(bad.any()):
                k = int(bad.nonzero()[0])
                raise CompressError(f"{self.name}: graph {k} must have exactly one end_type node "
                                 f"{self.vocab[self.end_type]!r}, and last (pass end_type=None for graphs without one)")

    @staticmethod
    def _forward_adj(batch: DagBatch) -> torch.Tensor:
        """``[B, N, N]`` float, edges ``u -> v`` with ``u < v`` between existing nodes."""
        n = batch.types.shape[1]
        fwd = torch.triu(torch.ones(n, n, dtype=torch.bool, device=batch.adj.device), 1)
        alive = batch.mask
        return ((batch.adj > 0.5) & fwd & alive[:, :, None] & alive[:, None, :]).float()

    # ------------------------------------------------------------------ encoder
    def _encode(self, batch: DagBatch) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(batch)
        b, n = batch.types.shape
        adj = self._forward_adj(batch)
        x = self.node_input(batch.types)
        hs = self.hidden
        # forward pass in topological order: push each node's gated message to its successors
        views = self._gate_views(self.gate_forward, self.mapper_forward)
        acc = x.new_zeros(b, n, hs)
        states = []
        for v in range(n):
            h = self.gru_forward(x[:, v], acc[:, v])
            states.append(h)
            if v < n - 1:
                acc = acc + adj[:, v, :, None] * self._gated(h, v, views)[:, None, :]
        last = (batch.n_nodes - 1).clamp_min(0)
        hg = torch.stack(states, 1)[torch.arange(b, device=last.device), last]
        if self.bidirectional:
            # reverse pass: each node's message goes to its predecessors; the source's state ends it
            views = self._gate_views(self.gate_backward, self.mapper_backward)
            acc = x.new_zeros(b, n, hs)
            h = None
            for v in range(n - 1, -1, -1):
                h = self.gru_backward(x[:, v], acc[:, v])
                if v > 0:
                    acc = acc + adj[:, :, v, None] * self._gated(h, v, views)[:, None, :]
            hg = self.hg_unify(torch.cat([hg, h], -1))
        return self.fc_mu(hg), self.fc_logvar(hg)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + self.eps_scale * torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def encode(self, batch: DagBatch, stochastic: bool = False) -> torch.Tensor:
        mu, logvar = self._encode(batch)
        return self.reparameterize(mu, logvar) if stochastic else mu

    # ------------------------------------------------------------------ teacher-forced decoder (training)
    def _recon(self, z: torch.Tensor, batch: DagBatch) -> torch.Tensor:
        """Sum over the batch of the type NLL and the edge BCE of ``batch`` given codes ``z`` (teacher
        forcing; :func:`~nasvec.compress.dvae_decoders.teacher_forced_recon`)."""
        return teacher_forced_recon(self, z, batch)

    def loss(self, batch: DagBatch, beta: float = 1.0) -> dict:
        mu, logvar = self._encode(batch)
        z = self.reparameterize(mu, logvar) if self.training else mu
        recon = self._recon(z, batch)
        kl = kl_divergence(mu, logvar)
        return {"loss": recon + beta * kl, "recon": recon, "kl": kl}

    # ------------------------------------------------------------------ free decoding
    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
        """Codes ``[B, latent]`` -> graphs, node by node and edge by edge as D-VAE decodes
        (:func:`~nasvec.compress.dvae_decoders.free_decode`; ``stochastic``: sample types and edges)."""
        return free_decode(self, z, stochastic)


class DVAEEMB(DVAE):
    """DVAE-EMB (Chatzianastasis et al., 2021): D-VAE with learned operation embeddings.

    ``emb_dim``: size of the embedding of an op type (their code: 3); the table is shared by the
    encoder's and the decoder's GRUs and trained with the model. Other arguments as :class:`DVAE`.
    """

    name = "DVAE-EMB"

    def __init__(self, vocab: Sequence[str], max_nodes: int, latent_dim: int = 56, hidden: int = 501,
                 emb_dim: int = 3, **kwargs):
        if int(emb_dim) < 1:
            raise CompressError(f"{self.name}: emb_dim={emb_dim} must be at least 1")
        self.emb_dim = int(emb_dim)
        super().__init__(vocab, max_nodes, latent_dim, hidden, **kwargs)
        self.embedding = nn.Embedding(len(self.vocab), self.emb_dim)

    def _input_size(self) -> int:
        return self.emb_dim

    def node_input(self, types: torch.Tensor) -> torch.Tensor:
        return self.embedding(types.clamp(0, self.n_types - 1))
