"""Latent features for chapter 7's Bayesian optimisation: codes of chapter 2's compressors (chapter 7).

Chapter 7 ("search and evaluation strategies side by side") runs one GP-BO strategy over a finite
candidate set, on whatever feature matrix ``(N, d)`` it is given. This module provides the
features of the *latent* route: the codes of chapter 2's compressors.

* **NAS-Bench-201** (:func:`nb201_latent`) — a cell is turned into a DAG in chapter 2's convention,
  *ops as nodes* (as D-VAE and arch2vec treat NAS-Bench-201, :func:`nb201_graph`), a compressor of
  chapter 2 is trained on the graphs of ``n_train`` cells drawn with a seed (unsupervised: the
  accuracy is never read), its exact reconstruction is measured on the held-out cells, and every
  one of the 15,625 cells is encoded (the latent mean). Cached with :func:`nasvec.cache.cached`.
  The cells are enumerated here (:func:`nb201_cells`: row ``i`` is the cell whose base-5 number is
  ``i``, the row order of :class:`~nasvec.data.nb201.NB201Table`), so no data file is needed.
* **ENAS-6** (:func:`enas_pool_latent`) — the 19,020 architectures of D-VAE's file, encoded by the
  models chapter 2 trained (or shipped) for the profile, reloaded through chapter 2's own
  :class:`~nasvec.experiments.compression.CompressorSet` and
  :func:`~nasvec.experiments.compression.train_all`, so the same cached models are reused.

Every NAS-Bench-201 cell has the same DAG (8 nodes, 10 edges): only the op types differ, so the
codes carry the ops, and a per-node model's structure halves are the same for every cell (hence
``informative``). D-VAE's decoder reconstructs few cells exactly: it decides an edge ``u -> v`` from the
states of ``u`` and ``v`` only, and the three nodes that read the input (edges 0->1, 0->2, 0->3) have the
same state when they carry the same op, so it cannot tell which of them feeds node 1->2 or 2->3 (an
argmax decode can be exact for at most the 48 % of cells whose three ops differ). Its encoder still tells
all cells apart (messages carry the sender's position), which is what BO over the pool needs.
Introduced in chapter 7.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..cache import cached, fingerprint
from ..compress.base import DagBatch
from ..compress.metrics import node_hits, same_dag
from ..compress.registry import MODEL_KEYS, MODELS, CompressorConfig, train_compressor
from ..config import Config, check
from ..data.enas import ENAS_TYPES, load_enas
from ..data.nb201 import N_CELLS, NB201_EDGES, NB201_OPS
from ..errors import ConfigError, DataError
from ..graph.core import ArchGraph, Node
from .compression import CompressorSet, architectures, train_all

#: the node types of a NAS-Bench-201 cell graph, D-VAE's convention (as :data:`~nasvec.data.enas.ENAS_TYPES`):
#: 0 input, 1 output, 2 + the op id of :data:`~nasvec.data.nb201.NB201_OPS`
NB201_TYPES = ("input", "output") + NB201_OPS
#: nodes of a cell graph: the input, one per cell edge (in :data:`NB201_EDGES` order), the output
NB201_NODES = 2 + len(NB201_EDGES)


# --------------------------------------------------------------------------- cells as graphs
def _nb201_wiring() -> list[tuple[int, int]]:
    """The edges every cell graph shares: edge ``(i -> j)``'s node reads the nodes of the edges ending at ``i``
    (the input when ``i = 0``); the output reads the nodes of the edges ending at cell node 3."""
    slot = {e: k + 1 for k, e in enumerate(NB201_EDGES)}
    last = max(j for _, j in NB201_EDGES)
    wires = []
    for (i, j), k in slot.items():
        wires += [(0, k)] if i == 0 else [(slot[e], k) for e in NB201_EDGES if e[1] == i]
    wires += [(slot[e], NB201_NODES - 1) for e in NB201_EDGES if e[1] == last]
    return sorted(wires, key=lambda w: (w[1], w[0]))


NB201_WIRING = tuple(_nb201_wiring())


def nb201_graph(cell) -> ArchGraph:
    """A NAS-Bench-201 cell (6 op ids, :data:`~nasvec.data.nb201.NB201_EDGES` order) as an op-as-node DAG.

    Node 0 is the input, nodes 1..6 the cell's edges in that order, each carrying its edge's op, node 7 the
    output (:data:`NB201_WIRING`): ``[0->1, 0->2, 0->3, 1->2, 1->3, 2->3]`` become nodes 1..6; node 4 (1->2) and
    node 5 (1->3) read node 1 (0->1); node 6 (2->3) reads nodes 2 (0->2) and 4 (1->2); the output reads nodes
    3, 5 and 6. ``none`` edges stay as nodes: every cell is 8 nodes and the map is injective (the graph's
    ops in order are the cell). Raises :class:`~nasvec.errors.DataError` for anything but 6 op ids in 0..4.
    """
    ops = np.asarray(cell).reshape(-1) if not isinstance(cell, (list, tuple)) else list(cell)
    if len(ops) != len(NB201_EDGES) or not all(isinstance(o, (int, np.integer)) and 0 <= o < len(NB201_OPS)
                                                for o in ops):
        raise DataError(f"a NAS-Bench-201 cell is {len(NB201_EDGES)} op ids in 0..{len(NB201_OPS) - 1} "
                        f"({', '.join(NB201_OPS)}), got {list(ops)!r}")
    nodes = [Node("input")] + [Node(NB201_OPS[int(o)]) for o in ops] + [Node("output")]
    return ArchGraph(nodes, NB201_WIRING)


def graph_to_nb201(g: ArchGraph) -> tuple[int, ...]:
    """Inverse of :func:`nb201_graph`: the cell's op ids (a :class:`DataError` if ``g`` is not a cell graph)."""
    if len(g) != NB201_NODES or tuple(g.edges) != NB201_WIRING or g.ops[0] != "input" or g.ops[-1] != "output":
        raise DataError(f"not a NAS-Bench-201 cell graph: expected {NB201_NODES} nodes, input first, output last, "
                        f"edges {list(NB201_WIRING)}; got {g.ops} with edges {g.edges}")
    bad = [op for op in g.ops[1:-1] if op not in NB201_OPS]
    if bad:
        raise DataError(f"not a NAS-Bench-201 cell graph: op(s) {bad} not in {list(NB201_OPS)}")
    return tuple(NB201_OPS.index(op) for op in g.ops[1:-1])


def nb201_cells() -> np.ndarray:
    """All 15,625 cells ``(15625, 6)`` int8, row ``i`` the cell whose base-5 number is ``i`` (first edge most
    significant): the row order of :class:`~nasvec.data.nb201.NB201Table`, without reading the table."""
    cells = np.array(list(itertools.product(range(len(NB201_OPS)), repeat=len(NB201_EDGES))), dtype=np.int8)
    assert len(cells) == N_CELLS
    return cells


def nb201_batch(cells=None) -> DagBatch:
    """The cell graphs of ``cells`` (default: all, in table order) as one :class:`DagBatch` over :data:`NB201_TYPES`.

    Built from arrays directly (the wiring is shared); equals ``DagBatch.from_graphs([nb201_graph(c) ...])``.
    """
    cells = nb201_cells() if cells is None else np.asarray(cells)
    if cells.ndim != 2 or cells.shape[1] != len(NB201_EDGES) or cells.min(initial=0) < 0 or \
            cells.max(initial=0) >= len(NB201_OPS):
        raise DataError(f"cells must be an array (n, {len(NB201_EDGES)}) of op ids in 0..{len(NB201_OPS) - 1}, "
                        f"got shape {cells.shape}")
    n = len(cells)
    types = torch.empty(n, NB201_NODES, dtype=torch.long)
    types[:, 0] = NB201_TYPES.index("input")
    types[:, -1] = NB201_TYPES.index("output")
    types[:, 1:-1] = torch.as_tensor(cells.astype(np.int64)) + 2
    adj = torch.zeros(n, NB201_NODES, NB201_NODES)
    for s, d in NB201_WIRING:
        adj[:, s, d] = 1.0
    return DagBatch(types, adj)


# --------------------------------------------------------------------------- NAS-Bench-201 codes
@dataclass(frozen=True)
class NB201LatentConfig(Config):
    """One compressor of chapter 2 trained on NAS-Bench-201 cell graphs, and its training (introduced in chapter 7).

    ``compressor``: the chapter-2 :class:`~nasvec.compress.registry.CompressorConfig` (chapter 7 uses ``dvae``
    and ``pernode``; ``pernode``'s ``latent_dim`` is per node, split 2 : 1 between structure and type, so a
    cell's code is 8 times it); its training's ``seed`` also draws the ``n_train`` training cells (the rest
    are held out for the reconstruction); ``eval_max``: held-out cells the reconstruction is measured on (a
    seeded subset; None: all).
    """

    compressor: CompressorConfig = field(default_factory=lambda: CompressorConfig("dvae", latent_dim=16))
    n_train: int = 2000
    eval_max: int | None = None

    def __post_init__(self):
        check(isinstance(self.compressor, CompressorConfig) and self.compressor.model in MODEL_KEYS,
              f"nb201_latent: compressor must be a CompressorConfig of a model in {', '.join(MODEL_KEYS)}, "
              f"got {self.compressor!r}")
        check(self.compressor.checkpoint is None, "nb201_latent: the compressor is trained on NAS-Bench-201 cells; "
                                                  "a shipped checkpoint (of ENAS graphs) cannot be used")
        check(isinstance(self.n_train, int) and 1 <= self.n_train < N_CELLS,
              f"nb201_latent: n_train must be an int in 1..{N_CELLS - 1} (the rest are held out), got {self.n_train!r}")
        check(self.eval_max is None or (isinstance(self.eval_max, int) and self.eval_max >= 1),
              f"nb201_latent: eval_max must be None or a positive int, got {self.eval_max!r}")

    @property
    def seed(self) -> int:
        """The draw of the training cells, the weights and the shuffling: the compressor's training seed."""
        return self.compressor.training.seed


def nb201_split(n_train: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)``: row numbers of the cells, ``n_train`` drawn with ``seed``, both sorted."""
    perm = np.random.default_rng(seed).permutation(N_CELLS)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


@torch.no_grad()
def encode_means(model, batch: DagBatch, chunk: int = 4096) -> np.ndarray:
    """Latent means ``(len(batch), latent)`` float32, encoded ``chunk`` graphs at a time."""
    model.eval()
    return np.concatenate([model.encode(batch[k:k + chunk], stochastic=False).float().numpy()
                           for k in range(0, len(batch), chunk)]).astype(np.float32)


@torch.no_grad()
def nb201_reconstruction(model, batch: DagBatch, chunk: int = 4096) -> dict:
    """Held-out reconstruction of cell graphs: mean code, argmax decode (D-VAE's test-time encoding).

    ``exact``: % of graphs decoded as the same DAG (:func:`~nasvec.compress.metrics.same_dag`: types in order
    and edges); ``ops``: % whose decoded node types are all right (the wiring is the same for every cell, so
    the ops name the cell, whatever the decoded edges); ``per_node``: % of nodes with the right type and
    adjacency row (the seed paper's unit).
    """
    exact = ops = nodes = 0
    for k in range(0, len(batch), chunk):
        part = batch[k:k + chunk]
        dec = model.decode(model.encode(part, stochastic=False), stochastic=False)
        exact += int(same_dag(part, dec).sum())
        ops += int((dec.types == part.types).all(1).sum())
        nodes += int(node_hits(part, dec).sum())
    n = max(len(batch), 1)
    return {"exact": 100 * exact / n, "ops": 100 * ops / n, "per_node": 100 * nodes / (n * NB201_NODES)}


def informative_columns(codes: np.ndarray, rel: float = 1e-3) -> np.ndarray:
    """Boolean mask of the code columns that vary across the rows: standard deviation above ``rel`` times the
    largest column's. A per-node model's structure columns are the same for every NAS-Bench-201 cell up to
    float rounding (the wiring is shared); a GP with one length scale per column should not see them."""
    sd = np.asarray(codes, dtype=np.float64).std(0)
    return sd > rel * max(float(sd.max(initial=0.0)), 1e-12)


def _nb201_compute(cfg: NB201LatentConfig, progress: bool) -> dict:
    full = nb201_batch()
    train_idx, test_idx = nb201_split(cfg.n_train, cfg.seed)
    t0 = time.perf_counter()
    model, history, loaded = train_compressor(cfg.compressor, full[torch.as_tensor(train_idx)], NB201_TYPES,
                                              progress=progress)
    wall = time.perf_counter() - t0
    held = test_idx
    if cfg.eval_max is not None and cfg.eval_max < len(held):
        held = np.sort(np.random.default_rng(cfg.seed + 1).choice(held, cfg.eval_max, replace=False))
    t1 = time.perf_counter()
    rec = nb201_reconstruction(model, full[torch.as_tensor(held)])
    rec_train = nb201_reconstruction(model, full[torch.as_tensor(train_idx)])
    codes = encode_means(model, full)
    return {"codes": codes, "informative": informative_columns(codes), "reconstruction": rec["exact"], "reconstruction_ops": rec["ops"],
            "reconstruction_per_node": rec["per_node"], "reconstruction_train": rec_train["exact"],
            "held_out": len(held), "train_idx": train_idx, "history": history,
            "seconds": sum(r["seconds"] for r in history), "wall_seconds": wall,
            "eval_seconds": time.perf_counter() - t1, "epochs_loaded": loaded, "model": model.name,
            "code_size": model.latent_dim, "config": cfg.describe()}


def nb201_latent(cfg: NB201LatentConfig, progress: bool = False) -> dict:
    """Chapter 2's compressor ``cfg.compressor`` trained on NAS-Bench-201 cell graphs; the codes of all cells.

    Unsupervised: the accuracy is never read. Returns a dict with ``codes`` ``(15625, d)`` float32, the
    latent means of all cells in :class:`~nasvec.data.nb201.NB201Table` row order; ``reconstruction``: %
    of held-out cells decoded exactly (mean code, argmax decode; :func:`nb201_reconstruction`), beside
    ``reconstruction_ops`` (all ops right), ``reconstruction_per_node`` and ``reconstruction_train`` (exact,
    on the training cells); ``informative``: the columns that vary (:func:`informative_columns`); ``seconds``:
    the training's seconds (as recorded when it ran; ``wall_seconds`` and ``eval_seconds`` too);
    ``history``, ``train_idx``, ``held_out``, ``model``, ``code_size``, ``config``, and ``from_cache``.
    The model is trained and cached in chunks by :func:`~nasvec.compress.registry.train_compressor`; the
    result by :func:`nasvec.cache.cached` (key: the config, the model's source and the cell graphs).
    Introduced in chapter 7.
    """
    if not isinstance(cfg, NB201LatentConfig):
        cfg = NB201LatentConfig.from_dict(cfg)
    cls = MODELS[cfg.compressor.model]
    cls_source = fingerprint(cls, *getattr(cls, "source_modules", ()))
    key = {"config": cfg, "source": cls_source, "graphs": fingerprint(nb201_batch()), "vocab": list(NB201_TYPES)}
    out, hit = cached(f"nb201-latent-{cfg.compressor.model}", key, lambda: _nb201_compute(cfg, progress))
    return {**out, "from_cache": hit}


# --------------------------------------------------------------------------- ENAS-6 pool codes
def enas_pool_latent(spec: dict, model: str, seed: int | None = None, progress: bool = False) -> dict:
    """The 19,020 ENAS-6 architectures of D-VAE's file, encoded by chapter 2's compressor ``model``.

    ``spec``: the profile's ``shared: compressors`` mapping, read by chapter 2's
    :class:`~nasvec.experiments.compression.CompressorSet`; the model is obtained through chapter 2's
    :func:`~nasvec.experiments.compression.train_all` on chapter 2's training split, so the model chapter 2
    trained (cached) or shipped (``checkpoint:``) is reloaded, not retrained (a ``seed`` chapter 2 did not
    train is trained and cached the same way; None: the config's own seed). Where the profile's chapter 2
    learns on *generated* architectures (``real_data: false``, the quick profile), that model still encodes
    the *real* pool: the codes come from a compressor that never saw the file's graphs (the pool needs
    ``$NASVEC_DATA``). Returns ``codes`` ``(19020, d)`` float32 (latent means, file order after D-VAE's
    burn-in), ``accuracy`` ``(19020,)`` (the file's weight-sharing accuracy), ``model`` (its name),
    ``origin`` (``"this run"``, ``"cache"``, ``"shipped"``), ``trained_on`` (real or generated),
    ``epochs`` and ``config`` (its provenance line). Introduced in chapter 7.
    """
    compressor_set = CompressorSet.from_dict(spec)
    configs, data_spec = compressor_set.configs(), compressor_set.data.as_dict()
    if model not in configs:
        raise ConfigError(f"enas_pool_latent: the profile's compressors do not include {model!r}; "
                        f"they are: {', '.join(configs)}")
    arch = architectures(**data_spec)
    seeds = None if seed is None or configs[model].checkpoint else [int(seed)]
    trained = train_all(configs, arch.train, seeds, keys=[model], progress=progress)[model][0]
    enas = load_enas()
    pool = DagBatch.from_graphs(enas.graphs, ENAS_TYPES)
    key = {"weights": fingerprint(trained.model), "class": fingerprint(type(trained.model)), "pool": fingerprint(pool)}
    codes, _ = cached(f"enas-pool-latent-{model}", key, lambda: encode_means(trained.model, pool))
    return {"codes": codes, "accuracy": np.asarray(enas.accuracy, dtype=np.float64), "model": trained.model.name,
            "origin": trained.origin, "trained_on": "ENAS file" if data_spec["real_data"] else
            f"{data_spec['n_generated']} generated architectures", "epochs": len(trained.history),
            "config": trained.config.describe()}
