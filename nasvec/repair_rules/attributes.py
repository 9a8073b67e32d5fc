"""Rule ``attributes``: attribute values made legal for the op and its input shape (chapter 3).

One fixer per op family — :func:`fix_conv`, :func:`fix_pool`, :func:`fix_linear` and
:func:`fix_simple` (which dispatches through :data:`SIMPLE_FIXERS`): kernels, strides, dilations and
pads of convolutions and pools that fit the input; group and channel counts that divide; axes in
range and never the batch axis; flags in ``{0, 1}``; floats clipped to sane ranges.
Layer sizes are capped (:mod:`nasvec.graph.limits`, the caps every valid graph keeps) so that garbage cannot ask
for terabytes. A fixer returns the attributes to use; the caller counts the rule when they differ
from what was read.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..errors import GraphError
from ..graph.codec import DAMAGED
from ..graph.vocab import allowed_attrs

from ..graph.limits import MAX_CHANNELS, MAX_ELEMENTS, MAX_LAYER_PARAMS, MAX_TOTAL_PARAMS  # noqa: F401 (re-exported)

MAX_KERNEL = 11
MAX_STRIDE = 8
MAX_DILATION = 4


# --------------------------------------------------------------------------- helpers
def clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _ints(a, name, n, lo, hi, default):
    v = a.get(name)
    if not isinstance(v, list) or len(v) != n:
        v = list(default)
    return [int(clip(int(t) if abs(t) < 2 ** 62 else (hi if t > 0 else lo), lo, hi)) for t in v]


def _flag(a, out, name, allowed=(0, 1), default=None):
    if name in a:
        out[name] = a[name] if a[name] in allowed else (allowed[0] if default is None else default)


def _float(a, out, name, lo, hi):
    if name in a:
        out[name] = float(clip(a[name], lo, hi))


def norm_axis(ax, rank):
    """``ax`` as a non-negative axis of a tensor of ``rank``, or None when out of range."""
    return ax % rank if -rank <= ax < rank else None


# --------------------------------------------------------------------------- convolutions and pools
def _consensus(v):
    """Strides or dilations whose axes disagree: the smallest on every axis (1 is the commonest value)."""
    return [min(v)] * len(v) if len(set(v)) > 1 else v


def _one_outlier(p):
    """Pads of which one entry differs from all the others (which agree): that entry takes their value
    (pads such as ``[0, 0, 1, 1]`` or ``[0, 3, 0, 3]`` stay as they are)."""
    if len(p) >= 3:
        (common, n), *rest = Counter(p).most_common()
        if n == len(p) - 1:
            return [common] * len(p)
    return p


def symmetric(a: dict) -> dict:
    """``a`` with its strides and dilations made equal on every axis (:func:`_consensus`) and a single odd pad
    made like the others (:func:`_one_outlier`): what rule ``symmetric`` applies to an odd conv or pool."""
    out = dict(a)
    for name, fix in (("strides", _consensus), ("dilations", _consensus), ("pads", _one_outlier)):
        if isinstance(a.get(name), list) and a[name]:
            out[name] = fix(list(a[name]))
    return out


def _spatial_fix(op, a, x):
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


def fix_conv(op, a, x):
    out = _spatial_fix(op, a, x)
    cin = x[1]
    cout = int(clip(a.get("out_channels", cin), 1, MAX_CHANNELS))
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
        if "output_padding" in a:
            v = _ints(a, "output_padding", r, 0, MAX_STRIDE, [0] * r)
            # below the stride: torch allows up to max(stride, dilation) - 1, onnxruntime only stride - 1
            out["output_padding"] = [min(v[j], s[j] - 1) for j in range(r)]
    return out


def _ceil_clash(out, x) -> bool:
    """Whether ceil_mode would make a last window start in the end padding on some axis (torch and ONNX's shape
    inference then disagree on the size: :func:`nasvec.graph.shapes._pool_out`)."""
    r = len(x) - 2
    k, p = out["kernel_shape"], out.get("pads", [0] * (2 * r))
    s, d = out.get("strides", [1] * r), out.get("dilations", [1] * r)
    for j in range(r):
        num = x[2 + j] + p[j] + p[j + r] - ((k[j] - 1) * d[j] + 1)
        if math.ceil(num / s[j]) * s[j] >= x[2 + j] + p[j]:
            return True
    return False


def fix_pool(op, a, x):
    out = _spatial_fix(op, a, x)
    _flag(a, out, "ceil_mode")
    if out.get("ceil_mode") and _ceil_clash(out, x):
        out["ceil_mode"] = 0
    _flag(a, out, "count_include_pad")
    _flag(a, out, "storage_order", (0,))
    return out


def fix_linear(op, a, x):
    fin = x[-1]
    out = {}
    fout = int(clip(a.get("out_features", fin), 1, MAX_CHANNELS))
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


# --------------------------------------------------------------------------- ops that keep (or reduce) the shape
def _batch_norm(a, x, out):
    _float(a, out, "epsilon", 1e-12, 1.0)
    _float(a, out, "momentum", 0.0, 1.0)
    if "training_mode" in a:
        out["training_mode"] = 0


def _alpha(limit):
    def fix(a, x, out):
        _float(a, out, "alpha", 0.0, limit)
    return fix


def _hard_sigmoid(a, x, out):
    _float(a, out, "alpha", 0.0, 1.0)
    _float(a, out, "beta", 0.0, 1.0)


def _clip_op(a, x, out):
    lo, hi = a.get("min"), a.get("max")
    lo = None if lo is None else float(clip(lo, -1e4, 1e4))
    hi = None if hi is None else float(clip(hi, -1e4, 1e4))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    if lo is not None:
        out["min"] = lo
    if hi is not None:
        out["max"] = hi


def _dropout(a, x, out):
    _float(a, out, "ratio", 0.0, 0.9)
    if "seed" in a:
        out["seed"] = int(clip(a["seed"], -2 ** 31, 2 ** 31 - 1))


def _softmax(a, x, out):
    ax = norm_axis(a.get("axis", -1), len(x))
    if "axis" in a or ax == 0:
        out["axis"] = a["axis"] if ax not in (None, 0) else 1


def _flatten(a, x, out):
    ax = a.get("axis", 1)
    if (ax + len(x) if ax < 0 else ax) != 1:  # any other axis folds more than the batch into dim 0
        ax = 1
    out["axis"] = ax


def _reduce_mean(a, x, out):
    rank = len(x)
    axes = a.get("axes")
    norm = [norm_axis(t, rank) for t in axes] if isinstance(axes, list) else []
    if not norm or None in norm or 0 in norm or len(set(norm)) != len(norm):
        axes = norm = list(range(2, rank)) or [1]
    out["axes"] = list(axes)
    keep = a.get("keepdims", 1)
    keep = keep if keep in (0, 1) else 1
    if rank - len(norm) < 2:
        keep = 1
    if "keepdims" in a or keep != 1:
        out["keepdims"] = keep


def _pad(a, x, out):
    rank = len(x)
    mode = a.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        mode = "constant"
    pads = a.get("pads")
    if not isinstance(pads, list) or len(pads) != 2 * rank:
        pads = [0] * (2 * rank)
    hi = [0, 0] + [(s - 1 if mode == "reflect" else s) for s in x[2:]]
    out["pads"] = [int(clip(pads[j], 0, hi[j % rank])) for j in range(2 * rank)]
    if "mode" in a:
        out["mode"] = mode
    if "constant_value" in a:
        out["constant_value"] = float(clip(a["constant_value"], -1e4, 1e4))


def _slice_ok(a, x) -> bool:
    rank = len(x)
    starts, ends, axes, steps = (a.get(k) for k in ("starts", "ends", "axes", "steps"))
    n = len(starts) if isinstance(starts, list) else 0
    ok = n > 0 and isinstance(ends, list) and len(ends) == n
    if ok and axes is not None:
        ok = len(axes) == n and all(norm_axis(t, rank) not in (None, 0) for t in axes) and \
            len({norm_axis(t, rank) for t in axes}) == n
    elif ok:
        ok = False  # default axes 0..n-1 would slice the batch
    if ok and steps is not None:
        ok = len(steps) == n and all(t != 0 and abs(t) < 2 ** 31 for t in steps)
    if ok:
        axs = [norm_axis(t, rank) for t in axes]
        sts = steps if steps is not None else [1] * n
        ok = all(len(range(*slice(st, en, sp).indices(x[ax]))) >= 1 for st, en, ax, sp in zip(starts, ends, axs, sts))
    return ok


def _slice(a, x, out):
    n = len(a["starts"]) if isinstance(a.get("starts"), list) else 0
    if n == 1 and not _slice_ok(a, x):   # a damaged axes or steps: a single-axis slice of a CNN cuts channels
        a = {**{k: v for k, v in a.items() if k != "steps"}, "axes": [1]}
    if _slice_ok(a, x):
        out.update({"starts": a["starts"], "ends": a["ends"], "axes": a["axes"]})
        if a.get("steps") is not None:
            out["steps"] = a["steps"]
    else:  # a no-op slice of the channels
        out.update({"starts": [0], "ends": [x[1]], "axes": [1]})


def _reshape(a, x, out):
    """Only a Reshape that keeps every example apart: ``shape[0]`` is -1 or 0 (the batch), 0 elsewhere copies
    the input's size, and the rest holds exactly one example's values; anything else is not repaired here."""
    shape = a.get("shape")
    if not isinstance(shape, list) or len(shape) < 2 or shape[0] not in (-1, 0):
        raise GraphError(f"Reshape to {shape!r} would not keep the batch axis")
    sizes = [x[j] if v == 0 and j < len(x) else v for j, v in enumerate(shape)][1:]
    if sizes.count(DAMAGED) == 1:   # one entry damaged: the element count says what it was
        rest = int(np.prod([v for v in sizes if v != DAMAGED]))
        if rest > 0 and int(np.prod(x[1:])) % rest == 0:
            sizes[sizes.index(DAMAGED)] = int(np.prod(x[1:])) // rest
            shape = [shape[0]] + sizes
    total = int(np.prod(x[1:]))
    if sizes and all(v >= 1 for v in sizes) and int(np.prod(sizes)) != total:
        # the input changed size upstream (a branch lost): the entries that match the input's trailing dims stay, the
        # one nearest them that can absorb the new count takes it (a channel shuffle's group size, a flatten's width)
        inner, r = list(x[1:]), len(x) - 2
        if r >= 1 and len(sizes) >= r + 1 and len(sizes) > len(inner) - 1:   # spatial sizes changed upstream: follow
            sizes[-r:] = list(x[2:])
        free = [j for j in range(len(sizes)) if not (len(sizes) - j <= len(inner) and
                                                     sizes[j] == inner[len(inner) - (len(sizes) - j)])]
        for j in reversed(free):
            rest = int(np.prod([v for k, v in enumerate(sizes) if k != j]))
            if rest and total % rest == 0:
                sizes[j] = total // rest
                shape = [shape[0]] + sizes
                break
    if any(v < 1 for v in sizes) or int(np.prod(sizes)) != total:
        raise GraphError(f"Reshape of {list(x)} to {shape} would mix examples")
    out["shape"] = list(shape)
    if "allowzero" in a:
        out["allowzero"] = 0


def _transpose(a, x, out):
    """Only a Transpose that leaves the batch axis first."""
    perm = a.get("perm")
    if not isinstance(perm, list) or sorted(perm) != list(range(len(x))) or perm[0] != 0:
        raise GraphError(f"Transpose perm {perm!r} of a rank {len(x)} tensor must keep axis 0 first")
    out["perm"] = list(perm)


#: op -> ``(raw attrs, input shape, out)``: writes the legal attributes of the ops that take one
#: tensor and keep (or simply reduce) its shape; an op not listed keeps no attributes
SIMPLE_FIXERS = {
    "BatchNormalization": _batch_norm, "LeakyRelu": _alpha(1.0), "Elu": _alpha(10.0), "HardSigmoid": _hard_sigmoid,
    "Clip": _clip_op, "Dropout": _dropout, "Softmax": _softmax, "Flatten": _flatten, "ReduceMean": _reduce_mean,
    "Pad": _pad, "Slice": _slice, "Reshape": _reshape, "Transpose": _transpose,
}


def fix_simple(op, a, x):
    """Attributes of the ops that take one tensor and keep (or simply reduce) its shape."""
    out = {}
    fixer = SIMPLE_FIXERS.get(op)
    if fixer is not None:
        fixer(a, x, out)
    return out
