"""The attribute-aware split-latent compressor of chapter 3."""

import numpy as np
import pytest
import torch
from torch import nn

from nasvec import encode, from_torch
from nasvec.compress.attributed import (AttrBatch, AttrCodec, AttributedConfig, AttributedSplitVAE,
                                        reconstruction_report, train_attributed, truncate)
from nasvec.compress.base import fit_compressor
from nasvec.errors import CompressError, ConfigError
from nasvec.experiments.repair import prior_validity
from nasvec.graph.vocab import OPS
from nasvec.repair_rules import problem, repair

SHAPE = (1, 1, 12, 12)


def _net(width, k, act, pool):
    layers = [nn.Conv2d(1, width, k, padding=k // 2), act()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), act(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 10)]
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def graphs():
    torch.manual_seed(0)
    specs = [(4, 3, nn.ReLU, True), (8, 5, nn.Tanh, False), (6, 1, nn.Sigmoid, True), (4, 3, nn.ELU, False),
             (8, 3, nn.ReLU, False), (6, 5, nn.LeakyReLU, True)]
    return [from_torch(_net(*s), torch.zeros(SHAPE)) for s in specs]


def test_codec_round_trips_the_values_it_knows(graphs):
    codec = AttrCodec(graphs)
    for g in graphs:
        a = encode(g).attrs.numpy()
        back = codec.decode(codec.encode(a))
        cols = codec.columns
        assert np.array_equal(np.isnan(back[:, cols]), np.isnan(a[:, cols]))
        assert np.allclose(np.nan_to_num(back[:, cols]), np.nan_to_num(a[:, cols]))
    with pytest.raises(CompressError, match="max_values"):
        AttrCodec(graphs, max_values=1)


def test_codec_maps_unseen_values_to_the_nearest(graphs):
    codec = AttrCodec(graphs)
    j = codec.columns[codec.names.index("out_channels")]
    a = np.full((1, encode(graphs[0]).attrs.shape[1]), np.nan)
    a[0, j] = 7.2  # known: 4, 6, 8, 12, 16, 10
    assert codec.decode(codec.encode(a))[0, j] in (6.0, 8.0)


def test_batch_shapes_and_truncation(graphs):
    codec = AttrCodec(graphs)
    b = AttrBatch.from_graphs_attrs(graphs, codec, 6)
    assert b.types.shape == (6, 6) and b.attr_classes.shape == (6, 6, len(codec.columns))
    assert len(truncate(graphs[0], 4)) == 4 and all(d < 4 for _, d in truncate(graphs[0], 4).edges)
    assert b[1:3].attr_classes.shape[0] == 2


def test_latent_parts_and_decode_shapes(graphs):
    codec = AttrCodec(graphs)
    n = max(len(g) for g in graphs)
    b = AttrBatch.from_graphs_attrs(graphs, codec, n)
    m = AttributedSplitVAE(codec, n, structure_dim=3, type_dim=2, attr_dim=4, hidden=(32,))
    z = m.encode(b)
    assert z.shape == (len(graphs), 9) and m.latent_dim == 9
    d = m.decode_full(z)
    assert d.types.shape == b.types.shape and d.attr_classes.shape == b.attr_classes.shape
    assert int(d.attr_classes.max()) < max(codec.sizes)
    # the attribute half of the code alone decides the attributes
    z2 = z.clone()
    z2[:, :5] = torch.randn(len(graphs), 5)
    assert torch.equal(m.decode_full(z2).attr_classes, d.attr_classes)


def test_loss_decreases_and_decodes_are_repairable(graphs):
    codec = AttrCodec(graphs)
    n = max(len(g) for g in graphs)
    b = AttrBatch.from_graphs_attrs(graphs, codec, n)
    torch.manual_seed(0)
    m = AttributedSplitVAE(codec, n, hidden=(64,))
    hist = fit_compressor(m, b, 40, batch_size=6, lr=3e-3, progress=False)
    assert hist[-1]["recon"] < 0.5 * hist[0]["recon"]
    r = reconstruction_report(m, b)
    assert 0 <= r["node_attr_acc"] <= 1 and set(r["per_attr"]) == set(codec.names)
    for arrays in m.to_arrays(m.encode(b)):
        assert arrays["attrs"].shape[0] == len(arrays["ops"]) and arrays["adjacency"].shape == (len(arrays["ops"]),) * 2
        g = repair(arrays, input_shape=SHAPE, num_classes=10)
        assert problem(g, SHAPE) is None
    pv = prior_validity(m, 10, SHAPE)
    assert pv["valid_after"] == 1.0


def test_train_attributed_checks_arguments(graphs):
    with pytest.raises(ConfigError, match="max_nodes"):
        AttributedConfig.from_dict({"max_nodes": 1, "training": {"epochs": 1}})
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['width'\]"):
        AttributedConfig.from_dict({"width": 3})
    cfg = AttributedConfig.from_dict({"max_nodes": 12, "training": {"epochs": 1}, "hidden": (16,)})
    model, hist, hit = train_attributed(cfg, graphs, progress=False)
    assert len(hist) == 1 and not hit and model.max_nodes == 12 and len(model.vocab) == len(OPS)
