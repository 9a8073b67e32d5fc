"""Networks in and out of the graph representation (chapter 1): ONNX and torch, both directions.

* :mod:`.onnx_read` — :func:`from_onnx`, :func:`from_torch` (through :func:`export_torch`, the one
  call of ``torch.onnx.export``);
* :mod:`.onnx_write` — :func:`to_onnx` (with original, fresh or no weights);
* :mod:`.torch_build` — :func:`to_torch`, a trainable module built node by node.
"""

from .onnx_read import export_torch, from_onnx, from_torch
from .onnx_write import fresh_weights, to_onnx, weight_shapes
from .torch_build import GraphModule, to_torch

__all__ = ["GraphModule", "export_torch", "fresh_weights", "from_onnx", "from_torch", "to_onnx", "to_torch",
           "weight_shapes"]
