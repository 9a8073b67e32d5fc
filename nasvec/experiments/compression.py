"""Chapter 2 ("Compressing architecture graphs", ``notebooks/compression.ipynb``): its runs and tables.

The chapter's compressors are set once per profile, under ``shared: compressors:`` (see
:func:`compressor_setup`); chapter 3 reloads the same trained models through the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..compress import latent as latent_space
from ..compress import metrics
from ..compress.base import DagBatch
from ..compress.registry import CompressorConfig, train_compressor
from ..data.enas import ENAS_TYPES, enas_split
from ..errors import ConfigError

#: the seed paper's Table 1: reconstruction accuracy % and validity % (D-VAE's, DVAE-EMB's, its proposal's)
PAPER_TABLE1 = {"dvae": (99.96, 100.0), "dvae_emb": (99.99, 100.0), "split": (99.99, 100.0)}


def compressor_setup(spec: dict) -> tuple[dict, dict[str, CompressorConfig]]:
    """A profile's ``compressors`` mapping -> ``(data, {key: CompressorConfig})``.

    ``spec`` has ``data`` (``real_data``, ``n_generated``, ``seed``: the architectures and their
    split), ``training`` (settings every model shares) and ``models`` (per model key, its own
    settings: ``latent_dim``, ``epochs``, ``lr``, ``kwargs``...). An unknown key is an error naming it.
    """
    data = {"real_data": False, "n_generated": 1000, "seed": 0, **spec.get("data", {})}
    unknown = sorted(set(spec) - {"data", "training", "models"})
    if unknown:
        raise ConfigError(f"compressors: unknown key(s) {unknown}; expected data, training, models")
    training = dict(spec.get("training", {}))
    configs = {key: CompressorConfig.from_dict({**training, **(m or {})}, model=key) for key, m in spec["models"].items()}
    return data, configs


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


def train_all(configs: dict, train: DagBatch, keys=None, progress: bool = True) -> dict:
    """``{key: (model, history, epochs loaded from the cache)}`` for the configs of ``keys`` (all)."""
    return {key: train_compressor(configs[key], train, ENAS_TYPES, progress=progress)
            for key in (keys if keys is not None else configs)}


def _hidden(model) -> str:
    hidden = getattr(model, "hidden", "")
    return "-".join(map(str, hidden)) if isinstance(hidden, (list, tuple)) else str(hidden)


def table1(trained: dict, configs: dict, test: DagBatch, train_keys, encode_times=10, decode_times=10,
           n_prior=1000, seed=0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Table 1 (D-VAE's protocol, :func:`nasvec.compress.metrics.evaluate`, cached) beside the paper's
    numbers; the provenance of every model (a ``_timing`` table); why prior decodes are invalid."""
    rows, provenance, reasons = [], [], {}
    for key, (model, hist, loaded) in trained.items():
        res, cached_eval = metrics.evaluate_cached(model, test, train_keys, encode_times=encode_times,
                                                   decode_times=decode_times, n_prior=n_prior, seed=seed)
        size = f"{model.structure_dim} + {model.type_dim}" if key == "split" else str(model.latent_dim)
        paper = PAPER_TABLE1.get(key, (np.nan, np.nan))
        rows.append({"model": model.name, "latent": size, "hidden": _hidden(model), "epochs": len(hist),
                     "lr": f"{configs[key].lr:g}", "per graph %": 100 * res["per_graph"],
                     "per graph, mean code %": 100 * res["per_graph_mean"], "per node %": 100 * res["per_node"],
                     "validity %": 100 * res["validity"], "uniqueness %": 100 * res["uniqueness"],
                     "novelty %": 100 * res["novelty"], "paper accuracy %": paper[0], "paper validity %": paper[1]})
        provenance.append({"model": model.name, "epochs": len(hist), "epochs from cache": loaded,
                           "evaluation from cache": cached_eval,
                           "seconds per epoch (median)": float(np.median([r["seconds"] for r in hist])) if hist else np.nan,
                           "training seconds": sum(r["seconds"] for r in hist), "config": configs[key].describe()})
        reasons[model.name] = res["reasons"]
    return pd.DataFrame(rows), pd.DataFrame(provenance), reasons


def invalid_reasons(reasons: dict) -> pd.DataFrame:
    """Per model, how often each kind of invalid prior decode occurred (the first problem found)."""
    why = pd.DataFrame(reasons).fillna(0).astype(int)
    why.index.name = "problem"
    return why.reset_index()


def capacity_check(train: DagBatch, capacity: dict, configs: dict) -> pd.DataFrame:
    """D-VAE's learning check: trained on ``capacity["graphs"]`` training graphs for ``capacity["epochs"]``
    epochs (lr 1e-3, latent 56, the batch size, KL weight and seed of the chapter's D-VAE, or of its
    first model when it has none) at each hidden size of ``capacity["hidden"]``, asked to reconstruct
    those graphs (mean code, one decode each)."""
    first = next(iter(configs.values()))
    dvae = configs.get("dvae") or CompressorConfig("dvae", batch_size=first.batch_size, beta=first.beta, seed=first.seed)
    small = train[: capacity["graphs"]]
    rows = []
    for hidden in capacity["hidden"]:
        cfg = dvae.replace(latent_dim=56, kwargs={"hidden": hidden}, epochs=capacity["epochs"], lr=1e-3,
                           chunk=capacity["epochs"])
        model, hist, _ = train_compressor(cfg, small, ENAS_TYPES, progress=False)
        r = metrics.reconstruction(model, small, 1, 1, stochastic_encode=False, seed=dvae.seed)
        rows.append({"hidden": hidden, "graphs": len(small), "epochs": len(hist), "loss, first epoch": hist[0]["recon"],
                     "loss, last epoch": hist[-1]["recon"], "per graph %": 100 * r["per_graph"],
                     "per node %": 100 * r["per_node"]})
    return pd.DataFrame(rows)


def latent_sweep(sweep: dict, configs: dict, train: DagBatch, test: DagBatch, encode_times: int = 10,
                 decode_times: int = 10, seed: int = 0) -> pd.DataFrame:
    """Per-graph and per-node reconstruction (D-VAE's protocol) against latent size: each model of
    ``sweep`` (key -> sizes) trained again at every size with its Table 1 settings (cached).

    Columns ``model``, ``latent_dim``, ``epochs``, ``per_graph``, ``per_graph_mean``, ``per_node``,
    ``epochs_loaded`` (how many epochs came from the cache) and ``seconds``.
    """
    missing = sorted(set(sweep) - set(configs))
    if missing:
        raise ConfigError(f"latent sweep: {missing} have no entry in the compressors' models ({sorted(configs)})")
    rows = []
    for key, dims in sweep.items():
        for d in dims:
            model, hist, loaded = train_compressor(configs[key].replace(latent_dim=d), train, ENAS_TYPES, progress=False)
            stoch = metrics.reconstruction(model, test, encode_times, decode_times, stochastic_encode=True, seed=seed)
            mean = metrics.reconstruction(model, test, encode_times, decode_times, stochastic_encode=False, seed=seed)
            rows.append({"model": model.name, "latent_dim": model.latent_dim, "epochs": len(hist),
                         "per_graph": stoch["per_graph"], "per_graph_mean": mean["per_graph"],
                         "per_node": stoch["per_node"], "epochs_loaded": loaded,
                         "seconds": sum(r["seconds"] for r in hist)})
    return pd.DataFrame(rows)


def encode_all(model, full: DagBatch, chunk: int = 4096) -> np.ndarray:
    """The mean codes of every graph of ``full``."""
    with torch.no_grad():
        return np.concatenate([model.encode(full[k:k + chunk]).numpy() for k in range(0, len(full), chunk)])


def gp_table(trained: dict, arch: Architectures, n_inducing: int, iters: int, seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """Every model's codes and D-VAE's GP experiment on them: ``(codes by key, RMSE / Pearson r table)``."""
    codes = {key: encode_all(model, arch.full) for key, (model, _, _) in trained.items()}
    tr, te, y = arch.train_idx, arch.test_idx, arch.objective
    rows = []
    for key, z in codes.items():
        r = latent_space.gp_prediction(z[tr], y[tr], z[te], y[te], n_inducing=n_inducing, iters=iters, seed=seed)
        rows.append({"model": trained[key][0].name, "latent": trained[key][0].latent_dim, "RMSE": r["rmse"],
                     "RMSE (raw)": r["rmse_raw"], "Pearson r": r["pearson"]})
    return codes, pd.DataFrame(rows)


def bo_codes(trained: dict, codes: dict, keys) -> dict:
    """The codes of the models ``keys`` by display name, for the search; a model not trained is an error."""
    missing = sorted(set(keys) - set(trained))
    if missing:
        raise ConfigError(f"search: bo_models {missing} are not among the compressors' models ({sorted(trained)})")
    return {trained[k][0].name: codes[k] for k in keys}


def search_summary(search: pd.DataFrame, objective, queries: int, seeds: int) -> pd.DataFrame:
    """Per search method after ``queries`` queries: the best found (mean, std over seeds), its median rank
    in the pool (1 = the best) and how many seeds found the best."""
    last = search[search["query"] == queries].copy()
    last["rank"] = last["best"].map(lambda v: 1 + int((objective > v).sum()))
    summary = last.groupby("method", sort=False).agg(best_mean=("best", "mean"), best_std=("best", "std"),
                                                       rank_median=("rank", "median"),
                                                       found_the_best=("rank", lambda r: int((r == 1).sum()))).reset_index()
    summary.insert(1, "queries", queries)
    summary.insert(2, "seeds", seeds)
    return summary


def closing_note(profile, arch: Architectures, real_data, table1_df, provenance, sweep_df, sweep, trained,
                 capacity, capacity_df, gp_df, summary, bo_queries) -> str:
    """The chapter's closing summary (markdown), written from this run's tables."""
    t = table1_df.set_index("model")
    timing = provenance.set_index("model")
    lines = [f"**Profile `{profile}`**, {len(arch.train_idx):,} training and {len(arch.test_idx):,} test architectures "
             f"({'D-VAE file and split' if real_data else 'generated'})."]
    for name, r in t.iterrows():
        paper_txt = f" (paper: {r['paper accuracy %']:.2f} %)" if np.isfinite(r["paper accuracy %"]) else ""
        lines.append(f"* {name}, latent {r['latent']}, {r['epochs']} epochs: {r['per graph %']:.2f} % of test graphs "
                     f"reconstructed exactly{paper_txt}, {r['per node %']:.2f} % of nodes; validity {r['validity %']:.2f} %; "
                     f"{timing.loc[name, 'seconds per epoch (median)']:.1f} s per epoch.")
    if "split" in trained and "split" in sweep:
        s = sweep_df[(sweep_df["model"] == "split") & (sweep_df["per_graph"] >= 0.99)]
        lines.append("* Latent size: the split model " + (f"first reconstructs at least 99 % of the test graphs at "
                     f"{int(s['latent_dim'].min())} dimensions" if len(s) else
                     f"reconstructs fewer than 99 % of the test graphs at every size tried ({sorted(sweep['split'])})")
                     + " with these epochs; the paper's 4 + 2 gives "
                     + f"{t.loc['split', 'per graph %']:.2f} % per graph and {t.loc['split', 'per node %']:.2f} % per node.")
    lines.append(f"* D-VAE learning check, {capacity['graphs']} training graphs, {capacity['epochs']} epochs: " + "; ".join(
        f"hidden {r['hidden']}: {r['per graph %']:.0f} % reconstructed exactly (loss {r['loss, first epoch']:.1f} → "
        f"{r['loss, last epoch']:.2f})" for r in capacity_df.to_dict("records")) + ".")
    g = gp_df.set_index("model")
    lines.append(f"* Accuracy prediction: the best Pearson r is {g['Pearson r'].max():.3f} ({g['Pearson r'].idxmax()}), "
                 f"the worst {g['Pearson r'].min():.3f} ({g['Pearson r'].idxmin()}).")
    b = summary.set_index("method")
    lines.append("* Search, best after " + f"{bo_queries} queries (median rank in the pool): "
                 + "; ".join(f"{m} {row['best_mean']:.4f} (rank {row['rank_median']:.0f})" for m, row in b.iterrows()) + ".")
    if real_data:
        lines.append(f"* D-VAE's reference code needs 316 s per epoch on a 2-core CPU like this one (measured when "
                     f"this chapter was written) and 300 epochs; the models here were trained for "
                     f"{min(t['epochs'])}–{max(t['epochs'])} epochs.")
    return "\n".join(lines)
