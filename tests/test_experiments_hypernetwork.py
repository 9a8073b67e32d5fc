"""nasvec.experiments, chapter 5: the hypernetwork study's tables and runs across seeds (on small inputs; the notebooks run them whole)."""

from types import SimpleNamespace

import numpy as np
import pytest

from nasvec.experiments import hypernetwork, hypernetwork_seeds

from conftest import cache_at


# --------------------------------------------------------------------------- chapter 5
@pytest.fixture(scope="module")
def settings_rows():
    from nasvec.data import load_images
    from nasvec.dnas import NetConfig, SearchConfig

    study = hypernetwork.Study(load_images(False, 20, 10), NetConfig(layers=("normal",)), SearchConfig(epochs=2),
                               hypernetwork.TRAINING.replace(epochs=3))
    return dict(zip(*hypernetwork.settings(study).T.values))


def test_settings_table_says_what_data_ran(settings_rows):
    assert settings_rows["data"] == "digits (20 train / 10 test)"


def test_settings_table_says_what_cells_ran(settings_rows):
    assert settings_rows["cells"].startswith("normal, 8 channels")


def test_settings_table_says_how_networks_were_trained(settings_rows):
    assert settings_rows["from-scratch training"] == "3 epochs, Adam lr 3e-3 (cosine), batch 64"


def test_settings_table_says_how_the_search_ran(settings_rows):
    assert settings_rows["search"] == "2 epochs, batch 64, κ = 0.2, t 1.0 → 0.2, Adam lr 0.003 (w) / 0.03 (a)"


def test_sci_writes_one_digit_before_the_exponent():
    assert hypernetwork.sci(0.003) == "3e-3"
    assert hypernetwork.sci(0.25) == "2.5e-1"


@pytest.fixture(scope="module")
def seeds_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def seeds_study(seeds_cache):
    """A tiny study across two seeds, once for the module, in a cache of its own: run twice, the second time
    from the cache."""
    from nasvec.data import load_images
    from nasvec.dnas import NetConfig, SearchConfig, simplex_grid

    study = hypernetwork.Study(load_images(False, 40, 20), NetConfig(layers=("normal",), channels=4),
                               SearchConfig(epochs=1), hypernetwork.TRAINING.replace(epochs=1))
    grid = simplex_grid(3, 1)
    with cache_at(seeds_cache):
        runs = hypernetwork_seeds.across_seeds(study, [0, 1], grid)
        again = hypernetwork_seeds.across_seeds(study, [0, 1], grid)
    return SimpleNamespace(study=study, grid=grid, runs=runs, again=again)


@pytest.fixture(scope="module")
def ad(seeds_study):
    return hypernetwork_seeds.slides_spread(seeds_study.runs, seeds_study.study.slides_ops)


@pytest.fixture(scope="module")
def fam(seeds_study):
    return hypernetwork_seeds.family_spread(seeds_study.runs, seeds_study.grid, seeds_study.study.ops)


def test_across_seeds_runs_each_seed_on_a_to_d_and_the_grid(seeds_study):
    runs, grid = seeds_study.runs, seeds_study.grid
    assert [r["seed"] for r in runs] == [0, 1]
    assert all(len(r["ad"]) == 4 for r in runs)
    assert all(len(r["grid"]) == len(grid) for r in runs)


def test_across_seeds_first_call_trains(seeds_study):
    assert all(not res["from_cache"] for r in seeds_study.runs for _, res in r["ad"] + r["grid"])


def test_across_seeds_second_call_loads_from_the_cache(seeds_study):
    assert all(res["from_cache"] for r in seeds_study.again for _, res in r["ad"] + r["grid"])


def test_slides_spread_has_a_row_per_architecture_over_both_seeds(ad):
    assert list(ad.arch) == list("ABCD")
    assert (ad.seeds == 2).all()
    assert (ad["accuracy % sd"] >= 0).all()


def test_slides_spread_mean_is_the_mean_over_seeds(seeds_study, ad):
    acc = [100 * r["ad"][0][1]["accuracy"] for r in seeds_study.runs]
    assert ad["accuracy % mean"][0] == pytest.approx(np.mean(acc))


def test_slides_spread_page_shows_mean_sd_and_the_slides_value(ad):
    page = hypernetwork_seeds.slides_spread_page(ad)
    assert page["accuracy %"][0] == f"{ad['accuracy % mean'][0]:.2f} ± {ad['accuracy % sd'][0]:.2f} (82.5)"
    assert page["params"][0].endswith("(38,304)")


def test_family_spread_has_a_row_per_seed_and_grid_point(seeds_study, fam):
    assert len(fam) == 2 * len(seeds_study.grid)
    assert set(fam.seed) == {0, 1}


def test_spread_line_says_how_many_seeds(ad, fam):
    assert hypernetwork_seeds.spread_line(ad, fam).startswith("Across 2 seeds")
    assert hypernetwork_seeds.spread_line(ad.assign(seeds=1), fam).startswith("One seed")


def test_family_spread_figure_has_two_panels(fam):
    from nasvec.book.plots import hypernetwork as figures

    fig = figures.family_spread(fam, ("pool", "identity", "conv"))
    assert len(fig.axes) == 2


def test_fixed_search_runs_at_the_given_point(seeds_study, seeds_cache):
    with cache_at(seeds_cache):                     # after the runs across seeds, in their cache
        fixed = hypernetwork.fixed_searches(seeds_study.study, {"A": hypernetwork.POINTS["A"]})
    arch, result, loaded = fixed["A"]
    assert loaded is False
    assert arch(None).shape == (2, 14, 3)


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
