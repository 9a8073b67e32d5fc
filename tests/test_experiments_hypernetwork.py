"""nasvec.experiments, chapter 5: the hypernetwork study's tables and runs across seeds (on small inputs; the notebooks run them whole)."""

import numpy as np
import pytest

from nasvec.experiments import hypernetwork, hypernetwork_seeds


# --------------------------------------------------------------------------- chapter 5
def test_settings_table_says_what_ran():
    from nasvec.data import load_images
    from nasvec.dnas import NetConfig, SearchConfig

    study = hypernetwork.Study(load_images(False, 20, 10), NetConfig(layers=("normal",)), SearchConfig(epochs=2),
                               hypernetwork.TRAINING.replace(epochs=3))
    rows = dict(zip(*hypernetwork.settings(study).T.values))
    assert rows["data"] == "digits (20 train / 10 test)" and rows["cells"].startswith("normal, 8 channels")
    assert rows["from-scratch training"] == "3 epochs, Adam lr 3e-3 (cosine), batch 64"
    assert rows["search"] == "2 epochs, batch 64, κ = 0.2, t 1.0 → 0.2, Adam lr 0.003 (w) / 0.03 (a)"
    assert hypernetwork.sci(0.003) == "3e-3" and hypernetwork.sci(0.25) == "2.5e-1"


def test_across_seeds_tables_show_the_spread(cache):
    from nasvec.data import load_images
    from nasvec.dnas import NetConfig, SearchConfig, simplex_grid
    from nasvec.book.plots import hypernetwork as figures

    study = hypernetwork.Study(load_images(False, 40, 20), NetConfig(layers=("normal",), channels=4),
                               SearchConfig(epochs=1), hypernetwork.TRAINING.replace(epochs=1))
    grid = simplex_grid(3, 1)
    runs = hypernetwork_seeds.across_seeds(study, [0, 1], grid)
    assert [r["seed"] for r in runs] == [0, 1] and all(len(r["ad"]) == 4 and len(r["grid"]) == len(grid) for r in runs)
    assert all(not res["from_cache"] for r in runs for _, res in r["ad"] + r["grid"])
    again = hypernetwork_seeds.across_seeds(study, [0, 1], grid)
    assert all(res["from_cache"] for r in again for _, res in r["ad"] + r["grid"])
    ad = hypernetwork_seeds.slides_spread(runs, study.slides_ops)
    assert list(ad.arch) == list("ABCD") and (ad.seeds == 2).all() and (ad["accuracy % sd"] >= 0).all()
    acc = [100 * r["ad"][0][1]["accuracy"] for r in runs]
    assert ad["accuracy % mean"][0] == pytest.approx(np.mean(acc))
    page = hypernetwork_seeds.slides_spread_page(ad)
    assert page["accuracy %"][0] == f"{ad['accuracy % mean'][0]:.2f} ± {ad['accuracy % sd'][0]:.2f} (82.5)"
    assert page["params"][0].endswith("(38,304)")
    fam = hypernetwork_seeds.family_spread(runs, grid, study.ops)
    assert len(fam) == 2 * len(grid) and set(fam.seed) == {0, 1}
    assert hypernetwork_seeds.spread_line(ad, fam).startswith("across 2 seeds")
    assert hypernetwork_seeds.spread_line(ad.assign(seeds=1), fam).startswith("one seed")
    fig = figures.family_spread(fam, ("pool", "identity", "conv"))
    assert len(fig.axes) == 2
    fixed = hypernetwork.fixed_searches(study, {"A": hypernetwork.POINTS["A"]})
    arch, result, loaded = fixed["A"]
    assert loaded is False and arch(None).shape == (2, 14, 3)


def test_a_gpu_study_refuses_the_ray_backend(monkeypatch):
    from nasvec.data import load_images
    from nasvec.errors import SearchError
    from nasvec.dnas import NetConfig, SearchConfig

    study = hypernetwork.Study(load_images(False, 20, 10), NetConfig(layers=("normal",)), SearchConfig(epochs=1),
                               hypernetwork.TRAINING.replace(epochs=1))
    study.device = "cuda"
    assert study.slim().device == "cuda"                    # serial: fine
    monkeypatch.setenv("NASVEC_BACKEND", "ray")
    with pytest.raises(SearchError, match="Ray backend runs on CPU workers"):
        study.slim()
