"""nasvec.experiments, chapter 2: compressors, Table 1, what latent spaces are good for (on small inputs; the notebooks run them whole)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nasvec.compress.registry import CompressorConfig
from nasvec.errors import ConfigError
from nasvec.experiments import compression

from conftest import cache_at


# --------------------------------------------------------------------------- chapter 2
SPEC = {"data": {"real_data": False, "n_generated": 60, "seed": 0}, "defaults": {"training": {"batch_size": 16}, "chunk": 2},
        "seeds": [0, 1],
        "models": {"ae": {"latent_dim": 4, "training": {"epochs": 2}, "kwargs": {"hidden": [16]}},
                   "split": {"latent_dim": 3, "training": {"epochs": 2}, "kwargs": {"hidden": [16]}},
                   "pernode": {"latent_dim": 6, "training": {"epochs": 2}}}}
SWEEP = {"split": [2, 3], "pernode": [2]}


def test_compressor_set_reads_the_data_and_the_seeds():
    cs = compression.CompressorSet.from_dict(SPEC)
    assert cs.data.as_dict() == {"real_data": False, "n_generated": 60, "seed": 0}
    assert cs.seed_list() == [0, 1]


def test_compressor_set_gives_each_model_its_settings_over_the_shared_training():
    configs = compression.CompressorSet.from_dict(SPEC).configs()
    assert list(configs) == ["ae", "split", "pernode"]
    assert configs["ae"] == CompressorConfig.from_dict({"latent_dim": 4, "kwargs": {"hidden": [16]}, "chunk": 2,
                                                        "training": {"epochs": 2, "batch_size": 16}}, model="ae")


def test_a_models_own_training_settings_win_over_the_shared_ones():
    spec = {"defaults": {"training": {"lr": 0.5, "seed": 2}}, "models": {"ae": {"training": {"lr": 0.1}}}}
    training = compression.CompressorSet.from_dict(spec).configs()["ae"].training
    assert (training.lr, training.seed) == (0.1, 2)


def test_compressor_set_passes_a_checkpoint_on():
    configs = compression.CompressorSet.from_dict({"models": {"dvae": {"checkpoint": "dvae"}}}).configs()
    assert configs["dvae"].checkpoint == "dvae"


def test_compressor_set_without_seeds_takes_the_training_seed():
    assert compression.CompressorSet.from_dict({"defaults": {"training": {"seed": 3}}}).seed_list() == [3]


def test_compressor_set_names_an_unknown_key():
    with pytest.raises(ConfigError, match=r"CompressorSet: unknown setting\(s\) \['model'\]"):
        compression.CompressorSet.from_dict({**SPEC, "model": {}})


def test_compressor_set_names_the_model_of_an_unknown_setting():
    with pytest.raises(ConfigError, match=r"model 'ae': CompressorConfig: unknown setting\(s\) \['latent'\]"):
        compression.CompressorSet.from_dict({"models": {"ae": {"latent": 4}}})


def test_the_profiles_compressors_read_as_a_compressor_set(root):
    from nasvec.book.profiles import load_profile

    for name in ("quick", "standard", "paper"):
        configs = compression.CompressorSet.from_dict(load_profile(name, root).shared["compressors"]).configs()
        assert set(configs) == {"ae", "vae", "seq2seq", "split", "pernode", "dvae", "dvae_emb"}


@pytest.fixture(scope="module")
def chapter2_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def chapter2(chapter2_cache):
    """Chapter 2 on tiny models, once for the module, in a cache of its own: the architectures, every model
    trained on every seed, then one of them again (from the cache), and their evaluation."""
    with cache_at(chapter2_cache):
        cs = compression.CompressorSet.from_dict(SPEC)
        configs, seeds = cs.configs(), cs.seed_list()
        arch = compression.architectures(**cs.data.as_dict())
        trained = compression.train_all(configs, arch.train, seeds, progress=False)
        reloaded = compression.train_all(configs, arch.train, [0], keys=["ae"], progress=False)
        evals = compression.evaluate_all(trained, arch, 2, 2, 20)
    return SimpleNamespace(arch=arch, configs=configs, seeds=seeds, trained=trained, reloaded=reloaded, evals=evals,
                           names=compression.model_names(trained))


@pytest.fixture(scope="module")
def t1(chapter2):
    return compression.table1(chapter2.trained, chapter2.evals)


@pytest.fixture(scope="module")
def sweep(chapter2, chapter2_cache):
    """The latent sweep, in chapter 2's cache (after its trainings)."""
    from nasvec.experiments import compression_uses as uses

    c = chapter2
    with cache_at(chapter2_cache):
        return uses.latent_sweep(SWEEP, c.configs, c.arch.train, c.arch.test, 2, 2)


@pytest.fixture(scope="module")
def gp(chapter2, chapter2_cache):
    """(codes, GP table), in chapter 2's cache."""
    from nasvec.experiments import compression_uses as uses

    with cache_at(chapter2_cache):
        return uses.gp_table(chapter2.trained, chapter2.arch, n_inducing=10, iters=2)


@pytest.fixture(scope="module")
def budget(chapter2, chapter2_cache):
    from nasvec.experiments import compression_uses as uses

    c = chapter2
    with cache_at(chapter2_cache):
        return uses.equal_budget(c.trained, c.arch.train, c.arch.test, budget=0.05, points=2, keys=["ae", "pernode"])


def test_architectures_split_60_graphs_into_54_and_6(chapter2):
    arch = chapter2.arch
    assert len(arch.train_idx) == 54
    assert len(arch.test_idx) == 6
    assert len(arch.objective) == 60
    assert arch.train.types.shape == (54, 8)


def test_train_all_trains_every_model_on_every_seed(chapter2):
    trained = chapter2.trained
    assert [len(r) for r in trained.values()] == [2, 2, 2]
    assert [t.config.training.seed for t in trained["ae"]] == [0, 1]


def test_train_all_first_call_trains_in_this_run(chapter2):
    assert {t.origin for r in chapter2.trained.values() for t in r} == {"this run"}


def test_train_all_second_call_loads_from_the_cache(chapter2):
    assert chapter2.reloaded["ae"][0].origin == "cache"


def test_evaluate_all_gives_one_row_per_model_and_seed(chapter2):
    evals = chapter2.evals
    assert len(evals) == 6
    assert set(evals.seed) == {0, 1}


def test_whole_graphs_are_never_more_often_right_than_nodes(chapter2):
    evals = chapter2.evals
    assert (evals.per_graph <= evals.per_node + 1e-12).all()


def test_unscaled_validity_is_not_negative(chapter2):
    assert (chapter2.evals.validity_unscaled >= 0).all()


def test_table1_has_a_row_per_model_with_its_runs(t1):
    assert list(t1.model) == ["AE", "split", "per-node (paper)"]
    assert t1.runs.tolist() == [2, 2, 2]


def test_table1_states_each_code_size(t1):
    assert list(t1.code) == ["4 per graph", "2 + 1 per graph", "4 + 2 per node (48 per graph)"]


def test_table1_quotes_the_seed_paper_only_for_its_model(t1):
    assert t1["seed paper's Table 1 %"].isna().tolist() == [True, True, False]


def test_table1_per_graph_is_the_mean_over_seeds(chapter2, t1):
    evals = chapter2.evals
    assert np.allclose(t1["exact decodes %"], [100 * evals[evals.key == k].per_graph.mean() for k in chapter2.trained])
    assert (t1["exact decodes sd"] >= 0).all()


def test_provenance_has_a_row_per_run(chapter2):
    prov = compression.provenance(chapter2.trained, chapter2.evals)
    assert len(prov) == 6
    assert list(prov.columns)[:3] == ["model", "seed", "origin"]


def test_invalid_reasons_has_a_column_per_model(chapter2):
    assert set(compression.invalid_reasons(chapter2.evals).columns) <= {"problem", "AE", "split", "per-node (paper)"}


def test_no_shipped_curves_without_shipped_models(chapter2):
    assert len(compression.shipped_curves(chapter2.trained)) == 0


def test_latent_sweep_loads_table1s_model_from_the_cache(sweep):
    assert sweep.epochs_loaded.tolist() == [0, 2, 0]  # split at 3 is Table 1's model (seed 0), loaded from the cache


def test_latent_sweep_code_sizes(sweep):
    assert sweep.code_per_graph.tolist() == [2, 3, 16]


def test_gp_table_codes_and_columns(gp):
    codes, table = gp
    assert codes["pernode"].shape == (60, 48)
    assert list(table.columns)[:5] == ["model", "code size", "RMSE", "RMSE (raw)", "Pearson r"]


def test_equal_budget_has_the_points_of_each_model(budget):
    assert budget.model.tolist() == ["AE", "AE", "per-node (paper)", "per-node (paper)"]


def test_equal_budget_points_take_more_time(budget):
    assert (budget.groupby("model").seconds.diff().dropna() > 0).all()


def test_closing_note_names_the_papers_model_and_the_budget(chapter2, t1, sweep, gp, budget):
    from nasvec.experiments import compression_uses as uses

    c = chapter2
    note = uses.closing_note("quick", c.arch, False, t1, c.names, sweep, gp[1], pd.DataFrame(
        {"method": ["random"], "best_mean": [0.7], "rank_median": [3.0]}), 5, budget, 0.05)
    assert "The paper's model, 4 + 2 per node (48 per graph)" in note
    assert "Equal budget, 0.05 CPU seconds" in note


def test_chapter2_figures_draw_a_loss_curve_per_model(chapter2, t1, sweep, budget):
    import matplotlib.pyplot as plt
    from nasvec.book.plots import compression as figures

    c = chapter2
    authors = {"pernode_structure": pd.DataFrame({"epoch": [1, 2], "recon": [3.0, 1.0], "kl": [1.0, 2.0]})}
    figs = [figures.losses(c.trained, authors), figures.per_node_vs_per_graph(list(c.trained), t1),
            figures.latent_sweep(sweep, SWEEP, c.names),
            figures.equal_budget(budget, c.names),
            figures.convergence(pd.DataFrame({"model": ["AE"] * 2, "epoch": [5, 10], "per_graph": [0.1, 0.2],
                                              "per_node": [0.5, 0.6]}), {"AE": 90.0}, c.names)]
    assert len(figs[0].axes[0].lines) == 3 + 1   # one per model, and the authors' structure VAE
    for fig in figs:
        plt.close(fig)


def test_the_verdict_follows_the_numbers():
    from nasvec.experiments import compression_uses as uses

    names = {"pernode": "P", "dvae": "D"}
    row = {"code": "4 + 2 per node (48 per graph)", "runs": 3, "exact decodes sd": 0.1, "per node %": 99.5,
           "per node, all graphs %": 99.6, "origin": "shipped", "epochs": 100, "hidden": "128",
           "published reconstruction %": 99.96, "validity %": 7.62, "validity N(0, I) %": 0.0,
           "graphs exact in all decodes %": 65.8, "graphs exact, greedy %": 100.0, "exact decodes, mean code %": 99.5}
    t1 = pd.DataFrame([{"model": "P", **row, "exact decodes %": 95.0}, {"model": "D", **row, "exact decodes %": 99.5}])
    lines = "\n".join(uses.verdict_lines(t1, names))
    assert "only 95.00 % of whole-graph decodes, 4.96 points below" in lines and "(within a point)" in lines
    assert "valid ENAS network 7.62 % of the time (0.00 % from N(0, I)), against D-VAE's 7.62 %" in lines
    t1.loc[0, "exact decodes %"] = 99.2
    assert "4 + 2 dimensions suffice" in "\n".join(uses.verdict_lines(t1, names))


def test_the_dvae_line_counts_graphs_as_well_as_decodes():
    from nasvec.experiments import compression_uses as uses

    row = {"origin": "shipped", "epochs": 90, "hidden": "128", "published reconstruction %": 99.96,
           "exact decodes %": 99.5, "exact decodes, mean code %": 99.6, "graphs exact in all decodes %": 65.8,
           "graphs exact, greedy %": 100.0}
    line = uses.verdict_lines(pd.DataFrame([{"model": "D", **row}]), {"dvae": "D"})[0]
    assert "65.80 % of the test graphs are exact in every decode and 100.00 % with the mean code" in line


def test_the_shipped_note_states_every_deviation_from_dvae():
    from nasvec.compress.registry import CompressorConfig

    cfg = CompressorConfig.from_dict({"latent_dim": 56, "kwargs": {"hidden": 128}, "training": {"lr": 1e-3},
                                      "checkpoint": "dvae"}, model="dvae")
    prov = {"weights_bytes": 900_000, "command": "nasvec converge dvae --hidden 128", "epochs": 90, "seconds": 3600,
            "machine": {"cpu_count": 2, "threads": 1}, "stopped": "no gain"}
    model = cfg.replace(checkpoint=None).build(["input", "output", "conv"], 4)
    note = compression.shipped_note({"dvae": [compression.Trained("dvae", model, [], cfg, "shipped", 90, prov)]})
    assert "`checkpoints/compression/dvae/` (0.9 MB, half precision)" in note and "for 90 epochs in 1.00 h" in note
    assert "hidden 128 (D-VAE: 501); lr 0.001 (D-VAE: 0.0001); epochs 90 (D-VAE: 300)" in note
    assert compression.shipped_note({}) == ""


def test_chapter2_names_models_missing_from_the_compressors(cache):
    from nasvec.experiments import compression_uses as uses

    cs = compression.CompressorSet.from_dict(SPEC)
    configs, arch = cs.configs(), compression.architectures(**cs.data.as_dict())
    with pytest.raises(ConfigError, match=r"latent sweep: \['vae'\] have no entry in the compressors' models"):
        uses.latent_sweep({"vae": [2]}, configs, arch.train, arch.test)
    with pytest.raises(ConfigError, match=r"bo_models \['dvae'\] are not among the compressors' models"):
        uses.bo_codes({}, {}, ["dvae"])
    with pytest.raises(ConfigError, match="budget must be > 0 seconds"):
        uses.equal_budget({}, arch.train, arch.test, budget=0)
    shipped = {**configs, "dvae": CompressorConfig("dvae", checkpoint="dvae")}
    with pytest.raises(ConfigError, match="'dvae' is a shipped checkpoint in this profile"):
        uses.latent_sweep({"dvae": [2]}, shipped, arch.train, arch.test)


def test_search_summary_ranks_against_the_pool():
    from nasvec.experiments import compression_uses as uses

    search = pd.DataFrame({"method": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1], "query": [2] * 4,
                           "best": [3.0, 2.0, 3.0, 3.0]})
    s = uses.search_summary(search, np.array([1.0, 2.0, 3.0]), 2, 2).set_index("method")
    assert s.loc["a", "rank_median"] == 1.5 and s.loc["b", "found_the_best"] == 2 and s.loc["a", "queries"] == 2
