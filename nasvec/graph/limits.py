"""The size caps a valid network keeps (chapters 1 and 3): what :meth:`ArchGraph.validate` checks for an input shape
and what :func:`nasvec.repair_rules.repair` never exceeds, so that no graph the package accepts asks for terabytes.

The caps admit every reference network at ImageNet size (VGG-16's 25,088 x 4,096 Linear is the largest layer,
138 M parameters the largest total, 64 x 224 x 224 values the largest tensor).
"""

from __future__ import annotations

import math

from ..errors import GraphError

class SizeCapError(GraphError):
    """A layer or tensor of a graph exceeds a size cap of this module (a :class:`~nasvec.errors.GraphError`)."""


MAX_CHANNELS = 4096          #: cap on out_channels / out_features of one layer
MAX_LAYER_PARAMS = 2 ** 27   #: cap on the learned weights of one layer (134 M: VGG-16's first Linear fits)
MAX_TOTAL_PARAMS = 2 ** 28   #: cap on the learned weights of the whole network (268 M: VGG-16's 138 M fit)
MAX_ELEMENTS = 2 ** 22       #: cap on the values per example of any tensor (4.2 M: VGG-16's 3.2 M at 224 fit)


def layer_params(op: str, attrs: dict, x: tuple) -> int:
    """The learned weights of one node of ``op`` with attributes ``attrs`` reading a tensor of shape ``x`` (its first
    input): convolutions, Linear layers (Gemm, MatMul with ``out_features``) and batch norm; 0 for the rest."""
    if op in ("Conv", "ConvTranspose"):
        k = math.prod(attrs.get("kernel_shape", ()))
        cin, cout, g = x[1], attrs.get("out_channels", 0), max(1, attrs.get("group", 1))
        return (cin // g) * cout * k + (cout if attrs.get("bias", 0) else 0) if op == "Conv" else \
            cin * (cout // g) * k + (cout if attrs.get("bias", 0) else 0)
    if op in ("Gemm", "MatMul") and "out_features" in attrs:
        fin = x[0] if op == "Gemm" and attrs.get("transA", 0) else x[-1]
        return fin * attrs["out_features"] + (attrs["out_features"] if attrs.get("bias", 0) else 0)
    if op == "BatchNormalization":
        return 4 * x[1] if len(x) > 1 else 0
    return 0


def check_node(where: str, op: str, attrs: dict, x: tuple, out: tuple) -> int:
    """Raise :class:`~nasvec.errors.SizeCapError` (naming ``where``) when a node exceeds a per-node cap; return its learned weights."""
    for name in ("out_channels", "out_features"):
        if name in attrs and not 1 <= attrs[name] <= MAX_CHANNELS:
            raise SizeCapError(f"{where}: {name} {attrs[name]:,} is outside 1..{MAX_CHANNELS:,} (nasvec.graph.limits)")
    values = math.prod(out[1:]) if len(out) > 1 else 1
    if values > MAX_ELEMENTS:
        raise SizeCapError(f"{where}: its output {tuple(out)} holds {values:,} values per example, more than "
                         f"MAX_ELEMENTS = {MAX_ELEMENTS:,} (nasvec.graph.limits)")
    w = layer_params(op, attrs, x) if x else 0
    if w > MAX_LAYER_PARAMS:
        raise SizeCapError(f"{where}: {w:,} learned weights, more than MAX_LAYER_PARAMS = {MAX_LAYER_PARAMS:,} "
                         f"(nasvec.graph.limits)")
    return w


def check_total(total: int) -> None:
    if total > MAX_TOTAL_PARAMS:
        raise SizeCapError(f"the network has {total:,} learned weights, more than MAX_TOTAL_PARAMS = "
                         f"{MAX_TOTAL_PARAMS:,} (nasvec.graph.limits)")
