"""Chapter 2 ("Compressing architecture graphs", ``notebooks/compression.ipynb``): its runs and Table 1.

The chapter's compressors are set once per profile, under ``shared: compressors:`` (see
:class:`CompressorSet`); chapter 3 reloads the same trained models through the same functions.
What the latent spaces are good for (GP, BO, latent sizes, equal budgets) is in
:mod:`nasvec.experiments.compression_uses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch

from ..compress import metrics
from ..compress import latent as latent_space
from ..compress.base import Compressor, DagBatch
from ..compress.registry import MODEL_KEYS, MODELS, CompressorConfig, train_compressor
from ..compress.shipped import load_shipped
from ..data.enas import ENAS_TYPES, enas_split
from ..config import Config, check
from ..errors import ConfigError
from ..parallel import pmap

#: published reconstruction / validity / uniqueness % and sparse-GP RMSE / Pearson r on ENAS-6: D-VAE's paper
#: (Zhang et al., 2019, Tables 1 and 2), restated with DVAE-EMB's own row by Chatzianastasis et al. (2021)
PUBLISHED = pd.DataFrame(
    [("D-VAE", 99.96, 100.0, 37.26, 0.384, 0.920), ("S-VAE", 99.98, 100.0, 37.03, 0.478, 0.873),
     ("GraphRNN", 99.85, 99.84, 29.77, 0.726, 0.669), ("GCN", 98.70, 99.53, 34.00, 0.485, 0.870),
     ("DVAE-EMB", 99.99, 100.0, 39.15, 0.371, 0.925)],
    columns=["model", "reconstruction %", "validity %", "uniqueness %", "GP RMSE", "GP Pearson r"])
#: the seed paper's Table 1 (accuracy %, validity %): D-VAE's and DVAE-EMB's rows are their papers' numbers;
#: the proposed model's 99.99 counts nodes on training and test graphs together
SEED_TABLE1 = {"dvae": (99.96, 100.0), "dvae_emb": (99.99, 100.0), "pernode": (99.99, 100.0)}
#: our model key -> its row of :data:`PUBLISHED`
PUBLISHED_NAME = {"dvae": "D-VAE", "dvae_emb": "DVAE-EMB"}


# --------------------------------------------------------------------------- set-up and training
@dataclass(frozen=True)
class ArchitecturesConfig(Config):
    """Chapter 2's architectures (:func:`architectures`): D-VAE's file (``real_data``) or ``n_generated``
    generated ones, split with ``seed``."""

    real_data: bool = False
    n_generated: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class CompressorSet(Config):
    """Chapter 2's compressors as a profile sets them once (``shared: compressors:``; chapters 3 and 7 reload them).

    ``data``: the architectures they learn (:class:`ArchitecturesConfig`); ``defaults``: the
    :class:`~nasvec.compress.registry.CompressorConfig` settings every model starts from (e.g. ``training``,
    ``chunk``); ``models``: per model key, that model's own settings over the defaults (``latent_dim``,
    ``kwargs``, ``training``, ``chunk``, or ``checkpoint``: the folder of a shipped, converged model under
    ``checkpoints/compression/``); ``seeds``: every trained model is trained once per seed (default: the
    defaults' training seed). An unknown setting is an error naming it (and the model).
    """

    data: ArchitecturesConfig = field(default_factory=ArchitecturesConfig)
    defaults: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    seeds: tuple | None = None

    def __post_init__(self):
        if self.seeds is not None:
            object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
            check(len(self.seeds) > 0, "compressors: seeds must list at least one seed")
        self.configs()   # every model's settings are checked now, not when the first model trains

    def config(self, key: str) -> CompressorConfig:
        """Model ``key``'s config: the defaults, then its own settings (a mapping for ``training`` merges)."""
        try:
            return CompressorConfig.from_dict(self.defaults, model=key).replace(**(self.models.get(key) or {}))
        except ConfigError as err:
            raise ConfigError(f"compressors: model {key!r}: {err}") from None

    def configs(self) -> dict[str, CompressorConfig]:
        """``{key: CompressorConfig}`` of every model, in the profile's order."""
        return {key: self.config(key) for key in self.models}

    def seed_list(self) -> list[int]:
        return list(self.seeds) if self.seeds is not None else [self.config(MODEL_KEYS[0]).training.seed]


@dataclass
class Architectures:
    """Chapter 2's architectures: all graphs as one batch, the split, and the quantity to predict."""

    graphs: list
    objective: np.ndarray
    objective_name: str
    train_idx: np.ndarray
    test_idx: np.ndarray
    full: DagBatch

    @property
    def train(self) -> DagBatch:
        return self.full[torch.as_tensor(self.train_idx)]

    @property
    def test(self) -> DagBatch:
        return self.full[torch.as_tensor(self.test_idx)]


def architectures(real_data: bool, n_generated: int = 1000, seed: int = 0) -> Architectures:
    """D-VAE's file with D-VAE's split and its accuracy column (``real_data``), or generated graphs with
    the synthetic score (:func:`nasvec.compress.latent.synthetic_score`)."""
    graphs, objective, train_idx, test_idx = enas_split(real_data, n_generated, seed=seed)
    if real_data:
        name = "weight-sharing accuracy (ENAS file)"
    else:
        objective = np.array([latent_space.synthetic_score(g) for g in graphs])
        name = "synthetic score (quick profile)"
    return Architectures(graphs, objective, name, train_idx, test_idx, DagBatch.from_graphs(graphs, ENAS_TYPES))


@dataclass
class Trained:
    """One trained compressor: the model, its per-epoch history, the config it was trained with, and where it
    came from (``"this run"``, ``"cache"`` or ``"shipped"``: a converged checkpoint of the book)."""

    key: str
    model: Compressor
    history: list
    config: CompressorConfig
    origin: str
    epochs_loaded: int = 0
    provenance: dict = field(default_factory=dict)


def _train_task(job, train: DagBatch, progress: bool, threads: int):
    """One compressor training (cached): a task of :func:`nasvec.parallel.pmap`."""
    torch.set_num_threads(threads)
    return train_compressor(job, train, ENAS_TYPES, progress=progress)


def train_all(configs: dict, train: DagBatch, seeds=None, keys=None, progress: bool = True,
              threads: int | None = None) -> dict[str, list[Trained]]:
    """``{key: [Trained, one per seed]}`` for the configs of ``keys`` (all); ``seeds`` None: each config's own.

    A config with a ``checkpoint`` loads that shipped model (one, whatever the seeds) with
    :func:`nasvec.compress.shipped.load_shipped`; the others train (cached) with
    :func:`nasvec.compress.registry.train_compressor`, one task of :func:`nasvec.parallel.pmap` per config and
    seed (serial, or on Ray), each on ``threads`` torch threads (default: the current number).
    """
    threads = threads or torch.get_num_threads()
    out, jobs = {}, []
    for key in (keys if keys is not None else configs):
        cfg = configs[key]
        if cfg.checkpoint:
            model, shipped_cfg, prov = load_shipped(cfg.checkpoint, train, ENAS_TYPES)
            used = shipped_cfg.replace(checkpoint=cfg.checkpoint, training={"epochs": prov["epochs"]})
            out[key] = [Trained(key, model, prov["history"], used, "shipped", len(prov["history"]), prov)]
            continue
        out[key] = []
        own = seeds if seeds is not None else [cfg.training.seed]
        jobs += [(key, cfg.replace(training={"seed": int(s)})) for s in own]
    fn = partial(_train_task, train=train, progress=progress, threads=threads)
    for (key, c), (model, hist, loaded) in zip(jobs, pmap(fn, [c for _, c in jobs], desc="compressor trainings",
                                                          progress=False, cpus_per_task=threads)):
        out[key].append(Trained(key, model, hist, c, "cache" if loaded == len(hist) else "this run", loaded))
    return out


def code_size(model) -> str:
    """How big a graph's code is, in the model's own terms (``4 + 2 per node (48 per graph)``)."""
    if hasattr(model, "node_dim"):
        return f"{model.structure_dim} + {model.type_dim} per node ({model.latent_dim} per graph)"
    if hasattr(model, "structure_dim"):
        return f"{model.structure_dim} + {model.type_dim} per graph"
    return f"{model.latent_dim} per graph"


def _hidden(model) -> str:
    hidden = getattr(model, "hidden", "")
    return "-".join(map(str, hidden)) if isinstance(hidden, (list, tuple)) else str(hidden)


# --------------------------------------------------------------------------- Table 1
def evaluate_all(trained: dict, arch: Architectures, encode_times=10, decode_times=10, n_prior=1000, seed=0) -> pd.DataFrame:
    """Every run of every model through D-VAE's protocol (:func:`nasvec.compress.metrics.evaluate`, cached),
    plus the seed's measure: per node, mean code, on all graphs (training and test). One row per run."""
    rows = []
    for key, runs in trained.items():
        for t in runs:
            res, hit = metrics.evaluate_cached(t.model, arch.test, arch.train, encode_times=encode_times,
                                               decode_times=decode_times, n_prior=n_prior, seed=seed)
            seeds_measure, _ = metrics.per_node_all_cached(t.model, arch.full, seed=seed)
            rows.append({"key": key, "model": t.model.name, "seed": t.config.training.seed, "origin": t.origin,
                         "epochs": len(t.history), "evaluation from cache": hit, **res,
                         "per_node_all": seeds_measure})
    return pd.DataFrame(rows)


def table1(trained: dict, evals: pd.DataFrame) -> pd.DataFrame:
    """Table 1: per model, the mean over its runs (and the standard deviation of the per-graph accuracy),
    beside the published numbers (D-VAE's paper) and the seed paper's own Table 1. ``origin`` is
    ``shipped`` or ``trained`` (whether by this run or its cache: the ``_timing`` table says)."""
    rows = []
    published = PUBLISHED.set_index("model")
    for key, runs in trained.items():
        e = evals[evals.key == key]
        m = runs[0].model
        pub = published.loc[PUBLISHED_NAME[key]] if key in PUBLISHED_NAME else None
        rows.append({
            "model": m.name, "code": code_size(m), "hidden": _hidden(m), "epochs": len(runs[0].history),
            "runs": len(runs), "origin": "shipped" if runs[0].origin == "shipped" else "trained",
            "exact decodes %": 100 * e.per_graph.mean(), "exact decodes sd": 100 * e.per_graph.std() if len(e) > 1 else np.nan,
            "exact decodes, mean code %": 100 * e.per_graph_mean.mean(),
            "graphs exact in all decodes %": 100 * e.all_exact.mean(), "graphs exact, greedy %": 100 * e.greedy.mean(),
            "per node %": 100 * e.per_node.mean(),
            "per node, all graphs %": 100 * e.per_node_all.mean(),
            "validity %": 100 * e.validity.mean(), "validity N(0, I) %": 100 * e.validity_unscaled.mean(),
            "uniqueness %": 100 * e.uniqueness.mean(), "novelty %": 100 * e.novelty.mean(),
            "published reconstruction %": pub["reconstruction %"] if pub is not None else np.nan,
            "published validity %": pub["validity %"] if pub is not None else np.nan,
            "published uniqueness %": pub["uniqueness %"] if pub is not None else np.nan,
            "seed paper's Table 1 %": SEED_TABLE1.get(key, (np.nan,))[0]})
    return pd.DataFrame(rows)


def provenance(trained: dict, evals: pd.DataFrame) -> pd.DataFrame:
    """Where each run came from and what it cost (a ``_timing`` table: wall-clock seconds)."""
    rows = []
    for key, runs in trained.items():
        for t in runs:
            hist = t.history
            rows.append({"model": t.model.name, "seed": t.config.training.seed, "origin": t.origin, "epochs": len(hist),
                         "epochs from cache": t.epochs_loaded if t.origin != "shipped" else len(hist),
                         "training seconds": sum(r["seconds"] for r in hist),
                         "seconds per epoch (median)": float(np.median([r["seconds"] for r in hist])) if hist else np.nan,
                         "config": t.config.describe(), "command": t.provenance.get("command", ""),
                         "weights MB": t.provenance.get("weights_bytes", np.nan) / 1e6 if t.provenance else np.nan})
    return pd.DataFrame(rows)


def published_table() -> pd.DataFrame:
    """The published ENAS-6 numbers (D-VAE's paper; DVAE-EMB's), with a note on novelty."""
    df = PUBLISHED.copy()
    df["novelty %"] = np.nan
    df["source"] = ["D-VAE paper"] * 4 + ["DVAE-EMB paper"]
    return df


def invalid_reasons(evals: pd.DataFrame) -> pd.DataFrame:
    """Per model, how often each kind of invalid prior decode occurred (summed over its runs)."""
    per_model: dict = {}
    for _, r in evals.iterrows():
        acc = per_model.setdefault(r["model"], {})
        for k, v in r["reasons"].items():
            acc[k] = acc.get(k, 0) + v
    why = pd.DataFrame(per_model).fillna(0).astype(int)
    why.index.name = "problem"
    return why.reset_index()


def shipped_curves(trained: dict) -> pd.DataFrame:
    """The evaluations recorded while the shipped models converged: ``model, epoch, split, per_graph, per_node,
    per_graph_argmax`` (``split``: validation, or test for a model shipped before ``nasvec converge`` carved one)."""
    cols = ["model", "epoch", "split", "per_graph", "per_node", "per_graph_argmax"]
    rows = [{"model": t.model.name, "split": e.get("split", "test"),
             **{k: e[k] for k in ("epoch", "per_graph", "per_node", "per_graph_argmax")}}
            for runs in trained.values() for t in runs if t.origin == "shipped" for e in t.provenance["evals"]]
    return pd.DataFrame(rows, columns=cols)


#: D-VAE's own settings (its paper and code), against which a shipped model's deviations are stated
DVAE_SETTINGS = {"hidden": 501, "lr": 1e-4, "batch_size": 32, "beta": 0.005, "latent_dim": 56, "epochs": 300}


def shipped_note(trained: dict) -> str:
    """Markdown: how each shipped model was trained, and where that deviates from D-VAE's settings."""
    lines = []
    for runs in trained.values():
        t = runs[0]
        if t.origin != "shipped":
            continue
        p, c, tr = t.provenance, t.config, t.config.training
        used = {"hidden": c.kwargs.get("hidden", 501), "lr": tr.lr, "batch_size": tr.batch_size, "beta": tr.beta,
                "latent_dim": c.latent_dim, "epochs": p["epochs"]}
        dev = [f"{k.replace('_', ' ')} {v:g} (D-VAE: {DVAE_SETTINGS[k]:g})" for k, v in used.items() if v != DVAE_SETTINGS[k]]
        final_lr = p["history"][-1].get("lr", tr.lr) if p.get("history") else tr.lr
        if final_lr != tr.lr:
            dev.append(f"D-VAE's plateau schedule took the learning rate from {tr.lr:g} to {final_lr:g}")
        lines.append(f"* **{t.model.name}**: shipped in `checkpoints/compression/{c.checkpoint}/` "
                     f"({p['weights_bytes'] / 1e6:.1f} MB, half precision), trained by `{p['command']}` for "
                     f"{p['epochs']} epochs in {p['seconds'] / 3600:.2f} h on {p['machine']['cpu_count']} CPU core(s) "
                     f"({p['machine']['threads']} torch thread(s)); stopped because "
                     + (f"the {_stop_split(p)} reconstruction no longer gained" if p["stopped"] == "no gain"
                        else "it reached max_epochs")
                     + ". Deviations from D-VAE's settings: " + ("; ".join(dev) or "none") + ".")
    return "\n".join(lines)


def _stop_split(prov: dict) -> str:
    """Which split decided when a shipped model stopped, in words."""
    v = prov.get("validation")
    if v:
        return (f"validation split's ({v['n_validation']:,} graphs carved from the training split, seed {v['seed']}; "
                f"the test split unseen)")
    return "test split's (a model shipped before the validation split: the test split decided when it stopped)"


def model_names(keys) -> dict:
    return {k: MODELS[k].name for k in keys}
