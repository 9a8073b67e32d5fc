"""nasvec.experiments: the chapters' tables and studies, on small inputs (the notebooks run them whole)."""

import numpy as np
import pandas as pd
import pytest
import torch

from nasvec.compress.registry import CompressorConfig
from nasvec.data import generate_enas
from nasvec.errors import ConfigError
from nasvec.experiments import compression, datasets, graphs, gumbel, hypernetwork, hypernetwork_seeds, repair, table2
from nasvec.search import gumbel as G


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    return tmp_path


# --------------------------------------------------------------------------- datasets and graphs
def test_dataset_tables():
    stats = datasets.enas_sources(generate_enas(50, seed=1))
    summary = datasets.enas_summary(stats)
    assert list(summary.source) == ["generated"] and summary.graphs[0] == 50
    assert np.isclose(datasets.op_shares(stats["generated"]).sum(), 1.0)
    assert np.isclose(summary[list(datasets.ENAS_OPS)].sum(axis=1)[0], 1.0)
    sizes = datasets.data_sizes(np.arange(10) % 3, n_generated=50)
    assert list(sizes.data_set) == ["digits", "ENAS (generated)"] and sizes.classes[0] == 3
    counts = datasets.class_counts(np.array([0, 0, 9]), np.array([1]))
    assert counts.train.tolist()[:2] == [2, 0] and counts.test.sum() == 1 and len(counts) == 10


def test_graph_tables_of_the_tiny_network():
    from nasvec import from_torch

    g = from_torch(graphs.TinyNet(), torch.randn(1, 1, 8, 8))
    table = graphs.attribute_table(g)
    assert list(table.op) == g.ops and "kernel_shape[0]" in table.columns and "out_channels" in table.columns
    assert not table.drop(columns="op").isna().all().any()  # only the columns some node uses
    vocab = graphs.vocabulary_table()
    assert vocab["ops (paper)"][0] == 20 and vocab["ops (ours)"][0] > 20
    from nasvec import GraphError, from_onnx
    with pytest.raises(GraphError, match="'Erf' is not in the vocabulary"):
        from_onnx(graphs.unknown_op_model())


def test_zoo_tables(cache):
    from nasvec.data.zoo import load_zoo

    zoo = load_zoo(4, seed=0, progress=False)
    stats = graphs.zoo_statistics(zoo)
    summary = graphs.zoo_summary(stats).set_index("quantity")
    assert summary.loc["architectures", "ours"] == 4 and summary.loc["families", "ours"] == 4
    rt, timing = graphs.zoo_round_trip(zoo, checked=2, seed=0)
    assert rt["vectors exact %"][0] == 100 and rt["ONNX exact %"][0] == 100 and rt["run in onnxruntime + torch"][0] == 2
    assert rt["max onnxruntime error"][0] < 1e-4 and len(timing) == 4
    assert graphs.codec_totals(timing).nodes[0] == sum(len(g) for g in zoo)


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
    lines = "\n".join(uses._verdict(t1, names))
    assert "only 95.00 % of whole graphs, 4.96 points below" in lines and "(within a point)" in lines
    assert "valid ENAS network 7.62 % of the time (0.00 % from N(0, I)), against D-VAE's 7.62 %" in lines
    t1.loc[0, "per graph %"] = 99.2
    assert "4 + 2 dimensions suffice" in "\n".join(uses._verdict(t1, names))


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


# --------------------------------------------------------------------------- chapter 3
def test_validity_tables_repair_every_output():
    validity, firing = repair.validity_tables(0, 3, 6)
    assert list(validity.kind) == list(repair.DECODER_KINDS) and (validity["valid after repair %"] == 100).all()
    assert list(firing.columns)[1:] == list(repair.RULES) and (firing.drop(columns="kind") <= 3).all().all()
    assert "after repair: 100.0 %" in repair.closing_lines(validity, pd.DataFrame(
        {"runs as decoded %": [50.0], "valid after repair %": [100.0]}))
    with pytest.raises(ConfigError, match="kind must be one of"):
        repair.random_decoder_output(np.random.default_rng(0), "zeros", 3)


def test_broken_decode_needs_the_rules():
    from nasvec.repair import problem, repair as fix

    arrays, before = repair.broken_decode()
    assert problem(before, (1, 1, 28, 28)) is not None
    after, counts = fix(arrays, report=True)
    assert problem(after, (1, 1, 28, 28)) is None
    assert {"one_sink", "acyclic", "shape_ops", "attributes"} <= set(counts)


def test_table2_config_and_a_tiny_run_of_every_cell(cache):
    from nasvec.compress.attributed import AttrCodec, AttributedSplitVAE
    from nasvec.compress.pernode_attr import PerNodeAttrConfig

    with pytest.raises(ConfigError, match="data must be one of \\['digits', 'fashion_mnist', 'cifar10'\\]"):
        table2.Table2Config(data="cifar")
    with pytest.raises(ConfigError, match=r"no input size for \['vgg11'\]"):
        table2.Table2Config(models=("vgg11",))
    cfg = table2.Table2Config(models=("resnet18",), sizes={"resnet18": 8}, n_train=16, n_test=16, seeds=(0, 1))
    assert table2.Table2Config(data="cifar10", sizes={"resnet18": 32, "alexnet": 32}).input_shape("alexnet") == (1, 3, 32, 32)
    g = table2.original_graph("resnet18", cfg.input_shape("resnet18"))
    torch.manual_seed(0)
    pn = PerNodeAttrConfig(epochs=0, max_values=8).build(AttrCodec([g], 8)).eval()   # untrained: any decode
    comp = AttributedSplitVAE(AttrCodec([g]), 80, 4, 4, 4, hidden=(16,)).eval()
    edits = table2.changes(cfg, {"per node": table2.per_node(pn), "per graph": table2.per_graph(comp)})
    assert list(edits.variant) == ["round trip", "per node", "per graph"]
    assert edits.total.tolist()[0] == 0 and (edits.total[1:] > 0).all() and edits["params"][0] > 0
    assert edits["params vs original %"][0] == 100
    listed = table2.edit_lists(edits)
    assert "round trip" not in listed and f"**resnet18, per node** ({edits.total[1]} edits; repair rules fired: " in listed
    training = table2.TRAINING.replace(epochs=1, batch_size=8)
    runs = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
    assert len(runs) == 6 and not any(r["cached"] for r in runs.values())
    authors = pd.DataFrame({"network": ["resnet18"] * 6, "variant": ["original"] * 3 + ["round trip"] * 3,
                            "run": [1, 2, 3] * 2, "accuracy": [0.7665, 0.7622, 0.752, 0.7887, 0.7872, 0.7938]})
    totals = table2.edit_totals(edits, "per node")
    table = table2.table2_table(runs, cfg, training, authors, totals).set_index("variant")
    assert table.loc["original", "params"] == table.loc["roundtrip", "params"]
    assert table.loc["roundtrip", "paper as printed"] == "78.99 ± 0.39"
    assert table.loc["original", "authors' mean %"] == pytest.approx(76.0233, abs=1e-3)
    assert table.loc["original", "authors' ±"] == pytest.approx(0.8233, abs=1e-3)   # the largest deviation
    assert table["std"].notna().all() and table.loc["compressed", "edits to original"] == edits.total[1]
    assert "mean 76.02 ± 0.82" in table2.misprint_note(authors) and len(table2.provenance(runs, training)) == 6
    assert "**resnet18**: the per-node compression changes" in table2.summary(
        table.reset_index(), edits, "per node")
    again = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
    assert all(r["cached"] for r in again.values())


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


# --------------------------------------------------------------------------- chapter 5
def test_settings_table_says_what_ran():
    from nasvec.data import load_images
    from nasvec.search import NetConfig, SearchConfig

    study = hypernetwork.Study(load_images(False, 20, 10), NetConfig(layers=("normal",)), SearchConfig(epochs=2),
                               hypernetwork.TRAINING.replace(epochs=3))
    rows = dict(zip(*study.settings().T.values))
    assert rows["data"] == "digits (20 train / 10 test)" and rows["cells"].startswith("normal, 8 channels")
    assert rows["from-scratch training"] == "3 epochs, Adam lr 3e-3 (cosine), batch 64"
    assert rows["search"] == "2 epochs, batch 64, κ = 0.2, t 1.0 → 0.2, Adam lr 0.003 (w) / 0.03 (a)"
    assert hypernetwork._sci(0.003) == "3e-3" and hypernetwork._sci(0.25) == "2.5e-1"


def test_across_seeds_tables_show_the_spread(cache):
    from nasvec.data import load_images
    from nasvec.search import NetConfig, SearchConfig, simplex_grid
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
    from nasvec.search import NetConfig, SearchConfig

    study = hypernetwork.Study(load_images(False, 20, 10), NetConfig(layers=("normal",)), SearchConfig(epochs=1),
                               hypernetwork.TRAINING.replace(epochs=1))
    study.device = "cuda"
    assert study.slim().device == "cuda"                    # serial: fine
    monkeypatch.setenv("NASVEC_BACKEND", "ray")
    with pytest.raises(SearchError, match="Ray backend runs on CPU workers"):
        study.slim()
