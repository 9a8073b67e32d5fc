"""nasvec.experiments, chapter 4: the Gumbel-Softmax limit's tables (on small inputs; the notebooks run them whole)."""

import pandas as pd
import pytest
import torch

from nasvec.experiments import gumbel
from nasvec.dnas import gumbel as G


# --------------------------------------------------------------------------- chapter 4
def test_gumbel_tables():
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([1.0, 0.5, -0.3], dtype=torch.float64)
    means = gumbel.mean_table(a, [1.0, 0.1], 2000, gen)
    assert len(means) == 6 and means.z_mc_vs_integral.abs().max() < 6
    assert "largest |z|" in gumbel.mean_gaps(means)
    lin = pd.DataFrame(gumbel.limit_study(G.linear([3.0, 1.0, 2.0]), a, [0.1, 0.01, 0.001], 2000, gen,
                                          linear_values=[3.0, 1.0, 2.0]))
    summary = gumbel.limits_summary({"linear": lin})
    assert summary.claimed_f_gamma_bar_0[0] == pytest.approx(3.0) and summary.corrected[0] == pytest.approx(2.2094, abs=1e-3)
    assert abs(summary.z_vs_corrected[0]) < 6 < abs(summary.z_vs_claimed[0])
    assert gumbel.convergence_exponent(lin) > 0
    rnd, check = gumbel.random_tables(5, 1e-3, 2000, gen)
    assert len(rnd) == 5 and check.within_3_se[0] >= check.within_3_se[1]
    gap = gumbel.search_gap({"linear": (G.linear([3.0, 1.0, 2.0]), a)}, [1.0, 100.0])
    assert gap.gap.iloc[0] > gap.gap.iloc[1] >= -1e-9  # sharper logits: the sampled mixture is the argmax
    cost = gumbel.cost_table(a, [0.15, 0.15, 0.7], 0.5, [1.0, 0.01])
    assert cost.limit_cost_softmax_alpha.nunique() == 1
