"""nasvec.experiments, chapter 3: the repair tables and Table 2 (on small inputs; the notebooks run them whole)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from nasvec.errors import ConfigError
from nasvec.experiments import repair, table2

from conftest import cache_at


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
    from nasvec.repair_rules import problem, repair as fix

    arrays, before = repair.broken_decode()
    assert problem(before, (1, 1, 28, 28)) is not None
    after, counts = fix(arrays, report=True)
    assert problem(after, (1, 1, 28, 28)) is None
    assert {"one_sink", "acyclic", "shape_ops", "attributes"} <= set(counts)


def test_table2_config_names_bad_data_and_models():
    with pytest.raises(ConfigError, match="data must be one of \\['digits', 'fashion_mnist', 'cifar10'\\]"):
        table2.Table2Config(data="cifar")
    with pytest.raises(ConfigError, match=r"no input size for \['vgg11'\]"):
        table2.Table2Config(models=("vgg11",))


def test_table2_config_input_shape_follows_the_data_and_size():
    assert table2.Table2Config(data="cifar10", sizes={"resnet18": 32, "alexnet": 32}).input_shape("alexnet") == (1, 3, 32, 32)


AUTHORS = pd.DataFrame({"network": ["resnet18"] * 6, "variant": ["original"] * 3 + ["round trip"] * 3,
                        "run": [1, 2, 3] * 2, "accuracy": [0.7665, 0.7622, 0.752, 0.7887, 0.7872, 0.7938]})


@pytest.fixture(scope="module")
def tiny_table2(tmp_path_factory):
    """A tiny run of every cell of Table 2, once for the module, in a cache of its own: the edits of two
    untrained decoders, the trainings, then the same trainings again (from the cache)."""
    from nasvec.compress.attributed import AttrCodec, AttributedSplitVAE
    from nasvec.compress.pernode_attr import PerNodeAttrConfig

    cfg = table2.Table2Config(models=("resnet18",), sizes={"resnet18": 8}, n_train=16, n_test=16, seeds=(0, 1))
    g = table2.original_graph("resnet18", cfg.input_shape("resnet18"))
    torch.manual_seed(0)
    pn = PerNodeAttrConfig.from_dict({"max_values": 8, "training": {"epochs": 0}}).build(AttrCodec([g], 8)).eval()   # untrained: any decode
    comp = AttributedSplitVAE(AttrCodec([g]), 80, 4, 4, 4, hidden=(16,)).eval()
    edits = table2.changes(cfg, {"per node": table2.per_node(pn), "per graph": table2.per_graph(comp)})
    training = table2.TRAINING.replace(epochs=1, batch_size=8)
    with cache_at(tmp_path_factory.mktemp("cache")):
        runs = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
        again = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
    return SimpleNamespace(cfg=cfg, edits=edits, training=training, runs=runs, again=again)


@pytest.fixture(scope="module")
def table(tiny_table2):
    t = tiny_table2
    totals = table2.edit_totals(t.edits, "per node")
    return table2.table2_table(t.runs, t.cfg, t.training, AUTHORS, totals).set_index("variant")


def test_changes_list_the_round_trip_then_each_decoder(tiny_table2):
    assert list(tiny_table2.edits.variant) == ["round trip", "per node", "per graph"]


def test_the_round_trip_changes_nothing(tiny_table2):
    edits = tiny_table2.edits
    assert edits.total.tolist()[0] == 0
    assert edits["params"][0] > 0
    assert edits["params vs original %"][0] == 100


def test_an_untrained_decoder_changes_the_network(tiny_table2):
    assert (tiny_table2.edits.total[1:] > 0).all()


def test_edit_lists_name_each_changed_variant(tiny_table2):
    edits = tiny_table2.edits
    listed = table2.edit_lists(edits)
    assert "round trip" not in listed
    assert f"**resnet18, per node** ({edits.total[1]} edits; repair rules fired: " in listed


def test_run_table2_first_call_trains_every_cell(tiny_table2):
    runs = tiny_table2.runs
    assert len(runs) == 6
    assert not any(r["cached"] for r in runs.values())


def test_run_table2_second_call_loads_from_the_cache(tiny_table2):
    assert all(r["cached"] for r in tiny_table2.again.values())


def test_table2_round_trip_keeps_the_parameter_count(table):
    assert table.loc["original", "params"] == table.loc["roundtrip", "params"]


def test_table2_quotes_the_paper_and_the_authors_runs(table):
    assert table.loc["roundtrip", "paper as printed"] == "78.99 ± 0.39"
    assert table.loc["original", "authors' mean %"] == pytest.approx(76.0233, abs=1e-3)
    assert table.loc["original", "authors' ±"] == pytest.approx(0.8233, abs=1e-3)   # the largest deviation


def test_table2_has_our_spread_and_the_edits(tiny_table2, table):
    assert table["std"].notna().all()
    assert table.loc["compressed", "edits to original"] == tiny_table2.edits.total[1]


def test_misprint_note_gives_the_authors_mean_and_largest_deviation():
    assert "mean 76.02 ± 0.82" in table2.misprint_note(AUTHORS)


def test_table2_provenance_has_a_row_per_run(tiny_table2):
    assert len(table2.provenance(tiny_table2.runs, tiny_table2.training)) == 6


def test_table2_summary_names_the_network(tiny_table2, table):
    assert "**resnet18**: the per-node compression changes" in table2.summary(
        table.reset_index(), tiny_table2.edits, "per node")
