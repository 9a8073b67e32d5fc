"""Reference CNNs (nasvec.data.reference): published parameter counts, ONNX export, onnxruntime agreement."""

from collections import Counter

import numpy as np
import pytest
import torch

from nasvec.data.reference import REFERENCE, input_shape, reference
from nasvec.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


# torchvision's published parameter counts (1000 classes, 3 input channels)
PUBLISHED = {
    "resnet18": 11_689_512, "resnet50": 25_557_032, "resnext50_32x4d": 25_028_904,
    "vgg11": 132_863_336, "vgg16": 138_357_544, "alexnet": 61_100_840,
    "squeezenet1_1": 1_235_496, "densenet121": 7_978_856, "googlenet": 6_624_904,
    "mobilenet_v2": 3_504_872, "mobilenet_v3_small": 2_542_856, "mobilenet_v3_large": 5_483_032,
    "shufflenet_v2_x1_0": 2_278_604, "mnasnet1_0": 4_383_312, "efficientnet_b0": 5_288_548,
    "regnet_x_400mf": 5_495_976, "vgg11_bn": 132_868_840, "shufflenet_v2_x0_5": 1_366_792, "mnasnet0_5": 2_218_512,
    "regnet_y_400mf": 4_344_144,
}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_every_reference_has_a_published_count():
    assert set(REFERENCE) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_published(name):
    with torch.device("meta"):  # shapes only: no memory, no init time
        net = reference(name)
    assert n_params(net) == PUBLISHED[name]


@pytest.mark.parametrize("name", ["resnet18", "alexnet", "vgg11", "mobilenet_v2"])
def test_num_classes_and_in_channels_change_only_first_and_last_layers(name):
    with torch.device("meta"):
        base, other = reference(name), reference(name, num_classes=10, in_channels=1)
    first = next(m for m in base.modules() if isinstance(m, torch.nn.Conv2d))
    last = [m for m in base.modules() if isinstance(m, torch.nn.Linear)][-1]
    k = first.weight[0, 0].numel() * first.out_channels
    expected = PUBLISHED[name] - 2 * k - (1000 - 10) * (last.in_features + 1)
    assert n_params(other) == expected


def _run_onnx(model_proto, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.numpy()})[0]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_small_input_exports_and_onnxruntime_agrees(name):
    """Every reference net on 28x28 grey images: checker (full) passes, ORT equals torch (eval)."""
    import onnx

    from nasvec.io import export_torch

    torch.manual_seed(0)
    net = reference(name, num_classes=10, in_channels=1, small_input=True).eval()
    for m in net.modules():  # non-trivial BN statistics, so that BN really has to be exported right
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 1, 28, 28)
    model = export_torch(net, x)
    onnx.checker.check_model(model, full_check=True)
    ops = Counter(n.op_type for n in model.graph.node)
    assert "Split" not in ops and "Dropout" not in ops
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert ops["BatchNormalization"] == n_bn  # kept, not folded into the convolutions
    with torch.no_grad():
        expected = net(x).numpy()
    assert expected.shape == (2, 10)
    np.testing.assert_allclose(_run_onnx(model, x), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_small_input_accepts_32x32_colour(name):
    net = reference(name, num_classes=7, small_input=True).eval()
    with torch.no_grad():
        assert net(torch.randn(1, *input_shape(name, small_input=True)[1:])).shape == (1, 7)


def test_resnet50_full_size_export_keeps_batchnorm():
    """ResNet-50 at 224x224: ~375 ONNX nodes, 53 Conv and 53 BatchNormalization."""
    from nasvec.io import export_torch

    net = reference("resnet50").eval()
    model = export_torch(net, torch.randn(input_shape("resnet50")))
    ops = Counter(n.op_type for n in model.graph.node)
    assert ops["Conv"] == 53 and ops["BatchNormalization"] == 53 and ops["Add"] == 16
    # fresh BN parameters are equal, so the exporter deduplicates them into Identity nodes:
    # 175 layer nodes + 200 Identity nodes
    assert 370 <= len(model.graph.node) <= 380


@pytest.mark.parametrize("name", ["resnet18", "alexnet"])
def test_fashion_mnist_variants_train_one_step(name):
    """Chapter 3 trains these on 1x28x28 images with 10 classes: every parameter gets a gradient."""
    torch.manual_seed(0)
    net = reference(name, num_classes=10, in_channels=1, small_input=True)
    x, y = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    before = [p.detach().clone() for p in net.parameters()]
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters()))


def test_small_input_changes_the_stem():
    with torch.device("meta"):
        full, small = reference("resnet18"), reference("resnet18", small_input=True)
    assert full.stem[0][0].kernel_size == (7, 7) and full.stem[0][0].stride == (2, 2)
    assert small.stem[0].kernel_size == (3, 3) and small.stem[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in small.modules())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 2.5}, "num_classes"),
        ({"in_channels": "3"}, "in_channels"),
        ({"in_channels": True}, "in_channels"),
        ({"small_input": "yes"}, "small_input"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        reference("resnet18", **kwargs)


def test_unknown_name_lists_the_choices():
    with pytest.raises(ConfigError, match="name must be one of .*resnet18"):
        reference("resnet19")
    with pytest.raises(ConfigError, match="name must be one of"):
        input_shape("lenet")
