"""Load-if-present, compute-otherwise caching of long runs, and the one fingerprint of every cache key.

A cached object is keyed by a name and the configuration that produced it. It lives in
``$NASVEC_CACHE`` (default ``<book root>/cache``) as ``<name>-<fingerprint>.pt`` beside a ``.json``
with the configuration, and is written atomically. ``force=True`` — or ``NASVEC_FORCE=1``, which
``nasvec book --force`` sets — recomputes it.

:func:`fingerprint` is the only hash the package builds keys with: of a run's configuration, of
the data it saw (arrays, tensors, batches), of a model's weights, of the source code of a class or
module, of a file. Introduced in chapter 2, where the compressors' checkpoints are cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import math
import os
import sys
import types
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError
from .utils import atomic_write, repo_root

VERSION = 2  # bump to invalidate every cached object


# --------------------------------------------------------------------------- fingerprints
def fingerprint(*parts, length: int = 16) -> str:
    """A hex SHA-256 prefix of ``parts``, equal for equal content whatever the object's identity.

    A part may be ``None``, a bool, number or string; a list, tuple or dict of parts (dict keys in
    sorted order); a dataclass (its fields); a NumPy array or torch tensor (dtype, shape, bytes); a
    ``torch.nn.Module`` (its class and state dict); a class (the source of its ``nasvec`` classes,
    base classes included); a module or a :class:`~pathlib.Path` (the file's bytes); or an object
    with a ``fingerprint_parts()`` method. Anything else is a :class:`~nasvec.errors.ConfigError`.
    """
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()[:length]


def _tag(h, tag: str, text: str = "") -> None:
    h.update(f"<{tag}:{len(text)}>{text}".encode())


def _feed(h, obj) -> None:  # noqa: C901 - one case per kind of part
    if obj is None or isinstance(obj, (bool, str)):
        _tag(h, "json", json.dumps(obj))
    elif isinstance(obj, int):
        _tag(h, "int", str(obj))
    elif isinstance(obj, float):
        _tag(h, "float", repr(obj) if math.isfinite(obj) else str(obj))
    elif isinstance(obj, dict):
        _tag(h, "dict", str(len(obj)))
        for key in sorted(obj, key=str):
            _feed(h, str(key))
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        _tag(h, "list", str(len(obj)))
        for item in obj:
            _feed(h, item)
    elif hasattr(obj, "fingerprint_parts"):
        _tag(h, "object", type(obj).__qualname__)
        _feed(h, obj.fingerprint_parts())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _tag(h, "dataclass", type(obj).__qualname__)
        _feed(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    elif isinstance(obj, Path):
        _tag(h, "file", obj.name)
        h.update(obj.read_bytes())
    elif isinstance(obj, types.ModuleType):
        _tag(h, "module", obj.__name__)
        h.update(Path(obj.__file__).read_bytes())
    elif isinstance(obj, type):
        _tag(h, "class", obj.__qualname__)
        for klass in obj.__mro__:
            if klass.__module__.startswith("nasvec"):
                try:
                    _tag(h, "source", inspect.getsource(klass))
                except (OSError, TypeError):
                    _tag(h, "source", klass.__qualname__)
    elif _is_array(obj):
        import numpy as np

        if "torch" in sys.modules and isinstance(obj, sys.modules["torch"].Tensor):
            obj = obj.detach().cpu().contiguous().numpy()
        arr = np.ascontiguousarray(obj)
        _tag(h, "array", f"{arr.dtype.str}{arr.shape}")
        h.update(arr.tobytes())
    elif "torch" in sys.modules and isinstance(obj, sys.modules["torch"].nn.Module):
        _tag(h, "module-state", type(obj).__qualname__)
        _feed(h, dict(obj.state_dict()))
    elif hasattr(obj, "item") and callable(obj.item) and not hasattr(obj, "__len__"):
        _feed(h, obj.item())  # a NumPy scalar
    else:
        raise ConfigError(f"fingerprint: cannot hash an object of type {type(obj).__name__} ({obj!r:.80})")


def _is_array(obj) -> bool:
    if "numpy" in sys.modules and isinstance(obj, sys.modules["numpy"].ndarray):
        return True
    return "torch" in sys.modules and isinstance(obj, sys.modules["torch"].Tensor)


# --------------------------------------------------------------------------- the cache
def cache_dir() -> Path:
    env = os.environ.get("NASVEC_CACHE")
    return Path(env) if env else repo_root() / "cache"


def cache_path(name: str, config) -> Path:
    return cache_dir() / f"{name}-{fingerprint(name, config, VERSION)}.pt"


def forced() -> bool:
    return os.environ.get("NASVEC_FORCE", "0") not in ("", "0")


def _jsonable(config):
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: _jsonable(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, dict):
        return {str(k): _jsonable(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_jsonable(v) for v in config]
    return config


def cached(name: str, config, compute: Callable[[], Any], force: bool = False) -> tuple[Any, bool]:
    """Return ``(value, from_cache)``: the stored value for ``(name, config)``, or ``compute()``.

    ``config`` is anything :func:`fingerprint` takes (a config dataclass, a dict of settings and
    data fingerprints). The value is anything ``torch.save`` can store (state dicts, tensors,
    dicts of numbers and arrays, lists of graphs).
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
        json.dump({"name": name, "config": _jsonable(config), "version": VERSION}, fh, indent=1, default=str)
    return value, False
