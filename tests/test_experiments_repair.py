"""nasvec.experiments, chapter 3: the repair tables and Table 2 (on small inputs; the notebooks run them whole)."""

import numpy as np
import pandas as pd
import pytest
import torch

from nasvec.errors import ConfigError
from nasvec.experiments import repair, table2


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


def test_table2_config_and_a_tiny_run_of_every_cell(cache):
    from nasvec.compress.attributed import AttrCodec, AttributedSplitVAE
    from nasvec.compress.pernode_attr import PerNodeAttrConfig

    with pytest.raises(ConfigError, match="data must be one of \\['digits', 'fashion_mnist', 'cifar10'\\]"):
        table2.Table2Config(data="cifar")
    with pytest.raises(ConfigError, match=r"no input size for \['vgg11'\]"):
        table2.Table2Config(models=("vgg11",))
    cfg = table2.Table2Config(models=("resnet18",), sizes={"resnet18": 8}, n_train=16, n_test=16, seeds=(0, 1))
    assert table2.Table2Config(data="cifar10", sizes={"resnet18": 32, "alexnet": 32}).input_shape("alexnet") == (1, 3, 32, 32)
    g = table2.original_graph("resnet18", cfg.input_shape("resnet18"))
    torch.manual_seed(0)
    pn = PerNodeAttrConfig(epochs=0, max_values=8).build(AttrCodec([g], 8)).eval()   # untrained: any decode
    comp = AttributedSplitVAE(AttrCodec([g]), 80, 4, 4, 4, hidden=(16,)).eval()
    edits = table2.changes(cfg, {"per node": table2.per_node(pn), "per graph": table2.per_graph(comp)})
    assert list(edits.variant) == ["round trip", "per node", "per graph"]
    assert edits.total.tolist()[0] == 0 and (edits.total[1:] > 0).all() and edits["params"][0] > 0
    assert edits["params vs original %"][0] == 100
    listed = table2.edit_lists(edits)
    assert "round trip" not in listed and f"**resnet18, per node** ({edits.total[1]} edits; repair rules fired: " in listed
    training = table2.TRAINING.replace(epochs=1, batch_size=8)
    runs = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
    assert len(runs) == 6 and not any(r["cached"] for r in runs.values())
    authors = pd.DataFrame({"network": ["resnet18"] * 6, "variant": ["original"] * 3 + ["round trip"] * 3,
                            "run": [1, 2, 3] * 2, "accuracy": [0.7665, 0.7622, 0.752, 0.7887, 0.7872, 0.7938]})
    totals = table2.edit_totals(edits, "per node")
    table = table2.table2_table(runs, cfg, training, authors, totals).set_index("variant")
    assert table.loc["original", "params"] == table.loc["roundtrip", "params"]
    assert table.loc["roundtrip", "paper as printed"] == "78.99 ± 0.39"
    assert table.loc["original", "authors' mean %"] == pytest.approx(76.0233, abs=1e-3)
    assert table.loc["original", "authors' ±"] == pytest.approx(0.8233, abs=1e-3)   # the largest deviation
    assert table["std"].notna().all() and table.loc["compressed", "edits to original"] == edits.total[1]
    assert "mean 76.02 ± 0.82" in table2.misprint_note(authors) and len(table2.provenance(runs, training)) == 6
    assert "**resnet18**: the per-node compression changes" in table2.summary(
        table.reset_index(), edits, "per node")
    again = table2.run_table2(cfg, training, table2.per_node(pn), {"test": "untrained"})
    assert all(r["cached"] for r in again.values())
