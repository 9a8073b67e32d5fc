"""Small shared helpers: seeding, atomic writes, file checksums, the repository root.

Introduced in the chapter "Data sets used in this book" (every notebook seeds
with :func:`seed_everything` in its first cell).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
from pathlib import Path

import numpy as np


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and (if importable) torch with one number.

    Also asks torch for deterministic algorithms where it has them, so that the
    same profile gives the same tables on the same machine.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=True)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs):
    """Open a temporary file next to ``path`` and move it into place on success.

    A reader never sees a half-written file: if the block raises (or the
    process is killed) the old file, if any, is left untouched and the
    temporary file is removed (or left as an ignorable ``.tmp`` file on a kill).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy a file atomically (content and modification time)."""
    src, dst = Path(src), Path(dst)
    with atomic_write(dst, "wb") as out, open(src, "rb") as inp:
        while chunk := inp.read(1 << 20):
            out.write(chunk)
    st = src.stat()
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def repo_root() -> Path:
    """The book's root folder (the one holding ``_toc.yml``).

    ``$NASVEC_ROOT`` wins; otherwise the parent of the installed package
    (an editable install), otherwise the current directory and its parents.
    """
    if env := os.environ.get("NASVEC_ROOT"):
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "_toc.yml").exists():
        return here
    for cand in [Path.cwd(), *Path.cwd().parents]:
        if (cand / "_toc.yml").exists():
            return cand
    return Path.cwd()


def record_input(path: str | os.PathLike) -> None:
    """Note that the running notebook read ``path`` (the book cache watches it).

    The book pipeline sets ``$NASVEC_INPUT_LOG``; when it is unset this does nothing.
    """
    log = os.environ.get("NASVEC_INPUT_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(str(Path(path).resolve()) + "\n")
