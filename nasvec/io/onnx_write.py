"""The graph representation back to ONNX (chapter 1): :func:`to_onnx`, node by node, with weights.

:func:`weight_shapes` gives the shapes of a node's learned weights for given input shapes;
:func:`fresh_weights` draws new ones (He-uniform like torch's defaults); :func:`to_onnx` writes an
opset-17 ``onnx.ModelProto`` that passes ``onnx.checker`` with ``full_check``.
"""

from __future__ import annotations

import numpy as np

from ..errors import GraphError
from ..graph.core import require_graph
from ..graph.core import checked_shapes
from ..graph.shapes import default_input_shape
from ..graph.vocab import ATTRS, DERIVED, FOLDED, OPSET, VARIADIC, WEIGHTS, schema_inputs



def fresh_weights(g, infos, seed: int = 0) -> dict:
    """New weights for every learned layer of ``g`` (He-uniform like torch's defaults; BN: 1, 0, 0, 1)."""
    rng = np.random.default_rng(seed)
    out = {}
    ins = g.inputs()
    for i, node in enumerate(g.nodes):
        a, op = node.attrs, node.op
        if op in ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization"):
            shapes = weight_shapes(g, i, infos, ins[i])
            if not shapes:
                continue
            fan_in = max(1, int(np.prod(shapes[next(iter(shapes))][1:]))) if op == "Conv" else None
            arrays = {}
            for slot, shape in shapes.items():
                if op == "BatchNormalization":
                    fill = {"scale": 1.0, "B": 0.0, "input_mean": 0.0, "input_var": 1.0}[slot]
                    arrays[slot] = np.full(shape, fill, dtype=np.float32)
                    continue
                if fan_in is None:
                    w = shapes["W" if op == "ConvTranspose" else "B"]
                    fan_in = int(w[0]) if op in ("MatMul",) or (op == "Gemm" and not a.get("transB", 0)) else \
                        int(np.prod(w[1:])) if op == "Gemm" else int(w[0] // max(1, a.get("group", 1)) * np.prod(w[2:]))
                bound = 1.0 / np.sqrt(max(1, fan_in))
                arrays[slot] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
            out[i] = arrays
    return out


def weight_shapes(g, i, infos, preds=None) -> dict:
    """ONNX input name -> shape of the learned weights of node ``i`` (given the shapes ``infos``)."""
    node = g.nodes[i]
    a, op = node.attrs, node.op
    x = infos[(g.predecessors(i) if preds is None else preds)[0]].shape
    if op == "Conv":
        k = list(a["kernel_shape"])
        out = {"W": (a["out_channels"], x[1] // a.get("group", 1), *k)}
        if a.get("bias", 0):
            out["B"] = (a["out_channels"],)
        return out
    if op == "ConvTranspose":
        k = list(a["kernel_shape"])
        out = {"W": (x[1], a["out_channels"] // a.get("group", 1), *k)}
        if a.get("bias", 0):
            out["B"] = (a["out_channels"],)
        return out
    if op == "Gemm":
        if "out_features" not in a:
            return {}
        fin = x[0] if a.get("transA", 0) else x[1]
        out = {"B": (a["out_features"], fin) if a.get("transB", 0) else (fin, a["out_features"])}
        if a.get("bias", 0):
            out["C"] = (a["out_features"],)
        return out
    if op == "MatMul":
        return {"B": (x[-1], a["out_features"])} if "out_features" in a else {}
    if op == "BatchNormalization":
        return {s: (x[1],) for s in ("scale", "B", "input_mean", "input_var")}
    return {}


def _add_node(graph, op, inputs, output, name, attrs):
    """Append a NodeProto to ``graph`` in place (faster than onnx.helper.make_node + make_graph)."""
    import onnx
    from onnx import numpy_helper

    n = graph.node.add()
    n.op_type, n.name = op, name
    n.input.extend(inputs)
    n.output.append(output)
    for k, v in attrs.items():
        at = n.attribute.add()
        at.name = k
        if isinstance(v, np.ndarray):
            at.type = onnx.AttributeProto.TENSOR
            at.t.CopyFrom(numpy_helper.from_array(v, f"{name}.{k}"))
        elif isinstance(v, (int, np.integer)):
            at.type, at.i = onnx.AttributeProto.INT, int(v)
        elif isinstance(v, (float, np.floating)):
            at.type, at.f = onnx.AttributeProto.FLOAT, float(v)
        elif isinstance(v, str):
            at.type, at.s = onnx.AttributeProto.STRING, v.encode()
        elif all(isinstance(x, (int, np.integer)) for x in v):
            at.type = onnx.AttributeProto.INTS
            at.ints.extend(int(x) for x in v)
        else:
            at.type = onnx.AttributeProto.FLOATS
            at.floats.extend(float(x) for x in v)


def _folded_input(op, slot, a, name, inits):
    """A folded attribute (:data:`~nasvec.graph.vocab.FOLDED`) written back as an initializer input."""
    from onnx import numpy_helper

    attr = FOLDED[(op, slot)]
    kind = ATTRS[attr][0]
    val = a[attr]
    arr = (np.asarray(val, dtype=np.int64) if kind == "ints" else
           np.asarray(val, dtype=np.float32) if kind == "float" else np.asarray(val))
    iname = f"{name}.{slot}"
    inits.append(numpy_helper.from_array(arr, iname))
    return iname


def _node_inputs(g, i, name, wshapes, w, vname, ins, given, inits, weight_inputs):
    """The ONNX input names of node ``i`` (data, weights, folded attributes); returns them and the folded names."""
    from onnx import TensorProto, helper, numpy_helper

    op, a = g.nodes[i].op, g.nodes[i].attrs
    data = list(ins[i])
    inputs, folded = [], set()
    for slot in schema_inputs(op):
        if op in VARIADIC:
            inputs.extend(vname[j] for j in data)
            data = []
            break
        if slot in wshapes and given == "none":
            iname = f"{name}.{slot}"
            weight_inputs.append(helper.make_tensor_value_info(iname, TensorProto.FLOAT, list(wshapes[slot])))
            inputs.append(iname)
        elif slot in wshapes:
            arr = np.asarray(w[slot], dtype=np.float32)
            if tuple(arr.shape) != tuple(wshapes[slot]):
                raise GraphError(f"{g.label(i)}: weight {slot!r} has shape {arr.shape}, the graph needs {wshapes[slot]}")
            iname = f"{name}.{slot}"
            inits.append(numpy_helper.from_array(arr, iname))
            inputs.append(iname)
        elif (op, slot) in FOLDED and FOLDED[(op, slot)] in a:
            folded.add(FOLDED[(op, slot)])
            inputs.append(_folded_input(op, slot, a, name, inits))
        elif data:
            inputs.append(vname[data.pop(0)])
        else:
            inputs.append("")
    while inputs and inputs[-1] == "":
        inputs.pop()
    if data:
        raise GraphError(f"{g.label(i)}: reads {len(ins[i])} nodes, more than op {op} takes")
    return inputs, folded


def to_onnx(g, input_shape=None, weights=None, seed: int = 0, check: bool = True):
    """Build an ``onnx.ModelProto`` (opset 17) from ``g``, node by node.

    ``input_shape`` defaults to the shape recorded by :func:`from_onnx`. ``weights``: the original weights
    (``{node index: {ONNX input name: ndarray}}``, as :func:`from_onnx` returns them), ``None`` for fresh
    ones (seeded by ``seed``), or ``"none"`` for the architecture alone (learned weights become graph
    inputs of the right shapes, as in a weightless ONNX file; runs in onnxruntime when they are fed).
    The model passes ``onnx.checker`` with ``full_check`` (``check=False`` skips it).
    """
    require_graph(g, "to_onnx")
    import onnx
    from onnx import TensorProto, helper

    g.validate()
    shape = default_input_shape(g, input_shape)
    infos = checked_shapes(g, shape)   # within the size caps: no garbage asks for terabytes here
    given = weights or {}
    ins = g.inputs()
    out_idx = [i for i, n in enumerate(g.nodes) if n.op == "Output"][0]
    out_src = ins[out_idx][0]
    if g.nodes[out_src].op == "Input":
        raise GraphError("the Output reads the Input directly: the network has no layers")
    vname = {i: "input" if node.op == "Input" else ("output" if i == out_src else f"t{i}")
             for i, node in enumerate(g.nodes)}
    used = set()
    onodes, inits, weight_inputs = onnx.GraphProto(), [], []
    fresh = None
    for i, node in enumerate(g.nodes):
        op, a = node.op, node.attrs
        if op in ("Input", "Output"):
            continue
        name = node.name if node.name and node.name not in used else f"{op}_{i}"
        used.add(name)
        if op == "Constant":
            _add_node(onodes, "Constant", [], vname[i], name, {"value": np.asarray(a["value"])})
            continue
        wshapes = weight_shapes(g, i, infos, ins[i]) if op in WEIGHTS else {}
        w = given.get(i) if isinstance(given, dict) else None
        if wshapes and w is None and given != "none":
            if fresh is None:
                fresh = fresh_weights(g, infos, seed)
            w = fresh.get(i, {})
        inputs, folded = _node_inputs(g, i, name, wshapes, w, vname, ins, given, inits, weight_inputs)
        skip = folded.union(DERIVED.get(op, ()))
        _add_node(onodes, op, inputs, vname[i], name, {k: v for k, v in a.items() if k not in skip})
    graph = onodes
    graph.name = g.name or "nasvec"
    graph.input.extend([helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))] + weight_inputs)
    graph.output.extend([helper.make_tensor_value_info("output", TensorProto.FLOAT, list(infos[out_src].shape))])
    graph.initializer.extend(inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nasvec")
    model.ir_version = 8
    if check:
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # noqa: BLE001
            raise GraphError(f"to_onnx: the model fails onnx.checker: {e}") from None
    return model
