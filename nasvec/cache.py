"""Load-if-present, compute-otherwise caching of long runs (trained models, generated data sets).

A cached object is keyed by a name and the configuration that produced it
(any JSON-serialisable dict). It lives in ``$NASVEC_CACHE`` (default
``<book root>/cache``) as ``<name>-<hash>.pt`` beside a ``.json`` with the
configuration, and is written atomically. ``force=True`` — or ``NASVEC_FORCE=1``,
which ``nasvec book --force`` sets — recomputes it.

Introduced in chapter 2, where the compressors' checkpoints are cached.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Callable

from .utils import atomic_write, repo_root, sha256_json

VERSION = 1  # bump to invalidate every cached object


def cache_dir() -> Path:
    env = os.environ.get("NASVEC_CACHE")
    return Path(env) if env else repo_root() / "cache"


def cache_path(name: str, config: dict) -> Path:
    key = sha256_json({"name": name, "config": config, "version": VERSION})[:16]
    return cache_dir() / f"{name}-{key}.pt"


def forced() -> bool:
    return os.environ.get("NASVEC_FORCE", "0") not in ("", "0")


def cached(name: str, config: dict, compute: Callable[[], Any], force: bool = False) -> tuple[Any, bool]:
    """Return ``(value, from_cache)``: the stored value for ``(name, config)``, or ``compute()``.

    The value is anything ``torch.save`` can store (state dicts, tensors, dicts of
    numbers and arrays, lists of graphs).
    """
    import torch

    path = cache_path(name, config)
    if path.is_file() and not (force or forced()):
        return torch.load(path, map_location="cpu", weights_only=False), True
    value = compute()
    buf = io.BytesIO()
    torch.save(value, buf)
    with atomic_write(path, "wb") as fh:
        fh.write(buf.getvalue())
    with atomic_write(path.with_suffix(".json"), "w") as fh:
        json.dump({"name": name, "config": config, "version": VERSION}, fh, indent=1, default=str)
    return value, False
