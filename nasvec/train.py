"""The book's one training loop, and the image-classifier trainer built on it (chapters 2-5).

:func:`run_epochs` is the loop every training of the book goes through — compressors (chapter 2),
the mixed-op network (chapter 4), the weight-sharing search and the from-scratch trainings
(chapter 5), Table 2 (chapter 3): per epoch a permutation of the examples drawn from a seeded
generator, cut into mini-batches; per batch the caller's ``step`` computes the loss, the loop
zeroes the gradients, back-propagates and steps the optimizers and schedules. What differs between
trainings — the loss, extra random draws per batch, what is logged — is the ``step``.

:func:`fit_classifier` trains a classifier on an :class:`~nasvec.data.ImageData` with a :class:`TrainConfig`
(cross-entropy, a cosine learning-rate schedule to 0, the test accuracy after every epoch).
Deterministic for a given seed on the CPU; torch's seeding of the weights happens where the model is
built (build it after :func:`nasvec.utils.seed_everything` or ``torch.manual_seed``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from .config import Config
from .errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "cosine-annealing", "constant")


@dataclass(frozen=True)
class TrainConfig(Config):
    """How a classifier is trained from scratch: the arguments of :func:`fit_classifier`, its cache key, its provenance.

    ``optimizer``: ``"adam"`` (torch's Adam; a weight decay is added to the gradient), ``"adamw"``
    (AdamW: decoupled weight decay) or ``"sgd"`` (Nesterov momentum 0.9). ``schedule``: ``"cosine"`` sets ``lr * (1 + cos(pi s / S)) / 2`` at step ``s`` of ``S``;
    ``"cosine-annealing"`` is torch's ``CosineAnnealingLR`` over the ``S`` steps (the same curve,
    computed recursively, so it differs in the last bits); ``"constant"`` keeps ``lr``.
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "cosine"
    seed: int = 0

    def __post_init__(self):
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ConfigError(f"training: epochs must be an integer >= 1, got {self.epochs!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ConfigError(f"training: batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"training: optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"training: schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise ConfigError(f"training: lr must be > 0 and weight_decay >= 0, got {self.lr!r} and {self.weight_decay!r}")

    def describe(self) -> str:
        """The provenance line of a table: ``5 epochs, adam lr 0.003 (cosine), batch 64, seed 0``."""
        wd = f", weight decay {self.weight_decay:g}" if self.weight_decay else ""
        return (f"{self.epochs} epochs, {self.optimizer} lr {self.lr:g} ({self.schedule}){wd}, "
                f"batch {self.batch_size}, seed {self.seed}")


# --------------------------------------------------------------------------- the loop
def run_epochs(step: Callable, n: int, epochs: int, batch_size: int, generator: torch.Generator,
               optimizers: Sequence[torch.optim.Optimizer], schedulers: Sequence = (), modules: Sequence = (),
               on_epoch: Callable | None = None, start_epoch: int = 0, progress: bool = False,
               desc: str = "train", leave: bool = True) -> list[dict]:
    """The training loop: ``epochs`` passes over ``n`` examples in mini-batches of ``batch_size``.

    Per epoch the ``modules`` are put in training mode and ``torch.randperm(n, generator=generator)``
    orders the examples. Per batch of indices ``idx``, ``step(idx, epoch)`` (``epoch`` counts from
    ``start_epoch``, 0-based) returns ``None`` to skip the batch, or ``(loss, terms)``: the loop
    zeroes the gradients of ``optimizers``, back-propagates ``loss``, steps every optimizer and then
    every scheduler, and adds each number of ``terms`` to the epoch's sums. Returns one row per
    epoch, ``{"epoch": 1-based, "sums": {...}, "count": examples in the batches used, "seconds": ...}``;
    ``on_epoch(row)`` is called with each row as it is made (to evaluate, log or show a postfix;
    it may add keys). The same generator, optimizers and ``start_epoch`` continue an interrupted run.
    """
    from tqdm.auto import tqdm

    if epochs < 0 or batch_size < 1:
        raise ConfigError(f"training: epochs must be >= 0 and batch_size >= 1, got {epochs!r} and {batch_size!r}")
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=leave)
    for e in bar:
        for m in modules:
            m.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=generator)
        sums: dict = {}
        count = 0
        for k in range(0, n, batch_size):
            idx = perm[k:k + batch_size]
            out = step(idx, start_epoch + e)
            if out is None:
                continue
            loss, terms = out
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in optimizers:
                opt.step()
            for sched in schedulers:
                sched.step()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            count += len(idx)
        row = {"epoch": start_epoch + e + 1, "sums": sums, "count": count, "seconds": time.perf_counter() - t0}
        if on_epoch is not None:
            postfix = on_epoch(row)
            if postfix and progress:
                bar.set_postfix(postfix)
        history.append(row)
    return history


def resolve_device(device: str = "auto") -> str:
    """``"auto"``: ``"cuda"`` when a GPU is visible, else ``"cpu"``; other names are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not (device.startswith("cuda") and torch.cuda.is_available()):
        raise ConfigError(f"device {device!r} is not available here; use 'cpu', 'auto' or a visible 'cuda' device")
    return device


# --------------------------------------------------------------------------- classifiers
def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay, nesterov=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_schedule(opt, schedule: str, steps: int):
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    if schedule == "cosine-annealing":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    return None


@torch.no_grad()
def accuracy(model, x, y, batch_size: int = 500) -> float:
    """Share of ``x`` that ``model`` classifies as ``y`` (eval mode, on the model's device)."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    correct = 0
    for k in range(0, len(x), batch_size):
        correct += int((model(x[k:k + batch_size].to(device)).argmax(1).cpu() == y[k:k + batch_size]).sum())
    return correct / len(x)


def fit_classifier(model, data, cfg: TrainConfig, evaluate: bool = True, device: str = "cpu", progress: bool = False,
        desc: str = "epochs", after_epoch: Callable | None = None) -> dict:
    """Train classifier ``model`` on ``data`` (an :class:`~nasvec.data.ImageData`) as ``cfg`` says.

    Cross-entropy on mini-batches (a batch of one example is skipped: BatchNorm needs two), the
    learning rate on ``cfg.schedule`` over all steps; ``torch.manual_seed(cfg.seed)`` before the first
    epoch (dropout). Returns ``{"epoch": [1..E], "train_loss": [...], "test_acc": [...] (after every
    epoch, when ``evaluate``), "final_acc", "seconds", "params"}``. ``after_epoch(epoch)`` is called after each
    epoch (1-based; e.g. to evaluate the model another way: chapter 7's learning curves).
    """
    if not isinstance(cfg, TrainConfig):
        raise ConfigError(f"fit_classifier: cfg must be a TrainConfig, got {type(cfg).__name__}")
    gen = torch.Generator().manual_seed(int(cfg.seed))
    torch.manual_seed(int(cfg.seed))
    model.to(device)
    opt = make_optimizer(model.parameters(), cfg)
    x, y = torch.as_tensor(data.x_train, dtype=torch.float32), torch.as_tensor(data.y_train, dtype=torch.long)
    n = len(x)
    sched = make_schedule(opt, cfg.schedule, cfg.epochs * math.ceil(n / cfg.batch_size))

    def step(idx, epoch):
        if len(idx) < 2:  # BatchNorm needs two examples
            return None
        loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
        return loss, {"loss": float(loss.detach()) * len(idx)}

    curves = {"epoch": [], "train_loss": [], "test_acc": []}

    def on_epoch(row):
        curves["epoch"].append(row["epoch"])
        curves["train_loss"].append(row["sums"].get("loss", 0.0) / max(row["count"], 1))
        if evaluate:
            curves["test_acc"].append(accuracy(model, data.x_test, data.y_test))
        if after_epoch is not None:
            after_epoch(row["epoch"])

    t0 = time.perf_counter()
    run_epochs(step, n, cfg.epochs, cfg.batch_size, gen, [opt], [sched] if sched else [], [model], on_epoch,
               progress=progress, desc=desc, leave=False)
    curves["final_acc"] = curves["test_acc"][-1] if evaluate else None
    curves["seconds"] = time.perf_counter() - t0
    curves["params"] = sum(p.numel() for p in model.parameters())
    return curves
