"""D-VAE and DVAE-EMB (nasvec.compress.dvae): shapes, training, decoding, batching, and D-VAE's semantics."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec.compress.base import DagBatch, fit_compressor
from nasvec.compress.dvae import DVAE, DVAEEMB
from nasvec.compress.registry import MODELS, available_models, make_compressor
from nasvec.data import ENAS_TYPES, generate_enas
from nasvec.errors import CompressError
from nasvec.graph import ArchGraph, Node

KEYS = ["dvae", "dvae_emb"]
N = 8

pytestmark = pytest.mark.usefixtures("one_thread")


def small_model(key, latent=6, seed=0, **kw):
    return make_compressor(key, ENAS_TYPES, N, latent, seed=seed, hidden=24, **kw)


@pytest.fixture(scope="module")
def batch():
    return DagBatch.from_graphs(generate_enas(40, seed=3), ENAS_TYPES)


def assert_well_formed(dec: DagBatch, n_batch: int, vocab=ENAS_TYPES, n=N):
    assert dec.types.shape == (n_batch, n) and dec.adj.shape == (n_batch, n, n)
    types = dec.types
    assert ((types >= -1) & (types < len(vocab))).all()
    alive = types >= 0
    assert alive[:, 0].all()                                   # at least one node
    assert (alive.long().cummin(1).values == alive.long()).all()   # padding only at the end
    assert (torch.tril(dec.adj) == 0).all()                     # edges only i < j
    assert (dec.adj[~(alive[:, :, None] & alive[:, None, :])] == 0).all()
    assert set(dec.adj.unique().tolist()) <= {0.0, 1.0}
    for g in dec.to_graphs(vocab):
        assert isinstance(g, ArchGraph)


def test_registry_finds_both_models():
    assert MODELS["dvae"] is DVAE and MODELS["dvae_emb"] is DVAEEMB
    # the decoders live in their own module: it is part of a checkpoint's cache key
    from nasvec.compress.dvae_decoders import free_decode, teacher_forced_recon
    assert {free_decode.__module__, teacher_forced_recon.__module__} == {m.__name__ for m in DVAEEMB.source_modules}
    assert set(KEYS) <= set(available_models())
    m = make_compressor("dvae", ENAS_TYPES, N, 56)
    assert (m.hidden, m.latent_dim, m.bidirectional, m.eps_scale) == (501, 56, True, 0.01)  # D-VAE's settings


@pytest.mark.parametrize("key", KEYS)
def test_shapes_and_loss_terms(key, batch):
    model = small_model(key)
    out = model.loss(batch, beta=0.005)
    assert all(out[k].shape == () for k in ("loss", "recon", "kl"))
    assert out["recon"] > 0 and out["kl"] >= 0
    assert torch.isclose(out["loss"], out["recon"] + 0.005 * out["kl"])
    model.eval()
    z = model.encode(batch)
    assert z.shape == (len(batch), model.latent_dim)
    assert_well_formed(model.decode(z), len(batch))
    assert_well_formed(model.decode(z, stochastic=True), len(batch))
    assert_well_formed(model.sample(7, generator=torch.Generator().manual_seed(0)), 7)


@pytest.mark.parametrize("key", KEYS)
def test_gradients_reach_every_parameter(key, batch):
    model = small_model(key).train()
    model.loss(batch)["loss"].backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not torch.isfinite(p.grad).all() or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("key", KEYS)
def test_a_few_steps_lower_the_loss(key, batch):
    model = small_model(key)
    with torch.no_grad():
        before = float(model.eval().loss(batch)["recon"])
    fit_compressor(model, batch, epochs=8, batch_size=8, lr=3e-3, progress=False)
    with torch.no_grad():
        after = float(model.eval().loss(batch)["recon"])
    assert after < 0.8 * before


@pytest.mark.parametrize("key", KEYS)
def test_encode_of_a_batch_equals_encode_one_by_one(key):
    # graphs of different sizes: padding must not leak into the codes
    graphs = generate_enas(6, n_layers=4, seed=1) + generate_enas(6, n_layers=6, seed=2)
    batch = DagBatch.from_graphs(graphs, ENAS_TYPES, max_nodes=N)
    model = small_model(key).eval()
    together = model.encode(batch)
    alone = torch.cat([model.encode(batch[i:i + 1]) for i in range(len(batch))])
    assert torch.allclose(together, alone, atol=1e-5)
    loss_together = model.loss(batch)["recon"]
    loss_alone = sum(model.loss(batch[i:i + 1])["recon"] for i in range(len(batch)))
    assert torch.allclose(loss_together, loss_alone, rtol=1e-4)


@pytest.mark.parametrize("key", KEYS)
def test_stochastic_encoder_uses_eps_scale(key, batch):
    model = small_model(key, eps_scale=0.5).eval()
    mu = model.encode(batch)
    torch.manual_seed(0)
    s1, s2 = model.encode(batch, stochastic=True), model.encode(batch, stochastic=True)
    assert not torch.equal(s1, s2)
    tight = small_model(key, eps_scale=0.01).eval()
    spread = (model.encode(batch, stochastic=True) - mu).abs().mean()
    tight_spread = (tight.encode(batch, stochastic=True) - tight.encode(batch)).abs().mean()
    assert tight_spread < spread


# ---------------------------------------------------------------------------- D-VAE's semantics
def reference_recon(model: DVAE, z: torch.Tensor, batch: DagBatch) -> torch.Tensor:
    """D-VAE's teacher-forced likelihood written the slow way: one graph, one node, one edge at a time,
    the new node's state recomputed from the gated sum of its predecessors after every edge."""
    hs = model.hidden
    total = z.new_zeros(())

    def gated(h, v):
        vid = F.one_hot(torch.tensor(v), model.max_nodes).float()
        hv = torch.cat([h, vid]) if model.vid else h
        return torch.sigmoid(model.gate_forward(hv)) * model.mapper_forward(hv)

    for k in range(len(batch)):
        types = [int(t) for t in batch.types[k] if t >= 0]
        n = len(types)
        edges = {(i, j) for i in range(n) for j in range(n) if batch.adj[k, i, j] > 0.5 and i < j}
        x = model.node_input(torch.tensor(types))
        h0 = torch.tanh(model.fc_z(z[k:k + 1]))[0]
        states = [model.gru_decoder(x[0:1], h0[None])[0]]
        for v in range(1, model.max_nodes):
            logits = model.add_vertex(states[v - 1])
            target = types[v] if v < n else model.stop
            total = total + F.cross_entropy(logits[None], torch.tensor([target]), reduction="sum")
            if v >= n:
                break
            preds = []
            h = model.gru_decoder(x[v:v + 1], torch.zeros(1, hs))[0]
            for u in range(v - 1, -1, -1):
                logit = model.add_edge(torch.cat([states[u], h]))[0]
                total = total + F.binary_cross_entropy_with_logits(logit, torch.tensor(float((u, v) in edges)))
                if (u, v) in edges:
                    preds.append(u)
                s = sum((gated(states[p], p) for p in preds), torch.zeros(hs))
                h = model.gru_decoder(x[v:v + 1], s[None])[0]
            states.append(h)
    return total


@pytest.mark.parametrize("key", KEYS)
def test_batched_teacher_forcing_equals_dvae_sequential_computation(key):
    graphs = generate_enas(4, n_layers=6, seed=5) + generate_enas(3, n_layers=3, seed=6)
    batch = DagBatch.from_graphs(graphs, ENAS_TYPES, max_nodes=N)
    model = small_model(key, latent=5, seed=2).eval()
    z = torch.randn(len(batch), 5, generator=torch.Generator().manual_seed(0))
    fast = model._recon(z, batch)
    slow = reference_recon(model, z, batch)
    assert torch.allclose(fast, slow, rtol=1e-4), (float(fast), float(slow))


def test_decoder_forces_input_first_and_output_last_connected_to_loose_ends():
    model = small_model("dvae", seed=1).eval()
    dec = model.decode(torch.randn(200, 6, generator=torch.Generator().manual_seed(0)), stochastic=True)
    n = dec.n_nodes
    assert (dec.types[:, 0] == ENAS_TYPES.index("input")).all()
    last = dec.types[torch.arange(len(dec)), n - 1]
    ended = last == ENAS_TYPES.index("output")
    assert ended[n == N].all()                                   # the last slot is always the output
    for k in torch.nonzero(ended)[:, 0].tolist():
        m = int(n[k])
        out_deg = dec.adj[k, :m - 1, :m - 1].sum(1)
        # every node without a successor inside the graph feeds the output, and only those
        assert torch.equal(dec.adj[k, :m - 1, m - 1] > 0, out_deg == 0)


def test_training_makes_a_memorised_graph_decode_exactly():
    graphs = generate_enas(4, seed=11)
    batch = DagBatch.from_graphs(graphs, ENAS_TYPES)
    model = make_compressor("dvae", ENAS_TYPES, N, 8, seed=0, hidden=48)
    fit_compressor(model, batch, epochs=100, batch_size=4, lr=3e-3, progress=False)
    dec = model.decode(model.encode(batch))
    assert torch.equal(dec.types, batch.types) and torch.equal(dec.adj, batch.adj)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10_000), st.booleans(), st.sampled_from(KEYS))
def test_decode_of_any_code_is_well_formed(seed, stochastic, key):
    model = small_model(key, seed=seed % 3).eval()
    z = 3 * torch.randn(9, 6, generator=torch.Generator().manual_seed(seed))
    assert_well_formed(model.decode(z, stochastic=stochastic), 9)


def test_generic_vocabulary_without_input_and_output():
    vocab = ["a", "b", "c"]
    graphs = [ArchGraph([Node("a"), Node("b"), Node("c")], [(0, 1), (1, 2), (0, 2)]),
              ArchGraph([Node("c"), Node("a")], [(0, 1)])]
    batch = DagBatch.from_graphs(graphs, vocab, max_nodes=4)
    model = make_compressor("dvae", vocab, 4, 3, hidden=16)
    assert model.start_type is None and model.end_type is None
    model.loss(batch)["loss"].backward()
    model.eval()
    assert_well_formed(model.decode(torch.randn(20, 3), stochastic=True), 20, vocab=vocab, n=4)


# ---------------------------------------------------------------------------- errors
def test_bad_arguments_name_the_parameter(batch):
    with pytest.raises(CompressError, match="hidden"):
        make_compressor("dvae", ENAS_TYPES, N, 6, hidden=0)
    with pytest.raises(CompressError, match="emb_dim"):
        make_compressor("dvae_emb", ENAS_TYPES, N, 6, emb_dim=0)
    with pytest.raises(CompressError, match="start_type"):
        make_compressor("dvae", ENAS_TYPES, N, 6, start_type="nope")
    with pytest.raises(CompressError, match="eps_scale"):
        make_compressor("dvae", ENAS_TYPES, N, 6, eps_scale=-1)
    model = small_model("dvae")
    with pytest.raises(CompressError, match="max_nodes"):
        model.loss(DagBatch.from_graphs(generate_enas(2, seed=0), ENAS_TYPES, max_nodes=10))
    with pytest.raises(CompressError, match=r"codes must have shape"):
        model.decode(torch.zeros(3, 7))
    flipped = DagBatch(batch.types.clone(), batch.adj)
    flipped.types[0, 0] = ENAS_TYPES.index("conv3x3")
    with pytest.raises(CompressError, match="start_type"):
        model.loss(flipped)
    no_end = DagBatch(batch.types.clone(), batch.adj)
    no_end.types[1, N - 1] = ENAS_TYPES.index("conv3x3")
    with pytest.raises(CompressError, match="end_type"):
        model.encode(no_end)
