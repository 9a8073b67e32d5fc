"""Hypothesis strategies for graphs (shared by the chapter-1 and chapter-3 tests).

* :func:`attributed_dags` — any valid graph of the vocabulary (ops, attribute kinds, one source and one
  sink), not necessarily a network that runs: for encode/decode.
* :func:`runnable_cnns` — shape-consistent CNNs with skips, concatenations, SE gates, pads and slices:
  for to_onnx/from_onnx/to_torch.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nasvec.graph import ArchGraph, Node
from nasvec.graph.shapes import infer_shapes
from nasvec.graph.limits import MAX_CHANNELS
from nasvec.graph.vocab import (ATTRS, AT_LEAST, INT64_MAX, INT64_MIN, OPS, REQUIRED, STRINGS, VARIADIC, allowed_attrs,
                                data_slots)

_INT = st.one_of(st.integers(-(2**52), 2**52), st.sampled_from([INT64_MAX, INT64_MIN, 0, 1, -1]))
_FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)
_TENSOR = hnp.arrays(st.sampled_from([np.int64, np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
                     elements=st.integers(-100, 100))


def _value(kind: str, width: int):
    if kind == "int":
        return _INT
    if kind == "float":
        return _FLOAT
    if kind == "string":
        return st.sampled_from(STRINGS)
    if kind == "tensor":
        return _TENSOR
    return st.lists(_INT if kind == "ints" else _FLOAT, max_size=width)


def _legal(op: str, name: str):
    """Values of attribute ``name`` that validate() accepts for ``op``: sizes within their range (nasvec.graph.vocab)."""
    kind, width = ATTRS[name]
    if name in AT_LEAST and (name != "pads" or op in REQUIRED):
        high = MAX_CHANNELS if name in ("out_channels", "out_features") else 2**52
        ints = st.integers(AT_LEAST[name], high)
        return ints if kind == "int" else st.lists(ints, max_size=width)
    return _value(kind, width)


@st.composite
def attributes(draw, op: str) -> dict:
    """Any attributes of ``op`` validate() accepts (its required ones always among them)."""
    names = sorted(allowed_attrs(op))
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))) if names else []
    chosen = sorted(set(chosen) | set(REQUIRED.get(op, ())))
    return {n: draw(_legal(op, n)) for n in chosen}


BODY_OPS = [op for op in OPS if op not in ("Input", "Output", "Constant")]


@st.composite
def attributed_dags(draw, max_nodes: int = 12) -> ArchGraph:
    """A valid graph: Input, body nodes (each reads 1..arity earlier nodes), a Concat gathering every
    node nobody reads, Output; sometimes Constant nodes feeding variadic ops."""
    n = draw(st.integers(1, max_nodes))
    nodes = [Node("Input")]
    edges = []
    for _ in range(n):
        op = draw(st.sampled_from(BODY_OPS + ["Constant"]))
        if op == "Constant":
            nodes.append(Node("Constant", {"value": draw(_TENSOR)}))
            continue
        attrs = draw(attributes(op))
        arity = 4 if op in VARIADIC else len(data_slots(op, attrs))
        if arity == 0:
            attrs = {}
            arity = len(data_slots(op, attrs))
        k = draw(st.integers(1, max(1, arity)))
        preds = draw(st.lists(st.integers(0, len(nodes) - 1), min_size=k, max_size=k))
        idx = len(nodes)
        nodes.append(Node(op, attrs, name=draw(st.sampled_from(["", f"n{idx}"]))))
        edges += [(p, idx) for p in preds]
    used = {s for s, _ in edges}
    dangling = [i for i in range(len(nodes)) if i not in used]
    if len(dangling) > 1 or nodes[dangling[0]].op in ("Input", "Constant"):
        sink = len(nodes)
        nodes.append(Node("Concat", {"axis": 1}))
        edges += [(i, sink) for i in dangling]
        if all(nodes[i].op == "Constant" for i in dangling):
            edges.append((0, sink))
    else:
        sink = dangling[0]
    nodes.append(Node("Output"))
    edges.append((sink, len(nodes) - 1))
    return ArchGraph(nodes, edges)


ACTS = [("Relu", {}), ("LeakyRelu", {"alpha": 0.1}), ("Elu", {"alpha": 1.0}), ("Sigmoid", {}), ("Tanh", {}),
        ("HardSwish", {}), ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}), ("Clip", {"min": 0.0, "max": 6.0}),
        ("Identity", {})]


@st.composite
def runnable_cnns(draw, max_layers: int = 10, input_shape=(1, 3, 8, 8)):
    """A CNN that runs: returns ``(graph, input_shape)``."""
    nodes, edges = [Node("Input")], []
    shapes = [tuple(input_shape)]

    def add(op, attrs, preds):
        nodes.append(Node(op, attrs))
        idx = len(nodes) - 1
        edges.extend((p, idx) for p in preds)
        g = ArchGraph(nodes + [Node("Output")], edges + [(idx, idx + 1)])
        shapes.append(infer_shapes(g, input_shape)[idx].shape)
        return idx

    cur = 0
    for _ in range(draw(st.integers(1, max_layers))):
        c, h = shapes[cur][1], shapes[cur][2]
        kind = draw(st.sampled_from(["conv", "bn", "act", "pool", "add", "concat", "se", "pad", "slice", "convT"]))
        if kind == "conv":
            k = draw(st.sampled_from([1, 3] if h >= 3 else [1]))
            s = draw(st.sampled_from([1, 2]))
            p = k // 2
            group = draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
            out = group * draw(st.integers(1, 4))
            cur = add("Conv", {"kernel_shape": [k, k], "strides": [s, s], "pads": [p, p, p, p], "dilations": [1, 1],
                               "group": group, "out_channels": out, "bias": draw(st.integers(0, 1))}, [cur])
        elif kind == "convT":
            cur = add("ConvTranspose", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0],
                                        "out_channels": draw(st.integers(1, 4)), "bias": 1}, [cur])
        elif kind == "bn":
            cur = add("BatchNormalization", {"epsilon": 1e-5, "momentum": 0.9}, [cur])
        elif kind == "act":
            op, attrs = draw(st.sampled_from(ACTS))
            cur = add(op, dict(attrs), [cur])
        elif kind == "pool" and h >= 2:
            op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
            cur = add(op, {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0]}, [cur])
        elif kind in ("add", "concat"):
            same = [j for j in range(len(shapes)) if shapes[j] == shapes[cur] and j != cur] if kind == "add" else \
                [j for j in range(len(shapes)) if shapes[j][2:] == shapes[cur][2:] and j != cur]
            if same:
                other = draw(st.sampled_from(same))
                cur = add("Add" if kind == "add" else "Concat", {} if kind == "add" else {"axis": 1}, [cur, other])
        elif kind == "se":
            m = add("ReduceMean", {"axes": [2, 3], "keepdims": 1}, [cur])
            s_ = add("Sigmoid", {}, [m])
            cur = add("Mul", {}, [cur, s_])
        elif kind == "pad":
            cur = add("Pad", {"mode": "constant", "pads": [0, 0, 1, 1, 0, 0, 1, 1]}, [cur])
        elif kind == "slice" and c >= 2:
            cur = add("Slice", {"starts": [0], "ends": [c // 2], "axes": [1], "steps": [1]}, [cur])
    # every node must reach the output: gather the dangling ones by global pooling + concat
    used = {s for s, _ in edges} | {cur}
    tails = [cur] + [j for j in range(1, len(nodes)) if j not in used]
    pooled = [add("GlobalAveragePool", {}, [t]) for t in tails]
    cur = pooled[0] if len(pooled) == 1 else add("Concat", {"axis": 1}, pooled)
    cur = add("Flatten", {"axis": 1}, [cur])
    cur = add("Gemm", {"alpha": 1.0, "beta": 1.0, "transB": 1, "out_features": draw(st.integers(2, 5)), "bias": 1}, [cur])
    nodes.append(Node("Output"))
    edges.append((cur, len(nodes) - 1))
    return ArchGraph(nodes, edges), tuple(input_shape)
