"""Chapter 3's repair rules: any decoder output -> a valid network that runs; valid input unchanged."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphgen import runnable_cnns
from nasvec import encode, from_torch, repair, to_onnx, to_torch
from nasvec.graph import ArchGraph, Node
from nasvec.errors import GraphError, RepairError
from nasvec.repair_rules import RULES, Rule, problem, raw_arrays, rule_table
from nasvec.graph.shapes import infer_shapes
from nasvec.graph.vocab import N_COLUMNS, OP_INDEX, OPS

SHAPE = (1, 1, 28, 28)


def runs(g, shape=SHAPE, onnx=True):
    """Valid for batch 1 and batch 3, builds in ONNX (full check) + onnxruntime, torch forward and backward."""
    assert problem(g, shape) is None, problem(g, shape)
    assert problem(g, (3,) + tuple(shape[1:])) is None
    if onnx:
        import onnxruntime as ort

        m = to_onnx(g, shape)
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"input": np.random.default_rng(0).random(shape, dtype=np.float32)})
        assert y.shape[0] == shape[0]
    net = to_torch(g, (3,) + tuple(shape[1:]))
    x = torch.randn((3,) + tuple(shape[1:]), requires_grad=True)
    y = net(x)
    assert y.shape[0] == 3 and y.is_floating_point()
    y.sum().backward()
    assert x.grad is not None


def chain(*specs, edges=None):
    """Arrays of a graph given as (op, attrs) specs; edges default to a chain."""
    nodes = [Node(op, dict(a)) for op, a in specs]
    n = len(nodes)
    edges = [(i, i + 1) for i in range(n - 1)] if edges is None else edges
    g = ArchGraph.__new__(ArchGraph)  # bypass the constructor's checks: these graphs are broken on purpose
    g.nodes, g.edges, g.name, g.meta = nodes, list(edges), "", {}
    arr = raw_arrays(g)
    arr["edge_index"] = np.array(edges, dtype=np.int64).reshape(-1, 2).T
    return arr


CONV = ("Conv", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "out_channels": 8})


# --------------------------------------------------------------------------- properties
decoder_outputs = st.integers(0, 24).flatmap(lambda n: st.fixed_dictionaries({
    "ops": st.one_of(
        hnp.arrays(np.float64, (n, len(OPS)), elements=st.floats(-1e6, 1e6)),
        hnp.arrays(np.float64, (n,), elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
        hnp.arrays(np.int64, (n,), elements=st.integers(0, len(OPS) - 1)),
    ),
    "edge_index": st.one_of(
        hnp.arrays(np.float64, (2, 3 * n),
                   elements=st.one_of(st.floats(-3, n + 3, width=32), st.sampled_from([np.nan, np.inf, -np.inf]))),
        hnp.arrays(np.int64, (2, 2 * n), elements=st.integers(-1, max(n, 1))),
        hnp.arrays(np.float64, (n, n) if n != 2 else (2, 0), elements=st.floats(0, 1)),
    ),
    "attrs": hnp.arrays(np.float64, (n, N_COLUMNS),
                        elements=st.one_of(st.just(np.nan), st.integers(-3, 30).map(float),
                                           st.floats(allow_nan=True, allow_infinity=True))),
}))


def test_a_decoder_output_that_once_got_an_unbuildable_gemm_builds(root):
    """A decoder output hypothesis found (random ops, NaN/inf attributes, a dense edge matrix) for which repair once
    returned a Gemm whose input size disagreed with its weight: the result now passes onnx.checker."""
    v = dict(np.load(root / "tests" / "data" / "repair_gemm_mismatch.npz"))
    to_onnx(repair(v), SHAPE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(decoder_outputs)
def test_any_decoder_output_becomes_a_runnable_network(v):
    g, counts = repair(v, report=True)
    runs(g)
    assert set(counts) <= set(RULES)
    assert g.meta["repairs"] == counts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(decoder_outputs)
def test_repair_is_deterministic_and_its_output_is_a_fixed_point(v):
    g = repair(v)
    assert repair(v) == g
    again, counts = repair(encode(g), report=True)
    assert again == g and counts == {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runnable_cnns(input_shape=(1, 3, 8, 8)))
def test_valid_networks_are_returned_unchanged(case):
    g, shape = case
    r, counts = repair(encode(g), input_shape=shape, report=True)
    assert r == g and counts == {}


from nasvec.data.reference import REFERENCE, reference  # noqa: E402


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_networks_are_unchanged(name):
    g = from_torch(reference(name, num_classes=10, in_channels=1, small_input=True), torch.zeros(SHAPE))
    r, counts = repair(encode(g), report=True)
    assert r == g and counts == {}
    assert repair(encode(g), num_classes=10) == g  # already a 10-class classifier
    # a dense [N, N] adjacency carries no input order: a valid graph whose inputs come in index order
    # (most graphs here; an Add(skip, x) breaks it) is a fixed point in that form too
    if all(list(ins) == sorted(ins) for ins in g.inputs()):
        n = len(g)
        adj = np.zeros((n, n))
        src, dst = np.array(g.edges).T
        adj[src, dst] = 1.0
        v = encode(g)
        assert repair({"ops": v.ops, "adjacency": adj, "attrs": v.attrs, "tensors": v.tensors}) == g


def test_thousands_of_nodes():
    rng = np.random.default_rng(0)
    n = 3000
    v = {"ops": rng.normal(size=(n, len(OPS))), "edge_index": rng.integers(0, n, size=(2, 3 * n)),
         "attrs": rng.normal(scale=3, size=(n, N_COLUMNS))}
    g = repair(v)
    runs(g)
    # a long valid-looking chain keeps its length
    ops = np.full(n, OP_INDEX["Relu"])
    ops[0], ops[-1] = OP_INDEX["Input"], OP_INDEX["Output"]
    ops[1::7] = OP_INDEX["Conv"]
    g = repair({"ops": ops, "edge_index": np.stack([np.arange(n - 1), np.arange(1, n)]),
                "attrs": np.full((n, N_COLUMNS), np.nan)})
    assert len(g) == n
    runs(g)


# --------------------------------------------------------------------------- errors
def test_bad_arguments_are_named():
    with pytest.raises(RepairError, match="v must be"):
        repair(42)
    with pytest.raises(TypeError, match="v must be"):  # input of the wrong kind is also a TypeError, as it was
        repair("ops")
    with pytest.raises(RepairError, match="input_shape"):
        repair({"ops": [0]}, input_shape=(1, 0, 28, 28))
    with pytest.raises(RepairError, match="num_classes"):
        repair({"ops": [0]}, num_classes=0)
    with pytest.raises(RepairError, match="edge_index"):
        repair({"ops": [0, 1, 2], "edge_index": np.zeros((3, 3, 3)), "attrs": None})
    with pytest.raises(RepairError, match=r"v.ops must be a numeric array"):
        repair({"ops": ["conv"], "edge_index": np.zeros((2, 0)), "attrs": None})


# --------------------------------------------------------------------------- one test per rule
def test_rule_op_ids():
    scores = np.full((3, len(OPS)), -1.0)
    for i, op in enumerate(["Input", "Relu", "Output"]):
        scores[i, OP_INDEX[op]] = 5.0
    g = repair({"ops": scores, "edge_index": [[0, 1], [1, 2]], "attrs": None})
    assert g.ops == ["Input", "Relu", "Output"]
    ids = np.array([0.2, OP_INDEX["Relu"] + 0.4, np.nan, -7, 1e9, 1.0])
    g, c = repair({"ops": ids, "edge_index": [[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]], "attrs": None}, report=True)
    # three unreadable ids without attributes: rule op_from_attrs guesses Relu for a one-input node
    assert g.ops == ["Input", "Relu", "Relu", "Relu", "Relu", "Output"]
    assert c["op_ids"] == 5 and c["op_from_attrs"] == 3  # two rounded, three unreadable
    runs(g)


def test_rule_op_from_attrs():
    bn = ("BatchNormalization", {"epsilon": 1e-5, "momentum": 0.9})
    arr = chain(("Input", {}), CONV, bn, ("Relu", {}), ("Output", {}))
    arr["ops"] = arr["ops"].astype(float)
    arr["ops"][1] = np.nan                       # the Conv's id is lost: its attributes say Conv
    arr["ops"][2] = OP_INDEX["MaxPool"]          # a valid id its row contradicts: epsilon and momentum
    g, c = repair(arr, report=True)
    assert g.ops == ["Input", "Conv", "BatchNormalization", "Relu", "Output"] and c["op_from_attrs"] == 2
    assert g.nodes[1].attrs["kernel_shape"] == CONV[1]["kernel_shape"]
    # one stray attribute does not overturn an op
    arr = chain(("Input", {}), CONV, ("MaxPool", {"kernel_shape": [2, 2], "epsilon": 1e-5}), ("Output", {}))
    assert repair(arr, report=True)[0].ops[2] == "MaxPool"
    runs(g)


def test_rule_edges():
    arr = chain(("Input", {}), ("Relu", {}), ("Output", {}))
    arr["edge_index"] = np.array([[0, 1, 1, 0, 5, np.nan, 0], [1, 2, 1, 1, 1, 2, -1]])
    g, c = repair(arr, report=True)
    assert g.edges == [(0, 1), (1, 2)] and c["edges"] == 5  # self loop, duplicate, 5, NaN, -1


def test_rule_acyclic():
    arr = chain(("Input", {}), ("Relu", {}), ("Sigmoid", {}), ("Output", {}))
    arr["edge_index"] = arr["edge_index"][::-1].copy()  # every edge backwards
    g, c = repair(arr, report=True)
    assert g.ops == ["Input", "Relu", "Sigmoid", "Output"] and g.edges == [(0, 1), (1, 2), (2, 3)]
    assert c["acyclic"] == 3


def test_rule_shape_ops():
    arr = chain(("Input", {}), CONV, ("Shape", {}), ("Transpose", {"perm": [0, 2, 1, 3]}), ("Output", {}))
    g, c = repair(arr, report=True)
    # shape arithmetic goes; a Transpose that keeps the batch axis first stays (a channel shuffle needs it)
    assert "Shape" not in g.ops and "Transpose" in g.ops and c["shape_ops"] == 1
    runs(g)
    arr = chain(("Input", {}), CONV, ("Transpose", {"perm": [1, 0, 2, 3]}), ("Reshape", {"shape": [1, -1]}))
    g, c = repair(arr, report=True)   # no Output: the rules run; both would mix examples: Identity
    assert g.ops == ["Input", "Conv", "Identity", "Identity", "Output"] and c["fallback"] == 2
    arr = chain(("Input", {}), ("Constant", {}), ("Add", {}), ("Output", {}), edges=[(0, 2), (1, 2), (2, 3)])
    g, c = repair(arr, report=True)
    assert "Constant" not in g.ops and c["shape_ops"] == 1
    runs(g)


def test_rule_one_source():
    g, c = repair(chain(("Relu", {}), ("Input", {}), ("Input", {}), ("Output", {}), edges=[(0, 1), (1, 2), (2, 3)]),
                  report=True)
    assert g.ops.count("Input") == 1 and g.ops[0] == "Input" and c["one_source"] >= 2
    g = repair(chain(CONV, ("Relu", {}), ("Output", {})))
    assert g.ops[0] == "Input"
    runs(g)


def test_rule_one_sink():
    g, c = repair(chain(("Input", {}), ("Output", {}), CONV, ("Output", {})), report=True)
    assert g.ops.count("Output") == 1 and g.ops[-1] == "Output" and c["one_sink"] >= 1
    g = repair(chain(("Input", {}), CONV))
    assert g.ops[-1] == "Output"
    runs(g)


def test_rule_orphans():
    g, c = repair(chain(("Input", {}), CONV, ("Relu", {}), ("Output", {}), edges=[(0, 1), (2, 3)]), report=True)
    assert (1, 2) in g.edges and c["orphans"] == 1


def test_rule_dangling():
    # the Sigmoid is read by nobody; the Add has one operand -> the Sigmoid becomes its second operand
    arr = chain(("Input", {}), ("Relu", {}), ("Sigmoid", {}), ("Add", {}), ("Output", {}),
                edges=[(0, 1), (0, 2), (1, 3), (3, 4)])
    g, c = repair(arr, report=True)
    assert g.ops == ["Input", "Relu", "Sigmoid", "Add", "Output"] and g.predecessors(3) == [1, 2]
    assert c["dangling"] == 1
    runs(g)


def test_rule_arity():
    arr = chain(("Input", {}), ("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("Output", {}),
                edges=[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)])
    g, c = repair(arr, report=True)
    # Tanh keeps its nearest input; the Relu it let go, read by nobody, is reconnected rather than pruned: it takes
    # the Sigmoid's slot, whose Input others read too
    assert g.ops == ["Input", "Relu", "Sigmoid", "Tanh", "Output"] and g.predecessors(3) == [2]
    assert g.predecessors(2) == [1] and c["arity"] == 1 and c["dangling"] == 1 and "prune" not in c
    # an input that others read too goes first: dropping it cuts nothing
    arr = chain(("Input", {}), ("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("Output", {}),
                edges=[(0, 1), (1, 2), (1, 3), (2, 3), (3, 4)])
    g, c = repair(arr, report=True)
    assert g.ops == ["Input", "Relu", "Sigmoid", "Tanh", "Output"] and g.predecessors(3) == [2] and "prune" not in c


def test_rule_prune():
    arr = chain(("Input", {}), ("Relu", {}), ("Sigmoid", {}), ("Output", {}), ("Tanh", {}),
                edges=[(0, 1), (1, 2), (2, 3), (1, 4)])
    g, c = repair(arr, report=True)
    assert "Tanh" not in g.ops and c["prune"] == 1
    runs(g)


def test_rule_no_layers():
    g, c = repair({"ops": [], "edge_index": np.zeros((2, 0)), "attrs": np.zeros((0, N_COLUMNS))}, report=True)
    assert g.ops == ["Input", "Identity", "Output"] and c["no_layers"] == 1
    runs(g)


def test_rule_attributes():
    big = ("Conv", {"kernel_shape": [50, 50], "strides": [-2, 0], "pads": [-1, 3, 99, 0], "group": 3,
                    "out_channels": 64, "dilations": [9, 1]})
    g, c = repair(chain(("Input", {}), CONV, big, ("MaxPool", {"kernel_shape": [40, 2], "pads": [5, 5, 5, 5]}),
                        ("LeakyRelu", {"alpha": 1e30}), ("Output", {})), report=True)
    conv, pool, act = g.nodes[2].attrs, g.nodes[3].attrs, g.nodes[4].attrs
    assert max(conv["kernel_shape"]) <= 28 + 3 + 11 and min(conv["strides"]) >= 1 and min(conv["pads"]) >= 0
    assert 8 % conv["group"] == 0 and 64 % conv["group"] == 0
    assert pool["kernel_shape"][0] <= infer_shapes(g, SHAPE)[2].shape[2]
    assert all(p <= (k - 1) // 2 for p, k in zip(pool["pads"], pool["kernel_shape"] * 2))
    assert 0 <= act["alpha"] <= 1
    assert c["attributes"] == 3
    runs(g)
    # missing required attributes are filled
    g = repair(chain(("Input", {}), ("Conv", {}), ("Gemm", {}), ("Output", {})))
    assert "kernel_shape" in g.nodes[1].attrs and "out_channels" in g.nodes[1].attrs
    runs(g)


def test_rule_rank():
    g, c = repair(chain(("Input", {}), CONV, ("Gemm", {"out_features": 16}), CONV, ("Output", {})), report=True)
    assert g.ops == ["Input", "Conv", "Flatten", "Gemm", "Reshape", "Conv", "Output"] and c["rank"] == 2
    runs(g)


def test_rule_operands():
    # Add of [N, 8, 28, 28] and [N, 16, 14, 14]: the second is padded to 28 x 28 and mapped to 8 channels
    arr = chain(("Input", {}), CONV,
                ("Conv", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2], "out_channels": 16}),
                ("Add", {}), ("Output", {}), edges=[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)])
    g, c = repair(arr, report=True)
    assert "Pad" in g.ops and g.ops.count("Conv") == 3 and c["operands"] == 1
    runs(g)
    # and the other way round: the operand most operands disagree with is pooled down
    half = ("Conv", {**CONV[1], "strides": [2, 2]})
    arr = chain(("Input", {}), half, half, ("Conv", {**CONV[1], "out_channels": 8}), ("Concat", {"axis": 0}),
                ("Output", {}), edges=[(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (4, 5)])
    g, c = repair(arr, report=True)
    assert "AveragePool" in g.ops and g.nodes[-2].attrs["axis"] == 1 and c["operands"] == 1
    runs(g)
    # a residual Add that lost its skip edge reads the nearest earlier node of its operand's shape
    arr = chain(("Input", {}), CONV, ("Relu", {}), CONV, ("Add", {}), ("Output", {}))
    g, c = repair(arr, report=True)
    assert g.ops == ["Input", "Conv", "Relu", "Conv", "Add", "Output"] and g.predecessors(4) == [3, 2]
    assert c["operands"] == 1
    runs(g)
    # a rank-2 operand of a Concat is reshaped, not dropped
    arr = chain(("Input", {}), CONV, ("GlobalAveragePool", {}), ("Flatten", {"axis": 1}), ("Concat", {"axis": 1}),
                ("Output", {}), edges=[(0, 1), (1, 2), (2, 3), (1, 4), (3, 4), (4, 5)])
    g, c = repair(arr, report=True)
    assert len(g.predecessors(g.ops.index("Concat"))) == 2 and "Reshape" in g.ops
    runs(g)


def test_rule_size_cap():
    huge = ("ConvTranspose", {"kernel_shape": [11, 11], "strides": [8, 8], "out_channels": 100})
    g, c = repair(chain(("Input", {}), huge), report=True)  # no Output: the rules run
    assert "ConvTranspose" not in g.ops and c["size_cap"] == 1
    runs(g)


def test_size_caps_hold_for_a_layer_asking_a_billion_channels():
    from nasvec.graph.limits import MAX_CHANNELS

    wide = ("Conv", {"kernel_shape": [3, 3], "out_channels": 10**9})
    g = repair(chain(("Input", {}), wide), input_shape=(1, 3, 64, 64))   # no Output: the rules run
    assert max(n.attrs.get("out_channels", 0) for n in g.nodes) <= MAX_CHANNELS
    g.validate((1, 3, 64, 64))


def test_rule_build_check(monkeypatch):
    import sys

    engine = sys.modules["nasvec.repair_rules.engine"]
    monkeypatch.setattr(engine, "_shapes", lambda s, shape, nc: ArchGraph([Node("Input"), Node("Output")], [(0, 1)]))
    g, c = repair(chain(("Input", {}), ("Relu", {})), num_classes=10, report=True)
    assert g.ops == ["Input", "GlobalAveragePool", "Flatten", "Gemm", "Output"] and c["build_check"] == 1
    runs(g)


def test_rule_fallback(monkeypatch):
    import sys

    emit = sys.modules["nasvec.repair_rules.emit"]
    monkeypatch.setattr(emit, "fix_simple", lambda op, a, x: {"axis": 99})
    g, c = repair(chain(("Input", {}), ("Softmax", {})), report=True)  # no Output: the rules run
    assert g.ops == ["Input", "Identity", "Output"] and c["fallback"] == 1


def test_rule_symmetric():
    odd = ("Conv", {"kernel_shape": [3, 3], "pads": [1, 1, 6, 1], "dilations": [5, 1], "out_channels": 8})
    g, c = repair(chain(("Input", {}), *[CONV] * 9, odd), report=True)   # no Output: the rules run
    assert c["symmetric"] == 1 and g.nodes[10].attrs["pads"] == [1, 1, 1, 1]
    assert g.nodes[10].attrs.get("dilations", [1, 1]) == [1, 1] and g.nodes[1].attrs == dict(CONV[1])
    # a network whose convs are asymmetric by design keeps its lists
    asym = ("Conv", {"kernel_shape": [1, 3], "pads": [0, 1, 0, 1], "strides": [1, 2], "out_channels": 8})
    g, c = repair(chain(("Input", {}), *[CONV] * 3, asym, asym), report=True)
    assert "symmetric" not in c and [n.attrs.get("strides") for n in g.nodes[4:6]] == [[1, 2], [1, 2]]


def test_rule_classifier():
    g, c = repair(chain(("Input", {}), CONV, ("Output", {})), num_classes=10, report=True)
    assert infer_shapes(g, SHAPE)[-1].shape == (1, 10) and c["classifier"] == 1
    runs(g)


def test_every_rule_has_a_test():
    tested = {name[len("test_rule_"):] for name in globals() if name.startswith("test_rule_")}
    assert tested == set(RULES)


def test_rules_are_named_functions_and_repair_dispatches_the_passes_in_order(monkeypatch):
    assert all(isinstance(r, Rule) and callable(r.apply) and r.fixes for r in RULES.values())
    assert {r.stage for r in RULES.values()} == {"arrays", "structure", "node", "final"}
    assert list(rule_table().columns) == ["rule", "what it fixes"] and list(rule_table().rule) == list(RULES)
    calls = []

    def tracing(name, rule):
        def apply(skeleton):
            calls.append(name)
            rule.apply(skeleton)
        return Rule(rule.fixes, apply, rule.stage)

    import sys

    package = sys.modules["nasvec.repair_rules.engine"]
    traced = {k: (tracing(k, r) if r.stage == "structure" else r) for k, r in RULES.items()}
    monkeypatch.setattr(package, "RULES", traced)
    g = repair(chain(("Input", {}), CONV))  # no Output: the rules run
    assert calls == [k for k, r in RULES.items() if r.stage == "structure"]
    runs(g)


# --------------------------------------------------------------------------- chapter 2's decodes
enas_cells = st.integers(1, 10).flatmap(lambda n: st.tuples(
    hnp.arrays(np.int64, n, elements=st.integers(0, 7)),
    hnp.arrays(np.float64, (n, n), elements=st.sampled_from([0.0, 1.0]))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(enas_cells)
def test_any_enas_decode_becomes_a_runnable_network(cell):
    from nasvec.experiments.repair import enas_decoder_output

    types, adj = cell
    v = enas_decoder_output(np.concatenate([types, [-1, -1]]), np.pad(adj, ((0, 2), (0, 2))))  # padding ignored
    assert v["attrs"].shape == (len(v["ops"]), N_COLUMNS)
    assert v["edge_index"].shape[0] == 2
    runs(repair(v))


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1)), min_size=1, max_size=8))
def test_valid_enas_cells_need_no_repair(layers):
    from nasvec import data
    from nasvec.compress.base import DagBatch
    from nasvec.experiments.repair import enas_decoder_output
    from nasvec.repair_rules import valid_before_repair

    arch = [[op] + [int(p > 0.5 + 0.1 * j) for j in range(i)] for i, (op, p) in enumerate(layers)]
    b = DagBatch.from_graphs([data.enas_to_graph(arch)], data.ENAS_TYPES)
    v = enas_decoder_output(b.types[0].numpy(), b.adj[0].numpy())
    assert valid_before_repair(v, (1, 1, 28, 28))
    g, counts = repair(v, report=True)
    assert counts == {}
    # every ENAS layer is there: convs, pools and a Concat per node with several inputs
    n_concat = sum(len(set(data.enas_to_graph(arch).predecessors(i))) > 1 for i in range(1, len(arch) + 1))
    assert g.ops.count("Concat") == n_concat
    assert g.ops.count("MaxPool") == sum(op == 5 for op, _ in layers)


def test_enas_decode_study_counts_valid_cells_and_repairs_the_rest():
    from nasvec import data
    from nasvec.compress.base import DagBatch
    from nasvec.experiments.repair import enas_decode_study

    good = data.enas_to_graph([[0], [4, 1], [5, 0, 1]])
    bad = ArchGraph([Node("input"), Node("conv3x3"), Node("output"), Node("max_pool3x3"), Node("output")],
                    [(0, 1), (1, 2), (0, 3)])                       # two outputs, a layer nobody reads

    class Decoder:  # stands in for a chapter-2 compressor: sample() gives 3 good cells and 1 bad one
        def sample(self, n, generator=None):
            return DagBatch.from_graphs([good, good, good, bad][:n], data.ENAS_TYPES, max_nodes=5)

    r = enas_decode_study(Decoder(), 4)
    assert r["n"] == 4 and r["valid_enas"] == 0.75
    assert r["valid_before"] == 0.75 and r["valid_after"] == 1.0
    assert r["rule_fired"].get("one_sink") == 1


def test_conv_transpose_output_padding_stays_below_the_stride():
    """onnxruntime refuses output_padding >= stride even where torch allows it up to the dilation (found by
    benchmarks/repair.py: stride 1, dilation 4, output_padding 3)."""
    from nasvec.repair_rules.attributes import fix_conv

    a = {"strides": [1, 2], "dilations": [4, 4], "output_padding": [3, 3], "kernel_shape": [3, 3], "out_channels": 4,
         "pads": [0, 0, 0, 0]}
    assert fix_conv("ConvTranspose", a, (1, 2, 8, 8))["output_padding"] == [0, 1]


def test_a_concat_operand_rewired_far_away_is_the_one_adapted():
    # three branches at 14 x 14 and one that reads the Input (28 x 28): the odd one is pooled, the others stay
    half = ("Conv", {**CONV[1], "strides": [2, 2]})
    arr = chain(("Input", {}), half, half, half, ("Concat", {"axis": 1}), ("Output", {}),
                edges=[(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (0, 4), (4, 5)])
    g = repair(arr)
    assert infer_shapes(g, SHAPE)[g.ops.index("Concat")].shape[2:] == (14, 14) and "Pad" not in g.ops


def test_a_reshape_after_a_branch_changed_width_follows_the_new_channel_count():
    from nasvec.repair_rules.attributes import fix_simple

    assert fix_simple("Reshape", {"shape": [-1, 2, 58, 28, 28]}, (1, 112, 28, 28))["shape"] == [-1, 2, 56, 28, 28]


def test_ceil_mode_is_dropped_where_torch_and_onnx_would_disagree_on_the_size():
    from nasvec.repair_rules.attributes import fix_pool

    pool = {"kernel_shape": [3, 3], "strides": [4, 4], "ceil_mode": 1}
    assert fix_pool("MaxPool", pool, (1, 3, 224, 224))["ceil_mode"] == 0
    assert fix_pool("MaxPool", {**pool, "strides": [2, 2]}, (1, 3, 224, 224))["ceil_mode"] == 1


def test_validate_refuses_a_ceil_mode_pool_whose_size_torch_and_onnx_disagree_on():
    g = ArchGraph([Node("Input"), Node("MaxPool", {"kernel_shape": [3, 3], "strides": [4, 4], "ceil_mode": 1}),
                   Node("Output")], [(0, 1), (1, 2)])
    with pytest.raises(GraphError, match="ceil_mode"):
        g.validate((1, 3, 224, 224))
