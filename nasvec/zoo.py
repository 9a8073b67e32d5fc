"""The CNN zoo: a seeded generator of image-classification architectures (chapter 1).

The paper's data set is 1500 CNN architectures for image classification, up to 3000 nodes and up to
62 out-edges from one node. We generate such a zoo ourselves. An architecture is a *config*: a plain,
JSON-serialisable dict; :func:`build` turns it into a ``torch.nn.Module``; :func:`export_zoo` exports
models to ONNX (through :func:`nasvec.onnx_io.export_torch`); :func:`load_zoo` returns the zoo as
``ArchGraph`` objects (through :func:`nasvec.onnx_io.from_onnx`), cached on disk without weights.

Families (:data:`FAMILIES`): ``plain`` (VGG-like stacks), ``alexnet`` (big-kernel stem, fully
connected head), ``resnet_basic`` and ``resnet_bottleneck`` (post- or pre-activation, grouped
ResNeXt-style convolutions), ``densenet`` (every layer concatenates all earlier maps of its block),
``mobilenet`` (depthwise-separable v1 and inverted-residual v2 blocks, depthwise or grouped),
``inception`` (parallel branches joined by Concat, asymmetric and dilated kernels), ``squeezenet``
(fire modules, optional bypass), ``encdec`` (U-Net-like encoder-decoder with ConvTranspose, Pad and
Slice, then a classifier). Squeeze-and-excitation (ReduceMean, Conv, Sigmoid, Mul) is an option of
plain, resnet and mobilenet networks. Activations: Relu, LeakyRelu, Elu, Tanh, Sigmoid (and Clip
= ReLU6, HardSwish in mobilenets). Inputs are small (1x28x28 or 3x32x32) and channels narrow
(4..64, up to 128 in a few expansions and concatenations): weights do not matter here.

Sizes: each config is drawn for a target node count, log-uniform on 8..200 (98.5 %) or 200..2300
(1.5 %), which keeps the export of 1500 networks within a few minutes on one core. A zoo of 100 or
more configs ends with two fixed *anchors* at the paper's maxima: a ~3000-node ResNet and a
DenseNet whose block input feeds 64 layers (out-degree > 62).

Batch-norm parameters are drawn at random before export: with their fresh values (all ones and
zeros) the exporter would merge equal initializers and add ``Identity`` nodes that depend on the
weights, not on the architecture.
"""

from __future__ import annotations

import gzip
import math
import pickle

import numpy as np
import torch
from torch import nn

FAMILIES = ("plain", "alexnet", "resnet_basic", "resnet_bottleneck", "densenet", "mobilenet", "inception",
            "squeezenet", "encdec")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "relu6", "hardswish")
INPUT_SHAPES = ((1, 28, 28), (3, 32, 32))
ZOO_VERSION = 1  # bump when the generator changes: it invalidates cached zoos
ANCHORS_FROM = 100  # zoos of at least this many configs end with the two anchor architectures


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
    raise ValueError(f"activation must be a dict with 'type' one of {ACTIVATIONS}, got {spec!r}")


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


def _conv_out(h, k, s, p, d=1, ceil=False):
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
                h = _conv_out(h, 3, 2, 1)
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


# ---------------------------------------------------------------------------------------------
# build: config -> module


def _need(config, key):
    try:
        return config[key]
    except KeyError:
        raise ValueError(f"config[{key!r}] is missing (family {config.get('family')!r})") from None


def _channels_out(features, input_shape):
    """The output shape of ``features`` for one input (a dry run in eval mode: BN on 1x1 maps)."""
    features.eval()
    try:
        with torch.no_grad():
            return features(torch.zeros(1, *input_shape)).shape
    finally:
        features.train()


def build(config: dict) -> nn.Module:
    """The ``torch.nn.Module`` of one zoo config (fresh weights from torch's global generator)."""
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    family = _need(config, "family")
    if family not in _BUILDERS:
        raise ValueError(f"config['family'] must be one of {FAMILIES}, got {family!r}")
    shape = tuple(_need(config, "input_shape"))
    if len(shape) != 3 or not all(isinstance(v, int) and v > 0 for v in shape):
        raise ValueError(f"config['input_shape'] must be (channels, height, width), got {shape!r}")
    try:
        features = _BUILDERS[family](config, shape[0])
    except KeyError as e:
        raise ValueError(f"config[{e.args[0]!r}] is missing (family {family!r}; see sample_config)") from None
    out = _channels_out(features, shape)
    h = config.get("head", {"pool": "gap", "hidden": [], "dropout": 0.0})
    in_features = out[1] * out[2] * out[3] if h["pool"] == "flatten" else out[1]
    head = Head(h["pool"], in_features, h["hidden"], _need(config, "num_classes"), config.get("act"),
                h.get("dropout", 0.0), h.get("reshape", False))
    return ZooNet(features, head)


def _build_plain(cfg, cin):
    layers, norm, act = [], cfg["norm"], cfg["act"]
    for st in cfg["stages"]:
        for _ in range(st["convs"]):
            layers.append(ConvUnit(cin, st["width"], st["kernel"], dilation=st.get("dilation", 1), norm=norm, act=act))
            cin = st["width"]
        if cfg.get("se"):
            layers.append(SE(cin, cfg["se"], act))
        if st["pool"] != "none":
            layers.append((nn.MaxPool2d if st["pool"] == "max" else nn.AvgPool2d)(2, 2))
    return nn.Sequential(*layers)


def _build_alexnet(cfg, cin):
    act, norm = cfg["act"], cfg["norm"]
    s = cfg["stem"]
    layers = [ConvUnit(cin, s["width"], s["kernel"], s["stride"], padding=s["kernel"] // 2, norm=norm, act=act)]
    cin = s["width"]
    for st in cfg["stages"]:
        layers.append(ConvUnit(cin, st["width"], st["kernel"], norm=norm, act=act))
        cin = st["width"]
        if st["pool"]:
            layers.append(nn.MaxPool2d(3, 2))
    return nn.Sequential(*layers)


def _stem(cfg, cin):
    s = cfg["stem"]
    layers = [ConvUnit(cin, s["width"], s["kernel"], s["stride"], norm=cfg["norm"], act=cfg["act"])]
    if s.get("pool"):
        layers.append(nn.MaxPool2d(3, 2, 1))
    return layers, s["width"]


def _build_resnet(cfg, cin):
    layers, cin = _stem(cfg, cin)
    bottleneck = cfg["family"] == "resnet_bottleneck"
    for st in cfg["stages"]:
        for i in range(st["blocks"]):
            layers.append(ResBlock(cin, st["width"], st["stride"] if i == 0 else 1, bottleneck, cfg.get("expansion", 4),
                                   cfg.get("groups", 1), cfg["norm"], cfg["act"], cfg.get("se", 0), cfg["preact"]))
            cin = st["width"]
    if cfg["preact"]:
        layers.append(nn.BatchNorm2d(cin) if cfg["norm"] else nn.Identity())
        layers.append(act_module(cfg["act"]))
    return nn.Sequential(*[m for m in layers if not isinstance(m, nn.Identity)])


def _build_densenet(cfg, cin):
    layers, c = _stem(cfg, cin)
    for i, n in enumerate(cfg["blocks"]):
        layers.append(DenseBlock(c, n, cfg["growth"], cfg["bottleneck"], cfg["norm"], cfg["act"]))
        c += n * cfg["growth"]
        if i != len(cfg["blocks"]) - 1:
            out = max(4, int(c * cfg["compression"]))
            layers += [ConvUnit(c, out, 1, norm=cfg["norm"], act=cfg["act"], pre=True), nn.AvgPool2d(2, 2)]
            c = out
    return nn.Sequential(*layers)


def _build_mobilenet(cfg, cin):
    layers, cin = _stem(cfg, cin)
    for st in cfg["stages"]:
        for i in range(st["blocks"]):
            layers.append(MBBlock(cin, st["width"], st["stride"] if i == 0 else 1, cfg["version"], st["expansion"],
                                  st["kernel"], cfg["groups"], cfg["norm"], cfg["act"], cfg.get("se", 0),
                                  cfg.get("shuffle", False)))
            cin = st["width"]
    layers.append(ConvUnit(cin, cfg["last"], 1, norm=cfg["norm"], act=cfg["act"]))
    return nn.Sequential(*layers)


def _build_inception(cfg, cin):
    layers, cin = _stem(cfg, cin)
    for g, group in enumerate(cfg["groups"]):
        if g > 0:
            layers.append(nn.MaxPool2d(3, 2, 1))
        for branches in group:
            layers.append(InceptionModule(cin, branches, cfg["norm"], cfg["act"]))
            cin = sum(b["width"] for b in branches)
    return nn.Sequential(*layers)


def _build_squeezenet(cfg, cin):
    layers, cin = _stem(cfg, cin)
    for g, group in enumerate(cfg["groups"]):
        if g > 0:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=cfg["ceil_mode"]))
        for f in group:
            layers.append(Fire(cin, f["squeeze"], f["e1"], f["e3"], f["bypass"], cfg["norm"], cfg["act"]))
            cin = f["e1"] + f["e3"]
    layers.append(ConvUnit(cin, cfg["last"], 1, norm=False, act=cfg["act"]))  # SqueezeNet's conv classifier
    return nn.Sequential(*layers)


def _build_encdec(cfg, cin):
    s = cfg["stem"]
    pad = {"zero": nn.ZeroPad2d, "constant": lambda p: nn.ConstantPad2d(p, 0.0),
           "reflect": nn.ReflectionPad2d}[s["pad"]]
    layers = [pad(s["kernel"] // 2), ConvUnit(cin, cfg["width"], s["kernel"], padding=0, norm=cfg["norm"],
                                              act=cfg["act"])]
    size = cfg["input_shape"][1]
    for hg in cfg["hourglasses"]:
        layers.append(Hourglass(cfg["width"], size, hg, cfg["norm"], cfg["act"]))
    return nn.Sequential(*layers)


_BUILDERS = {"plain": _build_plain, "alexnet": _build_alexnet, "resnet_basic": _build_resnet,
             "resnet_bottleneck": _build_resnet, "densenet": _build_densenet, "mobilenet": _build_mobilenet,
             "inception": _build_inception, "squeezenet": _build_squeezenet, "encdec": _build_encdec}


# ---------------------------------------------------------------------------------------------
# sampling: rng -> config


def _pick(rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _int(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _width(rng, lo=4, hi=32):
    return _pick(rng, [w for w in (4, 6, 8, 12, 16, 24, 32, 48, 64) if lo <= w <= hi])


def _split(rng, total, parts):
    """``total`` (>= parts) units over ``parts`` groups, each >= 1, at random."""
    total = max(total, parts)
    cuts = np.sort(rng.choice(np.arange(1, total), size=parts - 1, replace=False)) if parts > 1 else []
    edges = [0, *[int(c) for c in cuts], total]
    return [edges[i + 1] - edges[i] for i in range(parts)]


def sample_act(rng, extra=False):
    names = ACTIVATIONS if extra else ACTIVATIONS[:5]
    p = np.array([0.4, 0.2, 0.15, 0.1, 0.05, 0.05, 0.05][: len(names)])
    kind = _pick(rng, names, p / p.sum())
    if kind == "leaky_relu":
        return {"type": kind, "alpha": _pick(rng, [0.01, 0.05, 0.1, 0.2, 0.3])}
    if kind == "elu":
        return {"type": kind, "alpha": _pick(rng, [0.5, 1.0, 1.5])}
    return {"type": kind}


def sample_target(rng) -> int:
    """A target node count: log-uniform on 8..200 (98.5 %) or 200..2300 (1.5 %)."""
    lo, hi = (8, 200) if rng.random() < 0.985 else (200, 2300)
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _head(rng, allow_flatten=False):
    pools = ["gap", "mean"] + (["flatten"] if allow_flatten else [])
    pool = _pick(rng, pools)
    return {"pool": pool, "hidden": [_width(rng, 16, 64) for _ in range(_int(rng, 0, 1))],
            "dropout": _pick(rng, [0.0, 0.2, 0.5]), "reshape": pool != "mean" and bool(rng.random() < 0.3)}


def _max_downs(size):
    n = 0
    while size >= 4:
        size //= 2
        n += 1
    return n


def _sample_plain(rng, c, target):
    per = 3 if c["norm"] else 2
    n_stages = _int(rng, 1, min(5, _max_downs(c["input_shape"][1]) + 1))
    convs = _split(rng, max(n_stages, target // per), n_stages)
    pools, downs = [], _max_downs(c["input_shape"][1])
    for i in range(n_stages):
        ok = downs > 0 and (i < n_stages - 1 or rng.random() < 0.5)
        pools.append(_pick(rng, ["max", "avg"], [0.7, 0.3]) if ok else "none")
        downs -= ok
    w = _width(rng, 4, 16)
    c["stages"] = [{"width": min(64, w * 2 ** i), "convs": convs[i], "kernel": _pick(rng, [3, 3, 5, 1]),
                    "dilation": _pick(rng, [1, 1, 1, 2]), "pool": pools[i]} for i in range(n_stages)]
    c["se"] = _pick(rng, [0, 0, 4, 8])
    final = c["input_shape"][1] // 2 ** sum(p != "none" for p in pools)
    c["head"] = _head(rng, allow_flatten=final <= 7)
    return c


def _sample_alexnet(rng, c, target):
    size = c["input_shape"][1]
    k = _pick(rng, [5, 7, 11])
    stride = _pick(rng, [1, 2])
    c["stem"] = {"width": _width(rng, 8, 32), "kernel": k, "stride": stride}
    size = _conv_out(size, k, stride, k // 2)
    stages = []
    for i in range(_int(rng, 2, 5 + target // 60)):
        pool = size >= 5 and (size > 7 or rng.random() < 0.5)
        stages.append({"width": _width(rng, 8, 64), "kernel": _pick(rng, [3, 3, 5]), "pool": bool(pool)})
        size = _conv_out(size, 3, 2, 0) if pool else size
    c["stages"] = stages
    c["head"] = {"pool": "flatten", "hidden": [_width(rng, 32, 64) for _ in range(_int(rng, 1, 2))],
                 "dropout": _pick(rng, [0.0, 0.5])}
    return c


def _sample_stem(rng, c, allow_pool=True):
    big = c["input_shape"][1] >= 32 and rng.random() < 0.3
    c["stem"] = {"width": _width(rng, 8, 32), "kernel": 5 if big else _pick(rng, [3, 3, 5]), "stride": 2 if big else 1,
                 "pool": bool(allow_pool and rng.random() < 0.2)}


def _stage_plan(rng, c, n_units, max_stages=4):
    downs = _max_downs(c["input_shape"][1]) - (1 if c["stem"]["stride"] == 2 else 0) - bool(c["stem"].get("pool"))
    n_stages = _int(rng, 1, max(1, min(max_stages, downs + 1)))
    blocks = _split(rng, max(n_stages, n_units), n_stages)
    w = _width(rng, 4, 16)
    return [{"width": min(64, w * 2 ** i), "blocks": blocks[i], "stride": 1 if i == 0 else 2} for i in range(n_stages)]


def _sample_resnet(rng, c, target):
    _sample_stem(rng, c)
    bottleneck = c["family"] == "resnet_bottleneck"
    c["preact"] = bool(rng.random() < 0.3)
    c["se"] = _pick(rng, [0, 0, 4, 8])
    per = (10 if bottleneck else 7) + (5 if c["se"] else 0)
    c["stages"] = _stage_plan(rng, c, (target - 4) // per)
    if bottleneck:
        c["expansion"] = _pick(rng, [2, 4])
        c["groups"] = _pick(rng, [1, 1, 2, 4])
    else:
        c["groups"] = _pick(rng, [1, 1, 1, 2])
    for st in c["stages"]:  # grouped convolutions need widths divisible by the groups
        st["width"] = -(-st["width"] // c["groups"]) * c["groups"]
        if bottleneck:
            st["width"] = max(st["width"], c["expansion"] * c["groups"])
    c["head"] = _head(rng)
    return c


def _sample_densenet(rng, c, target):
    _sample_stem(rng, c)
    c["bottleneck"] = bool(rng.random() < 0.6)
    per = 7 if c["bottleneck"] else 4
    total = max(1, (target - 6) // per)
    downs = _max_downs(c["input_shape"][1]) - (c["stem"]["stride"] == 2) - c["stem"]["pool"]
    # at most 64 layers a block: the block input then feeds at most 65 nodes (the paper's maximum: 62)
    c["blocks"] = [min(64, b) for b in _split(rng, total, _int(rng, 1, max(1, min(4, total, downs + 1))))]
    c["growth"] = max(2, min(_pick(rng, [4, 8, 12, 16]), 192 // max(c["blocks"])))
    c["compression"] = _pick(rng, [0.5, 0.5, 1.0])
    c["head"] = _head(rng)
    return c


def _sample_mobilenet(rng, c, target):
    c["act"] = sample_act(rng, extra=True)
    _sample_stem(rng, c, allow_pool=False)
    c["version"] = _pick(rng, [1, 2, 2])
    c["groups"] = _pick(rng, ["dw", "dw", "dw", 2, 4])
    c["se"] = _pick(rng, [0, 0, 4]) if c["version"] == 2 else 0
    c["shuffle"] = c["groups"] != "dw" and bool(rng.random() < 0.5)
    per = (6 if c["version"] == 1 else 9) + (5 if c["se"] else 0)
    c["stages"] = _stage_plan(rng, c, (target - 8) // per, max_stages=5)
    for st in c["stages"]:
        st["expansion"] = _pick(rng, [1, 2, 3, 4, 6]) if c["version"] == 2 else 1
        st["kernel"] = _pick(rng, [3, 3, 5, 7])
        g = 1 if c["groups"] == "dw" else c["groups"]
        st["width"] = -(-st["width"] // g) * g  # a multiple of the groups
        while st["width"] * st["expansion"] > 128:
            st["expansion"] -= 1
    if c["groups"] != "dw":  # the stem width must be divisible by the groups of the first block
        c["stem"]["width"] = max(c["stem"]["width"], 8)
    c["last"] = _width(rng, 16, 64)
    c["head"] = _head(rng)
    return c


_BRANCHES = ([1], [1, 3], [1, 5], [1, 3, 3], [1, [1, 5], [5, 1]], [3])


def _sample_branch(rng):
    if rng.random() < 0.2:
        return {"pool": _pick(rng, ["max", "avg"]), "kernels": [1], "width": _width(rng, 4, 16)}
    b = {"kernels": list(_pick(rng, _BRANCHES)), "width": _width(rng, 4, 16)}
    if 3 in b["kernels"] and rng.random() < 0.2:
        b["dilation"] = 2
    return b


def _sample_inception(rng, c, target):
    _sample_stem(rng, c)
    n_modules = max(1, (target - 8) // 18)
    downs = min(3, _max_downs(c["input_shape"][1]) - (c["stem"]["stride"] == 2) - c["stem"]["pool"])
    n_groups = _int(rng, 1, max(1, min(downs + 1, n_modules)))
    c["groups"] = [[[_sample_branch(rng) for _ in range(_int(rng, 2, 6))] for _ in range(k)]
                   for k in _split(rng, n_modules, n_groups)]
    c["head"] = _head(rng)
    return c


def _sample_squeezenet(rng, c, target):
    _sample_stem(rng, c)
    c["ceil_mode"] = bool(rng.random() < 0.5)
    per = 10 if c["norm"] else 7
    n_fire = max(1, (target - 8) // per)
    downs = min(3, _max_downs(c["input_shape"][1]) - (c["stem"]["stride"] == 2) - c["stem"]["pool"])
    n_groups = _int(rng, 1, max(1, min(downs + 1, n_fire)))
    groups, cin = [], c["stem"]["width"]
    for k in _split(rng, n_fire, n_groups):
        group = []
        for _ in range(k):
            e1 = _width(rng, 4, 32)
            e3 = _width(rng, 4, 32)
            bypass = bool(rng.random() < 0.4)
            if bypass and cin > e1 and cin - e1 <= 64:
                e3 = cin - e1
            bypass = bypass and e1 + e3 == cin
            group.append({"squeeze": _width(rng, 4, 16), "e1": e1, "e3": e3, "bypass": bypass})
            cin = e1 + e3
        groups.append(group)
    c["groups"] = groups
    c["last"] = _width(rng, 16, 64)
    c["head"] = {"pool": "gap", "hidden": [], "dropout": 0.0}
    return c


def _sample_encdec(rng, c, target):
    c["width"] = _width(rng, 4, 16)
    c["stem"] = {"kernel": _pick(rng, [3, 5]), "pad": _pick(rng, ["zero", "constant", "reflect"])}
    max_levels = min(4, _max_downs(c["input_shape"][1]))
    hourglasses, budget = [], target - 8
    while True:
        levels = _int(rng, 1, max_levels)
        convs = _int(rng, 1, 3)
        hg = {"levels": levels, "convs": convs, "down": _pick(rng, ["conv", "max"]),
              "up": _pick(rng, [[2, 0, 0], [3, 1, 1], [3, 1, 0], [4, 1, 0]]),
              "pad": _pick(rng, ["zero", "constant", "reflect"]), "merge": _pick(rng, ["concat", "concat", "add"]),
              "skip_slice": bool(rng.random() < 0.4)}
        hg["skip_slice"] = hg["skip_slice"] and hg["merge"] == "concat"
        hourglasses.append(hg)
        budget -= levels * (6 * convs + 6) + 3
        if budget <= 0 or len(hourglasses) >= 12:
            break
    c["hourglasses"] = hourglasses
    c["head"] = _head(rng)
    return c


_SAMPLERS = {"plain": _sample_plain, "alexnet": _sample_alexnet, "resnet_basic": _sample_resnet,
             "resnet_bottleneck": _sample_resnet, "densenet": _sample_densenet, "mobilenet": _sample_mobilenet,
             "inception": _sample_inception, "squeezenet": _sample_squeezenet, "encdec": _sample_encdec}


def sample_config(rng, family: str | None = None, target: int | None = None) -> dict:
    """One random architecture config of ``family`` (random when None) of about ``target`` ONNX nodes."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if family is None:
        family = _pick(rng, FAMILIES)
    if family not in _SAMPLERS:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if target is None:
        target = sample_target(rng)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or target < 1:
        raise ValueError(f"target must be a positive integer, got {target!r}")
    c = {"family": family, "input_shape": list(_pick(rng, INPUT_SHAPES)), "num_classes": 10,
         "norm": bool(rng.random() < 0.8), "act": sample_act(rng), "target": int(target)}
    return _SAMPLERS[family](rng, c, int(target))


def anchor_configs() -> list[dict]:
    """The two fixed architectures at the paper's maxima: a ResNet of 427 basic blocks (2998 ONNX nodes,
    3000 graph nodes with Input and Output); a DenseNet block of 64 layers (its input feeds 65 nodes)."""
    big = {"family": "resnet_basic", "input_shape": [1, 28, 28], "num_classes": 10, "norm": True,
           "act": {"type": "relu"}, "target": 3000, "stem": {"width": 8, "kernel": 3, "stride": 1, "pool": False},
           "preact": False, "se": 0, "groups": 1, "head": {"pool": "mean", "hidden": [], "dropout": 0.0},
           "stages": [{"width": 8, "blocks": 143, "stride": 1}, {"width": 16, "blocks": 142, "stride": 2},
                      {"width": 32, "blocks": 142, "stride": 2}]}
    wide = {"family": "densenet", "input_shape": [1, 28, 28], "num_classes": 10, "norm": True,
            "act": {"type": "relu"}, "target": 260, "stem": {"width": 8, "kernel": 3, "stride": 1, "pool": False},
            "bottleneck": False, "blocks": [64], "growth": 2, "compression": 0.5,
            "head": {"pool": "gap", "hidden": [], "dropout": 0.0}}
    return [big, wide]


def generate_configs(n: int = 1500, seed: int = 0) -> list[dict]:
    """``n`` zoo configs for ``seed``: families in turn, each config from its own generator
    ``default_rng([seed, i])`` (so a smaller zoo is a prefix of a larger one), except that a zoo of
    at least :data:`ANCHORS_FROM` configs ends with the two :func:`anchor_configs`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    configs = [sample_config(np.random.default_rng([int(seed), i]), FAMILIES[i % len(FAMILIES)]) for i in range(n)]
    if n >= ANCHORS_FROM:
        configs[-2:] = anchor_configs()
    for i, c in enumerate(configs):
        c["name"] = f"zoo{seed}-{i:04d}-{c['family']}"
        c["seed"] = int(seed) * 1_000_003 + i
    return configs


# ---------------------------------------------------------------------------------------------
# export and load


def _randomize_norms(module, generator):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.5, 0.5, generator=generator)
                m.running_mean.uniform_(-0.5, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)


def build_seeded(config: dict) -> nn.Module:
    """:func:`build` with weights from ``config['seed']`` and random batch-norm parameters, in eval mode."""
    torch.manual_seed(config.get("seed", 0))
    model = build(config)
    _randomize_norms(model, torch.Generator().manual_seed(config.get("seed", 0)))
    return model.eval()


def export_config(config: dict):
    """One config as an ``onnx.ModelProto`` (with weights), via :func:`nasvec.onnx_io.export_torch`."""
    from .onnx_io import export_torch

    model = build_seeded(config)
    return export_torch(model, torch.zeros(1, *config["input_shape"]))


class _one_thread:
    """Run torch on one thread inside the block: the zoo's networks are narrow, and on a busy
    machine torch's thread pool makes tracing them several times slower."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)


def export_zoo(configs, progress: bool = True) -> list:
    """Export every config to an ``onnx.ModelProto`` (with weights), with a tqdm bar."""
    from tqdm.auto import tqdm

    with _one_thread():
        return [export_config(c) for c in tqdm(configs, desc="export zoo", disable=not progress)]


def strip_weights(model):
    """A copy of an ONNX model whose initializers keep their names, types and shapes but no data."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    for t in out.graph.initializer:
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
            t.ClearField(field)
    return out


def _zoo_graphs(configs, progress):
    from tqdm.auto import tqdm

    from .onnx_io import from_onnx

    graphs = []
    with _one_thread():
        for c in tqdm(configs, desc="zoo", disable=not progress):
            g = from_onnx(strip_weights(export_config(c)))
            g.name = c["name"]
            graphs.append(g)
    return graphs


def _code_key() -> str:
    """A hash of the source of the generator and of the graph reader: editing either rebuilds the zoo."""
    import hashlib
    import sys
    from pathlib import Path

    from . import graph, onnx_io, vocab

    h = hashlib.sha256()
    for mod in (sys.modules[__name__], graph, onnx_io, vocab):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]


def load_zoo(n: int = 1500, seed: int = 0, progress: bool = True, force: bool = False):
    """The zoo as ``list[ArchGraph]`` (no weights), built once and cached with :func:`nasvec.cache.cached`
    (as a gzipped pickle of the graphs: about 1 MB for 1500 architectures).

    The cache key holds ``n``, ``seed``, the torch version and a hash of this module's and the graph
    reader's source (:mod:`nasvec.graph`, :mod:`nasvec.onnx_io`, :mod:`nasvec.vocab`), so a change to
    either rebuilds the zoo. The configs are ``generate_configs(n, seed)``
    (``graphs[i].name == configs[i]['name']``)."""
    from . import cache

    configs = generate_configs(n, seed)
    key = {"n": int(n), "seed": int(seed), "zoo_version": ZOO_VERSION, "torch": torch.__version__,
           "code": _code_key()}
    def compute():  # a gzipped pickle: ~8 bytes per node instead of ~130 (node names compress well)
        return gzip.compress(pickle.dumps(_zoo_graphs(configs, progress), protocol=4), 6)

    blob, _ = cache.cached("zoo", key, compute, force=force)
    return pickle.loads(gzip.decompress(blob))
