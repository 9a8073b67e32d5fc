"""Every compressor of chapter 2 by name, its config, and its cached training.

:class:`CompressorConfig` is one model's settings — which model, its latent size and constructor
arguments, and how it is trained. A profile sets it once (``shared: compressors:`` in
``profiles/<name>.yml``); chapter 2 trains with it and chapter 3 reloads the same models from the
cache with the same config. :func:`train_compressor` builds and trains one (cached in chunks).
Introduced in chapter 2 ("Compressing architecture graphs").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..cache import fingerprint
from ..config import Config, check
from ..errors import CompressError
from .base import Compressor, DagBatch, VAETraining, fit_compressor_cached
from .dvae import DVAE, DVAEEMB
from .pernode import PerNodeVAE
from .setvec import GraphAE, GraphVAE, Seq2SeqVAE, SplitVAE, split_latent

#: model key -> class, in the order of the chapter's Table 1
MODELS = {"ae": GraphAE, "vae": GraphVAE, "seq2seq": Seq2SeqVAE, "split": SplitVAE, "pernode": PerNodeVAE, "dvae": DVAE,
          "dvae_emb": DVAEEMB}
MODEL_KEYS = tuple(MODELS)


def available_models() -> list[str]:
    """Keys of the compressors that can be built (all of :data:`MODEL_KEYS`)."""
    return list(MODEL_KEYS)


def make_compressor(key: str, vocab, max_nodes: int, latent_dim: int | None = None, seed: int = 0, **kwargs) -> Compressor:
    """Build a compressor of chapter 2 by key (``ae``, ``vae``, ``seq2seq``, ``split``, ``pernode``, ``dvae``,
    ``dvae_emb``).

    Weights are initialised from ``seed``. For ``split`` (a graph's code) and ``pernode`` (each node's
    code), ``latent_dim`` is divided by :func:`~nasvec.compress.setvec.split_latent` (6 -> 4 + 2) unless
    ``structure_dim``/``type_dim`` are given; a ``pernode`` graph's code is ``max_nodes`` times that.
    """
    if key not in MODELS:
        raise CompressError(f"unknown compressor {key!r}; known: {', '.join(MODEL_KEYS)}")
    cls = MODELS[key]
    if key in ("split", "pernode") and latent_dim is not None and "structure_dim" not in kwargs:
        kwargs["structure_dim"], kwargs["type_dim"] = split_latent(latent_dim)
        latent_dim = None
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if latent_dim is None:
            return cls(vocab, max_nodes, **kwargs)
        return cls(vocab, max_nodes, latent_dim, **kwargs)


@dataclass(frozen=True)
class CompressorConfig(Config):
    """One compressor of chapter 2 and its training: constructor arguments, cache key, provenance.

    ``model``: a key of :data:`MODELS`; ``latent_dim``: the code size (``pernode``: of one node; ``split``
    and ``pernode``: divided 2 : 1 between structure and op types); ``kwargs``: further constructor arguments
    (e.g. ``{"hidden": 501}``); ``training``: the :class:`~nasvec.compress.base.VAETraining` (epochs, Adam's
    ``lr``, ``batch_size``, KL weight ``beta``, ``seed`` of the weights and the shuffling); ``chunk``: epochs per
    cached checkpoint (a longer run resumes from the last one); ``checkpoint``: instead of training, load the
    converged model shipped in that folder of ``checkpoints/compression/``
    (:func:`nasvec.compress.shipped.load_shipped`).
    """

    model: str
    latent_dim: int | None = None
    kwargs: dict = field(default_factory=dict)
    training: VAETraining = field(default_factory=VAETraining)
    chunk: int | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check(self.model in MODELS, f"compressor: unknown model {self.model!r}; known: {', '.join(MODEL_KEYS)}")
        check(isinstance(self.training, VAETraining), f"compressor {self.model}: training must be a VAETraining or a "
                                                      f"mapping of its settings, got {self.training!r}")

    def build(self, vocab, max_nodes: int) -> Compressor:
        """The untrained model (weights from the training's ``seed``)."""
        return make_compressor(self.model, vocab, max_nodes, self.latent_dim, seed=self.training.seed,
                               **dict(self.kwargs))

    def describe(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in sorted(self.kwargs.items()))
        shipped = f" (shipped: checkpoints/compression/{self.checkpoint})" if self.checkpoint else ""
        tr = self.training
        return (f"{self.model}: latent {self.latent_dim}{', ' + extra if extra else ''}; {tr.epochs} epochs, "
                f"Adam lr {tr.lr:g}, batch {tr.batch_size}, beta {tr.beta:g}, seed {tr.seed}{shipped}")


def train_compressor(cfg: CompressorConfig, data: DagBatch, vocab, progress: bool = True):
    """Build ``cfg``'s compressor and train it on ``data`` (node types are ids into ``vocab``) with
    :func:`~nasvec.compress.base.fit_compressor_cached`.

    The cache key holds the config (model, latent size, arguments, training settings), the source
    code of the model's class and of the modules it computes with (``source_modules``), the data and
    the vocabulary (:func:`nasvec.cache.fingerprint`), so a re-run loads the checkpoint and any
    change retrains. Returns ``(model, history, epochs_loaded)``, the shape of every compressor trainer
    (:func:`~nasvec.compress.attributed.train_attributed`, :func:`~nasvec.compress.pernode_attr.train_pernode_attr`).
    """
    if not isinstance(cfg, CompressorConfig):
        raise CompressError(f"train_compressor: expected a CompressorConfig, got {type(cfg).__name__}")
    model = cfg.build(vocab, data.types.shape[1])
    source = fingerprint(type(model), *getattr(type(model), "source_modules", ()))
    config = {"model": cfg.model, "class": type(model).__qualname__, "source": source,
              "latent_dim": model.latent_dim, "kwargs": dict(cfg.kwargs), "data": fingerprint(data),
              "vocab": list(vocab)}
    tr = cfg.training
    history, loaded = fit_compressor_cached(model, data, tr.epochs, name=f"compress-{cfg.model}-{model.latent_dim}",
                                            config=config, chunk=cfg.chunk, batch_size=tr.batch_size, lr=tr.lr,
                                            beta=tr.beta, seed=tr.seed, progress=progress)
    return model, history, loaded
