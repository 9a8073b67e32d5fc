"""Image data sets and their splits (chapter "Data sets used in this book").

* ``load_digits``        – scikit-learn's 8×8 digits, embedded (the quick profile's images);
* ``load_fashion_mnist`` – Fashion-MNIST, 28×28, from ``$NASVEC_DATA``, Debian's package or the web;
* ``load_mnist_test``    – the MNIST test split (the only MNIST split shipped here);
* :class:`ImageData`     – the one container of train and test images the trainers take;
* :func:`split_indices`  – the one seeded train/test split (images and architectures alike);
* :func:`image_data`, :func:`load_images` – the splits of chapter 3's Table 2 and of chapter 5.

Real data is looked up in ``$NASVEC_DATA`` first; loaders verify checksums and
fail with one :class:`~nasvec.errors.DataError` that says how to get the missing files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, DataError
from ..utils import atomic_write, record_input

if TYPE_CHECKING:
    import torch


def data_dir() -> Path:
    """``$NASVEC_DATA``, else ``~/.cache/nasvec/data``."""
    env = os.environ.get("NASVEC_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nasvec" / "data"


# --------------------------------------------------------------------------- digits
def load_digits():
    """scikit-learn's handwritten digits: images ``(1797, 1, 8, 8)`` float32 in [0, 1], labels int64."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    return x, d.target.astype(np.int64)


# --------------------------------------------------------------------------- IDX files
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# SHA-256 of the *decompressed* payloads (the .gz bytes differ between mirrors).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MNIST_TEST_SHA256 = {  # decompressed payloads; md5s match the published raw files
    "t10k-images-idx3-ubyte.gz": None,
    "t10k-labels-idx1-ubyte.gz": None,
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def parse_idx(payload: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse an uncompressed IDX payload (images: magic 0x803, labels: 0x801)."""
    if len(payload) < 8:
        raise DataError(f"{what}: too short to be an IDX file ({len(payload)} bytes)")
    magic = int.from_bytes(payload[:4], "big")
    if magic not in (0x801, 0x803):
        raise DataError(f"{what}: bad IDX magic number 0x{magic:08x} (expected 0x801 or 0x803)")
    ndim = magic & 0xFF
    dims = [int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(payload) - offset != expected:
        raise DataError(f"{what}: header says {dims} ({expected} bytes) but {len(payload) - offset} bytes follow")
    return np.frombuffer(payload, dtype=np.uint8, offset=offset).reshape(dims)


def _read_gz(path: Path, sha256: str | None) -> bytes:
    try:
        payload = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err})") from None
    if sha256 is not None:
        got = hashlib.sha256(payload).hexdigest()
        if got != sha256:
            raise DataError(f"{path}: checksum mismatch (SHA-256 of the payload is {got}, expected {sha256}); "
                            "delete the file and fetch it again")
    record_input(path)
    return payload


def _find(name: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


def _download(url: str, dest: Path, sha256: str | None = None) -> None:
    """Fetch ``url`` into ``dest``; the file lands only once its payload's SHA-256 matches."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            raw = resp.read()
    except OSError as err:
        raise DataError(f"could not download {url} ({err})") from None
    if sha256 is not None:
        try:
            got = hashlib.sha256(gzip.decompress(raw)).hexdigest()
        except (OSError, EOFError) as err:
            raise DataError(f"downloaded {url} is not a readable gzip file ({err}); nothing was written") from None
        if got != sha256:
            raise DataError(f"downloaded {url} has the wrong checksum (SHA-256 of the payload {got}, "
                            f"expected {sha256}); nothing was written")
    with atomic_write(dest, "wb") as out:
        out.write(raw)


def load_fashion_mnist(split: str = "train", download: bool = True):
    """Fashion-MNIST images ``(n, 28, 28)`` uint8 and labels ``(n,)`` int64.

    Looks in ``$NASVEC_DATA/fashion-mnist/``, then ``/usr/share/datasets/fashion-mnist/``
    (Debian's ``dataset-fashion-mnist``), then downloads into ``$NASVEC_DATA/fashion-mnist/``.
    Every file is verified by the SHA-256 of its decompressed payload.
    """
    if split not in ("train", "test"):
        raise ConfigError(f"Fashion-MNIST: split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    own = data_dir() / "fashion-mnist"
    arrays = []
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        name = f"{prefix}-{kind}"
        path = _find(name, [own, DEBIAN_FASHION_MNIST])
        if path is None and download:
            try:
                _download(FASHION_MNIST_URL + name, own / name, FASHION_MNIST_SHA256[name])
                path = own / name
            except DataError as err:
                raise DataError(
                    f"Fashion-MNIST file {name} not found in {own} or {DEBIAN_FASHION_MNIST}, and {err}. "
                    "Install Debian's package (`apt-get install -y dataset-fashion-mnist`), or put the "
                    f"four .gz files in {own} (set NASVEC_DATA to choose the folder)."
                ) from None
        if path is None:
            raise DataError(f"Fashion-MNIST file {name} not found in {own} or {DEBIAN_FASHION_MNIST}; "
                            "install `dataset-fashion-mnist` with apt-get or set NASVEC_DATA")
        arrays.append(parse_idx(_read_gz(path, FASHION_MNIST_SHA256[name]), str(path)))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels.astype(np.int64)


def load_mnist_test():
    """The MNIST test split from ``$NASVEC_DATA/mnist/`` (the training split is not shipped here)."""
    folder = data_dir() / "mnist"
    out = []
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        path = folder / name
        if not path.is_file():
            raise DataError(f"MNIST file {path} not found; set NASVEC_DATA to the folder holding mnist/")
        out.append(parse_idx(_read_gz(path, None), str(path)))
    return out[0], out[1].astype(np.int64)


# --------------------------------------------------------------------------- splits and containers
def split_indices(n: int, n_train: int, n_test: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(n)``: the first ``n_train`` of a permutation, then ``n_test`` more
    (``None``: all the rest). Every train/test split of the book is this one."""
    if n_test is None:
        n_test = n - n_train
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ConfigError(f"split: n_train={n_train} and n_test={n_test} must be >= 1 each, together at most {n}")
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train:n_train + n_test]


def stratified_subset(y, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices of ``y`` with the classes as equal as possible (the first ``n % classes`` get one
    more), drawn with ``rng``, in increasing order."""
    y = np.asarray(y)
    k = int(y.max()) + 1
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n // k + (c < n % k)] for c in range(k)])
    return np.sort(idx)


@dataclass
class ImageData:
    """Train and test images ``[n, C, H, W]`` (float32 tensors) with int64 labels, and what they are.

    ``spec`` says which data set, sizes and seed produced them; it is part of every cache key.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    spec: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple:
        """The shape of one image, ``(C, H, W)``."""
        return tuple(self.x_train.shape[1:])

    @property
    def input_shape(self) -> tuple:
        """The input shape of a network for one image, ``(1, C, H, W)``."""
        return (1, *self.shape)

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def fingerprint_parts(self):
        return self.spec or [self.x_train, self.y_train, self.x_test, self.y_test]


def _as_data(x_tr, y_tr, x_te, y_te, spec) -> ImageData:
    import torch

    def t(a, dtype):
        return a.contiguous() if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a), dtype=dtype)

    return ImageData(t(x_tr, torch.float32), t(y_tr, torch.long), t(x_te, torch.float32), t(y_te, torch.long), spec)


def image_data(x, y, n_train: int, n_test: int, size: int | None = None, seed: int = 0) -> ImageData:
    """Split ``(x, y)`` (images ``[n, H, W]`` uint8 or ``[n, C, H, W]`` float in [0, 1]) into a seeded
    train/test subset of ``n_train`` / ``n_test`` images (:func:`split_indices`), standardised with the
    training mean and deviation, resized to ``size`` (bilinear). Chapter 3's Table 2 trains on these."""
    import torch
    import torch.nn.functional as F

    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ConfigError(f"image_data: x must be [n, H, W] or [n, C, H, W], got shape {x.shape}")
    if len(x) != len(y):
        raise ConfigError(f"image_data: x has {len(x)} images but y has {len(y)} labels")
    if n_train < 1 or n_test < 1 or n_train + n_test > len(x):
        raise ConfigError(f"image_data: n_train={n_train} + n_test={n_test} must be >= 1 each and at most {len(x)}")
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    tr, te = split_indices(len(x), n_train, n_test, seed)
    xt = torch.from_numpy(x)
    if size is not None and tuple(xt.shape[2:]) != (size, size):
        xt = F.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    mean, std = xt[tr].mean(), xt[tr].std()
    xt = (xt - mean) / std
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    return ImageData(xt[tr].contiguous(), yt[tr], xt[te].contiguous(), yt[te])


def load_images(real_data: bool, n_train: int, n_test: int, seed: int = 0) -> ImageData:
    """Images in [0, 1] (not standardised) for chapter 5's searches and trainings.

    ``real_data=False``: scikit-learn's 8x8 digits, split at random (:func:`split_indices`) into
    ``n_train`` and ``n_test`` images. ``real_data=True``: Fashion-MNIST, a seeded, class-stratified
    subset (:func:`stratified_subset`) of ``n_train`` images of the training split and ``n_test`` of
    the test split.
    """
    spec = {"data": "fashion-mnist" if real_data else "digits", "n_train": n_train, "n_test": n_test, "seed": seed}
    if n_train < 1 or n_test < 1:
        raise ConfigError(f"n_train and n_test must be >= 1, got {n_train!r} and {n_test!r}")
    if not real_data:
        x, y = load_digits()
        if n_train + n_test > len(y):
            raise ConfigError(f"n_train + n_test = {n_train + n_test} exceeds the {len(y)} digits")
        tr, te = split_indices(len(y), n_train, n_test, seed)
        return _as_data(x[tr], y[tr], x[te], y[te], spec)
    rng = np.random.default_rng(seed)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = load_fashion_mnist(split)
        if n > len(y):
            raise ConfigError(f"n_{split} = {n} exceeds the {len(y)} Fashion-MNIST {split} images")
        idx = stratified_subset(y, n, rng)
        out += [(x[idx].astype(np.float32) / 255.0)[:, None], y[idx]]
    return _as_data(*out, spec)
