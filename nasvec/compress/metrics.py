"""How well a compressor keeps and generates architectures: D-VAE's protocol, per graph (chapter 2).

D-VAE (Zhang et al., 2019) measures, on its ENAS test split:

* **reconstruction accuracy** – every test graph is encoded 10 times (the encoder samples
  ``z ~ q(z|G)``), every code decoded 10 times (the decoder samples types and edges); a hit is an
  exact match of the decoded DAG: the same node types in the same order and the same edges.
  :func:`reconstruction` returns the share of hits over all 100 decodes per graph;
* **validity** – 1,000 points drawn from the prior, each decoded 10 times; the share of decodes that
  are valid ENAS networks (:func:`nasvec.data.enas_invalid_reason` says what D-VAE's
  ``is_valid_ENAS`` checks); :func:`prior_validity`. D-VAE's code draws ``z ~ N(0, I)`` and *scales*
  it to the training codes, ``z * std + mean`` per dimension (:func:`code_scale`); the unscaled
  ``N(0, I)`` is a second, harsher measure. For the per-node model the per-dimension scale is per
  node position: each node's code is drawn independently from its position's training codes;
* **uniqueness** – distinct graphs among the valid decodes, over the valid decodes;
* **novelty** – share of the valid decodes that are not in the training set.

The seed paper's Table 1 instead scored reconstruction *per node*; :func:`reconstruction`
also returns that measure (a node counts as right when its type and its whole adjacency row, the
edges out of it, are right), so the chapter can show how far the two are apart.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from ..cache import cached, fingerprint
from ..data.enas import ENAS_TYPES, enas_invalid_reason
from ..errors import CompressError
from ..graph.core import ArchGraph
from .base import DagBatch


# --------------------------------------------------------------------------- matching
def _edges(batch: DagBatch) -> torch.Tensor:
    """Boolean ``[B, N, N]`` adjacency restricted to forward pairs inside each graph."""
    n = batch.types.shape[1]
    fwd = torch.triu(torch.ones(n, n, dtype=torch.bool, device=batch.adj.device), 1)
    alive = batch.mask
    return (batch.adj > 0.5) & fwd & alive[:, :, None] & alive[:, None, :]


def _check_pair(a: DagBatch, b: DagBatch) -> None:
    if a.types.shape != b.types.shape:
        raise CompressError(f"cannot compare batches of shapes {tuple(a.types.shape)} and {tuple(b.types.shape)}: "
                         "decode with the same max_nodes as the originals")


def same_dag(a: DagBatch, b: DagBatch) -> torch.Tensor:
    """``[B]`` bool: graph ``k`` of ``a`` and of ``b`` are the same DAG (types in order, and edges)."""
    _check_pair(a, b)
    ta, tb = torch.where(a.mask, a.types, -1), torch.where(b.mask, b.types, -1)
    return (ta == tb).all(1) & (_edges(a) == _edges(b)).flatten(1).all(1)


def node_hits(original: DagBatch, decoded: DagBatch) -> torch.Tensor:
    """``[B, N]`` bool: node ``i`` has the right type and exactly the right adjacency row (its outgoing
    edges), the seed paper's unit: one node's op and adjacency row."""
    _check_pair(original, decoded)
    to = torch.where(original.mask, original.types, -1)
    td = torch.where(decoded.mask, decoded.types, -1)
    same_row = (_edges(original) == _edges(decoded)).all(2)  # row i: the edges out of node i
    return (to == td) & same_row


@torch.no_grad()
def reconstruction(model, batch: DagBatch, encode_times: int = 10, decode_times: int = 10,
                   stochastic_encode: bool = True, stochastic_decode: bool = True, seed: int = 0,
                   chunk: int = 2048) -> dict:
    """D-VAE's reconstruction accuracy, and the per-node measure, on ``batch``.

    Returns ``per_graph`` (share of exact DAG matches over ``len(batch) * encode_times *
    decode_times`` decodes: a share of *decodes*, D-VAE's measure), ``all_exact`` (share of the *graphs*
    decoded exactly in every one of their decodes), ``per_node`` (share of the original graphs' nodes decoded with the
    right type and adjacency row), ``types`` (share of nodes with the right type), ``edges``
    (share of the forward node pairs whose edge/no-edge is right) and ``decodes``.
    ``stochastic_encode=False`` encodes with the mean, which is what D-VAE's code does at test
    time (its ``reparameterize`` returns ``mu`` in eval mode).
    """
    if encode_times < 1 or decode_times < 1:
        raise CompressError(f"encode_times={encode_times} and decode_times={decode_times} must be >= 1")
    model.eval()
    hits = nodes_ok = nodes = types_ok = pairs_ok = pairs = always = 0
    n = batch.types.shape[1]
    fwd = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for k in range(0, len(batch), chunk):
            part = batch[k:k + chunk]
            mask = part.mask
            e0 = _edges(part)
            every = torch.ones(len(part), dtype=torch.bool)
            for _ in range(encode_times):
                z = model.encode(part, stochastic=stochastic_encode)
                for _ in range(decode_times):
                    dec = model.decode(z, stochastic=stochastic_decode)
                    same = same_dag(part, dec)
                    hits += int(same.sum())
                    every &= same.cpu()
                    nodes_ok += int((node_hits(part, dec) & mask).sum())
                    nodes += int(mask.sum())
                    td = torch.where(dec.mask, dec.types, -1)
                    types_ok += int(((td == part.types) & mask).sum())
                    pair_mask = fwd & mask[:, :, None] & mask[:, None, :]
                    pairs_ok += int(((e0 == _edges(dec)) & pair_mask).sum())
                    pairs += int(pair_mask.sum())
            always += int(every.sum())
    total = len(batch) * encode_times * decode_times
    return {"per_graph": hits / total, "all_exact": always / len(batch), "per_node": nodes_ok / max(nodes, 1), "types": types_ok / max(nodes, 1),
            "edges": pairs_ok / max(pairs, 1), "decodes": total}


# --------------------------------------------------------------------------- validity
def batch_keys(batch: DagBatch) -> list[tuple]:
    """A hashable key per graph: ``(types, edges)``; equal keys mean the same DAG."""
    types = batch.types.cpu().numpy()
    adj = _edges(batch).cpu().numpy()
    out = []
    for b in range(len(types)):
        n = int((types[b] >= 0).sum())
        src, dst = np.nonzero(adj[b, :n, :n])
        order = np.lexsort((src, dst))
        out.append((tuple(int(t) for t in types[b, :n]), tuple(zip(src[order].tolist(), dst[order].tolist()))))
    return out


def graph_key(g: ArchGraph, vocab: Sequence[str] = ENAS_TYPES) -> tuple:
    """The :func:`batch_keys` key of one :class:`~nasvec.graph.ArchGraph`."""
    index = {op: k for k, op in enumerate(vocab)}
    return (tuple(index[n.op] for n in g.nodes), tuple(sorted(set(g.edges), key=lambda e: (e[1], e[0]))))


def uniqueness(keys: Sequence) -> float:
    """Share of distinct items among ``keys`` (0 for an empty list, as D-VAE)."""
    return len(set(keys)) / len(keys) if len(keys) else 0.0


def novelty(keys: Sequence, train_keys: Iterable) -> float:
    """Share of ``keys`` (duplicates counted) that are not in ``train_keys`` (0 for an empty list)."""
    if not len(keys):
        return 0.0
    train = set(train_keys)
    return sum(k not in train for k in keys) / len(keys)


@torch.no_grad()
def prior_validity(model, n_points: int = 1000, decode_times: int = 10, train_keys: Iterable | None = None,
                   vocab: Sequence[str] = ENAS_TYPES, n_layers: int | None = None, stochastic: bool = True,
                   seed: int = 0, chunk: int = 1000, scale: tuple | None = None) -> dict:
    """D-VAE's prior experiment: ``n_points`` codes from ``N(0, I)``, each decoded ``decode_times`` times.

    ``scale``: ``(mean, std)`` per latent dimension (:func:`code_scale` of the training codes): the
    codes are ``z * std + mean``, D-VAE's scaled prior; ``None``: the unscaled ``N(0, I)``.

    Returns ``validity`` (share of valid ENAS decodes), ``uniqueness`` (distinct valid decodes
    over valid decodes), ``novelty`` (valid decodes not in ``train_keys``; ``nan`` when no
    training keys are given), the counts, and ``reasons``: how often each kind of invalidity
    occurred (the first problem :func:`enas_invalid_reason` finds, with node numbers removed).
    """
    model.eval()
    valid_keys, reasons = [], {}
    total = 0
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        z_all = torch.randn(n_points, model.latent_dim)
        if scale is not None:
            z_all = z_all * torch.as_tensor(scale[1]).float() + torch.as_tensor(scale[0]).float()
        for k in range(0, n_points, chunk):
            z = z_all[k:k + chunk]
            for _ in range(decode_times):
                dec = model.decode(z, stochastic=stochastic)
                for key in batch_keys(dec):
                    total += 1
                    why = enas_invalid_reason(key, vocab, n_layers)
                    if why is None:
                        valid_keys.append(key)
                    else:
                        kind = _reason_kind(why)
                        reasons[kind] = reasons.get(kind, 0) + 1
    nov = novelty(valid_keys, train_keys) if train_keys is not None else float("nan")
    return {"validity": len(valid_keys) / total, "uniqueness": uniqueness(valid_keys), "novelty": nov,
            "decodes": total, "valid": len(valid_keys), "distinct_valid": len(set(valid_keys)),
            "reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1]))}


def _reason_kind(why: str) -> str:
    import re

    why = re.sub(r"\(['\w]+\)", "", why)
    why = re.sub(r"'[\w]+'", "OP", why)
    why = re.sub(r"\d+", "k", why)
    return re.sub(r"\s+", " ", why).replace(" :", ":").strip()


@torch.no_grad()
def code_scale(model, train: DagBatch, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` per latent dimension of the training graphs' mean codes (D-VAE's prior scale)."""
    model.eval()
    z = torch.cat([model.encode(train[k:k + chunk]) for k in range(0, len(train), chunk)])
    return z.mean(0).numpy(), z.std(0).numpy()


def evaluate(model, test: DagBatch, train: DagBatch | None = None, encode_times: int = 10,
             decode_times: int = 10, n_prior: int = 1000, vocab: Sequence[str] = ENAS_TYPES,
             n_layers: int | None = None, seed: int = 0) -> dict:
    """Every number of the chapter's Table 1 for one trained model.

    ``per_graph``: D-VAE's protocol (stochastic encoder and decoder), a share of decodes; ``per_graph_mean``: the
    same with the encoder's mean, as D-VAE's code runs it; ``all_exact``: share of test graphs decoded exactly in
    all their (mean-code) decodes; ``greedy``: share of test graphs decoded exactly from the mean code by the
    most likely decode; ``per_node``, ``types``, ``edges``: the
    per-node measures of the stochastic protocol; ``validity``, ``uniqueness``, ``novelty``: the
    prior experiment with ``n_prior`` points decoded ``decode_times`` times, the prior scaled to the
    codes of ``train`` as D-VAE does (novelty against ``train``); ``validity_unscaled``: the same from
    ``N(0, I)``. Without ``train`` only the unscaled prior is measured (novelty ``nan``).
    """
    stoch = reconstruction(model, test, encode_times, decode_times, stochastic_encode=True, seed=seed)
    mean = reconstruction(model, test, encode_times, decode_times, stochastic_encode=False, seed=seed)
    greedy = reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False, seed=seed)
    train_keys = batch_keys(train) if train is not None else None
    unscaled = prior_validity(model, n_prior, decode_times, train_keys=train_keys, vocab=vocab, n_layers=n_layers,
                              seed=seed)
    prior = unscaled if train is None else prior_validity(
        model, n_prior, decode_times, train_keys=train_keys, vocab=vocab, n_layers=n_layers, seed=seed,
        scale=code_scale(model, train))
    return {"per_graph": stoch["per_graph"], "per_graph_mean": mean["per_graph"], "all_exact": mean["all_exact"],
            "greedy": greedy["per_graph"], "per_node": stoch["per_node"],
            "types": stoch["types"], "edges": stoch["edges"], "validity": prior["validity"],
            "validity_unscaled": unscaled["validity"], "uniqueness": prior["uniqueness"], "novelty": prior["novelty"],
            "reasons": prior["reasons"]}


def per_node_all_cached(model, full: DagBatch, seed: int = 0) -> tuple[float, bool]:
    """The seed paper's measure, cached: the share of nodes right (type and row) over *all* graphs of
    ``full`` (training and test together), each encoded with its mean code and decoded once, most likely
    type and edge. Returns ``(share, from_cache)``."""
    config = {"weights": fingerprint(model), "data": fingerprint(full), "seed": seed}
    return cached(f"pernode-all-{model.name}-{model.latent_dim}", config, lambda: reconstruction(
        model, full, 1, 1, stochastic_encode=False, stochastic_decode=False, seed=seed)["per_node"])


def evaluate_cached(model, test: DagBatch, train: DagBatch | None = None, **kwargs) -> tuple[dict, bool]:
    """:func:`evaluate`, stored with :func:`nasvec.cache.cached` under the model's weights and the data.

    Returns ``(results, from_cache)``. The key holds a fingerprint of the weights, of the test and
    training batches, and the keyword arguments, so any change re-evaluates.
    """
    config = {"weights": fingerprint(model), "test": fingerprint(test), "measures": "all_exact, greedy",
              "train": fingerprint(train) if train is not None else None,
              "kwargs": {k: v for k, v in sorted(kwargs.items()) if k != "vocab"}}
    return cached(f"eval-{model.name}-{model.latent_dim}", config,
                  lambda: evaluate(model, test, train=train, **kwargs))
