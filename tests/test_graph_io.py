"""Chapter 1: graph <-> vectors <-> ONNX <-> torch, exactness and errors."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from graphgen import attributed_dags, runnable_cnns
from hypothesis import HealthCheck, given, settings
from onnx import TensorProto, helper
from torch import nn

from nasvec import ArchGraph, GraphError, Node, decode, encode, from_onnx, from_torch, to_onnx, to_torch
from nasvec.io import export_torch
from nasvec.graph.vectors import from_pyg
from nasvec.graph.vocab import ATTRS, N_COLUMNS, OPS, PAPER_ATTRS, PAPER_OPS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_ort(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


# --------------------------------------------------------------------- vocabulary

def test_vocabulary_covers_the_paper():
    assert set(PAPER_OPS) <= set(OPS) and len(PAPER_OPS) == 20
    assert set(PAPER_ATTRS) <= set(ATTRS) and len(PAPER_ATTRS) == 19
    for op in ["Gemm", "Identity", "Constant", "Clip", "Shape", "Gather", "Unsqueeze", "Transpose", "Div",
               "Dropout", "HardSigmoid", "HardSwish", "Softmax", "MatMul"]:
        assert op in OPS


# --------------------------------------------------------------------- encode / decode

@SETTINGS
@given(attributed_dags())
def test_encode_decode_is_exact(g):
    v = encode(g)
    assert v.ops.shape == (len(g),) and v.attrs.shape == (len(g), N_COLUMNS)
    assert v.edge_index.shape == (2, len(g.edges))
    back = decode(v)
    assert back == g
    assert [n.name for n in back.nodes] == [n.name for n in g.nodes]
    assert decode(from_pyg(v.to_pyg())) == g


@SETTINGS
@given(attributed_dags())
def test_missing_and_empty_attributes_differ(g):
    v = encode(g)
    for i, node in enumerate(g.nodes):
        for name, (kind, _) in ATTRS.items():
            from nasvec.graph.vocab import COLUMN_OF

            cell = v.attrs[i, COLUMN_OF[name]]
            assert torch.isnan(cell) == (name not in node.attrs)


def test_to_pyg_features():
    g = ArchGraph([Node("Input"), Node("Relu"), Node("Output")], [(0, 1), (1, 2)])
    d = encode(g).to_pyg()
    assert d.num_nodes == 3 and d.x.shape == (3, len(OPS) + 2 * N_COLUMNS)
    assert torch.isfinite(d.x).all()
    assert d.edge_index.tolist() == [[0, 1], [1, 2]]


def test_edge_order_is_input_order():
    nodes = [Node("Input"), Node("Relu"), Node("Sigmoid"), Node("Concat", {"axis": 1}), Node("Output")]
    a = ArchGraph(nodes, [(0, 1), (0, 2), (2, 3), (1, 3), (3, 4)])
    b = ArchGraph(nodes, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)])
    assert a != b                                   # Concat's input order differs
    assert a == ArchGraph(nodes, [(2, 3), (0, 1), (1, 3), (0, 2), (3, 4)])   # same inputs per node
    assert decode(encode(a)) == a


# --------------------------------------------------------------------- ONNX and torch round trips

@SETTINGS
@given(runnable_cnns())
def test_onnx_round_trip_is_exact_and_runs(case):
    g, shape = case
    m = to_onnx(g, input_shape=shape)                   # passes onnx.checker (full check) inside
    g2, w = from_onnx(m, return_weights=True)
    assert g2 == g
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = run_ort(m, x)
    net = to_torch(g2, input_shape=shape, weights=w).eval()
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), y, atol=1e-5, rtol=1e-4)


@settings(max_examples=20, deadline=None)
@given(runnable_cnns(max_layers=6))
def test_to_torch_trains(case):
    g, shape = case
    torch.manual_seed(0)
    net = to_torch(g, input_shape=shape)
    x = torch.randn(4, *shape[1:])
    y = torch.randint(0, net.shapes[-1][1], (4,))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    opt.step()


class Small(nn.Module):
    """Every op family of the vocabulary that a CNN exporter emits, in one network."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.pad = nn.ZeroPad2d(1)
        self.fc = nn.Linear(8 * 4 * 4, 6)
        self.fc2 = nn.Linear(6, 5, bias=False)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = nn.functional.leaky_relu(self.dw(y), 0.2) + y
        y = nn.functional.max_pool2d(y, 2)
        z = self.up(y)[:, :, 1:-1, 1:-1]
        z = nn.functional.avg_pool2d(self.pad(z), 2)
        y = torch.cat([nn.functional.elu(y[:, :4]), torch.tanh(z)], 1)
        y = y * torch.sigmoid(y.mean((2, 3), keepdim=True))
        y = nn.functional.hardswish(y) + nn.functional.hardsigmoid(y) - torch.clamp(y, 0, 6) / 2
        y = y.view(y.size(0), -1)
        y = nn.functional.relu6(self.fc(y))
        return torch.softmax(self.fc2(y.unsqueeze(1)).squeeze(1), -1)


def test_torch_model_round_trip_with_weights():
    torch.manual_seed(0)
    m = Small().eval()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 3, 8, 8)
    orig = export_torch(m, x)
    g, w = from_torch(m, x, return_weights=True)
    ops = set(g.ops)
    assert {"Conv", "BatchNormalization", "ConvTranspose", "Slice", "Pad", "Concat", "ReduceMean", "Mul", "Gemm",
            "HardSwish", "HardSigmoid", "Clip", "Div", "Sub", "Softmax", "MatMul"} <= ops
    assert decode(encode(g)) == g
    rebuilt = to_onnx(g, input_shape=(1, 3, 8, 8), weights=w)
    assert from_onnx(rebuilt) == g
    ref = run_ort(orig, x.numpy())
    np.testing.assert_allclose(run_ort(rebuilt, x.numpy()), ref, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(to_torch(g, weights=w).eval()(x).numpy(), ref, atol=1e-5)
        np.testing.assert_allclose(m(x).numpy(), ref, atol=1e-5)
    fresh = to_onnx(g)                                   # fresh weights, input shape from the file
    assert run_ort(fresh, x.numpy()).shape == ref.shape


def test_from_onnx_without_weights(tmp_path):
    m = export_torch(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)),
                     torch.randn(1, 1, 8, 8))
    g = from_onnx(m)
    # drop the weights' data (external, missing file) and keep their shapes: the graph is the same
    for t in m.graph.initializer:
        t.ClearField("raw_data")
        t.ClearField("float_data")
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", "missing.bin"
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    assert from_onnx(path) == g
    # initializers removed, shapes only in the graph inputs (old exporters)
    for t in list(m.graph.initializer):
        m.graph.input.append(helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)))
    del m.graph.initializer[:]
    assert from_onnx(m) == g


# --------------------------------------------------------------------- errors

def _model(nodes, inputs=("input",), outputs=("y",), inits=()):
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 4, 4]) for n in inputs]
    vo = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs]
    return helper.make_model(helper.make_graph(nodes, "t", vi, vo, initializer=list(inits)))


def test_error_op_outside_vocabulary():
    m = _model([helper.make_node("Relu", ["input"], ["a"], name="r"), helper.make_node("Erf", ["a"], ["y"], name="bad")])
    with pytest.raises(GraphError, match=r"node 1 'bad' \(Erf\).*not in the vocabulary"):
        from_onnx(m)


def test_error_attribute_outside_vocabulary():
    m = _model([helper.make_node("LeakyRelu", ["input"], ["y"], name="lr", alpha=0.1, weird=3)])
    with pytest.raises(GraphError, match=r"'lr'.*attribute 'weird'"):
        from_onnx(m)


def test_error_cycle():
    m = _model([helper.make_node("Add", ["input", "b"], ["a"], name="p"), helper.make_node("Relu", ["a"], ["b"], name="q"),
                helper.make_node("Relu", ["a"], ["y"], name="out")])
    with pytest.raises(GraphError, match="cycle"):
        from_onnx(m)
    # the first unsorted node ('after') only sits downstream of the cycle p <-> q: the error names p or q
    m = _model([helper.make_node("Relu", ["a"], ["y"], name="after"), helper.make_node("Add", ["input", "b"], ["a"], name="p"),
                helper.make_node("Relu", ["a"], ["b"], name="q")])
    with pytest.raises(GraphError, match=r"'(p|q)' .*lies on a cycle"):
        from_onnx(m)


def test_error_several_sources_and_sinks():
    two_in = _model([helper.make_node("Add", ["input", "x2"], ["y"], name="a")], inputs=("input", "x2"))
    with pytest.raises(GraphError, match="several sources"):
        from_onnx(two_in)
    two_out = _model([helper.make_node("Relu", ["input"], ["y"]), helper.make_node("Sigmoid", ["input"], ["z"])],
                     outputs=("y", "z"))
    with pytest.raises(GraphError, match="several sinks"):
        from_onnx(two_out)


def test_error_disconnected_node():
    m = _model([helper.make_node("Relu", ["input"], ["y"], name="r"), helper.make_node("Sigmoid", ["input"], ["dead"], name="s")])
    with pytest.raises(GraphError, match=r"'s' \(Sigmoid\).*dangling"):
        from_onnx(m)
    g = ArchGraph([Node("Input"), Node("Relu"), Node("Sigmoid"), Node("Output")], [(0, 1), (1, 3)])
    with pytest.raises(GraphError, match=r"node 2 \(Sigmoid\).*no inputs"):
        g.validate()


def test_error_malformed_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(GraphError, match="bad.onnx"):
        from_onnx(bad)
    with pytest.raises(GraphError, match="no such file"):
        from_onnx(tmp_path / "absent.onnx")


def test_error_shapes_name_the_node():
    g = ArchGraph([Node("Input"), Node("Conv", {"kernel_shape": [3, 3], "out_channels": 4, "group": 2}), Node("Output")],
                  [(0, 1), (1, 2)])
    with pytest.raises(GraphError, match=r"node 1 \(Conv\).*group 2"):
        to_onnx(g, input_shape=(1, 3, 8, 8))
    with pytest.raises(GraphError, match="input_shape is needed"):
        to_onnx(g)


def test_error_attribute_values():
    with pytest.raises(GraphError, match="kernel_shape"):
        ArchGraph([Node("Input"), Node("Conv", {"kernel_shape": "3"}), Node("Output")], [(0, 1), (1, 2)]).validate()
    with pytest.raises(GraphError, match="mode"):
        ArchGraph([Node("Input"), Node("Pad", {"mode": "mirror"}), Node("Output")], [(0, 1), (1, 2)]).validate()
    with pytest.raises(GraphError, match="no attribute 'axis'"):
        ArchGraph([Node("Input"), Node("Relu", {"axis": 1}), Node("Output")], [(0, 1), (1, 2)]).validate()
    with pytest.raises(GraphError, match="at most 1 data inputs"):
        ArchGraph([Node("Input"), Node("Relu"), Node("Relu"), Node("Output")], [(0, 1), (0, 2), (1, 2), (2, 3)]).validate()


def test_multi_output_split_is_rejected():
    split = helper.make_node("Split", ["input"], ["a", "b"], name="sp", axis=1)
    m = _model([split, helper.make_node("Mul", ["a", "b"], ["y"])])
    with pytest.raises(GraphError, match=r"'sp' \(Split\).*outputs are used"):
        from_onnx(m)


def test_chunk_exports_as_slices_and_round_trips():
    class S(nn.Module):
        def forward(self, x):
            a, b = torch.chunk(x, 2, dim=1)
            return a * b

    x = torch.randn(1, 4, 2, 2)
    g = from_torch(S(), x)
    assert "Shape" in g.ops and "Slice" in g.ops
    np.testing.assert_allclose(to_torch(g)(x).numpy(), S()(x).numpy())
    assert from_onnx(to_onnx(g)) == g


# --------------------------------------------------------------------- reference networks

from nasvec.data import reference as models  # noqa: E402


@pytest.mark.parametrize("name", sorted(models.REFERENCE))
def test_reference_network_round_trips_and_trains(name):
    torch.manual_seed(0)
    net = models.reference(name, num_classes=10, small_input=True).eval()
    shape = models.input_shape(name, small_input=True)
    x = torch.randn(*shape)
    g, w = from_torch(net, x, return_weights=True)
    assert decode(encode(g)) == g
    rebuilt = to_torch(g, weights=w).eval()
    with torch.no_grad():
        want = net(x).numpy()
        np.testing.assert_allclose(rebuilt(x).numpy(), want, atol=1e-5, rtol=1e-4)
    # the same weights through to_onnx, run in onnxruntime
    np.testing.assert_allclose(run_ort(to_onnx(g, input_shape=shape, weights=w), x.numpy()), want, atol=1e-5, rtol=1e-4)
    fresh = to_torch(g, input_shape=(2, *shape[1:])).train()
    opt = torch.optim.SGD(fresh.parameters(), lr=0.01)
    before = [p.detach().clone() for p in fresh.parameters()]
    loss = nn.functional.cross_entropy(fresh(torch.randn(2, *shape[1:])), torch.tensor([1, 3]))
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, fresh.parameters()))


# --------------------------------------------------------------------- every op of the vocabulary

def _case(op, attrs, extra=None):
    """Input [1, 4, 6, 6] -> (Constant / second operand) -> op -> Output."""
    return op, attrs, extra


C = np.arange(4, dtype=np.float32).reshape(1, 4, 1, 1)
OP_CASES = [
    _case("Conv", {"kernel_shape": [3, 3], "strides": [2, 1], "pads": [1, 0, 0, 1], "dilations": [1, 1], "group": 2, "out_channels": 6, "bias": 1}),
    _case("ConvTranspose", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1], "group": 1, "out_channels": 3, "bias": 0}),
    _case("LeakyRelu", {"alpha": 0.3}), _case("Relu", {}), _case("Sigmoid", {}), _case("Tanh", {}), _case("Elu", {"alpha": 0.7}),
    _case("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    _case("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1], "count_include_pad": 1}),
    _case("GlobalAveragePool", {}), _case("GlobalMaxPool", {}),
    _case("Flatten", {"axis": 2}),
    _case("BatchNormalization", {"epsilon": 1e-3, "momentum": 0.8}),
    _case("Add", {}, "self"), _case("Mul", {}, "const"), _case("Sub", {}, "self"), _case("Div", {}, "const"),
    _case("Concat", {"axis": 1}, "self"),
    _case("Pad", {"mode": "reflect", "pads": [0, 0, 1, 2, 0, 0, 2, 1]}),
    _case("Pad", {"mode": "constant", "pads": [0, 1, 0, 0, 0, 0, 0, 1], "constant_value": 0.5}),
    _case("ReduceMean", {"axes": [1, 3], "keepdims": 0}),
    _case("Slice", {"starts": [5, 1], "ends": [-(2**63), 3], "axes": [2, 1], "steps": [-2, 1]}),
    _case("Reshape", {"shape": [0, -1, 3], "allowzero": 0}),
    _case("Identity", {}), _case("Dropout", {"ratio": 0.3}),
    _case("Clip", {"min": -0.5, "max": 0.5}), _case("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), _case("HardSwish", {}),
    _case("Softmax", {"axis": 1}),
    _case("Transpose", {"perm": [0, 2, 3, 1]}),
    _case("Gemm", {"alpha": 0.5, "beta": 2.0, "transB": 0, "out_features": 5, "bias": 1}, "flatten"),
    _case("MatMul", {"out_features": 3}),
    _case("Unsqueeze", {"axes": [0, 3]}), _case("Squeeze", {"axes": [0]}),
    _case("Shape", {"start": 1}), _case("Gather", {"axis": 1, "indices": np.array([3, 0, 0], dtype=np.int64)}),
    _case("Constant", {}, "constant-node"),
]


def _op_graph(op, attrs, extra):
    nodes, edges = [Node("Input")], []
    if extra == "flatten":
        nodes.append(Node("Flatten", {"axis": 1}))
        edges.append((0, 1))
    src = len(nodes) - 1
    if extra == "const":
        nodes.append(Node("Constant", {"value": C}))
        nodes.append(Node(op, attrs))
        edges += [(src, len(nodes) - 1), (len(nodes) - 2, len(nodes) - 1)]
    elif extra == "constant-node":   # a Constant added to the data: Input + Constant -> Add
        nodes.append(Node("Constant", {"value": C}))
        nodes.append(Node("Add"))
        edges += [(src, 2), (1, 2)]
    else:
        nodes.append(Node(op, attrs))
        edges.append((src, len(nodes) - 1))
        if extra == "self":
            edges.append((src, len(nodes) - 1))
    last = len(nodes) - 1
    if op == "Shape":                # an integer result: use it as Reshape's target shape
        nodes.append(Node("Reshape", {}))   # (start=1: the input's 4x6x6 tail, same element count at batch 1)
        edges += [(0, last + 1), (last, last + 1)]
        last += 1
    nodes.append(Node("Output"))
    edges.append((last, last + 1))
    return ArchGraph(nodes, edges)


@pytest.mark.parametrize("op,attrs,extra", OP_CASES, ids=[f"{c[0]}-{k}" for k, c in enumerate(OP_CASES)])
def test_every_op_round_trips_and_runs(op, attrs, extra):
    g = _op_graph(op, attrs, extra)
    shape = (1, 4, 6, 6)
    m = to_onnx(g, input_shape=shape)
    g2, w = from_onnx(m, return_weights=True)
    assert g2 == g, (g2.nodes, g.nodes)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y = run_ort(m, x)
    from nasvec.graph.shapes import infer_shapes

    assert tuple(y.shape) == tuple(infer_shapes(g, shape)[-1].shape)
    with torch.no_grad():
        np.testing.assert_allclose(to_torch(g2, input_shape=shape, weights=w).eval()(torch.from_numpy(x)).numpy(), y,
                                   atol=1e-5, rtol=1e-4)


def test_op_cases_cover_the_vocabulary():
    assert {c[0] for c in OP_CASES} | {"Input", "Output"} == set(OPS)


@pytest.mark.parametrize("bad", [None, {"ops": [1, 2]}, "model.onnx", 3])
def test_the_wrong_type_is_one_named_error(bad):
    from nasvec import GraphError, decode, encode, to_onnx, to_torch
    from nasvec.errors import RepairError
    from nasvec.repair_rules import repair

    with pytest.raises(GraphError, match="decode: expected a VectorRep"):
        decode(bad)
    for f in (encode, lambda g: to_onnx(g, (1, 1, 8, 8)), lambda g: to_torch(g, (1, 1, 8, 8))):
        with pytest.raises(GraphError, match=r"(encode|to_onnx|to_torch): expected an ArchGraph .* got "
                                             + type(bad).__name__):
            f(bad)
    if not isinstance(bad, dict):
        with pytest.raises(RepairError, match="repair: v must be a VectorRep or a dict"):
            repair(bad)
