"""Candidate operations of the DARTS search space (chapter 5, "Complexity-controlled search").

Every operation maps ``C`` channels to ``C`` channels; ``stride=2`` halves the resolution (edges
that leave a reduction cell's inputs). The slides use three operations, ordered as the paper's
complexity vector ``s = (pool, identity, conv)``; DARTS' full set (Liu et al., 2019) is available
by name, plus the plain 3x3 convolution of the slides.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import SearchError

SLIDES_OPS = ("max_pool_3x3", "skip_connect", "conv_3x3")  # s = (pool, identity, conv), the slides' order
# the same with the convolution the slides' parameter counts imply (chapter 5: a DARTS separable 3x3 convolution)
SLIDES_SEP_OPS = ("max_pool_3x3", "skip_connect", "sep_conv_3x3")
DARTS_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
             "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
OP_KIND = {  # coarse family of each op, used to count "pool / conv / identity" as the slides do
    "none": "none", "max_pool_3x3": "pool", "avg_pool_3x3": "pool", "skip_connect": "identity",
    "conv_3x3": "conv", "sep_conv_3x3": "conv", "sep_conv_5x5": "conv", "dil_conv_3x3": "conv",
    "dil_conv_5x5": "conv",
}
OP_SETS = {"slides": SLIDES_OPS, "slides-sep": SLIDES_SEP_OPS, "darts": DARTS_OPS}


def resolve_ops(ops: str | Sequence[str]) -> tuple[str, ...]:
    """An op set: ``"slides"``, ``"darts"`` or a sequence of op names (checked, order kept)."""
    if isinstance(ops, str):
        if ops not in OP_SETS:
            raise SearchError(f"ops: unknown op set {ops!r}; use one of {sorted(OP_SETS)} or a list of op names "
                              f"from {sorted(OP_KIND)}")
        return OP_SETS[ops]
    names = tuple(ops)
    unknown = [o for o in names if o not in OP_KIND]
    if unknown:
        raise SearchError(f"ops: unknown op name(s) {unknown}; known ops are {sorted(OP_KIND)}")
    if len(names) < 2:
        raise SearchError(f"ops: need at least two candidate operations, got {list(names)}")
    if len(set(names)) != len(names):
        raise SearchError(f"ops: duplicate op names in {list(names)}")
    return names


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding, affine=True):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding, dilation, affine=True):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, affine=affine))


class SepConv(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding, affine=True):
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
                         DilConv(c_in, c_out, kernel, 1, padding, 1, affine))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """DARTS' stride-2 identity: two offset 1x1 convolutions, concatenated (needs an even size)."""

    def __init__(self, c_in, c_out, affine=True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            x = nn.functional.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
        return self.bn(torch.cat([self.conv1(x), self.conv2(x[:, :, 1:, 1:])], dim=1))


def make_op(name: str, channels: int, stride: int = 1, affine: bool = True, search: bool = False) -> nn.Module:
    """Build op ``name`` on ``channels`` channels. ``search=True`` adds DARTS' non-affine BN after pooling."""
    if name not in OP_KIND:
        raise SearchError(f"op: unknown op name {name!r}; known ops are {sorted(OP_KIND)}")
    if stride not in (1, 2):
        raise SearchError(f"stride must be 1 or 2, got {stride!r}")
    c = channels
    if name == "none":
        return Zero(stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool = (nn.MaxPool2d(3, stride, padding=1) if name == "max_pool_3x3"
                else nn.AvgPool2d(3, stride, padding=1, count_include_pad=False))
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if search else pool
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    if name == "conv_3x3":
        return ReLUConvBN(c, c, 3, stride, 1, affine)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1, affine)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2, affine)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, affine)
    return DilConv(c, c, 5, stride, 4, 2, affine)  # dil_conv_5x5
