"""ONNX and torch in and out of the graph representation (chapter 1, "A network as a graph").

``export_torch`` is the one place the book calls ``torch.onnx.export``: the legacy TorchScript
exporter (``dynamo=False``) at opset 17, with ``TrainingMode.PRESERVE`` so that BatchNormalization
stays a node (eval-mode export would fold it into the convolution), constant folding on, one input
named ``input`` and one output named ``output``.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from .vocab import OPSET


def export_torch(module, example_input):
    """Export a torch module to an ``onnx.ModelProto`` the way the book does everywhere."""
    import onnx
    import torch

    was_training = module.training
    module.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (example_input,), buf, dynamo=False, opset_version=OPSET,
                training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                input_names=["input"], output_names=["output"],
            )
    finally:
        module.train(was_training)
    return onnx.load_from_string(buf.getvalue())


# --------------------------------------------------------------------------- reading

def _load(model):
    import onnx

    from .graph import GraphError

    if isinstance(model, onnx.ModelProto):
        return model, "<ModelProto>"
    if isinstance(model, (bytes, bytearray)):
        try:
            return onnx.load_from_string(bytes(model)), "<bytes>"
        except Exception as e:  # noqa: BLE001 - protobuf raises several types
            raise GraphError(f"<bytes>: not an ONNX model ({type(e).__name__}: {e})") from None
    path = str(model)
    try:
        m = onnx.load(path, load_external_data=False)
    except FileNotFoundError:
        raise GraphError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001
        raise GraphError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    if not m.graph.node:
        raise GraphError(f"{path}: the model has no nodes (not an ONNX model, or an empty one)")
    return m, path


def _attr_value(attr):
    import onnx
    from onnx import numpy_helper

    v = onnx.helper.get_attribute_value(attr)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    return v


def _has_data(t) -> bool:
    import onnx

    if t.data_location == onnx.TensorProto.EXTERNAL:
        return False
    return t.HasField("raw_data") or any(len(getattr(t, f)) for f in
                                   ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"))


def _to_array(t):
    from onnx import numpy_helper

    return numpy_helper.to_array(t)


def from_onnx(model, return_weights: bool = False):
    """Read an ONNX model (path, bytes or ``onnx.ModelProto``) as an :class:`~nasvec.graph.ArchGraph`.

    Weights are not needed: only the shapes of learned weights are read (they give ``out_channels``,
    ``out_features``, ``bias``), so initializers may be external or missing (their shapes are then
    taken from the graph's inputs / value_info). Constant inputs that ONNX passes as tensors (Slice's
    starts, Reshape's shape, ...) become attributes (:data:`nasvec.vocab.FOLDED`); other constants become
    ``Constant`` nodes; ``Identity`` applied to an initializer is resolved; nodes whose inputs are all
    constant are evaluated (constant folding). With ``return_weights=True`` returns ``(graph, weights)``,
    ``weights[node index][ONNX input name] = ndarray`` (where the data are present).
    Errors name the file, node and problem (:class:`~nasvec.graph.GraphError`).
    """
    import onnx

    from .graph import ArchGraph, GraphError, Node
    from .vocab import DERIVED, FOLDED, OP_INDEX, VARIADIC, WEIGHTS, ATTRS, schema_inputs

    m, src = _load(model)
    graph = m.graph
    inits = {t.name: t for t in graph.initializer}
    declared = {}  # name -> shape from graph inputs / value_info
    for vi in list(graph.input) + list(graph.value_info):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            declared[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
    real_inputs = [vi for vi in graph.input if vi.name not in inits]
    if len(real_inputs) > 1:
        # old exporters list weights among the inputs: an input read only at weight slots is a weight
        weight_use = {}
        for n in graph.node:
            slots = schema_inputs(n.op_type) if n.op_type in WEIGHTS else ()
            for pos, x in enumerate(n.input):
                is_w = pos < len(slots) and slots[pos] in WEIGHTS[n.op_type]
                weight_use[x] = weight_use.get(x, True) and is_w
        real_inputs = [vi for vi in real_inputs if not weight_use.get(vi.name, False)]
    if len(real_inputs) != 1:
        raise GraphError(f"{src}: the network must have exactly one input, it has {len(real_inputs)} "
                         f"({[vi.name for vi in real_inputs]}): several sources")
    if len(graph.output) != 1:
        raise GraphError(f"{src}: the network must have exactly one output, it has {len(graph.output)} "
                         f"({[vo.name for vo in graph.output]}): several sinks")
    in_name, out_name = real_inputs[0].name, graph.output[0].name

    def nlabel(k, n):
        return f"{src}: node {k} {n.name!r} ({n.op_type})"

    # topological order (Kahn, stable), cycle detection
    producer = {}
    for k, n in enumerate(graph.node):
        for o in n.output:
            if o:
                if o in producer:
                    raise GraphError(f"{nlabel(k, n)}: output {o!r} is also produced by node {producer[o]}")
                producer[o] = k
    deps = []
    for k, n in enumerate(graph.node):
        deps.append({producer[x] for x in n.input if x in producer})
    order, done = [], set()
    remaining = list(range(len(graph.node)))
    users = [[] for _ in graph.node]
    indeg = [len(d) for d in deps]
    for k, d in enumerate(deps):
        for p in d:
            users[p].append(k)
    import heapq

    ready = [k for k in remaining if indeg[k] == 0]
    heapq.heapify(ready)
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        done.add(k)
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(graph.node):
        # walk back through unsorted producers until a node repeats: that node lies on a cycle
        k, seen = min(set(range(len(graph.node))) - done), set()
        while k not in seen:
            seen.add(k)
            k = min(p for p in deps[k] if p not in done)
        raise GraphError(f"{nlabel(k, graph.node[k])}: lies on a cycle (the graph is not a DAG)")

    consumed = {x for nn in graph.node for x in nn.input}
    static = {}   # value name -> ndarray, or the initializer TensorProto (data maybe missing)
    for name, t in inits.items():
        static[name] = t
    const_node = {}  # static value name -> graph node index once materialised as a Constant node
    nodes = [Node("Input")]
    edges = []
    weights = {}
    index_of = {in_name: 0}   # dynamic value name -> graph node index

    def static_array(name, where):
        v = static[name]
        if isinstance(v, onnx.TensorProto):
            if not _has_data(v):
                raise GraphError(f"{where}: needs the value of initializer {name!r}, whose data is missing or external")
            v = _to_array(v)
            static[name] = v
        return v

    def static_shape(name, where):
        v = static.get(name)
        if isinstance(v, onnx.TensorProto):
            return tuple(v.dims)
        if v is not None:
            return tuple(v.shape)
        if name in declared:
            return declared[name]
        raise GraphError(f"{where}: the shape of weight {name!r} is unknown (no initializer, input or value_info)")

    for k in order:
        n = graph.node[k]
        where = nlabel(k, n)
        op = n.op_type
        if n.domain not in ("", "ai.onnx"):
            raise GraphError(f"{where}: op domain {n.domain!r} is not supported (only the standard ONNX ops)")
        used_outputs = [o for o in n.output if o]
        if op == "Constant":
            attrs = {a.name: _attr_value(a) for a in n.attribute}
            if "value" in attrs:
                val = attrs["value"]
            elif len(attrs) == 1:
                val = np.asarray(next(iter(attrs.values())))
            else:
                raise GraphError(f"{where}: Constant without a value")
            static[n.output[0]] = np.asarray(val)
            continue
        inputs = list(n.input)
        present = [x for x in inputs if x]
        missing = [x for x in present if x not in static and x not in index_of and x not in declared]
        if missing:
            raise GraphError(f"{where}: input(s) {missing} are produced by no node, input or initializer")
        if op == "Identity" and present and present[0] in static:
            static[n.output[0]] = static[present[0]]
            continue
        if present and all(x in static for x in present):
            # constant folding of a constant subgraph
            from onnx.reference import ReferenceEvaluator

            arrays = {x: static_array(x, where) for x in present}
            single = onnx.helper.make_graph(
                [n], "fold", [onnx.helper.make_tensor_value_info(x, onnx.helper.np_dtype_to_tensor_dtype(arrays[x].dtype), arrays[x].shape) for x in dict.fromkeys(present)],
                [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in used_outputs])
            try:
                res = ReferenceEvaluator(onnx.helper.make_model(single, opset_imports=m.opset_import)).run(None, arrays)
            except Exception as e:  # noqa: BLE001
                raise GraphError(f"{where}: cannot evaluate this constant node ({type(e).__name__}: {e})") from None
            for o, r in zip(used_outputs, res):
                static[o] = np.asarray(r)
            continue
        consumers = [o for o in used_outputs if o == out_name or o in consumed]
        if len(consumers) > 1:
            raise GraphError(f"{where}: {len(consumers)} of its outputs are used ({consumers}); "
                             f"a graph node has one output (export without multi-output ops such as Split)")
        if op not in OP_INDEX or op in ("Input", "Output"):
            raise GraphError(f"{where}: op {op!r} is not in the vocabulary (nasvec.vocab.OPS)")
        attrs = {}
        for a in n.attribute:
            if a.name not in ATTRS:
                raise GraphError(f"{where}: attribute {a.name!r} is not in the vocabulary (nasvec.vocab.ATTRS)")
            attrs[a.name] = _attr_value(a)
        slots = schema_inputs(op)
        wslots = WEIGHTS.get(op, ())
        node_weights = {}
        data_inputs = []
        for pos, x in enumerate(inputs):
            slot = slots[min(pos, len(slots) - 1)] if op in VARIADIC else (slots[pos] if pos < len(slots) else None)
            if slot is None:
                raise GraphError(f"{where}: has {len(inputs)} inputs, op {op} takes at most {len(slots)}")
            if not x:
                continue
            is_static = x in static or (x not in index_of and x in declared)
            if is_static and slot in wslots:
                node_weights[slot] = x
            elif is_static and (op, slot) in FOLDED:
                name = FOLDED[(op, slot)]
                val = static_array(x, where)
                kind = ATTRS[name][0]
                if kind == "ints":
                    attrs[name] = [int(v) for v in np.asarray(val).reshape(-1)]
                elif kind == "float":
                    if np.asarray(val).size != 1:
                        raise GraphError(f"{where}: constant input {slot!r} must be a scalar, has shape {np.shape(val)}")
                    attrs[name] = float(np.asarray(val).reshape(-1)[0])
                else:
                    attrs[name] = np.asarray(val)
            elif is_static:
                if x not in const_node:
                    const_node[x] = len(nodes)
                    nodes.append(Node("Constant", {"value": np.asarray(static_array(x, where))}, name=f"{x}"))
                data_inputs.append(const_node[x])
            else:
                data_inputs.append(index_of[x])
        if op in DERIVED:
            if op == "MatMul" and "B" not in node_weights:
                pass
            elif op == "Gemm" and "B" not in node_weights:
                if "C" in node_weights:
                    raise GraphError(f"{where}: Gemm with a data B and a constant bias C is not supported")
            else:
                wname = node_weights.get("W" if op.startswith("Conv") else "B")
                if wname is None:
                    raise GraphError(f"{where}: {op} has no weight input")
                wshape = static_shape(wname, where)
                if op == "Conv":
                    attrs["out_channels"] = int(wshape[0])
                elif op == "ConvTranspose":
                    attrs["out_channels"] = int(wshape[1]) * int(attrs.get("group", 1))
                elif op == "Gemm":
                    attrs["out_features"] = int(wshape[0] if attrs.get("transB", 0) else wshape[1])
                else:
                    if len(wshape) != 2:
                        raise GraphError(f"{where}: MatMul with a constant {len(wshape)}-D weight is not supported")
                    attrs["out_features"] = int(wshape[-1])
                if op != "MatMul":
                    attrs["bias"] = int(("B" if op.startswith("Conv") else "C") in node_weights)
        idx = len(nodes)
        nodes.append(Node(op, attrs, name=n.name))
        edges.extend((s, idx) for s in data_inputs)
        if used_outputs:
            index_of[used_outputs[0]] = idx
        arrays = {}
        for slot, x in (node_weights.items() if return_weights else ()):
            v = static.get(x)
            if isinstance(v, onnx.TensorProto):
                if _has_data(v):
                    arrays[slot] = _to_array(v)
            elif v is not None:
                arrays[slot] = np.asarray(v)
        if arrays:
            weights[idx] = arrays
    if out_name not in index_of:
        raise GraphError(f"{src}: the output {out_name!r} is not computed from the input (constant or missing)")
    nodes.append(Node("Output"))
    edges.append((index_of[out_name], len(nodes) - 1))
    in_shape = declared.get(in_name)
    meta = {"input_shape": in_shape} if in_shape and all(d > 0 for d in in_shape) else {}
    g = ArchGraph(nodes, edges, name=graph.name, meta=meta)
    try:
        g.validate()
    except GraphError as e:
        raise GraphError(f"{src}: {e}") from None
    return (g, weights) if return_weights else g


def from_torch(module, example_input, return_weights: bool = False):
    """Export ``module`` with :func:`export_torch` at ``example_input`` and read it with :func:`from_onnx`."""
    return from_onnx(export_torch(module, example_input), return_weights=return_weights)


# --------------------------------------------------------------------------- writing

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


def to_onnx(g, input_shape=None, weights=None, seed: int = 0, check: bool = True):
    """Build an ``onnx.ModelProto`` (opset 17) from ``g``, node by node.

    ``input_shape`` defaults to the shape recorded by :func:`from_onnx`. ``weights``: the original weights
    (``{node index: {ONNX input name: ndarray}}``, as :func:`from_onnx` returns them), ``None`` for fresh
    ones (seeded by ``seed``), or ``"none"`` for the architecture alone (learned weights become graph
    inputs of the right shapes, as in a weightless ONNX file; runs in onnxruntime when they are fed).
    The model passes ``onnx.checker`` with ``full_check`` (``check=False`` skips it).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from .graph import GraphError
    from .shapes import default_input_shape, infer_shapes
    from .vocab import ATTRS, DERIVED, FOLDED, VARIADIC, WEIGHTS, schema_inputs

    g.validate()
    shape = default_input_shape(g, input_shape)
    infos = infer_shapes(g, shape)
    given = weights or {}
    ins = g.inputs()
    out_idx = [i for i, n in enumerate(g.nodes) if n.op == "Output"][0]
    out_src = ins[out_idx][0]
    if g.nodes[out_src].op == "Input":
        raise GraphError("the Output reads the Input directly: the network has no layers")
    vname = {}
    for i, node in enumerate(g.nodes):
        vname[i] = "input" if node.op == "Input" else ("output" if i == out_src else f"t{i}")
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
        data = list(ins[i])
        inputs = []
        folded_names = set()
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
                attr = FOLDED[(op, slot)]
                folded_names.add(attr)
                kind = ATTRS[attr][0]
                val = a[attr]
                arr = (np.asarray(val, dtype=np.int64) if kind == "ints" else
                       np.asarray(val, dtype=np.float32) if kind == "float" else np.asarray(val))
                iname = f"{name}.{slot}"
                inits.append(numpy_helper.from_array(arr, iname))
                inputs.append(iname)
            elif data:
                inputs.append(vname[data.pop(0)])
            else:
                inputs.append("")
        while inputs and inputs[-1] == "":
            inputs.pop()
        if data:
            raise GraphError(f"{g.label(i)}: reads {len(ins[i])} nodes, more than op {op} takes")
        skip = folded_names.union(DERIVED.get(op, ()))
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
