"""Chapter 2 ("Compressing architecture graphs"), second part: what the codes are good for, and at what cost.

* :func:`latent_sweep` — reconstruction against the size of the code;
* :func:`gp_table`, :func:`bo_codes`, :func:`search_summary` — D-VAE's two uses of a latent space:
  predicting accuracy from codes (sparse GP) and Bayesian optimisation over them;
* :func:`equal_budget` — every model trained for the same CPU time, accuracy against seconds;
* :func:`closing_note` — the chapter's conclusions, written from this run's tables.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from ..cache import cached, fingerprint
from ..compress import latent as latent_space
from ..compress import metrics
from ..compress.base import DagBatch
from ..compress.registry import train_compressor
from ..data.enas import ENAS_TYPES
from ..errors import ConfigError
from .compression import PUBLISHED, PUBLISHED_NAME, Architectures


# --------------------------------------------------------------------------- latent size
def latent_sweep(sweep: dict, configs: dict, train: DagBatch, test: DagBatch, encode_times: int = 10,
                 decode_times: int = 10, seed: int = 0) -> pd.DataFrame:
    """Per-graph and per-node reconstruction (D-VAE's protocol) against latent size: each model of
    ``sweep`` (key -> sizes; ``pernode``: sizes per node) trained again at every size with its Table 1
    settings (cached). Columns ``model``, ``latent_dim`` (as configured), ``code_per_graph``, ``epochs``,
    ``per_graph``, ``per_graph_mean``, ``per_node``, ``epochs_loaded`` and ``seconds``.
    """
    missing = sorted(set(sweep) - set(configs))
    if missing:
        raise ConfigError(f"latent sweep: {missing} have no entry in the compressors' models ({sorted(configs)})")
    rows = []
    for key, dims in sweep.items():
        if configs[key].checkpoint:
            raise ConfigError(f"latent sweep: {key!r} is a shipped checkpoint in this profile; sweep trained models only")
        for d in dims:
            model, hist, loaded = train_compressor(configs[key].replace(latent_dim=d), train, ENAS_TYPES, progress=False)
            stoch = metrics.reconstruction(model, test, encode_times, decode_times, stochastic_encode=True, seed=seed)
            mean = metrics.reconstruction(model, test, encode_times, decode_times, stochastic_encode=False, seed=seed)
            rows.append({"model": model.name, "latent_dim": d, "code_per_graph": model.latent_dim, "epochs": len(hist),
                         "per_graph": stoch["per_graph"], "per_graph_mean": mean["per_graph"],
                         "per_node": stoch["per_node"], "epochs_loaded": loaded,
                         "seconds": sum(r["seconds"] for r in hist)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- GP and BO
def encode_all(model, full: DagBatch, chunk: int = 4096) -> np.ndarray:
    """The mean codes of every graph of ``full``."""
    with torch.no_grad():
        return np.concatenate([model.encode(full[k:k + chunk]).numpy() for k in range(0, len(full), chunk)])


def gp_table(trained: dict, arch: Architectures, n_inducing: int, iters: int, seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """Every model's codes (its first run) and D-VAE's GP experiment on them, beside the published figures:
    ``(codes by key, RMSE / Pearson r table)``."""
    codes = {key: encode_all(runs[0].model, arch.full) for key, runs in trained.items()}
    tr, te, y = arch.train_idx, arch.test_idx, arch.objective
    published = PUBLISHED.set_index("model")
    rows = []
    for key, z in codes.items():
        r = latent_space.gp_prediction(z[tr], y[tr], z[te], y[te], n_inducing=n_inducing, iters=iters, seed=seed)
        pub = published.loc[PUBLISHED_NAME[key]] if key in PUBLISHED_NAME else None
        rows.append({"model": trained[key][0].model.name, "code size": trained[key][0].model.latent_dim,
                     "RMSE": r["rmse"], "RMSE (raw)": r["rmse_raw"], "Pearson r": r["pearson"],
                     "published RMSE": pub["GP RMSE"] if pub is not None else np.nan,
                     "published Pearson r": pub["GP Pearson r"] if pub is not None else np.nan})
    return codes, pd.DataFrame(rows)


def bo_codes(trained: dict, codes: dict, keys) -> dict:
    """The codes of the models ``keys`` by display name, for the search; a model not trained is an error."""
    missing = sorted(set(keys) - set(trained))
    if missing:
        raise ConfigError(f"search: bo_models {missing} are not among the compressors' models ({sorted(trained)})")
    return {trained[k][0].model.name: codes[k] for k in keys}


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


# --------------------------------------------------------------------------- equal budget
def _budget_run(cfg, train: DagBatch, test: DagBatch, budget: float, points: int) -> list[dict]:
    """Train ``cfg``'s model from scratch for ``budget`` CPU seconds; evaluate the test split (mean code, most
    likely decode) after ``budget / 2**k`` seconds, ``k = points - 1 .. 0``."""
    model, tr = cfg.build(ENAS_TYPES, train.types.shape[1]), cfg.training
    opt = torch.optim.Adam(model.parameters(), lr=tr.lr)
    gen = torch.Generator().manual_seed(tr.seed)
    marks = [budget / 2 ** k for k in range(points - 1, -1, -1)]
    rows, spent, steps, n = [], 0.0, 0, len(train)
    with torch.random.fork_rng():
        torch.manual_seed(tr.seed)
        while marks:
            model.train()
            for idx in torch.randperm(n, generator=gen).split(tr.batch_size):
                t0 = time.process_time()
                loss = model.loss(train[idx], beta=tr.beta)["loss"]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                spent += time.process_time() - t0
                steps += 1
                if spent >= marks[0]:
                    r = metrics.reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False)
                    rows.append({"seconds": spent, "epochs": steps * tr.batch_size / n, "per_graph": r["per_graph"],
                                 "per_node": r["per_node"]})
                    model.train()
                    marks.pop(0)
                    if not marks:
                        break
    return rows


def equal_budget(trained: dict, train: DagBatch, test: DagBatch, budget: float, points: int = 6,
                 keys=None) -> pd.DataFrame:
    """Every model of ``trained`` (its first run's settings, a shipped model's too) trained again from scratch for
    the same ``budget`` of CPU seconds (cached): columns ``model, seconds, epochs, per_graph, per_node``.

    Wall-clock dependent: the chapter shows it in a ``_timing`` table and a figure.
    """
    if budget <= 0 or points < 1:
        raise ConfigError(f"equal budget: budget must be > 0 seconds and points >= 1, got {budget!r} and {points!r}")
    rows = []
    for key in (keys if keys is not None else trained):
        t = trained[key][0]
        cfg = t.config.replace(checkpoint=None)
        config = {"config": cfg, "source": fingerprint(type(t.model), *getattr(type(t.model), "source_modules", ())),
                  "train": fingerprint(train), "test": fingerprint(test), "budget": float(budget), "points": points,
                  "threads": torch.get_num_threads()}
        runs, _ = cached(f"budget-{key}", config, lambda: _budget_run(cfg, train, test, budget, points))
        rows += [{"model": t.model.name, **r} for r in runs]
    return pd.DataFrame(rows, columns=["model", "seconds", "epochs", "per_graph", "per_node"])


# --------------------------------------------------------------------------- the closing note
def verdict_lines(t1: pd.DataFrame, names: dict) -> list[str]:
    """The sentences on the paper's "4 + 2", from Table 1."""
    t = t1.set_index("model")
    lines = []
    pn = t.loc[names["pernode"]] if names.get("pernode") in t.index else None
    dv = t.loc[names["dvae"]] if names.get("dvae") in t.index else None
    if pn is not None:
        lines.append(f"* **The paper's model, {pn['code']}**: {pn['exact decodes %']:.2f} % of the decodes of test "
                     f"graphs exact (D-VAE's protocol, 10 encodings x 10 decodings per graph; mean of {pn['runs']} runs"
                     + (f", sd {pn['exact decodes sd']:.2f}" if np.isfinite(pn["exact decodes sd"]) else "")
                     + f"), {pn['per node %']:.2f} % of their nodes; the seed paper's own measure (nodes, training and "
                     f"test graphs, mean code) gives {pn['per node, all graphs %']:.2f} % against its 99.99 %.")
    if dv is not None:
        gap = dv["published reconstruction %"] - dv["exact decodes, mean code %"]
        lines.append(f"* **D-VAE** ({dv['origin']}, {dv['epochs']} epochs, hidden {dv['hidden']}): "
                     f"{dv['exact decodes, mean code %']:.2f} % of decodes exact with the mean code (as D-VAE's code "
                     f"encodes at test time) against its published "
                     f"{dv['published reconstruction %']:.2f} % " + ("(within a point)" if gap <= 1 else
                                                                    f"({gap:.2f} points short)")
                     + f"; counted by graphs, {dv['graphs exact in all decodes %']:.2f} % of the test graphs are exact in "
                       f"every decode and {dv['graphs exact, greedy %']:.2f} % with the mean code and the most likely "
                       f"decode.")
    if pn is not None:
        lines.append(f"* **Validity of the per-node model's samples**: each node's code drawn independently from its "
                     f"position's training codes decodes to a valid ENAS network {pn['validity %']:.2f} % of the time "
                     f"({pn['validity N(0, I) %']:.2f} % from N(0, I))"
                     + (f", against D-VAE's {dv['validity %']:.2f} %" if dv is not None else "")
                     + "; nodes sampled independently do not agree on one graph. The seed's validity of 100 checks "
                     "only that a decoded op score passes 0.5, not that the graph is a valid network.")
    if pn is not None and dv is not None:
        reach = dv["published reconstruction %"] - 1
        if pn["exact decodes %"] >= reach:
            lines.append(f"* **Verdict on 4 + 2**: per node, 4 + 2 dimensions suffice: whole graphs come back as often "
                         f"as D-VAE's published {dv['published reconstruction %']:.2f} % (within a point), with "
                         f"{pn['code'].split('(')[1].split()[0]} numbers per graph against D-VAE's 56.")
        else:
            lines.append(f"* **Verdict on 4 + 2**: per node, 4 + 2 dimensions bring back {pn['per node %']:.2f} % of the "
                         f"nodes but only {pn['exact decodes %']:.2f} % of whole-graph decodes, "
                         f"{reach + 1 - pn['exact decodes %']:.2f} points below D-VAE's published figure (a share of "
                         f"decodes too); on the paper's per-node measure it is "
                         f"{pn['per node, all graphs %']:.2f} %.")
    return lines


def closing_note(profile: str, arch: Architectures, real_data: bool, t1: pd.DataFrame, names: dict,
                 sweep_df: pd.DataFrame, gp_df: pd.DataFrame, summary: pd.DataFrame, bo_queries: int,
                 budget_df: pd.DataFrame, budget: float) -> str:
    """The chapter's closing summary (markdown), written from this run's tables."""
    lines = [f"**Profile `{profile}`**, {len(arch.train_idx):,} training and {len(arch.test_idx):,} test architectures "
             f"({'D-VAE file and split' if real_data else 'generated'})."]
    for name, r in t1.set_index("model").iterrows():
        sd = f" ± {r['exact decodes sd']:.2f}" if np.isfinite(r["exact decodes sd"]) else ""
        lines.append(f"* {name} ({r['code']}, {r['epochs']} epochs, {r['runs']} run(s), {r['origin']}): "
                     f"{r['exact decodes %']:.2f}{sd} % of decodes exact, {r['graphs exact in all decodes %']:.2f} % of "
                     f"test graphs exact in all their mean-code decodes, {r['graphs exact, greedy %']:.2f} % by the "
                     f"greedy mean-code decode, {r['per node %']:.2f} % of nodes; "
                     f"validity {r['validity %']:.2f} % (scaled prior), {r['validity N(0, I) %']:.2f} % from N(0, I).")
    lines += verdict_lines(t1, names)
    split_name = names.get("split")
    if split_name in set(sweep_df["model"]):
        s = sweep_df[(sweep_df["model"] == split_name) & (sweep_df["per_graph"] >= 0.99)]
        sizes = sorted(sweep_df[sweep_df["model"] == split_name]["latent_dim"])
        lines.append("* **This book's per-graph variant** (one code for the whole graph): it " + (
            f"first reconstructs at least 99 % of the test graphs at {int(s['latent_dim'].min())} numbers per graph"
            if len(s) else f"reconstructs fewer than 99 % of the test graphs at every size tried ({sizes})")
            + " with these epochs; a graph-level 4 + 2 is a harder question than the paper's per-node one.")
    g = gp_df.set_index("model")
    lines.append(f"* Accuracy prediction: the best Pearson r is {g['Pearson r'].max():.3f} ({g['Pearson r'].idxmax()}), "
                 f"the worst {g['Pearson r'].min():.3f} ({g['Pearson r'].idxmin()}); published: "
                 + ", ".join(f"{m} {r:.3f}" for m, r in zip(PUBLISHED.model, PUBLISHED["GP Pearson r"])) + ".")
    b = summary.set_index("method")
    lines.append("* Search, best after " + f"{bo_queries} queries (median rank in the pool): "
                 + "; ".join(f"{m} {row['best_mean']:.4f} (rank {row['rank_median']:.0f})" for m, row in b.iterrows()) + ".")
    if len(budget_df):
        last = budget_df.sort_values("seconds").groupby("model").tail(1).set_index("model")
        best = last["per_graph"].idxmax()
        lines.append(f"* Equal budget, {budget:g} CPU seconds each: {best} reconstructs the most test graphs "
                     f"({100 * last.loc[best, 'per_graph']:.1f} %, most likely decode); "
                     + ", ".join(f"{m} {100 * r['per_graph']:.1f} % after {r['epochs']:.1f} epochs"
                                 for m, r in last.iterrows() if m != best) + ".")
    return "\n".join(lines)
