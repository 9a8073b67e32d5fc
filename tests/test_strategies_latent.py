"""Chapter 7's latent features (nasvec.experiments.strategies_latent): NAS-Bench-201 cells as graphs, the
cached codes of chapter 2's compressors trained on them, and the ENAS pool's codes."""

import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import cache_at

from nasvec.compress.base import DagBatch
from nasvec.compress.registry import make_compressor
from nasvec.data.nb201 import N_CELLS, NB201_EDGES, NB201_OPS
from nasvec.errors import ConfigError, DataError
from nasvec.experiments.strategies_latent import (NB201_NODES, NB201_TYPES, NB201LatentConfig, enas_pool_latent,
                                                  graph_to_nb201, informative_columns, nb201_batch, nb201_cells,
                                                  nb201_graph, nb201_latent, nb201_reconstruction, nb201_split)
from nasvec.graph.core import ArchGraph, Node

pytestmark = pytest.mark.usefixtures("one_thread")

cells_st = st.lists(st.integers(0, len(NB201_OPS) - 1), min_size=6, max_size=6)
TINY = {"compressor": {"latent_dim": 4, "training": {"epochs": 2, "batch_size": 32, "seed": 3}}, "n_train": 64,
        "eval_max": 200}


@given(cells_st)
@settings(max_examples=60, deadline=None)
def test_cell_graph_runs_from_input_through_cell_ops_to_output(cell):
    g = nb201_graph(cell)
    assert isinstance(g, ArchGraph)
    assert len(g) == NB201_NODES
    assert g.ops[0] == "input"
    assert g.ops[-1] == "output"
    assert all(op in NB201_OPS for op in g.ops[1:-1])


@given(cells_st)
@settings(max_examples=60, deadline=None)
def test_cell_graph_is_a_dag_from_input_to_output(cell):
    g = nb201_graph(cell)
    assert all(s < d for s, d in g.edges)                       # topological order
    assert list(g.in_degrees()).count(0) == 1                   # only the input starts
    assert g.in_degrees()[0] == 0
    assert list(g.out_degrees()).count(0) == 1                  # only the output ends
    assert g.out_degrees()[-1] == 0


@given(cells_st)
@settings(max_examples=60, deadline=None)
def test_cell_graph_maps_back_to_its_cell(cell):
    assert graph_to_nb201(nb201_graph(cell)) == tuple(cell)


@given(cells_st)
@settings(max_examples=60, deadline=None)
def test_cell_graph_batches_as_nb201_batch(cell):
    batch = DagBatch.from_graphs([nb201_graph(cell)], NB201_TYPES)
    assert torch.equal(batch.types, nb201_batch(np.array([cell])).types)
    assert torch.equal(batch.adj, nb201_batch(np.array([cell])).adj)


def test_hand_checked_cell():
    # |nor_conv_3x3~0|+|skip~0|none~1|+|avg_pool~0|conv1x1~1|conv3x3~2|, edges in (0-1, 0-2, 0-3, 1-2, 1-3, 2-3) order
    cell = (2, 0, 4, 1, 3, 2)
    g = nb201_graph(cell)
    assert g.ops == ["input", "nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1",
                     "nor_conv_3x3", "output"]
    # nodes 1..6 are the edges 0-1, 0-2, 0-3, 1-2, 1-3, 2-3; an edge i-j reads the edges that end at i
    assert sorted(g.edges) == sorted([(0, 1), (0, 2), (0, 3),   # edges out of cell node 0 read the input
                                      (1, 4), (1, 5),           # 1-2 and 1-3 read 0-1
                                      (2, 6), (4, 6),           # 2-3 reads 0-2 and 1-2
                                      (3, 7), (5, 7), (6, 7)])  # the output sums 0-3, 1-3, 2-3
    assert [g.ops[k + 1] for k in range(6)] == [NB201_OPS[o] for o in cell]
    assert len(NB201_EDGES) == 6


def test_the_map_is_injective_over_all_cells():
    cells = nb201_cells()
    assert cells.shape == (N_CELLS, 6)
    keys = {(tuple(g.ops), tuple(g.edges)) for g in map(nb201_graph, cells.tolist())}
    assert len(keys) == N_CELLS
    batch = nb201_batch()
    assert len({bytes(t.numpy().astype(np.int8)) + bytes((a > 0.5).numpy()) for t, a in zip(batch.types, batch.adj)}) == N_CELLS


def test_cells_are_in_table_order():
    cells = nb201_cells()
    assert (cells.astype(int) @ (5 ** np.arange(5, -1, -1)) == np.arange(N_CELLS)).all()
    try:
        from nasvec.data.nb201 import load_nb201
        table = load_nb201()
    except DataError:
        pytest.skip("analog-nasbench not installed")
    assert np.array_equal(table.cells, cells)


def test_bad_cells_are_named():
    with pytest.raises(DataError, match="6 op ids"):
        nb201_graph([0, 1, 2])
    with pytest.raises(DataError, match="op ids in 0..4"):
        nb201_graph([0, 1, 2, 3, 4, 5])
    with pytest.raises(DataError, match="not a NAS-Bench-201 cell graph"):
        graph_to_nb201(ArchGraph([Node("input"), Node("output")], [(0, 1)]))


def test_split_is_seeded_and_disjoint():
    a, b = nb201_split(100, seed=1)
    assert len(a) == 100 and len(a) + len(b) == N_CELLS and not set(a) & set(b)
    assert np.array_equal(a, nb201_split(100, seed=1)[0]) and not np.array_equal(a, nb201_split(100, seed=2)[0])


def test_bad_model_key_is_one_config_error():
    with pytest.raises(ConfigError, match="'gcn'"):
        NB201LatentConfig.from_dict({"compressor": {"model": "gcn"}})
    with pytest.raises(ConfigError, match="'gcn'"):
        nb201_latent({"compressor": {"model": "gcn"}})
    with pytest.raises(ConfigError, match="n_train"):
        NB201LatentConfig(n_train=N_CELLS)
    with pytest.raises(ConfigError, match="unknown setting"):
        NB201LatentConfig.from_dict({"modle": "dvae"})


def test_reconstruction_of_an_untrained_model_is_a_percentage():
    model = make_compressor("pernode", NB201_TYPES, NB201_NODES, 6)
    rec = nb201_reconstruction(model, nb201_batch()[:50])
    assert all(0 <= rec[k] <= 100 for k in ("exact", "ops", "per_node")) and rec["exact"] <= rec["ops"]


@pytest.fixture(scope="module", params=[("pernode", {}), ("dvae", {"hidden": 8})], ids=["pernode", "dvae"])
def latent(request, tmp_path_factory):
    """Per model, once for the module: codes trained, asked for again (from the cache), trained again with the
    same seed in a fresh cache, and with another seed."""
    model, kwargs = request.param
    cfg = NB201LatentConfig.from_dict(TINY).replace(compressor={"model": model, "kwargs": kwargs})
    with cache_at(tmp_path_factory.mktemp("cache")):
        first = nb201_latent(cfg)
        again = nb201_latent(cfg)
    with cache_at(tmp_path_factory.mktemp("fresh")):
        rerun = nb201_latent(cfg)                               # same seed, no cache
        other = nb201_latent(cfg.replace(compressor={"training": {"seed": 4}}))
    d = 4 * NB201_NODES if model == "pernode" else 4
    return types.SimpleNamespace(d=d, first=first, again=again, rerun=rerun, other=other)


def test_latent_codes_have_a_row_per_cell(latent):
    assert latent.first["codes"].shape == (N_CELLS, latent.d)
    assert latent.first["codes"].dtype == np.float32


def test_latent_codes_are_finite(latent):
    assert np.isfinite(latent.first["codes"]).all()


def test_latent_codes_first_call_trains(latent):
    assert not latent.first["from_cache"]


def test_latent_codes_record_reconstruction_held_out_and_seconds(latent):
    first = latent.first
    assert 0 <= first["reconstruction"] <= 100
    assert first["held_out"] == TINY["eval_max"]
    assert first["seconds"] > 0


def test_latent_codes_mark_the_informative_columns(latent):
    informative = latent.first["informative"]
    assert informative.shape == (latent.d,)
    assert informative.dtype == bool
    assert informative.any()


def test_latent_codes_second_call_loads_the_same_codes_from_the_cache(latent):
    assert latent.again["from_cache"]
    assert np.array_equal(latent.again["codes"], latent.first["codes"])
    assert latent.again["seconds"] == latent.first["seconds"]           # the training's seconds, as recorded


def test_latent_codes_same_seed_without_the_cache_gives_the_same_codes(latent):
    assert not latent.rerun["from_cache"]
    assert np.array_equal(latent.rerun["codes"], latent.first["codes"])


def test_latent_codes_another_seed_gives_other_codes(latent):
    assert not np.array_equal(latent.other["codes"], latent.first["codes"])


def test_informative_columns_drop_constant_ones():
    codes = np.c_[np.arange(5.0), np.full(5, 3.0), np.full(5, 3.0) + 1e-7 * np.arange(5)]
    assert informative_columns(codes).tolist() == [True, False, False]


def test_pool_codes_name_a_model_the_profile_lacks():
    spec = {"data": {"real_data": False, "n_generated": 20}, "models": {"pernode": {"latent_dim": 6, "training": {"epochs": 1}}}}
    with pytest.raises(ConfigError, match="'dvae'"):
        enas_pool_latent(spec, "dvae")
