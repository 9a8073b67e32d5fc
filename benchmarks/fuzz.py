"""Fuzzing the public API (chapters 1 and 3): generated garbage into every entry point; only named errors may escape.

    .venv/bin/python benchmarks/fuzz.py [--inputs 10000] [--seed 0]

Each input is drawn from a seeded generator (:func:`draw`): bytes, wrong types, extreme and non-finite numbers,
arrays of the wrong shape or dtype, valid graphs with one attribute or the input shape replaced by garbage, and
real ONNX files with bytes flipped. It goes into one of :data:`ENTRIES` (``from_onnx``, ``from_torch``,
``encode``, ``decode``, ``repair``, ``to_onnx``, ``to_torch``, the roster reader). Prints, per entry point, how many
calls returned, how many raised each :class:`~nasvec.errors.NasvecError` subclass, and how many raised anything
else (the target: none). ``tests/test_fuzz.py`` runs the same generator under hypothesis.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCALARS = (None, 0, -1, 2 ** 63, -(2 ** 70), 1e308, -1e-308, float("nan"), float("inf"), "", "Conv", b"\x00\xff",
           [], {}, (1, 2), object())


def _array(rng: np.random.Generator):
    """An array of a random shape (0-3 dims), dtype and content, extreme values included."""
    shape = tuple(int(s) for s in rng.integers(0, 6, rng.integers(0, 4)))
    kind = rng.integers(6)
    if kind == 0:
        return np.full(shape, "x", dtype=object)
    if kind == 1:
        return rng.integers(-5, 40, shape)
    values = rng.normal(0, 10 ** rng.integers(0, 13), shape)
    mask = rng.random(shape)
    values = np.where(mask < 0.1, np.nan, np.where(mask < 0.2, np.inf, np.where(mask < 0.25, -np.inf, values)))
    return values.astype(np.float32) if kind == 2 else values


def _scalar(rng):
    return SCALARS[rng.integers(len(SCALARS))]


def _any(rng):
    return _array(rng) if rng.random() < 0.6 else _scalar(rng)


def _graph(rng):
    """A small valid CNN with, half of the time, one attribute of one node replaced by garbage."""
    from nasvec.graph import ArchGraph, Node

    nodes = [Node("Input"), Node("Conv", {"kernel_shape": [3, 3], "out_channels": 8, "pads": [1, 1, 1, 1]}),
             Node("Relu"), Node("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
             Node("GlobalAveragePool"), Node("Flatten", {"axis": 1}), Node("Gemm", {"out_features": 10}),
             Node("Output")]
    if rng.random() < 0.5:
        i = int(rng.choice([1, 3, 5, 6]))
        key = str(rng.choice(list(nodes[i].attrs)))
        nodes[i].attrs[key] = _scalar(rng) if rng.random() < 0.5 else \
            [int(x) for x in rng.integers(-10 ** 12, 10 ** 12, rng.integers(0, 4))] if rng.random() < 0.5 else \
            int(rng.choice([0, -3, 10 ** 12, 2 ** 40]))
    return ArchGraph(nodes, [(k, k + 1) for k in range(len(nodes) - 1)])


def _shape(rng):
    if rng.random() < 0.5:
        return (1, 3, 16, 16)
    return _scalar(rng) if rng.random() < 0.3 else tuple(int(x) for x in rng.integers(-2, 10 ** 6, rng.integers(0, 6)))


def _vector(rng):
    from nasvec.graph.vectors import VectorRep
    from nasvec.graph.vocab import N_COLUMNS

    n = int(rng.integers(0, 6))
    attrs = rng.normal(0, 1e6, (n, N_COLUMNS)) if rng.random() < 0.7 else _array(rng)
    if rng.random() < 0.5 and np.ndim(attrs) == 2 and attrs.dtype == np.float64:
        attrs[rng.random(attrs.shape) < 0.3] = rng.choice([np.nan, np.inf, -np.inf, 1e300])
    ops = rng.integers(-3, 45, n).astype(float) if rng.random() < 0.6 else _any(rng)
    if isinstance(ops, np.ndarray) and ops.dtype.kind == "f" and ops.size and rng.random() < 0.3:
        ops.reshape(-1)[0] = np.nan
    edges = rng.integers(-2, n + 2, (2, int(rng.integers(0, 8)))) if rng.random() < 0.6 else _any(rng)
    return VectorRep(ops, edges, attrs, [], [])


def _onnx_bytes(rng):
    from nasvec import to_onnx

    data = bytearray(to_onnx(_valid_graph(), (1, 3, 16, 16)).SerializeToString())
    for _ in range(int(rng.integers(1, 20))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return bytes(data) if rng.random() < 0.8 else bytes(rng.integers(0, 256, rng.integers(0, 200)).astype(np.uint8))


_VALID = None


def _valid_graph():
    global _VALID
    if _VALID is None:
        _VALID = _graph(np.random.default_rng([0, 0]))   # the first draw with no garbage attribute
        _VALID.validate((1, 3, 16, 16))
    return _VALID


def _module(rng):
    import torch

    if rng.random() < 0.3:
        return _scalar(rng), _any(rng)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    shape = tuple(int(x) for x in rng.integers(0, 6, rng.integers(0, 5)))
    x = torch.zeros(shape) if rng.random() < 0.8 else torch.zeros(shape, dtype=torch.int64)
    return net, x


def draw(entry: str, rng: np.random.Generator):
    """The arguments of one call of ``entry`` (a key of :data:`ENTRIES`), drawn from ``rng``."""
    if entry == "from_onnx":
        return (_onnx_bytes(rng) if rng.random() < 0.7 else _any(rng),)
    if entry == "from_torch":
        return _module(rng)
    if entry == "encode":
        return (_graph(rng) if rng.random() < 0.5 else _any(rng),)
    if entry == "decode":
        return (_vector(rng) if rng.random() < 0.8 else _any(rng),)
    if entry == "repair":
        v = {k: _any(rng) for k in ("ops", "edge_index", "attrs") if rng.random() < 0.9}
        if rng.random() < 0.5:
            v = {"ops": _vector(rng).ops, "edge_index": _vector(rng).edge_index, "attrs": _vector(rng).attrs}
        classes = rng.choice([None, 10, 0, -1, 1.5, 10 ** 6, "ten"])
        return v if rng.random() < 0.9 else _any(rng), _shape(rng) if rng.random() < 0.3 else (1, 3, 16, 16), classes
    if entry in ("to_onnx", "to_torch"):
        return (_graph(rng) if rng.random() < 0.9 else _any(rng), _shape(rng))
    if entry == "read_roster":
        return (bytes(rng.integers(0, 256, rng.integers(0, 300)).astype(np.uint8)),)
    raise KeyError(entry)


def _read_roster(data: bytes):
    from nasvec.classroom.assign import read_roster

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_bytes(data)
        return read_roster(path)


def _entries() -> dict:
    from nasvec import decode, encode, from_onnx, from_torch, repair, to_onnx, to_torch

    return {"from_onnx": from_onnx, "from_torch": from_torch, "encode": encode, "decode": decode,
            "repair": lambda v, shape, classes: repair(v, input_shape=shape, num_classes=classes),
            "to_onnx": to_onnx, "to_torch": to_torch, "read_roster": _read_roster}


#: the entry points fuzzed, in the order the table prints them
ENTRIES = ("from_onnx", "from_torch", "encode", "decode", "repair", "to_onnx", "to_torch", "read_roster")


def outcome(entry: str, args) -> str:
    """``"returned"``, the name of the :class:`~nasvec.errors.NasvecError` subclass raised, or ``"ESCAPED <type>"``."""
    from nasvec.errors import NasvecError

    try:
        _entries()[entry](*args)
        return "returned"
    except NasvecError as e:
        return type(e).__name__
    except Exception as e:  # noqa: BLE001 - what the fuzzing looks for
        return f"ESCAPED {type(e).__name__}: {str(e)[:160]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    counts = {e: Counter() for e in ENTRIES}
    escaped = []
    t0 = time.perf_counter()
    for k in range(args.inputs):
        entry = ENTRIES[k % len(ENTRIES)]
        rng = np.random.default_rng([args.seed, k])
        result = outcome(entry, draw(entry, rng))
        counts[entry][result.split(":")[0]] += 1
        if result.startswith("ESCAPED"):
            escaped.append((entry, k, result))
    print(f"{args.inputs:,} inputs in {time.perf_counter() - t0:.0f} s (seed {args.seed})")
    for entry in ENTRIES:
        print(f"  {entry:12s} " + ", ".join(f"{name} {n}" for name, n in counts[entry].most_common()))
    print(f"escaped as a raw error: {len(escaped)}")
    for entry, k, result in escaped[:20]:
        print(f"  {entry} input {k}: {result}")
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
