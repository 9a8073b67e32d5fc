"""Repair keeps its promises under any damage on real networks, small and ImageNet-size: every result within the size
caps, passing onnx.checker (full), running in onnxruntime and forward/backward in torch (issue 28's invariants)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasvec import to_onnx, to_torch
from nasvec.experiments.repair import reference_graphs
from nasvec.graph.limits import MAX_CHANNELS, MAX_LAYER_PARAMS, MAX_TOTAL_PARAMS, layer_params
from nasvec.graph.shapes import infer_shapes
from nasvec.repair_rules import repair
from nasvec.repair_rules.damage import KINDS, damage

pytestmark = pytest.mark.usefixtures("one_thread")

#: branched networks: Inception's four-way Concat, dense blocks, channel split + shuffle, squeeze-excite, residuals
NETS = ("googlenet", "densenet121", "shufflenet_v2_x1_0", "mobilenet_v3_small", "resnet18")
SIZES = {"small": (1, 3, 32, 32), "imagenet": (1, 3, 224, 224)}
_GRAPHS = {}


def _graph(name, size):
    if (name, size) not in _GRAPHS:
        if size == "small":
            _GRAPHS[name, size] = reference_graphs([name], SIZES[size])[name]
        else:
            from nasvec.data.reference import reference
            from nasvec.io import from_torch

            _GRAPHS[name, size] = (from_torch(reference(name), torch.zeros(SIZES[size])), SIZES[size])
    return _GRAPHS[name, size]


def _within_caps(g, shape):
    infos, ins, total = infer_shapes(g, shape), g.inputs(), 0
    for i, node in enumerate(g.nodes):
        w = layer_params(node.op, node.attrs, infos[ins[i][0]].shape) if ins[i] else 0
        assert w <= MAX_LAYER_PARAMS and node.attrs.get("out_channels", 1) <= MAX_CHANNELS
        assert node.attrs.get("out_features", 1) <= MAX_CHANNELS
        total += w
    assert total <= MAX_TOTAL_PARAMS


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NETS), size=st.sampled_from(sorted(SIZES)), kind=st.sampled_from(KINDS),
       k=st.sampled_from([0.5, 2, 10, 50]), sigma=st.sampled_from([0.25, 1.0]), seed=st.integers(0, 10 ** 6))
def test_any_damage_to_a_real_network_repairs_within_the_caps_to_a_network_that_builds_and_runs(name, size, kind, k,
                                                                                               sigma, seed):
    import onnxruntime as ort

    g, shape = _graph(name, size)
    classes = 10 if size == "small" else 1000
    r = repair(damage(g, k, kind, seed=seed, sigma=sigma), input_shape=shape, num_classes=classes)
    _within_caps(r, shape)
    model = to_onnx(r, shape)                                   # full checker
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"input": np.random.default_rng(seed).random(shape, dtype=np.float32)})
    assert y.shape == (1, classes)
    net = to_torch(r, (2,) + shape[1:])
    x = torch.randn((2,) + shape[1:], requires_grad=True)
    out = net(x)
    out.sum().backward()
    assert out.shape == (2, classes) and x.grad is not None
