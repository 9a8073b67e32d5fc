"""A zoo config -> a ``torch.nn.Module`` (:func:`build`), family by family."""

from __future__ import annotations

import torch
from torch import nn

from ...errors import ConfigError
from .blocks import (SE, ConvUnit, DenseBlock, Fire, Head, Hourglass, InceptionModule, MBBlock,
                     ResBlock, ZooNet, act_module)

FAMILIES = ("plain", "alexnet", "resnet_basic", "resnet_bottleneck", "densenet", "mobilenet", "inception",
            "squeezenet", "encdec")

# ---------------------------------------------------------------------------------------------
# build: config -> module


def _need(config, key):
    try:
        return config[key]
    except KeyError:
        raise ConfigError(f"config[{key!r}] is missing (family {config.get('family')!r})") from None


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
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    family = _need(config, "family")
    if family not in _BUILDERS:
        raise ConfigError(f"config['family'] must be one of {FAMILIES}, got {family!r}")
    shape = tuple(_need(config, "input_shape"))
    if len(shape) != 3 or not all(isinstance(v, int) and v > 0 for v in shape):
        raise ConfigError(f"config['input_shape'] must be (channels, height, width), got {shape!r}")
    try:
        features = _BUILDERS[family](config, shape[0])
    except KeyError as e:
        raise ConfigError(f"config[{e.args[0]!r}] is missing (family {family!r}; see sample_config)") from None
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
