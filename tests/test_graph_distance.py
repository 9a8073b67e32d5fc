"""Graph edit distance (nasvec.graph.distance): zero on equal graphs, exact counts of in-place edits."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec.errors import GraphError
from nasvec.graph import ArchGraph, Node
from nasvec.graph.distance import edit_distance

from graphgen import attributed_dags

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(g=attributed_dags())
def test_a_graph_is_at_distance_zero_from_itself(g):
    d = edit_distance(g, g)
    assert d.total == 0 and d.edits == []


@SETTINGS
@given(g=attributed_dags(), data=st.data())
def test_removed_edges_are_counted_both_ways(g, data):
    edges = sorted(set(g.edges))
    drop = data.draw(st.lists(st.sampled_from(edges), unique=True, max_size=len(edges))) if edges else []
    h = ArchGraph(g.nodes, [e for e in g.edges if e not in drop])
    there, back = edit_distance(g, h), edit_distance(h, g)
    assert (there.edges_removed, there.edges_added, there.total) == (len(drop), 0, len(drop))
    assert (back.edges_added, back.edges_removed, back.total) == (len(drop), 0, len(drop))
    assert len(there.edits) == len(drop)


def chain(*ops, attrs=None):
    nodes = [Node(op, dict((attrs or {}).get(i, {}))) for i, op in enumerate(ops)]
    return ArchGraph(nodes, [(i, i + 1) for i in range(len(ops) - 1)])


def test_an_attribute_an_op_and_a_node_in_place():
    a = chain("Input", "Conv", "Relu", "MaxPool", "Output", attrs={3: {"kernel_shape": [3, 3]}})
    b = chain("Input", "Conv", "Relu", "MaxPool", "Output", attrs={3: {"kernel_shape": [2, 2]}})
    d = edit_distance(a, b)
    assert d.as_row() == {"nodes_removed": 0, "nodes_added": 0, "ops_changed": 0, "edges_removed": 0,
                          "edges_added": 0, "attrs_changed": 1, "total": 1}
    assert d.edits == ["node 3 MaxPool: kernel_shape [3, 3] -> [2, 2]"]
    swapped = edit_distance(a, chain("Input", "Conv", "Sigmoid", "MaxPool", "Output", attrs={3: {"kernel_shape": [3, 3]}}))
    assert swapped.ops_changed == 1 and swapped.total == 1
    # a node dropped from a chain: the node and its two edges go, one edge bridges the gap
    shorter = edit_distance(a, chain("Input", "Conv", "MaxPool", "Output", attrs={2: {"kernel_shape": [3, 3]}}))
    assert (shorter.nodes_removed, shorter.edges_removed, shorter.edges_added) == (1, 2, 1)


def test_bad_arguments_are_named():
    with pytest.raises(GraphError, match="takes two ArchGraphs, got dict and ArchGraph"):
        edit_distance({}, chain("Input", "Output"))
