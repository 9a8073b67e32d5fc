"""nasvec.experiments, chapter 4: the Gumbel-Softmax limit's tables (on small inputs; the notebooks run them whole)."""

from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from nasvec.experiments import gumbel
from nasvec.dnas import gumbel_softmax as G


# --------------------------------------------------------------------------- chapter 4
A = torch.tensor([1.0, 0.5, -0.3], dtype=torch.float64)


@pytest.fixture(scope="module")
def sampled():
    """The tables that sample, in the order they draw from one generator (seeded once), so each test sees the
    draws the chapter's order gives."""
    gen = torch.Generator().manual_seed(0)
    means = gumbel.mean_table(A, [1.0, 0.1], 2000, gen)
    lin = pd.DataFrame(gumbel.limit_study(G.linear([3.0, 1.0, 2.0]), A, [0.1, 0.01, 0.001], 2000, gen,
                                          linear_values=[3.0, 1.0, 2.0]))
    rnd, check = gumbel.random_tables(5, 1e-3, 2000, gen)
    return SimpleNamespace(means=means, lin=lin, rnd=rnd, check=check)


@pytest.fixture(scope="module")
def summary(sampled):
    return gumbel.limits_summary({"linear": sampled.lin})


def test_mean_table_sampled_means_match_the_integral(sampled):
    assert len(sampled.means) == 6
    assert sampled.means.z_mc_vs_integral.abs().max() < 6


def test_mean_gaps_names_the_largest_z(sampled):
    assert "largest |z|" in gumbel.mean_gaps(sampled.means)


def test_limits_summary_gives_the_claimed_and_the_corrected_limit(summary):
    assert summary.claimed_f_gamma_bar_0[0] == pytest.approx(3.0)
    assert summary.corrected[0] == pytest.approx(2.2094, abs=1e-3)


def test_samples_agree_with_the_corrected_limit(summary):
    assert abs(summary.z_vs_corrected[0]) < 6


def test_samples_disagree_with_the_claimed_limit(summary):
    assert 6 < abs(summary.z_vs_claimed[0])


def test_convergence_exponent_is_positive(sampled):
    assert gumbel.convergence_exponent(sampled.lin) > 0


def test_random_tables_check_more_within_3_se_at_first(sampled):
    assert len(sampled.rnd) == 5
    assert sampled.check.within_3_se[0] >= sampled.check.within_3_se[1]


def test_search_gap_shrinks_to_zero_with_sharper_logits():
    gap = gumbel.search_gap({"linear": (G.linear([3.0, 1.0, 2.0]), A)}, [1.0, 100.0])
    assert gap.gap.iloc[0] > gap.gap.iloc[1]
    assert gap.gap.iloc[1] >= -1e-9  # sharper logits: the sampled mixture is the argmax


def test_cost_table_limit_cost_is_one_value():
    cost = gumbel.cost_table(A, [0.15, 0.15, 0.7], 0.5, [1.0, 0.01])
    assert cost.limit_cost_softmax_alpha.nunique() == 1
