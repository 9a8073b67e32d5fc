"""Tensor shapes along a graph (chapter 1): what every node outputs for a given input shape.

The graph records layer sizes that cannot be inferred (``out_channels``, ``out_features``); everything
else (input channels of a convolution, features after Flatten, channels of a BatchNorm) follows from
the input shape. :func:`infer_shapes` propagates shapes node by node and, for the small integer tensors
that shape arithmetic uses (``Shape`` -> ``Gather`` -> ``Concat`` -> ``Reshape``), their values.
The builders (:func:`nasvec.io.to_onnx`, :func:`nasvec.io.to_torch`) use it to size
weights, and the repair rules of chapter 3 use it to find inconsistent shapes. An inconsistency
raises :class:`~nasvec.errors.GraphError` naming the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import GraphError
from .vocab import data_slots

ELEMENTWISE = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "HardSigmoid", "HardSwish", "Clip", "Identity",
               "Dropout", "Softmax", "BatchNormalization", "Output"}
BROADCAST = {"Add", "Mul", "Div", "Sub"}


@dataclass
class TensorInfo:
    """The shape of a node's output and, for small integer tensors, its value."""

    shape: tuple
    value: np.ndarray | None = None


def _pool_out(size, k, s, pb, pe, d, ceil):
    eff = (k - 1) * d + 1
    num = size + pb + pe - eff
    out = (math.ceil(num / s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= size + pb:
        # torch drops a last window that starts in the end padding, ONNX's shape inference (opset 17) keeps it: the
        # two would disagree on the size, so no builder can honour the node
        raise ValueError(f"ceil_mode 1 with a last window starting in the end padding (torch gives {out - 1}, "
                         f"ONNX {out}): set ceil_mode 0")
    return out


def _spatial(where, shape, attrs, kind):
    rank = len(shape) - 2
    if rank < 1:
        raise GraphError(f"{where}: input of rank {len(shape)} {tuple(shape)}; {kind} needs [N, C, spatial...]")
    k = list(attrs.get("kernel_shape", []))
    if len(k) != rank:
        raise GraphError(f"{where}: kernel_shape {k} does not match the {rank} spatial dims of input {tuple(shape)}")
    s = list(attrs.get("strides", [1] * rank))
    d = list(attrs.get("dilations", [1] * rank))
    p = list(attrs.get("pads", [0] * (2 * rank)))
    if len(s) != rank or len(d) != rank or len(p) != 2 * rank:
        raise GraphError(f"{where}: strides {s}, dilations {d} or pads {p} do not fit {rank} spatial dims")
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise GraphError(f"{where}: kernel {k}, strides {s}, dilations {d} must be >= 1 and pads {p} >= 0")
    auto = attrs.get("auto_pad", "NOTSET")
    return rank, k, s, d, p, auto


def _conv_like(where, shape, attrs, ceil=False, kind="Conv"):
    rank, k, s, d, p, auto = _spatial(where, shape, attrs, kind)
    out = []
    for a in range(rank):
        size = shape[2 + a]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-size // s[a])
        elif auto == "VALID":
            o = (size - ((k[a] - 1) * d[a] + 1)) // s[a] + 1
        else:
            try:
                o = _pool_out(size, k[a], s[a], p[a], p[a + rank], d[a], ceil)
            except ValueError as e:
                raise GraphError(f"{where}: {e}") from None
        if o < 1:
            raise GraphError(f"{where}: kernel {k} (dilations {d}, pads {p}) is larger than the input {tuple(shape[2:])}")
        out.append(o)
    return out


def _broadcast(where, shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise GraphError(f"{where}: operand shapes {[tuple(s) for s in shapes]} do not broadcast") from None


def _norm_axis(where, axis, rank, what="axis"):
    if not -rank <= axis < rank:
        raise GraphError(f"{where}: {what} {axis} is out of range for rank {rank}")
    return axis % rank


def _constant(op, a, where, ins):
    v = np.asarray(a["value"])
    return TensorInfo(tuple(v.shape), v if v.dtype.kind in "iu" and v.size <= 64 else None)


def _elementwise(op, a, where, ins):
    x = ins[0].shape
    if op == "Softmax":
        _norm_axis(where, a.get("axis", -1), len(x))
    if op == "BatchNormalization" and len(x) < 2:
        raise GraphError(f"{where}: BatchNormalization needs [N, C, ...], got {tuple(x)}")
    return TensorInfo(tuple(x), ins[0].value if op in ("Identity", "Output") else None)


def _binary(op, a, where, ins):
    shapes = [t.shape for t in ins]
    if len(ins) == 1:
        raise GraphError(f"{where}: {op} needs two operands, it reads one node")
    vals = [t.value for t in ins]
    value = None
    if all(v is not None for v in vals):
        f = {"Add": np.add, "Mul": np.multiply, "Sub": np.subtract, "Div": np.floor_divide}[op]
        value = f(vals[0], vals[1])
    return TensorInfo(_broadcast(where, shapes), value)


def _conv(op, a, where, ins):
    x = ins[0].shape
    if len(x) < 3:
        raise GraphError(f"{where}: {op} needs input [N, C, spatial...], got {tuple(x)}")
    group = a.get("group", 1)
    cin, cout = x[1], a.get("out_channels")
    if cout is None:
        raise GraphError(f"{where}: {op} has no out_channels")
    if group < 1 or cin % group or cout % group:
        raise GraphError(f"{where}: group {group} must divide the input channels {cin} and out_channels {cout}")
    if op == "Conv":
        return TensorInfo((x[0], cout, *_conv_like(where, x, a)))
    rank, k, s, d, p, auto = _spatial(where, x, a, op)
    if "output_shape" in a:
        return TensorInfo((x[0], cout, *a["output_shape"]))
    op_ = list(a.get("output_padding", [0] * rank))
    out = [s[j] * (x[2 + j] - 1) + op_[j] + (k[j] - 1) * d[j] + 1 - p[j] - p[j + rank] for j in range(rank)]
    if min(out) < 1:
        raise GraphError(f"{where}: ConvTranspose output {out} is empty")
    return TensorInfo((x[0], cout, *out))


def _pool(op, a, where, ins):
    x = ins[0].shape
    return TensorInfo((x[0], x[1], *_conv_like(where, x, a, ceil=bool(a.get("ceil_mode", 0)), kind=op)))


def _global_pool(op, a, where, ins):
    x = ins[0].shape
    if len(x) < 3:
        raise GraphError(f"{where}: {op} needs [N, C, spatial...], got {tuple(x)}")
    return TensorInfo((x[0], x[1]) + (1,) * (len(x) - 2))


def _flatten(op, a, where, ins):
    x = ins[0].shape
    axis = a.get("axis", 1)
    if not -len(x) <= axis <= len(x):
        raise GraphError(f"{where}: Flatten axis {axis} is out of range for rank {len(x)}")
    axis = axis + len(x) if axis < 0 else axis  # ONNX: a negative axis counts from the end (r + axis)
    return TensorInfo((int(np.prod(x[:axis])), int(np.prod(x[axis:]))))


def _gemm(op, a, where, ins):
    x = ins[0].shape
    if len(x) != 2:
        raise GraphError(f"{where}: Gemm needs a 2-D input [N, features] (Flatten first), got {tuple(x)}")
    rows = x[1] if a.get("transA", 0) else x[0]
    if "out_features" in a:
        return TensorInfo((rows, a["out_features"]))
    b = ins[1].shape
    return TensorInfo((rows, b[0] if a.get("transB", 0) else b[1]))


def _matmul(op, a, where, ins):
    x = ins[0].shape
    if "out_features" in a:
        return TensorInfo((*x[:-1], a["out_features"]))
    b = ins[1].shape
    if x[-1] != b[-2]:
        raise GraphError(f"{where}: MatMul of {tuple(x)} and {tuple(b)}: inner sizes differ")
    return TensorInfo((*_broadcast(where, [x[:-2], b[:-2]]), x[-2], b[-1]))


def _concat(op, a, where, ins):
    x = ins[0].shape
    rank = len(x)
    axis = _norm_axis(where, a.get("axis", 0), rank)
    for t in ins:
        if len(t.shape) != rank or any(t.shape[j] != x[j] for j in range(rank) if j != axis):
            raise GraphError(f"{where}: Concat on axis {axis} of shapes {[tuple(t.shape) for t in ins]}: other dims differ")
    shape = list(x)
    shape[axis] = sum(t.shape[axis] for t in ins)
    value = np.concatenate([t.value for t in ins]) if all(t.value is not None for t in ins) and rank == 1 else None
    return TensorInfo(tuple(shape), value)


def _reshape(op, a, where, ins):
    x = ins[0].shape
    target = a.get("shape")
    if target is None:
        if len(ins) < 2 or ins[1].value is None:
            raise GraphError(f"{where}: Reshape's target shape is not known (no 'shape' attribute and no constant input)")
        target = [int(v) for v in ins[1].value]
    target = list(target)
    if not a.get("allowzero", 0):
        target = [x[j] if v == 0 and j < len(x) else v for j, v in enumerate(target)]
    total = int(np.prod(x))
    if target.count(-1) > 1:
        raise GraphError(f"{where}: Reshape shape {target} has more than one -1")
    if -1 in target:
        known = int(np.prod([v for v in target if v != -1]))
        if known == 0 or total % known:
            raise GraphError(f"{where}: cannot reshape {tuple(x)} to {target}")
        target[target.index(-1)] = total // known
    if int(np.prod(target)) != total or min(target) < 0:
        raise GraphError(f"{where}: cannot reshape {tuple(x)} ({total} values) to {target}")
    return TensorInfo(tuple(target), ins[0].value.reshape(target) if ins[0].value is not None else None)


def _transpose(op, a, where, ins):
    x = ins[0].shape
    perm = list(a.get("perm", range(len(x) - 1, -1, -1)))
    if sorted(perm) != list(range(len(x))):
        raise GraphError(f"{where}: perm {perm} is not a permutation of the {len(x)} axes")
    return TensorInfo(tuple(x[p] for p in perm))


def _pad(op, a, where, ins):
    x = ins[0].shape
    pads = list(a.get("pads", []))
    if len(pads) != 2 * len(x):
        raise GraphError(f"{where}: Pad needs 2 x rank = {2 * len(x)} pads, got {pads}")
    out = tuple(x[j] + pads[j] + pads[j + len(x)] for j in range(len(x)))
    if min(out) < 1:
        raise GraphError(f"{where}: pads {pads} leave an empty tensor")
    return TensorInfo(out)


def _slice_params(where, a, ins) -> dict:
    named = dict(zip(data_slots("Slice", a), ins))
    p = {}
    for key in ("starts", "ends", "axes", "steps"):
        if key in a:
            p[key] = list(a[key])
        elif key in named:
            if named[key].value is None:
                raise GraphError(f"{where}: Slice {key} are not known constants")
            p[key] = [int(t) for t in np.asarray(named[key].value).reshape(-1)]
    return p


def _slice(op, a, where, ins):
    x = ins[0].shape
    p = _slice_params(where, a, ins)
    starts, ends = p.get("starts"), p.get("ends")
    if starts is None or ends is None:
        raise GraphError(f"{where}: Slice without starts/ends")
    axes = list(p.get("axes", range(len(starts))))
    steps = list(p.get("steps", [1] * len(starts)))
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise GraphError(f"{where}: Slice starts {starts}, ends {ends}, axes {axes}, steps {steps} differ in length")
    shape = list(x)
    slices = [slice(None)] * len(x)
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax = _norm_axis(where, ax, len(x), "Slice axis")
        if sp == 0:
            raise GraphError(f"{where}: Slice step 0")
        sl = slice(st, en, sp)
        shape[ax] = len(range(*sl.indices(x[ax])))
        slices[ax] = sl
    if min(shape) < 1:
        raise GraphError(f"{where}: Slice {starts}:{ends} of {tuple(x)} is empty")
    value = ins[0].value[tuple(slices)] if ins[0].value is not None else None
    return TensorInfo(tuple(shape), value)


def _reduce_mean(op, a, where, ins):
    x = ins[0].shape
    axes = [_norm_axis(where, ax, len(x), "axes") for ax in a.get("axes", range(len(x)))]
    keep = a.get("keepdims", 1)
    return TensorInfo(tuple((1 if j in axes else x[j]) for j in range(len(x)) if keep or j not in axes))


def _shape(op, a, where, ins):
    x = ins[0].shape
    start, end = a.get("start", 0), a.get("end", len(x))
    v = np.array(x[slice(start, end)], dtype=np.int64)
    return TensorInfo(v.shape, v)


def _gather(op, a, where, ins):
    x = ins[0].shape
    idx = np.asarray(a["indices"]) if "indices" in a else ins[1].value
    if idx is None:
        raise GraphError(f"{where}: Gather with non-constant indices is not supported")
    axis = _norm_axis(where, a.get("axis", 0), len(x))
    shape = tuple(x[:axis]) + tuple(idx.shape) + tuple(x[axis + 1:])
    value = np.take(ins[0].value, idx, axis=axis) if ins[0].value is not None else None
    return TensorInfo(shape, value)


def _squeeze(op, a, where, ins):
    x = ins[0].shape
    axes = a.get("axes")
    if axes is None and op == "Unsqueeze":
        raise GraphError(f"{where}: Unsqueeze needs constant axes")
    if op == "Unsqueeze":
        rank = len(x) + len(axes)
        axes = sorted(_norm_axis(where, ax, rank, "axes") for ax in axes)
        shape = list(x)
        for ax in axes:
            shape.insert(ax, 1)
    else:
        axes = [_norm_axis(where, ax, len(x), "axes") for ax in (axes if axes is not None else
                                                                 [j for j, s in enumerate(x) if s == 1])]
        if any(x[ax] != 1 for ax in axes):
            raise GraphError(f"{where}: Squeeze axes {axes} of {tuple(x)} are not of size 1")
        shape = [s for j, s in enumerate(x) if j not in axes]
    value = ins[0].value.reshape(shape) if ins[0].value is not None else None
    return TensorInfo(tuple(shape), value)


#: op -> shape rule ``(op, attrs, where, input infos) -> TensorInfo``
SHAPE_RULES = {
    "Constant": _constant, **{op: _elementwise for op in ELEMENTWISE}, **{op: _binary for op in BROADCAST},
    "Conv": _conv, "ConvTranspose": _conv, "MaxPool": _pool, "AveragePool": _pool,
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool, "Flatten": _flatten, "Gemm": _gemm,
    "MatMul": _matmul, "Concat": _concat, "Reshape": _reshape, "Transpose": _transpose, "Pad": _pad,
    "Slice": _slice, "ReduceMean": _reduce_mean, "Shape": _shape, "Gather": _gather,
    "Unsqueeze": _squeeze, "Squeeze": _squeeze,
}


def infer_node(g, i: int, infos: list[TensorInfo], preds: list[int] | None = None) -> TensorInfo:
    """Output shape (and small value) of node ``i`` given its inputs' infos (``preds``: its inputs, if known)."""
    node = g.nodes[i]
    rule = SHAPE_RULES.get(node.op)
    if rule is None:
        raise GraphError(f"{g.label(i)}: no shape rule for op {node.op}")
    ins = [infos[j] for j in (g.predecessors(i) if preds is None else preds)]
    return rule(node.op, node.attrs, g.label(i), ins)


def infer_shapes(g, input_shape) -> list[TensorInfo]:
    """Output :class:`TensorInfo` of every node for an input of ``input_shape`` (a tuple of ints)."""
    shape = tuple(int(s) for s in input_shape)
    if not shape or min(shape) < 1:
        raise GraphError(f"input_shape {tuple(input_shape)} must be positive sizes")
    infos: list[TensorInfo] = []
    inputs = g.inputs()
    for i, node in enumerate(g.nodes):
        if node.op == "Input":
            infos.append(TensorInfo(shape))
            continue
        try:
            infos.append(infer_node(g, i, infos, inputs[i]))
        except GraphError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise GraphError(f"{g.label(i)}: cannot infer its output shape ({type(e).__name__}: {e})") from None
    return infos


def default_input_shape(g, input_shape=None) -> tuple:
    """``input_shape`` as a tuple of ints (N, C, spatial...), or the one ``g.meta`` records; a :class:`GraphError`
    saying what is wrong otherwise."""
    if input_shape is None:
        if not g.meta.get("input_shape"):
            raise GraphError("input_shape is needed: the graph does not record one (pass input_shape=(N, C, H, W))")
        input_shape = g.meta["input_shape"]
    try:
        if isinstance(input_shape, (str, bytes)):
            raise TypeError
        shape = tuple(int(s) for s in input_shape)
        exact = all(float(s) == int(s) for s in input_shape)
    except (TypeError, ValueError, OverflowError):
        raise GraphError(f"input_shape must be a tuple of ints (N, C, H, W), got {input_shape!r}") from None
    if not exact or not 3 <= len(shape) <= 5 or min(shape) < 1:
        raise GraphError(f"input_shape must be (N, C, spatial...) with 1-3 spatial dims of positive sizes, got "
                         f"{input_shape!r}")
    return shape
