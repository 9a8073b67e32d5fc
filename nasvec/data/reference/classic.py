"""Reference CNNs of the classic families: ResNet / ResNeXt, VGG, AlexNet, SqueezeNet, DenseNet, GoogLeNet."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .layers import Classifier, check_builder_args, conv_bn_act

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
    check_builder_args(num_classes, in_channels, small_input)
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, small_input)


def resnet50(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, small_input)


def resnext50_32x4d(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
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

    def __init__(self, cfg, num_classes=1000, in_channels=3, small_input=False, batch_norm=False):
        super().__init__()
        layers, inp, first_pool = [], in_channels, True
        for v in cfg:
            if v == "M":
                if not (small_input and first_pool):
                    layers.append(nn.MaxPool2d(2, 2))
                first_pool = False
            else:
                bn = [nn.BatchNorm2d(v)] if batch_norm else []
                layers += [nn.Conv2d(inp, v, 3, padding=1), *bn, nn.ReLU(inplace=True)]
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
    check_builder_args(num_classes, in_channels, small_input)
    return VGG(_VGG_CFG["vgg11"], num_classes, in_channels, small_input)


def vgg11_bn(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
    return VGG(_VGG_CFG["vgg11"], num_classes, in_channels, small_input, batch_norm=True)


def vgg16(num_classes=1000, in_channels=3, small_input=False):
    check_builder_args(num_classes, in_channels, small_input)
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
    check_builder_args(num_classes, in_channels, small_input)
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
    check_builder_args(num_classes, in_channels, small_input)
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
    check_builder_args(num_classes, in_channels, small_input)
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
    check_builder_args(num_classes, in_channels, small_input)
    return GoogLeNet(num_classes, in_channels, small_input)
