"""Minimal repair under controlled damage (nasvec.repair_rules.damage): what repair keeps, and that it keeps more
when less is damaged."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec.errors import RepairError
from nasvec.experiments.repair import damage_study, damage_summary, reference_graphs
from nasvec.graph.vectors import encode
from nasvec.repair_rules import RULES, changes_table, problem, repair
from nasvec.repair_rules.damage import KINDS, damage, kept

from graphgen import runnable_cnns

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def refs():
    return reference_graphs(["resnet18", "vgg11", "mobilenet_v2", "squeezenet1_1"])


def test_damage_touches_the_share_asked_and_names_the_nodes(refs):
    g, _ = refs["resnet18"]
    v0, clean = damage(g, 0, "mixed"), encode(g)
    assert np.array_equal(v0["ops"], clean.ops.numpy()) and v0["damaged"] == []
    v = damage(g, 10, "nan", seed=1)
    bad_ops = np.flatnonzero(np.isnan(v["ops"]))
    assert len(bad_ops) == round(0.1 * len(g)) and set(bad_ops) <= set(v["damaged"])
    assert np.isnan(v["attrs"]).sum() >= np.isnan(clean.attrs.numpy()).sum()
    flipped = damage(g, 50, "flip", seed=0)
    assert (flipped["edge_index"][0] > flipped["edge_index"][1]).sum() == round(0.5 * len(g.edges))
    noisy = damage(g, 0, "noise", seed=0)
    assert not np.array_equal(noisy["ops"], v0["ops"]) and len(noisy["damaged"]) == len(g)
    with pytest.raises(RepairError, match="kind must be one of"):
        damage(g, 1, "zeros")
    with pytest.raises(RepairError, match="k is a percentage"):
        damage(g, 101)
    assert kept(g, g) == {"nodes": 1.0, "edges": 1.0, "attributes": 1.0, "edit_distance": 0}


def test_nodes_whose_entries_were_not_damaged_are_kept(refs):
    study = damage_study(refs, ["mixed"], [1, 2], seeds=range(4))
    assert study.valid.all()
    assert study["undamaged nodes"].mean() >= 0.99
    summary = damage_summary(study)
    assert list(summary["k %"]) == [1, 2] and (summary.valid == 100).all()


def test_more_damage_costs_more_edits_on_average(refs):
    study = damage_study({k: refs[k] for k in ("resnet18", "vgg11")}, ["mixed"], [1, 5, 25], seeds=range(4))
    ged = study.groupby("k %").edit_distance.mean()
    assert ged[1] <= ged[5] <= ged[25] and ged[25] > ged[1]
    nodes = study.groupby("k %").nodes.mean()
    assert nodes[1] >= nodes[5] >= nodes[25]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=runnable_cnns(), kind=st.sampled_from(KINDS), k=st.sampled_from([0.5, 2, 10]), seed=st.integers(0, 99))
def test_any_damage_repairs_to_a_valid_network_and_says_why(case, kind, k, seed):
    g, shape = case
    r = repair(damage(g, k, kind, seed=seed), input_shape=shape)
    assert problem(r, shape) is None
    table = changes_table(r)
    assert list(table.columns) == ["rule", "change"] and set(table.rule) <= set(RULES)
    assert set(r.meta["repairs"]) <= set(RULES)
