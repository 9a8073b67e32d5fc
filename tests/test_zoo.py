"""The CNN zoo (nasvec.data.zoo): seeded configs, every family exports, checker + onnxruntime, extremes, cache."""

import json
from collections import Counter

import numpy as np
import pytest
import torch

from nasvec.data import zoo
from nasvec.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _onnx_stats(model):
    """(number of ONNX nodes, largest number of nodes reading one node's output) of a ModelProto."""
    consumers = Counter(name for node in model.graph.node for name in node.input)
    produced = [out for node in model.graph.node for out in node.output]
    return len(model.graph.node), max(consumers[o] for o in produced)


def _check_runs(config):
    """Export one config; the full checker passes and onnxruntime agrees with torch (eval mode)."""
    import onnx
    import onnxruntime as ort

    net = zoo.build_seeded(config)
    model = zoo.export_config(config)
    onnx.checker.check_model(model, full_check=True)
    x = torch.randn(1, *config["input_shape"], generator=torch.Generator().manual_seed(1))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = net(x).numpy()
    assert expected.shape == (1, config["num_classes"])
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    return model


# --- configs ---------------------------------------------------------------------------------


def test_configs_are_deterministic_for_a_seed_and_differ_between_seeds():
    a, b = zoo.generate_configs(40, seed=3), zoo.generate_configs(40, seed=3)
    assert a == b
    assert a != zoo.generate_configs(40, seed=4)


def test_a_smaller_zoo_is_a_prefix_below_the_anchor_size():
    assert zoo.generate_configs(20, 0) == zoo.generate_configs(50, 0)[:20]


def test_configs_are_plain_json_data():
    configs = zoo.generate_configs(60, seed=1)
    assert json.loads(json.dumps(configs)) == configs


def test_families_in_turn_and_unique_names():
    configs = zoo.generate_configs(2 * len(zoo.FAMILIES), seed=0)
    assert [c["family"] for c in configs] == list(zoo.FAMILIES) * 2
    assert len({c["name"] for c in configs}) == len(configs)


def test_full_zoo_has_1500_configs_and_ends_with_the_anchors():
    configs = zoo.generate_configs(1500, seed=0)
    assert len(configs) == 1500
    for c, a in zip(configs[-2:], zoo.anchor_configs()):
        assert {k: v for k, v in c.items() if k not in ("name", "seed")} == a
    assert Counter(c["family"] for c in configs[:-2]) == Counter(
        {f: len([i for i in range(1498) if zoo.FAMILIES[i % len(zoo.FAMILIES)] == f]) for f in zoo.FAMILIES})


def test_zoo_configs_use_every_activation_and_option():
    configs = zoo.generate_configs(1500, seed=0)
    acts = {c["act"]["type"] for c in configs}
    assert acts == set(zoo.ACTIVATIONS)
    assert any(c.get("se") for c in configs)
    hg = [h for c in configs if c["family"] == "encdec" for h in c["hourglasses"]]
    assert {h["merge"] for h in hg} == {"concat", "add"} and any(h["skip_slice"] for h in hg)


def test_dense_blocks_stay_near_the_papers_out_degree():
    """A dense block of L layers gives its input out-degree L + 1: blocks are capped at 64 layers."""
    blocks = [b for c in zoo.generate_configs(1500, seed=0) if c["family"] == "densenet" for b in c["blocks"]]
    assert max(blocks) == 64


def test_target_controls_the_size():
    """Bigger targets give deeper networks, in every family but the AlexNet-like one."""
    def convs(config):
        return sum(isinstance(m, torch.nn.Conv2d) for m in zoo.build(config).modules())

    for family in zoo.FAMILIES:
        if family == "alexnet":
            continue
        small = [convs(zoo.sample_config(np.random.default_rng(s), family, target=20)) for s in range(3)]
        large = [convs(zoo.sample_config(np.random.default_rng(s), family, target=400)) for s in range(3)]
        assert np.mean(large) > 3 * np.mean(small), family


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", zoo.FAMILIES)
def test_every_family_exports_and_runs(family):
    for s in range(2):
        _check_runs(zoo.sample_config(np.random.default_rng([11, s]), family, target=60))


def test_sample_of_the_zoo_passes_checker_and_onnxruntime():
    """30 architectures of the 1500-config zoo (the anchors are tested below)."""
    configs = zoo.generate_configs(1500, seed=0)
    small = [i for i, c in enumerate(configs[:-2]) if c["target"] <= 150]
    rng = np.random.default_rng(0)
    ops = Counter()
    for i in sorted(rng.choice(small, size=30, replace=False)):
        model = _check_runs(configs[i])
        ops.update({n.op_type for n in model.graph.node})
    assert {"Conv", "Gemm", "BatchNormalization", "Concat", "Add"} <= set(ops)


def test_zoo_covers_the_papers_ops():
    """A few small zoo architectures (the first, in zoo order, to show each activation, family and
    option) between them contain all 20 of the paper's ops."""
    wanted = {"Conv", "LeakyRelu", "MaxPool", "Flatten", "Gemm", "Sigmoid", "BatchNormalization", "Relu", "Add",
              "GlobalAveragePool", "AveragePool", "Concat", "Pad", "ReduceMean", "Tanh", "ConvTranspose",
              "Slice", "Elu", "Reshape", "Mul"}
    picks = {}
    for c in zoo.generate_configs(1500, seed=0)[:-2]:
        head = c.get("head", {})
        features = [c["act"]["type"], c["family"], "se" * bool(c.get("se")), "reshape" * bool(head.get("reshape")),
                    "slice" * any(h["skip_slice"] for h in c.get("hourglasses", []))]
        for key in features:
            if key and c["target"] <= 120:
                picks.setdefault(key, c)
    seen = set()
    for c in {c["name"]: c for c in picks.values()}.values():
        seen |= {n.op_type for n in zoo.export_config(c).graph.node}
    assert wanted <= seen, wanted - seen


def test_anchors_reach_the_papers_extremes():
    """~3000 ONNX nodes in one architecture; a node read by more than 62 others in another."""
    big, wide = zoo.anchor_configs()
    n_big, _ = _onnx_stats(zoo.export_config(big))
    assert 2800 <= n_big <= 3100
    _, deg = _onnx_stats(zoo.export_config(wide))
    assert deg >= 62


def test_export_zoo_returns_one_model_per_config():
    configs = [zoo.sample_config(np.random.default_rng(s), "squeezenet", target=20) for s in range(3)]
    models = zoo.export_zoo(configs, progress=False)
    assert len(models) == 3
    assert all(m.graph.input[0].name == "input" for m in models)


def test_strip_weights_keeps_shapes_and_drops_data():
    model = zoo.export_config(zoo.sample_config(np.random.default_rng(0), "resnet_basic", target=30))
    stripped = zoo.strip_weights(model)
    assert [list(t.dims) for t in stripped.graph.initializer] == [list(t.dims) for t in model.graph.initializer]
    assert sum(len(t.raw_data) + len(t.float_data) for t in stripped.graph.initializer) == 0
    assert sum(len(t.raw_data) + len(t.float_data) for t in model.graph.initializer) > 0  # the original is intact
    assert stripped.ByteSize() < model.ByteSize() / 2


# --- graphs and the cache --------------------------------------------------------------------


def test_from_onnx_does_not_need_the_weights():
    from nasvec.io import from_onnx

    for family in ("densenet", "encdec", "mobilenet"):
        model = zoo.export_config(zoo.sample_config(np.random.default_rng(5), family, target=50))
        assert from_onnx(zoo.strip_weights(model)) == from_onnx(model)


def test_load_zoo_builds_once_then_reads_the_cache(tmp_path, monkeypatch):
    from nasvec.graph import ArchGraph
    from nasvec.io import from_onnx

    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    graphs = zoo.load_zoo(12, seed=0, progress=False)
    configs = zoo.generate_configs(12, seed=0)
    assert len(graphs) == 12 and all(isinstance(g, ArchGraph) for g in graphs)
    assert [g.name for g in graphs] == [c["name"] for c in configs]
    assert graphs[4] == from_onnx(zoo.export_config(configs[4]))
    files = list(tmp_path.glob("zoo-*.pt"))
    assert len(files) == 1
    n_nodes = sum(len(g) for g in graphs)
    assert files[0].stat().st_size < 50 * n_nodes  # structure only, compressed: no weights in the cache

    def fail(config):
        raise AssertionError("load_zoo rebuilt a cached zoo")

    monkeypatch.setattr(zoo, "export_config", fail)
    assert zoo.load_zoo(12, seed=0, progress=False) == graphs


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: zoo.build({"family": "transformer", "input_shape": [1, 28, 28]}), "family"),
        (lambda: zoo.build({"input_shape": [1, 28, 28]}), "family"),
        (lambda: zoo.build({"family": "plain"}), "input_shape"),
        (lambda: zoo.build({"family": "plain", "input_shape": [28, 28]}), "input_shape"),
        (lambda: zoo.build([1, 2]), "config"),
        (lambda: zoo.build({"family": "densenet", "input_shape": [1, 28, 28], "num_classes": 10}),
         r"config\['stem'\] is missing"),
        (lambda: zoo.sample_config(np.random.default_rng(0), "lenet"), "family"),
        (lambda: zoo.sample_config(42, "plain"), "rng"),
        (lambda: zoo.sample_config(np.random.default_rng(0), "plain", target=0), "target"),
        (lambda: zoo.generate_configs(0), "n"),
        (lambda: zoo.generate_configs(5, seed=-1), "seed"),
        (lambda: zoo.act_module({"type": "swish"}), "activation"),
    ],
)
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ConfigError, match=match):
        call()
