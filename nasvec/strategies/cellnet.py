"""The NAS-Bench-201 network in plain torch (introduced in chapter 7).

A cell of NAS-Bench-201 is a small directed acyclic graph on 4 nodes: node 0 is the cell's input,
node ``j`` is the sum over ``i < j`` of ``op_(i->j)(node i)``, node 3 is the output. Each of the 6
edges (:data:`~nasvec.data.nb201.NB201_EDGES`, order 0->1, 0->2, 0->3, 1->2, 1->3, 2->3) carries one
of the five ops :data:`~nasvec.data.nb201.NB201_OPS`: ``skip_connect`` (identity, id 0), ``none``
(zeros, 1), ``nor_conv_3x3`` (ReLU-Conv-BN, 2), ``nor_conv_1x1`` (3) and ``avg_pool_3x3`` (stride 1,
padding 1, padding not counted, 4). So a cell is 6 op ids, and there are 5^6 = 15,625 cells.

The macro skeleton (:class:`CellNet`) is NAS-Bench-201's: a 3x3 convolution and BatchNorm stem;
three stages of ``cells_per_stage`` cells at ``C``, ``2C`` and ``4C`` channels; between stages the
residual reduction block (ReLU-Conv3x3-BN with stride 2, ReLU-Conv3x3-BN, plus a shortcut of
2x2 average pooling and a 1x1 convolution); then BatchNorm, ReLU, global average pooling and a
linear classifier. ``CellNet(cell)`` with the defaults (C = 16, 5 cells per stage, 3 input channels,
10 classes) is the network whose CIFAR-10 accuracies the NAS-Bench-201 table records.

:class:`Skeleton` holds the macro structure for any cell module; chapter 7's weight-sharing
supernet (:mod:`nasvec.strategies.oneshot`) puts its mixed cells in the same skeleton.
"""

from __future__ import annotations

import numbers
from typing import Callable, Sequence

import torch
from torch import nn

from ..data.nb201 import NB201_EDGES, NB201_OPS
from ..errors import SearchError

N_OPS = len(NB201_OPS)
N_EDGES = len(NB201_EDGES)
#: the table columns of a cell's op ids, one per edge in :data:`~nasvec.data.nb201.NB201_EDGES` order
EDGE_COLUMNS = tuple(f"e{a}{b}" for a, b in NB201_EDGES)


def check_cell(cell) -> tuple:
    """``cell`` as a tuple of 6 ints in 0..4; anything else is one :class:`~nasvec.errors.SearchError`
    that names the bad value and its edge."""
    try:
        ops = list(cell)
    except TypeError:
        raise SearchError(f"a cell must be 6 op ids (0..4), got {cell!r}") from None
    if len(ops) != N_EDGES:
        raise SearchError(f"a cell must have {N_EDGES} op ids (one per edge {_edge_names()}), "
                          f"got {len(ops)}: {cell!r}")
    out = []
    for (src, dst), op in zip(NB201_EDGES, ops):
        if isinstance(op, bool) or not isinstance(op, numbers.Integral) or not 0 <= int(op) < N_OPS:
            raise SearchError(f"cell {tuple(cell)!r}: edge {src}->{dst} has op id {op!r}; op ids are 0..{N_OPS - 1} "
                              f"({', '.join(f'{i} {n}' for i, n in enumerate(NB201_OPS))})")
        out.append(int(op))
    return tuple(out)


def _edge_names() -> str:
    return ", ".join(f"{a}->{b}" for a, b in NB201_EDGES)


def cell_string(cell) -> str:
    """The op names per edge, ``|``-separated: ``"nor_conv_3x3~01|skip_connect~02|..."``."""
    return "|".join(f"{NB201_OPS[o]}~{a}{b}" for (a, b), o in zip(NB201_EDGES, check_cell(cell)))


# --------------------------------------------------------------------------- ops
class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride=1, affine=True, track=True):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(op: int, c: int, affine: bool = True, track: bool = True) -> nn.Module:
    """The module of op id ``op`` on ``c`` channels (stride 1, as every op inside a cell)."""
    name = NB201_OPS[op]
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero()
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, affine, track)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, affine, track)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Cell(nn.Module):
    """One NAS-Bench-201 cell on ``c`` channels: node ``j`` = sum over ``i < j`` of ``op_(i->j)(node i)``."""

    def __init__(self, cell, c: int):
        super().__init__()
        self.cell = check_cell(cell)
        self.ops = nn.ModuleList(make_op(o, c) for o in self.cell)

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(self.ops[e](nodes[a]) for e, (a, b) in enumerate(NB201_EDGES) if b == j))
        return nodes[3]


class ResBlock(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-Conv3x3-BN (the first with stride 2) plus a shortcut of
    2x2 average pooling and a 1x1 convolution (the pooling rounds odd sizes up, as the strided conv does)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class Skeleton(nn.Module):
    """The macro structure: stem, three stages of cells (``make_cell(c)``) with :class:`ResBlock` between
    them, BN-ReLU, global average pooling, linear. ``forward(x, *extra)`` hands ``extra`` to every cell."""

    def __init__(self, make_cell: Callable[[int], nn.Module], channels: int = 16, cells_per_stage: int = 5,
                 in_channels: int = 3, n_classes: int = 10):
        super().__init__()
        for name, value in (("channels", channels), ("cells_per_stage", cells_per_stage),
                            ("in_channels", in_channels), ("n_classes", n_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SearchError(f"CellNet: {name} must be a positive integer, got {value!r}")
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        blocks: list[nn.Module] = []
        for stage in range(3):
            if stage:
                blocks.append(ResBlock(c, 2 * c))
                c *= 2
            blocks += [make_cell(c) for _ in range(cells_per_stage)]
        self.blocks = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x, *extra):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x) if isinstance(block, ResBlock) else block(x, *extra)
        return self.classifier(self.pool(self.lastact(x)).flatten(1))


class CellNet(Skeleton):
    """The NAS-Bench-201 network of ``cell`` (6 op ids in :data:`~nasvec.data.nb201.NB201_EDGES` order).

    The defaults are NAS-Bench-201's CIFAR-10 network; chapter 7's live benchmark uses small ``channels``
    and ``cells_per_stage`` on 1-channel images. A cell that is not 6 ids in 0..4 is a
    :class:`~nasvec.errors.SearchError`.
    """

    def __init__(self, cell: Sequence[int], channels: int = 16, cells_per_stage: int = 5, in_channels: int = 3,
                 n_classes: int = 10):
        self.cell = check_cell(cell)
        super().__init__(lambda c: Cell(self.cell, c), channels, cells_per_stage, in_channels, n_classes)


def count_params(net: nn.Module) -> int:
    """The number of parameters of ``net`` (every tensor ``net.parameters()`` yields)."""
    return sum(p.numel() for p in net.parameters())


@torch.no_grad()
def output_shape(net: nn.Module, input_shape: Sequence[int]) -> tuple:
    """The output shape of ``net`` on a zero batch of ``input_shape`` (eval mode, the mode restored)."""
    mode = net.training
    net.eval()
    out = net(torch.zeros(*input_shape))
    net.train(mode)
    return tuple(out.shape)
