"""Chapter 5 against the slides: shared-weights accuracy, learning curves, verdicts; chapter 4's computed sentences."""

import numpy as np
import pandas as pd
import pytest
import torch

from nasvec.dnas import NetConfig, SearchConfig, SuperNet, derive
from nasvec.dnas.cells import N_EDGES, one_hot
from nasvec.experiments import gumbel_summary, hypernetwork, hypernetwork_seeds
from nasvec.experiments import hypernetwork_slides as slides

from conftest import cache_at


def random_genotype(seed=0):
    return derive(torch.randn(2, N_EDGES, 3, generator=torch.Generator().manual_seed(seed)), "slides")


# --------------------------------------------------------------------------- shared weights
def test_one_hot_puts_one_op_on_every_edge():
    gamma = one_hot(random_genotype())
    assert gamma.shape == (2, N_EDGES, 3) and torch.equal(gamma.sum(-1), torch.ones(2, N_EDGES))


def test_one_hot_matches_the_genotype_counts():
    g = random_genotype(1)
    assert gamma_counts(one_hot(g), g.ops) == g.counts()


def gamma_counts(gamma, ops):
    return {op: int(gamma[..., i].sum()) for i, op in enumerate(ops)}


def test_a_one_hot_gamma_does_not_compute_the_unchosen_ops():
    torch.manual_seed(0)
    net = SuperNet("slides", channels=4, layers=("normal",), in_channels=1, n_classes=3)
    g = random_genotype(2)
    i = next(i for i, e in enumerate(g.normal) if e[0] != "conv_3x3")   # an edge that does not use the conv
    calls = []
    net.cells[0].edges[i].ops[g.ops.index("conv_3x3")].register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        net(torch.randn(2, 1, 8, 8), one_hot(g))
    assert calls == []


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from nasvec.data import load_images
    from nasvec.dnas import simplex_grid

    study = hypernetwork.Study(load_images(False, 40, 20), NetConfig(layers=("normal",), channels=4),
                               SearchConfig(epochs=1), hypernetwork.TRAINING.replace(epochs=1))
    with cache_at(tmp_path_factory.mktemp("cache")):
        out = hypernetwork_seeds.across_seeds(study, [0, 1], simplex_grid(3, 1))
        both = slides.both_accuracies(study, out, calibration=20)
    return study, out, both


def test_both_accuracies_has_a_row_per_seed_and_point(runs):
    _, _, both = runs
    assert list(both.columns) == ["seed", "arch", "retrained %", "shared weights %"] and len(both) == 8


def test_both_accuracies_are_percentages(runs):
    _, _, both = runs
    values = both[["retrained %", "shared weights %"]].to_numpy()
    assert ((values >= 0) & (values <= 100)).all()


def test_shared_accuracy_leaves_the_search_weights_as_they_were(runs):
    study, out, _ = runs
    state = {k: v.clone() for k, v in out[0]["search"][0]["supernet_state"].items()}
    slides.shared_accuracy(study, out[0]["search"][0]["supernet_state"], [out[0]["ad"][0][0]], calibration=20)
    assert all(torch.equal(state[k], v) for k, v in out[0]["search"][0]["supernet_state"].items())


def test_accuracy_summary_has_the_slides_numbers(runs):
    summary = slides.accuracy_summary(runs[2])
    assert summary["slides %"].tolist() == [82.5, 79.2, 85.0, 81.4] and summary.seeds.tolist() == [2] * 4


def test_penalty_by_seed_has_a_row_per_seed_and_penalised_op(runs):
    pen = slides.penalty_by_seed(runs[1])
    assert sorted(zip(pen.seed, pen.penalised)) == sorted((s, k) for s in (0, 1) for k in ("conv", "pool", "identity"))


def test_saturation_retrains_each_architecture_at_each_size(runs, cache):
    study, out, _ = runs
    curve = slides.saturation(study, {"A": out[0]["ad"][0][0]}, [20, 40], 20, False, 0)
    assert curve[["arch", "n_train"]].values.tolist() == [["A", 20], ["A", 40]]


# --------------------------------------------------------------------------- verdicts
SLIDES = [82.5, 79.2, 85.0, 81.4]


def both_frame(means, noise=0.1, seeds=3, shared_offset=0.0):
    """Per-seed accuracies around ``means`` (A-D), seed k shifted by k·noise (the same for every point)."""
    return pd.DataFrame([{"seed": k, "arch": a, "retrained %": m + k * noise + (j % 2) * noise / 10,
                          "shared weights %": m + shared_offset - k * noise}
                         for k in range(seeds) for j, (a, m) in enumerate(zip("ABCD", means))])


def summary(ours, sd=0.1, seeds=3):
    return pd.DataFrame({"arch": list("ABCD"), "retrained mean %": ours, "retrained sd": sd,
                         "shared weights mean %": ours, "shared weights sd": sd, "slides %": SLIDES, "seeds": seeds})


def test_the_slides_order_gives_tau_one_and_every_pair_resolved():
    line = slides.order_verdict(both_frame(SLIDES), "retrained %")
    assert "our mean order C > A > D > B" in line and "tau +1.00" in line and "6 of 6 pairs" in line


def test_the_reversed_order_gives_tau_minus_one():
    assert "tau -1.00" in slides.order_verdict(both_frame([80.0, 85.0, 78.0, 82.0]), "retrained %")


def test_pairs_that_move_together_over_seeds_are_resolved_by_the_paired_difference():
    """Seeds shift all of A-D alike: unpaired, the spread would hide the order; paired, it does not."""
    line = slides.order_verdict(both_frame([82.0, 82.2, 82.4, 82.1], noise=5.0), "retrained %")
    assert "6 of 6 pairs differ" in line


def test_pairs_within_noise_are_ties():
    per_seed = {"A": [82, 82, 82], "B": [81, 83, 81], "C": [83, 81, 83], "D": [82, 82, 82]}   # no pair keeps its sign
    both = pd.DataFrame([{"seed": k, "arch": a, "retrained %": v[k], "shared weights %": 80.0}
                         for a, v in per_seed.items() for k in range(3)])
    assert "0 of 6 pairs differ" in slides.order_verdict(both, "retrained %")


def test_one_seed_gives_no_pair_verdict():
    assert "one seed: no pair" in slides.order_verdict(both_frame(SLIDES, seeds=1), "retrained %")


def test_a_gap_beyond_two_sd_is_reported_with_its_size():
    lines = slides.gap_lines(summary([82.5, 79.2, 81.6, 81.4], sd=0.3), None, inferred_net=True)
    assert lines[0].startswith("C, retrained: 81.60 % against the slides' 85.0 %, -3.40 points (11.3 sd of our seeds)")


def test_a_gap_names_the_width_as_ruled_out_when_the_network_is_inferred():
    lines = slides.gap_lines(summary([82.5, 79.2, 81.6, 81.4], sd=0.3), None, inferred_net=True)
    assert "width: ours is the network the slides' counts imply" in lines[0]


def test_one_seed_gives_no_gap_verdict():
    assert slides.gap_lines(summary(SLIDES, sd=float("nan"), seeds=1), None, inferred_net=True) == []


def test_closer_line_names_the_nearer_accuracy_when_the_seeds_carry_it():
    line = slides.closer_line(both_frame(SLIDES, shared_offset=-20))
    assert "closer to ours retrained" in line


def test_closer_line_calls_a_tie_when_the_seeds_do_not_carry_it():
    rng = np.random.default_rng(1)
    both = both_frame(SLIDES, noise=0.0).assign(**{"retrained %": lambda d: d["retrained %"] + rng.normal(0, 2, 12),
                                                   "shared weights %": lambda d: d["shared weights %"] + rng.normal(0, 2, 12)})
    assert "a tie over our seeds" in slides.closer_line(both)


def test_saturation_line_calls_a_step_within_the_seeds_spread_flat():
    curve = pd.DataFrame({"arch": ["A", "A"], "n_train": [1000, 2000], "accuracy %": [80.0, 80.1]})
    assert "flat within our noise" in slides.saturation_line(curve, summary(SLIDES, sd=0.5))


def test_saturation_line_calls_a_larger_step_still_changing():
    curve = pd.DataFrame({"arch": ["A", "A"], "n_train": [1000, 2000], "accuracy %": [80.0, 83.0]})
    assert "still changing" in slides.saturation_line(curve, summary(SLIDES, sd=0.5))


def test_closer_line_names_the_nearer_accuracy():
    s = both_frame(SLIDES).assign(**{"shared weights %": 57.0})
    assert "closer to ours retrained" in slides.closer_line(s)


# --------------------------------------------------------------------------- the slides' network
SEP = ("max_pool_3x3", "skip_connect", "sep_conv_3x3")
NRR = ("normal", "reduction", "reduction")


def test_the_inferred_network_reproduces_all_four_counts():
    fit = slides.fit_counts(SEP, 16, NRR)
    assert fit["residual %"].tolist() == [0.0] * 4 and (fit["exact placements"] > 0).all()


def test_a_stride_two_identity_costs_the_square_of_each_reduction_width():
    from nasvec.dnas.cells import Genotype, edge_params

    normal = [("max_pool_3x3", src, node) for src, node in __import__("nasvec.dnas.cells", fromlist=["EDGES"]).EDGES]
    reduction = [("skip_connect" if (src, node) == (0, 0) else "max_pool_3x3", src, node) for _, src, node in normal]
    assert edge_params(Genotype(normal, reduction, SEP), 16, NRR) == 32 ** 2 + 64 ** 2 == 5120


def test_the_network_search_finds_the_inferred_network_alone(cache):
    found = slides.network_search(channels=range(14, 19))
    exact = found[found.exact]
    assert exact[["cells", "channels", "conv"]].values.tolist() == [["normal → reduction → reduction", 16, "sep_conv_3x3"]]


def test_is_inferred_recognises_the_networks_search_result(cache):
    from nasvec.dnas import NetConfig

    found = slides.network_search(channels=range(15, 18))
    assert slides.is_inferred(found, NetConfig(ops=SEP, channels=16, layers=NRR))
    assert not slides.is_inferred(found, NetConfig(ops="slides", channels=16, layers=NRR))


def test_shared_accuracies_of_two_seeds_are_stored_apart(runs, cache):
    study, out, _ = runs
    same = [out[0]["ad"][0][0]]
    for r in out:
        slides.shared_task((r["seed"], r["search"][0], same), study, 20)
    assert len(list(cache.rglob("search-shared*.pt"))) == 2


# --------------------------------------------------------------------------- chapter 4's sentences
def limits(z_claimed, z_corrected):
    return pd.DataFrame({"f": ["linear f", "quadratic", "network"], "t": 0.001, "z_vs_claimed": z_claimed,
                         "z_vs_corrected": z_corrected, "corrected": [2.209, 0.75, 0.28],
                         "claimed_f_gamma_bar_0": [3.0, 0.98, 0.39]})


def test_limits_line_counts_the_functions_near_each_limit():
    line = gumbel_summary.limits_line(limits([-120, -110, -1.5], [-1.0, 0.5, 0.9]))
    assert "within 2 standard errors for 3 of 3" in line and "more than 2 away for 2 of 3 (within noise for network)" in line


def test_cost_gap_line_reads_only_the_schedules_temperatures():
    cost = pd.DataFrame({"t": [10.0, 1.0, 0.5, 0.2, 0.01], "cost_E_gamma": [1.0, 0.9, 0.95, 0.99, 1.0],
                         "limit_cost_softmax_alpha": 1.0})
    assert "differs from the actual expected cost by 1.0–11.1 %" in gumbel_summary.cost_gap_line(cost)


def test_cost_gap_line_says_when_no_temperature_is_in_the_schedule():
    cost = pd.DataFrame({"t": [10.0], "cost_E_gamma": [1.0], "limit_cost_softmax_alpha": 1.0})
    assert gumbel_summary.cost_gap_line(cost).startswith("(no temperature")


def test_variance_clause_says_grows_only_when_every_exponent_is_negative():
    grads = pd.DataFrame({"f": ["a"] * 2 + ["b"] * 2, "t": [0.1, 0.01] * 2, "pathwise_total_var": [1.0, 10.0, 1.0, 0.5]})
    line = gumbel_summary.summary_lines(means=means_table(), limits=limits([-9, -9, -9], [0, 0, 0]),
                                        gap=pd.DataFrame({"gap": [0.1]}), cost=None, grads=grads)[-1]
    assert "does not grow as t falls for every function" in line


def means_table():
    return pd.DataFrame({"t": [1.0, 1.0], "m": [1, 2], "exact_E_gamma": [0.6, 0.4], "softmax_alpha_over_t": [0.7, 0.3],
                         "z_mc_vs_integral": [0.5, -0.5]})


@pytest.mark.usefixtures("cache", "one_thread")
def test_the_quick_profiles_penalty_steers_b_and_c_in_every_seed(root):
    """The first profile a reader runs must show the penalty at work: B fewer convolutions, C fewer poolings than A."""
    from nasvec.book import load_profile
    from nasvec.data import load_images

    p = load_profile("quick", root).notebooks["hypernetwork"]
    study = hypernetwork.Study(load_images(False, p["n_train"], p["n_test"]), NetConfig.from_dict(p["net"]),
                               SearchConfig.from_dict(p["search"]), hypernetwork.TRAINING)
    fewer = []
    for seed in p["seeds"]:
        st = study.for_seed(seed)
        geno = dict(zip(hypernetwork.POINTS, st.family(st.run_search(progress=False)[0],
                                                       list(hypernetwork.POINTS.values()))))
        fewer += [r["fewer"] for r in hypernetwork.penalty_effect(geno) if r["arch"] in ("B", "C")]
    assert fewer == ["yes"] * 2 * len(p["seeds"])


def test_the_a_to_d_page_table_puts_the_slides_numbers_in_brackets():
    table = pd.DataFrame([{"arch": "A", "s (pool, id, conv)": "(0.33, 0.33, 0.33)", "accuracy %": 81.5, "params": 40000,
                           "edge params": 38304, "pool": 12, "conv": 6, "identity": 10, "paper accuracy %": 82.5,
                           "paper params": 38304, "paper pool": 12, "paper conv": 6, "paper identity": 10}])
    row = hypernetwork.slides_table_page(table).iloc[0]
    assert (row["accuracy % (slides)"], row["edge params (slides)"]) == ("81.50 (82.50)", "38,304 (38,304)")


def test_a_gap_line_gives_the_learning_curves_sizes_as_whole_numbers():
    curve = pd.DataFrame({"arch": ["C", "C"], "n_train": [3000.0, 24000.0], "accuracy %": [82.0, 89.4]})
    lines = slides.gap_lines(summary([82.5, 79.2, 81.6, 81.4], sd=0.3), curve, inferred_net=True)
    assert "with 24,000 training images instead of 3,000" in lines[0]
