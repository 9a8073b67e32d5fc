"""CIFAR-10, the data set of the seed paper's Table 2 (chapter 3).

:func:`load_cifar10` reads the official python version (the ``cifar-10-batches-py`` folder of
``cifar-10-python.tar.gz``): ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``, each a pickled
dict with ``data`` (``uint8 [n, 3072]``, the red, green and blue planes of 32x32 images, row-major)
and ``labels`` (``n`` ints in 0..9), and ``batches.meta`` with the class names.

It looks in ``$NASVEC_DATA/cifar-10/`` (the batch files there, or in its ``cifar-10-batches-py/``);
when they are missing it downloads the official archive, checks its MD5 and unpacks it there; when
that fails (no network) it raises one :class:`~nasvec.errors.DataError` that says where to put the
files. Every official file is checked against its published MD5 (``verify=False`` skips that, for
files written in the same format, e.g. by the tests). The pickles are read with an unpickler that
admits only NumPy arrays and plain containers, and a file that is not such a batch is refused with
the file's name.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..utils import atomic_write, record_input
from .images import data_dir

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
#: the published MD5 of every file of the official python version
CIFAR10_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
               "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
               "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
               "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = {"train": [f"data_batch_{k}" for k in range(1, 6)], "test": ["test_batch"]}


class _Unpickler(pickle.Unpickler):
    """Admits the globals a CIFAR batch needs (NumPy's array reconstruction) and nothing else."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")


def _folder(root: Path) -> Path | None:
    for cand in (root, root / "cifar-10-batches-py"):
        if all((cand / f).is_file() for f in SPLITS["train"] + SPLITS["test"]):
            return cand
    return None


def _download(root: Path) -> Path:
    try:
        with urllib.request.urlopen(CIFAR10_URL, timeout=60) as resp:
            raw = resp.read()
    except OSError as err:
        raise DataError(f"CIFAR-10 not found in {root} (the files data_batch_1..5 and test_batch of the python "
                        f"version), and downloading {CIFAR10_URL} failed ({err}). Put the unpacked "
                        f"cifar-10-batches-py folder (or its files) in {root}; set NASVEC_DATA to choose the "
                        "folder that holds cifar-10/") from None
    got = hashlib.md5(raw).hexdigest()
    if got != CIFAR10_ARCHIVE_MD5:
        raise DataError(f"downloaded {CIFAR10_URL} has MD5 {got}, expected {CIFAR10_ARCHIVE_MD5}; nothing was written")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and name in CIFAR10_MD5:
                with atomic_write(root / "cifar-10-batches-py" / name, "wb") as out:
                    out.write(tar.extractfile(member).read())
    return root / "cifar-10-batches-py"


def _read_batch(path: Path, verify: bool) -> tuple[np.ndarray, np.ndarray]:
    raw = path.read_bytes()
    if verify:
        got = hashlib.md5(raw).hexdigest()
        if got != CIFAR10_MD5[path.name]:
            raise DataError(f"{path}: MD5 {got} differs from the official file's {CIFAR10_MD5[path.name]}; delete it "
                            "and fetch it again (or pass verify=False for files of your own in this format)")
    try:
        d = _Unpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:   # any unpickling failure: truncated, foreign or hostile content
        raise DataError(f"{path}: not a CIFAR-10 batch (unpickling failed: {err})") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DataError(f"{path}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels')")
    data, labels = d[b"data"], np.asarray(d[b"labels"])
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        raise DataError(f"{path}: 'data' must be uint8 [n, 3072], got "
                        f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu" or (len(labels) and not (
            labels.min() >= 0 and labels.max() <= 9)):
        raise DataError(f"{path}: 'labels' must be {len(data)} integers in 0..9")
    record_input(path)
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(split: str = "train", download: bool = True, verify: bool = True, root=None):
    """CIFAR-10 images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 (see the module docstring).

    ``root``: the folder to look in (default ``$NASVEC_DATA/cifar-10``).
    """
    if split not in SPLITS:
        raise ConfigError(f"CIFAR-10: split must be 'train' or 'test', got {split!r}")
    root = Path(root) if root is not None else data_dir() / "cifar-10"
    folder = _folder(root)
    if folder is None:
        if not download:
            raise DataError(f"CIFAR-10 not found in {root}: put the files data_batch_1..5 and test_batch of the "
                            "python version (cifar-10-batches-py) there, or set NASVEC_DATA")
        folder = _download(root)
    parts = [_read_batch(folder / name, verify) for name in SPLITS[split]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
