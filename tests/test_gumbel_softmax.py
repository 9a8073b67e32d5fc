"""nasvec.dnas.gumbel_softmax and nasvec.experiments.gumbel: the sampler's statistics, the candidate limits, E[gamma(t)] by quadrature,
the gradient estimators and the tiny mixed-op network (chapter 4)."""

import math

import numpy as np
import pytest
import torch

from nasvec.experiments import gumbel as X
from nasvec.dnas import gumbel_softmax as G
from nasvec.dnas.simplex import simplex_grid, to_plane

ALPHA = torch.tensor([1.0, 0.5, -0.3], dtype=torch.float64)
VALUES = torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- sampler
def test_samples_lie_on_the_simplex():
    alpha = torch.randn(4, 5, dtype=torch.float64, generator=gen(1))
    for t in (10.0, 1.0, 0.01):
        g = G.sample(alpha, t, 500, gen())
        assert g.shape == (500, 4, 5)
        assert (g >= 0).all()
        assert torch.allclose(g.sum(-1), torch.ones(500, 4, dtype=torch.float64))


@pytest.mark.parametrize("alpha", [[1.0, 0.5, -0.3], [0.0, 0.0], [2.0, -1.0, 0.3, 0.3, -4.0]])
def test_argmax_frequencies_match_softmax_within_binomial_bound(alpha):
    n = 40_000
    m = G.sample_vertices(alpha, n, gen(2))
    freq = torch.bincount(m, minlength=len(alpha)).double() / n
    p = torch.softmax(torch.tensor(alpha, dtype=torch.float64), 0)
    bound = 5 * torch.sqrt(p * (1 - p) / n)
    assert ((freq - p).abs() <= bound).all(), (freq, p)


def test_argmax_of_gumbel_softmax_samples_is_the_gumbel_max_vertex():
    # same noise: argmax of softmax((alpha+g)/t) = argmax(alpha+g) for every t
    a = torch.tensor([0.2, -0.1, 0.7], dtype=torch.float64)
    for t in (5.0, 0.1):
        assert torch.equal(G.sample(a, t, 1000, gen(3)).argmax(-1), G.sample_vertices(a, 1000, gen(3)))


def test_samples_approach_vertices_as_t_falls():
    dist = []
    for t in (3.0, 0.3, 0.03, 0.003):
        g = G.sample(ALPHA, t, 4000, gen(4))
        dist.append(float((1 - g.max(-1).values).mean()))  # mean distance to the nearest vertex (in max-norm terms)
    assert all(a > b for a, b in zip(dist, dist[1:])), dist
    assert dist[-1] < 0.01


def test_sample_is_seeded_and_differentiable():
    a = ALPHA.clone().requires_grad_(True)
    g1 = G.sample(a, 0.5, 10, gen(5))
    assert torch.equal(g1, G.sample(ALPHA, 0.5, 10, gen(5)))
    (g1[:, 0] * 2 + g1[:, 2]).sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


@pytest.mark.parametrize("t", [0, -1.0, float("nan")])
def test_non_positive_temperature_is_a_clear_error(t):
    with pytest.raises(ValueError, match="temperature t"):
        G.sample(ALPHA, t)
    with pytest.raises(ValueError, match="temperature t"):
        G.expect(G.linear(VALUES), ALPHA, t, 10)
    with pytest.raises(ValueError, match="temperature t"):
        G.exact_mean(ALPHA, t)
    with pytest.raises(ValueError, match="temperature t"):
        G.pathwise_grads(G.linear(VALUES), ALPHA, t, 10)


def test_bad_shapes_and_values_are_clear_errors():
    with pytest.raises(ValueError, match="alpha must have at least 2 logits"):
        G.relaxed_mean([1.0], 1.0)
    with pytest.raises(ValueError, match="alpha must be a vector"):
        G.exact_mean(torch.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        G.vertex_probabilities([0.0, float("inf")])
    with pytest.raises(TypeError, match="alpha must be a floating-point tensor"):
        G.sample([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        G.sample(ALPHA, 1.0, 0)
    with pytest.raises(ValueError, match="n must be at least 2"):
        G.expect(G.linear(VALUES), ALPHA, 1.0, 1)
    with pytest.raises(ValueError, match="f must map a batch"):
        G.expect(lambda g: g.sum(), ALPHA, 1.0, 10)
    with pytest.raises(ValueError, match="baseline"):
        G.score_function_grads(G.linear(VALUES), ALPHA, 10, baseline="mean")
    with pytest.raises(ValueError, match="f must be differentiable"):
        G.pathwise_grads(lambda g: g.detach()[:, 0], ALPHA, 1.0, 4)


# --------------------------------------------------------------------------- candidate limits
def test_relaxed_mean_tends_to_the_argmax_vertex():
    assert torch.allclose(G.relaxed_mean(ALPHA, 1.0), torch.softmax(ALPHA, 0))
    assert torch.equal(G.relaxed_mean(ALPHA, 0), torch.tensor([1.0, 0, 0], dtype=torch.float64))
    assert torch.allclose(G.relaxed_mean(ALPHA, 1e-3), G.relaxed_mean(ALPHA, 0))
    tie = G.relaxed_mean([2.0, 2.0, 0.0], 0)
    assert torch.allclose(tie, torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    top = [float(G.relaxed_mean(ALPHA, t)[0]) for t in (10, 1, 0.1, 0.01)]
    assert all(a < b for a, b in zip(top, top[1:]))


def test_vertex_expectation_is_the_softmax_average_of_vertex_values():
    f = G.linear(VALUES)
    p = torch.softmax(ALPHA, 0)
    assert torch.allclose(G.vertex_expectation(f, ALPHA), (p * VALUES).sum())
    assert torch.allclose(G.vertex_values(f, 3), VALUES)
    q = G.quadratic([0.2, 0.5, 0.3])
    expected = sum(float(p[m]) * float(((torch.eye(3, dtype=torch.float64)[m] - torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)) ** 2).sum())
                   for m in range(3))
    assert math.isclose(float(G.vertex_expectation(q, ALPHA)), expected, rel_tol=1e-12)


def test_expect_estimates_shrink_like_one_over_sqrt_n_and_bands_cover():
    f = G.linear(VALUES)
    small = G.expect(f, ALPHA, 1.0, 2_000, gen(6))
    large = G.expect(f, ALPHA, 1.0, 200_000, gen(6), batch=30_000)
    assert 5 < float(small.se / large.se) < 20  # sqrt(100) = 10
    exact = float(G.exact_mean(ALPHA, 1.0) @ VALUES)
    lo, hi = large.ci(z=5)
    assert lo <= exact <= hi
    vec = G.expect(lambda g: g, ALPHA, 1.0, 20_000, gen(7))
    assert vec.mean.shape == (3,) and vec.se.shape == (3,)
    assert math.isclose(float(vec.mean.sum()), 1.0, rel_tol=1e-9)


def test_expect_standard_error_is_exact_for_constants_and_shift_invariant():
    const = G.expect(lambda g: torch.full((g.shape[0],), 7.0, dtype=torch.float64), ALPHA, 0.5, 1000, gen(18), batch=300)
    assert float(const.mean) == 7.0 and float(const.se) == 0.0
    base = G.expect(lambda g: g[:, 0], ALPHA, 0.5, 5000, gen(19), batch=1000)
    shifted = G.expect(lambda g: g[:, 0] + 1e9, ALPHA, 0.5, 5000, gen(19), batch=1000)
    assert math.isclose(float(shifted.se), float(base.se), rel_tol=1e-4)
    assert math.isclose(float(shifted.mean) - 1e9, float(base.mean), abs_tol=1e-6)


# --------------------------------------------------------------------------- exact E[gamma(t)]
@pytest.mark.parametrize("t", [10.0, 1.0, 0.3, 0.05])
def test_exact_mean_matches_monte_carlo(t):
    exact = G.exact_mean(ALPHA, t)
    mc = G.expect(lambda g: g, ALPHA, t, 200_000, gen(8), batch=50_000)
    assert ((exact - mc.mean).abs() <= 5 * mc.se).all(), (exact, mc.mean, mc.se)


def test_exact_mean_is_a_point_of_the_simplex_and_stable_in_the_step():
    alpha = torch.tensor([3.0, -2.0, 0.0, 1.0, 5.0], dtype=torch.float64)
    for t in (10.0, 1.0, 0.1, 1e-3):
        m = G.exact_mean(alpha, t)
        assert (m > 0).all() and abs(float(m.sum()) - 1) < 1e-9
        assert float((m - G.exact_mean(alpha, t, h=0.04)).abs().max()) < 1e-9


def test_exact_mean_limits_and_symmetry():
    # t -> 0: softmax(alpha) (Gumbel-max), NOT Softmax(alpha / t); t -> infinity: uniform
    assert torch.allclose(G.exact_mean(ALPHA, 1e-3), torch.softmax(ALPHA, 0), atol=1e-6)
    assert float((G.exact_mean(ALPHA, 1e-3) - G.relaxed_mean(ALPHA, 1e-3)).abs().max()) > 0.4
    assert torch.allclose(G.exact_mean(ALPHA, 30.0), torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.02)
    assert torch.allclose(G.exact_mean([0.4, 0.4, 0.4, 0.4], 0.7), torch.full((4,), 0.25, dtype=torch.float64))
    # at t = 1 the mean is strictly between uniform and softmax(alpha) for the top logit
    m1 = G.exact_mean(ALPHA, 1.0)
    assert 1 / 3 < float(m1[0]) < float(torch.softmax(ALPHA, 0)[0])


def test_exact_jacobian_matches_finite_differences():
    alpha = torch.tensor([0.3, -0.8, 1.1, 0.0], dtype=torch.float64)
    for t in (2.0, 0.5, 0.05):
        _, jac = G.exact_mean(alpha, t, jacobian=True)
        eps = 1e-5
        fd = torch.stack([(G.exact_mean(alpha + eps * e, t) - G.exact_mean(alpha - eps * e, t)) / (2 * eps)
                          for e in torch.eye(4, dtype=torch.float64)], 1)
        assert torch.allclose(jac, fd, atol=1e-6)
        assert torch.allclose(jac.sum(0), torch.zeros(4, dtype=torch.float64), atol=1e-9)
        assert torch.allclose(jac, jac.T, atol=1e-9)


# --------------------------------------------------------------------------- gradient estimators
def test_pathwise_gradient_is_unbiased_for_the_relaxed_objective():
    f = G.linear(VALUES)
    for t in (1.0, 0.3):
        est = G.summarize(G.pathwise_grads(f, ALPHA, t, 100_000, gen(9)))
        exact = G.exact_mean(ALPHA, t, jacobian=True)[1].T @ VALUES
        assert ((est.mean - exact).abs() <= 5 * est.se + 1e-12).all(), (est.mean, exact)


def test_score_function_gradient_is_unbiased_for_the_discrete_objective():
    f = G.linear(VALUES)
    exact = G.discrete_grad(f, ALPHA)
    plain = G.summarize(G.score_function_grads(f, ALPHA, 100_000, gen(10)))
    loo = G.summarize(G.score_function_grads(f, ALPHA, 100_000, gen(10), baseline="loo"))
    assert ((plain.mean - exact).abs() <= 5 * plain.se).all()
    assert ((loo.mean - exact).abs() <= 5 * loo.se).all()
    assert loo.total_variance < plain.total_variance  # the baseline reduces the variance


def test_discrete_and_relaxed_gradients_agree_with_autograd():
    f = G.quadratic([0.2, 0.5, 0.3])
    a = ALPHA.clone().requires_grad_(True)
    G.vertex_expectation(f, a).backward()
    assert torch.allclose(G.discrete_grad(f, ALPHA), a.grad)
    assert torch.allclose(G.discrete_grad(f, ALPHA).sum(), torch.zeros((), dtype=torch.float64), atol=1e-12)
    b = ALPHA.clone().requires_grad_(True)
    f(torch.softmax(b / 0.5, 0)[None]).sum().backward()
    assert torch.allclose(G.relaxed_grad(f, ALPHA, 0.5), b.grad)


def test_pathwise_variance_grows_as_t_falls_while_reinforce_does_not_depend_on_t():
    f = G.linear(VALUES)
    var = [G.summarize(G.pathwise_grads(f, ALPHA, t, 20_000, gen(11))).total_variance for t in (1.0, 0.3, 0.1)]
    assert var[0] < var[1] < var[2], var


def test_pathwise_mean_approaches_the_discrete_gradient_as_t_falls():
    f = G.linear(VALUES)
    target = G.discrete_grad(f, ALPHA)
    gaps = [float((G.exact_mean(ALPHA, t, jacobian=True)[1].T @ VALUES - target).norm()) for t in (1.0, 0.3, 0.1, 0.03)]
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps


# --------------------------------------------------------------------------- the tiny network
def toy_digits(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 1, 8, 8)).astype(np.float32) * 0.3
    for c in range(3):
        x[y == c, 0, 2 * c:2 * c + 2, :] += 1.0  # class c lights rows 2c, 2c+1
    return x, y


def test_mixed_net_trains_and_its_objective_is_a_differentiable_f():
    x, y = toy_digits()
    trained = X.train_mixed_net(x, y, X.MixedNetConfig(epochs=8, lr=1e-2, channels=4, seed=0))
    assert trained["loss"][-1] < trained["loss"][0]
    model = X.load_mixed_net(trained)
    f = X.network_objective(model, x, y, kappa=0.5, s=[0.7, 0.15, 0.15])
    gamma = G.sample(ALPHA, 0.5, 5, gen(12))
    vals = f(gamma)
    assert vals.shape == (5,) and torch.isfinite(vals).all()
    # f agrees with the model's own forward pass (plus the cost term)
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(model(torch.as_tensor(x), gamma[0].float()), torch.as_tensor(y))
    assert math.isclose(float(vals[0]), float(ce) + 0.5 * float(gamma[0] @ torch.tensor([0.7, 0.15, 0.15], dtype=torch.float64)),
                        rel_tol=1e-4)
    grads = G.pathwise_grads(f, ALPHA, 0.5, 6, gen(13))
    assert grads.shape == (6, 3) and torch.isfinite(grads).all() and grads.abs().sum() > 0
    # raising kappa on an op raises f at that op's vertex by exactly kappa * s_m
    f0 = X.network_objective(model, x, y, kappa=0.0)
    e = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(f(e) - f0(e), 0.5 * torch.tensor([0.7, 0.15, 0.15], dtype=torch.float64), atol=1e-9)


def test_network_objective_rejects_bad_inputs():
    x, y = toy_digits(20)
    model = X.load_mixed_net(X.train_mixed_net(x, y, X.MixedNetConfig(epochs=1, channels=2)))
    with pytest.raises(ValueError, match="s must be a point of the simplex"):
        X.network_objective(model, x, y, kappa=1.0, s=[0.5, 0.5, 0.5])
    f = X.network_objective(model, x, y)
    with pytest.raises(ValueError, match="gamma must be a batch"):
        f(torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="x must be"):
        X.train_mixed_net(x[:, 0], y, X.MixedNetConfig())
    with pytest.raises(ValueError, match="gamma must be"):
        model(torch.as_tensor(x), torch.ones(2))


# --------------------------------------------------------------------------- study helpers
def test_temperature_grid_is_decreasing_and_log_spaced():
    ts = X.temperature_grid(10, 1e-3, 5)
    assert ts[0] == pytest.approx(10) and ts[-1] == pytest.approx(1e-3)
    assert np.allclose(np.diff(np.log10(ts)), -1.0)
    with pytest.raises(ValueError, match="t_min < t_max"):
        X.temperature_grid(1e-3, 10, 5)
    with pytest.raises(ValueError, match="temperature t_min"):
        X.temperature_grid(1.0, 0.0, 5)


def test_limit_study_separates_the_claimed_and_the_corrected_limit():
    rows = X.limit_study(G.linear(VALUES), ALPHA, [1.0, 1e-3], 20_000, gen(14), linear_values=VALUES)
    last = rows[-1]
    assert last["claimed_f_gamma_bar_0"] == pytest.approx(3.0)
    assert last["corrected_sum_p_f_vertex"] == pytest.approx(float(torch.softmax(ALPHA, 0) @ VALUES))
    assert abs(last["mc_mean"] - last["corrected_sum_p_f_vertex"]) <= 5 * last["mc_se"]
    assert abs(last["mc_mean"] - last["claimed_f_gamma_bar_0"]) > 50 * last["mc_se"]
    assert abs(last["exact"] - last["corrected_sum_p_f_vertex"]) < 1e-5
    assert rows[0]["relaxed_f_softmax_alpha_over_t"] == pytest.approx(last["corrected_sum_p_f_vertex"])  # t = 1, f linear


def test_mean_and_gradient_studies_have_one_row_per_setting():
    means = X.mean_study(ALPHA, [2.0, 0.5], 2_000, gen(15))
    assert len(means) == 6 and {r["m"] for r in means} == {1, 2, 3}
    grads = X.gradient_study(G.linear(VALUES), ALPHA, [1.0, 0.1], 2_000, gen(16), linear_values=VALUES)
    assert [r["t"] for r in grads] == [1.0, 0.1]
    assert grads[1]["pathwise_total_var"] > grads[0]["pathwise_total_var"]
    assert grads[1]["exact_bias_to_grad_J"] < grads[0]["exact_bias_to_grad_J"]
    assert grads[0]["reinforce_loo_total_var"] < grads[0]["reinforce_total_var"]


def test_random_problems_follow_the_corrected_limit():
    rows = X.random_problems(8, 1e-3, 20_000, gen(17))
    assert len(rows) == 8 and all(2 <= r["k"] <= 6 for r in rows)
    assert all(abs(r["mc_mean"] - r["corrected"]) <= 5 * r["mc_se"] + 1e-12 for r in rows)


def test_triangle_coordinates_and_simplex_grid():
    xy = to_plane(torch.eye(3))
    assert np.allclose(xy, [[0, 0], [1, 0], [0.5, math.sqrt(3) / 2]])
    assert np.allclose(to_plane([1 / 3, 1 / 3, 1 / 3]), [0.5, math.sqrt(3) / 6])
    grid = simplex_grid(3, 4)
    assert grid.shape == (15, 3) and np.allclose(grid.sum(1), 1.0) and len({tuple(p) for p in grid}) == 15
    with pytest.raises(ValueError, match="3 components"):
        to_plane([0.5, 0.5])
