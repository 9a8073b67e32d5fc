"""The attribute codec: one node's attributes <-> one row of the attribute matrix (chapter 1).

The columns and the encoding of each *kind* of attribute are defined in :mod:`nasvec.graph.vocab`;
this module is the one place that switches on the kind. Three readers share it:

* :func:`encode_attrs` writes a row (:func:`nasvec.graph.vectors.encode`; ``strict=False`` also
  writes values the vocabulary would reject, for tests and demonstrations of repair);
* :func:`decode_attrs` reads a row back exactly (:func:`nasvec.graph.vectors.decode`);
* :func:`read_attrs` reads whatever is legible in a row of a decoder's raw output, for one op
  (:func:`nasvec.repair_rules.repair`): unreadable cells count as missing, integers are rounded and
  clipped, tensor-valued attributes are never read.
"""

from __future__ import annotations

import math

import numpy as np

from .vocab import ATTRS, COLUMN_OF, N_COLUMNS, STRINGS, allowed_attrs, decode_int, encode_int

STRING_INDEX = {s: k for k, s in enumerate(STRINGS)}
ATTR_ITEMS = list(ATTRS.items())
#: the first column of every attribute, in :data:`ATTR_ITEMS` order (the column that says "present")
HEADS = np.array([COLUMN_OF[name] for name, _ in ATTR_ITEMS])
_LIMIT = 2 ** 52


def _loose_int(x) -> float:
    """An integer as a float without the exactness check (a value above 2**53 is rounded)."""
    return float(x)


def encode_attrs(attrs: dict, tensors: list, strict: bool = True) -> np.ndarray:
    """One row of the attribute matrix for a node's ``attrs``; tensor values are appended to ``tensors``.

    ``strict=False`` skips the exactness check of integers (a value above 2**53 is stored rounded).
    """
    row = np.full(N_COLUMNS, np.nan)
    to_int = encode_int if strict else _loose_int
    for name, value in attrs.items():
        kind, _ = ATTRS[name]
        c = COLUMN_OF[name]
        if kind == "int":
            row[c] = to_int(value)
        elif kind == "float":
            row[c] = float(value)
        elif kind == "string":
            row[c] = STRING_INDEX[value]
        elif kind == "tensor":
            row[c] = len(tensors)
            tensors.append(np.asarray(value))
        else:
            row[c] = len(value)
            conv = to_int if kind == "ints" else float
            for k, x in enumerate(value):
                row[c + 1 + k] = conv(x)
    return row


def decode_attrs(row: list, present, tensors: list) -> dict:
    """The attributes of one row (a list of floats): the exact inverse of :func:`encode_attrs`.

    ``present`` lists the indices into :data:`ATTR_ITEMS` of the attributes whose head column is
    not NaN (computed for all rows at once by the caller).
    """
    a = {}
    for j in present:
        name, (kind, _) = ATTR_ITEMS[j]
        c = COLUMN_OF[name]
        x = row[c]
        if kind == "int":
            a[name] = decode_int(x)
        elif kind == "float":
            a[name] = float(x)
        elif kind == "string":
            a[name] = STRINGS[int(x)]
        elif kind == "tensor":
            a[name] = tensors[int(x)]
        else:
            vals = row[c + 1:c + 1 + int(x)]
            a[name] = [decode_int(t) for t in vals] if kind == "ints" else [float(t) for t in vals]
    return a


def _clip_int(t: float) -> int:
    return int(round(max(min(t, _LIMIT), -_LIMIT)))


def read_attrs(row: list, op: str) -> dict:
    """The attributes of ``op`` legible in one row of arbitrary floats; illegible cells are missing."""
    out = {}
    for name in allowed_attrs(op):
        kind, width = ATTRS[name]
        c = COLUMN_OF[name]
        x = row[c]
        if math.isnan(x) and kind not in ("ints", "floats"):
            continue
        if kind == "int":
            if not math.isinf(x):
                out[name] = _clip_int(x)
        elif kind == "float":
            if math.isfinite(x):
                out[name] = float(x)
        elif kind == "string":
            k = round(x) if math.isfinite(x) else -1
            if 0 <= k < len(STRINGS):
                out[name] = STRINGS[k]
        elif kind in ("ints", "floats"):
            value = _read_list(row, c, x, width, kind, name)
            if value is not None:
                out[name] = value
        # tensors (Constant values, Gather indices) are never kept by the rules
    return out


#: list attributes of spatial layers: one entry per spatial axis (pads: begins, then ends); no real network
#: has an entry above :data:`SPATIAL_BOUND`, so a larger one is corruption
SPATIAL_LISTS = {"kernel_shape", "strides", "dilations", "pads", "output_padding"}
SPATIAL_BOUND = 1 << 16
#: a damaged entry of a Reshape's ``shape`` that its other entries determine (never a legal value)
DAMAGED = -2


def _read_list(row, c, x, width, kind, name=""):
    """A list whose cells may be damaged, restored where its other cells say what it was: a damaged length
    is taken from the cells present; a damaged entry of a spatial list (:data:`SPATIAL_LISTS`) is copied from
    its counterpart (pads: the same axis' other side) or the most common intact entry; one damaged entry of a
    permutation is the axis missing from it; a damaged first entry of a Reshape's ``shape`` is the batch axis
    (-1); one damaged later entry (NaN) is marked :data:`DAMAGED` for Reshape's fixer, which solves it from the
    element count."""
    if math.isfinite(x) and 0 <= round(x) <= width:
        n = int(round(x))
    else:  # the length is damaged: the cells present say how long the list is
        present = [k for k in range(width) if not math.isnan(row[c + 1 + k])]
        if not present:
            return None
        n = present[-1] + 1
    vals = list(row[c + 1:c + 1 + n])
    if not all(math.isfinite(t) and abs(t) < SPATIAL_BOUND for t in vals):
        vals = _restore(vals, n, kind, name)
        if vals is None or any(math.isnan(t) for t in vals):
            return None
    if kind == "ints":
        return [decode_int(t) if math.isinf(t) else _clip_int(t) for t in vals]
    return [float(t) for t in vals] if all(math.isfinite(t) for t in vals) else None


def _restore(vals, n, kind, name):
    """The entries of a list some of whose entries are damaged (see :func:`_read_list`), or None."""
    if kind != "ints":
        return vals
    damaged = [k for k, t in enumerate(vals) if not math.isfinite(t) or abs(t) >= SPATIAL_BOUND]
    if name in SPATIAL_LISTS:
        good = [round(t) for k, t in enumerate(vals) if k not in damaged]
        if not good:
            return None
        common, half = max(set(good), key=good.count), n // 2
        for k in damaged:
            mate = k + half if k < half else k - half
            vals[k] = vals[mate] if name == "pads" and n % 2 == 0 and mate not in damaged else common
    elif name == "perm" and len(damaged) == 1:   # a permutation: the missing axis is known
        missing = set(range(n)) - {round(t) for k, t in enumerate(vals) if k not in damaged}
        if len(missing) == 1:
            vals[damaged[0]] = missing.pop()
    elif name == "shape" and len(damaged) == 1 and damaged[0] == 0:   # the batch axis, the only one a CNN lets vary
        vals[0] = -1
    elif name == "shape" and len(damaged) == 1 and math.isnan(vals[damaged[0]]):
        vals[damaged[0]] = DAMAGED
    return vals
