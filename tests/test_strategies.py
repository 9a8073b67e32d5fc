"""Chapter 7's search strategies (nasvec.strategies.space/blackbox/bo/runner), the NAS-Bench-201 table
(nasvec.data.nb201) and the chapter's tables (nasvec.experiments.strategies): behaviour, not pinned floats."""

import os
import pickle
import sys
import types
from importlib import util as importlib_util

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import cache_at, real_data
from nasvec.data.nb201 import (N_CELLS, NB201_EDGES, NB201_STRING_EDGES, cell_index, check_against_nats,
                               load_nb201, nats_records, parse_arch_str, read_table)
from nasvec.errors import ConfigError, DataError, SearchError
from nasvec.experiments.strategies import (PUBLISHED_NB101, anytime, cost, latent_verdict, makers, nb101_ordering,
                                           run_study)
from nasvec.strategies.bo import GPBO, Bananas
from nasvec.strategies.runner import Table, run
from nasvec.strategies.blackbox import LocalSearch, RandomSearch, RegularizedEvolution, Reinforce
from nasvec.strategies.space import NB201_PATHS, Space, nb201_paths

pytestmark = pytest.mark.usefixtures("one_thread")


def toy_bench(n_pos: int, n_ops: int, seed: int = 1) -> Table:
    """A product space whose accuracy falls with the weighted distance of each code from a target cell: separable,
    smooth in the codes, with a unique maximum (the target) and no other local maximum under single changes."""
    sp = Space.product("toy", n_pos, n_ops)
    target = np.random.default_rng(seed).integers(n_ops, size=n_pos)
    acc = 90.0 - 3.0 * (np.linspace(1.0, 2.0, n_pos) * np.abs(sp.codes - target)).sum(1)
    return Table("toy", sp, acc)


def first_hits(trace) -> np.ndarray:
    """Per seed, the number of queries until the table's best was found (a huge number if never)."""
    hit = trace.values == trace.best
    return np.where(hit.any(1), hit.argmax(1) + 1, 10 ** 9)


def ordinal(sp, S, seed):   # GP-BO on custom features: the codes as numbers (the toy's accuracy is smooth in them)
    return GPBO(sp, S, seed, features=sp.codes.astype(float), label="GP-BO (codes)")


# --------------------------------------------------------------------------- the strategies find a known optimum
BIG = toy_bench(5, 4)   # 1,024 cells: random search needs 512 queries on average; within q of them, q / 1024 of seeds
FINDERS = {   # name: (maker, queries within which every seed must have found the optimum)
    "evolution": (RegularizedEvolution, 150),
    "local search": (LocalSearch, 150),
    "REINFORCE": (Reinforce, 250),
    "GP-BO": (GPBO, 80),
    "BANANAS": (lambda sp, S, seed: Bananas(sp, S, seed, epochs=50), 80),
    "GP-BO (custom features)": (ordinal, 60),
}
SEEDS = 6


@pytest.fixture(scope="module")
def random_hits():
    tr = run(RandomSearch, BIG, SEEDS, len(BIG.space), seed=0)
    return first_hits(tr)


def test_random_search_finds_the_optimum_once_it_has_queried_every_cell(random_hits):
    assert (random_hits <= len(BIG.space)).all()


@pytest.mark.parametrize("name", list(FINDERS))
def test_each_strategy_finds_the_known_optimum_faster_than_random(name, random_hits):
    make, budget = FINDERS[name]
    # random search finds it within `budget` queries on all seeds with probability (budget / 1024) ** 6 < 3e-4
    assert (budget / len(BIG.space)) ** SEEDS < 3e-4
    tr = run(make, BIG, SEEDS, budget, seed=0)
    assert tr.ids.shape == (SEEDS, budget)
    assert (tr.incumbent()[:, -1] == BIG.best).all(), f"{name}: first hits {first_hits(tr)}"
    assert first_hits(tr).mean() < 0.5 * random_hits.mean()


# --------------------------------------------------------------------------- proposals stay in the space
def small_pool() -> Table:
    codes = np.array(list(np.ndindex(3, 3, 3, 3, 3, 3)))
    rows = np.random.default_rng(2).choice(len(codes), 40, replace=False)
    sp = Space.pool("pool", codes[rows], cards=(3,) * 6)
    return Table("pool", sp, np.random.default_rng(3).uniform(50, 90, len(sp)))


NO_REPEAT = {
    "random": RandomSearch,
    "evolution": lambda sp, S, seed: RegularizedEvolution(sp, S, seed, population=8, sample=3),
    "local search": LocalSearch,
    "GP-BO": GPBO,
    "BANANAS": lambda sp, S, seed: Bananas(sp, S, seed, epochs=10),
}


@pytest.mark.parametrize("bench", [toy_bench(3, 3), small_pool()], ids=["product", "pool"])
@pytest.mark.parametrize("name", list(NO_REPEAT))
def test_no_repeat_while_unseen_candidates_remain(name, bench):
    N = len(bench.space)
    tr = run(NO_REPEAT[name], bench, 3, N + 3, seed=5)      # past the space's size: then repeats are allowed
    assert ((tr.ids >= 0) & (tr.ids < N)).all()
    for row in tr.ids:
        assert sorted(row[:N]) == list(range(N))             # the first N queries are every candidate once
    assert np.array_equal(tr.values, bench.accuracy[tr.ids])


@pytest.mark.parametrize("bench", [toy_bench(3, 3), small_pool()], ids=["product", "pool"])
def test_reinforce_proposes_members_only(bench):
    strat = Reinforce(bench.space, 4, seed=1)
    for _ in range(30):
        ids = strat.ask()
        assert ids.shape == (4, 1) and ids.dtype == np.int64 and ((ids >= 0) & (ids < len(bench.space))).all()
        strat.tell(ids, bench.query(ids))


def test_model_based_strategies_run_on_a_space_smaller_than_their_start():
    bench = Table("two", Space.product("two", 1, 3), [1.0, 2.0, 3.0])
    for make in (GPBO, lambda sp, S, seed: Bananas(sp, S, seed, epochs=5)):
        tr = run(make, bench, 2, 5, seed=0)
        assert all(sorted(r[:3]) == [0, 1, 2] for r in tr.ids) and (tr.incumbent()[:, -1] == 3.0).all()


# --------------------------------------------------------------------------- REINFORCE's gradient
def test_reinforce_gradient_sign_on_two_arms():
    bench = Table("two arms", Space.product("two arms", 1, 2), [0.0, 100.0])
    strat = Reinforce(bench.space, 1, seed=0)
    p0 = strat.probs()[0, 0].copy()
    assert np.allclose(p0, 0.5)
    strat.tell([[0]], [[50.0]])                        # the first reward only sets the baseline
    assert np.allclose(strat.probs()[0, 0], p0)
    strat.tell([[1]], [[100.0]])                       # the better arm, above the baseline: its probability rises
    p1 = strat.probs()[0, 0].copy()
    assert p1[1] > p0[1]
    strat.tell([[0]], [[0.0]])                         # the worse arm, below the baseline: its probability falls
    p2 = strat.probs()[0, 0].copy()
    assert p2[0] < p1[0]
    strat.tell([[1]], [[0.0]])                         # even the better arm falls when it is told a low reward
    assert strat.probs()[0, 0, 1] < p2[1]
    assert np.allclose(strat.probs().sum(-1), 1.0)


def test_reinforce_ignores_choices_a_position_lacks():
    sp = Space.pool("mixed", [[0, 0], [1, 1], [2, 0], [0, 1]], cards=(3, 2))
    strat = Reinforce(sp, 2, seed=0)
    for _ in range(10):
        ids = strat.ask()
        strat.tell(ids, np.full(ids.shape, 50.0) + ids)
    p = strat.probs()
    assert p.shape == (2, 2, 3) and (p[:, 1, 2] == 0).all() and np.allclose(p.sum(-1), 1.0)


# --------------------------------------------------------------------------- seeds
ALL_MAKERS = {**makers(toy_bench(4, 3), {"BANANAS": {"epochs": 10}}), "GP-BO (codes)": ordinal}


@pytest.mark.parametrize("name", list(ALL_MAKERS))
def test_a_seed_makes_runs_identical(name):
    bench = toy_bench(4, 3)
    a, b = (run(ALL_MAKERS[name], bench, 2, 25, seed=3) for _ in range(2))
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.values, b.values)
    c = run(ALL_MAKERS[name], bench, 2, 25, seed=4)
    assert not np.array_equal(a.ids, c.ids)
    assert not np.array_equal(a.ids[0], a.ids[1])       # the seeds of one run differ from each other


def test_run_and_strategies_refuse_bad_arguments():
    bench = toy_bench(3, 3)
    with pytest.raises(SearchError, match="n_queries"):
        run(RandomSearch, bench, 2, 0)
    with pytest.raises(SearchError, match="n_seeds"):
        RandomSearch(bench.space, 0)
    with pytest.raises(SearchError, match="sample"):
        RegularizedEvolution(bench.space, 1, population=5, sample=6)
    with pytest.raises(SearchError, match="engine"):
        GPBO(bench.space, 1, engine="sklearn")
    with pytest.raises(SearchError, match="features"):
        GPBO(bench.space, 1, features=np.zeros((5, 2)))


# --------------------------------------------------------------------------- GP-BO: BoTorch as the reference
def test_botorch_engine_agrees_with_the_batched_posterior_and_proposes_unseen_ids():
    from scipy.stats import spearmanr

    bench = toy_bench(4, 3)
    g = GPBO(bench.space, 1, seed=0)
    ids = np.random.default_rng(0).choice(len(bench.space), (1, 20), replace=False)
    g.tell(ids, bench.query(ids))
    X, y = g.data()
    z = (y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True)
    C = torch.tensor(g.features[None], dtype=torch.float64)
    m1, v1 = g._batched(X, z, C)
    m2, v2 = g._botorch(X, z, C)
    assert spearmanr(m1[0], m2[0]).statistic > 0.9 and spearmanr(v1[0], v2[0]).statistic > 0.8
    tr = run(lambda sp, S, seed: GPBO(sp, S, seed, engine="botorch", batch=5), bench, 1, 20, seed=0)
    assert len(set(tr.ids[0].tolist())) == 20 and ((tr.ids >= 0) & (tr.ids < len(bench.space))).all()


# --------------------------------------------------------------------------- spaces
@given(st.integers(1, 4), st.integers(2, 4), st.data())
@settings(max_examples=40, deadline=None)
def test_product_neighbours_are_the_single_changes(n_pos, n_ops, data):
    sp = Space.product("p", n_pos, n_ops)
    assert len(sp) == n_ops ** n_pos and len({r.tobytes() for r in sp.codes}) == len(sp)
    i = data.draw(st.integers(0, len(sp) - 1))
    assert np.ravel_multi_index(tuple(sp.codes[i]), sp.cards) == i           # id = base-n number of the codes
    single = np.flatnonzero((sp.codes != sp.codes[i]).sum(1) == 1)
    nb = sp.neighbours(i)
    assert len(nb) == n_pos * (n_ops - 1) and sorted(nb.tolist()) == single.tolist()
    seen = np.zeros(len(sp), bool)
    seen[nb[:-1]] = True                                                     # all neighbours but one seen
    assert sp.mutate(np.random.default_rng(0), i, exclude=seen) == nb[-1]


@given(st.integers(0, 10 ** 6), st.integers(2, 30), st.integers(1, 8))
@settings(max_examples=30, deadline=None)
def test_pool_neighbours_are_the_nearest_members(seed, n, k):
    rng = np.random.default_rng(seed)
    full = np.array(list(np.ndindex(*(3,) * 5)))
    codes = full[rng.choice(len(full), n, replace=False)]
    sp = Space.pool("pool", codes, k=k)
    for i in range(n):
        nb = sp.neighbours(i)
        assert len(nb) == min(k, n - 1) and len(set(nb.tolist())) == len(nb) and i not in nb
        dist = (codes != codes[i]).sum(1)
        others = np.sort(np.delete(dist, i))
        assert sorted(dist[nb].tolist()) == others[:len(nb)].tolist()      # the smallest Hamming distances


@given(st.lists(st.lists(st.integers(0, 4), min_size=6, max_size=6), min_size=1, max_size=20))
@settings(max_examples=60, deadline=None)
def test_encodings(cells):
    cells = np.array(cells)
    sp = Space.product("NB201", 6, 5, cell="nb201")
    rows = cell_index(cells)
    oh = sp.encode("onehot")[rows]
    assert oh.shape == (len(cells), 30) and set(np.unique(oh)) <= {0.0, 1.0}
    blocks = oh.reshape(len(cells), 6, 5)
    assert (blocks.sum(-1) == 1).all() and (blocks.argmax(-1) == cells).all()     # one 1 per position, at its op
    paths = nb201_paths(cells)
    assert paths.shape == (len(cells), 180) and (paths.sum(1) <= 4).all()
    assert np.array_equal(paths, sp.encode("path")[rows])
    start = 0
    for path in NB201_PATHS:
        width = 5 ** len(path)
        block = paths[:, start:start + width]
        dead = (cells[:, list(path)] == 1).any(1)                               # through a 'none' edge
        assert (block[dead] == 0).all() and (block[~dead].sum(1) == 1).all()
        start += width


def test_space_and_table_refuse_bad_input():
    with pytest.raises(SearchError, match="same codes"):
        Space.pool("dup", [[0, 1], [1, 1], [0, 1]])
    with pytest.raises(SearchError, match="at least 2"):
        Space.pool("one", [[0, 1]])
    with pytest.raises(SearchError, match="too large"):
        Space.product("huge", 30, 5)
    sp = Space.product("toy", 2, 3)
    with pytest.raises(SearchError, match="one finite value per allowed candidate"):
        Table("short", sp, np.ones(8))
    with pytest.raises(SearchError, match="one finite value per allowed candidate"):
        Table("nan", sp, np.r_[np.ones(8), np.nan])
    bench = Table("toy", sp, np.arange(9.0))
    for bad in ([9], [-1], [0.5]):
        with pytest.raises(SearchError, match=r"ids must be integers in 0\.\.8"):
            bench.query(bad)
    with pytest.raises(SearchError, match="unknown encoding"):
        sp.encode("adjacency")
    with pytest.raises(SearchError, match="path encoding"):
        sp.encode("path")


# --------------------------------------------------------------------------- the NAS-Bench-201 table
class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize("payload,name", [(_Evil(), "system"), ({(0,) * 6: __import__("collections").OrderedDict()},
                                                                 "collections.OrderedDict")])
def test_the_unpickler_refuses_other_globals(payload, name, tmp_path):
    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(DataError, match=f"data.anb: not a NAS-Bench-201 table .*global .*{name}"):
        read_table(path)


@pytest.fixture
def fake_package(monkeypatch):
    """Classes named like the package's, so that pickle writes the two allowed globals."""
    pkg, mod = types.ModuleType("analognasbench"), types.ModuleType("analognasbench.data")
    for cls_name in ("Architecture", "DriftMeasurement"):
        cls = type(cls_name, (), {"__module__": "analognasbench.data"})
        setattr(mod, cls_name, cls)
    pkg.data = mod
    monkeypatch.setitem(sys.modules, "analognasbench", pkg)
    monkeypatch.setitem(sys.modules, "analognasbench.data", mod)
    return mod


def fake_table(mod, cells, arch=lambda c: c):
    out = {}
    for c in cells:
        rec = mod.Architecture()
        rec.architecture, rec.baseline_accuracy = arch(c), 10.0 + sum(c)
        rec.drift = mod.DriftMeasurement()
        out[c] = rec
    return pickle.dumps(out)


def test_a_fake_table_with_the_allowed_classes_reads_in_row_order(fake_package, tmp_path):
    cells = [tuple(int(v) for v in c) for c in np.ndindex(*(5,) * 6)]
    order = np.random.default_rng(0).permutation(len(cells))
    path = tmp_path / "data.anb"
    path.write_bytes(fake_table(fake_package, [cells[i] for i in order]))
    t = read_table(path)
    assert t.cells.shape == (N_CELLS, 6) and np.array_equal(cell_index(t.cells), np.arange(N_CELLS))
    assert np.array_equal(t.accuracy, 10.0 + t.cells.sum(1)) and t.best == 10.0 + 24

    path.write_bytes(fake_table(fake_package, cells[:10]))
    with pytest.raises(DataError, match=f"expected a mapping of {N_CELLS} cells, got 10"):
        read_table(path)
    path.write_bytes(fake_table(fake_package, cells, arch=lambda c: c[::-1]))
    with pytest.raises(DataError, match="disagrees with its record"):
        read_table(path)
    with pytest.raises(DataError, match="missing"):
        read_table(tmp_path / "nothing.anb")


def needs_table():
    if importlib_util.find_spec("analognasbench") is None:
        if os.environ.get("NASVEC_REQUIRE_DATA") == "1":
            pytest.fail("the PyPI package analog-nasbench is not installed")
        pytest.skip("the PyPI package analog-nasbench is not installed")
    return load_nb201()


def test_the_real_table_loads():
    t = needs_table()
    assert t.cells.shape == (N_CELLS, 6) and t.accuracy.shape == (N_CELLS,)
    assert np.array_equal(cell_index(t.cells), np.arange(N_CELLS))               # rows ordered by cell index
    assert np.array_equal(t.cells, Space.product("NB201", 6, 5).codes)
    assert (t.accuracy > 0).all() and (t.accuracy <= 100).all() and 93 < t.best < 95
    assert t.accuracy[cell_index([1] * 6)] < 15                                  # all 'none': chance on 10 classes


def test_nats_bench_records_agree_in_our_edge_order_only():
    folder = real_data("nats-bench", "NATS-tss-v1_0-3ffb9-simple")
    t = needs_table()
    records = nats_records(folder)
    assert len(records) == 3 and all(r["seeds"] >= 1 and 0 < r["accuracy"] <= 100 for r in records)
    ours = check_against_nats(t, records, NB201_EDGES)
    theirs = check_against_nats(t, records, NB201_STRING_EDGES)
    assert all(abs(r["difference"]) < 1.0 for r in ours)
    assert any(abs(r["difference"]) > 0.5 for r in theirs)                      # the evidence for the order


def test_parse_arch_str():
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
    assert parse_arch_str(arch) == (2, 0, 4, 1, 3, 0)                  # 0-1, 0-2, 0-3, 1-2, 1-3, 2-3
    assert parse_arch_str(arch, NB201_STRING_EDGES) == (2, 0, 1, 4, 3, 0)
    with pytest.raises(DataError, match="not a NAS-Bench-201 cell string"):
        parse_arch_str("|conv7~0|")
    with pytest.raises(DataError, match="6 edges"):
        parse_arch_str("|nor_conv_3x3~0|")


# --------------------------------------------------------------------------- the chapter's tables
def test_makers_names_an_unknown_strategy():
    with pytest.raises(ConfigError, match="unknown strategy"):
        makers(toy_bench(4, 3), {"annealing": {}})


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """The chapter's strategies on a toy table, once for the module, in a cache of its own: run twice, the
    second time from the cache."""
    bench = toy_bench(4, 3)
    strats = makers(bench, {"BANANAS": {"epochs": 10}, "evolution": {"population": 10, "sample": 3}},
                    {"codes": bench.space.codes.astype(float)})
    with cache_at(tmp_path_factory.mktemp("cache")):
        traces = run_study(bench, strats, 3, 30, seed=0)
        again = run_study(bench, strats, 3, 30, seed=0)                         # from the cache: the same runs
    return types.SimpleNamespace(bench=bench, strats=strats, traces=traces, again=again)


@pytest.fixture(scope="module")
def anytime_table(small_study):
    return anytime(small_study.traces, at=(10, 30, 300))


def test_makers_give_the_published_strategies_and_the_latent_ones(small_study):
    assert set(PUBLISHED_NB101) <= set(small_study.strats)
    assert "GP-BO (latent: codes)" in small_study.strats


def test_run_study_second_call_repeats_the_runs_from_the_cache(small_study):
    traces, again = small_study.traces, small_study.again
    assert all(np.array_equal(traces[k].ids, again[k].ids) for k in small_study.strats)


def test_anytime_columns(anytime_table):
    assert list(anytime_table.columns) == ["benchmark", "strategy", "queries", "seeds", "accuracy", "accuracy sd",
                                           "regret", "regret se", "test regret", "test regret se", "floor",
                                           "same signal"]


def test_anytime_has_a_row_per_strategy_and_reached_query_count(small_study, anytime_table):
    df = anytime_table
    assert len(df) == 2 * len(small_study.strats)
    assert set(df.queries) == {10, 30}
    assert (df.seeds == 3).all()


def test_anytime_regret_is_the_gap_to_the_best(small_study, anytime_table):
    df = anytime_table
    assert (df.regret >= 0).all()
    assert np.allclose(df.accuracy + df.regret, small_study.bench.best)


def test_anytime_incumbent_never_falls(anytime_table):
    for _, g in anytime_table.groupby("strategy"):
        assert g.sort_values("queries").accuracy.is_monotonic_increasing


def test_cost_columns(small_study):
    assert list(cost(small_study.traces).columns) == ["benchmark", "strategy", "queries", "ms per query",
                                                      "queries/s (whole run)", "final regret", "final test regret"]


def test_cost_is_positive_over_the_whole_run(small_study):
    c = cost(small_study.traces)
    assert (c["ms per query"] > 0).all()
    assert (c["queries/s (whole run)"] > 0).all()
    assert (c["queries"] == 30).all()
    assert (c["final regret"] >= 0).all()


def test_nb101_ordering_ranks_the_published_strategies(anytime_table):
    tab, text = nb101_ordering(anytime_table, queries=30)
    assert list(tab.strategy) == list(PUBLISHED_NB101)
    assert sorted(tab["their rank"]) == list(range(1, len(PUBLISHED_NB101) + 1))
    assert tab["our rank"].between(1, len(PUBLISHED_NB101)).all()


def test_nb101_ordering_text_names_each_strategy_and_kendalls_tau(anytime_table):
    _, text = nb101_ordering(anytime_table, queries=30)
    assert all(name in text for name in PUBLISHED_NB101)
    assert "Kendall's tau" in text


def test_nb101_ordering_says_whether_each_sides_top_two_can_be_told_apart(anytime_table):
    _, text = nb101_ordering(anytime_table, queries=30)
    assert "2 standard errors" in text and "the paper's two best, BANANAS and local search, differ by 0.009" in text


def test_nb101_ordering_says_why_a_query_count_it_lacks_is_empty(anytime_table):
    empty, why = nb101_ordering(anytime_table, queries=150)
    assert empty.empty
    assert "150" in why


def test_latent_verdict_compares_the_latent_strategy_with_the_others(small_study):
    tab, _ = latent_verdict(small_study.traces, at=(10, 30))
    assert set(tab.b) == {"GP-BO (one-hot)", "evolution"}
    assert set(tab.queries) == {10, 30}
    assert (tab.seeds == 3).all()
    assert (tab["a better"] + tab["b better"] <= 3).all()


def test_latent_verdict_text_says_who_wins(small_study):
    _, text = latent_verdict(small_study.traces, at=(10, 30))
    assert text.startswith("On toy: GP-BO (latent: codes)")
    assert any(w in text for w in ("beats", "ties", "loses"))


def test_latent_verdict_without_latent_strategies_says_why(small_study):
    none, why = latent_verdict({k: v for k, v in small_study.traces.items() if "latent" not in k})
    assert none.empty
    assert "no latent" in why


def test_coverage_reads_what_ran_from_the_runs():
    import pandas as pd

    from nasvec.experiments.strategies_eval import coverage

    tab = coverage({"NAS-Bench-201": {"random": None}}, pd.DataFrame({"kind": ["training", "extrapolation"]}),
                   pd.DataFrame()).set_index("item")["run here"]
    assert (tab["cell-based"], tab["random search"], tab["evolution"], tab["learning-curve extrapolation"],
            tab["weight sharing (one-shot)"]) == ("yes", "yes", "no", "yes", "no")


def test_coverage_says_why_weight_inheritance_is_not_run():
    import pandas as pd

    from nasvec.experiments.strategies_eval import coverage

    tab = coverage({}, pd.DataFrame({"kind": []}), pd.DataFrame()).set_index("item")
    assert tab.loc["weight inheritance / network morphisms", "where / why not"].startswith("not run:")


def test_anchors_agree_within_noise_when_ours_is_near_theirs():
    import pandas as pd

    from nasvec.experiments.strategies_eval import anchors_table

    spear = pd.DataFrame({"strategy": ["synflow", "snip"], "kind": "proxy", "spearman": [0.74, 0.10], "n": 100,
                          "seconds": 0.1})
    assert anchors_table(spear).agreement.tolist() == ["within noise", "differs"]


def test_the_optimum_line_says_how_far_the_tables_best_is_from_nb201s():
    from nasvec.experiments.strategies_eval import optimum_line

    assert "94.07 %" in optimum_line(94.07) and "0.30 points higher" in optimum_line(94.07)


def test_a_negative_rho_does_not_agree_with_a_positive_anchor():
    import pandas as pd

    from nasvec.experiments.strategies_eval import anchors_table

    spear = pd.DataFrame({"strategy": ["synflow"], "kind": "proxy", "spearman": [-0.74], "n": 100, "seconds": 0.1})
    assert anchors_table(spear).agreement.tolist() == ["differs"]


def test_the_optimum_line_says_lower_when_ours_is_above_the_published_optimum():
    from nasvec.experiments.strategies_eval import optimum_line

    assert "0.13 points lower than ours" in optimum_line(94.50)


def test_the_top_two_are_compared_over_the_same_seeds_when_the_traces_are_given(anytime_table, small_study):
    _, text = nb101_ordering(anytime_table, queries=30, traces=small_study.traces)
    assert "over our seeds (paired)" in text
