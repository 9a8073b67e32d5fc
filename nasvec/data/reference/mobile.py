"""Reference CNNs of the mobile families: MobileNet v2 / v3, MNASNet, EfficientNet-B0, ShuffleNet v2, RegNetX."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from .layers import Classifier, SqueezeExcite, check_builder_args, make_divisible, stem_stride_of, conv_bn_act

# ---------------------------------------------------------------------------------------------
# Inverted residuals: MobileNetV2 (Sandler et al. 2018), MobileNetV3 (Howard et al. 2019),
# MnasNet (Tan et al. 2019), EfficientNet-B0 (Tan & Le 2019)


class InvertedResidual(nn.Module):
    """1x1 expand -> depthwise kxk -> (squeeze-excite) -> 1x1 project, residual when shapes agree."""

    def __init__(self, inp, hidden, out, kernel=3, stride=1, act=nn.ReLU6, se=None, bn=None):
        super().__init__()
        layers = []
        if hidden != inp:
            layers.append(conv_bn_act(inp, hidden, 1, act=act, bn=bn))
        layers.append(conv_bn_act(hidden, hidden, kernel, stride, groups=hidden, act=act, bn=bn))
        if se is not None:
            layers.append(se(hidden))
        layers.append(conv_bn_act(hidden, out, 1, act=None, bn=bn))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == out

    def forward(self, x):
        out = self.block(x)
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    # expansion t, output channels c, repeats n, stride s
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))

    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        layers = [conv_bn_act(in_channels, 32, 3, stem_stride_of(small_input), act=nn.ReLU6)]
        inp = 32
        for k, (t, c, n, s) in enumerate(self.SETTINGS):
            if small_input and k == 1:
                s = 1
            for i in range(n):
                layers.append(InvertedResidual(inp, inp * t, c, 3, s if i == 0 else 1))
                inp = c
        layers.append(conv_bn_act(inp, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.head = Classifier(1280, num_classes, dropout=0.2)

    def forward(self, x):
        return self.head(self.features(x))


def mobilenet_v2(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return MobileNetV2(num_classes, in_channels, small_input)


# (input, kernel, expanded, output, squeeze-excite, activation, stride)
_V3_LARGE = (
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1),
)
_V3_SMALL = (
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1),
)


class MobileNetV3(nn.Module):
    def __init__(self, config, last_channel, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        bn = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers = [conv_bn_act(in_channels, 16, 3, stem_stride_of(small_input), act=nn.Hardswish, bn=bn)]
        first_stride2 = True
        for inp, k, exp, out, use_se, act, s in config:
            if small_input and s == 2 and first_stride2:
                s, first_stride2 = 1, False
            se = _v3_se if use_se else None
            layers.append(InvertedResidual(inp, exp, out, k, s, nn.Hardswish if act == "HS" else nn.ReLU, se, bn))
        inp = config[-1][3]
        layers.append(conv_bn_act(inp, 6 * inp, 1, act=nn.Hardswish, bn=bn))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(6 * inp, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _v3_se(channels):
    return SqueezeExcite(channels, make_divisible(channels // 4, 8), nn.ReLU, nn.Hardsigmoid)


def mobilenet_v3_large(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return MobileNetV3(_V3_LARGE, 1280, num_classes, in_channels, small_input)


def mobilenet_v3_small(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return MobileNetV3(_V3_SMALL, 1024, num_classes, in_channels, small_input)


class MNASNet(nn.Module):
    # input, output, kernel, stride, expansion, repeats (depth multiplier 1.0)
    STACKS = ((16, 24, 3, 2, 3, 3), (24, 40, 5, 2, 3, 3), (40, 80, 5, 2, 6, 3), (80, 96, 3, 1, 6, 2),
              (96, 192, 5, 2, 6, 4), (192, 320, 3, 1, 6, 1))

    def __init__(self, num_classes=1000, in_channels=3, small_input=False, alpha=1.0):
        super().__init__()
        bn = partial(nn.BatchNorm2d, momentum=1 - 0.9997)
        w = lambda c: _mnas_round(c * alpha)   # the width multiplier, rounded as torchvision rounds it
        layers = [conv_bn_act(in_channels, w(32), 3, stem_stride_of(small_input), bn=bn),
                  conv_bn_act(w(32), w(32), 3, 1, groups=w(32), bn=bn),
                  conv_bn_act(w(32), w(16), 1, act=None, bn=bn)]
        for k, (inp, out, kernel, stride, exp, n) in enumerate(self.STACKS):
            inp, out = w(inp), w(out)
            if small_input and k == 0:
                stride = 1
            for i in range(n):
                first = i == 0
                layers.append(InvertedResidual(inp if first else out, (inp if first else out) * exp, out, kernel,
                                               stride if first else 1, nn.ReLU, None, bn))
        layers.append(conv_bn_act(w(320), 1280, 1, bn=bn))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))


def _mnas_round(value, divisor=8, bias=0.9):
    """A width rounded to a multiple of 8, never below 90 % of ``value`` (MNASNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded if rounded >= bias * value else rounded + divisor


def mnasnet1_0(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return MNASNet(num_classes, in_channels, small_input)


def mnasnet0_5(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return MNASNet(num_classes, in_channels, small_input, alpha=0.5)


class EfficientNet(nn.Module):
    # expansion, kernel, stride, input, output, repeats (B0: width and depth multipliers 1.0)
    STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
              (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))

    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        layers = [conv_bn_act(in_channels, 32, 3, stem_stride_of(small_input), act=nn.SiLU)]
        for k, (t, kernel, stride, inp, out, n) in enumerate(self.STAGES):
            if small_input and k == 1:
                stride = 1
            for i in range(n):
                cin = inp if i == 0 else out
                se = partial(_b0_se, squeeze=max(1, cin // 4))
                layers.append(InvertedResidual(cin, cin * t, out, kernel, stride if i == 0 else 1, nn.SiLU, se))
        layers.append(conv_bn_act(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.head = Classifier(1280, num_classes, dropout=0.2)

    def forward(self, x):
        return self.head(self.features(x))


def _b0_se(channels, squeeze):
    return SqueezeExcite(channels, squeeze, nn.SiLU, nn.Sigmoid)


def efficientnet_b0(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return EfficientNet(num_classes, in_channels, small_input)


# ---------------------------------------------------------------------------------------------
# ShuffleNetV2 x1.0 and x0.5 (Ma et al. 2018)


class ShuffleUnit(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.stride, half = stride, out // 2
        self.half = half
        if stride > 1:
            self.branch1 = nn.Sequential(conv_bn_act(inp, inp, 3, stride, groups=inp, act=None),
                                         conv_bn_act(inp, half, 1))
        self.branch2 = nn.Sequential(conv_bn_act(inp if stride > 1 else half, half, 1),
                                     conv_bn_act(half, half, 3, stride, groups=half, act=None),
                                     conv_bn_act(half, half, 1))

    def forward(self, x):
        if self.stride == 1:  # channel split by slicing (one Slice node each, never a multi-output Split)
            out = torch.cat([x[:, :self.half], self.branch2(x[:, self.half:])], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        b, c, h, w = out.shape  # channel shuffle, 2 groups: Reshape -> Transpose -> Reshape
        return out.reshape(-1, 2, c // 2, h, w).transpose(1, 2).reshape(-1, c, h, w)  # -1: any batch size


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024), num_classes=1000,
                 in_channels=3, small_input=False):
        super().__init__()
        stem = [conv_bn_act(in_channels, channels[0], 3, stem_stride_of(small_input))]
        if not small_input:
            stem.append(nn.MaxPool2d(3, 2, 1))
        layers, inp = stem, channels[0]
        for n, out in zip(repeats, channels[1:4]):
            for i in range(n):
                layers.append(ShuffleUnit(inp, out, 2 if i == 0 else 1))
                inp = out
        layers.append(conv_bn_act(inp, channels[-1], 1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels[-1], num_classes)

    def forward(self, x):
        return self.fc(self.features(x).mean([2, 3]))


def shufflenet_v2_x1_0(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return ShuffleNetV2(num_classes=num_classes, in_channels=in_channels, small_input=small_input)


def shufflenet_v2_x0_5(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return ShuffleNetV2(channels=(24, 48, 96, 192, 1024), num_classes=num_classes, in_channels=in_channels,
                        small_input=small_input)


# ---------------------------------------------------------------------------------------------
# RegNetX-400MF and RegNetY-400MF (Radosavovic et al. 2020)


def regnet_widths(depth, w_0, w_a, w_m, group_width, quant=8):
    """Stage widths, depths and group widths of a RegNet from its quantised linear parameters."""
    capacity = [round(math.log((i * w_a + w_0) / w_0) / math.log(w_m)) for i in range(depth)]
    widths = [int(round(w_0 * w_m ** c / quant) * quant) for c in capacity]
    stage_widths, stage_depths = [], []
    for w in widths:
        if stage_widths and stage_widths[-1] == w:
            stage_depths[-1] += 1
        else:
            stage_widths.append(w)
            stage_depths.append(1)
    groups = [min(group_width, w) for w in stage_widths]
    stage_widths = [make_divisible(w, g) for w, g in zip(stage_widths, groups)]
    return stage_widths, stage_depths, groups


class RegNetBlock(nn.Module):
    def __init__(self, inp, out, stride, group_width, se_ratio=0.0):
        super().__init__()
        self.proj = None
        if inp != out or stride != 1:
            self.proj = conv_bn_act(inp, out, 1, stride, act=None)
        se = [SqueezeExcite(out, int(round(se_ratio * inp)))] if se_ratio else []   # RegNetY
        self.f = nn.Sequential(conv_bn_act(inp, out, 1), conv_bn_act(out, out, 3, stride, groups=out // group_width),
                               *se, conv_bn_act(out, out, 1, act=None))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.proj is None else self.proj(x)
        return self.relu(identity + self.f(x))


class RegNet(nn.Module):
    def __init__(self, depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16, num_classes=1000,
                 in_channels=3, small_input=False, se_ratio=0.0):
        super().__init__()
        layers, inp = [conv_bn_act(in_channels, 32, 3, stem_stride_of(small_input))], 32
        for k, (w, d, g) in enumerate(zip(*regnet_widths(depth, w_0, w_a, w_m, group_width))):
            for i in range(d):
                stride = 2 if i == 0 and not (small_input and k == 0) else 1
                layers.append(RegNetBlock(inp, w, stride, g, se_ratio))
                inp = w
        self.features = nn.Sequential(*layers)
        self.head = Classifier(inp, num_classes)

    def forward(self, x):
        return self.head(self.features(x))


def regnet_x_400mf(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return RegNet(num_classes=num_classes, in_channels=in_channels, small_input=small_input)


def regnet_y_400mf(num_classes=1000, in_channels=3, small_input=False):
    """RegNetY-400MF: RegNet's Y design (squeeze-and-excite in every block, ratio 0.25)."""
    check_builder_args(num_classes, in_channels, small_input)
    return RegNet(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, num_classes=num_classes,
                  in_channels=in_channels, small_input=small_input, se_ratio=0.25)
