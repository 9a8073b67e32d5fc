"""The per-node compressor of whole CNNs (nasvec.compress.pernode_attr): offsets, code layout, decoding, reports."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from nasvec.compress.attributed import AttrCodec
from nasvec.compress.base import fit_compressor
from nasvec.compress.pernode_attr import (NodeBatch, PerNodeAttrConfig, PerNodeAttributedVAE, compress_graph,
                                          edges_outside, reconstruction_report)
from nasvec.errors import CompressError, ConfigError
from nasvec.graph import ArchGraph, Node
from nasvec.graph.vocab import OP_INDEX

from graphgen import runnable_cnns

pytestmark = pytest.mark.usefixtures("one_thread")


def chain():
    nodes = [Node("Input"), Node("Conv", {"kernel_shape": [3, 3], "out_channels": 8}), Node("Relu"),
             Node("MaxPool", {"kernel_shape": [2, 2]}), Node("Add"), Node("Output")]
    return ArchGraph(nodes, [(0, 1), (1, 2), (2, 3), (3, 4), (1, 4), (4, 5)])


def test_rows_hold_successor_offsets_and_long_edges_are_counted():
    g = chain()
    b = NodeBatch.from_graphs([g, g], AttrCodec([g]), window=2)
    assert b.rows.shape == (12, 2) and b.graph.tolist() == [0] * 6 + [1] * 6
    assert b.rows[1].tolist() == [1.0, 0.0]   # Conv -> Relu (offset 1); Conv -> Add (offset 3) is outside
    assert b.ops[:6].tolist() == [OP_INDEX[n.op] for n in g.nodes]
    assert edges_outside([g], 2) == (1, 6) and edges_outside([g], 3) == (0, 6)


def test_code_layout_and_decoding_to_repair_arrays():
    g = chain()
    codec = AttrCodec([g])
    m = PerNodeAttrConfig(dims=(3, 2, 1), window=4).build(codec)
    assert m.node_dim == 3 + 2 + len(codec.columns)
    z = m.encode(NodeBatch.from_graphs([g], codec, 4))
    assert z.shape == (6, m.node_dim)
    arrays = m.to_arrays(z)
    assert arrays["ops"].shape == (6,) and arrays["adjacency"].shape == (6, 6)
    assert np.all(np.tril(arrays["adjacency"]) == 0) and arrays["attrs"].shape[0] == 6
    with pytest.raises(CompressError, match=r"codes must have shape \[nodes, "):
        m.decode_nodes(torch.zeros(2, 3))
    with pytest.raises(CompressError, match="must be >= 1"):
        PerNodeAttributedVAE(codec, window=0)
    with pytest.raises(ConfigError, match="dims and hidden are"):
        PerNodeAttrConfig(dims=(1, 2))


def test_a_trained_model_gives_its_graph_back_exactly():
    from nasvec import from_torch
    from nasvec.experiments.graphs import TinyNet

    g = from_torch(TinyNet(), torch.randn(1, 1, 8, 8))
    cfg = PerNodeAttrConfig.from_dict({"window": 4, "training": {"epochs": 200, "lr": 3e-2, "batch_size": len(g)}})
    codec = AttrCodec([g])
    m = cfg.build(codec)
    fit_compressor(m, NodeBatch.from_graphs([g], codec, cfg.window), cfg.training.epochs, batch_size=len(g),
                   lr=cfg.training.lr, progress=False)
    r = reconstruction_report(m, [g])
    assert r["per_network"]["everything"] == 1.0 and r["per_node"]["everything"] == 1.0
    from nasvec.repair_rules import repair
    from nasvec.graph.distance import edit_distance
    # valid as decoded: repair keeps it (a dense adjacency does not hold the order of an op's inputs)
    assert edit_distance(g, repair(compress_graph(m, g), input_shape=(1, 1, 8, 8))).total == 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=runnable_cnns())
def test_reports_are_shares_and_untrained_decodes_repair(case):
    g, shape = case
    codec = AttrCodec([g])
    m = PerNodeAttrConfig(window=8).build(codec).eval()
    r = reconstruction_report(m, [g])
    assert r["nodes"] == len(g) and r["networks"] == 1
    for part in ("op", "row", "attributes", "everything"):
        assert 0 <= r["per_node"][part] <= 1 and r["per_network"][part] in (0.0, 1.0)
    assert r["per_node"]["everything"] <= min(r["per_node"][p] for p in ("op", "row", "attributes"))
    from nasvec.repair_rules import problem, repair
    assert problem(repair(compress_graph(m, g), input_shape=shape), shape) is None
