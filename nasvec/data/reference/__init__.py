"""Reference CNNs: the common image-classification families, defined here (chapter 1's test bed).

torchvision cannot be installed in this project, so the networks are written out from their
papers, sharing a few building blocks. At ``num_classes=1000`` and 3x224x224 input every network
has exactly the parameter count torchvision publishes for it (``tests/test_reference.py`` checks
them). Each constructor is ``name(num_classes=1000, in_channels=3, small_input=False)``;
``small_input=True`` adapts the stem to 28x28 / 32x32 images (a 3x3 stride-1 first convolution,
no early max-pool, one early stride-2 stage turned into stride 1, and for VGG/AlexNet a smaller
head), which is how chapter 3 trains ResNet18 and AlexNet on Fashion-MNIST (1x28x28, 10 classes).

Everything is written so that ``nasvec.io.export_torch`` maps each layer to single ONNX
nodes: flattening with ``torch.flatten`` (Flatten), channel splits by slicing (Slice, never the
multi-output Split), hard activations as ``nn.Hardswish``/``nn.Hardsigmoid``, squeeze-and-excite
pooling as ``AdaptiveAvgPool2d(1)`` (GlobalAveragePool), dropout only as ``nn.Dropout``.

``REFERENCE`` maps a name to ``(constructor, default_input_shape)``; ``reference(name, **kw)``
builds one by name.
"""

from __future__ import annotations

from torch import nn

from ...errors import ConfigError
from .classic import (alexnet, densenet121, googlenet, resnet18, resnet50, resnext50_32x4d, squeezenet1_1, vgg11,
                      vgg11_bn, vgg16)
from .mobile import (efficientnet_b0, mnasnet0_5, mnasnet1_0, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small,
                     regnet_x_400mf, regnet_y_400mf, shufflenet_v2_x0_5, shufflenet_v2_x1_0)

# ---------------------------------------------------------------------------------------------
# registry

_FULL = (1, 3, 224, 224)

#: name -> (constructor, default input shape (batch, channels, height, width))
REFERENCE = {
    "resnet18": (resnet18, _FULL),
    "resnet50": (resnet50, _FULL),
    "resnext50_32x4d": (resnext50_32x4d, _FULL),
    "vgg11": (vgg11, _FULL),
    "vgg11_bn": (vgg11_bn, _FULL),
    "vgg16": (vgg16, _FULL),
    "alexnet": (alexnet, _FULL),
    "squeezenet1_1": (squeezenet1_1, _FULL),
    "densenet121": (densenet121, _FULL),
    "googlenet": (googlenet, _FULL),
    "mobilenet_v2": (mobilenet_v2, _FULL),
    "mobilenet_v3_small": (mobilenet_v3_small, _FULL),
    "mobilenet_v3_large": (mobilenet_v3_large, _FULL),
    "shufflenet_v2_x1_0": (shufflenet_v2_x1_0, _FULL),
    "shufflenet_v2_x0_5": (shufflenet_v2_x0_5, _FULL),
    "mnasnet1_0": (mnasnet1_0, _FULL),
    "mnasnet0_5": (mnasnet0_5, _FULL),
    "efficientnet_b0": (efficientnet_b0, _FULL),
    "regnet_x_400mf": (regnet_x_400mf, _FULL),
    "regnet_y_400mf": (regnet_y_400mf, _FULL),
}


def reference(name: str, **kwargs) -> nn.Module:
    """Build the reference network ``name`` (a key of :data:`REFERENCE`)."""
    try:
        fn, _ = REFERENCE[name]
    except (KeyError, TypeError):
        raise ConfigError(f"name must be one of the reference networks {sorted(REFERENCE)}, got {name!r}") from None
    return fn(**kwargs)


def input_shape(name: str, small_input: bool = False, in_channels: int = 3) -> tuple[int, int, int, int]:
    """The input shape to run or export ``name`` with: its default, or (1, C, 32, 32) when small."""
    if name not in REFERENCE:
        raise ConfigError(f"name must be one of the reference networks {sorted(REFERENCE)}, got {name!r}")
    shape = (1, in_channels, 32, 32) if small_input else REFERENCE[name][1]
    return (shape[0], in_channels, *shape[2:])
