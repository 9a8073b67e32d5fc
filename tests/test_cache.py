import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nasvec import cache
from nasvec.cache import fingerprint
from nasvec.config import Config
from nasvec.errors import ConfigError


def test_cached_computes_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(3)}

    v1, hit1 = cache.cached("model", {"lr": 0.1}, compute)
    v2, hit2 = cache.cached("model", {"lr": 0.1}, compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert torch.equal(v1["w"], v2["w"])
    _, hit3 = cache.cached("model", {"lr": 0.2}, compute)  # another config, another entry
    assert not hit3 and len(calls) == 2
    monkeypatch.setenv("NASVEC_FORCE", "1")
    _, hit4 = cache.cached("model", {"lr": 0.1}, compute)
    assert not hit4 and len(calls) == 3


def test_failed_compute_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))

    def boom():
        raise RuntimeError("interrupted")

    try:
        cache.cached("x", {}, boom)
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_fingerprint_ignores_key_order_and_identity_but_not_content():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2}) and fingerprint([1, 2]) != fingerprint([2, 1])
    assert fingerprint(1) != fingerprint(1.0) != fingerprint("1") and fingerprint(True) != fingerprint(1)
    a = np.arange(6, dtype=np.float32)
    assert fingerprint(a) == fingerprint(a.copy()) == fingerprint(torch.from_numpy(a.copy()))
    assert fingerprint(a) != fingerprint(a.reshape(2, 3)) != fingerprint(a.astype(np.float64))
    assert len(fingerprint("x")) == 16 and len(fingerprint("x", length=64)) == 64


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=20))
def test_fingerprint_of_json_is_stable_across_a_json_round_trip(obj):
    assert fingerprint(obj) == fingerprint(json.loads(json.dumps(obj)))


@dataclass(frozen=True)
class _Cfg(Config):
    lr: float = 0.1
    epochs: int = 3


def test_fingerprint_of_configs_models_and_classes():
    assert fingerprint(_Cfg()) == fingerprint(_Cfg.from_dict({})) != fingerprint(_Cfg(lr=0.2))
    assert _Cfg().replace(lr=0.2) == _Cfg(lr=0.2)
    with pytest.raises(ConfigError, match=r"_Cfg: unknown setting\(s\) \['epoch'\]"):
        _Cfg().replace(epoch=4)
    torch.manual_seed(0)
    m1, m2 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert fingerprint(m1) != fingerprint(m2)
    m2.load_state_dict(m1.state_dict())
    assert fingerprint(m1) == fingerprint(m2)
    from nasvec.compress.setvec import GraphAE, GraphVAE
    assert fingerprint(GraphAE) != fingerprint(GraphVAE)  # the classes' source
    with pytest.raises(ConfigError, match="cannot hash an object of type object"):
        fingerprint(object())


def test_cached_takes_a_config_dataclass_and_writes_it_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    value, hit = cache.cached("run", {"cfg": _Cfg(), "steps": (1, 2)}, lambda: 7)
    again, hit2 = cache.cached("run", {"cfg": _Cfg(), "steps": (1, 2)}, lambda: 8)
    assert (value, hit, again, hit2) == (7, False, 7, True)
    sidecar = json.loads(next(tmp_path.glob("run-*.json")).read_text())
    assert sidecar["config"] == {"cfg": {"lr": 0.1, "epochs": 3}, "steps": [1, 2]}
