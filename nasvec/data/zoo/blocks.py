"""The torch modules zoo networks are made of (:mod:`nasvec.data.zoo`): conv units, residual, dense,
mobile, inception and fire blocks, squeeze-and-excitation, the hourglass encoder-decoder, the head."""

from __future__ import annotations

import math

import torch
from torch import nn

from ...errors import ConfigError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "relu6", "hardswish")

# ---------------------------------------------------------------------------------------------
# building blocks


def act_module(spec):
    """An activation module from ``{"type": name, "alpha": ...}`` (or None: identity)."""
    if spec is None:
        return nn.Identity()
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "relu":
        return nn.ReLU()
    if kind == "leaky_relu":
        return nn.LeakyReLU(spec.get("alpha", 0.01))
    if kind == "elu":
        return nn.ELU(spec.get("alpha", 1.0))
    if kind == "tanh":
        return nn.Tanh()
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "relu6":
        return nn.ReLU6()
    if kind == "hardswish":
        return nn.Hardswish()
    raise ConfigError(f"activation must be a dict with 'type' one of {ACTIVATIONS}, got {spec!r}")


def _pair(k):
    return tuple(k) if isinstance(k, (list, tuple)) else (k, k)


class ConvUnit(nn.Sequential):
    """Conv -> [BN] -> [act] (``pre=True``: [BN] -> act -> Conv). 'Same' padding unless given."""

    def __init__(self, inp, out, kernel=3, stride=1, groups=1, dilation=1, norm=True, act=None,
                 padding=None, pre=False):
        kh, kw = _pair(kernel)
        if padding is None:
            padding = (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
        conv = nn.Conv2d(inp, out, (kh, kw), stride, padding, dilation=dilation, groups=groups, bias=not norm)
        if pre:
            layers = ([nn.BatchNorm2d(inp)] if norm else []) + [act_module(act), conv]
        else:
            layers = [conv] + ([nn.BatchNorm2d(out)] if norm else []) + ([act_module(act)] if act else [])
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class SE(nn.Module):
    """Squeeze-and-excitation: ReduceMean over H, W -> 1x1 conv -> act -> 1x1 conv -> Sigmoid -> Mul."""

    def __init__(self, channels, reduction, act):
        super().__init__()
        squeeze = max(2, channels // reduction)
        self.fc1, self.act = nn.Conv2d(channels, squeeze, 1), act_module(act)
        self.fc2, self.gate = nn.Conv2d(squeeze, channels, 1), nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))))


class Head(nn.Module):
    """Pooling ('gap': GlobalAveragePool, 'mean': ReduceMean, 'flatten': none) -> Flatten (or Reshape
    with ``reshape=True``) -> MLP."""

    def __init__(self, pool, in_features, hidden, num_classes, act, dropout, reshape=False):
        super().__init__()
        self.pool, self.reshape = pool, reshape
        self.gap = nn.AdaptiveAvgPool2d(1) if pool == "gap" else None
        layers, d = [], in_features
        for h in hidden:
            layers += [nn.Linear(d, h), act_module(act)] + ([nn.Dropout(dropout)] if dropout else [])
            d = h
        layers.append(nn.Linear(d, num_classes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        if self.pool == "mean":
            x = x.mean((2, 3))
        else:
            x = self.gap(x) if self.gap is not None else x
            x = x.reshape(x.shape[0], -1) if self.reshape else torch.flatten(x, 1)
        return self.mlp(x)


class ResBlock(nn.Module):
    def __init__(self, inp, out, stride, bottleneck, expansion, groups, norm, act, se, preact):
        super().__init__()
        unit = dict(norm=norm, pre=preact)
        post = None if preact else act  # pre-activation units carry their own activation
        if bottleneck:
            mid = max(groups, out // expansion // groups * groups)
            self.body = nn.Sequential(
                ConvUnit(inp, mid, 1, act=act, **unit),
                ConvUnit(mid, mid, 3, stride, groups=groups, act=act, **unit),
                ConvUnit(mid, out, 1, act=act if preact else None, **unit))
        else:
            self.body = nn.Sequential(ConvUnit(inp, out, 3, stride, groups=groups, act=act, **unit),
                                      ConvUnit(out, out, 3, act=act if preact else None, **unit))
        self.se = SE(out, se, act) if se else None
        self.proj = ConvUnit(inp, out, 1, stride, norm=norm) if (stride != 1 or inp != out) else None
        self.post = act_module(post) if post else None

    def forward(self, x):
        y = self.body(x)
        if self.se is not None:
            y = self.se(y)
        y = y + (x if self.proj is None else self.proj(x))
        return self.post(y) if self.post is not None else y


class DenseBlock(nn.Module):
    """Each layer reads the concatenation of the block input and all earlier layers' outputs."""

    def __init__(self, inp, layers, growth, bottleneck, norm, act):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(layers):
            c = inp + i * growth
            if bottleneck:
                mid = min(4 * growth, 64)
                self.layers.append(nn.Sequential(ConvUnit(c, mid, 1, norm=norm, act=act, pre=True),
                                                 ConvUnit(mid, growth, 3, norm=norm, act=act, pre=True)))
            else:
                self.layers.append(ConvUnit(c, growth, 3, norm=norm, act=act, pre=True))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1) if len(features) > 1 else x))
        return torch.cat(features, 1)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: Reshape -> Transpose -> Reshape."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.shape
        return x.reshape(-1, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(-1, c, h, w)  # -1: any batch size


class MBBlock(nn.Module):
    """MobileNet v1 (depthwise kxk, pointwise 1x1) or v2 (1x1 expand, depthwise kxk, [SE], 1x1 project);
    with grouped (not depthwise) convolutions optionally followed by a channel shuffle."""

    def __init__(self, inp, out, stride, version, expansion, kernel, groups, norm, act, se, shuffle=False):
        super().__init__()
        shuffle = [ChannelShuffle(groups)] if shuffle and groups != "dw" else []
        if version == 1:
            layers = [ConvUnit(inp, inp, kernel, stride, groups=inp if groups == "dw" else groups, norm=norm, act=act),
                      *shuffle, ConvUnit(inp, out, 1, norm=norm, act=act)]
            self.residual = False
        else:
            hidden = inp * expansion
            layers = [ConvUnit(inp, hidden, 1, norm=norm, act=act)] if expansion != 1 else []
            layers.append(ConvUnit(hidden, hidden, kernel, stride, groups=hidden if groups == "dw" else groups,
                                   norm=norm, act=act))
            layers += shuffle
            if se:
                layers.append(SE(hidden, se, {"type": "relu"}))
            layers.append(ConvUnit(hidden, out, 1, norm=norm))
            self.residual = stride == 1 and inp == out
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class InceptionModule(nn.Module):
    def __init__(self, inp, branches, norm, act):
        super().__init__()
        self.branches = nn.ModuleList()
        for b in branches:
            layers, c = [], inp
            if b.get("pool"):
                pool = nn.MaxPool2d if b["pool"] == "max" else nn.AvgPool2d
                layers.append(pool(3, 1, 1))
            for k in b["kernels"]:
                layers.append(ConvUnit(c, b["width"], k, dilation=b.get("dilation", 1) if k == 3 else 1,
                                       norm=norm, act=act))
                c = b["width"]
            self.branches.append(nn.Sequential(*layers))

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


class Fire(nn.Module):
    def __init__(self, inp, squeeze, e1, e3, bypass, norm, act):
        super().__init__()
        self.squeeze = ConvUnit(inp, squeeze, 1, norm=norm, act=act)
        self.e1 = ConvUnit(squeeze, e1, 1, norm=norm, act=act)
        self.e3 = ConvUnit(squeeze, e3, 3, norm=norm, act=act)
        self.bypass = bypass and inp == e1 + e3

    def forward(self, x):
        s = self.squeeze(x)
        y = torch.cat([self.e1(s), self.e3(s)], 1)
        return x + y if self.bypass else y


def conv_out_size(h, k, s, p, d=1, ceil=False):
    v = (h + 2 * p - d * (k - 1) - 1) / s + 1
    return int(math.ceil(v) if ceil else math.floor(v))


class Hourglass(nn.Module):
    """U-Net-like: conv levels going down (strided conv or max-pool), ConvTranspose going up; where the
    upsampled map is larger than the skip it is cropped (Slice), where smaller it is padded (Pad);
    skips merged by Concat (optionally of a channel slice of the skip) or Add."""

    def __init__(self, width, size, cfg, norm, act):
        super().__init__()
        self.down, self.up, self.dec, self.fix, self.enc = (nn.ModuleList() for _ in range(5))
        self.merge, self.skip_slice = cfg["merge"], cfg["skip_slice"]
        sizes, widths, c, h = [], [], width, size
        for lvl in range(cfg["levels"]):
            w = min(64, width * 2 ** lvl)
            self.enc.append(nn.Sequential(*[ConvUnit(c if i == 0 else w, w, 3, norm=norm, act=act)
                                            for i in range(cfg["convs"])]))
            sizes.append(h)
            widths.append(w)
            c = w
            if cfg["down"] == "conv":
                self.down.append(ConvUnit(c, c, 3, 2, norm=norm, act=act))
                h = conv_out_size(h, 3, 2, 1)
            else:
                self.down.append(nn.MaxPool2d(2, 2))
                h = h // 2
        self.bottom = ConvUnit(c, c, 3, norm=norm, act=act)
        k, p, op = cfg["up"]
        self.crops = []
        for lvl in reversed(range(cfg["levels"])):
            ws, hs = widths[lvl], sizes[lvl]
            self.up.append(nn.ConvTranspose2d(c, ws, k, 2, p, output_padding=op))
            h = (h - 1) * 2 - 2 * p + k + op
            if h > hs:
                self.fix.append(nn.Identity())
                self.crops.append(hs)
            elif h < hs:
                d = hs - h
                pad = (0, d, 0, d)  # right and bottom
                self.fix.append(nn.ReflectionPad2d(pad) if cfg["pad"] == "reflect" and h > d else
                                nn.ConstantPad2d(pad, 0.5) if cfg["pad"] == "constant" else nn.ZeroPad2d(pad))
                self.crops.append(None)
            else:
                self.fix.append(nn.Identity())
                self.crops.append(None)
            h = hs
            keep = max(1, ws // 2) if self.skip_slice else ws
            cin = ws + keep if self.merge == "concat" else ws
            self.dec.append(nn.Sequential(*[ConvUnit(cin if i == 0 else ws, ws, 3, norm=norm, act=act)
                                            for i in range(cfg["convs"])]))
            c = ws
        self.out_channels = c
        self.keeps = [max(1, w // 2) if self.skip_slice else w for w in reversed(widths)]

    def forward(self, x):
        skips = []
        for enc, down in zip(self.enc, self.down):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.bottom(x)
        for up, fix, crop, dec, keep, skip in zip(self.up, self.fix, self.crops, self.dec, self.keeps,
                                                   reversed(skips)):
            x = fix(up(x))
            if crop is not None:
                x = x[:, :, :crop, :crop]
            if self.merge == "concat":
                x = torch.cat([x, skip[:, :keep] if self.skip_slice else skip], 1)
            else:
                x = x + skip
            x = dec(x)
        return x


class ZooNet(nn.Module):
    def __init__(self, features, head):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x):
        return self.head(self.features(x))
