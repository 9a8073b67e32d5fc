"""ONNX and torch in and out of the graph representation (chapter 1, "A network as a graph").

``export_torch`` is the one place the book calls ``torch.onnx.export``: the legacy TorchScript
exporter (``dynamo=False``) at opset 17, with ``TrainingMode.PRESERVE`` so that BatchNormalization
stays a node (eval-mode export would fold it into the convolution), constant folding on, one input
named ``input`` and one output named ``output``.
"""

from __future__ import annotations

import io
import warnings

OPSET = 17


def export_torch(module, example_input):
    """Export a torch module to an ``onnx.ModelProto`` the way the book does everywhere."""
    import onnx
    import torch

    was_training = module.training
    module.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (example_input,), buf, dynamo=False, opset_version=OPSET,
                training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                input_names=["input"], output_names=["output"],
            )
    finally:
        module.train(was_training)
    return onnx.load_from_string(buf.getvalue())
