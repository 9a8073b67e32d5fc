"""GP regression and Bayesian optimisation on codes (chapter 2), on toy functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasvec.compress import latent
from nasvec.data import enas_to_graph, generate_enas
from nasvec.errors import CompressError
from nasvec.graph import ArchGraph, Node


def toy(n=80, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2
    return X, y


def test_exact_gp_interpolates_and_is_unsure_far_away():
    X, y = toy()
    gp = latent.ExactGP(iters=150).fit(X, y)
    mean, var = gp.predict(X)
    assert np.sqrt(np.mean((mean - y) ** 2)) < 0.1 * y.std()
    _, far_var = gp.predict(np.full((1, 2), 30.0))
    assert far_var[0] > 10 * var.max()


def test_exact_gp_generalises_on_a_smooth_function():
    X, y = toy(120, seed=1)
    Xt, yt = toy(200, seed=2)
    r = latent.gp_prediction(X, y, Xt, yt, sparse=False, iters=150, lr=0.05)
    assert r["rmse"] < 0.3 and r["pearson"] > 0.95
    assert r["rmse_raw"] == pytest.approx(r["rmse"] * y.std())


def test_sparse_gp_agrees_with_the_exact_gp():
    X, y = toy(300, seed=3)
    Xt, _ = toy(100, seed=4)
    exact = latent.ExactGP(iters=150).fit(X, y).predict(Xt)[0]
    sparse = latent.SparseGP(n_inducing=60, iters=150, batch=300, lr=0.05).fit(X, y).predict(Xt)[0]
    assert np.corrcoef(exact, sparse)[0, 1] > 0.97


def test_sparse_gp_uses_minibatches_smaller_than_the_data():
    X, y = toy(500, seed=5)
    Xt, yt = toy(200, seed=6)
    r = latent.gp_prediction(X, y, Xt, yt, n_inducing=50, iters=100, batch=100, lr=0.05)
    assert r["pearson"] > 0.9


def test_constant_code_dimensions_far_from_zero_do_not_blind_the_gp():
    """Codes often have dimensions that (nearly) never change, e.g. the input node's slice of a per-node code.
    Far from 0 they once made the distances cancel catastrophically and every prediction the prior mean."""
    X, y = toy(300, seed=7)
    Xt, yt = toy(100, seed=8)
    pad = lambda A: np.hstack([A, np.full((len(A), 3), 7.3), 7.3 + 1e-5 * np.arange(len(A))[:, None] % 2])
    plain = latent.gp_prediction(X, y, Xt, yt, n_inducing=50, iters=100, batch=300, lr=0.05)
    padded = latent.gp_prediction(pad(X), y, pad(Xt), yt, n_inducing=50, iters=100, batch=300, lr=0.05)
    assert padded["pearson"] > 0.9 and abs(padded["pearson"] - plain["pearson"]) < 0.05


def test_gp_inputs_are_checked():
    X, y = toy(10)
    with pytest.raises(CompressError, match="10 codes but 9 targets"):
        latent.ExactGP().fit(X, y[:9])
    with pytest.raises(CompressError, match="train codes have 2 dimensions, test codes 3"):
        latent.gp_prediction(X, y, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(CompressError, match="NaN"):
        latent.ExactGP().fit(np.where(X > 1, np.nan, X), y)
    assert np.isnan(latent.pearson_r([1, 1, 1], [1, 2, 3]))


@settings(max_examples=50, deadline=None)
@given(mean=st.floats(-5, 5), var=st.floats(1e-6, 4), best=st.floats(-5, 5), dm=st.floats(0.01, 3))
def test_expected_improvement_is_nonnegative_and_grows_with_the_mean(mean, var, best, dm):
    lo, hi = latent.expected_improvement([mean, mean + dm], [var, var], best)
    assert lo >= 0 and hi >= lo
    assert latent.expected_improvement([mean], [var], best)[0] >= max(mean - best, 0) - 1e-9


def test_bo_finds_the_maximum_of_a_small_pool_faster_than_random():
    rng = np.random.default_rng(0)
    codes = rng.uniform(-1, 1, size=(150, 2))
    values = -((codes[:, 0] - 0.3) ** 2) - (codes[:, 1] + 0.2) ** 2
    top = values.max()

    def queries_to_max(trace):
        return int(np.argmax(np.asarray(trace) >= top)) + 1 if np.max(trace) >= top else len(trace) + 1

    bo = [queries_to_max(latent.bo_pool(codes, values, 40, n_init=5, seed=s, gp_iters=20)) for s in range(6)]
    rnd = [queries_to_max(latent.random_pool(values, 40, seed=s)) for s in range(6)]
    assert np.mean(bo) < np.mean(rnd)


def test_pool_searches_query_distinct_points_and_check_sizes():
    codes = np.arange(20, dtype=float)[:, None]
    values = np.sin(codes[:, 0])
    trace = latent.bo_pool(codes, values, 12, n_init=3, seed=1, gp_iters=5)
    assert len(trace) == 12 and len(set(trace.tolist())) == 12
    assert len(set(latent.random_pool(values, 20, seed=2).tolist())) == 20
    with pytest.raises(CompressError, match="n_queries \\(30\\) <= pool size \\(20\\)"):
        latent.bo_pool(codes, values, 30, n_init=3)
    with pytest.raises(CompressError, match="do not match"):
        latent.bo_pool(codes[:5], values, 3, n_init=1)
    assert np.all(np.diff(latent.best_so_far(trace)) >= 0)


def test_search_experiment_table():
    codes = np.linspace(0, 1, 30)[:, None]
    values = codes[:, 0] ** 2
    df = latent.search_experiment({"toy": codes}, values, n_queries=8, n_init=2, seeds=[0, 1], gp_iters=5)
    assert set(df["method"]) == {"random", "BO (toy)"}
    assert len(df) == 2 * 2 * 8
    assert (df.groupby(["method", "seed"])["best"].apply(lambda s: s.is_monotonic_increasing)).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_synthetic_score_is_in_range(seed):
    for g in generate_enas(4, seed=seed):
        s = latent.synthetic_score(g)
        assert 0.70 <= s <= 0.70 + 6 * 0.007 + 0.015 + 0.004


def test_synthetic_score_rewards_convolutions_and_rejects_other_ops():
    pools = enas_to_graph([[4], [4, 0], [4, 0, 0], [4, 0, 0, 0], [4, 0, 0, 0, 0], [4, 0, 0, 0, 0, 0]])
    convs = enas_to_graph([[2], [2, 0], [2, 0, 0], [2, 0, 0, 0], [2, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0]])
    assert latent.synthetic_score(convs) > latent.synthetic_score(pools)
    with pytest.raises(CompressError, match="'Relu' is not an ENAS op"):
        latent.synthetic_score(ArchGraph([Node("input"), Node("Relu"), Node("output")], [(0, 1), (1, 2)]))
