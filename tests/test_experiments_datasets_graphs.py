"""nasvec.experiments, chapters 1 and 1b: the data sets' and the graphs' tables (on small inputs; the notebooks run them whole)."""

import numpy as np
import pytest
import torch

from nasvec.data import generate_enas
from nasvec.experiments import datasets, graphs


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
