"""Chapter 7 ("Search and evaluation strategies side by side", ``notebooks/strategies.ipynb``): its runs.

Search strategies on tabular benchmarks — NAS-Bench-201 (complete, from ``analog-nasbench``), D-VAE's
ENAS-6 pool and the trained cells of the live benchmark — for many seeds each; the anytime tables, the
cost table, the comparison with the BANANAS paper's NAS-Bench-101 ordering and the latent-space verdict.
The evaluation strategies (low fidelity, zero-cost proxies, one-shot) are in
:mod:`nasvec.experiments.strategies_eval`; the latent codes in :mod:`nasvec.experiments.strategies_latent`.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from ..cache import cached
from ..errors import ConfigError
from ..strategies import blackbox, bo, runner, space
from ..strategies.bo import GPBO, Bananas
from ..strategies.runner import Table, Trace, run
from ..strategies.blackbox import LocalSearch, RandomSearch, RegularizedEvolution, Reinforce
from ..strategies.space import Space
from ..stats import paired_difference

#: BANANAS paper (White et al. 2021), NAS-Bench-101, test error % after 150 queries, mean of 200 trials; their "BO with
#: GP" row stands beside our GP-BO on the one-hot encoding (their BOHB, 6.356, has no counterpart here)
PUBLISHED_NB101 = {"REINFORCE": 6.436, "random": 6.341, "GP-BO (one-hot)": 6.267, "evolution": 6.109,
                   "local search": 5.932, "BANANAS": 5.923}
#: the model-free strategies, by name
MODEL_FREE = {"random": RandomSearch, "evolution": RegularizedEvolution, "local search": LocalSearch,
              "REINFORCE": Reinforce}


# --------------------------------------------------------------------------- benchmarks
def nb201_bench() -> Table:
    """All 15,625 NAS-Bench-201 cells with their CIFAR-10 accuracy (``nasvec.data.nb201``)."""
    from ..data.nb201 import NB201_OPS, load_nb201

    t = load_nb201()
    sp = Space.product("NAS-Bench-201", 6, 5, NB201_OPS, cell="nb201")
    if not (sp.codes == t.cells).all():
        raise ConfigError("the NAS-Bench-201 table's row order differs from the product space's")
    return Table("NAS-Bench-201", sp, t.accuracy)   # one accuracy per cell: search signal = reported score


def enas_pool():
    """The ENAS-6 pool from D-VAE's file (``$NASVEC_DATA``): ``(Table, rows kept)``, see :func:`enas_bench`."""
    from ..data.enas import graph_to_enas, load_enas

    e = load_enas()
    return enas_bench([graph_to_enas(g) for g in e.graphs], e.accuracy)


def enas_codes(archs) -> np.ndarray:
    """ENAS-6 architectures (D-VAE's lists) as code rows: 6 op ids, then the 15 skip flags."""
    return np.array([[layer[0] for layer in a] + [f for layer in a for f in layer[1:]] for a in archs])


def enas_bench(archs, accuracy) -> tuple[Table, np.ndarray]:
    """D-VAE's ENAS-6 pool (accuracies in [0, 1] are given in %) and the rows of ``archs`` it keeps: the
    file holds a few architectures twice; each is kept once, at its first line."""
    acc = np.asarray(accuracy, dtype=float)
    acc = acc * 100 if acc.max() <= 1.0 else acc
    codes = enas_codes(archs)
    _, first = np.unique(codes, axis=0, return_index=True)   # the pool's duplicates, if any, once
    first = np.sort(first)
    sp = Space.pool("ENAS-6 pool", codes[first], cards=(6,) * 6 + (2,) * 15)
    return Table("ENAS-6 pool", sp, acc[first]), first


def live_bench(df: pd.DataFrame) -> Table:
    """The live benchmark's trained cells as a pool of NAS-Bench-201 cells: the search signal is the reference
    training's validation accuracy, the reported score its test accuracy (each in %)."""
    from ..strategies.cellnet import EDGE_COLUMNS

    sp = Space.pool("live", df[list(EDGE_COLUMNS)].to_numpy(), cards=(5,) * 6, cell="nb201")
    return Table("live", sp, df["val_accuracy"].to_numpy(), test=df["accuracy"].to_numpy())


def nats_check(bench: Table) -> pd.DataFrame:
    """The three NATS-Bench records beside the table's accuracy of the same cells, read in the edge order we use
    and in NAS-Bench-201's string order (``$NASVEC_DATA/nats-bench``; an empty table when it is missing)."""
    from ..data.nb201 import NB201_EDGES, NB201_STRING_EDGES, NB201Table, check_against_nats, nats_records
    from ..errors import DataError

    try:
        records = nats_records()
    except DataError as err:
        print(f"(no check: {err})")
        return pd.DataFrame()
    t = NB201Table(bench.space.codes, bench.accuracy, bench.name)
    ours = pd.DataFrame(check_against_nats(t, records, NB201_EDGES))
    theirs = pd.DataFrame(check_against_nats(t, records, NB201_STRING_EDGES))
    return pd.DataFrame({"NATS index": ours["nats index"], "NATS-Bench, CIFAR-10 %": ours["NATS-Bench (mean of seeds)"],
                         "table, our edge order": ours["table"], "difference": ours["difference"],
                         "table, NB201 string order": theirs["table"], "difference (string order)": theirs["difference"]})


def latent_table(codes: dict) -> pd.DataFrame:
    """Per latent space of the NAS-Bench-201 cells: the model, code size, varying dimensions, held-out
    reconstruction and training time (``nasvec.experiments.strategies_latent.nb201_latent``'s results)."""
    return pd.DataFrame([{"latent space": name, "model": r["model"], "code size": r["codes"].shape[1],
                          "dimensions that vary": int(np.sum(r["informative"])),
                          "held-out exact reconstruction %": r["reconstruction"],
                          "ops right %": r["reconstruction_ops"], "epochs": len(r["history"]),
                          "training s": r["seconds"]}
                         for name, r in codes.items()])


# --------------------------------------------------------------------------- strategies and runs
def makers(bench: Table, settings: dict | None = None, latent: dict | None = None) -> dict:
    """Strategy name -> factory ``(space, n_seeds, seed)``: the model-free ones, GP-BO on the one-hot
    encoding, BANANAS (path encoding on NAS-Bench-201, one-hot elsewhere) and GP-BO on each latent code
    in ``latent`` (name -> (N, d) features, e.g. chapter 2's compressors' codes of the same candidates)."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - {"evolution", "REINFORCE", "GP-BO", "BANANAS"})
    if unknown:
        raise ConfigError(f"strategy settings: unknown strategy(ies) {unknown}")
    out = {}
    for name, cls in MODEL_FREE.items():
        kw = settings.get(name, {})
        out[name] = (lambda c, k: lambda sp, S, seed: c(sp, S, seed, **k))(cls, kw)
    gp, ban = settings.get("GP-BO", {}), settings.get("BANANAS", {})
    out["GP-BO (one-hot)"] = lambda sp, S, seed: GPBO(sp, S, seed, label="GP-BO (one-hot)", **gp)
    out["BANANAS"] = lambda sp, S, seed: Bananas(sp, S, seed, **ban)
    for key, feats in (latent or {}).items():
        label = f"GP-BO (latent: {key})"
        out[label] = (lambda f, lab: lambda sp, S, seed: GPBO(sp, S, seed, features=f, label=lab, **gp))(feats, label)
    return out


_SOURCES = [inspect.getsource(m) for m in (space, blackbox, bo, runner)]


def run_study(bench: Table, strategies: dict, n_seeds: int, n_queries: int, seed: int = 0) -> dict[str, Trace]:
    """Every strategy for ``n_seeds`` seeds x ``n_queries`` queries on ``bench`` (each run cached: the key is
    the benchmark's accuracies, the strategy, its settings and features (what its factory closes over), the seeds
    and the strategies' source)."""
    out = {}
    for name, make in strategies.items():
        key = {"bench": bench.name, "accuracy": bench.accuracy, "test": bench.test, "strategy": name, "seeds": n_seeds,
               "queries": n_queries, "seed": seed, "source": _SOURCES,
               "closure": [c.cell_contents for c in (make.__closure__ or ()) if not callable(c.cell_contents)]}
        tr, _ = cached("strategies-run", key, lambda: run(make, bench, n_seeds, n_queries, seed).__dict__)
        out[name] = Trace(**tr)
    return out


def engine_check(bench: Table, n_seeds: int, n_queries: int, seed: int = 0, settings: dict | None = None) -> pd.DataFrame:
    """GP-BO on the one-hot encoding with our batched GP and with BoTorch's own ``SingleTaskGP`` fitted by
    ``fit_gpytorch_mll`` (one seed at a time), on the same seeds: regret after ``n_queries`` and seconds per query."""
    gp = dict((settings or {}).get("GP-BO", {}))
    pair = {f"GP-BO ({engine})": (lambda e: lambda sp, S, sd: GPBO(sp, S, sd, label=f"GP-BO ({e})", **{**gp, "engine": e}))(engine)
            for engine in ("batched", "botorch")}
    traces = run_study(bench, pair, n_seeds, n_queries, seed)
    rows = anytime(traces, (n_queries,))
    rows["ms per query"] = [1e3 * t.strategy_seconds / t.values.size for t in traces.values()]
    rows["same proposals %"] = 100 * float((traces["GP-BO (batched)"].ids == traces["GP-BO (botorch)"].ids).mean())
    return rows.drop(columns=["benchmark"])


# --------------------------------------------------------------------------- tables
def _se(v: np.ndarray) -> float:
    """The standard error of a mean over seeds (NaN for one seed)."""
    return v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan


def anytime(traces: dict[str, Trace], at=(20, 50, 150, 300)) -> pd.DataFrame:
    """Per strategy and query count: mean best search signal, its sd over seeds, mean regret on the signal and its
    standard error; the test regret of the pick the signal makes (and its se) and the floor, the test regret of the
    oracle validation pick (both equal the regret and 0 where the benchmark reports what it searches)."""
    rows = []
    for name, tr in traces.items():
        inc, test = tr.incumbent(), tr.test_regret()
        for q in [q for q in at if q <= inc.shape[1]]:
            a, t = inc[:, q - 1], test[:, q - 1]
            rows.append({"benchmark": tr.benchmark, "strategy": name, "queries": q, "seeds": len(a),
                         "accuracy": a.mean(), "accuracy sd": a.std(ddof=1) if len(a) > 1 else np.nan,
                         "regret": tr.best - a.mean(), "regret se": _se(a), "test regret": t.mean(),
                         "test regret se": _se(t), "floor": tr.floor, "same signal": tr.reports is None})
    return pd.DataFrame(rows)


def anytime_page(df: pd.DataFrame) -> pd.DataFrame:
    """The anytime table compactly: one row per strategy, one column per query count, regret ± se; where the
    benchmark keeps validation and test apart, the test regret of the pick too, and the floor."""
    cell = df.assign(v=[f"{r:.3f} ± {s:.3f}" for r, s in zip(df["regret"], df["regret se"])],
                     t=[f"{r:.3f} ± {s:.3f}" for r, s in zip(df["test regret"], df["test regret se"])])
    order = df["strategy"].unique()
    out = cell.pivot(index="strategy", columns="queries", values="v").reindex(order) \
        .rename(columns=lambda q: f"regret after {q}")
    if not df["same signal"].all():
        test = cell.pivot(index="strategy", columns="queries", values="t").reindex(order) \
            .rename(columns=lambda q: f"test regret after {q}")
        out = out.join(test).assign(floor=f"{df['floor'].iloc[0]:.3f}")
    return out.reset_index()


def cost(traces: dict[str, Trace]) -> pd.DataFrame:
    """Per strategy: its own compute per query (ms; the table look-up excluded) beside its final regret (and the
    test regret of its final pick)."""
    rows = []
    for name, tr in traces.items():
        rows.append({"benchmark": tr.benchmark, "strategy": name, "queries": tr.values.shape[1],
                     "ms per query": 1e3 * tr.strategy_seconds / tr.values.size,
                     "queries/s (whole run)": round(tr.values.size / max(tr.strategy_seconds + tr.lookup_seconds, 1e-9)),
                     "final regret": tr.best - tr.incumbent()[:, -1].mean(),
                     "final test regret": tr.test_regret()[:, -1].mean()})
    return pd.DataFrame(rows)


def nb101_ordering(df: pd.DataFrame, queries: int = 150, traces: dict | None = None) -> tuple[pd.DataFrame, str]:
    """Our NAS-Bench-201 test error after ``queries`` beside the BANANAS paper's NAS-Bench-101 numbers, the two
    orderings and a computed sentence (Kendall's tau over the five strategies both have, and the pairs that agree)."""
    from scipy.stats import kendalltau

    ours = df[df.queries == queries].set_index("strategy")["accuracy"]
    names = [n for n in PUBLISHED_NB101 if n in ours.index]
    if len(names) < 2:
        return pd.DataFrame(), f"(fewer than two of the published strategies ran {queries} queries)"
    tab = pd.DataFrame({"strategy": names, "ours: NB201 test error %": [100 - ours[n] for n in names],
                        "BANANAS paper: NB101 test error %": [PUBLISHED_NB101[n] for n in names]})
    tab["our rank"] = tab.iloc[:, 1].rank().astype(int)
    tab["their rank"] = tab.iloc[:, 2].rank().astype(int)
    tau = kendalltau(tab.iloc[:, 1], tab.iloc[:, 2]).statistic
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    agree = [(a, b) for a, b in pairs if np.sign(PUBLISHED_NB101[a] - PUBLISHED_NB101[b]) == np.sign(ours[b] - ours[a])]
    text = (f"After {queries} queries our NAS-Bench-201 ordering (best first) is "
            f"{', '.join(tab.sort_values('our rank').strategy)}; the BANANAS paper's NAS-Bench-101 ordering is "
            f"{', '.join(tab.sort_values('their rank').strategy)}. Kendall's tau between the two: {tau:.2f}; "
            f"{len(agree)} of {len(pairs)} pairs are ordered alike. "
            f"{_top_two(df[df.queries == queries], names, traces, queries)}")
    return tab, text


def _top_two(at: pd.DataFrame, names: list, traces: dict | None = None, queries: int | None = None) -> str:
    """Whether each side's two best strategies can be told apart: ours by 2 standard errors over our seeds (paired
    over the same seeds when the ``traces`` are given), the paper's by its difference alone (its spread is not in our
    sources)."""
    ours = at.set_index("strategy").loc[names].sort_values("accuracy", ascending=False)
    a, b = ours.index[:2]
    d = ours.accuracy.iloc[0] - ours.accuracy.iloc[1]
    if traces is not None:
        d, se = paired_difference(traces[a].incumbent()[:, queries - 1] - traces[b].incumbent()[:, queries - 1])[:2]
    else:
        se = float(np.hypot(ours["regret se"].iloc[0], ours["regret se"].iloc[1]))
    theirs = sorted(names, key=PUBLISHED_NB101.get)[:2]
    gap = PUBLISHED_NB101[theirs[1]] - PUBLISHED_NB101[theirs[0]]
    ours_word = "more than" if np.isfinite(se) and d > 2 * se else "within"
    return (f"Our two best, {a} and {b}, differ by {d:.3f} points, {ours_word} 2 standard errors ({2 * se:.3f}) over "
            f"our seeds{' (paired)' if traces is not None else ''}; the paper's two best, {theirs[0]} and {theirs[1]}, differ by {gap:.3f} points, more than 2 "
            f"standard errors of 200 independent trials only if their standard deviation is below "
            f"{gap / 2 / np.sqrt(2 / 200):.3f} points (the paper's spread is not in our sources). On NAS-Bench-201 the search and the report use the same single accuracy "
            f"per cell; the published NAS-Bench-101 numbers search on validation accuracy and report test error.")


def paired(traces: dict[str, Trace], a: str, b: str, q: int) -> dict:
    """Seed-by-seed comparison of strategies ``a`` and ``b`` after ``q`` queries (the runs share their seeds)."""
    da = traces[a].incumbent()[:, q - 1] - traces[b].incumbent()[:, q - 1]
    return {"a": a, "b": b, "queries": q, "mean difference": da.mean(),
            "se": da.std(ddof=1) / np.sqrt(len(da)) if len(da) > 1 else np.nan,
            "a better": int((da > 0).sum()), "b better": int((da < 0).sum()), "seeds": len(da)}


def latent_verdict(traces: dict[str, Trace], at=(50, 150)) -> tuple[pd.DataFrame, str]:
    """Does GP-BO on a learned code beat GP-BO on the one-hot encoding and regularized evolution at equal
    queries? A table of paired comparisons and a sentence from it (a difference counts when it exceeds 2 se)."""
    latent = [n for n in traces if n.startswith("GP-BO (latent")]
    rows = [paired(traces, lat, other, q) for lat in latent for other in ("GP-BO (one-hot)", "evolution")
            for q in at if other in traces and q <= traces[lat].values.shape[1]]
    tab = pd.DataFrame(rows)
    if tab.empty:
        return tab, "(no latent-space run)"
    words = []
    for lat in latent:
        parts = []
        for _, r in tab[tab.a == lat].iterrows():
            d, se = r["mean difference"], r["se"]
            verdict = "beats" if d > 2 * se else ("loses to" if d < -2 * se else "ties with")
            parts.append(f"{verdict} {r['b']} after {r['queries']} queries ({d:+.3f} ± {se:.3f} points, "
                         f"better on {r['a better']} of {r['seeds']} seeds)")
        words.append(f"{lat} " + "; ".join(parts))
    return tab, "On " + traces[latent[0]].benchmark + ": " + ". ".join(words) + "."
