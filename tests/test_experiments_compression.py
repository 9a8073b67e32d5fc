"""nasvec.experiments, chapter 2: compressors, Table 1, what latent spaces are good for (on small inputs; the notebooks run them whole)."""

import numpy as np
import pandas as pd
import pytest

from nasvec.compress.registry import CompressorConfig
from nasvec.errors import ConfigError
from nasvec.experiments import compression


# --------------------------------------------------------------------------- chapter 2
SPEC = {"data": {"real_data": False, "n_generated": 60, "seed": 0}, "training": {"batch_size": 16, "chunk": 2},
        "seeds": [0, 1],
        "models": {"ae": {"latent_dim": 4, "epochs": 2, "kwargs": {"hidden": [16]}},
                   "split": {"latent_dim": 3, "epochs": 2, "kwargs": {"hidden": [16]}},
                   "pernode": {"latent_dim": 6, "epochs": 2}}}


def test_compressor_setup_gives_one_config_per_model():
    data, configs, seeds = compression.compressor_setup(SPEC)
    assert data == {"real_data": False, "n_generated": 60, "seed": 0} and seeds == [0, 1]
    assert configs["ae"] == CompressorConfig("ae", latent_dim=4, kwargs={"hidden": [16]}, epochs=2, batch_size=16, chunk=2)
    assert compression.compressor_setup({"models": {"dvae": {"checkpoint": "dvae"}}})[1]["dvae"].checkpoint == "dvae"
    assert compression.compressor_setup({"models": {}, "training": {"seed": 3}})[2] == [3]
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['model'\]"):
        compression.compressor_setup({**SPEC, "model": {}})
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['latent'\]"):
        compression.compressor_setup({"models": {"ae": {"latent": 4}}})


def test_chapter2_tables_on_tiny_models(cache):
    from nasvec.experiments import compression_uses as uses

    data, configs, seeds = compression.compressor_setup(SPEC)
    arch = compression.architectures(**data)
    assert len(arch.train_idx) == 54 and len(arch.test_idx) == 6 and len(arch.objective) == 60
    assert arch.train.types.shape == (54, 8)
    trained = compression.train_all(configs, arch.train, seeds, progress=False)
    assert [len(r) for r in trained.values()] == [2, 2, 2] and [t.config.seed for t in trained["ae"]] == [0, 1]
    assert {t.origin for r in trained.values() for t in r} == {"this run"}
    assert compression.train_all(configs, arch.train, [0], keys=["ae"], progress=False)["ae"][0].origin == "cache"
    evals = compression.evaluate_all(trained, arch, 2, 2, 20)
    assert len(evals) == 6 and set(evals.seed) == {0, 1}
    assert ((evals.per_graph <= evals.per_node + 1e-12) & (evals.validity_unscaled >= 0)).all()
    t1 = compression.table1(trained, evals)
    assert list(t1.model) == ["AE", "split", "per-node (paper)"] and t1.runs.tolist() == [2, 2, 2]
    assert list(t1.code) == ["4 per graph", "2 + 1 per graph", "4 + 2 per node (48 per graph)"]
    assert t1["seed paper's Table 1 %"].isna().tolist() == [True, True, False]
    assert np.allclose(t1["per graph %"], [100 * evals[evals.key == k].per_graph.mean() for k in trained])
    assert (t1["per graph sd"] >= 0).all()
    prov = compression.provenance(trained, evals)
    assert len(prov) == 6 and list(prov.columns)[:3] == ["model", "seed", "origin"]
    assert set(compression.invalid_reasons(evals).columns) <= {"problem", "AE", "split", "per-node (paper)"}
    assert len(compression.shipped_curves(trained)) == 0
    sweep = uses.latent_sweep({"split": [2, 3], "pernode": [2]}, configs, arch.train, arch.test, 2, 2)
    assert sweep.epochs_loaded.tolist() == [0, 2, 0]  # split at 3 is Table 1's model (seed 0), loaded from the cache
    assert sweep.code_per_graph.tolist() == [2, 3, 16]
    codes, gp = uses.gp_table(trained, arch, n_inducing=10, iters=2)
    assert codes["pernode"].shape == (60, 48) and list(gp.columns)[:5] == ["model", "code size", "RMSE", "RMSE (raw)",
                                                                         "Pearson r"]
    budget = uses.equal_budget(trained, arch.train, arch.test, budget=0.05, points=2, keys=["ae", "pernode"])
    assert budget.model.tolist() == ["AE", "AE", "per-node (paper)", "per-node (paper)"]
    assert (budget.groupby("model").seconds.diff().dropna() > 0).all()
    names = compression.model_names(trained)
    note = uses.closing_note("quick", arch, False, t1, names, sweep, gp, pd.DataFrame(
        {"method": ["random"], "best_mean": [0.7], "rank_median": [3.0]}), 5, budget, 0.05)
    assert "The paper's model, 4 + 2 per node (48 per graph)" in note and "Equal budget, 0.05 CPU seconds" in note
    import matplotlib.pyplot as plt
    from nasvec.book.plots import compression as figures

    authors = {"pernode_structure": pd.DataFrame({"epoch": [1, 2], "recon": [3.0, 1.0], "kl": [1.0, 2.0]})}
    figs = [figures.losses(trained, authors), figures.per_node_vs_per_graph(list(trained), t1),
            figures.latent_sweep(sweep, {"split": [2, 3], "pernode": [2]}, names),
            figures.equal_budget(budget, names),
            figures.convergence(pd.DataFrame({"model": ["AE"] * 2, "epoch": [5, 10], "per_graph": [0.1, 0.2],
                                              "per_node": [0.5, 0.6]}), {"AE": 90.0}, names)]
    assert len(figs[0].axes[0].lines) == 3 + 1   # one per model, and the authors' structure VAE
    for fig in figs:
        plt.close(fig)


def test_the_verdict_follows_the_numbers():
    from nasvec.experiments import compression_uses as uses

    names = {"pernode": "P", "dvae": "D"}
    row = {"code": "4 + 2 per node (48 per graph)", "runs": 3, "per graph sd": 0.1, "per node %": 99.5,
           "per node, all graphs %": 99.6, "origin": "shipped", "epochs": 100, "hidden": "128",
           "published reconstruction %": 99.96, "validity %": 7.62, "validity N(0, I) %": 0.0}
    t1 = pd.DataFrame([{"model": "P", **row, "per graph %": 95.0}, {"model": "D", **row, "per graph %": 99.5}])
    lines = "\n".join(uses.verdict_lines(t1, names))
    assert "only 95.00 % of whole graphs, 4.96 points below" in lines and "(within a point)" in lines
    assert "valid ENAS network 7.62 % of the time (0.00 % from N(0, I)), against D-VAE's 7.62 %" in lines
    t1.loc[0, "per graph %"] = 99.2
    assert "4 + 2 dimensions suffice" in "\n".join(uses.verdict_lines(t1, names))


def test_the_shipped_note_states_every_deviation_from_dvae():
    from nasvec.compress.registry import CompressorConfig

    cfg = CompressorConfig("dvae", latent_dim=56, kwargs={"hidden": 128}, lr=1e-3, checkpoint="dvae")
    prov = {"weights_bytes": 900_000, "command": "nasvec converge dvae --hidden 128", "epochs": 90, "seconds": 3600,
            "machine": {"cpu_count": 2, "threads": 1}, "stopped": "no gain"}
    model = cfg.replace(checkpoint=None).build(["input", "output", "conv"], 4)
    note = compression.shipped_note({"dvae": [compression.Trained("dvae", model, [], cfg, "shipped", 90, prov)]})
    assert "`checkpoints/compression/dvae/` (0.9 MB, half precision)" in note and "for 90 epochs in 1.00 h" in note
    assert "hidden 128 (D-VAE: 501); lr 0.001 (D-VAE: 0.0001); epochs 90 (D-VAE: 300)" in note
    assert compression.shipped_note({}) == ""


def test_chapter2_names_models_missing_from_the_compressors(cache):
    from nasvec.experiments import compression_uses as uses

    data, configs, _ = compression.compressor_setup(SPEC)
    arch = compression.architectures(**data)
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
