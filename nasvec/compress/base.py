"""The interface every compressor of chapter 2 shares, its batch format and trainer.

A compressor maps a DAG to a latent code and back. Graphs are given to the
models as a :class:`DagBatch`: node types (ids into a vocabulary) and an
adjacency tensor, nodes in topological order, padded to the longest graph.

Interface (duck-typed by :func:`fit` and the metrics):

* ``model.loss(batch, beta)`` -> dict with ``loss``, ``recon``, ``kl`` (sums over the batch,
  as D-VAE reports them; ``kl`` is 0 for deterministic models);
* ``model.encode(batch, stochastic=False)`` -> ``[B, latent]`` (the mean, or a sample);
* ``model.decode(z, stochastic=False)`` -> :class:`DagBatch` (argmax, or sampled);
* ``model.sample(n, generator=None)`` -> :class:`DagBatch`, decodes of ``z ~ N(0, I)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..graph import ArchGraph, GraphError, Node


@dataclass
class DagBatch:
    """A batch of DAGs as tensors.

    ``types``: ``[B, N]`` long, vocabulary ids, ``-1`` for padding after a graph's last node.
    ``adj``: ``[B, N, N]`` float, ``adj[b, i, j] = 1`` for an edge ``i -> j`` (only ``i < j`` is meaningful).
    """

    types: torch.Tensor
    adj: torch.Tensor

    def __len__(self) -> int:
        return self.types.shape[0]

    @property
    def mask(self) -> torch.Tensor:
        return self.types >= 0

    @property
    def n_nodes(self) -> torch.Tensor:
        return self.mask.sum(1)

    def to(self, device) -> "DagBatch":
        return DagBatch(self.types.to(device), self.adj.to(device))

    def __getitem__(self, idx) -> "DagBatch":
        return DagBatch(self.types[idx], self.adj[idx])

    @classmethod
    def from_graphs(cls, graphs: Sequence[ArchGraph], vocab: Sequence[str], max_nodes: int | None = None) -> "DagBatch":
        index = {op: k for k, op in enumerate(vocab)}
        n = max_nodes or max(len(g) for g in graphs)
        types = torch.full((len(graphs), n), -1, dtype=torch.long)
        adj = torch.zeros(len(graphs), n, n)
        for b, g in enumerate(graphs):
            if len(g) > n:
                raise GraphError(f"graph {b} has {len(g)} nodes, more than max_nodes={n}")
            for i, node in enumerate(g.nodes):
                if node.op not in index:
                    raise GraphError(f"graph {b}, node {i}: op {node.op!r} is not in the vocabulary {list(vocab)}")
                types[b, i] = index[node.op]
            for s, d in g.edges:
                adj[b, s, d] = 1.0
        return cls(types, adj)

    def to_graphs(self, vocab: Sequence[str]) -> list[ArchGraph]:
        """Back to graphs: edges ``i -> j`` with ``i < j`` where ``adj > 0.5``, padding dropped."""
        out = []
        types = self.types.cpu().numpy()
        adj = (self.adj > 0.5).cpu().numpy()
        for b in range(len(types)):
            n = int((types[b] >= 0).sum())
            nodes = [Node(vocab[t]) for t in types[b, :n]]
            edges = [(i, j) for j in range(n) for i in range(j) if adj[b, i, j]]
            out.append(ArchGraph(nodes, edges))
        return out


class Compressor(nn.Module):
    """Base class: holds the vocabulary, the graph size and the latent size; samples from the prior."""

    name = "compressor"

    def __init__(self, vocab: Sequence[str], max_nodes: int, latent_dim: int):
        super().__init__()
        self.vocab = list(vocab)
        self.max_nodes = int(max_nodes)
        self.latent_dim = int(latent_dim)

    def loss(self, batch: DagBatch, beta: float = 1.0) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, batch: DagBatch, stochastic: bool = False) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def decode(self, z: torch.Tensor, stochastic: bool = False) -> DagBatch:  # pragma: no cover
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, stochastic: bool = False) -> DagBatch:
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(z, stochastic=stochastic)


def fit(model: Compressor, data: DagBatch, epochs: int, batch_size: int = 32, lr: float = 1e-4,
        beta: float = 0.005, seed: int = 0, progress: bool = True, optimizer: torch.optim.Optimizer | None = None,
        generator: torch.Generator | None = None, start_epoch: int = 0) -> list[dict]:
    """Train with Adam; one history row per epoch (summed recon and KL per graph, seconds).

    Shuffling is seeded, so the same call gives the same model on the same machine.
    ``optimizer``, ``generator`` and ``start_epoch`` continue an earlier run (see :func:`fit_cached`):
    training 10 epochs and then 10 more with the same optimizer and generator gives the same
    model as training 20 at once.
    """
    from tqdm.auto import tqdm

    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    gen = generator if generator is not None else torch.Generator().manual_seed(seed)
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    bar = tqdm(range(epochs), desc=model.name, disable=not progress)
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(data), generator=gen)
        tot = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
        for k in range(0, len(data), batch_size):
            out = model.loss(data[perm[k:k + batch_size]], beta=beta)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            for key in tot:
                tot[key] += float(out[key].detach()) if torch.is_tensor(out[key]) else float(out[key])
        row = {"epoch": start_epoch + epoch + 1, **{k: v / len(data) for k, v in tot.items()},
               "seconds": time.perf_counter() - t0}
        history.append(row)
        bar.set_postfix(recon=f"{row['recon']:.3f}", kl=f"{row['kl']:.3f}")
    model.eval()
    return history


def fit_cached(model: Compressor, data: DagBatch, epochs: int, name: str, config: dict, chunk: int | None = None,
               batch_size: int = 32, lr: float = 1e-4, beta: float = 0.005, seed: int = 0,
               progress: bool = True) -> tuple[list[dict], int]:
    """:func:`fit` in cached chunks of ``chunk`` epochs: a re-run loads, a longer run resumes.

    After every ``chunk`` epochs (and at ``epochs``) the model, optimizer and shuffling states
    and the history so far are stored with :func:`nasvec.cache.cached` under ``name`` and
    ``config`` plus the epoch count (``config`` must identify the model, the data and the
    training settings). A run asking for more epochs starts from the latest stored checkpoint;
    a killed run loses at most one chunk. Returns ``(history, epochs loaded from the cache)``;
    the model is left trained, in eval mode. Introduced in chapter 2.
    """
    from ..cache import cache_path, cached, forced

    chunk = int(chunk or epochs or 1)
    ends = sorted({e for e in range(chunk, epochs, chunk)} | {epochs})
    train_cfg = {**config, "batch_size": batch_size, "lr": lr, "beta": beta, "seed": seed, "chunk": chunk}

    def key(e):
        return {**train_cfg, "epochs": e}

    start = 0
    if not forced():
        for e in reversed(ends):
            if cache_path(name, key(e)).is_file():
                start = e
                break
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict] = []
    loaded = 0
    # the model's own sampling (reparameterisation) uses torch's global generator: seed it here and
    # carry its state through the checkpoints, so chunked, resumed and one-go training agree and
    # do not depend on what ran before
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if start:
            ckpt, _ = cached(name, key(start), lambda: None)
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            gen.set_state(ckpt["generator"])
            torch.set_rng_state(ckpt["torch_rng"])
            history = list(ckpt["history"])
            loaded = start
        for e in ends:
            if e <= start:
                continue
            prev = max([0] + [x for x in ends if x < e])

            def compute(prev=prev, e=e):
                rows = fit(model, data, e - prev, batch_size=batch_size, lr=lr, beta=beta, seed=seed,
                           progress=progress, optimizer=opt, generator=gen, start_epoch=prev)
                return {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                        "torch_rng": torch.get_rng_state(), "history": history + rows}

            ckpt, _ = cached(name, key(e), compute, force=True)
            history = list(ckpt["history"])
    model.eval()
    return history, loaded
