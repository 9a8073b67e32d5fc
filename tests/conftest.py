import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (derandomized, seeded by the test itself), so CI and a
# re-run see what the last run saw; HYPOTHESIS_PROFILE=explore draws fresh examples (a search for new failures).
settings.register_profile("nasvec", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "nasvec"))

ROOT = Path(__file__).resolve().parent.parent


def real_data(*parts: str) -> Path:
    """A path under $NASVEC_DATA; skips the test when absent (fails instead when NASVEC_REQUIRE_DATA=1)."""
    base = os.environ.get("NASVEC_DATA")
    path = Path(base, *parts) if base else None
    if path is None or not path.exists():
        msg = f"real data {'/'.join(parts)} not found (set NASVEC_DATA)"
        if os.environ.get("NASVEC_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread (``pytestmark = pytest.mark.usefixtures("one_thread")``): narrow networks and small
    inputs are faster so, and several times faster on a busy shared machine where a thread pool slows tracing."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache of this test's own (``NASVEC_CACHE``), with ``NASVEC_FORCE`` unset."""
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path))
    monkeypatch.delenv("NASVEC_FORCE", raising=False)
    return tmp_path


@contextmanager
def cache_at(path):
    """``$NASVEC_CACHE`` at ``path`` (and no ``$NASVEC_FORCE``) for the block: for module-scoped fixtures, which
    cannot use ``monkeypatch``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NASVEC_CACHE", str(path))
        mp.delenv("NASVEC_FORCE", raising=False)
        yield
