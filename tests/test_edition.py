"""The published edition: import graphs, manifests, fresh and stale, atomic updates, the pages' tables."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nasvec.book import edition
from nasvec.errors import BookError

from conftest import ROOT
from test_book import make_book, write_nb

CHAPTERS = [c.name for c in edition.edition_chapters(ROOT)]
PUBLISHED = [c for c in CHAPTERS if (edition.chapter_dir(ROOT, c) / edition.MANIFEST).is_file()]


# --------------------------------------------------------------------------- the import graph
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_import_graph_holds_every_module_the_chapters_imports_load(chapter):
    nb = ROOT / "notebooks" / f"{chapter}.ipynb"
    tree = edition.notebook_tree(nb)
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    code = "\n".join(imports + ["import sys", "for m in list(sys.modules.values()):",
                                "    f = getattr(m, '__file__', None) or ''",
                                "    print(f) if m.__name__.startswith('nasvec') and f else None"])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    loaded = {str(Path(f).resolve().relative_to(ROOT)) for f in res.stdout.split()}
    assert loaded <= set(edition.import_closure(nb))


def test_import_graph_leaves_out_the_book_machinery():
    closure = edition.import_closure(ROOT / "notebooks" / "datasets.ipynb")
    machinery = ("nasvec/book/pipeline.py", "nasvec/book/site.py", "nasvec/book/cli.py", "nasvec/book/edition/")
    assert [m for m in closure if m.startswith(machinery)] == []


def test_import_graph_follows_imports_inside_functions(tmp_path):
    pkg = fake_package(tmp_path)
    nb = tmp_path / "nb.ipynb"
    nb_with(nb, "def later():\n    from nasvec.used import f\n")
    assert edition.import_closure(nb, pkg) == ["nasvec/__init__.py", "nasvec/helper.py", "nasvec/used.py"]


def test_import_graph_resolves_a_lazily_exported_name(tmp_path):
    pkg = fake_package(tmp_path)
    nb = tmp_path / "nb.ipynb"
    nb_with(nb, "import nasvec\nnasvec.Lazy\n")
    assert "nasvec/used.py" in edition.import_closure(nb, pkg)


# --------------------------------------------------------------------------- fresh and stale
def fake_package(tmp_path: Path) -> Path:
    base = tmp_path / "src"
    (base / "nasvec").mkdir(parents=True)
    (base / "nasvec" / "__init__.py").write_text('_EXPORTS = {"Lazy": "nasvec.used"}\n')
    (base / "nasvec" / "used.py").write_text("from . import helper\n\ndef f():\n    return helper.g()\n")
    (base / "nasvec" / "helper.py").write_text("def g():\n    return 1\n")
    (base / "nasvec" / "unused.py").write_text("x = 1\n")
    return base


def nb_with(path: Path, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)


@pytest.fixture
def small_edition(tmp_path, monkeypatch):
    """A one-chapter book whose chapter imports (inside a function) a module of a fake ``nasvec``, published."""
    body = ("import pathlib\ndef later():\n    import nasvec.used\nprint(profile, n)\n"
            "pathlib.Path('book/tables/ch').mkdir(parents=True, exist_ok=True)\n"
            "pathlib.Path('book/tables/ch/t.csv').write_text(f'n\\n{n}\\n')")
    root = make_book(tmp_path / "book", body=body)
    (root / "profiles" / "standard.yml").write_text("description: s\nnotebooks:\n  ch:\n    n: 3\n")
    pkg = fake_package(tmp_path)
    monkeypatch.setattr(edition.import_graph, "package_root", lambda: pkg)
    monkeypatch.setenv("NASVEC_CACHE", str(tmp_path / "cache"))
    edition.update(root, log=lambda line: None)
    return root


def test_update_publishes_notebook_tables_and_manifest(small_edition):
    folder = edition.chapter_dir(small_edition, "ch")
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "ch.ipynb", "manifest.json", "tables/t.csv"]


def test_published_chapter_is_fresh(small_edition):
    assert [(s.name, s.state) for s in edition.status(small_edition)] == [("ch", "fresh")]


def test_changing_an_imported_module_makes_the_chapter_stale_and_names_it(small_edition, tmp_path):
    (tmp_path / "src" / "nasvec" / "helper.py").write_text("def g():\n    return 2\n")
    st = edition.status(small_edition)[0]
    assert (st.state, st.reasons) == ("stale", ["changed: nasvec/helper.py"])


def test_changing_a_module_the_chapter_does_not_import_leaves_it_fresh(small_edition, tmp_path):
    (tmp_path / "src" / "nasvec" / "unused.py").write_text("x = 2\n")
    assert edition.status(small_edition)[0].state == "fresh"


def test_changing_the_parameters_makes_the_chapter_stale(small_edition):
    (small_edition / "profiles" / "standard.yml").write_text("notebooks:\n  ch:\n    n: 4\n")
    assert edition.status(small_edition)[0].reasons == ["its parameters in the profile changed"]


def test_editing_a_published_file_is_reported_as_altered(small_edition):
    nb = edition.chapter_dir(small_edition, "ch") / "ch.ipynb"
    nb.write_text(nb.read_text().replace("print(profile, n)", "print(profile, n + 1)"))
    st = edition.status(small_edition)[0]
    assert (st.state, st.reasons) == ("altered", ["ch.ipynb edited"])


def test_stale_page_says_so_at_the_top(small_edition, tmp_path):
    write_nb(small_edition, "def later():\n    import nasvec.used\nprint(profile, n, 'changed')")
    ch = edition.edition_chapters(small_edition)[0]
    edition.edition_page(ch, small_edition, "standard", tmp_path / "page.ipynb")
    top = nbformat.read(tmp_path / "page.ipynb", as_version=4).cells[1].source
    assert "This page is **stale**" in top and "the notebook's cells changed" in top


def test_update_leaves_a_fresh_chapter_alone(small_edition):
    before = (edition.chapter_dir(small_edition, "ch") / edition.MANIFEST).read_text()
    edition.update(small_edition, log=lambda line: None)
    assert (edition.chapter_dir(small_edition, "ch") / edition.MANIFEST).read_text() == before


def test_a_failing_run_keeps_the_published_chapter(small_edition):
    before = (edition.chapter_dir(small_edition, "ch") / "ch.ipynb").read_text()
    write_nb(small_edition, "raise RuntimeError('boom')")
    with pytest.raises(BookError, match="1 chapter\\(s\\) failed; the others are published"):
        edition.update(small_edition, log=lambda line: None)
    assert (edition.chapter_dir(small_edition, "ch") / "ch.ipynb").read_text() == before


def test_a_swap_stopped_between_its_renames_still_reads_as_published(small_edition):
    folder = edition.chapter_dir(small_edition, "ch")
    folder.rename(folder.with_name(".ch.old"))          # the old folder moved aside, the new one not yet in
    assert edition.status(small_edition)[0].state == "fresh"


def test_reading_the_status_moves_nothing(small_edition):
    folder = edition.chapter_dir(small_edition, "ch")
    folder.rename(folder.with_name(".ch.old"))
    edition.status(small_edition)
    assert (not folder.exists(), folder.with_name(".ch.old").is_dir()) == (True, True)


def test_a_changed_data_file_makes_the_chapter_stale(small_edition, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("1\n")
    path = edition.chapter_dir(small_edition, "ch") / edition.MANIFEST
    m = json.loads(path.read_text())
    m["inputs"]["data"] = {str(data): "0" * 64}
    path.write_text(json.dumps(m))
    assert edition.status(small_edition)[0].reasons == [f"data file {data} changed"]


def test_provenance_line_names_commit_machine_seconds_and_profile(small_edition):
    nb = nbformat.read(edition.chapter_dir(small_edition, "ch") / "ch.ipynb", as_version=4)
    line = nb.cells[1].source
    assert re.search(r"executed with the \*\*standard\*\* profile at commit .* on \d{4}-\d\d-\d\d, .*\(\d+ cores\), "
                     r"backend serial, in \d+ s", line), line


# --------------------------------------------------------------------------- the pages' tables
def shown_table(tmp_path: Path, csv: str, html_rows: list[list[str]]) -> tuple[Path, Path]:
    (tmp_path / "tables").mkdir(exist_ok=True)
    (tmp_path / "tables" / "t.csv").write_text(csv)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in html_rows)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rep.table(df, 't')")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": f"<table><tbody>{body}</tbody></table>",
                                                                  "text/plain": "t"},
                                           metadata={"nasvec": {"table": "t", "index": False, "hide": []}})]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    return tmp_path / "nb.ipynb", tmp_path / "tables"


def test_a_table_shown_as_rounded_equals_its_csv(tmp_path):
    nb, tables = shown_table(tmp_path, "model,share\nvae,0.123456\nae,1234.5\n", [["vae", "0.1235"], ["ae", "1,234.5000"]])
    assert edition.table_mismatches(nb, tables) == []


def test_a_csv_rounded_to_six_significant_digits_still_matches_its_page(tmp_path):
    nb, tables = shown_table(tmp_path, "model,size\nvae,123.457\n", [["vae", "123.4568"]])
    assert edition.table_mismatches(nb, tables) == []


def test_a_table_whose_page_differs_from_its_csv_is_named(tmp_path):
    nb, tables = shown_table(tmp_path, "model,share\nvae,0.123456\n", [["vae", "0.2000"]])
    assert edition.table_mismatches(nb, tables) == [
        "t row 0, column 'share': the page shows '0.2000', t.csv holds 0.123456"]


@pytest.mark.parametrize("chapter", PUBLISHED)
def test_every_table_an_edition_page_shows_equals_its_csv(chapter):
    folder = edition.chapter_dir(ROOT, chapter)
    assert edition.table_mismatches(folder / f"{chapter}.ipynb", folder / "tables") == []


# --------------------------------------------------------------------------- the committed edition
@pytest.mark.parametrize("chapter", PUBLISHED)
def test_manifest_is_complete(chapter):
    m = edition.read_manifest(ROOT, chapter)
    assert set(edition.MANIFEST_KEYS) <= set(m) and set(edition.INPUT_KINDS) <= set(m["inputs"])


@pytest.mark.parametrize("chapter", PUBLISHED)
def test_manifest_names_a_real_run(chapter):
    m = edition.read_manifest(ROOT, chapter)
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", m["commit"]) and m["seconds"] > 0 and m["machine"]["cores"] >= 1
    assert m["profile"] == "standard" and m["fingerprint"] == edition.input_fingerprint(m["inputs"])


@pytest.mark.parametrize("chapter", PUBLISHED)
def test_manifest_digests_match_the_published_files(chapter):
    assert edition.check_files(edition.chapter_dir(ROOT, chapter), edition.read_manifest(ROOT, chapter)) == []


@pytest.mark.parametrize("chapter", PUBLISHED)
def test_manifest_holds_no_machine_path(chapter):
    m = edition.read_manifest(ROOT, chapter)
    assert not [d for d in m["inputs"]["data"] if d.startswith(("/work", "/home", "/tmp", "/root"))]


def test_the_edition_fits_its_size_budget():
    folder = edition.edition_dir(ROOT)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
    assert size <= 30 * 2 ** 20, f"editions/standard/ holds {size / 2**20:.1f} MiB, over the 30 MB budget"


@pytest.mark.parametrize("chapter", PUBLISHED)
def test_an_edition_page_shows_no_machine_path(chapter):
    text = (edition.chapter_dir(ROOT, chapter) / f"{chapter}.ipynb").read_text()
    assert not re.findall(r"(?:/work/|/tmp/|/root/|/home/|site-packages)[^\s\"']*", text)


def test_edition_status_lists_every_chapter():
    res = subprocess.run([str(Path(sys.executable).with_name("nasvec")), "edition", "status"], capture_output=True,
                         text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines() if not line.startswith(" ")][:-1] == CHAPTERS


def test_pdf_without_chromium_is_skipped_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(edition.pages.shutil, "which", lambda name: None)
    lines = []
    assert edition.print_pdf(ROOT, log=lines.append) is None
    assert lines == ["make pdf: skipped: no Chromium on this machine (Debian: apt-get install chromium)"]


def test_update_option_outside_update_is_refused():
    from nasvec.book.cli import main

    assert main(["edition", "status", "--force"]) == 2


def test_a_data_file_absent_here_is_not_compared_and_not_stale(small_edition):
    path = edition.chapter_dir(small_edition, "ch") / edition.MANIFEST
    m = json.loads(path.read_text())
    m["inputs"]["data"] = {"{data}/not-here.csv": "0" * 64}
    path.write_text(json.dumps(m))
    st = edition.status(small_edition)[0]
    assert (st.state, st.unchecked) == ("fresh", ["{data}/not-here.csv"])


def test_a_module_edited_while_the_chapter_runs_stops_its_publication(small_edition, tmp_path):
    helper = tmp_path / "src" / "nasvec" / "helper.py"
    write_nb(small_edition, f"open({str(helper)!r}, 'w').write('def g():\\n    return 3\\n')\n"
                            "def later():\n    import nasvec.used\nprint(profile, n)")
    with pytest.raises(BookError, match=r"its inputs changed while it ran \(.*changed: nasvec/helper.py"):
        edition.update(small_edition, log=lambda line: None)


def test_a_data_file_of_an_installed_package_is_named_without_the_machines_path():
    import sysconfig

    from nasvec.book.edition.manifest import data_label, data_path

    path = Path(sysconfig.get_paths()["purelib"]) / "somepkg" / "table.bin"
    label = data_label(path, ROOT)
    assert label == "{site-packages}/somepkg/table.bin" and data_path(label, ROOT) == path
