"""The interface every compressor of chapter 2 shares, its batch format, shared pieces and trainer.

A compressor maps a DAG to a latent code and back. Graphs are given to the
models as a :class:`DagBatch`: node types (ids into a vocabulary) and an
adjacency tensor, nodes in topological order, padded to the longest graph.

Interface (duck-typed by :func:`fit_compressor` and the metrics):

* ``model.loss(batch, beta)`` -> dict with ``loss``, ``recon``, ``kl`` (sums over the batch,
  as D-VAE reports them; ``kl`` is 0 for deterministic models);
* ``model.encode(batch, stochastic=False)`` -> ``[B, latent]`` (the mean, or a sample);
* ``model.decode(z, stochastic=False)`` -> :class:`DagBatch` (argmax, or sampled);
* ``model.sample(n, generator=None)`` -> :class:`DagBatch`, decodes of ``z ~ N(0, I)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..cache import cache_path, cached, forced
from ..config import Config, check
from ..errors import CompressError, GraphError
from ..graph.core import ArchGraph, Node
from ..train import run_epochs


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

    def fingerprint_parts(self):
        """What a cache key holds of a batch: the types and the 0/1 adjacency."""
        return [self.types, self.adj > 0.5]

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


@dataclass(frozen=True)
class VAETraining(Config):
    """How a compressor is trained (the arguments of :func:`fit_compressor`): ``epochs`` of Adam at ``lr`` on
    mini-batches of ``batch_size``, KL weight ``beta``, ``seed`` for the weights' draw and the shuffling.

    Every compressor config holds one (:class:`~nasvec.compress.registry.CompressorConfig`,
    :class:`~nasvec.compress.attributed.AttributedConfig`, :class:`~nasvec.compress.pernode_attr.PerNodeAttrConfig`).
    """

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    beta: float = 0.005
    seed: int = 0

    def __post_init__(self):
        check(isinstance(self.epochs, int) and self.epochs >= 0, f"VAETraining: epochs must be an integer >= 0, "
                                                                  f"got {self.epochs!r}")
        check(self.lr > 0 and isinstance(self.batch_size, int) and self.batch_size >= 1 and self.beta >= 0,
              f"VAETraining: lr and batch_size must be positive and beta >= 0, got lr {self.lr!r}, batch_size "
              f"{self.batch_size!r}, beta {self.beta!r}")


def fit_compressor(model: Compressor, data: DagBatch, epochs: int, batch_size: int = 32, lr: float = 1e-4,
                   beta: float = 0.005, seed: int = 0, progress: bool = True,
                   optimizer: torch.optim.Optimizer | None = None, generator: torch.Generator | None = None,
                   start_epoch: int = 0, on_epoch_end=None) -> list[dict]:
    """Train with Adam through :func:`nasvec.train.run_epochs`; one history row per epoch (the loss, the
    summed reconstruction term and KL divergence per graph, seconds).

    Shuffling is seeded, so the same call gives the same model on the same machine.
    ``optimizer``, ``generator`` and ``start_epoch`` continue an earlier run (see :func:`fit_compressor_cached`):
    training 10 epochs and then 10 more with the same optimizer and generator gives the same
    model as training 20 at once. ``on_epoch_end(row)`` sees each epoch's row (e.g. to step a
    ``ReduceLROnPlateau`` on ``row["loss"]``).
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(seed)
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    terms = ("loss", "recon", "kl")

    def step(idx, epoch):
        out = model.loss(data[idx], beta=beta)
        return out["loss"], {k: float(out[k].detach()) if torch.is_tensor(out[k]) else float(out[k]) for k in terms}

    def on_epoch(row):
        row.update({k: row["sums"].get(k, 0.0) / len(data) for k in terms})
        if on_epoch_end is not None:
            on_epoch_end(row)
        return {"recon": f"{row['recon']:.3f}", "kl": f"{row['kl']:.3f}"}

    rows = run_epochs(step, len(data), epochs, batch_size, gen, [opt], modules=[model], on_epoch=on_epoch,
                      start_epoch=start_epoch, progress=progress, desc=model.name)
    model.eval()
    return [{"epoch": r["epoch"], **{k: r[k] for k in terms}, "seconds": r["seconds"]} for r in rows]


def fit_compressor_cached(model: Compressor, data: DagBatch, epochs: int, name: str, config: dict,
                          chunk: int | None = None, batch_size: int = 32, lr: float = 1e-4, beta: float = 0.005,
                          seed: int = 0, progress: bool = True) -> tuple[list[dict], int]:
    """:func:`fit_compressor` in cached chunks of ``chunk`` epochs: a re-run loads, a longer run resumes.

    After every ``chunk`` epochs (and at ``epochs``) the model, optimizer and shuffling states
    and the history so far are stored with :func:`nasvec.cache.cached` under ``name`` and
    ``config`` plus the epoch count (``config`` must identify the model, the data and the
    training settings). A run asking for more epochs starts from the latest stored checkpoint;
    a killed run loses at most one chunk. Returns ``(history, epochs loaded from the cache)``;
    the model is left trained, in eval mode. Introduced in chapter 2.
    """
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
                rows = fit_compressor(model, data, e - prev, batch_size=batch_size, lr=lr, beta=beta, seed=seed,
                                      progress=progress, optimizer=opt, generator=gen, start_epoch=prev)
                return {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                        "torch_rng": torch.get_rng_state(), "history": history + rows}

            ckpt, _ = cached(name, key(e), compute, force=True)
            history = list(ckpt["history"])
    model.eval()
    return history, loaded


# --------------------------------------------------------------------------- shared pieces
def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them."""
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` summed over the batch and the latent dimensions."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def check_batch(model: Compressor, batch: DagBatch) -> None:
    """A :class:`~nasvec.errors.CompressError` unless ``batch`` fits ``model`` (slots, adjacency, types)."""
    if not isinstance(batch, DagBatch):
        raise CompressError(f"{model.name}: expected a DagBatch, got {type(batch).__name__}")
    b, n = batch.types.shape
    if n != model.max_nodes:
        raise CompressError(f"{model.name}: batch has {n} node slots but the model was built for "
                            f"max_nodes={model.max_nodes} (use DagBatch.from_graphs(..., max_nodes={model.max_nodes}))")
    if batch.adj.shape != (b, n, n):
        raise CompressError(f"{model.name}: adjacency has shape {tuple(batch.adj.shape)}, expected {(b, n, n)}")
    if batch.types.numel() and int(batch.types.max()) >= len(model.vocab):
        raise CompressError(f"{model.name}: node type {int(batch.types.max())} outside the vocabulary "
                            f"of {len(model.vocab)} ops {model.vocab}")


def pick(type_logits: torch.Tensor, edge_logits: torch.Tensor, stochastic: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A decoder's logits -> (op classes, 0/1 edges): sampled when ``stochastic``, else argmax and threshold 0."""
    if stochastic:
        return (torch.distributions.Categorical(logits=type_logits).sample(),
                torch.bernoulli(torch.sigmoid(edge_logits)))
    return type_logits.argmax(-1), (edge_logits > 0).float()
