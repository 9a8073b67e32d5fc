"""Smoke test: every chapter of the book runs in the quick profile, through the real pipeline.

It executes into the book's own `_build/executed/quick/` (cached like `make book`), so a
`make book` after `make test` only renders. Chapters that run quickly are executed a second
time into a scratch root to check that the same profile gives byte-identical tables.
"""

import filecmp
import os
import subprocess
import sys

import nbformat
import pytest

from nasvec import book

from conftest import ROOT

pytestmark = pytest.mark.slow
CHAPTERS = [c.name for c in book.chapters(ROOT, book.load_profile("quick", ROOT))]
RERUN_UNDER_S = 60  # determinism re-run only for chapters this fast (CI's budget; every chapter's own tests pin the rest)


@pytest.fixture(scope="module")
def quick_book():
    book.execute_all(ROOT, "quick")
    return book.Paths(ROOT, "quick")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_quick_profile(quick_book, chapter):
    ch = next(c for c in book.chapters(ROOT, book.load_profile("quick", ROOT)) if c.name == chapter)
    nb = nbformat.read(quick_book.executed_nb(ch), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    outputs = [f for d in quick_book.outputs(ch) if d.exists() for f in d.iterdir()]
    assert outputs, f"chapter {chapter} wrote no figure or table"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_same_profile_gives_identical_tables(quick_book, chapter, tmp_path):
    import json

    ch = next(c for c in book.chapters(ROOT, book.load_profile("quick", ROOT)) if c.name == chapter)
    stamp = json.loads(quick_book.stamp(ch).read_text())
    if stamp["elapsed_s"] > RERUN_UNDER_S:
        pytest.skip(f"{chapter} takes {stamp['elapsed_s']:.0f} s; re-run only chapters under {RERUN_UNDER_S} s")
    tables = ROOT / "book" / "tables" / chapter
    env = {**os.environ, "NASVEC_ROOT": str(tmp_path), "NASVEC_CACHE": str(tmp_path / "cache"), "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "papermill", str(ch.source), str(tmp_path / "out.ipynb"), "--cwd", str(ROOT),
           "-k", "python3", "--no-progress-bar", "-y", json.dumps(ch.parameters)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    again = tmp_path / "book" / "tables" / chapter
    names = sorted(p.name for p in tables.glob("*.csv") if not p.stem.endswith("_timing"))
    assert names == sorted(p.name for p in again.glob("*.csv") if not p.stem.endswith("_timing"))
    for name in names:
        assert filecmp.cmp(tables / name, again / name, shallow=False), f"{chapter}/{name} differs between runs"
