"""ONNX (and torch, through ONNX) into the graph representation (chapter 1, "A network as a graph").

``export_torch`` is the one place the book calls ``torch.onnx.export``: the legacy TorchScript
exporter (``dynamo=False``) at opset 17, with ``TrainingMode.PRESERVE`` so that BatchNormalization
stays a node (eval-mode export would fold it into the convolution), constant folding on, one input
named ``input`` and one output named ``output``. :func:`from_onnx` reads any such model (or one
written by another tool) as an :class:`~nasvec.graph.ArchGraph`.
"""

from __future__ import annotations

import heapq
import io
import warnings

import numpy as np

from ..errors import GraphError
from ..graph.core import ArchGraph, Node
from ..graph.vocab import ATTRS, DERIVED, FOLDED, OP_INDEX, OPSET, VARIADIC, WEIGHTS, schema_inputs


def export_torch(module, example_input):
    """Export a torch module to an ``onnx.ModelProto`` the way the book does everywhere."""
    import onnx
    import torch

    if not isinstance(module, torch.nn.Module):
        raise GraphError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_input, torch.Tensor) or not example_input.is_floating_point():
        raise GraphError(f"from_torch: example_input must be a floating-point torch.Tensor (e.g. torch.zeros(1, 3, 32, "
                         f"32)), got {type(example_input).__name__}")
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
    except Exception as e:  # noqa: BLE001 - the exporter and the module's own forward raise anything
        raise GraphError(f"from_torch: {type(module).__name__} on an input of shape {tuple(example_input.shape)} "
                         f"cannot be exported to ONNX ({type(e).__name__}: {str(e)[:300]})") from None
    finally:
        module.train(was_training)
    return onnx.load_from_string(buf.getvalue())


def from_torch(module, example_input, return_weights: bool = False):
    """Export ``module`` with :func:`export_torch` at ``example_input`` and read it with :func:`from_onnx`."""
    return from_onnx(export_torch(module, example_input), return_weights=return_weights)


# --------------------------------------------------------------------------- helpers
def _load(model):
    import onnx

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


def _the_input_and_output(graph, inits, src) -> tuple[str, str]:
    """The names of the network's one data input and one output (weights listed as inputs are skipped)."""
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
    return real_inputs[0].name, graph.output[0].name


def _topological_order(graph, label) -> list[int]:
    """The nodes' indices in a stable topological order (Kahn); a cycle is an error naming a node on it."""
    producer = {}
    for k, n in enumerate(graph.node):
        for o in n.output:
            if o:
                if o in producer:
                    raise GraphError(f"{label(k)}: output {o!r} is also produced by node {producer[o]}")
                producer[o] = k
    deps = [{producer[x] for x in n.input if x in producer} for n in graph.node]
    users = [[] for _ in graph.node]
    indeg = [len(d) for d in deps]
    for k, d in enumerate(deps):
        for p in d:
            users[p].append(k)
    order, done = [], set()
    ready = [k for k in range(len(graph.node)) if indeg[k] == 0]
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
        raise GraphError(f"{label(k)}: lies on a cycle (the graph is not a DAG)")
    return order


def _derived_size(op, attrs, wshape, where) -> dict:
    """``out_channels`` / ``out_features`` from the shape of a layer's weight."""
    if op == "Conv":
        return {"out_channels": int(wshape[0])}
    if op == "ConvTranspose":
        return {"out_channels": int(wshape[1]) * int(attrs.get("group", 1))}
    if op == "Gemm":
        return {"out_features": int(wshape[0] if attrs.get("transB", 0) else wshape[1])}
    if len(wshape) != 2:
        raise GraphError(f"{where}: MatMul with a constant {len(wshape)}-D weight is not supported")
    return {"out_features": int(wshape[-1])}


# --------------------------------------------------------------------------- the reader
class _Reader:
    """The state of one :func:`from_onnx` call: values known so far and the graph being written."""

    def __init__(self, m, src: str, return_weights: bool):
        self.m, self.src, self.return_weights = m, src, return_weights
        graph = m.graph
        self.inits = {t.name: t for t in graph.initializer}
        self.declared = {}  # name -> shape from graph inputs / value_info
        for vi in list(graph.input) + list(graph.value_info):
            tt = vi.type.tensor_type
            if tt.HasField("shape"):
                self.declared[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
        self.in_name, self.out_name = _the_input_and_output(graph, self.inits, src)
        self.consumed = {x for nn in graph.node for x in nn.input}
        self.static = dict(self.inits)  # value name -> ndarray, or the initializer TensorProto (data maybe missing)
        self.const_node = {}            # static value name -> graph node index once materialised as a Constant node
        self.nodes, self.edges, self.weights = [Node("Input")], [], {}
        self.index_of = {self.in_name: 0}  # dynamic value name -> graph node index

    def label(self, k: int) -> str:
        n = self.m.graph.node[k]
        return f"{self.src}: node {k} {n.name!r} ({n.op_type})"

    def static_array(self, name, where):
        import onnx

        v = self.static[name]
        if isinstance(v, onnx.TensorProto):
            if not _has_data(v):
                raise GraphError(f"{where}: needs the value of initializer {name!r}, whose data is missing or external")
            v = _to_array(v)
            self.static[name] = v
        return v

    def static_shape(self, name, where):
        import onnx

        v = self.static.get(name)
        if isinstance(v, onnx.TensorProto):
            return tuple(v.dims)
        if v is not None:
            return tuple(v.shape)
        if name in self.declared:
            return self.declared[name]
        raise GraphError(f"{where}: the shape of weight {name!r} is unknown (no initializer, input or value_info)")

    # --- one ONNX node ------------------------------------------------------
    def read(self, k: int) -> None:
        n = self.m.graph.node[k]
        where, op = self.label(k), n.op_type
        if n.domain not in ("", "ai.onnx"):
            raise GraphError(f"{where}: op domain {n.domain!r} is not supported (only the standard ONNX ops)")
        if op == "Constant":
            return self.constant(n, where)
        present = [x for x in n.input if x]
        missing = [x for x in present if x not in self.static and x not in self.index_of and x not in self.declared]
        if missing:
            raise GraphError(f"{where}: input(s) {missing} are produced by no node, input or initializer")
        if op == "Identity" and present and present[0] in self.static:
            self.static[n.output[0]] = self.static[present[0]]
        elif present and all(x in self.static for x in present):
            self.fold(n, present, where)
        else:
            self.layer(n, where)

    def constant(self, n, where) -> None:
        attrs = {a.name: _attr_value(a) for a in n.attribute}
        if "value" in attrs:
            val = attrs["value"]
        elif len(attrs) == 1:
            val = np.asarray(next(iter(attrs.values())))
        else:
            raise GraphError(f"{where}: Constant without a value")
        self.static[n.output[0]] = np.asarray(val)

    def fold(self, n, present, where) -> None:
        """Constant folding: evaluate a node whose inputs are all constant."""
        import onnx
        from onnx.reference import ReferenceEvaluator

        used_outputs = [o for o in n.output if o]
        arrays = {x: self.static_array(x, where) for x in present}
        helper = onnx.helper
        single = helper.make_graph(
            [n], "fold", [helper.make_tensor_value_info(x, helper.np_dtype_to_tensor_dtype(arrays[x].dtype), arrays[x].shape)
                          for x in dict.fromkeys(present)],
            [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in used_outputs])
        try:
            res = ReferenceEvaluator(helper.make_model(single, opset_imports=self.m.opset_import)).run(None, arrays)
        except Exception as e:  # noqa: BLE001
            raise GraphError(f"{where}: cannot evaluate this constant node ({type(e).__name__}: {e})") from None
        for o, r in zip(used_outputs, res):
            self.static[o] = np.asarray(r)

    def layer(self, n, where) -> None:
        """A node of the graph: its attributes, folded inputs, weights and data inputs."""
        op = n.op_type
        used_outputs = [o for o in n.output if o]
        consumers = [o for o in used_outputs if o == self.out_name or o in self.consumed]
        if len(consumers) > 1:
            raise GraphError(f"{where}: {len(consumers)} of its outputs are used ({consumers}); "
                             f"a graph node has one output (export without multi-output ops such as Split)")
        if op not in OP_INDEX or op in ("Input", "Output"):
            raise GraphError(f"{where}: op {op!r} is not in the vocabulary (nasvec.graph.vocab.OPS)")
        attrs = {}
        for a in n.attribute:
            if a.name not in ATTRS:
                raise GraphError(f"{where}: attribute {a.name!r} is not in the vocabulary (nasvec.graph.vocab.ATTRS)")
            attrs[a.name] = _attr_value(a)
        node_weights, data_inputs = self.inputs(n, attrs, where)
        if op in DERIVED:
            self.derive(op, attrs, node_weights, where)
        idx = len(self.nodes)
        self.nodes.append(Node(op, attrs, name=n.name))
        self.edges.extend((s, idx) for s in data_inputs)
        if used_outputs:
            self.index_of[used_outputs[0]] = idx
        if self.return_weights:
            self.keep_weights(idx, node_weights)

    def inputs(self, n, attrs, where) -> tuple[dict, list]:
        """Sort a node's inputs into weights (slot -> value name), folded attributes and data inputs."""
        op, inputs = n.op_type, list(n.input)
        slots = schema_inputs(op)
        wslots = WEIGHTS.get(op, ())
        node_weights, data_inputs = {}, []
        for pos, x in enumerate(inputs):
            slot = slots[min(pos, len(slots) - 1)] if op in VARIADIC else (slots[pos] if pos < len(slots) else None)
            if slot is None:
                raise GraphError(f"{where}: has {len(inputs)} inputs, op {op} takes at most {len(slots)}")
            if not x:
                continue
            is_static = x in self.static or (x not in self.index_of and x in self.declared)
            if is_static and slot in wslots:
                node_weights[slot] = x
            elif is_static and (op, slot) in FOLDED:
                attrs[FOLDED[(op, slot)]] = self.folded_value(FOLDED[(op, slot)], slot, x, where)
            elif is_static:
                if x not in self.const_node:
                    self.const_node[x] = len(self.nodes)
                    self.nodes.append(Node("Constant", {"value": np.asarray(self.static_array(x, where))}, name=f"{x}"))
                data_inputs.append(self.const_node[x])
            else:
                data_inputs.append(self.index_of[x])
        return node_weights, data_inputs

    def folded_value(self, name, slot, x, where):
        val = self.static_array(x, where)
        kind = ATTRS[name][0]
        if kind == "ints":
            return [int(v) for v in np.asarray(val).reshape(-1)]
        if kind == "float":
            if np.asarray(val).size != 1:
                raise GraphError(f"{where}: constant input {slot!r} must be a scalar, has shape {np.shape(val)}")
            return float(np.asarray(val).reshape(-1)[0])
        return np.asarray(val)

    def derive(self, op, attrs, node_weights, where) -> None:
        """The derived attributes (:data:`~nasvec.graph.vocab.DERIVED`) from the weights' shapes."""
        if op == "MatMul" and "B" not in node_weights:
            return
        if op == "Gemm" and "B" not in node_weights:
            if "C" in node_weights:
                raise GraphError(f"{where}: Gemm with a data B and a constant bias C is not supported")
            return
        wname = node_weights.get("W" if op.startswith("Conv") else "B")
        if wname is None:
            raise GraphError(f"{where}: {op} has no weight input")
        attrs.update(_derived_size(op, attrs, self.static_shape(wname, where), where))
        if op != "MatMul":
            attrs["bias"] = int(("B" if op.startswith("Conv") else "C") in node_weights)

    def keep_weights(self, idx, node_weights) -> None:
        import onnx

        arrays = {}
        for slot, x in node_weights.items():
            v = self.static.get(x)
            if isinstance(v, onnx.TensorProto):
                if _has_data(v):
                    arrays[slot] = _to_array(v)
            elif v is not None:
                arrays[slot] = np.asarray(v)
        if arrays:
            self.weights[idx] = arrays

    def finish(self) -> ArchGraph:
        if self.out_name not in self.index_of:
            raise GraphError(f"{self.src}: the output {self.out_name!r} is not computed from the input (constant or missing)")
        self.nodes.append(Node("Output"))
        self.edges.append((self.index_of[self.out_name], len(self.nodes) - 1))
        in_shape = self.declared.get(self.in_name)
        meta = {"input_shape": in_shape} if in_shape and all(d > 0 for d in in_shape) else {}
        g = ArchGraph(self.nodes, self.edges, name=self.m.graph.name, meta=meta)
        try:
            g.validate()
        except GraphError as e:
            raise GraphError(f"{self.src}: {e}") from None
        return g


def from_onnx(model, return_weights: bool = False):
    """Read an ONNX model (path, bytes or ``onnx.ModelProto``) as an :class:`~nasvec.graph.ArchGraph`.

    Weights are not needed: only the shapes of learned weights are read (they give ``out_channels``,
    ``out_features``, ``bias``), so initializers may be external or missing (their shapes are then
    taken from the graph's inputs / value_info). Constant inputs that ONNX passes as tensors (Slice's
    starts, Reshape's shape, ...) become attributes (:data:`nasvec.graph.vocab.FOLDED`); other constants
    become ``Constant`` nodes; ``Identity`` applied to an initializer is resolved; nodes whose inputs are
    all constant are evaluated (constant folding). With ``return_weights=True`` returns ``(graph, weights)``,
    ``weights[node index][ONNX input name] = ndarray`` (where the data are present).
    Errors name the file, node and problem (:class:`~nasvec.errors.GraphError`).
    """
    m, src = _load(model)
    reader = _Reader(m, src, return_weights)
    for k in _topological_order(m.graph, reader.label):
        reader.read(k)
    g = reader.finish()
    return (g, reader.weights) if return_weights else g
