"""The house: the folders are the layers (``nasvec.LAYERS``); no module imports a layer above it or
in a circle; modules, functions and notebook cells stay short (``benchmarks/house.py`` prints them)."""

import sys

import pytest

import nasvec

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import house  # noqa: E402

#: functions allowed over house.MAX_FUNCTION_LINES, with the reason (none today)
LONG_FUNCTIONS: dict[str, str] = {}


@pytest.fixture(scope="module")
def graph():
    return house.import_graph(ROOT)


def test_every_entry_of_the_package_has_a_layer():
    entries = {house.entry(m) for m in house.modules(ROOT)} - {""}
    declared = {e for layer in nasvec.LAYERS for e in layer}
    assert entries == declared, f"in the package, not in nasvec.LAYERS: {entries - declared}; " \
                                f"in nasvec.LAYERS, not in the package: {declared - entries}"


def test_no_import_circle(graph):
    assert house.circles(graph) == []


def test_no_import_against_the_layers(graph):
    assert house.upward(graph, nasvec.LAYERS) == []


def test_the_checks_find_what_they_look_for():
    """The walker sees function-level, relative and importlib imports, and flags circles and upward arrows."""
    fake = {"nasvec.graph.core": {"nasvec.graph.vocab"}, "nasvec.graph.vocab": {"nasvec.graph.core"},
            "nasvec.repair_rules.x": {"nasvec.compress.y"}, "nasvec.compress.y": {"nasvec.graph.core"},
            "nasvec.io.a": {"nasvec.book.b"}, "nasvec.book.b": set()}
    assert house.circles(fake) == [["nasvec.graph.core", "nasvec.graph.vocab"]]
    assert house.upward(fake, nasvec.LAYERS) == [("nasvec.io.a", "nasvec.book.b"), ("nasvec.repair_rules.x", "nasvec.compress.y")]
    known = house.modules(ROOT)
    found = house.imports_of("nasvec.book.cli", known["nasvec.book.cli"], known)
    assert "nasvec.book.site" in found and "nasvec.errors" in found  # both imported inside main()


def test_no_private_name_is_imported_across_modules():
    assert house.private_imports(ROOT) == []


def test_module_names_say_which_chapter():
    """No two modules or packages share a name, but a chapter's glue, figures and methods package."""
    assert house.shared_names(ROOT, house.chapters_of(ROOT)) == []


def test_the_name_checks_find_what_they_look_for(tmp_path):
    pkg = tmp_path / "nasvec"
    for rel, text in {"__init__.py": "", "graph/__init__.py": "", "graph/core.py": "_x = 1\n",
                      "io/__init__.py": "", "io/core.py": "from ..graph.core import _x\n",
                      "experiments/__init__.py": "", "experiments/gumbel.py": "",
                      "gumbel/__init__.py": "", "book/__init__.py": "", "book/plots/__init__.py": "",
                      "book/plots/gumbel.py": ""}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    assert house.private_imports(tmp_path) == [("nasvec.io.core", "nasvec.graph.core._x")]
    assert house.shared_names(tmp_path, ["gumbel"]) == [("core", ["nasvec.graph.core", "nasvec.io.core"])]
    assert house.shared_names(tmp_path, []) == [("core", ["nasvec.graph.core", "nasvec.io.core"]),
                                                ("gumbel", ["nasvec.book.plots.gumbel", "nasvec.experiments.gumbel",
                                                            "nasvec.gumbel"])]


def test_modules_and_functions_are_short():
    long_modules = [(name, n) for n, name in house.module_lines(ROOT) if n > house.MAX_MODULE_LINES]
    assert long_modules == []
    long_functions = [(name, n) for n, name in house.functions(ROOT)
                      if n > house.MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS]
    assert long_functions == []


def test_notebook_cells_are_short_calls():
    long = [(where, n) for n, where, params in house.notebook_cells(ROOT) if n > house.MAX_CELL_LINES and not params]
    assert long == [], "move the logic of these cells into nasvec (usually nasvec/experiments/) with a test"
