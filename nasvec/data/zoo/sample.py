"""Seeded zoo configs (:func:`generate_configs`): one sampler per family, sized for a target node count."""

from __future__ import annotations

import math

import numpy as np

from ...errors import ConfigError
from .blocks import ACTIVATIONS, conv_out_size
from .builders import FAMILIES

INPUT_SHAPES = ((1, 28, 28), (3, 32, 32))
ANCHORS_FROM = 100  # zoos of at least this many configs end with the two anchor architectures

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
    size = conv_out_size(size, k, stride, k // 2)
    stages = []
    for i in range(_int(rng, 2, 5 + target // 60)):
        pool = size >= 5 and (size > 7 or rng.random() < 0.5)
        stages.append({"width": _width(rng, 8, 64), "kernel": _pick(rng, [3, 3, 5]), "pool": bool(pool)})
        size = conv_out_size(size, 3, 2, 0) if pool else size
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
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if family is None:
        family = _pick(rng, FAMILIES)
    if family not in _SAMPLERS:
        raise ConfigError(f"family must be one of {FAMILIES}, got {family!r}")
    if target is None:
        target = sample_target(rng)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or target < 1:
        raise ConfigError(f"target must be a positive integer, got {target!r}")
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
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    configs = [sample_config(np.random.default_rng([int(seed), i]), FAMILIES[i % len(FAMILIES)]) for i in range(n)]
    if n >= ANCHORS_FROM:
        configs[-2:] = anchor_configs()
    for i, c in enumerate(configs):
        c["name"] = f"zoo{seed}-{i:04d}-{c['family']}"
        c["seed"] = int(seed) * 1_000_003 + i
    return configs
