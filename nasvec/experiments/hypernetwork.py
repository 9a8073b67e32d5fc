"""Cached runs of chapter 5: searches (hypernetwork or fixed ``s``), from-scratch trainings, the family.

Every run is stored with :func:`nasvec.cache.cached` under its full configuration (data spec,
network, search or training settings, seed), together with the wall-clock seconds it took when
it was computed.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..cache import cached
from .hyper import FixedAlpha, HyperNet, check_simplex, search
from .ops import SearchError, resolve_ops
from .space import Genotype, Network, SuperNet, count_params, derive
from .train import Images, accuracy, train

NET_DEFAULTS = {"ops": "slides", "channels": 8, "layers": ["normal", "reduction", "normal"], "stem_stride": 1}
SEARCH_DEFAULTS = {"epochs": 8, "kappa": 0.2, "batch_size": 64, "lr_w": 3e-3, "lr_a": 3e-2, "bandwidth": 1.0,
                   "learn_ref": False, "seed": 0}
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 64, "lr": 3e-3, "seed": 0}


def _merge(defaults: dict, given: dict | None, what: str) -> dict:
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SearchError(f"{what}: unknown setting(s) {unknown}; known are {sorted(defaults)}")
    out = {**defaults, **given}
    if "ops" in out:
        out["ops"] = list(resolve_ops(out["ops"]))
    if "layers" in out:
        out["layers"] = list(out["layers"])
    return out


def _net_kwargs(net: dict, images: Images) -> dict:
    return {"channels": net["channels"], "layers": net["layers"], "stem_stride": net["stem_stride"],
            "in_channels": images.shape[0], "n_classes": int(max(images.y_train.max(), images.y_test.max())) + 1}


def make_arch(net: dict, cfg: dict, fixed: bool):
    k = len(net["ops"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    if fixed:
        return FixedAlpha(k, generator=gen)
    return HyperNet(k, bandwidth=cfg["bandwidth"], learn_ref=cfg["learn_ref"], generator=gen)


def run_search(images: Images, net: dict | None = None, cfg: dict | None = None, s=None, progress: bool = True,
               device: str = "cpu"):
    """One search: the hypernetwork objective (``s=None``) or the fixed-``s`` baseline.

    Returns ``(arch, result, from_cache)``: the trained :class:`HyperNet` / :class:`FixedAlpha`, and a
    dict with its state, the history per epoch and the search seconds.
    """
    net, cfg = _merge(NET_DEFAULTS, net, "net"), _merge(SEARCH_DEFAULTS, cfg, "search settings")
    k = len(net["ops"])
    s_list = None if s is None else [round(float(v), 6) for v in check_simplex(s, k).tolist()]
    config = {"data": images.spec, "net": net, "search": cfg, "s": s_list}

    def compute():
        torch.manual_seed(cfg["seed"])
        supernet = SuperNet(net["ops"], **_net_kwargs(net, images))
        arch = make_arch(net, cfg, fixed=s is not None)
        start = time.perf_counter()
        history = search(supernet, arch, images.x_train, images.y_train, cfg["epochs"], s=s_list,
                         kappa=cfg["kappa"], batch_size=cfg["batch_size"], lr_w=cfg["lr_w"], lr_a=cfg["lr_a"],
                         seed=cfg["seed"], progress=progress, device=device,
                         desc="hypernetwork search" if s is None else f"fixed-s search {s_list}")
        return {"arch_state": arch.state_dict(), "history": history, "seconds": time.perf_counter() - start}

    result, loaded = cached("search-hyper" if s is None else "search-fixed", config, compute)
    arch = make_arch(net, cfg, fixed=s is not None)
    arch.load_state_dict(result["arch_state"])
    return arch, result, loaded


def train_genotype(genotype: Genotype, images: Images, net: dict | None = None, cfg: dict | None = None,
                   progress: bool = True, device: str = "cpu"):
    """Train ``genotype`` from scratch; returns ``(result, from_cache)`` with test accuracy, params, seconds."""
    net, cfg = _merge(NET_DEFAULTS, net, "net"), _merge(TRAIN_DEFAULTS, cfg, "training settings")
    config = {"data": images.spec, "net": {k: v for k, v in net.items() if k != "ops"}, "train": cfg,
              "genotype": genotype.to_dict()}

    def compute():
        torch.manual_seed(cfg["seed"])
        model = Network(genotype, **_net_kwargs(net, images))
        hist = train(model, images.x_train, images.y_train, cfg["epochs"], cfg["batch_size"], cfg["lr"],
                     seed=cfg["seed"], progress=progress, device=device)
        acc = accuracy(model, images.x_test, images.y_test)
        model.cpu()
        return {"accuracy": acc, "params": count_params(model), "losses": hist["losses"], "seconds": hist["seconds"],
                "state": model.state_dict()}

    return cached("search-train", config, compute)


def train_many(genotypes, images: Images, net: dict | None = None, cfg: dict | None = None,
               progress: bool = True, device: str = "cpu") -> list[dict]:
    """Train every distinct genotype of the list once; one result per list entry (with ``from_cache``)."""
    from tqdm.auto import tqdm

    done = {}
    distinct = list(dict.fromkeys(genotypes))
    for g in tqdm(distinct, desc="train derived architectures", disable=not progress):
        res, loaded = train_genotype(g, images, net, cfg, progress=False, device=device)
        done[g] = {**res, "from_cache": loaded}
    return [done[g] for g in genotypes]


def build(genotype: Genotype, images: Images, net: dict | None = None, state: dict | None = None) -> Network:
    """The discrete network of ``genotype`` for these images (with trained weights if ``state`` is given)."""
    net = _merge(NET_DEFAULTS, net, "net")
    model = Network(genotype, **_net_kwargs(net, images))
    if state is not None:
        model.load_state_dict(state)
    return model


def family(arch, points, ops, rule: str = "argmax") -> list[Genotype]:
    """The genotype derived from ``arch(s)`` at each point ``s``."""
    with torch.no_grad():
        return [derive(arch(p), ops, rule) for p in np.asarray(points, dtype=np.float64)]


def describe(genotype: Genotype, result: dict | None = None) -> dict:
    """One table row: test accuracy %, parameters (when trained) and pool / conv / identity counts."""
    row = {}
    if result is not None:
        row = {"accuracy %": 100 * result["accuracy"], "params": result["params"]}
    counts = genotype.kind_counts()
    row.update({k: counts[k] for k in ("pool", "conv", "identity")})
    if counts["none"]:
        row["none"] = counts["none"]
    return row


def penalty_effect(genotypes: dict, base: str = "A", raised: dict | None = None) -> list[dict]:
    """For each ``name -> kind`` in ``raised``: the count of that op kind at ``base`` and at ``name``.

    ``fewer`` is ``"yes"`` / ``"no"``, or ``"n/a ..."`` when ``base`` does not use the op at all.
    """
    raised = raised or {"B": "conv", "C": "pool", "D": "identity"}
    out = []
    for name, kind in raised.items():
        before, after = genotypes[base].kind_counts()[kind], genotypes[name].kind_counts()[kind]
        out.append({"arch": name, "penalised": kind, f"count at {base}": before, "count at arch": after,
                    "fewer": "n/a (none at " + base + ")" if before == 0 else ("yes" if after < before else "no")})
    return out


def pareto_mask(params, acc) -> np.ndarray:
    """True where no other point has fewer-or-equal params and higher-or-equal accuracy (one strictly)."""
    params, acc = np.asarray(params, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    if params.shape != acc.shape or params.ndim != 1:
        raise SearchError(f"params and acc must be vectors of one length, got {params.shape} and {acc.shape}")
    dominated = ((params[None, :] <= params[:, None]) & (acc[None, :] >= acc[:, None])
                 & ((params[None, :] < params[:, None]) | (acc[None, :] > acc[:, None]))).any(1)
    return ~dominated
