"""The benchmark protocol of nasvec.strategies (issue 29): a strategy assumes nothing a benchmark does not declare."""

import numpy as np
import pytest

from nasvec.errors import SearchError
from nasvec.strategies.blackbox import LocalSearch, RandomSearch, RegularizedEvolution, Reinforce
from nasvec.strategies.bo import GPBO, Bananas
from nasvec.strategies.runner import Table, run
from nasvec.strategies.space import Space

STRATEGIES = {"random": RandomSearch, "evolution": RegularizedEvolution, "local search": LocalSearch,
              "REINFORCE": Reinforce, "GP-BO": GPBO, "BANANAS": Bananas}


def _bench(space, seed=0, unit="%"):
    rng = np.random.default_rng(seed)
    val = 60 + 30 * rng.random(len(space))
    test = val + rng.normal(0, 3, len(space))
    scale = 0.01 if unit == "fraction" else 1.0
    return Table("toy", space, val * scale, test=test * scale, unit=unit)


def test_a_product_space_takes_a_number_of_choices_per_position():
    sp = Space.product("uneven", (3, 5, 2))
    assert len(sp) == 30 and sp.cards == (3, 5, 2) and sp.codes.max(0).tolist() == [2, 4, 1]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_an_invalid_code_is_never_queried(name):
    sp = Space.product("toy", (4, 4, 3), valid=lambda c: c[:, 0] != 3)
    trace = run(STRATEGIES[name], _bench(sp), 3, 30, seed=1)
    assert (sp.codes[trace.ids.reshape(-1), 0] != 3).all()


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_isomorphic_codes_are_queried_once_as_their_canonical_member(name):
    sp = Space.product("sym", (4, 4, 3), canonical=lambda c: np.concatenate([np.sort(c[:, :2], 1), c[:, 2:]], 1))
    trace = run(STRATEGIES[name], _bench(sp), 3, 25, seed=2)
    ids = trace.ids
    assert sp.allowed[ids].all() and all(len(set(r)) == len(r) for r in ids.tolist())


def test_reinforce_searches_the_same_on_percent_and_on_fractions():
    sp = Space.product("toy", (4, 4, 4))
    a = run(Reinforce, _bench(sp, unit="%"), 4, 40, seed=3)
    b = run(Reinforce, _bench(sp, unit="fraction"), 4, 40, seed=3)
    assert np.array_equal(a.ids, b.ids)


def test_reinforce_moves_its_policy_on_fractions():
    sp = Space.product("toy", (4, 4, 4))
    strat = Reinforce(sp, 2, 0)
    for _ in range(10):
        ids = strat.ask()
        strat.tell(ids, np.linspace(0.5, 0.9, 2)[:, None] + 0.01 * sp.codes[ids[:, 0], 0][:, None])
    assert np.abs(strat.logits).max() > 1e-3


def test_pool_neighbourhoods_are_complete_by_default():
    codes = np.array([[0] * 6] + [[1 if j == p else 0 for j in range(6)] for p in range(6)]
                     + [[2 if j == p else 0 for j in range(6)] for p in range(6)]
                     + [[3 if j == p else 0 for j in range(6)] for p in range(6)]
                     + [[4 if j == p else 0 for j in range(6)] for p in range(6)]
                     + [[5 if j == p else 0 for j in range(6)] for p in range(6)])
    assert len(Space.pool("star", codes).neighbours(0)) == 30 and len(Space.pool("star", codes, k=24).neighbours(0)) == 24


def test_a_space_shaped_like_nb201_gets_no_path_encoding_unless_it_declares_the_cell():
    sp = Space.product("not a cell", 6, 5)
    with pytest.raises(SearchError, match="declared cell"):
        sp.encode("path")
    assert Bananas(sp, 1, 0).features.shape[1] == 30   # one-hot: 6 positions x 5 choices


def test_the_trace_keeps_validation_and_test_apart():
    sp = Space.product("toy", (4, 4, 3))
    bench = _bench(sp)
    trace = run(RandomSearch, bench, 2, 48, seed=4)
    assert np.allclose(trace.regret()[:, -1], 0) and np.allclose(trace.test_regret()[:, -1], bench.floor)


def test_the_floor_is_the_test_regret_of_the_oracle_validation_pick():
    sp = Space.product("toy", (2, 2))
    bench = Table("t", sp, [1.0, 4.0, 2.0, 3.0], test=[9.0, 5.0, 7.0, 6.0])
    assert bench.floor == 4.0 and bench.same_signal is False


def test_a_benchmark_with_one_score_reports_what_it_searches():
    sp = Space.product("toy", (2, 2))
    bench = Table("t", sp, [1.0, 4.0, 2.0, 3.0])
    assert bench.same_signal and bench.floor == 0.0 and bench.report([1]).tolist() == [4.0]


def test_a_unit_other_than_percent_or_fraction_is_refused():
    with pytest.raises(SearchError, match="unit"):
        Table("t", Space.product("toy", (2, 2)), [1.0, 4.0, 2.0, 3.0], unit="points")


def test_the_worked_example_runs_every_strategy_without_waste(tmp_path, monkeypatch):
    from nasvec.experiments import strategies as chapter, strategies_byob as own

    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    bench = own.generated_benchmark(0)
    runs = chapter.run_study(bench, chapter.makers(bench), 2, 15, 0)
    hygiene = own.hygiene(runs, bench)
    assert set(hygiene.strategy) == set(chapter.makers(bench))
    assert (hygiene["not architectures"] == 0).all() and (hygiene["repeats of an architecture"] == 0).all()


def test_the_worked_example_keeps_the_two_scores_apart():
    from nasvec.experiments import strategies_byob as own

    bench = own.generated_benchmark(0)
    assert bench.unit == "fraction" and not bench.same_signal and bench.floor >= 0
