"""The seed paper's per-node compressor (nasvec.compress.pernode): layout of the code, losses, decoding, errors."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec.compress.base import DagBatch, fit_compressor
from nasvec.compress.pernode import PerNodeVAE
from nasvec.compress.registry import MODELS, make_compressor
from nasvec.data import ENAS_TYPES, enas_to_graph, generate_enas
from nasvec.errors import CompressError

N = 8
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def batch():
    return DagBatch.from_graphs(generate_enas(48, seed=5), ENAS_TYPES)


def test_the_authors_sizes_per_node():
    m = make_compressor("pernode", ENAS_TYPES, N, 6)
    assert MODELS["pernode"] is PerNodeVAE
    assert (m.structure_dim, m.type_dim, m.latent_dim, m.hidden) == (4, 2, 48, (8, 4))
    # 8 -> 8 -> 4 (mu and logvar) for the adjacency row, 8 -> 4 -> 2 for the one-hot type
    assert [l.weight.shape for l in m.enc_s if hasattr(l, "weight")] == [(8, 8), (8, 8)]
    assert [l.weight.shape for l in m.enc_t if hasattr(l, "weight")] == [(4, 8), (4, 4)]
    assert [l.weight.shape for l in m.dec_s if hasattr(l, "weight")] == [(8, 4), (8, 8)]
    assert [l.weight.shape for l in m.dec_t if hasattr(l, "weight")] == [(4, 2), (8, 4)]


def test_loss_terms_are_sums(batch):
    m = make_compressor("pernode", ENAS_TYPES, N, 6, seed=1)
    out = m.loss(batch, beta=0.005)
    assert torch.isclose(out["recon"], out["recon_types"] + out["recon_edges"])
    assert torch.isclose(out["loss"], out["recon"] + 0.005 * out["kl"])
    half = m.loss(batch[:24], beta=0.005)["recon"] + m.loss(batch[24:], beta=0.005)["recon"]
    m.eval()
    assert torch.isclose(m.loss(batch[:24])["recon"] + m.loss(batch[24:])["recon"], m.loss(batch)["recon"])
    assert half > 0


def test_each_node_has_its_own_slice_of_the_code(batch):
    m = make_compressor("pernode", ENAS_TYPES, N, 6, seed=2).eval()
    g = generate_enas(1, seed=9)[0]
    other = enas_to_graph([[op] + flags for op, *flags in [[0], [1, 1], [2, 0, 0], [3, 1, 1, 1], [4, 0, 0, 0, 0],
                                                            [5, 1, 1, 1, 1, 1]]])
    z1 = m.encode(DagBatch.from_graphs([g], ENAS_TYPES)).reshape(N, 6)
    z2 = m.encode(DagBatch.from_graphs([other], ENAS_TYPES)).reshape(N, 6)
    for i in range(N):
        same_row = [d for s, d in g.edges if s == i] == [d for s, d in other.edges if s == i]
        same_type = g.nodes[i].op == other.nodes[i].op
        assert torch.equal(z1[i, :4], z2[i, :4]) == same_row
        assert torch.equal(z1[i, 4:], z2[i, 4:]) == same_type


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), stochastic=st.booleans())
def test_decodes_are_forward_dags_of_eight_nodes(seed, stochastic):
    m = make_compressor("pernode", ENAS_TYPES, N, 6, seed=seed % 7).eval()
    z = torch.randn(5, m.latent_dim, generator=torch.Generator().manual_seed(seed))
    dec = m.decode(z, stochastic=stochastic)
    assert dec.types.shape == (5, N) and (dec.types >= 0).all() and (dec.types < len(ENAS_TYPES)).all()
    assert (torch.tril(dec.adj) == 0).all() and set(dec.adj.unique().tolist()) <= {0.0, 1.0}
    assert len(dec.to_graphs(ENAS_TYPES)) == 5


def test_training_lowers_the_loss_and_gradients_reach_every_parameter(batch):
    m = make_compressor("pernode", ENAS_TYPES, N, 6, seed=0).train()
    m.loss(batch)["loss"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    for part in (m.enc_s, m.dec_s, m.enc_t, m.dec_t):   # both VAEs learn from the summed loss
        assert sum(float(p.grad.abs().sum()) for p in part.parameters()) > 0
    hist = fit_compressor(m, batch, 40, batch_size=16, lr=1e-2, progress=False)
    assert hist[-1]["recon"] < 0.5 * hist[0]["recon"]


def test_bad_sizes_and_short_graphs_are_named():
    with pytest.raises(CompressError, match="latent_dim=40 must be max_nodes x"):
        PerNodeVAE(ENAS_TYPES, N, latent_dim=40)
    with pytest.raises(CompressError, match="must both be >= 1"):
        PerNodeVAE(ENAS_TYPES, N, structure_dim=0)
    m = PerNodeVAE(ENAS_TYPES, N)
    short = DagBatch.from_graphs([enas_to_graph([[0], [1, 1]])], ENAS_TYPES, max_nodes=N)
    with pytest.raises(CompressError, match="graph 0 has 4 nodes; the per-node model needs graphs of exactly"):
        m.loss(short)
    with pytest.raises(CompressError, match=r"codes must have shape \[batch, 48\]"):
        m.decode(torch.zeros(2, 6))
