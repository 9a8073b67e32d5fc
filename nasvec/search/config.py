"""The settings of chapter 5's runs: the network of the search space and the search itself.

Each is a frozen dataclass: the profile sets it, the runs take it as their arguments, the cache
keys hold it and the chapter's settings table prints :meth:`~nasvec.config.Config.describe` of it.
The from-scratch trainings of derived architectures use :class:`nasvec.train.TrainConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, check
from .ops import resolve_ops


@dataclass(frozen=True)
class NetConfig(Config):
    """The network around the cells: candidate ops (``"slides"``, ``"darts"`` or names), channels of
    the first cell, the cell sequence (``normal`` / ``reduction``), the stem's stride."""

    ops: tuple = "slides"
    channels: int = 8
    layers: tuple = ("normal", "reduction", "normal")
    stem_stride: int = 1

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(resolve_ops(self.ops)))
        object.__setattr__(self, "layers", tuple(self.layers))
        check(isinstance(self.channels, int) and self.channels > 0, f"net: channels must be a positive integer, "
                                                                     f"got {self.channels!r}")

    def kwargs(self, images) -> dict:
        """Constructor arguments of :class:`~nasvec.search.SuperNet` / :class:`~nasvec.search.Network` for ``images``."""
        return {"channels": self.channels, "layers": self.layers, "stem_stride": self.stem_stride,
                "in_channels": images.shape[0], "n_classes": images.num_classes}

    def describe(self) -> str:
        return (f"{' → '.join(self.layers)}, {self.channels} channels, stem stride {self.stem_stride}; "
                f"ops {', '.join(self.ops)}")


@dataclass(frozen=True)
class SearchConfig(Config):
    """One search (:func:`nasvec.search.search`): epochs (temperature 1.0 -> 0.2), cost weight ``kappa``,
    batch size, Adam's learning rates for the weights (``lr_w``) and the architecture (``lr_a``), the
    hypernetwork's ``bandwidth`` and ``learn_ref``, and the seed."""

    epochs: int = 8
    kappa: float = 0.2
    batch_size: int = 64
    lr_w: float = 3e-3
    lr_a: float = 3e-2
    bandwidth: float = 1.0
    learn_ref: bool = False
    seed: int = 0

    def __post_init__(self):
        check(self.epochs >= 1 and self.batch_size >= 1, f"search: epochs and batch_size must be >= 1, got "
                                                          f"{self.epochs!r} and {self.batch_size!r}")
        check(self.kappa >= 0 and self.bandwidth > 0, f"search: kappa must be >= 0 and bandwidth > 0, got "
                                                       f"{self.kappa!r} and {self.bandwidth!r}")

    def describe(self) -> str:
        return (f"{self.epochs} epochs, batch {self.batch_size}, κ = {self.kappa}, t 1.0 → 0.2, "
                f"Adam lr {self.lr_w:g} (w) / {self.lr_a:g} (a)")
