"""The tasks of chapter 6: synthetic data from a planted sparse teacher, and images reduced to a few features.

A :class:`Task` holds train / validation / test objects (``float32``: ``N(0, I)`` draws for a planted task,
PCA features standardised on the training part for images) with labels, and, for a synthetic task, the
planted structure ``Z_opt`` that labelled it. The
paper names MNIST and synthetic data and binary classification; every task here is binary
(``classes=(a, b)``) or multi-class (``classes=None``: all of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import Config, check
from ..errors import ConfigError, DataError
from .masked import ACTIVATIONS, Structure, activate, stack_structures


@dataclass
class Task:
    """One classification task: name, the three splits, the number of classes, the planted ``Z_opt`` (or None)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    planted: Structure | None = None
    source: str = ""

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def fingerprint_parts(self):
        return [self.name, self.source, self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test,
                None if self.planted is None else self.planted.key().hex()]


@dataclass(frozen=True)
class TaskSpec(Config):
    """A task of the chapter. ``source``: ``planted`` (synthetic), ``digits``, ``fashion`` (Fashion-MNIST's
    training split) or ``mnist`` (MNIST's test split, the only one shipped here: it is split into our own
    train / validation / test). ``classes``: a pair ``[a, b]`` for a binary task, empty for all classes.
    ``features``: inputs after PCA (images) or of the teacher (planted). A planted teacher has ``live``
    hidden neurons, each reading ``fan_in`` of the first ``informative`` inputs and feeding every output;
    ``noise`` of its labels are redrawn at random."""

    name: str = "planted-binary"
    source: str = "planted"
    classes: tuple = ()
    features: int = 12
    n_train: int = 2000
    n_val: int = 500
    n_test: int = 2000
    n_classes: int = 2        # planted only: outputs of the teacher
    live: int = 4
    fan_in: int = 2
    informative: int = 6
    noise: float = 0.05

    def __post_init__(self):
        check(self.source in ("planted", "digits", "fashion", "mnist"),
              f"task {self.name!r}: source must be planted, digits, fashion or mnist, got {self.source!r}")
        check(len(self.classes) in (0, 2), f"task {self.name!r}: classes must be a pair [a, b] or empty (all)")
        check(self.features >= 2 and min(self.n_train, self.n_val, self.n_test) >= 10,
              f"task {self.name!r}: needs >= 2 features and >= 10 objects per split")
        if self.source == "planted":
            check(1 <= self.live <= self.features and 1 <= self.fan_in <= self.informative <= self.features,
                  f"task {self.name!r}: need 1 <= live <= features and 1 <= fan_in <= informative <= features")
            check(self.n_classes >= 2 and 0 <= self.noise < 1, f"task {self.name!r}: n_classes >= 2, 0 <= noise < 1")


def planted_structure(spec: TaskSpec, rng: np.random.Generator) -> Structure:
    """The teacher's ``Z_opt``: ``live`` hidden neurons (the first ones), each reading ``fan_in`` distinct inputs
    among the first ``informative`` and feeding every output; activations drawn from the non-linear ones."""
    n = h = spec.features
    v1 = np.zeros((n, h), bool)
    v2 = np.zeros((h, spec.n_classes), bool)
    for j in range(spec.live):
        v1[rng.choice(spec.informative, size=spec.fan_in, replace=False), j] = True
        v2[j] = True
    a1 = rng.integers(1, len(ACTIVATIONS), size=h)       # relu, tanh or sigmoid: a linear teacher is too easy
    a2 = np.zeros(spec.n_classes, np.int64)                # identity outputs
    return Structure(v1, a1, v2, a2)


def _teacher_labels(z: Structure, x: np.ndarray, rng: np.random.Generator, tries: int = 100) -> np.ndarray:
    """Labels ``argmax f(x)`` of a teacher with structure ``z`` and weights ``N(0, 1)`` on its masks (no biases,
    like the students); weights are redrawn until every class holds at least half its equal share."""
    v1, a1, v2, a2 = stack_structures([z])
    c = z.shape[2]
    for _ in range(tries):
        w1 = torch.from_numpy(rng.standard_normal(v1.shape)).float() * v1
        w2 = torch.from_numpy(rng.standard_normal(v2.shape)).float() * v2
        with torch.no_grad():
            y = activate(activate(torch.from_numpy(x)[None] @ w1, a1) @ w2, a2)[0].argmax(1).numpy()
        if np.bincount(y, minlength=c).min() >= len(y) / (2 * c):
            return y
    raise DataError(f"planted teacher {z.describe()}: no balanced labelling in {tries} draws of its weights")


def planted_task(spec: TaskSpec, seed: int) -> Task:
    """Objects ``N(0, I)``, labels from a random teacher with the planted structure, ``noise`` redrawn."""
    rng = np.random.default_rng([seed, 6002])
    z = planted_structure(spec, rng)
    m = spec.n_train + spec.n_val + spec.n_test
    x = rng.standard_normal((m, spec.features)).astype(np.float32)
    y = _teacher_labels(z, x, rng)
    flip = rng.random(m) < spec.noise
    y[flip] = rng.integers(spec.n_classes, size=int(flip.sum()))
    a, b = spec.n_train, spec.n_train + spec.n_val
    return Task(spec.name, x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], spec.n_classes, z,
                f"planted teacher: {z.describe()}, {spec.noise:.0%} label noise")


def _images(source: str):
    from ..data.images import load_digits, load_fashion_mnist, load_mnist_test

    if source == "digits":
        x, y = load_digits()
        return x.reshape(len(x), -1), y, "scikit-learn digits (8x8)"
    if source == "fashion":
        x, y = load_fashion_mnist("train")
        return x.reshape(len(x), -1).astype(np.float32) / 255, y, "Fashion-MNIST training split (28x28)"
    x, y = load_mnist_test()
    return x.reshape(len(x), -1).astype(np.float32) / 255, y, "MNIST test split (28x28; the only one shipped here)"


def image_task(spec: TaskSpec, seed: int) -> Task:
    """Images of ``spec.classes`` (or all), a seeded split, PCA to ``features`` fitted on the training part."""
    from sklearn.decomposition import PCA

    x, y, what = _images(spec.source)
    if spec.classes:
        a, b = spec.classes
        if not {a, b} <= set(np.unique(y).tolist()) or a == b:
            raise ConfigError(f"task {spec.name!r}: classes {list(spec.classes)} are not two classes of {what}")
        keep = np.flatnonzero((y == a) | (y == b))
        x, y = x[keep], (y[keep] == b).astype(np.int64)
    need = spec.n_train + spec.n_val + spec.n_test
    if need > len(x):
        raise DataError(f"task {spec.name!r}: {what} has {len(x)} objects of the chosen classes, the splits need {need}")
    order = np.random.default_rng([seed, 6003]).permutation(len(x))[:need]
    x, y = x[order].astype(np.float32), y[order]
    a, b = spec.n_train, spec.n_train + spec.n_val
    pca = PCA(spec.features, random_state=seed).fit(x[:a])
    z = pca.transform(x).astype(np.float32)
    z = (z - z[:a].mean(0)) / z[:a].std(0).clip(1e-6)
    classes = 2 if spec.classes else int(y.max()) + 1
    return Task(spec.name, z[:a], y[:a], z[a:b], y[a:b], z[b:], y[b:], classes, None,
                f"{what}, classes {list(spec.classes) or 'all'}, PCA to {spec.features} features")


def make_task(spec: TaskSpec | dict, seed: int) -> Task:
    """The task of a spec (or a profile's mapping) for one seed: the seed draws the teacher or the split."""
    spec = spec if isinstance(spec, TaskSpec) else TaskSpec.from_dict(spec)
    return planted_task(spec, seed) if spec.source == "planted" else image_task(spec, seed)
