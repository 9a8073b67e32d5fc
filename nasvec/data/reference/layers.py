"""Building blocks shared by the reference CNNs (:mod:`nasvec.data.reference`): conv-BN-activation,
squeeze-and-excitation, the classifier head, argument checks."""

from __future__ import annotations

import torch
from torch import nn

from ...errors import ConfigError

# ---------------------------------------------------------------------------------------------
# shared building blocks


def check_builder_args(num_classes, in_channels, small_input):
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(small_input, bool):
        raise ConfigError(f"small_input must be True or False, got {small_input!r}")


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10% (MobileNet)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_bn_act(inp, out, kernel=3, stride=1, groups=1, act=nn.ReLU, padding=None, bn=None):
    """Conv (no bias) -> BatchNorm -> activation (``act=None``: none)."""
    padding = (kernel - 1) // 2 if padding is None else padding
    layers = [nn.Conv2d(inp, out, kernel, stride, padding, groups=groups, bias=False),
              (bn or nn.BatchNorm2d)(out)]
    if act is not None:
        layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU) else act())
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: GlobalAveragePool -> 1x1 conv -> act -> 1x1 conv -> gate -> Mul."""

    def __init__(self, channels, squeeze, act=nn.ReLU, gate=nn.Sigmoid):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = act()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = gate()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class Classifier(nn.Module):
    """Global average pool -> flatten -> (dropout) -> linear."""

    def __init__(self, inp, num_classes, dropout=0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(inp, num_classes)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


def stem_stride_of(small_input):
    return 1 if small_input else 2
