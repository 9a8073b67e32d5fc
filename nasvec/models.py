"""Reference CNNs: the common image-classification families, defined here (chapter 1's test bed).

torchvision cannot be installed in this project, so the networks are written out from their
papers, sharing a few building blocks. At ``num_classes=1000`` and 3x224x224 input every network
has exactly the parameter count torchvision publishes for it (``tests/test_models.py`` checks
them). Each constructor is ``name(num_classes=1000, in_channels=3, small_input=False)``;
``small_input=True`` adapts the stem to 28x28 / 32x32 images (a 3x3 stride-1 first convolution,
no early max-pool, one early stride-2 stage turned into stride 1, and for VGG/AlexNet a smaller
head), which is how chapter 3 trains ResNet18 and AlexNet on Fashion-MNIST (1x28x28, 10 classes).

Everything is written so that ``nasvec.onnx_io.export_torch`` maps each layer to single ONNX
nodes: flattening with ``torch.flatten`` (Flatten), channel splits by slicing (Slice, never the
multi-output Split), hard activations as ``nn.Hardswish``/``nn.Hardsigmoid``, squeeze-and-excite
pooling as ``AdaptiveAvgPool2d(1)`` (GlobalAveragePool), dropout only as ``nn.Dropout``.

``REFERENCE`` maps a name to ``(constructor, default_input_shape)``; ``reference(name, **kw)``
builds one by name.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# shared building blocks


def _check_args(num_classes, in_channels, small_input):
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(small_input, bool):
        raise ValueError(f"small_input must be True or False, got {small_input!r}")


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
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


def _stem_stride(small_input):
    return 1 if small_input else 2


# ---------------------------------------------------------------------------------------------
# ResNet / ResNeXt (He et al. 2016; Xie et al. 2017), torchvision's v1.5 (stride on the 3x3)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride=1, groups=1, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride=1, groups=1, base_width=64):
        super().__init__()
        width = int(planes * base_width / 64) * groups
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, in_channels=3, small_input=False,
                 groups=1, width_per_group=64):
        super().__init__()
        if small_input:  # 3x3 stride-1 stem, no max-pool (the usual CIFAR adaptation)
            self.stem = conv_bn_act(in_channels, 64, 3, 1)
        else:
            self.stem = nn.Sequential(conv_bn_act(in_channels, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        inp, stages = 64, []
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(inp, planes, stride, groups, width_per_group))
                inp = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.head = Classifier(inp, num_classes)

    def forward(self, x):
        return self.head(self.layers(self.stem(x)))


def resnet18(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, small_input)


def resnet50(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, small_input)


def resnext50_32x4d(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, small_input, groups=32, width_per_group=4)


# ---------------------------------------------------------------------------------------------
# VGG (Simonyan & Zisserman 2015) and AlexNet (Krizhevsky et al. 2012, torchvision's variant)

_VGG_CFG = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


class VGG(nn.Module):
    """Full size: 7x7 adaptive pool, 4096-4096 head. ``small_input``: the first max-pool is dropped,
    the pool is global and the head is 512-512 (the usual CIFAR VGG)."""

    def __init__(self, cfg, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        layers, inp, first_pool = [], in_channels, True
        for v in cfg:
            if v == "M":
                if not (small_input and first_pool):
                    layers.append(nn.MaxPool2d(2, 2))
                first_pool = False
            else:
                layers += [nn.Conv2d(inp, v, 3, padding=1), nn.ReLU(inplace=True)]
                inp = v
        self.features = nn.Sequential(*layers)
        side, hidden = (1, 512) if small_input else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d(side)
        self.classifier = nn.Sequential(
            nn.Linear(inp * side * side, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg11(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return VGG(_VGG_CFG["vgg11"], num_classes, in_channels, small_input)


def vgg16(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return VGG(_VGG_CFG["vgg16"], num_classes, in_channels, small_input)


class AlexNet(nn.Module):
    """torchvision's AlexNet. ``small_input`` (28x28 or 32x32 images): 3x3 stride-1 first conv,
    2x2 max-pools after the first two convs and a 3x3/2 pool at the end, so both sizes reach 3x3;
    no adaptive pool; the same 4096-4096 classifier on 256*3*3 features."""

    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            first = [nn.Conv2d(in_channels, 64, 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
                     nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)]
        else:
            first = [nn.Conv2d(in_channels, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
                     nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2)]
        self.features = nn.Sequential(
            *first,
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        side = 3 if small_input else 6
        self.avgpool = nn.Identity() if small_input else nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * side * side, 4096), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def alexnet(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return AlexNet(num_classes, in_channels, small_input)


# ---------------------------------------------------------------------------------------------
# SqueezeNet 1.1 (Iandola et al. 2016)


class Fire(nn.Module):
    def __init__(self, inp, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(inp, squeeze, 1), nn.ReLU(inplace=True))
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True))
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.expand1(x), self.expand3(x)], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
        stem = nn.Conv2d(in_channels, 64, 3, 1, 1) if small_input else nn.Conv2d(in_channels, 64, 3, 2)
        self.features = nn.Sequential(
            stem, nn.ReLU(inplace=True), pool(),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_1(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return SqueezeNet(num_classes, in_channels, small_input)


# ---------------------------------------------------------------------------------------------
# DenseNet-121 (Huang et al. 2017): every layer concatenates all earlier feature maps of its block


class DenseLayer(nn.Module):
    def __init__(self, inp, growth, bn_size):
        super().__init__()
        self.norm1, self.relu1 = nn.BatchNorm2d(inp), nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(inp, bn_size * growth, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(bn_size * growth), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1) if len(features) > 1 else features[0]
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.Module):
    def __init__(self, n, inp, growth, bn_size):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(inp + i * growth, growth, bn_size) for i in range(n))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet(nn.Module):
    def __init__(self, growth=32, blocks=(6, 12, 24, 16), init_features=64, bn_size=4,
                 num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            layers = [nn.Conv2d(in_channels, init_features, 3, 1, 1, bias=False),
                      nn.BatchNorm2d(init_features), nn.ReLU(inplace=True)]
        else:
            layers = [nn.Conv2d(in_channels, init_features, 7, 2, 3, bias=False),
                      nn.BatchNorm2d(init_features), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
        c = init_features
        for i, n in enumerate(blocks):
            layers.append(DenseBlock(n, c, growth, bn_size))
            c += n * growth
            if i != len(blocks) - 1:  # transition: BN-ReLU-1x1 conv halving the channels-2x2 avg pool
                layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.Conv2d(c, c // 2, 1, bias=False),
                           nn.AvgPool2d(2, 2)]
                c //= 2
        layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = Classifier(c, num_classes)

    def forward(self, x):
        return self.head(self.features(x))


def densenet121(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return DenseNet(32, (6, 12, 24, 16), 64, 4, num_classes, in_channels, small_input)


# ---------------------------------------------------------------------------------------------
# GoogLeNet / Inception v1 (Szegedy et al. 2015), torchvision's version without auxiliary heads

_gconv = partial(conv_bn_act, bn=partial(nn.BatchNorm2d, eps=0.001))


class Inception(nn.Module):
    def __init__(self, inp, c1, c3r, c3, c5r, c5, pool_proj):
        super().__init__()
        self.branch1 = _gconv(inp, c1, 1)
        self.branch2 = nn.Sequential(_gconv(inp, c3r, 1), _gconv(c3r, c3, 3))
        # torchvision uses a 3x3 (not 5x5) convolution in the "5x5" branch; kept for equal counts
        self.branch3 = nn.Sequential(_gconv(inp, c5r, 1), _gconv(c5r, c5, 3))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _gconv(inp, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
        if small_input:
            stem = [_gconv(in_channels, 64, 3, 1)]
        else:
            stem = [_gconv(in_channels, 64, 7, 2), pool()]
        self.features = nn.Sequential(
            *stem, _gconv(64, 64, 1), _gconv(64, 192, 3), pool(),
            Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64), pool(),
            Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
            Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
            Inception(528, 256, 160, 320, 32, 128, 128), nn.MaxPool2d(2, 2, ceil_mode=True),
            Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128),
        )
        self.head = Classifier(1024, num_classes, dropout=0.2)

    def forward(self, x):
        return self.head(self.features(x))


def googlenet(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return GoogLeNet(num_classes, in_channels, small_input)


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
        layers = [conv_bn_act(in_channels, 32, 3, _stem_stride(small_input), act=nn.ReLU6)]
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
    _check_args(num_classes, in_channels, small_input)
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
        layers = [conv_bn_act(in_channels, 16, 3, _stem_stride(small_input), act=nn.Hardswish, bn=bn)]
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
    return SqueezeExcite(channels, _make_divisible(channels // 4, 8), nn.ReLU, nn.Hardsigmoid)


def mobilenet_v3_large(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return MobileNetV3(_V3_LARGE, 1280, num_classes, in_channels, small_input)


def mobilenet_v3_small(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return MobileNetV3(_V3_SMALL, 1024, num_classes, in_channels, small_input)


class MNASNet(nn.Module):
    # input, output, kernel, stride, expansion, repeats (depth multiplier 1.0)
    STACKS = ((16, 24, 3, 2, 3, 3), (24, 40, 5, 2, 3, 3), (40, 80, 5, 2, 6, 3), (80, 96, 3, 1, 6, 2),
              (96, 192, 5, 2, 6, 4), (192, 320, 3, 1, 6, 1))

    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        bn = partial(nn.BatchNorm2d, momentum=1 - 0.9997)
        layers = [conv_bn_act(in_channels, 32, 3, _stem_stride(small_input), bn=bn),
                  conv_bn_act(32, 32, 3, 1, groups=32, bn=bn),
                  conv_bn_act(32, 16, 1, act=None, bn=bn)]
        for k, (inp, out, kernel, stride, exp, n) in enumerate(self.STACKS):
            if small_input and k == 0:
                stride = 1
            for i in range(n):
                first = i == 0
                layers.append(InvertedResidual(inp if first else out, (inp if first else out) * exp, out, kernel,
                                               stride if first else 1, nn.ReLU, None, bn))
        layers.append(conv_bn_act(320, 1280, 1, bn=bn))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))


def mnasnet1_0(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return MNASNet(num_classes, in_channels, small_input)


class EfficientNet(nn.Module):
    # expansion, kernel, stride, input, output, repeats (B0: width and depth multipliers 1.0)
    STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
              (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))

    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        layers = [conv_bn_act(in_channels, 32, 3, _stem_stride(small_input), act=nn.SiLU)]
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
    _check_args(num_classes, in_channels, small_input)
    return EfficientNet(num_classes, in_channels, small_input)


# ---------------------------------------------------------------------------------------------
# ShuffleNetV2 x1.0 (Ma et al. 2018)


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
        stem = [conv_bn_act(in_channels, channels[0], 3, _stem_stride(small_input))]
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
    _check_args(num_classes, in_channels, small_input)
    return ShuffleNetV2(num_classes=num_classes, in_channels=in_channels, small_input=small_input)


# ---------------------------------------------------------------------------------------------
# RegNetX-400MF (Radosavovic et al. 2020)


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
    stage_widths = [_make_divisible(w, g) for w, g in zip(stage_widths, groups)]
    return stage_widths, stage_depths, groups


class RegNetBlock(nn.Module):
    def __init__(self, inp, out, stride, group_width):
        super().__init__()
        self.proj = None
        if inp != out or stride != 1:
            self.proj = conv_bn_act(inp, out, 1, stride, act=None)
        self.f = nn.Sequential(conv_bn_act(inp, out, 1), conv_bn_act(out, out, 3, stride, groups=out // group_width),
                               conv_bn_act(out, out, 1, act=None))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.proj is None else self.proj(x)
        return self.relu(identity + self.f(x))


class RegNet(nn.Module):
    def __init__(self, depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16, num_classes=1000,
                 in_channels=3, small_input=False):
        super().__init__()
        layers, inp = [conv_bn_act(in_channels, 32, 3, _stem_stride(small_input))], 32
        for k, (w, d, g) in enumerate(zip(*regnet_widths(depth, w_0, w_a, w_m, group_width))):
            for i in range(d):
                stride = 2 if i == 0 and not (small_input and k == 0) else 1
                layers.append(RegNetBlock(inp, w, stride, g))
                inp = w
        self.features = nn.Sequential(*layers)
        self.head = Classifier(inp, num_classes)

    def forward(self, x):
        return self.head(self.features(x))


def regnet_x_400mf(num_classes=1000, in_channels=3, small_input=False):
    _check_args(num_classes, in_channels, small_input)
    return RegNet(num_classes=num_classes, in_channels=in_channels, small_input=small_input)


# ---------------------------------------------------------------------------------------------
# registry

_FULL = (1, 3, 224, 224)

#: name -> (constructor, default input shape (batch, channels, height, width))
REFERENCE = {
    "resnet18": (resnet18, _FULL),
    "resnet50": (resnet50, _FULL),
    "resnext50_32x4d": (resnext50_32x4d, _FULL),
    "vgg11": (vgg11, _FULL),
    "vgg16": (vgg16, _FULL),
    "alexnet": (alexnet, _FULL),
    "squeezenet1_1": (squeezenet1_1, _FULL),
    "densenet121": (densenet121, _FULL),
    "googlenet": (googlenet, _FULL),
    "mobilenet_v2": (mobilenet_v2, _FULL),
    "mobilenet_v3_small": (mobilenet_v3_small, _FULL),
    "mobilenet_v3_large": (mobilenet_v3_large, _FULL),
    "shufflenet_v2_x1_0": (shufflenet_v2_x1_0, _FULL),
    "mnasnet1_0": (mnasnet1_0, _FULL),
    "efficientnet_b0": (efficientnet_b0, _FULL),
    "regnet_x_400mf": (regnet_x_400mf, _FULL),
}


def reference(name: str, **kwargs) -> nn.Module:
    """Build the reference network ``name`` (a key of :data:`REFERENCE`)."""
    try:
        fn, _ = REFERENCE[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of the reference networks {sorted(REFERENCE)}, got {name!r}") from None
    return fn(**kwargs)


def input_shape(name: str, small_input: bool = False, in_channels: int = 3) -> tuple[int, int, int, int]:
    """The input shape to run or export ``name`` with: its default, or (1, C, 32, 32) when small."""
    if name not in REFERENCE:
        raise ValueError(f"name must be one of the reference networks {sorted(REFERENCE)}, got {name!r}")
    shape = (1, in_channels, 32, 32) if small_input else REFERENCE[name][1]
    return (shape[0], in_channels, *shape[2:])
