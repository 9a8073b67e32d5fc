"""Chapter 7's live benchmark: the NAS-Bench-201 network, the zero-cost proxies, the live table, its
rank statistics and the one-shot search (behaviour, no pinned floats)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st

from nasvec.errors import ConfigError, SearchError
from nasvec.strategies.cellnet import EDGE_COLUMNS, CellNet, check_cell, count_params, output_shape
from nasvec.strategies.live import LiveConfig, live_table, sample_cells, spearman_table, train_cell
from nasvec.strategies.oneshot import oneshot_search
from nasvec.strategies.proxies import PROXIES, nb201_proxy_table, proxy_scores

pytestmark = pytest.mark.usefixtures("one_thread")

cells = st.tuples(*[st.integers(0, 4)] * 6)
TINY = LiveConfig.from_dict({"dataset": "digits", "n_train": 64, "n_val": 32, "n_test": 32, "channels": 4,
                             "cells_per_stage": 1, "training": {"epochs": 1, "batch_size": 32}, "proxy_batch": 16})


def batch(n=8, c=1, hw=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, hw, hw, generator=g), torch.randint(0, 10, (n,), generator=g)


# --------------------------------------------------------------------------- the network
@settings(max_examples=12, deadline=None)
@given(cells)
def test_cellnet_output_shapes(cell):
    assert output_shape(CellNet(cell, channels=4, cells_per_stage=1, in_channels=1), (3, 1, 8, 8)) == (3, 10)
    assert output_shape(CellNet(cell, channels=2, cells_per_stage=2, in_channels=3, n_classes=7),
                        (2, 3, 14, 14)) == (2, 7)


def test_nb201_network_has_the_benchmarks_parameter_range():
    """NAS-Bench-201 reports 0.07 to 1.53 million parameters on CIFAR-10 (all 'none' to all 3x3 convs)."""
    assert round(count_params(CellNet((2,) * 6)) / 1e6, 2) == 1.53
    assert round(count_params(CellNet((1,) * 6)) / 1e6, 2) == 0.07


def test_an_all_none_cell_ignores_its_input():
    net = CellNet((1,) * 6, channels=4, cells_per_stage=1, in_channels=1)
    x1, _ = batch(seed=1)
    x2, _ = batch(seed=2)
    for mode in (True, False):
        net.train(mode)
        with torch.no_grad():
            assert torch.allclose(net(x1), net(x2))
    x, y = batch()
    scores = proxy_scores(lambda: CellNet((1,) * 6, 4, 1, 1), x, y)
    assert scores["synflow"][0] == 0 and scores["snip"][0] == 0 and scores["grad_norm"][0] == 0
    assert math.isnan(scores["jacob_cov"][0])


@pytest.mark.parametrize("bad, match", [((5, 0, 0, 0, 0, 0), r"edge 0->1 has op id 5"),
                                        ((0, 0, 0, 0, 0, -1), r"edge 2->3 has op id -1"),
                                        ((0, 0, 0, 0, 0, 1.5), r"edge 2->3 has op id 1.5"),
                                        ((0, 0, True, 0, 0, 0), r"edge 0->3 has op id True"),
                                        ((0, 0, 0), r"6 op ids .* got 3"), (7, r"6 op ids")])
def test_a_bad_cell_is_one_clear_error(bad, match):
    with pytest.raises(SearchError, match=match):
        CellNet(bad)
    with pytest.raises(SearchError, match=match):
        train_cell(bad, TINY)


@settings(max_examples=10, deadline=None)
@given(cells)
def test_numpy_op_ids_are_cells(cell):
    assert check_cell(np.array(cell)) == cell


# --------------------------------------------------------------------------- proxies
def test_params_proxy_is_the_parameter_count():
    x, y = batch()
    scores = proxy_scores(lambda: CellNet((2, 0, 3, 4, 1, 2), 4, 1, 1), x, y, names=("params",))
    assert scores["params"][0] == count_params(CellNet((2, 0, 3, 4, 1, 2), 4, 1, 1))


@settings(max_examples=6, deadline=None)
@given(cells)
def test_proxies_are_reproducible_for_a_seed(cell):
    x, y = batch()
    a = proxy_scores(lambda: CellNet(cell, 4, 1, 1), x, y, seed=3)
    b = proxy_scores(lambda: CellNet(cell, 4, 1, 1), x, y, seed=3)
    assert set(a) == set(PROXIES)
    for name in PROXIES:
        assert a[name][0] == b[name][0] or (math.isnan(a[name][0]) and math.isnan(b[name][0]))
        assert a[name][1] >= 0


@pytest.mark.parametrize("cell", [(2,) * 6, (0, 3, 4, 2, 1, 0), (3, 1, 1, 0, 2, 4)])
def test_proxies_are_finite_where_the_output_depends_on_the_input(cell):
    x, y = batch()
    scores = proxy_scores(lambda: CellNet(cell, 4, 1, 1), x, y)
    assert all(math.isfinite(s) for s, _ in scores.values())
    assert scores["synflow"][0] > 0 and scores["snip"][0] > 0


def test_bad_proxy_input_is_one_clear_error():
    x, y = batch()
    with pytest.raises(SearchError, match="unknown zero-cost proxy 'naswot'"):
        proxy_scores(lambda: CellNet((2,) * 6, 4, 1, 1), x, y, names=("synflow", "naswot"))
    with pytest.raises(SearchError, match=r"batch \[n >= 2"):
        proxy_scores(lambda: CellNet((2,) * 6, 4, 1, 1), x[:1], y[:1])


def test_nb201_proxy_table_one_row_per_cell():
    x, y = batch(n=2, c=3, hw=32)
    df = nb201_proxy_table([(2,) * 6, (0, 1, 3, 4, 0, 2)], x, y, names=("synflow", "params"), progress=False)
    assert len(df) == 2 and list(df[list(EDGE_COLUMNS)].iloc[1]) == [0, 1, 3, 4, 0, 2]
    assert {"synflow_score", "synflow_seconds", "params_score", "params_seconds"} <= set(df.columns)
    assert df["params_score"].iloc[0] > df["params_score"].iloc[1]


# --------------------------------------------------------------------------- the live benchmark
def test_train_cell_is_deterministic_for_a_seed():
    a, b = train_cell((2, 0, 3, 0, 4, 2), TINY), train_cell((2, 0, 3, 0, 4, 2), TINY)
    assert a["accuracy"] == b["accuracy"] and a["val_accuracy"] == b["val_accuracy"]
    assert 0 <= a["accuracy"] <= 100 and a["seconds"] > 0
    with pytest.raises(ConfigError, match="fraction"):
        train_cell((2,) * 6, TINY, fraction=0)


def test_live_config_names_a_bad_setting():
    with pytest.raises(ConfigError, match="dataset must be one of"):
        LiveConfig(dataset="cifar")
    with pytest.raises(ConfigError, match="exceeds the 1797 digits"):
        LiveConfig(n_train=1500, n_val=300, n_test=100)


def test_sample_cells_are_distinct_and_seeded():
    a = sample_cells(50, seed=4)
    assert len(set(a)) == 50 and a == sample_cells(50, seed=4) and all(check_cell(c) == c for c in a)


def test_live_table_rows_columns_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    df = live_table(TINY, 3, seed=1, fidelities=[(1, 0.5)], progress=False)
    assert len(df) == 3 and df["cell"].nunique() == 3 and df.attrs["from_cache"] == 0
    expected = {"cell", *EDGE_COLUMNS, "accuracy", "val_accuracy", "seconds", "reference_val_score",
                "train_1ep_50pct_score", "train_1ep_50pct_accuracy", "train_1ep_50pct_seconds"}
    expected |= {f"{p}_{k}" for p in PROXIES for k in ("score", "seconds")}
    assert expected <= set(df.columns)
    again = live_table(TINY, 3, seed=1, fidelities=[(1, 0.5)], progress=False)
    assert again.attrs["from_cache"] == 3
    pd.testing.assert_frame_equal(df, again)
    table = spearman_table(df)
    assert list(table["strategy"]) == ["reference_val", "train_1ep_50pct", *PROXIES]
    assert (table["regret"] >= 0).all()


def test_spearman_table_of_a_monotone_proxy():
    rng = np.random.default_rng(0)
    acc = rng.uniform(50, 90, 20)
    df = pd.DataFrame({"accuracy": acc, "mono_score": np.exp(acc / 10), "mono_seconds": 0.5,
                       "anti_score": -acc, "flat_score": np.ones(20), "nan_score": np.where(acc == acc.max(), np.nan, acc)})
    t = spearman_table(df).set_index("strategy")
    assert t.loc["mono", "spearman"] == pytest.approx(1.0) and t.loc["mono", "regret"] == 0
    assert t.loc["mono", "seconds"] == 0.5 and math.isnan(t.loc["anti", "seconds"])
    assert t.loc["anti", "spearman"] == pytest.approx(-1.0) and t.loc["anti", "regret"] > 0
    assert math.isnan(t.loc["flat", "spearman"]) and t.loc["flat", "regret"] == pytest.approx(acc.max() - acc.mean())
    assert t.loc["nan", "regret"] > 0      # the best cell's NaN score ranks it last
    with pytest.raises(ConfigError, match="no ground-truth column"):
        spearman_table(df.drop(columns="accuracy"))


def test_oneshot_returns_a_valid_cell():
    out = oneshot_search(TINY, epochs=2, tau=(5.0, 1.0), seed=0)
    assert check_cell(out["cell"]) == out["cell"] and out["logits"].shape == (6, 5)
    assert out["cell"] == tuple(int(i) for i in out["logits"].argmax(1)) and len(out["history"]) == 2
    assert oneshot_search(TINY, epochs=2, tau=(5.0, 1.0), seed=0)["cell"] == out["cell"]
    with pytest.raises(ConfigError, match="tau"):
        oneshot_search(TINY, epochs=1, tau=-1)


def test_the_reference_training_is_named_by_its_epochs():
    from nasvec.strategies.live import LiveConfig

    assert LiveConfig.from_dict({"training": {"epochs": 3}}).reference == "the 3-epoch training"


def test_the_settings_table_lists_every_lower_fidelity():
    from nasvec.strategies.live import LiveConfig

    table = LiveConfig.from_dict({"dataset": "fashion", "image_size": 14}).settings_table([(1, 1.0), (1, 0.5)])
    assert table.setting.tolist() == ["data", "network", "ground truth", "lower fidelity", "lower fidelity"]


def test_extrapolation_recovers_an_exact_inverse_curve():
    from nasvec.strategies.live import extrapolate

    assert extrapolate([90 - 10 / e for e in (1, 2, 3)], 6) == pytest.approx(90 - 10 / 6)


def test_extrapolation_of_one_epoch_is_flat():
    from nasvec.strategies.live import extrapolate

    assert extrapolate([71.5], 3) == 71.5


def test_measuring_the_learning_curve_leaves_the_training_as_it_was():
    plain, measured = train_cell((2, 0, 3, 0, 4, 2), TINY), train_cell((2, 0, 3, 0, 4, 2), TINY, curve=True)
    assert (measured["accuracy"], measured["val_accuracy"]) == (plain["accuracy"], plain["val_accuracy"])


def test_the_learning_curve_has_one_point_per_epoch():
    r = train_cell((2, 0, 3, 0, 4, 2), TINY, curve=True)
    assert len(r["val_curve"]) == len(r["epoch_seconds"]) == TINY.training.epochs


def test_learning_curve_extrapolation_comes_with_its_unextrapolated_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    cfg = TINY.replace(training={"epochs": 2})
    df = live_table(cfg, 2, seed=1, fidelities=[(1, 0.5)], proxies=False, progress=False)
    assert {"lc_extrapolate_score", "first_1ep_score"} <= set(df.columns)
    assert (df.lc_extrapolate_seconds == df.first_1ep_seconds).all()
