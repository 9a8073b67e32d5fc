"""Shipped, converged compressors (nasvec.compress.shipped and `nasvec converge`): stopping, resuming, loading."""

import json

import pytest
import torch

from nasvec.compress.base import DagBatch
from nasvec.compress.registry import CompressorConfig
from nasvec.compress.shipped import ConvergeConfig, carve_validation, converge, load_shipped
from nasvec.data import ENAS_TYPES, generate_enas
from nasvec.errors import CompressError, ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")
CFG = CompressorConfig.from_dict({"latent_dim": 6, "training": {"lr": 1e-2, "batch_size": 16}}, model="pernode")


@pytest.fixture(scope="module")
def data():
    graphs = generate_enas(80, seed=4)
    return DagBatch.from_graphs(graphs[:64], ENAS_TYPES), DagBatch.from_graphs(graphs[64:], ENAS_TYPES)


def test_the_validation_split_is_carved_from_the_training_split(data):
    train, _ = data
    fit, val, record = carve_validation(train, 0.25, 0)
    assert (len(fit), len(val), record["n_fit"], record["n_validation"]) == (48, 16, 48, 16)


def test_the_validation_and_fit_splits_partition_the_training_split(data):
    train, _ = data
    fit, val, _ = carve_validation(train, 0.25, 0)
    rows = lambda b: [t.numpy().tobytes() + a.numpy().tobytes() for t, a in zip(b.types, b.adj)]
    assert sorted(rows(fit) + rows(val)) == sorted(rows(train))


def test_a_validation_share_that_leaves_nothing_is_an_error(data):
    with pytest.raises(CompressError, match="leaves 0 of 64 training graphs for validation"):
        carve_validation(data[0], 0.001, 0)


def test_converge_records_its_validation_split_and_never_sees_the_test_split(data, tmp_path):
    train, _ = data
    prov = converge(CFG, ConvergeConfig(max_epochs=2, eval_every=2, eval_decodes=1, validation=0.25), train,
                    ENAS_TYPES, tmp_path, "c", progress=False, log=None)
    assert prov["validation"]["n_validation"] == 16 and [e["split"] for e in prov["evals"]] == ["validation"]
    assert "test_data" not in prov


def _state(folder):
    return torch.load(folder / "weights.pt", weights_only=True)


def test_converge_ships_half_precision_weights_and_provenance(data, tmp_path):
    train, test = data
    prov = converge(CFG, ConvergeConfig(max_epochs=6, eval_every=2, eval_decodes=2), train, ENAS_TYPES,
                    tmp_path, "nasvec converge pernode ...", progress=False, log=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provenance.json", "weights.pt"]   # resume state dropped
    assert all(v.dtype == torch.float16 for v in _state(tmp_path).values())
    on_disk = json.loads((tmp_path / "provenance.json").read_text())
    assert on_disk == json.loads(json.dumps(prov))
    assert prov["epochs"] == 6 and [e["epoch"] for e in prov["evals"]] == [2, 4, 6] and prov["stopped"] == "max_epochs"
    assert len(prov["history"]) == 6 and prov["command"] == "nasvec converge pernode ..."
    assert {"platform", "torch", "threads"} <= set(prov["machine"]) and prov["weights_bytes"] > 0
    model, cfg, _ = load_shipped(tmp_path, train, ENAS_TYPES)
    assert cfg == CFG and not model.training
    assert all(torch.equal(model.state_dict()[k], v.float()) for k, v in _state(tmp_path).items())


def test_a_stopped_training_resumes_where_it_stopped(data, tmp_path):
    train, test = data
    conv = ConvergeConfig(max_epochs=6, eval_every=2, eval_decodes=2)
    converge(CFG, conv, train, ENAS_TYPES, tmp_path / "straight", "c", progress=False, log=None)

    def stop_after_first(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        converge(CFG, conv, train, ENAS_TYPES, tmp_path / "resumed", "c", progress=False, log=stop_after_first)
    assert (tmp_path / "resumed" / "resume.pt").is_file() and not (tmp_path / "resumed" / "weights.pt").exists()
    prov = converge(CFG, conv, train, ENAS_TYPES, tmp_path / "resumed", "c", progress=False, log=None)
    straight, resumed = _state(tmp_path / "straight"), _state(tmp_path / "resumed")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert prov["epochs"] == 6
    with pytest.raises(KeyboardInterrupt):
        converge(CFG, conv, train, ENAS_TYPES, tmp_path / "other", "c", progress=False, log=stop_after_first)
    with pytest.raises(CompressError, match="was started with other settings or data"):
        converge(CFG.replace(training={"lr": 1e-3}), conv, train, ENAS_TYPES, tmp_path / "other", "c", progress=False, log=None)


def test_training_stops_when_neither_measure_gains(data, tmp_path):
    train, test = data
    frozen = CFG.replace(training={"lr": 1e-12})   # nothing changes: no gain after the first evaluation
    prov = converge(frozen, ConvergeConfig(max_epochs=40, eval_every=1, eval_decodes=1, patience=2), train,
                    ENAS_TYPES, tmp_path, "c", progress=False, log=None)
    assert prov["stopped"] == "no gain" and prov["epochs"] == 3


def test_loading_names_what_is_wrong(data, tmp_path):
    train, test = data
    with pytest.raises(CompressError, match="no shipped checkpoint in .*written by `nasvec converge`"):
        load_shipped(tmp_path / "nothing", train, ENAS_TYPES)
    converge(CFG, ConvergeConfig(max_epochs=2, eval_every=2, eval_decodes=1), train, ENAS_TYPES, tmp_path / "m",
             "c", progress=False, log=None)
    with pytest.raises(CompressError, match="trained on other data"):
        load_shipped(tmp_path / "m", test, ENAS_TYPES)
    with pytest.raises(ConfigError, match="patience must be >= 1|must be >= 1"):
        ConvergeConfig(patience=0)


def test_the_command_line_trains_and_records_its_command(tmp_path, capsys):
    from nasvec.book.cli import main

    assert main(["converge", "pernode", "--latent", "6", "--lr", "0.01", "--generated", "60", "--max-epochs", "2",
                 "--eval-every", "2", "--out", str(tmp_path / "m"), "--quiet"]) == 0
    prov = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert prov["command"].startswith("nasvec converge pernode --latent 6 --lr 0.01 --max-epochs 2")
    assert main(["converge", "nope", "--generated", "60", "--out", str(tmp_path / "x")]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_a_record_written_before_the_training_was_nested_reads_as_the_same_config():
    from nasvec.compress.shipped import compressor_config

    flat = {"model": "pernode", "latent_dim": 6, "kwargs": {}, "epochs": 10, "lr": 1e-2, "batch_size": 16,
            "beta": 0.005, "chunk": None, "seed": 0}
    assert compressor_config(flat) == CFG
    assert compressor_config(CFG.as_dict()) == CFG


def test_the_shipped_checkpoints_provenance_reads_as_a_config(root):
    from nasvec.compress.shipped import compressor_config

    for folder in sorted((root / "checkpoints" / "compression").iterdir()):
        prov = json.loads((folder / "provenance.json").read_text())
        cfg = compressor_config(prov["compressor"])
        recorded = prov["compressor"].get("training", prov["compressor"])   # nested since the configs compose
        assert cfg.model == prov["model"] and cfg.training.epochs == recorded["epochs"]
