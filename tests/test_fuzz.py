"""Bad input into the public API escapes only as a named nasvec error (benchmarks/fuzz.py's generator, and the cases
an outside user found)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import fuzz  # noqa: E402
from nasvec import decode, encode, from_torch, repair, to_onnx, to_torch  # noqa: E402
from nasvec.errors import ClassroomError, GraphError, NasvecError  # noqa: E402
from nasvec.graph import ArchGraph, Node  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("entry", fuzz.ENTRIES)
@SETTINGS
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_generated_garbage_escapes_only_as_a_named_error(entry, seed):
    result = fuzz.outcome(entry, fuzz.draw(entry, np.random.default_rng(seed)))
    assert not result.startswith("ESCAPED"), f"{entry}, seed {seed}: {result}"


def _vector(g):
    v = encode(g)
    return v.ops.numpy().astype(np.float64), v.attrs.numpy().copy(), v


def _small():
    return fuzz._valid_graph()


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 1e300])
def test_decode_of_a_non_finite_or_huge_attribute_names_the_node(value):
    from nasvec.graph.vectors import VectorRep
    from nasvec.graph.vocab import COLUMN_OF

    ops, attrs, v = _vector(_small())
    attrs[1, COLUMN_OF["out_channels"]] = value
    with pytest.raises(GraphError, match="node 1"):
        decode(VectorRep(v.ops, v.edge_index, torch.from_numpy(attrs), v.tensors, v.names))


def test_decode_of_a_nan_op_id_names_the_field_and_index():
    from nasvec.graph.vectors import VectorRep

    ops, _, v = _vector(_small())
    ops[2] = np.nan
    with pytest.raises(GraphError, match=r"ops\[2\]"):
        decode(VectorRep(ops, v.edge_index, v.attrs, v.tensors, v.names))


def test_decode_of_string_op_ids_says_they_must_be_numbers():
    from nasvec.graph.vectors import VectorRep

    _, _, v = _vector(_small())
    with pytest.raises(GraphError, match="ops must hold numbers"):
        decode(VectorRep(np.array(["Conv"] * len(v.ops)), v.edge_index, v.attrs, v.tensors, v.names))


def test_decode_of_a_nan_edge_names_the_field_and_index():
    from nasvec.graph.vectors import VectorRep

    _, _, v = _vector(_small())
    e = v.edge_index.numpy().astype(np.float64)
    e[0, 1] = np.nan
    with pytest.raises(GraphError, match=r"edge_index\[0, 1\]"):
        decode(VectorRep(v.ops, e, v.attrs, v.tensors, v.names))


def test_decode_of_a_missing_required_attribute_is_refused_not_returned():
    from nasvec.graph.vectors import VectorRep
    from nasvec.graph.vocab import COLUMN_OF

    _, attrs, v = _vector(_small())
    attrs[1, COLUMN_OF["out_channels"]] = np.nan        # NaN marks the attribute absent
    with pytest.raises(GraphError, match="needs attribute 'out_channels'"):
        decode(VectorRep(v.ops, v.edge_index, torch.from_numpy(attrs), v.tensors, v.names))


def _conv(**attrs):
    conv = {"kernel_shape": [3, 3], "out_channels": 8, **attrs}
    return ArchGraph([Node("Input"), Node("Conv", conv), Node("Output")], [(0, 1), (1, 2)])


def test_validate_refuses_a_trillion_channels():
    with pytest.raises(GraphError, match="out_channels"):
        _conv(out_channels=10 ** 12).validate()


def test_validate_refuses_a_negative_kernel():
    with pytest.raises(GraphError, match="kernel_shape"):
        _conv(kernel_shape=[-3, -3]).validate()


def test_validate_with_a_shape_refuses_a_layer_past_the_weight_cap():
    from nasvec.graph.limits import SizeCapError

    with pytest.raises(SizeCapError, match="MAX_LAYER_PARAMS"):
        _conv(kernel_shape=[11, 11], out_channels=4096).validate((1, 4096, 16, 16))


def test_to_onnx_of_a_graph_past_the_caps_is_a_named_error_not_a_memory_error():
    with pytest.raises(GraphError):
        to_onnx(_conv(kernel_shape=[11, 11], out_channels=4096), (1, 4096, 16, 16))


def test_to_torch_of_a_garbage_input_shape_says_what_a_shape_is():
    with pytest.raises(GraphError, match="input_shape"):
        to_torch(_small(), "224")


def test_from_torch_of_none_is_a_graph_error():
    with pytest.raises(GraphError, match="torch.nn.Module"):
        from_torch(None, torch.zeros(1, 3, 8, 8))


def test_from_torch_of_an_input_the_module_cannot_take_names_the_module():
    with pytest.raises(GraphError, match="Conv2d"):
        from_torch(torch.nn.Conv2d(3, 4, 3), torch.zeros(1, 5, 8, 8))


def test_a_binary_roster_is_a_classroom_error(tmp_path):
    from nasvec.classroom.assign import read_roster

    path = tmp_path / "roster.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ClassroomError, match="not a UTF-8 CSV"):
        read_roster(path)


def test_repair_of_a_shape_past_the_element_cap_is_a_repair_error():
    with pytest.raises(NasvecError, match="MAX_ELEMENTS"):
        repair({"ops": np.zeros(3)}, input_shape=(1, 3, 4096, 4096))
