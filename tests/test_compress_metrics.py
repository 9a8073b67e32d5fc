"""D-VAE's metrics (chapter 2) on hand-made cases: exact match, one edge off, validity, uniqueness, novelty."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasvec.compress import metrics
from nasvec.compress.base import Compressor, DagBatch
from nasvec.compress.registry import CompressorConfig, train_compressor
from nasvec.data import ENAS_TYPES, enas_invalid_reason, enas_to_graph, generate_enas, is_valid_enas
from nasvec.experiments.compression_uses import latent_sweep
from nasvec.errors import CompressError
from nasvec.graph import ArchGraph, Node

# a fixed ENAS graph: input, 6 layers, output; skips 0->2 and 1->4
ARCH = [[0], [1, 1], [2, 0, 0], [3, 0, 1, 0], [4, 0, 0, 0, 0], [5, 0, 0, 0, 0, 1]]
G = enas_to_graph(ARCH)


def batch_of(*graphs):
    return DagBatch.from_graphs(list(graphs), ENAS_TYPES, max_nodes=8)


def with_edges(g, add=(), drop=()):
    edges = [e for e in g.edges if e not in drop] + list(add)
    return ArchGraph(g.nodes, edges)


def with_op(g, i, op):
    nodes = list(g.nodes)
    nodes[i] = Node(op)
    return ArchGraph(nodes, g.edges)


class Lookup(Compressor):
    """Encodes graph k as the code k; decodes code k to ``outputs[k]`` (optionally a changed graph)."""

    name = "lookup"

    def __init__(self, originals, decoded=None):
        super().__init__(ENAS_TYPES, 8, 1)
        self.originals = batch_of(*originals)
        self.decoded = batch_of(*(decoded or originals))

    def encode(self, batch, stochastic=False):
        keys = metrics.batch_keys(self.originals)
        return torch.tensor([[float(keys.index(k))] for k in metrics.batch_keys(batch)])

    def decode(self, z, stochastic=False):
        idx = z[:, 0].round().long().clamp(0, len(self.decoded) - 1)
        return self.decoded[idx]


# --------------------------------------------------------------------------- matching
def test_exact_match_and_one_edge_off():
    one_off = with_edges(G, drop=[(0, 2)])
    other_type = with_op(G, 3, "max_pool3x3")
    a = batch_of(G, G, G)
    b = batch_of(G, one_off, other_type)
    assert metrics.same_dag(a, b).tolist() == [True, False, False]
    hits = metrics.node_hits(a, b)
    assert hits[0].all()
    assert hits[1].tolist() == [False, True, True, True, True, True, True, True]  # node 0's row lost an edge
    assert hits[2].tolist() == [True, True, True, False, True, True, True, True]


def test_extra_edge_and_padding_count_as_differences():
    extra = with_edges(G, add=[(0, 5)])
    shorter = enas_to_graph(ARCH[:5])  # 7 nodes
    a = batch_of(G, G)
    b = batch_of(extra, shorter)
    assert not metrics.same_dag(a, b).any()
    assert metrics.same_dag(batch_of(shorter), batch_of(shorter)).all()


def test_reconstruction_counts_per_graph_and_per_node():
    graphs = generate_enas(5, seed=1)
    perfect = metrics.reconstruction(Lookup(graphs), batch_of(*graphs), 2, 3)
    assert perfect["per_graph"] == 1.0 and perfect["per_node"] == 1.0 and perfect["decodes"] == 30
    # every decode loses exactly one edge of the chain into the output's predecessor
    broken = [with_edges(g, drop=[(5, 6)]) for g in graphs]
    r = metrics.reconstruction(Lookup(graphs, broken), batch_of(*graphs), 2, 3)
    assert r["per_graph"] == 0.0
    assert r["per_node"] == pytest.approx(7 / 8)
    assert r["types"] == 1.0
    assert r["edges"] == pytest.approx(1 - 1 / 28)


def test_reconstruction_rejects_bad_counts():
    with pytest.raises(CompressError, match="encode_times=0"):
        metrics.reconstruction(Lookup([G]), batch_of(G), 0, 1)
    with pytest.raises(CompressError, match="same max_nodes"):
        metrics.same_dag(batch_of(G), DagBatch.from_graphs([G], ENAS_TYPES, max_nodes=9))


# --------------------------------------------------------------------------- validity
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), layers=st.integers(1, 8))
def test_every_enas_architecture_is_valid(seed, layers):
    for g in generate_enas(5, n_layers=layers, seed=seed):
        assert enas_invalid_reason(g) is None
        assert is_valid_enas(g, n_layers=layers)
        assert not is_valid_enas(g, n_layers=layers + 1)


@pytest.mark.parametrize("graph, reason", [
    (with_edges(G, drop=[(1, 2)]), "node 1 .* does not feed node 2"),
    (with_edges(G, add=[(3, 7)]), "output reads 2 nodes"),
    (with_op(G, 4, "input"), "2 input nodes"),
    (with_op(G, 0, "conv3x3"), "0 input nodes"),
    (with_op(G, 2, "output"), "2 output nodes"),
    (ArchGraph([Node("input"), Node("Conv"), Node("output")], [(0, 1), (1, 2)]), "'Conv' is not an ENAS op"),
    (ArchGraph([Node("input")], []), "at least an input and an output"),
    (ArchGraph([Node("input"), Node("conv3x3"), Node("conv3x3"), Node("output")], [(0, 1), (0, 2), (2, 3)]),
     "node 1 .* has no successor"),
    (ArchGraph([Node("input"), Node("conv3x3"), Node("conv3x3"), Node("output")], [(0, 1), (1, 3), (2, 3)]),
     "node 2 .* has no predecessor"),
    (ArchGraph([Node("conv3x3"), Node("input"), Node("output")], [(0, 1), (1, 2)]), "first node must be the input"),
])
def test_known_invalid_graphs_are_named(graph, reason):
    why = enas_invalid_reason(graph)
    assert why is not None
    import re
    assert re.search(reason, why), why


def test_validity_accepts_type_ids_and_edges():
    types = [ENAS_TYPES.index(n.op) for n in G.nodes]
    assert is_valid_enas((types, G.edges))
    assert metrics.graph_key(G) == metrics.batch_keys(batch_of(G))[0]


def test_reason_kinds_group_messages():
    a = metrics._reason_kind("node 3 (conv3x3) does not feed node 4 (max_pool3x3): ENAS layers form a chain")
    b = metrics._reason_kind("node 1 (sep_conv5x5) does not feed node 2 (conv3x3): ENAS layers form a chain")
    assert a == b and "k" in a


# --------------------------------------------------------------------------- uniqueness, novelty
def test_uniqueness_and_novelty_on_small_lists():
    assert metrics.uniqueness(["a", "a", "b"]) == pytest.approx(2 / 3)
    assert metrics.uniqueness([]) == 0.0
    assert metrics.novelty(["a", "a", "b"], ["a"]) == pytest.approx(1 / 3)
    assert metrics.novelty(["a"], []) == 1.0
    assert metrics.novelty([], ["a"]) == 0.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000))
def test_keys_identify_graphs(seed):
    graphs = generate_enas(6, seed=seed) + generate_enas(2, seed=seed)
    keys = metrics.batch_keys(batch_of(*graphs))
    assert (len(set(keys)) == len(set(graphs)))
    assert keys[0] == keys[6] and keys[1] == keys[7]


class Constant(Compressor):
    """Decodes every code to the same graph (or, with ``invalid``, to a broken one)."""

    name = "constant"

    def __init__(self, graph):
        super().__init__(ENAS_TYPES, 8, 3)
        self.graph = batch_of(graph)

    def decode(self, z, stochastic=False):
        return self.graph[torch.zeros(len(z), dtype=torch.long)]


def test_prior_validity_on_constant_decoders():
    good = metrics.prior_validity(Constant(G), n_points=20, decode_times=3, train_keys=[metrics.graph_key(G)])
    assert good["validity"] == 1.0 and good["decodes"] == 60
    assert good["uniqueness"] == pytest.approx(1 / 60)
    assert good["novelty"] == 0.0
    novel = metrics.prior_validity(Constant(G), n_points=5, decode_times=2, train_keys=[])
    assert novel["novelty"] == 1.0
    bad = metrics.prior_validity(Constant(with_edges(G, drop=[(1, 2)])), n_points=5, decode_times=2)
    assert bad["validity"] == 0.0 and bad["uniqueness"] == 0.0
    assert list(bad["reasons"]) == ["node k does not feed node k: ENAS layers form a chain"]


class Recorder:
    """Decodes every code to G and remembers the codes it was given."""

    latent_dim = 3
    name = "recorder"

    def __init__(self):
        self.seen = []

    def eval(self):
        return self

    def encode(self, batch, stochastic=False):
        return torch.tensor([[5.0, -2.0, 0.0]]).expand(len(batch), -1) + 0.5 * torch.arange(len(batch))[:, None]

    def decode(self, z, stochastic=False):
        self.seen.append(z.clone())
        return batch_of(*[G] * len(z))


def test_the_scaled_prior_draws_around_the_training_codes():
    model = Recorder()
    train = batch_of(*[G] * 40)
    mean, std = metrics.code_scale(model, train)
    assert np.allclose(mean, [5 + 0.5 * 19.5, -2 + 0.5 * 19.5, 0.5 * 19.5]) and np.allclose(std, std[0])
    metrics.prior_validity(model, n_points=4000, decode_times=1, scale=(mean, std))
    z = model.seen[-1]
    assert np.allclose(z.mean(0), mean, atol=0.5) and np.allclose(z.std(0), std, rtol=0.1)
    metrics.prior_validity(model, n_points=4000, decode_times=1)
    assert np.allclose(model.seen[-1].std(0), 1, atol=0.1)
    res = metrics.evaluate(model, batch_of(G), train, encode_times=1, decode_times=1, n_prior=10)
    assert res["validity"] == res["validity_unscaled"] == 1.0 and res["novelty"] == 0.0


def test_latent_sweep_and_cached_evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    graphs = generate_enas(40, seed=2)
    train, test = batch_of(*graphs[:32]), batch_of(*graphs[32:])
    configs = {key: CompressorConfig.from_dict({"training": {"epochs": 2}, "kwargs": {"hidden": (16,)}}, model=key)
               for key in ("ae", "split")}
    df = latent_sweep({"ae": [2, 6], "split": [2, 6]}, configs, train, test, encode_times=2, decode_times=2)
    assert list(df["latent_dim"]) == [2, 6, 2, 6] and list(df["model"]) == ["AE", "AE", "split", "split"]
    assert ((df["per_graph"] >= 0) & (df["per_graph"] <= df["per_node"] + 1e-12)).all()
    assert (df["epochs_loaded"] == 0).all()
    again = latent_sweep({"ae": [2]}, configs, train, test, encode_times=2, decode_times=2)
    assert again["epochs_loaded"].tolist() == [2]
    assert again["per_graph"].tolist() == df["per_graph"].tolist()[:1]

    model, _, _ = train_compressor(configs["ae"].replace(latent_dim=2), train, ENAS_TYPES)
    first, cached1 = metrics.evaluate_cached(model, test, train, encode_times=2, decode_times=2, n_prior=10)
    second, cached2 = metrics.evaluate_cached(model, test, train, encode_times=2, decode_times=2, n_prior=10)
    assert (cached1, cached2) == (False, True) and first == second
    assert set(first) >= {"per_graph", "per_graph_mean", "per_node", "validity", "validity_unscaled", "uniqueness",
                          "novelty"}
    share, hit = metrics.per_node_all_cached(model, train)
    assert 0 <= share <= 1 and not hit and metrics.per_node_all_cached(model, train) == (share, True)


class Flaky(Lookup):
    """A :class:`Lookup` that decodes graph 0 wrong on every other call: right in some decodes, not in all."""

    calls = 0

    def decode(self, z, stochastic=False):
        out = super().decode(z, stochastic)
        self.calls += 1
        if self.calls % 2 == 0:
            types = out.types.clone()
            types[0, 1] = (types[0, 1] + 1) % len(ENAS_TYPES)
            out = DagBatch(types, out.adj)
        return out


def test_all_exact_counts_graphs_right_in_every_decode_not_decodes():
    graphs = generate_enas(5, seed=1)
    r = metrics.reconstruction(Flaky(graphs), batch_of(*graphs), 2, 3)
    assert (r["all_exact"], r["per_graph"]) == (pytest.approx(4 / 5), pytest.approx((30 - 3) / 30))
