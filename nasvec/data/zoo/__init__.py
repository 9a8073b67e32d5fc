"""The CNN zoo: a seeded generator of image-classification architectures (chapter 1).

The paper's data set is 1500 CNN architectures for image classification, up to 3000 nodes and up to
62 out-edges from one node. We generate such a zoo ourselves. An architecture is a *config*: a plain,
JSON-serialisable dict; :func:`build` turns it into a ``torch.nn.Module``; :func:`export_zoo` exports
models to ONNX (through :func:`nasvec.io.export_torch`); :func:`load_zoo` returns the zoo as
``ArchGraph`` objects (through :func:`nasvec.io.from_onnx`), cached on disk without weights.

Families (:data:`FAMILIES`): ``plain`` (VGG-like stacks), ``alexnet`` (big-kernel stem, fully
connected head), ``resnet_basic`` and ``resnet_bottleneck`` (post- or pre-activation, grouped
ResNeXt-style convolutions), ``densenet`` (every layer concatenates all earlier maps of its block),
``mobilenet`` (depthwise-separable v1 and inverted-residual v2 blocks, depthwise or grouped),
``inception`` (parallel branches joined by Concat, asymmetric and dilated kernels), ``squeezenet``
(fire modules, optional bypass), ``encdec`` (U-Net-like encoder-decoder with ConvTranspose, Pad and
Slice, then a classifier). Squeeze-and-excitation (ReduceMean, Conv, Sigmoid, Mul) is an option of
plain, resnet and mobilenet networks. Activations: Relu, LeakyRelu, Elu, Tanh, Sigmoid (and Clip
= ReLU6, HardSwish in mobilenets). Inputs are small (1x28x28 or 3x32x32) and channels narrow
(4..64, up to 128 in a few expansions and concatenations): weights do not matter here.

Sizes: each config is drawn for a target node count, log-uniform on 8..200 (98.5 %) or 200..2300
(1.5 %), which keeps the export of 1500 networks within a few minutes on one core. A zoo of 100 or
more configs ends with two fixed *anchors* at the paper's maxima: a ~3000-node ResNet and a
DenseNet whose block input feeds 64 layers (out-degree > 62).

Batch-norm parameters are drawn at random before export: with their fresh values (all ones and
zeros) the exporter would merge equal initializers and add ``Identity`` nodes that depend on the
weights, not on the architecture.
"""

from __future__ import annotations

import gzip
import pickle
import sys

import torch
from torch import nn

from ...cache import cached, fingerprint
from ...io import export_torch, from_onnx
from . import blocks, builders, sample
from .blocks import ACTIVATIONS, act_module
from .builders import FAMILIES, build
from .sample import ANCHORS_FROM, INPUT_SHAPES, anchor_configs, generate_configs, sample_config

__all__ = ["ACTIVATIONS", "ANCHORS_FROM", "FAMILIES", "INPUT_SHAPES", "ZOO_VERSION", "act_module", "anchor_configs",
           "build", "build_seeded", "export_config", "export_zoo", "generate_configs", "load_zoo", "sample_config",
           "strip_weights"]

ZOO_VERSION = 1  # bump when the generator changes: it invalidates cached zoos

# ---------------------------------------------------------------------------------------------
# export and load


def _randomize_norms(module, generator):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.5, 0.5, generator=generator)
                m.running_mean.uniform_(-0.5, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)


def build_seeded(config: dict) -> nn.Module:
    """:func:`build` with weights from ``config['seed']`` and random batch-norm parameters, in eval mode."""
    torch.manual_seed(config.get("seed", 0))
    model = build(config)
    _randomize_norms(model, torch.Generator().manual_seed(config.get("seed", 0)))
    return model.eval()


def export_config(config: dict):
    """One config as an ``onnx.ModelProto`` (with weights), via :func:`nasvec.io.export_torch`."""
    model = build_seeded(config)
    return export_torch(model, torch.zeros(1, *config["input_shape"]))


class _one_thread:
    """Run torch on one thread inside the block: the zoo's networks are narrow, and on a busy
    machine torch's thread pool makes tracing them several times slower."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)


def export_zoo(configs, progress: bool = True) -> list:
    """Export every config to an ``onnx.ModelProto`` (with weights), with a tqdm bar."""
    from tqdm.auto import tqdm

    with _one_thread():
        return [export_config(c) for c in tqdm(configs, desc="export zoo", disable=not progress)]


def strip_weights(model):
    """A copy of an ONNX model whose initializers keep their names, types and shapes but no data."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    for t in out.graph.initializer:
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
            t.ClearField(field)
    return out


def _zoo_graphs(configs, progress):
    from tqdm.auto import tqdm

    graphs = []
    with _one_thread():
        for c in tqdm(configs, desc="zoo", disable=not progress):
            g = from_onnx(strip_weights(export_config(c)))
            g.name = c["name"]
            graphs.append(g)
    return graphs


def _code_modules() -> list:
    """The modules whose source the zoo depends on: its generator and the graph reader."""
    from ...graph import core, vocab
    from ...io import onnx_read

    return [blocks, builders, sample, sys.modules[__name__], core, vocab, onnx_read]


def load_zoo(n: int = 1500, seed: int = 0, progress: bool = True, force: bool = False):
    """The zoo as ``list[ArchGraph]`` (no weights), built once and cached with :func:`nasvec.cache.cached`
    (as a gzipped pickle of the graphs: about 1 MB for 1500 architectures).

    The cache key holds ``n``, ``seed``, the torch version and the source of the generator and of the
    graph reader (:func:`nasvec.cache.fingerprint` of their modules), so a change to either rebuilds the zoo. The configs are ``generate_configs(n, seed)``
    (``graphs[i].name == configs[i]['name']``)."""
    configs = generate_configs(n, seed)
    key = {"n": int(n), "seed": int(seed), "zoo_version": ZOO_VERSION, "torch": torch.__version__,
           "code": fingerprint(*_code_modules())}
    def compute():  # a gzipped pickle: ~8 bytes per node instead of ~130 (node names compress well)
        return gzip.compress(pickle.dumps(_zoo_graphs(configs, progress), protocol=4), 6)

    blob, _ = cached("zoo", key, compute, force=force)
    return pickle.loads(gzip.decompress(blob))
