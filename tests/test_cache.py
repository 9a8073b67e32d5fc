import torch

from nasvec import cache


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
