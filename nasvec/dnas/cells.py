"""The DARTS cell search space: super-network with mixed ops, genotypes, discrete networks.

A cell has two inputs (the outputs of the two previous cells) and four intermediate nodes; node
``j`` sums one operation on each edge from every earlier state, so a cell has 2+3+4+5 = 14 edges
and the cell's output concatenates the four nodes. A network is a stem, a sequence of normal and
reduction cells (reduction cells halve the resolution and double the channels; all cells of one
type share one architecture, as in DARTS), global average pooling and a linear classifier. An
architecture is thus 2 x 14 = 28 edges, each with one op.

In the super-network each edge holds a mixed op ``g(x) = sum_m gamma_m o_m(x)``; ``gamma`` for all
28 edges is a tensor ``(2, 14, k)`` (row 0 the normal cell, row 1 the reduction cell).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
from torch import nn

from ..config import Config, check
from ..errors import SearchError
from .ops import OP_KIND, FactorizedReduce, ReLUConvBN, make_op, resolve_ops

N_NODES = 4
EDGES = tuple((src, node) for node in range(N_NODES) for src in range(node + 2))  # (source state, node)
N_EDGES = len(EDGES)  # 14
CELL_TYPES = ("normal", "reduction")


@dataclass(frozen=True)
class NetConfig(Config):
    """The network around the cells: candidate ops (``"slides"``, ``"darts"`` or names), channels of
    the first cell, the cell sequence (``normal`` / ``reduction``), the stem's stride."""

    ops: tuple = "slides"
    channels: int = 8
    layers: tuple = ("normal", "reduction", "normal")
    stem_stride: int = 1

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(resolve_ops(self.ops)))
        object.__setattr__(self, "layers", tuple(self.layers))
        check(isinstance(self.channels, int) and self.channels > 0, f"net: channels must be a positive integer, "
                                                                     f"got {self.channels!r}")

    def kwargs(self, images) -> dict:
        """Constructor arguments of :class:`~nasvec.dnas.SuperNet` / :class:`~nasvec.dnas.Network` for ``images``."""
        return {"channels": self.channels, "layers": self.layers, "stem_stride": self.stem_stride,
                "in_channels": images.shape[0], "n_classes": images.num_classes}

    def describe(self) -> str:
        return (f"{' → '.join(self.layers)}, {self.channels} channels, stem stride {self.stem_stride}; "
                f"ops {', '.join(self.ops)}")


@dataclass(frozen=True)
class Genotype:
    """A discrete architecture: for each cell type, edges ``(op, source state, node)``.

    States 0 and 1 are the cell's inputs, state ``2 + j`` is intermediate node ``j``.
    """

    normal: tuple
    reduction: tuple
    ops: tuple

    def __post_init__(self):
        object.__setattr__(self, "normal", tuple(tuple(e) for e in self.normal))
        object.__setattr__(self, "reduction", tuple(tuple(e) for e in self.reduction))
        object.__setattr__(self, "ops", tuple(self.ops))
        self.validate()

    def validate(self):
        for cell in CELL_TYPES:
            edges = getattr(self, cell)
            seen = set()
            for edge in edges:
                if len(edge) != 3:
                    raise SearchError(f"genotype {cell} cell: edge {edge!r} is not (op, source, node)")
                op, src, node = edge
                if op not in self.ops:
                    raise SearchError(f"genotype {cell} cell: op {op!r} is not in the op set {list(self.ops)}")
                if not (0 <= node < N_NODES) or not (0 <= src < node + 2):
                    raise SearchError(f"genotype {cell} cell: edge {src}->{node} is not an edge of the cell "
                                      f"(node in 0..{N_NODES - 1}, source in 0..node+1)")
                if (src, node) in seen:
                    raise SearchError(f"genotype {cell} cell: edge {src}->{node} appears twice")
                seen.add((src, node))
            missing = [n for n in range(N_NODES) if not any(e[2] == n for e in edges)]
            if missing:
                raise SearchError(f"genotype {cell} cell: node(s) {missing} have no incoming edge")

    def edges(self) -> int:
        return len(self.normal) + len(self.reduction)

    def counts(self) -> dict:
        """Op name -> number of edges using it, over both cells (every op of the set, zeros included)."""
        c = Counter(e[0] for cell in CELL_TYPES for e in getattr(self, cell))
        return {op: c.get(op, 0) for op in self.ops}

    def kind_counts(self) -> dict:
        """``pool / conv / identity / none`` counts, as the slides count them."""
        out = {"pool": 0, "conv": 0, "identity": 0, "none": 0}
        for op, n in self.counts().items():
            out[OP_KIND[op]] += n
        return out

    def key(self) -> str:
        return "|".join(f"{cell}:" + ",".join(f"{op}@{src}>{node}" for op, src, node in getattr(self, cell))
                        for cell in CELL_TYPES)

    def to_dict(self) -> dict:
        return {"normal": [list(e) for e in self.normal], "reduction": [list(e) for e in self.reduction],
                "ops": list(self.ops)}

    @classmethod
    def from_dict(cls, d: dict) -> "Genotype":
        return cls(d["normal"], d["reduction"], d["ops"])


def derive(alpha: torch.Tensor, ops, rule: str = "argmax") -> Genotype:
    """The discrete architecture of logits ``alpha`` ``(2, 14, k)``.

    ``rule="argmax"`` keeps all 14 edges of a cell with the op of largest logit (the slides' 28-edge
    architectures); ``rule="top2"`` is DARTS' rule: each node keeps its two incoming edges with the
    strongest op. ``none`` is never chosen when the set has other ops (as in DARTS).
    """
    ops = resolve_ops(ops)
    alpha = torch.as_tensor(alpha).detach().float()
    if alpha.shape != (2, N_EDGES, len(ops)):
        raise SearchError(f"alpha must have shape (2, {N_EDGES}, {len(ops)}), got {tuple(alpha.shape)}")
    if rule not in ("argmax", "top2"):
        raise SearchError(f"rule must be 'argmax' or 'top2', got {rule!r}")
    prob = torch.softmax(alpha, dim=-1)
    if "none" in ops:
        prob[..., ops.index("none")] = -1.0
    cells = []
    for c in range(2):
        best = prob[c].argmax(dim=-1).tolist()
        strength = prob[c].max(dim=-1).values.tolist()
        edges = [(ops[best[i]], src, node) for i, (src, node) in enumerate(EDGES)]
        if rule == "top2":
            kept = []
            for node in range(N_NODES):
                idx = [i for i, (_, n) in enumerate(EDGES) if n == node]
                idx = sorted(sorted(idx, key=lambda i: -strength[i])[:2])
                kept += [edges[i] for i in idx]
            edges = kept
        cells.append(tuple(edges))
    return Genotype(cells[0], cells[1], ops)


def _check_layers(layers: Sequence[str]) -> tuple:
    layers = tuple(layers)
    bad = [c for c in layers if c not in CELL_TYPES]
    if bad or not layers:
        raise SearchError(f"layers must be a non-empty list of 'normal'/'reduction', got {list(layers)}")
    return layers


class _Cell(nn.Module):
    def __init__(self, c_pp, c_p, c, reduction, reduction_prev, affine):
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_pp, c, affine) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0, affine)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0, affine)

    def stride(self, src):
        return 2 if self.reduction and src < 2 else 1


class MixedOp(nn.Module):
    """``sum_m gamma_m o_m(x)`` over the op set."""

    def __init__(self, ops, c, stride):
        super().__init__()
        self.ops = nn.ModuleList(make_op(o, c, stride, affine=False, search=True) for o in ops)

    def forward(self, x, gamma):
        if torch.is_grad_enabled():   # the search: every weight of a Gumbel-softmax draw is positive
            return sum(g * op(x) for g, op in zip(gamma, self.ops))
        # evaluation: an op of weight 0 (a one-hot gamma, a derived architecture on the shared weights) is skipped
        keep = (gamma != 0).tolist()
        return sum(g * op(x) for g, op, k in zip(gamma, self.ops, keep) if k)


class SearchCell(_Cell):
    def __init__(self, ops, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__(c_pp, c_p, c, reduction, reduction_prev, affine=False)
        self.edges = nn.ModuleList(MixedOp(ops, c, self.stride(src)) for src, _ in EDGES)

    def forward(self, s0, s1, gamma):
        states = [self.pre0(s0), self.pre1(s1)]
        i = 0
        for node in range(N_NODES):
            states.append(sum(self.edges[i + src](states[src], gamma[i + src]) for src in range(node + 2)))
            i += node + 2
        return torch.cat(states[2:], dim=1)


class DiscreteCell(_Cell):
    def __init__(self, edges, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__(c_pp, c_p, c, reduction, reduction_prev, affine=True)
        self.spec = tuple(edges)
        self.ops = nn.ModuleList(make_op(op, c, self.stride(src)) for op, src, _ in self.spec)

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(N_NODES):
            states.append(sum(self.ops[i](states[src]) for i, (_, src, n) in enumerate(self.spec) if n == node))
        return torch.cat(states[2:], dim=1)


class _Net(nn.Module):
    def __init__(self, make_cell, channels, layers, in_channels, n_classes, stem_stride):
        super().__init__()
        if not (isinstance(channels, int) and channels > 0):
            raise SearchError(f"channels must be a positive integer, got {channels!r}")
        if stem_stride not in (1, 2):
            raise SearchError(f"stem_stride must be 1 or 2, got {stem_stride!r}")
        self.layers = _check_layers(layers)
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, reduction_prev = c, c, False
        self.cells = nn.ModuleList()
        for kind in self.layers:
            reduction = kind == "reduction"
            if reduction:
                c *= 2
            self.cells.append(make_cell(c_pp, c_p, c, reduction, reduction_prev))
            c_pp, c_p, reduction_prev = c_p, N_NODES * c, reduction
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, n_classes)

    def _head(self, s1):
        return self.classifier(self.pool(s1).flatten(1))


class SuperNet(_Net):
    """The weight-sharing network of the search; ``forward(x, gamma)`` with ``gamma`` ``(2, 14, k)``."""

    def __init__(self, ops="slides", channels: int = 8, layers=("normal", "reduction", "normal"),
                 in_channels: int = 1, n_classes: int = 10, stem_stride: int = 1):
        self.op_names = resolve_ops(ops)
        super().__init__(lambda *a: SearchCell(self.op_names, *a), channels, layers, in_channels, n_classes,
                         stem_stride)

    def forward(self, x, gamma):
        if gamma.shape != (2, N_EDGES, len(self.op_names)):
            raise SearchError(f"gamma must have shape (2, {N_EDGES}, {len(self.op_names)}), got {tuple(gamma.shape)}")
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, gamma[1 if cell.reduction else 0])
        return self._head(s1)


class Network(_Net):
    """A discrete network built from a :class:`Genotype`, trained from scratch."""

    def __init__(self, genotype: Genotype, channels: int = 8, layers=("normal", "reduction", "normal"),
                 in_channels: int = 1, n_classes: int = 10, stem_stride: int = 1):
        if not isinstance(genotype, Genotype):
            raise SearchError(f"genotype must be a Genotype, got {type(genotype).__name__}")
        self.genotype = genotype
        super().__init__(lambda c_pp, c_p, c, red, red_prev: DiscreteCell(
            genotype.reduction if red else genotype.normal, c_pp, c_p, c, red, red_prev),
            channels, layers, in_channels, n_classes, stem_stride)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self._head(s1)


def one_hot(genotype: Genotype) -> torch.Tensor:
    """The ``gamma`` ``(2, 14, k)`` that makes a :class:`SuperNet` compute ``genotype`` on its shared weights: 1 for
    each edge's op, 0 elsewhere (an edge the genotype leaves out gets all zeros). Introduced in chapter 5."""
    gamma = torch.zeros(2, N_EDGES, len(genotype.ops))
    for c, cell in enumerate(CELL_TYPES):
        for op, src, node in getattr(genotype, cell):
            gamma[c, EDGES.index((src, node)), genotype.ops.index(op)] = 1.0
    return gamma


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=None)
def op_params(op: str, channels: int, stride: int) -> int:
    """Parameters of one op as the search builds it (batch norm without learned scale and shift)."""
    return count_params(make_op(op, channels, stride, affine=False, search=True))


def cell_widths(channels: int, layers) -> list[tuple[str, int]]:
    """``(cell type, channels)`` of each cell: a reduction cell doubles the channels."""
    out, c = [], channels
    for kind in layers:
        c *= 2 if kind == "reduction" else 1
        out.append((kind, c))
    return out


def edge_params(genotype, channels: int, layers) -> int:
    """The slides' count: parameters of the op on every edge of every cell (stem, the cells' 1x1 input convolutions
    and the classifier left out), ops as the search builds them."""
    total = 0
    for kind, c in cell_widths(channels, layers):
        for op, src, _ in getattr(genotype, kind):
            total += op_params(op, c, 2 if kind == "reduction" and src < 2 else 1)
    return total
