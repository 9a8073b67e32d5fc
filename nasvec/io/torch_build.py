"""Graph -> trainable ``torch.nn.Module``, built node by node (chapter 1; the paper's inverse path).

:func:`to_torch` sizes every layer with :func:`nasvec.graph.shapes.infer_shapes` and creates a module per
learned layer (Conv, ConvTranspose, BatchNormalization, Gemm, MatMul with a weight); the other ops are
functions. ``forward`` walks the nodes in topological order. With ``weights`` (as
:func:`nasvec.io.from_onnx` returns them) the network computes what the ONNX model computes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GraphError
from ..graph.core import ArchGraph, require_graph
from ..graph.core import checked_shapes
from ..graph.shapes import default_input_shape
from ..graph.vocab import data_slots


def _sym_pads(pads, rank):
    """torch padding if the ONNX pads are symmetric, else None."""
    begin, end = list(pads[:rank]), list(pads[rank:])
    return tuple(begin) if begin == end else None


def _torch_pad(pads, rank):
    """ONNX [b1..bn, e1..en] (spatial) -> F.pad order (last dim first)."""
    out = []
    for j in reversed(range(rank)):
        out += [pads[j], pads[j + rank]]
    return out


class _Conv(nn.Module):
    def __init__(self, a, cin, transpose=False):
        super().__init__()
        k = list(a["kernel_shape"])
        rank = len(k)
        pads = list(a.get("pads", [0] * 2 * rank))
        self.rank = rank
        self.auto_pad = a.get("auto_pad", "NOTSET")
        if self.auto_pad not in ("NOTSET", "VALID"):
            raise GraphError(f"auto_pad {self.auto_pad!r} is not supported by to_torch (use explicit pads)")
        sym = _sym_pads(pads, rank)
        self.pre_pad = None if sym is not None or transpose else _torch_pad(pads, rank)
        cls = {1: (nn.Conv1d, nn.ConvTranspose1d), 2: (nn.Conv2d, nn.ConvTranspose2d),
               3: (nn.Conv3d, nn.ConvTranspose3d)}[rank][int(transpose)]
        kw = dict(stride=list(a.get("strides", [1] * rank)), dilation=list(a.get("dilations", [1] * rank)),
                  groups=a.get("group", 1), bias=bool(a.get("bias", 0)))
        if transpose:
            if sym is None:
                raise GraphError("ConvTranspose with asymmetric pads is not supported by to_torch")
            kw["output_padding"] = list(a.get("output_padding", [0] * rank))
            kw["padding"] = list(sym)
        else:
            kw["padding"] = list(sym) if sym is not None else 0
        self.layer = cls(cin, a["out_channels"], k, **kw)

    def forward(self, x):
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        return self.layer(x)


class _Linear(nn.Module):
    """Gemm / MatMul with a learned weight: ``alpha * x @ W + beta * b``."""

    def __init__(self, a, fin, bias, trans_a=False):
        super().__init__()
        self.layer = nn.Linear(fin, a["out_features"], bias=bias)
        self.alpha, self.beta, self.trans_a = a.get("alpha", 1.0), a.get("beta", 1.0), trans_a

    def forward(self, x):
        if self.trans_a:
            x = x.t()
        y = F.linear(x, self.layer.weight) * self.alpha if self.alpha != 1.0 else F.linear(x, self.layer.weight)
        if self.layer.bias is not None:
            y = y + self.beta * self.layer.bias
        return y


def _pool(x, a, kind):
    rank = x.dim() - 2
    k = list(a["kernel_shape"])
    s = list(a.get("strides", [1] * rank))
    pads = list(a.get("pads", [0] * 2 * rank))
    ceil = bool(a.get("ceil_mode", 0))
    sym = _sym_pads(pads, rank)
    if sym is None or any(p * 2 > kk for p, kk in zip(sym, k)):
        fill = float("-inf") if kind == "max" else 0.0
        x = F.pad(x, _torch_pad(pads, rank), value=fill)
        sym = (0,) * rank
    if kind == "max":
        f = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
        return f(x, k, s, list(sym), list(a.get("dilations", [1] * rank)), ceil_mode=ceil)
    f = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    return f(x, k, s, list(sym), ceil_mode=ceil, count_include_pad=bool(a.get("count_include_pad", 0)))


def _slice(xs, a):
    x = xs[0]
    named = dict(zip(data_slots("Slice", a), xs))
    p = {k: (list(a[k]) if k in a else [int(t) for t in named[k].reshape(-1).tolist()])
         for k in ("starts", "ends", "axes", "steps") if k in a or k in named}
    idx = [slice(None)] * x.dim()
    starts, ends = p["starts"], p["ends"]
    axes = p.get("axes", list(range(len(starts))))
    steps = p.get("steps", [1] * len(starts))
    flips = []
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax = ax % x.dim()
        r = range(*slice(st, en, sp).indices(x.shape[ax]))
        if sp > 0:
            idx[ax] = slice(r.start, r.stop, r.step)
        else:  # torch has no negative steps: index explicitly
            flips.append((ax, torch.tensor(list(r), dtype=torch.long, device=x.device)))
    y = x[tuple(idx)]
    for ax, ind in flips:
        y = y.index_select(ax, ind)
    return y


def _reshape(x, target, allowzero):
    shape = [x.shape[j] if (v == 0 and not allowzero) else v for j, v in enumerate(target)]
    return x.reshape([int(s) for s in shape])


class GraphModule(nn.Module):
    """A network built from an :class:`~nasvec.graph.ArchGraph`; ``forward`` follows the graph."""

    def __init__(self, g: ArchGraph, input_shape=None, weights=None):
        super().__init__()
        g.validate()
        self.graph = g
        self.input_shape = default_input_shape(g, input_shape)
        infos = checked_shapes(g, self.input_shape)   # within the size caps
        self.shapes = [i.shape for i in infos]
        self._inputs = g.inputs()
        self._output = next(k for k, n in enumerate(g.nodes) if n.op == "Output")
        last = {}
        for i, ins in enumerate(self._inputs):
            for j in ins:
                last[j] = i
        self._free_after = [[] for _ in g.nodes]
        for j, i in last.items():
            if j != self._output:
                self._free_after[i].append(j)
        self.layers = nn.ModuleDict()
        self._consts = {}
        for i, node in enumerate(g.nodes):
            op, a = node.op, node.attrs
            ins = self._inputs[i]
            x = infos[ins[0]].shape if ins else None
            try:
                if op in ("Conv", "ConvTranspose"):
                    self.layers[str(i)] = _Conv(a, x[1], transpose=op == "ConvTranspose")
                elif op == "BatchNormalization":
                    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[len(x)]
                    self.layers[str(i)] = cls(x[1], eps=a.get("epsilon", 1e-5), momentum=1.0 - a.get("momentum", 0.9))
                elif op == "Gemm" and "out_features" in a:
                    fin = x[0] if a.get("transA", 0) else x[1]
                    self.layers[str(i)] = _Linear(a, fin, bool(a.get("bias", 0)), bool(a.get("transA", 0)))
                elif op == "MatMul" and "out_features" in a:
                    self.layers[str(i)] = _Linear(a, x[-1], False)
                elif op == "Constant":
                    t = torch.as_tensor(np.array(a["value"]))
                    self.register_buffer(f"const{i}", t)
                    self._consts[i] = f"const{i}"
            except GraphError as e:
                raise GraphError(f"{g.label(i)}: {e}") from None
        if weights:
            self.load_onnx_weights(weights)

    def load_onnx_weights(self, weights: dict) -> None:
        """Copy ONNX weights (``{node: {input name: array}}``) into the layers."""
        with torch.no_grad():
            for i, w in weights.items():
                op = self.graph.nodes[i].op
                layer = self.layers[str(i)]
                t = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in w.items()}
                if op in ("Conv", "ConvTranspose"):
                    layer.layer.weight.copy_(t["W"])
                    if "B" in t:
                        layer.layer.bias.copy_(t["B"])
                elif op == "BatchNormalization":
                    layer.weight.copy_(t["scale"])
                    layer.bias.copy_(t["B"])
                    layer.running_mean.copy_(t["input_mean"])
                    layer.running_var.copy_(t["input_var"])
                elif op == "Gemm":
                    b = t["B"] if self.graph.nodes[i].attrs.get("transB", 0) else t["B"].t()
                    layer.layer.weight.copy_(b)
                    if "C" in t:
                        layer.layer.bias.copy_(t["C"].reshape(-1))
                elif op == "MatMul":
                    layer.layer.weight.copy_(t["B"].t())

    def forward(self, x):
        g = self.graph
        vals = [None] * len(g.nodes)
        for i, node in enumerate(g.nodes):
            op, a = node.op, node.attrs
            xs = [vals[j] for j in self._inputs[i]]
            if op == "Input":
                y = x
            elif op == "Output":
                y = xs[0]
            elif op == "Constant":
                y = getattr(self, self._consts[i])
            elif str(i) in self.layers:
                y = self.layers[str(i)](xs[0])
            else:
                y = _apply(op, a, xs, self.training)
            vals[i] = y
            for j in self._free_after[i]:
                vals[j] = None
        return vals[self._output]


def _pad(xs, a, training):
    x = xs[0]
    rank = x.dim()
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}[a.get("mode", "constant")]
    pads = _torch_pad(a["pads"], rank)
    while len(pads) > 2 * max(1, rank - 2) and pads[-2:] == [0, 0] and mode != "constant":
        pads = pads[:-2]
    return F.pad(x, pads, mode=mode, value=a.get("constant_value", 0.0)) if mode == "constant" else F.pad(x, pads, mode=mode)


def _div(xs, a, training):
    if not xs[0].is_floating_point() and not xs[1].is_floating_point():
        return torch.div(xs[0], xs[1], rounding_mode="trunc")
    return xs[0] / xs[1]


def _flatten(xs, a, training):
    x = xs[0]
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _gather(xs, a, training):
    x = xs[0]
    idx = torch.from_numpy(np.array(a["indices"])) if "indices" in a else xs[1]
    axis = a.get("axis", 0) % x.dim()
    if idx.dim() == 0:
        return x.select(axis, int(idx) % x.shape[axis])
    return x.index_select(axis, idx.reshape(-1) % x.shape[axis]).reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])


def _unsqueeze(xs, a, training):
    x = xs[0]
    rank = x.dim() + len(a["axes"])
    for ax in sorted(ax % rank for ax in a["axes"]):
        x = x.unsqueeze(ax)
    return x


def _squeeze(xs, a, training):
    x = xs[0]
    axes = a.get("axes", [j for j, s in enumerate(x.shape) if s == 1])
    for ax in sorted((ax % x.dim() for ax in axes), reverse=True):
        x = x.squeeze(ax)
    return x


def _gemm(xs, a, training):
    A = xs[0].t() if a.get("transA", 0) else xs[0]
    B = xs[1].t() if a.get("transB", 0) else xs[1]
    return a.get("alpha", 1.0) * A @ B


def _dropout(xs, a, training):
    return F.dropout(xs[0], a.get("ratio", 0.5), training) if training else xs[0]


def _clip(xs, a, training):
    x = xs[0]
    return x if a.get("min") is None and a.get("max") is None else torch.clamp(x, a.get("min"), a.get("max"))


#: op -> ``(inputs, attrs, training) -> output`` for the ops without learned weights
FUNCTIONS = {
    "Relu": lambda xs, a, tr: F.relu(xs[0]),
    "LeakyRelu": lambda xs, a, tr: F.leaky_relu(xs[0], a.get("alpha", 0.01)),
    "Sigmoid": lambda xs, a, tr: torch.sigmoid(xs[0]),
    "Tanh": lambda xs, a, tr: torch.tanh(xs[0]),
    "Elu": lambda xs, a, tr: F.elu(xs[0], a.get("alpha", 1.0)),
    "HardSigmoid": lambda xs, a, tr: torch.clamp(a.get("alpha", 0.2) * xs[0] + a.get("beta", 0.5), 0.0, 1.0),
    "HardSwish": lambda xs, a, tr: F.hardswish(xs[0]),
    "Clip": _clip,
    "Identity": lambda xs, a, tr: xs[0],
    "Dropout": _dropout,
    "Softmax": lambda xs, a, tr: torch.softmax(xs[0], a.get("axis", -1)),
    "Add": lambda xs, a, tr: xs[0] + xs[1],
    "Sub": lambda xs, a, tr: xs[0] - xs[1],
    "Mul": lambda xs, a, tr: xs[0] * xs[1],
    "Div": _div,
    "MaxPool": lambda xs, a, tr: _pool(xs[0], a, "max"),
    "AveragePool": lambda xs, a, tr: _pool(xs[0], a, "avg"),
    "GlobalAveragePool": lambda xs, a, tr: xs[0].mean(dim=tuple(range(2, xs[0].dim())), keepdim=True),
    "GlobalMaxPool": lambda xs, a, tr: xs[0].amax(dim=tuple(range(2, xs[0].dim())), keepdim=True),
    "Flatten": _flatten,
    "Concat": lambda xs, a, tr: torch.cat(xs, a.get("axis", 0)),
    "Reshape": lambda xs, a, tr: _reshape(xs[0], a["shape"] if "shape" in a else [int(v) for v in xs[1].tolist()],
                                          a.get("allowzero", 0)),
    "Transpose": lambda xs, a, tr: xs[0].permute(*a.get("perm", range(xs[0].dim() - 1, -1, -1))),
    "Pad": _pad,
    "Slice": lambda xs, a, tr: _slice(xs, a),
    "ReduceMean": lambda xs, a, tr: xs[0].mean(dim=tuple(a.get("axes", list(range(xs[0].dim())))),
                                               keepdim=bool(a.get("keepdims", 1))),
    "Shape": lambda xs, a, tr: torch.tensor(list(xs[0].shape)[a.get("start", 0):a.get("end", xs[0].dim())],
                                            dtype=torch.long),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "MatMul": lambda xs, a, tr: torch.matmul(xs[0], xs[1]),
    "Gemm": _gemm,
}


def _apply(op, a, xs, training):
    f = FUNCTIONS.get(op)
    if f is None:
        raise GraphError(f"op {op} has no torch implementation")
    return f(xs, a, training)


def to_torch(g: ArchGraph, input_shape=None, weights=None) -> GraphModule:
    """A trainable ``torch.nn.Module`` for ``g`` (fresh torch-default weights unless ``weights`` are given)."""
    require_graph(g, "to_torch")
    return GraphModule(g, input_shape, weights)
