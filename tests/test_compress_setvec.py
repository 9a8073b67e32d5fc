"""The compressors of chapter 2 (AE, VAE, seq2seq, split latent), the registry and CompressorConfig:
shapes, training, decoding, caching."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec.compress.base import DagBatch, fit_compressor, fit_compressor_cached
from nasvec.compress.registry import CompressorConfig, available_models, make_compressor, train_compressor
from nasvec.compress.setvec import GraphAE, SplitVAE, split_latent
from nasvec.errors import CompressError, ConfigError
from nasvec.data import ENAS_TYPES, generate_enas
from nasvec.graph import ArchGraph, Node

LOCAL = ["ae", "vae", "seq2seq", "split"]
N = 8


def small_model(key, latent=6, seed=0):
    kw = {"hidden": 32} if key == "seq2seq" else {"hidden": (32,)}
    return make_compressor(key, ENAS_TYPES, N, latent, seed=seed, **kw)


@pytest.fixture(scope="module")
def batch():
    return DagBatch.from_graphs(generate_enas(48, seed=3), ENAS_TYPES)


def assert_well_formed(dec: DagBatch, n_batch: int, vocab=ENAS_TYPES):
    assert dec.types.shape == (n_batch, N) and dec.adj.shape == (n_batch, N, N)
    types = dec.types
    assert ((types >= -1) & (types < len(vocab))).all()
    alive = types >= 0
    # padding only after the last node
    assert (alive.long().cummin(1).values == alive.long()).all()
    # edges only forward and only between nodes that exist
    assert (torch.tril(dec.adj) == 0).all()
    assert (dec.adj[~(alive[:, :, None] & alive[:, None, :])] == 0).all()
    assert set(dec.adj.unique().tolist()) <= {0.0, 1.0}
    for g in dec.to_graphs(vocab):  # ArchGraph refuses backward edges
        assert isinstance(g, ArchGraph)


@pytest.mark.parametrize("key", LOCAL)
def test_shapes_and_loss_terms(key, batch):
    model = small_model(key)
    out = model.loss(batch, beta=0.005)
    assert set(out) >= {"loss", "recon", "kl"}
    assert all(out[k].shape == () for k in ("loss", "recon", "kl"))
    assert out["recon"] > 0 and out["kl"] >= 0
    assert torch.isclose(out["loss"], out["recon"] + 0.005 * out["kl"])
    if key == "ae":
        assert out["kl"] == 0
    model.eval()
    z = model.encode(batch)
    assert z.shape == (len(batch), model.latent_dim)
    assert_well_formed(model.decode(z), len(batch))
    assert_well_formed(model.sample(5, generator=torch.Generator().manual_seed(0)), 5)


@pytest.mark.parametrize("key", LOCAL)
def test_stochastic_encoder_samples_and_mean_is_deterministic(key, batch):
    model = small_model(key).eval()
    torch.manual_seed(0)
    a, b = model.encode(batch), model.encode(batch)
    assert torch.equal(a, b)
    s1, s2 = model.encode(batch, stochastic=True), model.encode(batch, stochastic=True)
    if key == "ae":
        assert torch.equal(s1, a)
    else:
        assert not torch.equal(s1, s2)


@pytest.mark.parametrize("key", LOCAL)
def test_gradients_reach_every_parameter(key, batch):
    model = small_model(key)
    model.train()
    model.loss(batch)["loss"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("key", LOCAL)
def test_a_few_training_steps_lower_the_loss(key, batch):
    model = small_model(key, seed=1)
    model.eval()
    with torch.no_grad():
        before = float(model.loss(batch)["recon"])
    fit_compressor(model, batch, epochs=15, batch_size=16, lr=3e-3, progress=False)
    with torch.no_grad():
        after = float(model.loss(batch)["recon"])
    assert after < 0.8 * before


def test_autoencoder_overfits_a_tiny_set():
    graphs = generate_enas(24, seed=5)
    data = DagBatch.from_graphs(graphs, ENAS_TYPES)
    model = make_compressor("ae", ENAS_TYPES, N, 16, seed=0, hidden=(128,))
    fit_compressor(model, data, epochs=150, batch_size=8, lr=3e-3, progress=False)
    with torch.no_grad():
        dec = model.decode(model.encode(data))
    exact = sum(a == b for a, b in zip(dec.to_graphs(ENAS_TYPES), graphs))
    assert exact >= 20


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(LOCAL), seed=st.integers(0, 10_000), scale=st.floats(0.0, 20.0), stochastic=st.booleans())
def test_decode_always_gives_well_formed_dags(key, seed, scale, stochastic):
    model = small_model(key, seed=seed % 7).eval()
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(6, model.latent_dim, generator=g) * scale
    torch.manual_seed(seed)
    with torch.no_grad():
        assert_well_formed(model.decode(z, stochastic=stochastic), 6)


@st.composite
def small_dags(draw, max_nodes=N):
    n = draw(st.integers(1, max_nodes))
    ops = draw(st.lists(st.sampled_from(ENAS_TYPES), min_size=n, max_size=n))
    pairs = [(i, j) for j in range(n) for i in range(j)]
    edges = [p for p in pairs if draw(st.booleans())]
    return ArchGraph([Node(o) for o in ops], edges)


@settings(max_examples=30, deadline=None)
@given(graphs=st.lists(small_dags(), min_size=1, max_size=5), key=st.sampled_from(LOCAL))
def test_any_dag_of_the_vocabulary_encodes_and_its_batch_round_trips(graphs, key):
    batch = DagBatch.from_graphs(graphs, ENAS_TYPES, max_nodes=N)
    assert batch.to_graphs(ENAS_TYPES) == graphs
    model = small_model(key).eval()
    with torch.no_grad():
        z = model.encode(batch)
        out = model.loss(batch)
    assert z.shape == (len(graphs), model.latent_dim) and torch.isfinite(z).all()
    assert torch.isfinite(out["loss"])


def test_split_model_keeps_structure_and_types_apart(batch):
    model = make_compressor("split", ENAS_TYPES, N, 6, seed=0).eval()
    assert (model.structure_dim, model.type_dim) == (4, 2)
    with torch.no_grad():
        z = model.encode(batch)
        z2 = z.clone()
        z2[:, 4:] = torch.randn(len(batch), 2) * 3  # new op-type code, same structure code
        a, b = model.decode(z), model.decode(z2)
        alive = (a.types >= 0) & (b.types >= 0)
        same_nodes = alive[:, :, None] & alive[:, None, :]
        assert torch.equal(a.adj * same_nodes, b.adj * same_nodes)
        z3 = z.clone()
        z3[:, :4] = torch.randn(len(batch), 4) * 3  # new structure code, same op types
        assert torch.equal(model.decode(z3).types, a.types)


def test_split_latent_sizes():
    assert split_latent(6) == (4, 2)
    assert split_latent(2) == (1, 1)
    assert sum(split_latent(56)) == 56
    with pytest.raises(CompressError, match="at least 2"):
        split_latent(1)
    with pytest.raises(CompressError, match="must equal structure_dim"):
        SplitVAE(ENAS_TYPES, N, latent_dim=7, structure_dim=4, type_dim=2)


def test_bad_input_is_named(batch):
    model = small_model("vae")
    with pytest.raises(CompressError, match="max_nodes=8"):
        model.encode(DagBatch.from_graphs(generate_enas(2, n_layers=7), ENAS_TYPES))
    with pytest.raises(CompressError, match="DagBatch"):
        model.encode(batch.types)
    bad = DagBatch(batch.types.clone(), batch.adj)
    bad.types[0, 1] = len(ENAS_TYPES)
    with pytest.raises(CompressError, match="outside the vocabulary"):
        model.loss(bad)
    with pytest.raises(CompressError, match="unknown compressor 'gan'"):
        make_compressor("gan", ENAS_TYPES, N)


def test_registry_lists_every_model_of_table1():
    assert available_models() == ["ae", "vae", "seq2seq", "split", "pernode", "dvae", "dvae_emb"]
    for key in available_models():   # the per-node model's code is per node: 6 numbers for each of N nodes
        assert make_compressor(key, ENAS_TYPES, N, 6).latent_dim == (6 * N if key == "pernode" else 6)


def test_compressor_config_names_bad_settings_and_builds_its_model():
    cfg = CompressorConfig.from_dict({"latent_dim": 6, "training": {"epochs": 3}, "kwargs": {"hidden": (16,)}}, model="vae")
    assert cfg.build(ENAS_TYPES, N).latent_dim == 6 and "vae: latent 6, hidden (16,); 3 epochs" in cfg.describe()
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['latent'\]"):
        CompressorConfig.from_dict({"latent": 6}, model="vae")
    with pytest.raises(ConfigError, match="unknown model 'gan'"):
        CompressorConfig("gan")
    with pytest.raises(ConfigError, match=r"CompressorConfig\.training: VAETraining: epochs must be an integer >= 0"):
        CompressorConfig.from_dict({"training": {"epochs": -1}}, model="ae")
    with pytest.raises(ConfigError, match="training must be a VAETraining or a mapping"):
        CompressorConfig("ae", training={"epochs": 1})     # the constructor takes configs; from_dict takes mappings
    with pytest.raises(CompressError, match="expected a CompressorConfig"):
        train_compressor({"model": "ae"}, None, ENAS_TYPES)


def test_same_seed_same_weights():
    a, b = small_model("seq2seq", seed=4), small_model("seq2seq", seed=4)
    c = small_model("seq2seq", seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_fit_compressor_cached_resumes_exactly(tmp_path, monkeypatch, batch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    cfg = {"test": "resume"}
    one_go = small_model("vae")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        torch.randn(3)  # a different global RNG state must not matter
        hist_a, loaded = fit_compressor_cached(one_go, batch, 4, "t", cfg, chunk=4, lr=1e-3, progress=False)
    assert loaded == 0 and [r["epoch"] for r in hist_a] == [1, 2, 3, 4]
    chunked = small_model("vae")
    fit_compressor_cached(chunked, batch, 2, "t2", cfg, chunk=2, lr=1e-3, progress=False)
    resumed = small_model("vae")
    hist_b, loaded = fit_compressor_cached(resumed, batch, 4, "t2", cfg, chunk=2, lr=1e-3, progress=False)
    assert loaded == 2 and [r["epoch"] for r in hist_b] == [1, 2, 3, 4]
    for p, q in zip(one_go.parameters(), resumed.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    again = small_model("vae")
    _, loaded = fit_compressor_cached(again, batch, 4, "t2", cfg, chunk=2, lr=1e-3, progress=False)
    assert loaded == 4
    assert all(torch.equal(p, q) for p, q in zip(again.parameters(), resumed.parameters()))


def test_train_compressor_caches_and_keys_on_the_data(tmp_path, monkeypatch, batch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    cfg = CompressorConfig.from_dict({"latent_dim": 4, "training": {"epochs": 2}, "kwargs": {"hidden": (16,)}}, model="ae")
    m1, h1, loaded1 = train_compressor(cfg, batch, ENAS_TYPES, progress=False)
    m2, h2, loaded2 = train_compressor(cfg, batch, ENAS_TYPES, progress=False)
    assert (loaded1, loaded2) == (0, 2) and len(h1) == len(h2) == 2
    _, _, loaded3 = train_compressor(cfg, batch[:40], ENAS_TYPES, progress=False)
    assert loaded3 == 0
    _, _, loaded4 = train_compressor(cfg.replace(training={"lr": 2e-3}), batch, ENAS_TYPES, progress=False)
    assert loaded4 == 0  # another setting of the config is another model
    assert isinstance(m2, GraphAE)


def test_seq2seq_generation_matches_teacher_forcing_on_its_own_decode(batch):
    """Decoding node by node must give the graph whose teacher-forced logits it follows."""
    model = make_compressor("seq2seq", ENAS_TYPES, N, 8, seed=2, hidden=32).eval()
    fit_compressor(model, batch, epochs=20, batch_size=16, lr=3e-3, progress=False)
    model.eval()
    with torch.no_grad():
        z = model.encode(batch)
        dec = model.decode(z)
        type_logits, edge_logits = model._teacher_forced(z, model.node_vectors(dec))
        again = model.to_batch(type_logits, edge_logits, stochastic=False)
    assert torch.equal(again.types, dec.types) and torch.equal(again.adj, dec.adj)
    assert dec.adj.sum() > 0
