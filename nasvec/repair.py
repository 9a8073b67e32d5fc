"""Repair rules (chapter 3): whatever a decoder emits becomes a network that runs and trains.

``repair(v)`` takes a vector representation in the form :func:`nasvec.vectors.encode` returns (a
:class:`~nasvec.vectors.VectorRep` or a dict with ``ops``, ``edge_index`` or ``adjacency``, ``attrs``)
whose arrays may hold anything: op *scores* ``[N, len(OPS)]`` instead of ids, ids that are
non-integer, negative, out of range, NaN or inf; garbage in any attribute column; edges outside the
graph, backwards or to themselves, or a dense ``[N, N]`` adjacency score matrix. It returns an
:class:`~nasvec.graph.ArchGraph` that passes ``validate()``, builds with ``to_onnx(g, input_shape)``
(full ``onnx.checker``) and runs in onnxruntime and as ``to_torch(g)`` (forward and backward) for
``input_shape``. ``g.meta["repairs"]`` counts how often each rule fired ({} for a graph that was
already valid); ``repair(v, report=True)`` returns ``(g, counts)``.

**Valid input is returned unchanged.** If the arrays decode exactly (:func:`nasvec.vectors.decode`)
to a graph that validates, whose shapes infer for ``input_shape`` and that ``to_torch`` supports,
that graph is the result: ``repair(encode(g)) == g``. Otherwise the rules below run, in this order,
each small and named (the keys of :data:`RULES`). They are deterministic (no randomness, stable
orders) and linear in the number of nodes and edges.

A repaired CNN keeps the batch axis: no op of the result mixes or moves axis 0 (Flatten axis 1,
Concat/Softmax/Slice/ReduceMean/Pad leave it alone, Gemm never transposes its input), so the network
trains with any batch size. Layer sizes are capped (:data:`MAX_CHANNELS`, :data:`MAX_LAYER_PARAMS`,
:data:`MAX_ELEMENTS`) so that garbage cannot ask for terabytes.
"""

from __future__ import annotations

import math
import sys
import types
from collections import Counter

import numpy as np

from .graph import ArchGraph, GraphError, Node
from .shapes import TensorInfo, infer_node
from .vocab import ATTRS, COLUMN_OF, N_COLUMNS, OP_INDEX, OPS, STRINGS, allowed_attrs, decode_int

#: rule name -> what it fixes (the chapter's rule table is built from this)
RULES = {
    "op_ids": "op scores -> argmax; an id that is non-integer is rounded; out of range, NaN or inf -> Identity",
    "edges": "edges naming a node outside 0..N-1, non-finite, self-loops and duplicates are dropped",
    "acyclic": "the node order is the topological order: an edge pointing backwards is reversed",
    "shape_ops": "shape arithmetic (Shape, Gather, Unsqueeze, Squeeze, Reshape, Transpose) -> Identity; Constant dropped",
    "one_source": "exactly one Input, first: extra Inputs -> Identity, a missing one is added, edges into it dropped",
    "one_sink": "exactly one Output, last: extra Outputs -> Identity, a missing one is added, edges out of it dropped",
    "orphans": "a node with no inputs reads the node just before it",
    "dangling": "a node nobody reads feeds the next node that has a free input slot",
    "arity": "extra inputs beyond an op's arity are dropped; a binary op with one operand -> Identity",
    "prune": "nodes not on a path from the Input to the Output are dropped",
    "no_layers": "an Output reading the Input directly gets an Identity in between",
    "attributes": "attribute values made legal for the op and the input shape (kernel, stride, pads, group, "
                  "channels, axes, ...); missing required ones filled with defaults",
    "rank": "Flatten inserted before Gemm; [N, C] -> [N, C, 1, 1] Reshape before a conv or pool; "
            "global pool of a 2-D tensor -> Identity",
    "operands": "Add/Mul/Sub/Div/Concat operands made compatible: pooling or zero-padding for spatial sizes, "
                "a 1x1 Conv (or Linear) for channels; an operand of another rank is dropped",
    "size_cap": "a node whose output would exceed MAX_ELEMENTS values per example -> Identity",
    "fallback": "a node still inconsistent after the rules above -> Identity",
    "classifier": "with num_classes: GlobalAveragePool / Flatten / Gemm head appended when the output is not [N, num_classes]",
}

MAX_CHANNELS = 4096          #: cap on out_channels / out_features
MAX_LAYER_PARAMS = 2 ** 24   #: cap on the weights of one layer (AlexNet's 4096 x 4096 Linear fits)
MAX_ELEMENTS = 2 ** 22       #: cap on the values per example of any tensor
MAX_KERNEL = 11
MAX_STRIDE = 8
MAX_DILATION = 4

SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Reshape", "Transpose"}
BINARY = {"Add", "Mul", "Sub", "Div"}
SPATIAL_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}

_N_OPS = len(OPS)
_IDENTITY = OP_INDEX["Identity"]
_STRING_INDEX = {s: k for k, s in enumerate(STRINGS)}


# --------------------------------------------------------------------------- input coercion
def _array(x, what):
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().double().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"repair: v.{what} must be a numeric array, got {type(x).__name__}") from None


def _fields(v):
    if isinstance(v, dict):
        get = v.get
    elif hasattr(v, "ops"):
        def get(k, default=None):
            return getattr(v, k, default)
    else:
        raise TypeError(f"repair: v must be a VectorRep or a dict with 'ops', 'edge_index' or 'adjacency' and "
                        f"'attrs', got {type(v).__name__}")
    if get("ops") is None:
        raise TypeError("repair: v has no 'ops'")
    ops = get("ops")
    adjacency = get("adjacency") if isinstance(v, dict) else None
    edge_index = get("edge_index")
    attrs = get("attrs")
    return ops, edge_index, adjacency, attrs, list(get("tensors", None) or []), list(get("names", None) or [])


def _strict(v, ops, edge_index, attrs, tensors, names):
    """The exact decode of ``v`` when its arrays are well formed, else None."""
    from .vectors import VectorRep, decode

    try:
        o = _array(ops, "ops")
        a = _array(attrs, "attrs")
        e = _array(edge_index, "edge_index")
        if o.ndim != 1 or a.shape != (len(o), N_COLUMNS) or e.ndim != 2 or e.shape[0] != 2:
            return None
        if not (np.isfinite(o).all() and (o == np.round(o)).all() and np.isfinite(e).all() and (e == np.round(e)).all()):
            return None
        if (o.size and np.abs(o).max() >= len(OPS)) or (e.size and np.abs(e).max() >= 2 ** 62):
            return None
        return decode(VectorRep(o.astype(np.int64), e.astype(np.int64), a, tensors, names))
    except Exception:  # noqa: BLE001 - anything malformed goes through the rules
        return None


def problem(g: ArchGraph, input_shape) -> str | None:
    """Why ``g`` would not run as a trainable network for ``input_shape`` (None when it would).

    Checks ``validate()``, shape inference, and what ``to_torch``/onnxruntime need beyond them
    (explicit pads, symmetric ConvTranspose pads, 1-3 spatial dims, a floating output, no Output
    reading the Input directly).
    """
    from .shapes import infer_shapes

    try:
        g.validate()
        infos = infer_shapes(g, input_shape)
    except GraphError as e:
        return str(e)
    ins = g.inputs()
    for i, node in enumerate(g.nodes):
        op, a = node.op, node.attrs
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            return f"{g.label(i)}: auto_pad {a['auto_pad']} (to_torch needs explicit pads)"
        if op in ("Conv", "ConvTranspose", "MaxPool", "AveragePool"):
            r = len(a.get("kernel_shape", ()))
            if not 1 <= r <= 3:
                return f"{g.label(i)}: {r} spatial dims"
            if op == "ConvTranspose" and "pads" in a and a["pads"][:r] != a["pads"][r:]:
                return f"{g.label(i)}: asymmetric ConvTranspose pads"
        if op == "BatchNormalization" and not 2 <= len(infos[ins[i][0]].shape) <= 5:
            return f"{g.label(i)}: BatchNormalization of rank {len(infos[ins[i][0]].shape)}"
        if op == "BatchNormalization" and a.get("training_mode", 0):
            return f"{g.label(i)}: training_mode=1"
        if op == "Output":
            src = ins[i][0]
            if g.nodes[src].op == "Input":
                return "the Output reads the Input directly"
            if infos[src].value is not None:
                return "the output is an integer (shape arithmetic) tensor"
    return None


# --------------------------------------------------------------------------- attribute parsing
def _read_attrs(row, op):
    """Attributes of ``op`` readable from one attribute-matrix row; unreadable cells are missing."""
    out = {}
    for name in allowed_attrs(op):
        kind, width = ATTRS[name]
        c = COLUMN_OF[name]
        x = row[c]
        if math.isnan(x):
            continue
        if kind == "int":
            if math.isinf(x):
                continue
            out[name] = int(round(max(min(x, 2 ** 52), -2 ** 52)))
        elif kind == "float":
            if math.isfinite(x):
                out[name] = float(x)
        elif kind == "string":
            k = round(x) if math.isfinite(x) else -1
            if 0 <= k < len(STRINGS):
                out[name] = STRINGS[k]
        elif kind in ("ints", "floats"):
            if not math.isfinite(x):
                continue
            n = int(round(x))
            if not 0 <= n <= width:
                continue
            vals = row[c + 1:c + 1 + n]
            if any(math.isnan(t) for t in vals):
                continue
            if kind == "ints":
                out[name] = [decode_int(t) if math.isinf(t) else int(round(max(min(t, 2 ** 52), -2 ** 52))) for t in vals]
            else:
                if all(math.isfinite(t) for t in vals):
                    out[name] = [float(t) for t in vals]
        # tensors (Constant values, Gather indices) are never kept by the rules
    return out


# --------------------------------------------------------------------------- helpers
def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _ints(a, name, n, lo, hi, default):
    v = a.get(name)
    if not isinstance(v, list) or len(v) != n:
        v = list(default)
    return [int(_clip(int(t) if abs(t) < 2 ** 62 else (hi if t > 0 else lo), lo, hi)) for t in v]


def _flag(a, out, name, allowed=(0, 1), default=None):
    if name in a:
        out[name] = a[name] if a[name] in allowed else (allowed[0] if default is None else default)


def _float(a, out, name, lo, hi):
    if name in a:
        out[name] = float(_clip(a[name], lo, hi))


class _Ctx:
    """The graph being emitted: ops, attrs, inputs, shapes, names (a minimal ArchGraph for infer_node)."""

    def __init__(self, input_shape):
        self.nodes, self.ins, self.infos, self.names = [], [], [], []
        self.spatial = max(1, len(input_shape) - 2)
        self.count = Counter()

    # what infer_node needs
    def predecessors(self, i):
        return self.ins[i]

    def label(self, i):
        return f"node {i} ({self.nodes[i].op})"

    def emit(self, op, attrs, ins, name=""):
        self.nodes.append(Node(op, attrs, name=name))
        self.ins.append(list(ins))
        k = len(self.nodes) - 1
        try:
            self.infos.append(infer_node(self, k, self.infos))
        except (GraphError, KeyError, IndexError, TypeError, ValueError) as e:
            self.nodes.pop(), self.ins.pop()
            raise GraphError(str(e)) from None
        return k


# --------------------------------------------------------------------------- per-op attribute rules
def _spatial_fix(op, a, x, count_pads=True):
    """Kernel, strides, dilations, pads for a conv or pool over input shape ``x`` (rank r + 2)."""
    r = len(x) - 2
    size = list(x[2:])
    out = {}
    k = _ints(a, "kernel_shape", r, 1, MAX_KERNEL, [min(3, s) for s in size])
    s = _ints(a, "strides", r, 1, MAX_STRIDE, [1] * r)
    d = _ints(a, "dilations", r, 1, MAX_DILATION, [1] * r) if "dilations" in allowed_attrs(op) else [1] * r
    p = _ints(a, "pads", 2 * r, 0, MAX_KERNEL, [0] * (2 * r))
    for j in range(r):
        if op in ("MaxPool", "AveragePool"):
            if (k[j] - 1) * d[j] + 1 > size[j]:
                d[j] = 1
            k[j] = min(k[j], size[j])
            hi = (k[j] - 1) // 2
            p[j], p[j + r] = min(p[j], hi), min(p[j + r], hi)
        elif op == "Conv":
            hi = (k[j] - 1) * d[j]
            p[j], p[j + r] = min(p[j], hi), min(p[j + r], hi)
            room = size[j] + p[j] + p[j + r]
            if (k[j] - 1) * d[j] + 1 > room:
                d[j] = 1
            k[j] = min(k[j], room)
        else:  # ConvTranspose: symmetric pads, at most half the effective kernel -> output >= 1
            p[j] = p[j + r] = min(p[j], ((k[j] - 1) * d[j]) // 2)
    out["kernel_shape"] = k
    for name, val, default in (("strides", s, 1), ("dilations", d, 1)):
        if name in a or any(t != default for t in val):
            if name in allowed_attrs(op):
                out[name] = val
    if "pads" in a or any(p):
        out["pads"] = p
    if a.get("auto_pad") == "NOTSET":
        out["auto_pad"] = "NOTSET"
    return out


def _fix_conv(op, a, x):
    out = _spatial_fix(op, a, x)
    cin = x[1]
    cout = int(_clip(a.get("out_channels", cin), 1, MAX_CHANNELS))
    g = int(a.get("group", 1))
    g = math.gcd(max(g, 1), cin, cout) if g >= 1 else 1
    per = (cin // g) * int(np.prod(out["kernel_shape"]))
    if per * cout > MAX_LAYER_PARAMS:
        cout = max(g, (MAX_LAYER_PARAMS // per) // g * g)
    if "group" in a or g != 1:
        out["group"] = g
    out["out_channels"] = cout
    _flag(a, out, "bias")
    if op == "ConvTranspose":
        r = len(x) - 2
        s = out.get("strides", [1] * r)
        d = out.get("dilations", [1] * r)
        if "output_padding" in a:
            v = _ints(a, "output_padding", r, 0, MAX_STRIDE, [0] * r)
            out["output_padding"] = [min(v[j], max(s[j], d[j]) - 1) for j in range(r)]
    return out


def _fix_pool(op, a, x):
    out = _spatial_fix(op, a, x)
    _flag(a, out, "ceil_mode")
    _flag(a, out, "count_include_pad")
    _flag(a, out, "storage_order", (0,))
    return out


def _norm(ax, rank):
    return ax % rank if -rank <= ax < rank else None


def _fix_simple(op, a, x):
    """Attributes of the ops that take one tensor and keep (or simply reduce) its shape."""
    rank = len(x)
    out = {}
    if op == "BatchNormalization":
        _float(a, out, "epsilon", 1e-12, 1.0)
        _float(a, out, "momentum", 0.0, 1.0)
        if "training_mode" in a:
            out["training_mode"] = 0
    elif op in ("LeakyRelu", "Elu"):
        _float(a, out, "alpha", 0.0, 1.0 if op == "LeakyRelu" else 10.0)
    elif op == "HardSigmoid":
        _float(a, out, "alpha", 0.0, 1.0)
        _float(a, out, "beta", 0.0, 1.0)
    elif op == "Clip":
        lo, hi = a.get("min"), a.get("max")
        lo = None if lo is None else float(_clip(lo, -1e4, 1e4))
        hi = None if hi is None else float(_clip(hi, -1e4, 1e4))
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        if lo is not None:
            out["min"] = lo
        if hi is not None:
            out["max"] = hi
    elif op == "Dropout":
        _float(a, out, "ratio", 0.0, 0.9)
        if "seed" in a:
            out["seed"] = int(_clip(a["seed"], -2 ** 31, 2 ** 31 - 1))
    elif op == "Softmax":
        ax = _norm(a.get("axis", -1), rank)
        if "axis" in a or ax == 0:
            out["axis"] = a["axis"] if ax not in (None, 0) else 1
    elif op == "Flatten":
        ax = a.get("axis", 1)
        if (ax + rank if ax < 0 else ax) != 1:  # any other axis folds more than the batch into dim 0
            ax = 1
        out["axis"] = ax
    elif op == "ReduceMean":
        axes = a.get("axes")
        norm = [_norm(t, rank) for t in axes] if isinstance(axes, list) else []
        if not norm or None in norm or 0 in norm or len(set(norm)) != len(norm):
            axes = norm = list(range(2, rank)) or [1]
        out["axes"] = list(axes)
        keep = a.get("keepdims", 1)
        keep = keep if keep in (0, 1) else 1
        if rank - len(norm) < 2:
            keep = 1
        if "keepdims" in a or keep != 1:
            out["keepdims"] = keep
    elif op == "Pad":
        mode = a.get("mode", "constant")
        if mode not in ("constant", "reflect", "edge"):
            mode = "constant"
        pads = a.get("pads")
        if not isinstance(pads, list) or len(pads) != 2 * rank:
            pads = [0] * (2 * rank)
        hi = [0, 0] + [(s - 1 if mode == "reflect" else s) for s in x[2:]]
        pads = [int(_clip(pads[j], 0, hi[j % rank])) for j in range(2 * rank)]
        out["pads"] = pads
        if "mode" in a:
            out["mode"] = mode
        if "constant_value" in a:
            out["constant_value"] = float(_clip(a["constant_value"], -1e4, 1e4))
    elif op == "Slice":
        starts, ends, axes, steps = (a.get(k) for k in ("starts", "ends", "axes", "steps"))
        n = len(starts) if isinstance(starts, list) else 0
        ok = n > 0 and isinstance(ends, list) and len(ends) == n
        if ok and axes is not None:
            ok = len(axes) == n and all(_norm(t, rank) not in (None, 0) for t in axes) and \
                len({_norm(t, rank) for t in axes}) == n
        elif ok:
            ok = False  # default axes 0..n-1 would slice the batch
        if ok and steps is not None:
            ok = len(steps) == n and all(t != 0 and abs(t) < 2 ** 31 for t in steps)
        if ok:
            axs = [_norm(t, rank) for t in axes]
            sts = steps if steps is not None else [1] * n
            ok = all(len(range(*slice(st, en, sp).indices(x[ax]))) >= 1 for st, en, ax, sp in zip(starts, ends, axs, sts))
        if ok:
            out = {"starts": starts, "ends": ends, "axes": axes}
            if steps is not None:
                out["steps"] = steps
        else:  # a no-op slice of the channels
            out = {"starts": [0], "ends": [x[1]], "axes": [1]}
    return out


def _fix_linear(op, a, x):
    fin = x[-1]
    out = {}
    fout = int(_clip(a.get("out_features", fin), 1, MAX_CHANNELS))
    if fin * fout > MAX_LAYER_PARAMS:
        fout = max(1, MAX_LAYER_PARAMS // fin)
    out["out_features"] = fout
    if op == "Gemm":
        _float(a, out, "alpha", -1e3, 1e3)
        _float(a, out, "beta", -1e3, 1e3)
        if "transA" in a:
            out["transA"] = 0
        _flag(a, out, "transB")
        _flag(a, out, "bias")
    return out


# --------------------------------------------------------------------------- the rules
def _decode_ops(ops, count):
    o = _array(ops, "ops")
    if o.ndim == 2:  # scores
        if o.shape[1] == 0:
            return np.full(o.shape[0], _IDENTITY, dtype=np.int64)
        s = np.where(np.isnan(o), -np.inf, o)[:, :_N_OPS]
        ids = np.argmax(s, axis=1)
        ids[~np.isfinite(s).any(axis=1) & ~(s == np.inf).any(axis=1)] = _IDENTITY
        count["op_ids"] += int(len(ids)) if o.shape[1] != _N_OPS else 0
        return ids.astype(np.int64)
    o = o.reshape(-1)
    r = np.round(np.where(np.isfinite(o), o, -1.0))
    bad = ~np.isfinite(o) | (r < 0) | (r >= _N_OPS)
    count["op_ids"] += int(bad.sum() + ((o != r) & ~bad).sum())
    r[bad] = _IDENTITY
    return r.astype(np.int64)


def _decode_edges(edge_index, adjacency, n, threshold, count):
    if adjacency is None and edge_index is not None:
        e = _array(edge_index, "edge_index")
        if e.ndim == 2 and e.shape == (n, n) and n != 2:
            adjacency, e = e, None
    else:
        e = None
    if adjacency is not None:
        adj = _array(adjacency, "adjacency")
        if adj.ndim != 2:
            raise TypeError(f"repair: v.adjacency must be a [N, N] matrix, got shape {adj.shape}")
        m = min(n, adj.shape[0], adj.shape[1]) if adj.size else 0
        adj = np.nan_to_num(adj[:m, :m], nan=0.0) > threshold
        src, dst = np.nonzero(adj.T)  # grouped by destination
        src, dst = dst, src
        e = np.stack([src, dst]).astype(np.float64)
    if e is None or e.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    if e.ndim != 2 or 2 not in e.shape:
        raise TypeError(f"repair: v.edge_index must be [2, E] (or a dense [N, N] score matrix), got shape {e.shape}")
    if e.shape[0] != 2:
        e = e.T
    ok = np.isfinite(e).all(0)
    e = np.round(np.where(np.isfinite(e), e, -1))
    ok &= (e >= 0).all(0) & (e < n).all(0)
    count["edges"] += int((~ok).sum())
    e = e[:, ok].astype(np.int64)
    loops = e[0] == e[1]
    count["edges"] += int(loops.sum())
    e = e[:, ~loops]
    back = e[0] > e[1]
    count["acyclic"] += int(back.sum())
    e = np.where(back, e[::-1], e)
    # stable order by destination; drop duplicates (keep the first)
    order = np.argsort(e[1], kind="stable")
    e = e[:, order]
    if e.shape[1]:
        key = e[1] * n + e[0]
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(e.shape[1], bool)
        keep[first] = True
        count["edges"] += int((~keep).sum())
        e = e[:, keep]
    return e


def _arity(op):
    if op == "Input":
        return 0
    if op in BINARY:
        return 2
    if op == "Concat":
        return 1 << 30
    return 1


def repair(v, input_shape=(1, 1, 28, 28), num_classes: int | None = None, report: bool = False,
           edge_threshold: float = 0.5):
    """Turn a decoder's output ``v`` into a valid, runnable :class:`ArchGraph` (see the module docstring).

    ``input_shape``: the shape the network must run on. ``num_classes``: if given, the output is made
    ``[N, num_classes]`` (a classifier head is appended when it is not). ``edge_threshold``: a dense
    adjacency entry above it is an edge. ``report=True`` returns ``(graph, counts)``; the counts are
    also in ``graph.meta["repairs"]``.
    """
    try:
        input_shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"repair: input_shape must be a tuple of positive ints, got {input_shape!r}") from None
    if len(input_shape) < 3 or min(input_shape) < 1 or len(input_shape) > 5:
        raise ValueError(f"repair: input_shape must be (N, C, spatial...) with 1-3 spatial dims of positive sizes, "
                         f"got {input_shape}")
    if num_classes is not None and (int(num_classes) != num_classes or num_classes < 1):
        raise ValueError(f"repair: num_classes must be a positive int or None, got {num_classes!r}")
    ops, edge_index, adjacency, attrs, tensors, names = _fields(v)
    count: Counter = Counter()

    strict_edges = edge_index
    if adjacency is not None:  # a clean 0/1 matrix of forward edges is an edge list (inputs in index order)
        adj, strict_edges, scratch = _array(adjacency, "adjacency"), None, Counter()
        if adj.ndim == 2 and adj.shape[0] == adj.shape[1] and np.isin(adj, (0.0, 1.0)).all():
            e = _decode_edges(None, adj, len(adj), edge_threshold, scratch)
            strict_edges = None if sum(scratch.values()) else e
    if strict_edges is not None:
        g = _strict(v, ops, strict_edges, attrs, tensors, names)
        if g is not None and problem(g, input_shape) is None and (num_classes is None or _is_head(g, input_shape, num_classes)):
            g.meta.update(input_shape=input_shape, repairs={})
            return (g, {}) if report else g

    # ---- op ids, attribute rows, edges
    ids = _decode_ops(ops, count)
    n = len(ids)
    a = _array(attrs, "attrs") if attrs is not None else np.full((n, N_COLUMNS), np.nan)
    if a.ndim != 2:
        a = a.reshape(n, -1) if a.size and a.size % max(n, 1) == 0 else np.full((n, N_COLUMNS), np.nan)
    if a.shape != (n, N_COLUMNS):
        fixed = np.full((n, N_COLUMNS), np.nan)
        r, c = min(n, a.shape[0]), min(N_COLUMNS, a.shape[1])
        fixed[:r, :c] = a[:r, :c]
        a = fixed
        count["attributes"] += 1
    e = _decode_edges(edge_index, adjacency, n, edge_threshold, count)
    rows = a.tolist()
    op_names = [OPS[k] for k in ids]
    in_lists = [[] for _ in range(n)]
    for s_, d_ in zip(e[0].tolist(), e[1].tolist()):
        in_lists[d_].append(s_)
    names = [str(names[i]) if i < len(names) else "" for i in range(n)]

    # ---- shape arithmetic and constants
    alive = [True] * n
    for i, op in enumerate(op_names):
        if op in SHAPE_OPS:
            op_names[i] = "Identity"
            count["shape_ops"] += 1
        elif op == "Constant":
            alive[i] = False
            count["shape_ops"] += 1

    # ---- one source (first), one sink (last)
    inputs = [i for i in range(n) if alive[i] and op_names[i] == "Input"]
    outputs = [i for i in range(n) if alive[i] and op_names[i] == "Output"]
    for i in inputs[1:]:
        op_names[i] = "Identity"
        count["one_source"] += 1
    for i in outputs[:-1]:
        op_names[i] = "Identity"
        count["one_sink"] += 1
    src = inputs[0] if inputs else None
    sink = outputs[-1] if outputs else None
    order = [i for i in range(n) if alive[i] and i != src and i != sink]
    if src is None or (order and src > order[0]):
        count["one_source"] += 1  # added, or moved first
    if sink is None or (order and sink < order[-1]):
        count["one_sink"] += 1  # added, or moved last
    # new index space: 0 = Input, 1..m = order, m+1 = Output
    m = len(order)
    new_of = {old: k + 1 for k, old in enumerate(order)}
    nops = ["Input"] + [op_names[i] for i in order] + ["Output"]
    nrows = [None] + [rows[i] for i in order] + [None]
    nnames = [names[src] if src is not None else ""] + [names[i] for i in order] + [names[sink] if sink is not None else ""]
    if src is not None:
        new_of[src] = 0
    nins = [[] for _ in range(m + 2)]
    for old in range(n):
        if not alive[old] or old == src:
            count["one_source"] += len(in_lists[old]) if old == src else 0
            continue
        k = m + 1 if old == sink else new_of[old]
        for s_ in in_lists[old]:
            if s_ == sink:
                count["one_sink"] += 1  # edges out of the Output
            elif alive[s_]:
                nins[k].append(new_of[s_])  # still forward: only the Input moved first, the Output last
    n2 = m + 2

    # ---- orphans, dangling, arity
    for k in range(1, n2):
        if not nins[k] and k < n2 - 1:
            nins[k].append(k - 1)
            count["orphans"] += 1
    outdeg = [0] * n2
    for k in range(n2):
        for s_ in nins[k]:
            outdeg[s_] += 1
    free = [(_arity(nops[k]) - len(nins[k])) for k in range(n2)]
    nxt = list(range(1, n2 + 1))  # candidate next node with a free slot (n2 = none), path-compressed

    def find(j):
        root = j
        while root < n2 and free[root] <= 0:
            root = nxt[root]
        while j != root:
            after = nxt[j]
            nxt[j] = root
            j = after
        return root

    for k in range(n2 - 2, -1, -1):
        if outdeg[k] == 0:
            j = find(k + 1)
            if j < n2:
                nins[j].append(k)
                free[j] -= 1
                outdeg[k] += 1
                count["dangling"] += 1
    for k in range(1, n2):
        ar = _arity(nops[k])
        if len(nins[k]) > ar:
            count["arity"] += 1
            nins[k] = nins[k][:ar]
        if nops[k] in BINARY and len(nins[k]) == 1:
            nops[k] = "Identity"
            count["arity"] += 1

    keep = _reaching(nins, n2)
    count["prune"] += n2 - sum(keep)

    # ---- shapes: emit node by node, fixing attributes and operands
    ctx = _Ctx(input_shape)
    ctx.count = count
    ctx.nodes.append(Node("Input", {}, name=nnames[0]))
    ctx.ins.append([])
    ctx.infos.append(TensorInfo(input_shape))
    ctx.names.append(nnames[0])
    emitted = {0: 0}
    for k in range(1, n2):
        if not keep[k]:
            continue
        srcs = [emitted[s_] for s_ in nins[k] if s_ in emitted]
        if nops[k] == "Output":
            if ctx.nodes[srcs[0]].op == "Input":
                srcs = [ctx.emit("Identity", {}, srcs)]
                count["no_layers"] += 1
            if num_classes is not None:
                srcs = [_head(ctx, srcs[0], int(num_classes))]
            emitted[k] = ctx.emit("Output", {}, srcs[:1], nnames[k])
            continue
        raw = _read_attrs(nrows[k], nops[k])
        emitted[k] = _emit_fixed(ctx, nops[k], raw, srcs, nnames[k])

    # dropped operands can leave nodes that reach nothing: prune again
    g = _finish(ctx, count)
    g.meta.update(input_shape=input_shape, repairs={k: v for k, v in sorted(count.items()) if v})
    return (g, dict(g.meta["repairs"])) if report else g


def _reaching(nins, n):
    """Which nodes reach the last node (the Output)."""
    keep = [False] * n
    keep[n - 1] = True
    for k in range(n - 1, -1, -1):
        if keep[k]:
            for s_ in nins[k]:
                keep[s_] = True
    return keep


def _is_head(g, input_shape, num_classes):
    from .shapes import infer_shapes

    infos = infer_shapes(g, input_shape)
    out = [i for i, nd in enumerate(g.nodes) if nd.op == "Output"][0]
    return tuple(infos[out].shape) == (input_shape[0], num_classes)


def _head(ctx, k, num_classes):
    x = ctx.infos[k].shape
    if tuple(x) == (x[0], num_classes) and len(x) == 2:
        return k
    ctx.count["classifier"] += 1
    if len(x) > 2:
        k = ctx.emit("GlobalAveragePool", {}, [k])
    if len(ctx.infos[k].shape) != 2:
        k = ctx.emit("Flatten", {"axis": 1}, [k])
    return ctx.emit("Gemm", {"out_features": num_classes, "bias": 1}, [k])


def _to_spatial(ctx, k):
    """[N, C] (rank 2) -> [N, C, 1, ...] so a conv or pool can read it."""
    ctx.count["rank"] += 1
    return ctx.emit("Reshape", {"shape": [0, -1] + [1] * ctx.spatial}, [k])


def _elements(shape):
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def _adapt(ctx, k, target, skip_axis=None):
    """Make node ``k``'s output fit ``target`` (same rank) on every axis but ``skip_axis``; None if impossible."""
    x = tuple(ctx.infos[k].shape)
    if len(x) != len(target):
        return None
    rank = len(x)
    # spatial sizes: pool down, pad up
    if rank > 2:
        down = [j for j in range(2, rank) if j != skip_axis and x[j] > target[j] and target[j] != 1]
        if down:
            kern, strd = [], []
            for j in range(2, rank):
                if j in down:
                    s = x[j] // target[j]
                    kern.append(x[j] - (target[j] - 1) * s)
                    strd.append(s)
                else:
                    kern.append(1)
                    strd.append(1)
            k = ctx.emit("AveragePool", {"kernel_shape": kern, "strides": strd}, [k])
            x = tuple(ctx.infos[k].shape)
        up = [j for j in range(2, rank) if j != skip_axis and x[j] < target[j] and x[j] != 1]
        if up:
            pads = [0] * (2 * rank)
            for j in up:
                extra = target[j] - x[j]
                pads[j], pads[j + rank] = extra // 2, extra - extra // 2
            k = ctx.emit("Pad", {"pads": pads}, [k])
            x = tuple(ctx.infos[k].shape)
    if skip_axis != 1 and x[1] != target[1] and x[1] != 1:
        if rank > 2:
            k = ctx.emit("Conv", {"kernel_shape": [1] * (rank - 2), "out_channels": int(target[1])}, [k])
        else:
            k = ctx.emit("MatMul", {"out_features": int(target[1])}, [k])
    return k


def _emit_fixed(ctx, op, raw, srcs, name):
    count = ctx.count
    x = tuple(ctx.infos[srcs[0]].shape)
    try:
        if op in BINARY:
            a0, a1 = srcs[0], srcs[1]
            t, s = x, tuple(ctx.infos[a1].shape)
            try:  # same rank only: right-aligned broadcasting across ranks depends on the batch size
                ok = len(t) == len(s) and np.broadcast_shapes(t, s) is not None
            except ValueError:
                ok = False
            if not ok:
                new = _adapt(ctx, a1, t)
                count["operands"] += 1
                if new is None:
                    return _identity(ctx, srcs[:1], name)
                a1 = new
            shape = np.broadcast_shapes(tuple(ctx.infos[a0].shape), tuple(ctx.infos[a1].shape))
            if _elements(shape) > MAX_ELEMENTS:
                count["size_cap"] += 1
                return _identity(ctx, srcs[:1], name)
            return ctx.emit(op, {}, [a0, a1], name)
        if op == "Concat":
            rank = len(x)
            ax = raw.get("axis", 1)
            axn = _norm(ax, rank)
            if axn in (None, 0):
                ax, axn = 1, 1
                count["attributes"] += 1
            ins = [srcs[0]]
            for s_ in srcs[1:]:
                y = tuple(ctx.infos[s_].shape)
                if len(y) == rank and all(y[j] == x[j] for j in range(rank) if j != axn):
                    ins.append(s_)
                    continue
                count["operands"] += 1
                new = _adapt(ctx, s_, x, skip_axis=axn)
                if new is not None:
                    ins.append(new)
            total = sum(ctx.infos[s_].shape[axn] for s_ in ins)
            if _elements(x) // x[axn] * total > MAX_ELEMENTS:
                count["size_cap"] += 1
                return _identity(ctx, srcs[:1], name)
            return _emit_counted(ctx, op, raw, {"axis": ax} if "axis" in raw or ax != 1 else {"axis": 1}, ins, name)
        if op in SPATIAL_OPS:
            if len(x) < 3:
                if op in ("GlobalAveragePool", "GlobalMaxPool"):
                    count["rank"] += 1
                    return _identity(ctx, srcs, name)
                srcs = [_to_spatial(ctx, srcs[0])]
                x = tuple(ctx.infos[srcs[0]].shape)
            if len(x) > 5:
                count["fallback"] += 1
                return _identity(ctx, srcs, name)
            if op in ("GlobalAveragePool", "GlobalMaxPool"):
                return ctx.emit(op, {}, srcs, name)
            fixed = _fix_conv(op, raw, x) if op in ("Conv", "ConvTranspose") else _fix_pool(op, raw, x)
            return _emit_counted(ctx, op, raw, fixed, srcs, name)
        if op in ("Gemm", "MatMul"):
            if op == "Gemm" and len(x) != 2:
                count["rank"] += 1
                srcs = [ctx.emit("Flatten", {"axis": 1}, srcs)]
                x = tuple(ctx.infos[srcs[0]].shape)
            return _emit_counted(ctx, op, raw, _fix_linear(op, raw, x), srcs, name)
        return _emit_counted(ctx, op, raw, _fix_simple(op, raw, x), srcs, name)
    except GraphError:
        count["fallback"] += 1
        return _identity(ctx, srcs[:1], name)


def _identity(ctx, srcs, name):
    return ctx.emit("Identity", {}, srcs[:1], name)


def _emit_counted(ctx, op, raw, fixed, srcs, name):
    if fixed != raw:
        ctx.count["attributes"] += 1
    k = ctx.emit(op, fixed, srcs, name)
    if _elements(ctx.infos[k].shape) > MAX_ELEMENTS:
        ctx.count["size_cap"] += 1
        ctx.nodes.pop(), ctx.ins.pop(), ctx.infos.pop()
        return _identity(ctx, srcs, name)
    return k


def _finish(ctx, count):
    n = len(ctx.nodes)
    keep = _reaching(ctx.ins, n)
    dropped = n - sum(keep)
    count["prune"] += dropped
    new = {}
    nodes, edges = [], []
    for i in range(n):
        if keep[i]:
            new[i] = len(nodes)
            nodes.append(ctx.nodes[i])
            edges.extend((new[s_], new[i]) for s_ in ctx.ins[i])
    return ArchGraph(nodes, edges)


def raw_arrays(g: ArchGraph) -> dict:
    """The arrays :func:`nasvec.vectors.encode` would give for ``g``, without validating it (tests, demos)."""
    from .vectors import VectorRep, encode  # noqa: F401

    attrs = np.full((len(g.nodes), N_COLUMNS), np.nan)
    for i, node in enumerate(g.nodes):
        for name, value in node.attrs.items():
            kind, width = ATTRS[name]
            c = COLUMN_OF[name]
            if kind == "int":
                attrs[i, c] = float(value)
            elif kind == "float":
                attrs[i, c] = float(value)
            elif kind == "string":
                attrs[i, c] = _STRING_INDEX[value]
            elif kind in ("ints", "floats"):
                attrs[i, c] = len(value)
                attrs[i, c + 1:c + 1 + len(value)] = [float(t) for t in value]
    ops = np.array([OP_INDEX[n.op] for n in g.nodes], dtype=np.int64)
    return {"ops": ops, "edge_index": np.array(g.edges, dtype=np.int64).reshape(-1, 2).T, "attrs": attrs}


class _CallableModule(types.ModuleType):
    """``nasvec.repair`` is both this module and the function: ``from nasvec import repair; repair(v)``."""

    def __call__(self, *args, **kwargs):
        return repair(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


# --------------------------------------------------------------------------- the chapter's studies
DECODER_KINDS = ("scores", "ids", "noise", "nan", "extreme")


def random_decoder_output(rng: np.random.Generator, kind: str, n: int) -> dict:
    """One arbitrary decoder output of ``n`` nodes (``kind`` in :data:`DECODER_KINDS`).

    ``scores``: Gaussian op scores ``[n, len(OPS)]``, a dense adjacency of uniform probabilities and a
    sparse attribute matrix of small integers; ``ids``: integer op ids, a random ``[2, 2n]`` edge list
    (any direction, out of range too) and the same sparse attributes; ``noise``: uniform noise in
    [-100, 100] in every array; ``nan``: every value NaN; ``extreme``: +-1e30, +-inf and NaN.
    """
    if kind not in DECODER_KINDS:
        raise ValueError(f"kind must be one of {DECODER_KINDS}, got {kind!r}")
    sparse = np.full((n, N_COLUMNS), np.nan)
    mask = rng.random((n, N_COLUMNS)) < 0.15
    sparse[mask] = rng.integers(-1, 9, size=int(mask.sum()))
    if kind == "scores":
        return {"ops": rng.normal(size=(n, _N_OPS)), "adjacency": rng.random((n, n)) ** 3, "attrs": sparse}
    if kind == "ids":
        return {"ops": rng.integers(0, _N_OPS, size=n), "edge_index": rng.integers(-1, n + 1, size=(2, 2 * n)),
                "attrs": sparse}
    if kind == "noise":
        return {"ops": rng.uniform(-100, 100, size=n), "edge_index": rng.uniform(-100, 100, size=(2, 2 * n)),
                "attrs": rng.uniform(-100, 100, size=(n, N_COLUMNS))}
    if kind == "nan":
        return {"ops": np.full(n, np.nan), "edge_index": np.full((2, n), np.nan), "attrs": np.full((n, N_COLUMNS), np.nan)}
    pick = np.array([1e30, -1e30, np.inf, -np.inf, np.nan])
    return {"ops": rng.choice(pick, size=n), "edge_index": rng.choice(pick, size=(2, n)),
            "attrs": rng.choice(pick, size=(n, N_COLUMNS))}


def _enas_layers(channels):
    conv = lambda k, group=1: ("Conv", {"dilations": [1, 1], "group": group, "kernel_shape": [k, k],  # noqa: E731
                                        "pads": [k // 2] * 4, "strides": [1, 1], "out_channels": channels, "bias": 1})
    pool = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1], "ceil_mode": 0}
    return {
        "input": [("Input", {}), conv(3)],
        "output": [("Output", {})],
        "conv3x3": [conv(3)],
        "conv5x5": [conv(5)],
        "sep_conv3x3": [conv(3, channels), conv(1)],
        "sep_conv5x5": [conv(5, channels), conv(1)],
        "avg_pool3x3": [("AveragePool", {**pool, "count_include_pad": 0})],
        "max_pool3x3": [("MaxPool", {**pool, "dilations": [1, 1]})],
    }


def enas_decoder_output(types, adj, vocab=None, channels: int = 16) -> dict:
    """A decode of a chapter-2 model (an ENAS cell) as a decoder output in the CNN vocabulary, for :func:`repair`.

    ``types``: ``[N]`` ids into ``vocab`` (default :data:`nasvec.data.ENAS_TYPES`), ``-1`` padding at the
    end; ``adj``: ``[N, N]``, ``adj[i, j] > 0.5`` for an edge ``i -> j`` (``i < j``; the rest is ignored),
    as in :class:`nasvec.compress.base.DagBatch`. Every ENAS node becomes CNN layers of ``channels``
    output channels: ``input`` -> the Input and a 3x3 stem Conv; ``conv3x3``/``conv5x5`` -> Conv with
    "same" pads; ``sep_convKxK`` -> a KxK Conv with one group per output channel, then a 1x1 Conv
    (the vocabulary's stand-in for a depthwise-separable conv); ``avg_pool3x3``/``max_pool3x3`` -> 3x3
    pooling, stride 1, pads 1; ``output`` -> the Output. A node with several inputs reads their Concat
    (ENAS concatenates skip connections along the channels). Whatever the decode got wrong (no input,
    two outputs, a layer nobody reads...) is kept, for :func:`repair` to fix: a valid ENAS cell gives a
    valid network and is returned unchanged by ``repair``. Returns ``{"ops", "edge_index", "attrs"}``.
    Introduced in chapter 3.
    """
    from .data import ENAS_TYPES
    from .vectors import attr_row

    vocab = ENAS_TYPES if vocab is None else vocab
    types = np.asarray(types).reshape(-1)
    n = int((types >= 0).sum())
    adj = np.asarray(adj, dtype=float)
    layers = _enas_layers(channels)
    ops, rows, edges, tensors, out = [], [], [], [], []
    for j in range(n):
        preds = [out[i] for i in range(j) if adj[i, j] > 0.5]
        if len(preds) > 1:
            ops.append("Concat")
            rows.append({"axis": 1})
            edges += [(s, len(ops) - 1) for s in preds]
            preds = [len(ops) - 1]
        for op, attrs in layers[vocab[int(types[j])]]:
            ops.append(op)
            rows.append(attrs)
            if op != "Input":
                edges += [(s, len(ops) - 1) for s in preds]
            preds = [len(ops) - 1]
        out.append(len(ops) - 1)
    return {"ops": np.array([OP_INDEX[o] for o in ops], dtype=np.int64),
            "edge_index": np.array(edges, dtype=np.int64).reshape(-1, 2).T,
            "attrs": np.stack([attr_row(a, tensors) for a in rows]) if rows else np.zeros((0, N_COLUMNS))}


def enas_decode_study(model, n: int, seed: int = 0, input_shape=(1, 1, 28, 28)) -> dict:
    """Chapter 3's look at a chapter-2 compressor: ``n`` codes from its prior, each decoded once.

    ``model`` needs ``sample(n, generator=)`` returning a :class:`~nasvec.compress.base.DagBatch` of ENAS
    cells. Returns the share of decodes that are valid ENAS cells (D-VAE's check), and
    :func:`validity_study` of their :func:`enas_decoder_output` (runs as decoded, after repair, rules).
    """
    import torch

    from .compress.metrics import is_valid_enas
    from .data import ENAS_TYPES

    with torch.no_grad():
        decodes = model.sample(n, generator=torch.Generator().manual_seed(seed))
    cells = decodes.to_graphs(ENAS_TYPES)
    study = validity_study([enas_decoder_output(t, a) for t, a in zip(decodes.types.numpy(), decodes.adj.numpy())],
                           input_shape)
    return {**study, "valid_enas": float(np.mean([is_valid_enas(g) for g in cells])) if cells else 0.0}


def valid_before_repair(v, input_shape) -> bool:
    """Whether the arrays already decode exactly to a network that runs (no repair needed)."""
    ops, edge_index, adjacency, attrs, tensors, names = _fields(v)
    if adjacency is not None:
        o = _array(ops, "ops")
        if o.ndim == 2:
            ops = np.argmax(np.nan_to_num(o, nan=-np.inf), 1) if o.size else np.zeros(0)
        adj = np.nan_to_num(_array(adjacency, "adjacency"), nan=0.0) > 0.5
        edge_index = np.stack(np.nonzero(adj.T)[::-1]) if adj.size else np.zeros((2, 0))
    g = _strict(v, ops, edge_index, attrs, tensors, names)
    return g is not None and problem(g, input_shape) is None


def validity_study(outputs, input_shape=(1, 1, 28, 28)) -> dict:
    """Repair every output: share valid before and after, mean milliseconds per repair, rule counts."""
    import time

    before = after = 0
    rules: Counter = Counter()
    fired: Counter = Counter()
    t = 0.0
    sizes = []
    for v in outputs:
        before += valid_before_repair(v, input_shape)
        t0 = time.perf_counter()
        g, counts = repair(v, input_shape=input_shape, report=True)
        t += time.perf_counter() - t0
        after += problem(g, input_shape) is None
        rules.update(counts)
        fired.update({k: 1 for k in counts})
        sizes.append(len(g))
    n = max(len(outputs), 1)
    return {"n": len(outputs), "valid_before": before / n, "valid_after": after / n, "ms_per_repair": 1e3 * t / n,
            "mean_nodes_after": float(np.mean(sizes)) if sizes else 0.0, "rule_counts": dict(rules),
            "rule_fired": dict(fired)}
