"""Compressors trained to convergence once and shipped with the book (chapter 2).

D-VAE's protocol trains for hundreds of epochs; a profile cannot spend that on a CPU. So the book
ships converged checkpoints, each in a folder ``checkpoints/compression/<name>/``:

* ``weights.pt`` — the final weights in half precision (small enough to commit);
* ``provenance.json`` — the model's :class:`~nasvec.compress.registry.CompressorConfig`, the
  :class:`ConvergeConfig`, the exact command that reproduces it, the per-epoch losses, every test
  evaluation, the epochs and seconds it took, the machine, and fingerprints of the training data
  and of the model's source code;
* ``resume.pt`` — while a training is unfinished: the full state (weights, optimizer, learning-rate
  schedule, random generators), so a later session resumes it exactly where it stopped.

:func:`converge` carves a validation split out of the training split (:func:`carve_validation`: a
seeded ``validation`` share, recorded in the provenance), fits the rest, and trains until the per-graph
reconstruction of the validation split stops improving (``patience`` evaluations in which neither the
per-graph nor the per-node accuracy gained ``min_delta`` over its best; early on only the per-node one
moves) or ``max_epochs`` is reached, with D-VAE's schedule (``ReduceLROnPlateau`` on the training loss,
factor 0.1, patience 10). The weights shipped are the *last* ones. The test split is never seen: it is
left for the chapter's tables. :func:`load_shipped` loads a folder back and checks that it
was trained on the same data. Introduced in chapter 2 ("Compressing architecture graphs").
"""

from __future__ import annotations

import io
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..cache import fingerprint
from ..config import Config, check
from ..errors import CompressError
from ..utils import atomic_write, record_input, repo_root
from .base import DagBatch, VAETraining, fit_compressor
from .registry import CompressorConfig

WEIGHTS, PROVENANCE, RESUME = "weights.pt", "provenance.json", "resume.pt"


@dataclass(frozen=True)
class ConvergeConfig(Config):
    """When :func:`converge` evaluates and stops.

    ``max_epochs``; every ``eval_every`` epochs the validation split is reconstructed (mean code, as D-VAE's
    code encodes at test time, ``eval_decodes`` stochastic decodes per graph); training stops after
    ``patience`` evaluations without a gain of ``min_delta`` (a share) over the best so far.
    ``plateau_patience``/``plateau_factor``: D-VAE's ``ReduceLROnPlateau`` on the epoch's training loss.
    ``validation``/``validation_seed``: the share of the training split carved for those evaluations, and its seed.
    """

    max_epochs: int = 300
    eval_every: int = 5
    eval_decodes: int = 5
    patience: int = 6
    min_delta: float = 0.001
    plateau_patience: int = 10
    plateau_factor: float = 0.1
    validation: float = 0.1
    validation_seed: int = 0

    def __post_init__(self):
        check(self.max_epochs >= 1 and self.eval_every >= 1 and self.eval_decodes >= 1 and self.patience >= 1,
              "converge: max_epochs, eval_every, eval_decodes and patience must be >= 1")
        check(0 < self.plateau_factor < 1, f"converge: plateau_factor must be in (0, 1), got {self.plateau_factor}")
        check(0 < self.validation < 1, f"converge: validation must be a share in (0, 1), got {self.validation}")


def carve_validation(train: DagBatch, share: float, seed: int) -> tuple[DagBatch, DagBatch, dict]:
    """``(fit, validation, record)``: a seeded permutation of the training split, its first ``share`` held out to
    decide when a converging model stops (the test split is never used for that); ``record`` says how."""
    n = len(train)
    n_val = int(round(share * n))
    if not 0 < n_val < n:
        raise CompressError(f"a validation share of {share} leaves {n_val} of {n} training graphs for validation")
    perm = np.random.default_rng(seed).permutation(n)
    val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    record = {"share": share, "seed": seed, "n_fit": n - n_val, "n_validation": n_val,
              "rule": "numpy.random.default_rng(seed).permutation of the training split; its first share validates"}
    return train[torch.as_tensor(fit_idx)], train[torch.as_tensor(val_idx)], record


def compressor_config(record: dict) -> CompressorConfig:
    """The :class:`CompressorConfig` a provenance record or resume state holds; a record written before the
    training settings were nested (``epochs``, ``lr``, ... beside ``model``) is read as well."""
    flat = {k: v for k, v in record.items() if k in VAETraining.__dataclass_fields__}
    rest = {k: v for k, v in record.items() if k not in flat}
    return CompressorConfig.from_dict({**rest, "training": {**rest.get("training", {}), **flat}})


def _source(cfg: CompressorConfig, vocab, max_nodes) -> str:
    model = cfg.build(vocab, max_nodes)
    return fingerprint(type(model), *getattr(type(model), "source_modules", ()))


def _accuracy(model, batch: DagBatch, decodes: int, seed: int) -> dict:
    from .metrics import reconstruction

    r = reconstruction(model, batch, 1, decodes, stochastic_encode=False, stochastic_decode=True, seed=seed)
    a = reconstruction(model, batch, 1, 1, stochastic_encode=False, stochastic_decode=False, seed=seed)
    return {"per_graph": r["per_graph"], "per_node": r["per_node"], "per_graph_argmax": a["per_graph"]}


def _save_torch(obj, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_write(path, "wb") as fh:
        fh.write(buf.getvalue())


def _same_setup(old: dict, new: dict) -> bool:
    """A resume state fits when its configs (settings added since filled with their defaults), data and vocabulary match."""
    try:
        configs = (compressor_config(old["compressor"]) == compressor_config(new["compressor"])
                   and ConvergeConfig.from_dict(old["converge"]) == ConvergeConfig.from_dict(new["converge"]))
    except Exception:   # a setting that no longer exists
        return False
    return configs and all(old.get(k) == new.get(k) for k in ("train_data", "validation_data", "vocab"))


def _machine(threads: int) -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": threads}


def converge(cfg: CompressorConfig, conv: ConvergeConfig, train: DagBatch, vocab, out: Path,
             command: str, progress: bool = True, log=print) -> dict:
    """Train ``cfg``'s model on ``train`` less a validation split (:func:`carve_validation`) until the validation
    reconstruction stops improving; ship it in ``out``.

    Resumes from ``out/resume.pt`` when it exists (same config and data, else a
    :class:`~nasvec.errors.CompressError`); writes the resume state after every evaluation and the
    shipped weights and provenance at the end; ``log`` (None: silent) gets a line per evaluation.
    Returns the provenance record.
    """
    out = Path(out)
    fit, val, split = carve_validation(train, conv.validation, conv.validation_seed)
    setup = {"compressor": cfg.as_dict(), "converge": conv.as_dict(), "train_data": fingerprint(train),
             "fit_data": fingerprint(fit), "validation_data": fingerprint(val), "validation": split,
             "vocab": list(vocab)}
    model = cfg.build(vocab, train.types.shape[1])
    tr = cfg.training
    opt = torch.optim.Adam(model.parameters(), lr=tr.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=conv.plateau_factor, patience=conv.plateau_patience)
    gen = torch.Generator().manual_seed(tr.seed)
    state = {"history": [], "evals": [], "best": -1.0, "best_node": -1.0, "since_best": 0, "done": False}
    if (out / RESUME).is_file():
        ckpt = torch.load(out / RESUME, map_location="cpu", weights_only=False)
        if not _same_setup(ckpt["setup"], setup):
            raise CompressError(f"{out / RESUME}: was started with other settings or data ({ckpt['setup']}); "
                                f"delete the folder to start again")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        gen.set_state(ckpt["generator"])
        state = ckpt["state"]
        torch.set_rng_state(ckpt["torch_rng"])
    else:
        torch.manual_seed(tr.seed)
    while not state["done"]:
        epoch = len(state["history"])
        rows = fit_compressor(model, fit, conv.eval_every - epoch % conv.eval_every, batch_size=tr.batch_size,
                              lr=tr.lr, beta=tr.beta, progress=progress, optimizer=opt, generator=gen,
                              start_epoch=epoch, on_epoch_end=lambda row: sched.step(row["loss"]))
        for r in rows:
            r["lr"] = opt.param_groups[0]["lr"]
        state["history"] += rows
        epoch = len(state["history"])
        rng = torch.get_rng_state()
        acc = _accuracy(model, val, conv.eval_decodes, tr.seed)
        torch.set_rng_state(rng)
        state["evals"].append({"epoch": epoch, "split": "validation", **acc})
        gain = acc["per_graph"] > state["best"] + conv.min_delta or acc["per_node"] > state["best_node"] + conv.min_delta
        state["best"], state["best_node"] = max(state["best"], acc["per_graph"]), max(state["best_node"], acc["per_node"])
        state["since_best"] = 0 if gain else state["since_best"] + 1
        state["done"] = state["since_best"] >= conv.patience or epoch >= conv.max_epochs
        _save_torch({"setup": setup, "model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": sched.state_dict(), "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                     "state": state}, out / RESUME)
        if log is not None:
            log(f"epoch {epoch}: validation per graph {100 * acc['per_graph']:.2f} % (best {100 * state['best']:.2f} %, "
                  f"{state['since_best']} evaluation(s) without a gain), lr {opt.param_groups[0]['lr']:g}")
    return ship(model, cfg, conv, setup, state, out, command)


def ship(model, cfg: CompressorConfig, conv: ConvergeConfig, setup: dict, state: dict, out: Path, command: str) -> dict:
    """Write the half-precision weights and the provenance record, and drop the resume state."""
    half = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    _save_torch(half, out / WEIGHTS)
    hist = state["history"]
    prov = {"model": cfg.model, "name": model.name, **setup, "command": command,
            "source": _source(cfg, setup["vocab"], model.max_nodes),
            "epochs": len(hist), "seconds": sum(r["seconds"] for r in hist),
            "stopped": "no gain" if state["since_best"] >= conv.patience else "max_epochs",
            "final_eval": state["evals"][-1], "evals": state["evals"], "history": hist,
            "parameters": sum(p.numel() for p in model.parameters()),
            "weights_bytes": (out / WEIGHTS).stat().st_size, "machine": _machine(torch.get_num_threads())}
    with atomic_write(out / PROVENANCE, "w") as fh:
        json.dump(prov, fh, indent=1)
    (out / RESUME).unlink(missing_ok=True)
    return prov


def shipped_dir(name: str | os.PathLike) -> Path:
    """``checkpoints/compression/<name>`` of the book (a path with a separator is taken as it is)."""
    p = Path(name)
    return p if len(p.parts) > 1 or p.is_absolute() else repo_root() / "checkpoints" / "compression" / p


def load_shipped(name: str | os.PathLike, train: DagBatch, vocab):
    """A shipped model: ``(model in eval mode, its CompressorConfig, provenance)``.

    A :class:`~nasvec.errors.CompressError` names what is wrong: the folder or its files missing, a
    training still unfinished there, or a checkpoint trained on other data or another vocabulary.
    """
    folder = shipped_dir(name)
    if not (folder / PROVENANCE).is_file() or not (folder / WEIGHTS).is_file():
        unfinished = (folder / RESUME).is_file()
        raise CompressError(f"no shipped checkpoint in {folder}" + (
            " (a training is unfinished there: run its command again to resume it)" if unfinished else
            " (expected weights.pt and provenance.json, written by `nasvec converge`)"))
    for f in (PROVENANCE, WEIGHTS):   # the book's cache and the edition watch a shipped model
        record_input(folder / f)
    prov = json.loads((folder / PROVENANCE).read_text())
    if prov["vocab"] != list(vocab) or prov["train_data"] != fingerprint(train):
        raise CompressError(f"{folder}: trained on other data or another vocabulary than this chapter's "
                            "(its provenance.json records the training data's fingerprint); retrain with its command")
    cfg = compressor_config(prov["compressor"])
    model = cfg.build(vocab, train.types.shape[1])
    weights = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    model.eval()
    return model, cfg, prov
