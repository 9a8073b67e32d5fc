"""The vocabulary of the graph representation: ops, attributes and how each attribute is encoded.

Chapter 1 ("A network as a graph") introduces it. This is the one place the encoding is written down.

**Ops.** ``Input`` and ``Output`` mark the network's one source and one sink; the paper's 20 ops
(Linear is ONNX's ``Gemm``/``MatMul``, BatchNorm is ``BatchNormalization``); what ``torch.onnx.export``
emits for the common CNN families (:data:`EXPORTER_OPS`). An op outside :data:`OPS` is an error.

**Attributes.** Every attribute has a *kind* and a fixed number of columns in the attribute matrix
(:data:`ATTRS`):

* ``int`` / ``float`` — one column holding the value;
* ``ints`` / ``floats`` — a length column, then ``width`` value columns (unused columns ``NaN``);
* ``string`` — one column holding the index of the string in :data:`STRINGS`;
* ``tensor`` — one column holding an index into the representation's tensor table
  (``Constant``'s ``value``, ``Gather``'s constant ``indices``).

A missing attribute is ``NaN`` in all its columns (so "absent" and "empty list", length 0, differ).
Integers are stored exactly in float64 (|value| < 2**53); ONNX's "to the end" sentinels
``2**63 - 1`` and ``-2**63`` (Slice ends) encode as ``±inf``.

Attributes come from three places: the ONNX node's own attributes; *folded* constant inputs
(:data:`FOLDED`, e.g. Slice's ``starts``/``ends``, Reshape's ``shape``, Clip's ``min``/``max``, which
opset 17 passes as inputs — the paper lists them as attributes); and *derived* sizes of learned
weights (:data:`WEIGHTS`): ``out_channels`` of Conv/ConvTranspose, ``out_features`` of Gemm/MatMul and
``bias`` (1 if the layer has a bias). The weights themselves are not part of the graph.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import GraphError

PAPER_OPS = (
    "Conv", "LeakyRelu", "MaxPool", "Flatten", "Gemm", "Sigmoid", "BatchNormalization", "Relu", "Add",
    "GlobalAveragePool", "AveragePool", "Concat", "Pad", "ReduceMean", "Tanh", "ConvTranspose", "Slice",
    "Elu", "Reshape", "Mul",
)
EXPORTER_OPS = (
    "Identity", "Constant", "Clip", "Shape", "Gather", "Unsqueeze", "Transpose", "Div", "Dropout",
    "HardSigmoid", "HardSwish", "Softmax", "MatMul", "Sub", "Squeeze", "GlobalMaxPool",
)
OPS = ("Input", "Output") + PAPER_OPS + EXPORTER_OPS
OP_INDEX = {op: k for k, op in enumerate(OPS)}

PAPER_ATTRS = (
    "alpha", "axes", "axis", "dilations", "ends", "epsilon", "group", "keepdims", "kernel_shape", "mode",
    "momentum", "op", "output_shape", "pads", "starts", "steps", "strides", "value", "perm",
)

#: attribute -> (kind, width). Width is the number of value columns of a list attribute.
ATTRS = {
    # the paper's 19
    "alpha": ("float", 1), "axes": ("ints", 8), "axis": ("int", 1), "dilations": ("ints", 3),
    "ends": ("ints", 8), "epsilon": ("float", 1), "group": ("int", 1), "keepdims": ("int", 1),
    "kernel_shape": ("ints", 3), "mode": ("string", 1), "momentum": ("float", 1), "op": ("string", 1),
    "output_shape": ("ints", 3), "pads": ("ints", 8), "starts": ("ints", 8), "steps": ("ints", 8),
    "strides": ("ints", 3), "value": ("tensor", 1), "perm": ("ints", 6),
    # ONNX attributes of the exporter's ops
    "auto_pad": ("string", 1), "beta": ("float", 1), "ceil_mode": ("int", 1), "count_include_pad": ("int", 1),
    "storage_order": ("int", 1), "output_padding": ("ints", 3), "transA": ("int", 1), "transB": ("int", 1),
    "allowzero": ("int", 1), "training_mode": ("int", 1), "seed": ("int", 1), "start": ("int", 1), "end": ("int", 1),
    # folded constant inputs
    "shape": ("ints", 8), "min": ("float", 1), "max": ("float", 1), "constant_value": ("float", 1),
    "ratio": ("float", 1), "indices": ("tensor", 1),
    # derived from the shapes of learned weights
    "out_channels": ("int", 1), "out_features": ("int", 1), "bias": ("int", 1),
}

STRINGS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "constant", "reflect", "edge", "wrap")

#: (op, ONNX input name) -> attribute name: constant inputs stored as attributes.
FOLDED = {
    ("Slice", "starts"): "starts", ("Slice", "ends"): "ends", ("Slice", "axes"): "axes",
    ("Slice", "steps"): "steps", ("Pad", "pads"): "pads", ("Pad", "constant_value"): "constant_value",
    ("Clip", "min"): "min", ("Clip", "max"): "max", ("Reshape", "shape"): "shape",
    ("Unsqueeze", "axes"): "axes", ("Squeeze", "axes"): "axes", ("Dropout", "ratio"): "ratio",
    ("Gather", "indices"): "indices",
}

#: op -> ONNX input slots that hold learned weights (their shapes give the derived attributes).
WEIGHTS = {
    "Conv": ("W", "B"), "ConvTranspose": ("W", "B"), "Gemm": ("B", "C"),
    "BatchNormalization": ("scale", "B", "input_mean", "input_var"), "MatMul": ("B",),
}
DERIVED = {"Conv": ("out_channels", "bias"), "ConvTranspose": ("out_channels", "bias"),
           "Gemm": ("out_features", "bias"), "MatMul": ("out_features",)}

#: ops whose inputs are all data (any number of incoming edges, in order)
VARIADIC = {"Concat"}

#: the ONNX opset the book reads and writes
OPSET = 17

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_EXACT = 2**53


def _onnx_attrs(op: str) -> frozenset:
    if op in ("Input", "Output"):
        return frozenset()
    import onnx.defs

    names = set(onnx.defs.get_schema(op, OPSET, "").attributes)
    if op == "Constant":
        names = {"value"}
    return frozenset(names)


_ALLOWED: dict[str, frozenset] = {}


def allowed_attrs(op: str) -> frozenset:
    """Attribute names a node of ``op`` may carry (ONNX's own, folded inputs and derived sizes)."""
    if op not in _ALLOWED:
        if op not in OP_INDEX:
            raise KeyError(op)
        names = set(_onnx_attrs(op)) | {a for (o, _), a in FOLDED.items() if o == op} | set(DERIVED.get(op, ()))
        _ALLOWED[op] = frozenset(n for n in names if n in ATTRS)
    return _ALLOWED[op]


def columns() -> list[tuple[str, int]]:
    """The attribute matrix's columns: ``(attribute, k)``, ``k = -1`` for a list's length column."""
    cols = []
    for name, (kind, width) in ATTRS.items():
        if kind in ("ints", "floats"):
            cols.append((name, -1))
            cols.extend((name, k) for k in range(width))
        else:
            cols.append((name, 0))
    return cols


COLUMNS = columns()
#: attribute -> first column index
COLUMN_OF = {}
for _j, (_name, _k) in enumerate(COLUMNS):
    COLUMN_OF.setdefault(_name, _j)
N_COLUMNS = len(COLUMNS)


def column_name(j: int) -> str:
    """A readable name for attribute-matrix column ``j``: ``axis``, ``pads#len``, ``pads[2]``."""
    name, k = COLUMNS[j]
    if ATTRS[name][0] in ("ints", "floats"):
        return f"{name}#len" if k < 0 else f"{name}[{k}]"
    return name


def encode_int(x) -> float:
    x = int(x)
    if x == INT64_MAX:
        return math.inf
    if x == INT64_MIN:
        return -math.inf
    if abs(x) >= _EXACT:
        raise GraphError(f"integer {x} cannot be stored exactly (|x| >= 2**53)")
    return float(x)


def decode_int(x: float) -> int:
    if x == math.inf:
        return INT64_MAX
    if x == -math.inf:
        return INT64_MIN
    return int(x)


_KIND_CHECK = {
    "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "tensor": lambda v: isinstance(v, np.ndarray),
}


def _exact_int(x) -> bool:
    return abs(int(x)) < _EXACT or int(x) in (INT64_MAX, INT64_MIN)


def _fast_ok(kind: str, value) -> bool:
    """The common legal cases, checked cheaply (the full check gives the error message)."""
    t = type(value)
    if kind == "int":
        return t is int and -_EXACT < value < _EXACT
    if kind == "ints":
        return (t is list or t is tuple) and all(type(x) is int and -_EXACT < x < _EXACT for x in value)
    if kind == "float":
        return t is float and math.isfinite(value)
    return False


def check_attr(where: str, op: str, name: str, value) -> None:
    """Raise :class:`GraphError` unless ``value`` is a legal value of attribute ``name`` of ``op``."""
    spec = ATTRS.get(name)
    allowed = _ALLOWED.get(op) or allowed_attrs(op)
    if spec is not None and name in allowed and _fast_ok(spec[0], value) and \
            (spec[0] != "ints" or len(value) <= spec[1]):
        return
    if name not in ATTRS:
        raise GraphError(f"{where}: attribute {name!r} is not in the vocabulary (nasvec.graph.vocab.ATTRS)")
    if name not in allowed_attrs(op):
        raise GraphError(f"{where}: op {op} has no attribute {name!r} (allowed: {sorted(allowed_attrs(op))})")
    kind, width = ATTRS[name]
    if kind in ("ints", "floats"):
        if not isinstance(value, (list, tuple)):
            raise GraphError(f"{where}: attribute {name!r} must be a list of {kind[:-1]}s, got {value!r}")
        if len(value) > width:
            raise GraphError(f"{where}: attribute {name!r} has {len(value)} values, more than the {width} the encoding holds")
        ok = _KIND_CHECK[kind[:-1]]
        if not all(ok(x) for x in value):
            raise GraphError(f"{where}: attribute {name!r} must hold {kind[:-1]}s, got {value!r}")
        if kind == "ints" and not all(_exact_int(x) for x in value):
            raise GraphError(f"{where}: attribute {name!r} holds an integer too large to encode exactly: {value!r}")
        if kind == "floats" and not all(math.isfinite(float(x)) for x in value):
            raise GraphError(f"{where}: attribute {name!r} holds a value that is not finite: {value!r}")
    elif not _KIND_CHECK[kind](value):
        raise GraphError(f"{where}: attribute {name!r} must be a {kind}, got {value!r}")
    elif kind == "string" and value not in STRINGS:
        raise GraphError(f"{where}: attribute {name!r} has value {value!r}, not one of {list(STRINGS)}")
    elif kind == "int" and not _exact_int(value):
        raise GraphError(f"{where}: attribute {name!r} = {value} is too large to encode exactly (|x| >= 2**53)")
    elif kind == "float" and not math.isfinite(float(value)):
        raise GraphError(f"{where}: attribute {name!r} is not finite ({value!r})")


#: attributes a node of the op must have (the builders cannot size it otherwise)
REQUIRED = {"Conv": ("kernel_shape", "out_channels"), "ConvTranspose": ("kernel_shape", "out_channels"),
            "MaxPool": ("kernel_shape",), "AveragePool": ("kernel_shape",)}
#: attribute -> smallest legal value of each entry
AT_LEAST = {"kernel_shape": 1, "strides": 1, "dilations": 1, "pads": 0, "group": 1, "out_channels": 1,
             "out_features": 1}


def _check_values(where: str, op: str, attrs: dict) -> None:
    """Required attributes present, sizes in range (the caps of :mod:`nasvec.graph.limits` for layer widths)."""
    from .limits import MAX_CHANNELS

    for name in REQUIRED.get(op, ()):
        if name not in attrs:
            raise GraphError(f"{where}: op {op} needs attribute {name!r}")
    for name, low in AT_LEAST.items():
        if name in attrs and (name != "pads" or op in REQUIRED):   # Pad's pads may be negative (a crop)
            values = attrs[name] if isinstance(attrs[name], (list, tuple)) else [attrs[name]]
            if any(v < low for v in values):
                raise GraphError(f"{where}: attribute {name!r} = {attrs[name]} must be >= {low}")
    for name in ("out_channels", "out_features"):
        if attrs.get(name, 1) > MAX_CHANNELS:
            raise GraphError(f"{where}: {name} {attrs[name]:,} is more than MAX_CHANNELS = {MAX_CHANNELS:,} "
                             f"(nasvec.graph.limits)")


def validate(g) -> None:
    """See :meth:`nasvec.graph.ArchGraph.validate` (duck-typed: ``nodes``, ``inputs()``, ``outputs()``, ``label()``)."""
    if not g.nodes:
        raise GraphError("the graph has no nodes")
    for i, node in enumerate(g.nodes):
        if node.op not in OP_INDEX:
            raise GraphError(f"{g.label(i)}: op {node.op!r} is not in the vocabulary (nasvec.graph.vocab.OPS)")
        if node.attrs:
            where = g.label(i)
            for name, value in node.attrs.items():
                check_attr(where, node.op, name, value)
            _check_values(where, node.op, node.attrs)
        elif node.op in REQUIRED:
            _check_values(g.label(i), node.op, node.attrs)
    ins, outs = g.inputs(), g.outputs()
    inputs = [i for i, n in enumerate(g.nodes) if n.op == "Input"]
    outputs = [i for i, n in enumerate(g.nodes) if n.op == "Output"]
    if len(inputs) != 1:
        raise GraphError(f"the graph must have exactly one Input node (the source), it has {len(inputs)}")
    if len(outputs) != 1:
        raise GraphError(f"the graph must have exactly one Output node (the sink), it has {len(outputs)}")
    for i, node in enumerate(g.nodes):
        if node.op in ("Input", "Constant"):
            if ins[i]:
                raise GraphError(f"{g.label(i)} must not have inputs, it reads node(s) {ins[i]}")
        elif not ins[i]:
            raise GraphError(f"{g.label(i)} has no inputs: a second source besides the Input node")
        if node.op == "Output":
            if len(ins[i]) != 1:
                raise GraphError(f"{g.label(i)} must read exactly one node, it reads {ins[i]}")
            if outs[i]:
                raise GraphError(f"{g.label(i)} must be the sink, but feeds node(s) {outs[i]}")
        elif not outs[i]:
            raise GraphError(f"{g.label(i)} is not connected to the Output: a dangling node (second sink)")
        if node.op not in VARIADIC and node.op not in ("Input", "Constant", "Output"):
            limit = _max_data_inputs(node.op, node.attrs)
            if len(ins[i]) > limit:
                raise GraphError(f"{g.label(i)} reads {len(ins[i])} nodes, but op {node.op} takes at most {limit} data inputs")


_SCHEMA_INPUTS: dict[str, tuple] = {}


def schema_inputs(op: str) -> tuple:
    """ONNX input names of ``op`` at :data:`OPSET` (variadic ops: one name)."""
    if op not in _SCHEMA_INPUTS:
        import onnx.defs

        _SCHEMA_INPUTS[op] = tuple(i.name for i in onnx.defs.get_schema(op, OPSET, "").inputs)
    return _SCHEMA_INPUTS[op]


def data_slots(op: str, attrs: dict) -> list[str]:
    """The ONNX input slots of a node that are fed by edges (not weights, not folded attributes)."""
    weights = WEIGHTS.get(op, ())
    out = []
    for name in schema_inputs(op):
        if name in weights and not (op == "MatMul" and "out_features" not in attrs) \
                and not (op == "Gemm" and name == "B" and "out_features" not in attrs):
            continue
        if (op, name) in FOLDED and FOLDED[(op, name)] in attrs:
            continue
        out.append(name)
    return out


def _max_data_inputs(op: str, attrs: dict) -> int:
    return len(data_slots(op, attrs))
