"""The book pipeline: profiles, validation, cache invalidation, atomic outputs, resuming."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nasvec import book
from nasvec.book import BookError, pipeline


def make_book(root: Path, body: str = "print(profile, n)", params: str = 'profile = "quick"\nn = 1'):
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "book").mkdir(exist_ok=True)
    (root / "profiles").mkdir(exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/ch\n")
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    write_nb(root, body, params)
    (root / "profiles" / "quick.yml").write_text("description: q\nnotebooks:\n  ch:\n    n: 2\n")
    return root


def write_nb(root: Path, body: str, params: str = 'profile = "quick"\nn = 1'):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Ch"), cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")


def run(root, **kw):
    lines = []
    book.execute_all(root, "quick", log=lines.append, **kw)
    return lines


def test_unknown_profile_is_an_error_naming_the_choices(tmp_path):
    root = make_book(tmp_path)
    with pytest.raises(BookError, match=r"unknown profile 'fast'; available: quick"):
        book.load_profile("fast", root)


def test_unknown_parameter_is_an_error_before_anything_runs(tmp_path):
    root = make_book(tmp_path)
    (root / "profiles" / "quick.yml").write_text("notebooks:\n  ch:\n    epochs: 3\n")
    with pytest.raises(BookError, match=r"sets \['epochs'\] for notebook ch.ipynb.*defines only \['n', 'profile'\]"):
        run(root)
    assert not (root / "_build").exists()


def test_profile_for_unknown_chapter(tmp_path):
    root = make_book(tmp_path)
    (root / "profiles" / "quick.yml").write_text("notebooks:\n  chapter9:\n    n: 3\n")
    with pytest.raises(BookError, match="chapter9"):
        run(root)


def test_missing_parameters_cell_and_missing_profile_parameter(tmp_path):
    root = make_book(tmp_path)
    nb = nbformat.read(root / "notebooks" / "ch.ipynb", as_version=4)
    nb.cells[1].metadata["tags"] = []
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")
    with pytest.raises(BookError, match="exactly one cell tagged 'parameters'"):
        run(root)
    write_nb(root, "1", params="n = 1")
    with pytest.raises(BookError, match="must define 'profile'"):
        run(root)


def test_only_unknown_chapter(tmp_path):
    root = make_book(tmp_path)
    with pytest.raises(BookError, match="--only nope: no such chapter; chapters: ch"):
        run(root, only=["nope"])


def test_shared_parameters_reach_every_chapter_that_defines_them(tmp_path):
    root = make_book(tmp_path, params='profile = "quick"\nn = 1\nshared_cfg = None')
    (root / "profiles" / "quick.yml").write_text("shared:\n  shared_cfg: {a: 1}\nnotebooks:\n  ch:\n    n: 2\n")
    ch = book.chapters(root, book.load_profile("quick", root))[0]
    assert ch.parameters == {"shared_cfg": {"a": 1}, "n": 2, "profile": "quick"}
    assert book.shared("quick", "shared_cfg", root) == {"a": 1}
    with pytest.raises(BookError, match="has no shared parameter 'other'"):
        book.shared("quick", "other", root)
    (root / "profiles" / "quick.yml").write_text("shared:\n  shared_cfg: 1\nnotebooks:\n  ch:\n    shared_cfg: 2\n")
    with pytest.raises(BookError, match=r"sets \['shared_cfg'\] both in 'shared' and for notebook ch.ipynb"):
        book.chapters(root, book.load_profile("quick", root))
    (root / "profiles" / "quick.yml").write_text("shared:\n  nobody: 1\n")
    with pytest.raises(BookError, match=r"shares \['nobody'\], which no chapter's parameters cell defines"):
        book.chapters(root, book.load_profile("quick", root))
    (root / "profiles" / "quick.yml").write_text("shared: [1, 2]\n")
    with pytest.raises(BookError, match="'shared' must map parameter names to values"):
        book.load_profile("quick", root)


def test_toc_entry_without_file(tmp_path):
    root = make_book(tmp_path)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/gone\n")
    with pytest.raises(BookError, match="lists 'notebooks/gone'"):
        run(root)


def test_package_source_change_invalidates(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 1\n")
    h = book.package_hash(pkg)
    assert book.package_hash(pkg) == h
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    assert book.package_hash(pkg) != h
    # a different package hash -> the chapter is executed again
    root = make_book(tmp_path / "root")
    assert "executed in" in run(root)[-1]
    assert run(root)[-1].endswith("up to date")
    monkeypatch.setattr(pipeline, "package_hash", lambda: "nasvec edited")
    assert "executed in" in run(root)[-1]
    assert run(root)[-1].endswith("up to date")


@pytest.fixture(scope="module")
def invalidation(tmp_path_factory):
    """One book built again after each kind of change, once for the module: {step: the last log line}, and the
    first executed notebook."""
    root = make_book(tmp_path_factory.mktemp("book"), body=(
        "from nasvec.utils import record_input\n"
        "import pathlib\n"
        "p = pathlib.Path('data.txt')\n"
        "record_input(p)\n"
        "print(profile, n, p.read_text())"))
    (root / "data.txt").write_text("v1")
    log = {"first": run(root)[-1]}
    executed = nbformat.read(root / "_build" / "executed" / "quick" / "notebooks" / "ch.ipynb", as_version=4)
    log["unchanged"] = run(root)[-1]
    (root / "data.txt").write_text("v2")                                     # the input file changed
    log["input changed"] = run(root)[-1]
    log["input changed, again"] = run(root)[-1]
    (root / "profiles" / "quick.yml").write_text("notebooks:\n  ch:\n    n: 3\n")    # a parameter changed
    log["parameter changed"] = run(root)[-1]
    nb = nbformat.read(root / "notebooks" / "ch.ipynb", as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="stale")]   # the outputs alone changed
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")
    log["outputs changed"] = run(root)[-1]
    nb.cells[2].source += "\nprint('more')"                                 # the source changed
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")
    log["source changed"] = run(root)[-1]
    log["forced"] = run(root, force=True)[-1]
    return log, executed


def test_a_new_chapter_is_executed(invalidation):
    log, _ = invalidation
    assert "executed in" in log["first"]


def test_profile_parameters_are_injected(invalidation):
    _, nb = invalidation
    assert "quick 2 v1" in nb.cells[-1].outputs[0]["text"]


def test_the_executed_chapter_has_the_profile_banner(invalidation):
    _, nb = invalidation
    assert any("profile" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_an_unchanged_chapter_is_up_to_date(invalidation):
    log, _ = invalidation
    assert log["unchanged"].endswith("up to date")


def test_a_changed_input_file_executes_the_chapter_again_once(invalidation):
    log, _ = invalidation
    assert "executed in" in log["input changed"]
    assert log["input changed, again"].endswith("up to date")


def test_a_changed_parameter_executes_the_chapter_again(invalidation):
    log, _ = invalidation
    assert "executed in" in log["parameter changed"]


def test_changed_outputs_alone_do_not_count(invalidation):
    log, _ = invalidation
    assert log["outputs changed"].endswith("up to date")


def test_a_changed_source_executes_the_chapter_again(invalidation):
    log, _ = invalidation
    assert "executed in" in log["source changed"]


def test_force_always_executes(invalidation):
    log, _ = invalidation
    assert "executed in" in log["forced"]


def test_failed_notebook_leaves_previous_output_intact(tmp_path):
    root = make_book(tmp_path)
    run(root)
    out = root / "_build" / "executed" / "quick" / "notebooks" / "ch.ipynb"
    before = out.read_bytes()
    write_nb(root, "raise ValueError('broken chapter')")
    with pytest.raises(BookError, match="ValueError: broken chapter"):
        run(root)
    assert out.read_bytes() == before
    assert out.with_suffix(".failed.ipynb").exists()
    stamp = json.loads(out.with_suffix(".stamp.json").read_text())
    assert stamp["key"] != book.cache_key(book.chapters(root, book.load_profile("quick", root))[0], book.package_hash())


def test_killed_build_resumes(tmp_path):
    # the same notebook both times: it hangs only on its first run (until killed)
    root = make_book(tmp_path, body=("import time, pathlib\np = pathlib.Path('started')\nfirst = not p.exists()\n"
                                     "p.touch()\nif first:\n    time.sleep(60)\nprint('resumed')"))
    cmd = [sys.executable, "-m", "nasvec.book.cli", "book", "--profile", "quick", "--no-html", "--root", str(root)]
    proc = subprocess.Popen(cmd, cwd=root, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (root / "started").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (root / "started").exists(), "the notebook never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    out = root / "_build" / "executed" / "quick" / "notebooks" / "ch.ipynb"
    assert not out.exists()  # nothing half-written where the book reads
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "executed in" in res.stdout and out.exists()
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert "resumed" in nb.cells[-1].outputs[0]["text"]


def test_cli_reports_errors_without_traceback(tmp_path):
    root = make_book(tmp_path)
    res = subprocess.run([sys.executable, "-m", "nasvec.book.cli", "book", "--profile", "nope", "--root", str(root)],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.startswith("nasvec book: error: unknown profile 'nope'")
    assert "Traceback" not in res.stderr


def test_every_chapter_has_a_percent_script_in_sync(root):
    """DEVELOPING.md: chapters are written as jupytext percent scripts; the committed .ipynb matches it."""
    import jupytext

    for ch in book.chapters(root, book.load_profile("quick", root)):
        script = ch.source.with_suffix(".py")
        assert script.is_file(), f"{script} is missing (jupytext --to py:percent {ch.source})"
        cells = [(c.cell_type, c.source) for c in jupytext.read(script).cells]
        committed = [(c.cell_type, c.source) for c in nbformat.read(ch.source, as_version=4).cells]
        assert cells == committed, f"{script} and {ch.source} differ: run jupytext --to ipynb {script}"


def test_report_writes_figures_and_tables_and_returns_nothing(tmp_path):
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasvec.book import Report

    rep = Report("ch", root=tmp_path, show=False)
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    assert rep.figure(fig, "line") is None  # nothing printable under a figure
    assert rep.table(pd.DataFrame({"a": [1.5]}), "t") is None
    assert (tmp_path / "figures" / "ch" / "line.png").is_file() and (tmp_path / "figures" / "ch" / "line.svg").is_file()
    assert (tmp_path / "tables" / "ch" / "t.csv").read_text() == "a\n1.5\n"
    from nasvec.errors import ConfigError

    with pytest.raises(ConfigError, match="figure name 'a/b' must be a plain file stem"):
        rep.figure(fig, "a/b")


def test_report_table_hides_long_columns_from_the_page_but_not_from_the_csv(tmp_path, monkeypatch):
    import IPython.display
    import pandas as pd

    from nasvec.book import Report
    from nasvec.errors import ConfigError

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    rep = Report("ch", root=tmp_path, show=True)
    df = pd.DataFrame({"x": [1.23456], "edits": ["node 1 Conv: out_channels 64 -> 8; " * 20]})
    rep.table(df, "t", float_format="%.2f", hide=["edits"])
    assert "edits" in (tmp_path / "tables" / "ch" / "t.csv").read_text()
    html = shown[-1].to_html()
    assert "1.23" in html and "1.2346" not in html and "out_channels" not in html
    with pytest.raises(ConfigError, match=r"cannot hide \['nope'\]"):
        rep.table(df, "t", hide=["nope"])


def test_site_sync_stamps_changed_pages_so_sphinx_rebuilds_them(tmp_path):
    """An executed copy of another profile may be older than the last HTML build: the copy must look newer."""
    import os
    import time

    from nasvec.book.pipeline import sync_tree

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "a.ipynb").write_text("standard")
    os.utime(src / "a.ipynb", (946684800, 946684800))   # 2000-01-01
    sync_tree(src, dst)
    assert (dst / "a.ipynb").read_text() == "standard" and (dst / "a.ipynb").stat().st_mtime > time.time() - 600
    os.utime(dst / "a.ipynb", (946684800, 946684800))
    sync_tree(src, dst)   # unchanged content: left alone
    assert (dst / "a.ipynb").stat().st_mtime == 946684800


def test_quick_page_says_it_is_a_first_run_and_links_to_the_edition(tmp_path):
    root = make_book(tmp_path)
    run(root)
    nb = nbformat.read(pipeline.Paths(root, "quick").executed_nb(book.chapters(root, book.load_profile("quick", root))[0]),
                       as_version=4)
    note = nb.cells[1].source
    assert "made for a first run" in note and 'href="../../edition/notebooks/ch.html"' in note
