"""Chapter 6's method (seed 002): structures, masked populations, quality and proximity, meta-models, competitors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from nasvec.errors import ConfigError, DataError, SearchError
from nasvec.experiments import structure as chapter
from nasvec.subsample import competitors, meta
from nasvec.subsample.masked import (ACTIVATIONS, FitConfig, Ledger, Structure, align, counts, errors, forward,
                                     init_weights, mask_penalty, mutate, proximity, quality, random_structure, train)
from nasvec.subsample.tasks import Task, TaskSpec, make_task

FAST = FitConfig(steps=40, lr=0.05)


@st.composite
def structures(draw, max_n=6, max_c=3):
    n = draw(st.integers(1, max_n))
    h = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    return Structure(rng.random((n, h)) < 0.4, rng.integers(len(ACTIVATIONS), size=h), rng.random((h, c)) < 0.5,
                     rng.integers(len(ACTIVATIONS), size=c)), rng


def toy_task(seed=0, n=3) -> Task:
    """``y = [x_0 > 0]``: the planted structure is input 0 -> hidden 0 (ReLU... any monotone) -> output 1."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((700, n)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    v1 = np.zeros((n, n), bool)
    v1[0, 0] = True
    v2 = np.zeros((n, 2), bool)
    v2[0, 1] = True
    planted = Structure(v1, np.zeros(n, int), v2, np.zeros(2, int))
    return Task("toy", x[:300], y[:300], x[300:500], y[300:500], x[500:], y[500:], 2, planted, "toy")


# --------------------------------------------------------------------------- structures
@given(structures())
@settings(deadline=None)
def test_K_counts_active_connections(zr):
    z, _ = zr
    assert z.K == int(np.count_nonzero(z.v1)) + int(np.count_nonzero(z.v2))


@given(structures(), st.data())
@settings(deadline=None)
def test_random_structure_has_the_share_and_mutate_keeps_K(zr, data):
    z, rng = zr
    share = (data.draw(st.floats(0.05, 1.0)), data.draw(st.floats(0.05, 1.0)))
    r = random_structure(z.shape, share, rng)
    k1, k2 = counts(z.shape, share)
    assert (int(r.v1.sum()), int(r.v2.sum())) == (k1, k2)
    try:
        m = mutate(r, rng)
    except SearchError:     # nothing to move and (never here) no activation to change
        return
    assert m.K == r.K and m.shape == r.shape and m != r


@given(structures(), st.data())
@settings(deadline=None)
def test_proximity_is_zero_at_itself_and_grows_by_alpha_or_beta_per_flip(zr, data):
    z, rng = zr
    alpha, beta = 0.7, 0.3
    assert proximity(z, z, 0.25, 0.25, alpha, beta) == 0.0
    v1, v2 = z.v1.copy(), z.v2.copy()
    flips = data.draw(st.integers(0, v1.size + v2.size))
    cells = rng.permutation(v1.size + v2.size)[:flips]
    added = removed = 0
    for cell in cells:
        v, i = (v1, cell) if cell < v1.size else (v2, cell - v1.size)
        flat = v.reshape(-1)
        added, removed = added + (not flat[i]), removed + bool(flat[i])
        flat[i] = not flat[i]
    other = Structure(v1, z.a1, v2, z.a2)
    assert proximity(other, z, 0.25, 0.25, alpha, beta) == pytest.approx(alpha * added + beta * removed)
    assert proximity(other, z, 0.4, 0.25, alpha, beta) == pytest.approx(0.15 + alpha * added + beta * removed)


@given(structures())
@settings(max_examples=50, deadline=None)
def test_align_undoes_a_permutation_of_hidden_neurons(zr):
    z, rng = zr
    perm = rng.permutation(z.shape[1])
    copy = z.permute_hidden(perm)
    assert mask_penalty(align(copy, z), z, 1.0, 1.0) == 0.0
    assert copy.K == z.K


def test_paper_F_charges_an_isomorphic_copy_and_aligned_F_does_not():
    z = toy_task().planted
    copy = z.permute_hidden([1, 0, 2])
    assert mask_penalty(copy, z, 0.01, 0.005) == pytest.approx(2 * 0.01 + 2 * 0.005)
    assert mask_penalty(align(copy, z), z, 0.01, 0.005) == 0.0


def test_structure_rejects_bad_shapes_and_activations():
    with pytest.raises(SearchError, match="v1 must be"):
        Structure(np.ones((3, 2), bool), np.zeros(2, int), np.ones((3, 2), bool), np.zeros(2, int))
    with pytest.raises(SearchError, match="one activation per hidden neuron"):
        Structure(np.ones((3, 2), bool), np.zeros(3, int), np.ones((2, 2), bool), np.zeros(2, int))
    with pytest.raises(SearchError, match="activation 9"):
        Structure(np.ones((3, 2), bool), np.array([0, 9]), np.ones((2, 2), bool), np.zeros(2, int))
    with pytest.raises(SearchError, match="permutation"):
        toy_task().planted.permute_hidden([0, 0, 1])


def test_quality_adds_C_per_connection():
    assert quality([0.1, 0.2], [10, 20], 0.01).tolist() == pytest.approx([0.2, 0.4])


# --------------------------------------------------------------------------- masked training
def test_masked_weights_get_zero_gradient_and_stay_zero():
    rng = np.random.default_rng(0)
    zs = [random_structure((5, 5, 3), (0.3, 0.5), rng) for _ in range(4)]
    w1, w2 = init_weights(zs, torch.Generator().manual_seed(0))
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    from nasvec.subsample.masked import stack_structures

    v1, a1, v2, a2 = stack_structures(zs)
    x = torch.randn(20, 5)
    forward(x, w1, w2, v1, a1, v2, a2).square().sum().backward()
    assert torch.all(w1.grad[v1 == 0] == 0) and torch.all(w2.grad[v2 == 0] == 0)
    assert w1.grad[v1 == 1].abs().sum() > 0
    t1, t2 = train(zs, x.numpy(), rng.integers(3, size=20), FitConfig(steps=5, lr=0.1))
    assert torch.all(t1[v1 == 0] == 0) and torch.all(t2[v2 == 0] == 0)
    assert not torch.equal(t1, w1.detach())


def test_population_training_equals_one_network_at_a_time():
    task = toy_task()
    rng = np.random.default_rng(1)
    zs = [random_structure((3, 3, 2), (0.5, 0.5), rng) for _ in range(3)]
    init = init_weights(zs, torch.Generator().manual_seed(0))
    together = errors(zs, train(zs, task.x_train, task.y_train, FAST, init=init), task.x_val, task.y_val)
    alone = [errors([z], train([z], task.x_train, task.y_train, FAST, init=(init[0][i:i + 1], init[1][i:i + 1])),
                    task.x_val, task.y_val)[0] for i, z in enumerate(zs)]
    assert together == pytest.approx(alone, abs=1e-6)


def test_training_charges_the_ledger_and_checks_its_data():
    task = toy_task()
    ledger = Ledger()
    zs = [task.planted] * 2
    train(zs, task.x_train, task.y_train, FAST, ledger=ledger)
    assert ledger.trainings == 2 and ledger.sample_steps == 2 * 300 * FAST.steps
    with pytest.raises(SearchError, match="read 3 inputs"):
        train(zs, task.x_train[:, :2], task.y_train, FAST)
    with pytest.raises(SearchError, match="2 outputs"):
        train(zs, task.x_train, task.y_train + 2, FAST)
    with pytest.raises(SearchError, match="one shape"):
        train([task.planted, random_structure((3, 4, 2), 0.5, np.random.default_rng(0))], task.x_train, task.y_train, FAST)


# --------------------------------------------------------------------------- searches
def test_random_search_on_a_planted_toy_task_recovers_the_planted_mask():
    task = toy_task()
    found = competitors.random_search(task, 120, (1 / 9, 1 / 6), 0.001, FAST, seed=0)
    assert found.ledger.trainings == 120
    aligned = align(found.z, task.planted)
    assert np.array_equal(aligned.v1, task.planted.v1)
    assert found.error < 0.05


@pytest.mark.parametrize("name", competitors.COMPETITORS)
def test_every_competitor_runs_on_a_toy_task_within_its_budget(name):
    task = toy_task()
    found = competitors.run(name, task, 7, (0.3, 0.5), 0.001, FAST, seed=0)
    assert 1 <= found.ledger.trainings <= 7
    assert found.z.shape == (3, 3, 2)
    assert found.quality == pytest.approx(found.error + 0.001 * found.z.K)
    if name in ("random search", "evolution", "magnitude pruning"):
        assert (int(found.z.v1.sum()), int(found.z.v2.sum())) == counts((3, 3, 2), (0.3, 0.5))


def test_competitors_refuse_what_they_cannot_do():
    with pytest.raises(SearchError, match="budget of at least 1"):
        competitors.random_search(toy_task(), 0, 0.5, 0.001, FAST, 0)
    with pytest.raises(SearchError, match="needs 2 trainings"):
        competitors.magnitude_pruning(toy_task(), 1, 0.5, 0.001, FAST, 0)
    with pytest.raises(SearchError, match="unknown competitor 'bohb'"):
        competitors.run("bohb", toy_task(), 5, 0.5, 0.001, FAST, 0)


def test_reinforce_moves_probability_towards_the_better_arm(monkeypatch):
    """Two arms: connection (0, 0) on or off. Scoring "on" as error 0 and "off" as error 1 (no training), the
    policy must hold that connection far more often in its last batches than in its first."""
    def fake_fit_score(zs, *args, ledger=None, **kwargs):
        ledger.add(len(zs), 0, 0.0)
        return {"val": np.array([0.0 if z.v1[0, 0] else 1.0 for z in zs]), "weights": None}

    monkeypatch.setattr(competitors, "fit_score", fake_fit_score)
    found = competitors.reinforce(toy_task(), 160, (0.3, 0.5), 0.0, FAST, seed=0, batch=8)
    on = [bool(z.v1[0, 0]) for z, _, _ in found.history]
    assert found.ledger.trainings == len(on) == 160
    assert np.mean(on[-24:]) > np.mean(on[:24]) + 0.2   # a flipped sign drives it towards 0 instead


# --------------------------------------------------------------------------- meta-models
def _records(zs, q=None):
    return [{"m": 50, "j": j, "idx": np.arange(50), "z": z, "quality": (q or [0.1] * len(zs))[j], "error": 0.1}
            for j, z in enumerate(zs)]


def test_vote_of_permuted_copies_is_the_structure():
    rng = np.random.default_rng(3)
    z = random_structure((6, 6, 2), (0.2, 0.5), rng)
    copies = [z.permute_hidden(rng.permutation(6)) for _ in range(5)]
    voted = meta.vote(_records([z] + copies, q=[0.0] + [0.1] * 5), (0.2, 0.5))
    assert voted == z


def test_every_meta_model_predicts_a_structure_with_the_search_share():
    task = toy_task()
    recs = meta.subsample_search(task.x_train, task.y_train, (3, 3, 2), [40, 80], 3, 6, (0.3, 0.5), 0.001, FAST,
                                 0.25, seed=0)
    assert len(recs) == 6 and all(r["z"] in r["candidates"] for r in recs)
    for name in meta.META_MODELS:
        z = meta.predict(name, recs, task.x_train, task.y_train, 2, (0.3, 0.5), seed=0, set_steps=20)
        assert (int(z.v1.sum()), int(z.v2.sum())) == counts((3, 3, 2), (0.3, 0.5)), name
    with pytest.raises(SearchError, match="unknown meta-model"):
        meta.predict("oracle", recs, task.x_train, task.y_train, 2, 0.5, 0)
    with pytest.raises(SearchError, match="subsample size 1000"):
        meta.subsample_search(task.x_train, task.y_train, (3, 3, 2), [1000], 1, 2, 0.5, 0.001, FAST, 0.25, 0)


# --------------------------------------------------------------------------- tasks and the chapter
def test_planted_task_is_balanced_and_labelled_by_its_structure():
    spec = TaskSpec(features=8, live=3, fan_in=2, informative=4, n_classes=3, n_train=300, n_val=50, n_test=50,
                    noise=0.0)
    task = make_task(spec, 0)
    assert task.planted.K == 3 * 2 + 3 * 3
    assert np.bincount(task.y_train, minlength=3).min() > 0
    assert not task.planted.v1[4:].any()        # only informative inputs are read
    again = make_task(spec, 0)
    assert np.array_equal(task.x_train, again.x_train) and task.planted == again.planted


def test_image_task_reduces_and_standardises():
    task = make_task({"name": "d", "source": "digits", "classes": [3, 8], "features": 6, "n_train": 100,
                      "n_val": 30, "n_test": 30}, 0)
    assert task.x_train.shape == (100, 6) and set(task.y_train.tolist()) == {0, 1}
    assert np.allclose(task.x_train.mean(0), 0, atol=1e-5)
    with pytest.raises(ConfigError, match="not two classes"):
        make_task({"name": "d", "source": "digits", "classes": [3, 11]}, 0)
    with pytest.raises(DataError, match="the splits need"):
        make_task({"name": "d", "source": "digits", "classes": [3, 8], "n_train": 1000}, 0)
    with pytest.raises(ConfigError, match="source must be"):
        TaskSpec(source="cifar")


def test_study_config_checks_its_main_point():
    with pytest.raises(ConfigError, match="main"):
        chapter.StudyConfig(sizes=(20, 40), ks=(1, 2), main=(30, 2))
    assert chapter.StudyConfig.from_dict({"fit": {"steps": 3}}).fit.steps == 3


def test_one_run_has_every_method_and_respects_the_budget():
    spec = TaskSpec(features=4, live=2, fan_in=1, informative=2, n_train=200, n_val=60, n_test=60)
    cfg = chapter.StudyConfig(sizes=(20, 40), ks=(1, 2), main=(40, 2), candidates=4, set_steps=10, fit=FAST)
    run = chapter.run_seed(spec, 0, cfg)
    methods = {r["method"] for r in run["rows"]}
    assert set(meta.META_MODELS) | set(competitors.COMPETITORS) | {chapter.REFERENCE_RS, "planted"} == methods
    for r in run["rows"]:
        if r["family"] == "whole data" and r["method"] != chapter.REFERENCE_RS:
            assert r["trainings"] <= run["budget"]
        assert r["F_aligned"] <= r["F_paper"] + 1e-12
    target = [r for r in run["rows"] if r["family"] == "target"]
    assert len(target) == 1 and target[0]["F_paper"] == 0.0


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    import os

    old = os.environ.get("NASVEC_CACHE")
    os.environ["NASVEC_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        tasks = [{"name": "p", "source": "planted", "features": 4, "live": 2, "fan_in": 1, "informative": 2,
                  "n_train": 200, "n_val": 60, "n_test": 60},
                 {"name": "d", "source": "digits", "classes": [3, 8], "features": 4, "n_train": 150, "n_val": 40,
                  "n_test": 40}]
        cfg = chapter.StudyConfig(sizes=(20, 40), ks=(1, 2), main=(40, 2), candidates=4, set_steps=10, fit=FAST)
        runs = chapter.run_all(tasks, [0, 1], cfg)
        again = chapter.run_all(tasks, [0, 1], cfg)
    finally:
        if old is None:
            os.environ.pop("NASVEC_CACHE")
        else:
            os.environ["NASVEC_CACHE"] = old
    return tasks, cfg, runs, again


def test_first_run_trains_every_run(tiny_runs):
    _, _, runs, _ = tiny_runs
    assert all(not r["from_cache"] for rs in runs.values() for r in rs)


def test_second_run_loads_every_run_from_the_cache(tiny_runs):
    _, _, _, again = tiny_runs
    assert all(r["from_cache"] for rs in again.values() for r in rs)


def test_runs_from_the_cache_give_the_same_frame(tiny_runs):
    _, _, runs, again = tiny_runs
    assert chapter.frame(runs).equals(chapter.frame(again))


def test_summary_covers_each_task_on_every_seed(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    summary = chapter.summary(chapter.frame(runs), cfg.main)
    assert set(summary.task) == {"p", "d"}
    assert (summary.seeds == 2).all()


def test_summary_target_family_is_the_planted_and_the_best_whole_data_structure(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    summary = chapter.summary(chapter.frame(runs), cfg.main)
    assert set(summary[summary.family == "target"].method) == {"planted", "best whole-data structure"}


def test_sweep_has_a_row_per_task_meta_model_size_and_k(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    sw = chapter.sweep(chapter.frame(runs))
    assert len(sw) == 2 * len(meta.META_MODELS) * len(cfg.sizes) * len(cfg.ks)


def test_tasks_table_names_the_classes(tiny_runs):
    tasks, _, _, _ = tiny_runs
    assert list(chapter.tasks_table(tasks).classes) == ["2 (teacher)", "3 vs 8"]


def test_design_table_gives_each_task_a_budget(tiny_runs):
    _, _, runs, _ = tiny_runs
    assert (chapter.design_table(runs)["budget (whole-data trainings, the route's)"] >= 2).all()


def test_the_competitors_budget_covers_the_routes_whole_data_training_of_every_meta_model(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    for run in runs["p"]:
        vote = next(r for r in run["rows"] if r["method"] == "vote" and (r["m"], r["k"]) == cfg.main)
        assert run["budget"] >= vote["full_equiv"] + len(meta.META_MODELS) - 1


def test_the_route_is_charged_the_whole_data_trainings_of_the_meta_models_it_did_not_choose(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    df = chapter.frame(runs)
    route = chapter.route_rows(df, cfg.main).iloc[0]
    chosen = df[(df.task == route.task) & (df.seed == route.seed) & (df.method == route.picked) &
                (df.m == cfg.main[0]) & (df.k == cfg.main[1])].iloc[0]
    assert route.full_equiv == chosen.full_equiv + len(meta.META_MODELS) - 1


def test_the_summary_and_the_cost_table_show_the_route(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    df = chapter.frame(runs)
    assert chapter.ROUTE in set(chapter.summary(df, cfg.main).method) & set(chapter.timing(df, cfg.main).method)


def test_provenance_counts_no_runs_from_the_cache_in_the_first_run(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    assert (chapter.provenance(runs, cfg)["runs from cache"] == 0).all()


def test_permutation_table_paper_f_sees_permutations_aligned_f_does_not(tiny_runs):
    _, _, runs, _ = tiny_runs
    perm = chapter.permutation_table(runs)
    assert (perm["F(Z, permuted Z), paper"] > 0).any()
    assert (perm["F aligned (ours)"] == 0).all()


def test_timing_table_has_a_column_per_task(tiny_runs):
    _, cfg, runs, _ = tiny_runs
    cost = chapter.timing(chapter.frame(runs), cfg.main)
    assert set(cost.method) >= set(competitors.COMPETITORS)
    assert list(cost.columns) == ["method", "p", "d"]


def _verdict_frame(tiny_runs, vote, rs):
    """The tiny runs with the vote's and random search's test errors at the main point set per seed."""
    _, cfg, runs, _ = tiny_runs
    df = chapter.frame(runs)
    main = (df.family != "subsamples") | ((df.m == cfg.main[0]) & (df.k == cfg.main[1]))
    df.loc[main & df.method.isin(meta.META_MODELS), "quality"] = 0.5
    df.loc[main & (df.method == "vote"), "quality"] = 0.1
    for seed, (v, r) in enumerate(zip(vote, rs)):
        df.loc[main & (df.seed == seed) & (df.method == "vote"), "test_error"] = v
        df.loc[main & (df.seed == seed) & (df.method == "random search"), "test_error"] = r
    return df, runs, cfg.main


def test_the_verdict_names_the_chosen_meta_model_and_its_error(tiny_runs):
    text = chapter.verdict(*_verdict_frame(tiny_runs, [0.01, 0.01], [0.30, 0.30]))
    assert "(*vote* on 2 of 2 seeds) reaches a test error of 0.0100" in text


def test_a_difference_over_two_standard_errors_is_a_verdict(tiny_runs):
    text = chapter.verdict(*_verdict_frame(tiny_runs, [0.01, 0.02], [0.30, 0.30]))
    assert "the subsample route is better (lower test error, over 2 standard errors), -0.2850 ± 0.0050" in text


def test_a_difference_within_two_standard_errors_is_a_tie(tiny_runs):
    text = chapter.verdict(*_verdict_frame(tiny_runs, [0.10, 0.30], [0.20, 0.19]))
    assert "the subsample route is a tie (the paired difference is within 2 standard errors)" in text


def test_chapter_figures(tiny_runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nasvec.book.plots import structure as figures

    _, cfg, runs, _ = tiny_runs
    df = chapter.frame(runs)
    summary = chapter.summary(df, cfg.main)
    for fig in (figures.sweep(chapter.sweep(df), summary, "p", cfg.main), figures.pareto(df, cfg.main),
                figures.masks(runs["p"][0], ["vote", "random search"])):
        assert fig.axes
        plt.close(fig)


def test_the_hint_line_gives_the_searchs_k_beside_the_targets(tiny_runs):
    _, _, runs, _ = tiny_runs
    line = chapter.hint_line(runs)
    assert f"p {runs['p'][0]['K_search']} against" in line and "(planted)" in line


def _share_runs():
    import pandas as pd

    rows = []
    for seed in range(3):
        for g, k, v, t in ((0.1, 10, 0.20, 0.21), (0.2, 20, 0.15, 0.16), (0.4, 40, 0.14, 0.30), (None, 20, 0.15, 0.16 + seed / 100)):
            rows.append({"task": "p", "seed": seed, "hint": g is None, "grid share": float("nan") if g is None else g,
                         "share": "", "K": k, "val_error": v, "test_error": t, "sample_steps": 1})
    return pd.DataFrame(rows)


def test_without_a_penalty_validation_picks_the_largest_share():
    from nasvec.experiments.structure_share import by_c

    row = by_c(_share_runs(), c_range=(0.0,)).iloc[0]
    assert (row["shares picked"], row["against the hint"]) == ("0.4, 0.4, 0.4", "higher")


def test_a_penalty_on_k_moves_the_pick_to_a_smaller_share():
    from nasvec.experiments.structure_share import by_c

    assert by_c(_share_runs(), c_range=(0.01,)).iloc[0]["shares picked"] == "0.1, 0.1, 0.1"


def test_the_hints_share_is_never_picked():
    from nasvec.experiments.structure_share import by_c

    runs = _share_runs()
    runs.loc[runs.hint, "val_error"] = 0.0     # the best validation: still not on the grid
    assert "nan" not in by_c(runs, c_range=(0.0,)).iloc[0]["shares picked"]


def test_the_share_search_runs_the_vote_at_each_share_and_at_the_hint(tiny_runs):
    from nasvec.experiments.structure_share import share_seed
    from nasvec.subsample.tasks import TaskSpec

    tasks, cfg, _, _ = tiny_runs
    rows = share_seed(TaskSpec.from_dict(tasks[0]), 0, cfg, grid=(0.1, 0.5))
    assert [r["hint"] for r in rows] == [False, False, True] and rows[1]["K"] > rows[0]["K"]


def test_the_meta_model_is_picked_on_each_seed_by_that_seeds_validation():
    import pandas as pd

    at = pd.DataFrame({"seed": [0, 0, 1, 1], "method": ["vote", "set encoder"] * 2, "quality": [0.1, 0.2, 0.3, 0.2],
                       "test_error": [0.05, 0.5, 0.6, 0.07]})
    picks, errors = chapter.picked_per_seed(at, ["vote", "set encoder"])
    assert (picks.tolist(), errors.tolist()) == (["vote", "set encoder"], [0.05, 0.07])
