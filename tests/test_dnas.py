"""Chapter 5 search space, cost, hypernetwork, search loop, derived genotypes, latency helpers."""

import numpy as np
import pytest
import torch

from nasvec.errors import ConfigError
from nasvec.experiments.hypernetwork import Study, describe, pareto_mask, penalty_effect, provenance
from nasvec.dnas import (DARTS_OPS, N_EDGES, SLIDES_OPS, FixedAlpha, Genotype, HyperNet, NetConfig, Network,
                           SearchConfig, SearchError, SuperNet, check_simplex, cost, count_params, derive, make_op,
                           measure_ops, resolve_ops, sample_simplex, differentiable_search, simplex_grid, temperature, to_simplex)
from nasvec.dnas.simplex import to_plane
from nasvec.train import TrainConfig, resolve_device


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one torch thread is faster and does not spin on a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_simplex_helpers():
    g = torch.Generator().manual_seed(0)
    s = sample_simplex(3, 500, generator=g)
    assert s.shape == (500, 3) and (s >= 0).all() and torch.allclose(s.sum(1), torch.ones(500))
    assert (s.mean(0) - 1 / 3).abs().max() < 0.05  # Dirichlet(1) has mean 1/k
    grid = simplex_grid(3, 4)
    assert grid.shape == (15, 3) and np.allclose(grid.sum(1), 1)
    assert check_simplex([0.2, 0.3, 0.5], 3).shape == (3,)


@pytest.mark.parametrize("bad, match", [([0.5, 0.5], "length 3"), ([0.5, 0.6, 0.1], "sum"),
                                        ([1.2, -0.2, 0.0], "simplex"), ([[0.5, 0.5, 0, 0]], "length 3"),
                                        (["a", 1, 2], "numbers")])
def test_bad_s_is_rejected(bad, match):
    with pytest.raises(SearchError, match=match):
        check_simplex(bad, 3)
    with pytest.raises(SearchError, match=match):
        HyperNet(3)(bad)


def test_unknown_op_names():
    with pytest.raises(SearchError, match="unknown op name.*conv_7x7"):
        resolve_ops(["conv_3x3", "conv_7x7"])
    with pytest.raises(SearchError, match="unknown op set"):
        resolve_ops("nasnet")
    with pytest.raises(SearchError, match="unknown op name"):
        make_op("conv_9x9", 4)
    with pytest.raises(SearchError, match="duplicate"):
        resolve_ops(["conv_3x3", "conv_3x3"])
    assert resolve_ops("slides") == SLIDES_OPS and len(resolve_ops("darts")) == 8


@pytest.mark.parametrize("name", sorted(set(DARTS_OPS) | set(SLIDES_OPS)))
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_keeps_channels_and_strides(name, stride):
    x = torch.randn(2, 4, 8, 8)
    assert make_op(name, 4, stride)(x).shape == (2, 4, 8 // stride, 8 // stride)


def test_cost_shape_value_and_gradient():
    alpha = torch.zeros(2, N_EDGES, 3, requires_grad=True)
    s = torch.tensor([0.7, 0.15, 0.15])
    c = cost(torch.softmax(alpha, -1), s)
    assert c.shape == () and torch.isclose(c, torch.tensor(28 / 3))  # uniform gamma: 28 edges * mean(s)
    c.backward()
    g = alpha.grad
    assert g.shape == alpha.shape
    assert (g[..., 0] > 0).all() and (g[..., 1:] < 0).all()  # the penalised op's logit is pushed down
    with pytest.raises(SearchError, match="ops"):
        cost(torch.ones(2, 3), torch.ones(4) / 4)


def test_hypernetwork_shapes_weights_and_gradients():
    hyp = HyperNet(3, generator=torch.Generator().manual_seed(0))
    m = len(hyp.s_ref)
    w = hyp.weights([0.2, 0.3, 0.5])
    assert w.shape == (m,) and torch.isclose(w.sum(), torch.tensor(1.0))
    wb = hyp.weights(sample_simplex(3, 7, torch.Generator().manual_seed(1)))
    assert wb.shape == (7, m) and torch.allclose(wb.sum(1), torch.ones(7))
    # the nearest reference point gets the largest weight
    assert int(hyp.weights(hyp.s_ref[2]).argmax()) == 2
    alpha = hyp([0.2, 0.3, 0.5])
    assert alpha.shape == (2, N_EDGES, 3)
    alpha.sum().backward()
    assert hyp.alpha_ref.grad is not None and hyp.alpha_ref.grad.abs().sum() > 0
    learned = HyperNet(3, learn_ref=True)
    learned([0.6, 0.2, 0.2]).pow(2).sum().backward()
    assert learned.ref_logits.grad is not None
    assert torch.allclose(learned.s_ref.sum(1), torch.ones(len(learned.s_ref)))


def test_sharper_bandwidth_concentrates_weights():
    s = [0.7, 0.15, 0.15]
    assert HyperNet(3, bandwidth=0.05).weights(s).max() > HyperNet(3, bandwidth=1.0).weights(s).max()


def test_temperature_schedule():
    ts = [temperature(e, 5) for e in range(5)]
    assert ts[0] == 1.0 and abs(ts[-1] - 0.2) < 1e-12 and all(a > b for a, b in zip(ts, ts[1:]))


def _toy(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_supernet_forward_backward():
    net = SuperNet("slides", channels=4, n_classes=3)
    x, y = _toy(8)
    gamma = torch.softmax(torch.randn(2, N_EDGES, 3), -1).requires_grad_()
    out = net(x, gamma)
    assert out.shape == (8, 3)
    torch.nn.functional.cross_entropy(out, y).backward()
    assert gamma.grad.abs().sum() > 0
    with pytest.raises(SearchError, match="gamma must have shape"):
        net(x, gamma[:, :5])


def test_raising_a_penalty_lowers_that_ops_weight():
    """Same toy task and seed, two complexity vectors that differ only in the penalty on one op."""
    x, y = _toy()
    for op in range(3):
        weights = []
        for high in (False, True):
            s = np.full(3, 0.25)
            s[op] = 0.5 if high else 0.0
            s = s / s.sum()
            torch.manual_seed(0)
            net, arch = SuperNet("slides", 4, n_classes=3), FixedAlpha(3, generator=torch.Generator().manual_seed(0))
            differentiable_search(net, arch, x, y, epochs=3, s=s, kappa=0.5, batch_size=16, progress=False)
            weights.append(torch.softmax(arch.alpha, -1)[..., op].mean().item())
        assert weights[1] < weights[0], (op, weights)


def test_hypernetwork_learns_to_follow_s():
    """After a short search the hypernetwork gives the penalised op less weight at s near its vertex."""
    x, y = _toy()
    torch.manual_seed(0)
    net, hyp = SuperNet("slides", 4, n_classes=3), HyperNet(3, bandwidth=0.1, generator=torch.Generator().manual_seed(0))
    differentiable_search(net, hyp, x, y, epochs=4, kappa=1.0, batch_size=8, progress=False)
    with torch.no_grad():
        for op in range(3):
            s_hi = np.full(3, 0.1); s_hi[op] = 0.8
            s_lo = np.full(3, 0.45); s_lo[op] = 0.1
            assert torch.softmax(hyp(s_hi), -1)[..., op].mean() < torch.softmax(hyp(s_lo), -1)[..., op].mean()


def test_search_rejects_bad_settings():
    x, y = _toy(8)
    net, arch = SuperNet("slides", 4, n_classes=3), FixedAlpha(3)
    with pytest.raises(SearchError, match="length 3"):
        differentiable_search(net, arch, x, y, epochs=1, s=[0.5, 0.5], progress=False)
    with pytest.raises(SearchError, match="kappa"):
        differentiable_search(net, arch, x, y, epochs=1, kappa=-1, progress=False)


@pytest.mark.parametrize("ops", ["slides", "darts"])
@pytest.mark.parametrize("rule", ["argmax", "top2"])
def test_derived_genotypes_are_valid_and_build(ops, rule):
    k = len(resolve_ops(ops))
    alpha = torch.randn(2, N_EDGES, k, generator=torch.Generator().manual_seed(3))
    g = derive(alpha, ops, rule)
    per_cell = 14 if rule == "argmax" else 8
    assert len(g.normal) == len(g.reduction) == per_cell and g.edges() == 2 * per_cell
    assert all(e[0] in g.ops and e[0] != "none" for e in g.normal + g.reduction)
    assert sum(g.counts().values()) == 2 * per_cell
    assert Genotype.from_dict(g.to_dict()) == g
    net = Network(g, channels=4, n_classes=10)
    assert net(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    assert count_params(net) > 0


def test_argmax_follows_logits():
    alpha = torch.zeros(2, N_EDGES, 3)
    alpha[..., 2] = 1.0
    g = derive(alpha, "slides")
    assert g.counts() == {"max_pool_3x3": 0, "skip_connect": 0, "conv_3x3": 28}
    assert g.kind_counts()["conv"] == 28


def test_more_convolutions_more_parameters():
    def net(op):
        alpha = torch.zeros(2, N_EDGES, 3)
        alpha[..., SLIDES_OPS.index(op)] = 1.0
        return count_params(Network(derive(alpha, "slides"), channels=4))
    assert net("conv_3x3") > net("skip_connect") > net("max_pool_3x3")


def test_bad_genotypes_are_rejected():
    edges = [("conv_3x3", 0, 0), ("conv_3x3", 1, 0), ("conv_3x3", 2, 1), ("conv_3x3", 3, 2), ("conv_3x3", 4, 3)]
    Genotype(edges, edges, SLIDES_OPS)
    with pytest.raises(SearchError, match="not in the op set"):
        Genotype([("sep_conv_3x3", 0, 0)] + edges[1:], edges, SLIDES_OPS)
    with pytest.raises(SearchError, match="not an edge"):
        Genotype(edges + [("conv_3x3", 5, 3)], edges, SLIDES_OPS)
    with pytest.raises(SearchError, match="no incoming edge"):
        Genotype(edges[:-1], edges, SLIDES_OPS)
    with pytest.raises(SearchError, match="alpha must have shape"):
        derive(torch.zeros(2, 13, 3), "slides")


def test_pareto_mask():
    params = [10, 20, 30, 15, 40]
    acc = [0.5, 0.7, 0.9, 0.4, 0.8]
    assert pareto_mask(params, acc).tolist() == [True, True, True, False, False]


def test_measured_ops_and_simplex():
    rows = measure_ops("slides", channels=4, height=8, width=8, batch=4, repeats=2, warmup=1)
    by = {r["op"]: r for r in rows}
    assert set(by) == set(SLIDES_OPS) and all(r["latency_ms"] > 0 for r in rows)
    assert by["skip_connect"]["memory_bytes"] == 0 < by["max_pool_3x3"]["memory_bytes"] < by["conv_3x3"]["memory_bytes"]
    s = to_simplex([r["latency_ms"] for r in rows])
    assert np.isclose(s.sum(), 1) and (s > 0).all()
    with pytest.raises(SearchError, match="non-negative"):
        to_simplex([1.0, -1.0, 0.0])


def test_triangle_corners_and_centre():
    xy = to_plane(np.eye(3))
    assert np.allclose(xy[0], [0, 0]) and np.allclose(xy[1], [1, 0]) and np.allclose(xy[2], [0.5, np.sqrt(3) / 2])
    assert np.allclose(to_plane(torch.full((3,), 1 / 3)), [0.5, np.sqrt(3) / 6])  # one point, torch in
    with pytest.raises(SearchError, match="3 components"):
        to_plane([[0.5, 0.5]])


def _genotype(op):
    alpha = torch.zeros(2, N_EDGES, 3)
    alpha[..., SLIDES_OPS.index(op)] = 1.0
    return derive(alpha, "slides")


def test_describe_and_penalty_effect():
    row = describe(_genotype("conv_3x3"), {"accuracy": 0.5, "params": 10})
    assert row == {"accuracy %": 50.0, "params": 10, "pool": 0, "conv": 28, "identity": 0}
    mixed = torch.zeros(2, N_EDGES, 3)
    mixed[:, :, 0][:, ::2] = 1.0   # pool on even edges, identity elsewhere
    mixed[:, :, 1][:, 1::2] = 1.0
    a = derive(mixed, "slides")
    assert a.kind_counts()["conv"] == 0 < a.kind_counts()["pool"]
    gs = {"A": a, "B": _genotype("conv_3x3"), "C": _genotype("max_pool_3x3"), "D": _genotype("conv_3x3")}
    eff = {r["arch"]: r for r in penalty_effect(gs)}
    assert eff["B"]["fewer"].startswith("n/a") and eff["C"]["fewer"] == "no" and eff["D"]["fewer"] == "yes"


def _toy_study(cache, monkeypatch):
    from nasvec.data import ImageData

    monkeypatch.setenv("NASVEC_CACHE", str(cache))
    g = torch.Generator().manual_seed(0)
    images = ImageData(torch.rand(32, 1, 8, 8, generator=g), torch.randint(0, 3, (32,), generator=g),
                       torch.rand(16, 1, 8, 8, generator=g), torch.randint(0, 3, (16,), generator=g), {"data": "toy"})
    return Study(images, NetConfig(channels=4, layers=("normal", "reduction")), SearchConfig(epochs=1, batch_size=16),
                 TrainConfig(epochs=1))


def test_cached_search_reloads_and_another_setting_searches_again(tmp_path, monkeypatch):
    """A second call loads the same result from the cache; another setting is another search."""
    study = _toy_study(tmp_path, monkeypatch)
    arch, res, loaded = study.run_search(progress=False)
    arch2, res2, loaded2 = study.run_search(progress=False)
    assert not loaded
    assert loaded2
    assert torch.equal(arch.alpha_ref, arch2.alpha_ref)
    fixed, _, _ = study.run_search(s=[0.2, 0.3, 0.5], progress=False)
    assert fixed(None).shape == (2, N_EDGES, 3)
    _, _, sharper = study.run_search(bandwidth=0.1, progress=False)
    assert not sharper  # another setting is another search


def test_identical_genotypes_are_trained_once(tmp_path, monkeypatch):
    study = _toy_study(tmp_path, monkeypatch)
    geno = _genotype("skip_connect")
    out = study.train([geno, geno], progress=False)
    assert out[0] is out[1]
    assert 0 <= out[0]["accuracy"] <= 1
    assert not out[0]["from_cache"]
    assert out[0]["genotype"] == geno


def test_search_and_net_configs_check_their_settings():
    with pytest.raises(ConfigError, match="unknown setting"):
        SearchConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="epochs and batch_size"):
        SearchConfig(epochs=0)
    assert NetConfig(ops="darts").ops == DARTS_OPS


def test_provenance_counts_the_trainings_it_is_given_once_each():
    """The provenance table depends only on the results passed in, not on what the study ran before."""
    study = Study(None, NetConfig(channels=4, layers=("normal",)), SearchConfig(epochs=2), TrainConfig(epochs=3))
    a, b = _genotype("skip_connect"), _genotype("max_pool_3x3")
    first = {"genotype": a, "from_cache": True, "seconds": 2.0}
    second = {"genotype": b, "from_cache": False, "seconds": 3.0}
    table = provenance(study, {"search": ({"seconds": 1.0}, True)}, [[first, first], [second, first]])
    assert table.run.tolist() == ["search", "from-scratch trainings (2 distinct architectures)"]
    assert table["from cache"].tolist() == [True, False] and table.seconds.tolist() == [1.0, 5.0]
    assert provenance(study, {}, [[second], [first]]).equals(provenance(study, {}, [[first], [second]]))


def test_resolve_device():
    assert resolve_device("auto") in ("cpu", "cuda") and resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="device 'tpu'"):
        resolve_device("tpu")
