"""The shape of the house: module sizes, function sizes, import circles, imports against the layers,
long notebook cells (figures printed, not asserted; ``tests/test_layers.py`` asserts the rules).

    .venv/bin/python benchmarks/house.py            # this checkout
    .venv/bin/python benchmarks/house.py --root DIR # another checkout (its nasvec.LAYERS, if it has one)

Imports are read with ``ast``: module-level and inside functions, relative ones resolved, and
``importlib.import_module("nasvec....")`` with a constant name. A module's *entry* is its top-level
module or package under ``nasvec`` (``graph``, ``io``, ``train`` ...); the layer of an entry is its
position in ``nasvec.LAYERS``. An import is *upward* when it reaches an entry of a higher layer, or
another entry of the same layer; ``nasvec/__init__.py`` (the lazy public API) is not checked.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_CELL_LINES = 10


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` of ``root/nasvec``."""
    out = {}
    for p in sorted((root / "nasvec").rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports_of(name: str, path: Path, known: dict) -> set[str]:
    """The ``nasvec`` modules that module ``name`` imports (resolved to files that exist)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            # ``from . import emit, passes``: the dependency is on the submodules, not on the package's __init__
            targets = subs if subs and len(subs) == len(node.names) else [mod] + subs
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                targets = [node.args[0].value]
        for t in targets:
            while t and t not in known and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in known and t != name and t != "nasvec":
                found.add(t)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and self-imports."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    # a package's __init__ importing its own submodules is no circle; ``from . import sibling`` in a submodule
    # depends on the sibling, not on the package's __init__ (imports_of records the sibling only)
    return out


def entry(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward(graph: dict[str, set[str]], layers) -> list[tuple[str, str]]:
    """``(importer, imported)`` pairs that go up the layers or across one layer."""
    level = {e: k for k, layer in enumerate(layers) for e in layer}
    bad = []
    for a, deps in sorted(graph.items()):
        if a == "nasvec":
            continue
        ea = entry(a)
        for b in sorted(deps):
            eb = entry(b)
            if ea == eb:
                continue
            if ea not in level or eb not in level:
                bad.append((a, b))  # an entry the layers do not name
            elif level[eb] >= level[ea]:
                bad.append((a, b))
    return bad


def private_imports(root: Path) -> list[tuple[str, str]]:
    """``(importer, "module.name")`` for every ``from <nasvec module> import _name`` in the package: a name with a
    leading underscore is its module's own, so another module must not import it."""
    known = modules(root)
    out = []
    for name, path in known.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                mod = ".".join(base[:len(base) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "nasvec":
                continue
            out += [(name, f"{mod}.{a.name}") for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
    return sorted(out)


def shared_names(root: Path, chapters) -> list[tuple[str, list[str]]]:
    """Module and package names that several places of the package share: ``(name, [dotted modules])``.

    Allowed: a chapter's name (a notebook stem of ``chapters``) for its glue ``experiments/<chapter>.py``, its
    figures ``book/plots/<chapter>.py`` and its methods package ``<chapter>/``; and ``__init__``. Anything else
    sharing a name is listed (an import should say which chapter's idea it is)."""
    by_name: dict[str, list[str]] = {}
    for dotted in modules(root):
        if dotted != "nasvec":
            by_name.setdefault(dotted.rsplit(".", 1)[-1], []).append(dotted)
    out = []
    for name, places in sorted(by_name.items()):
        allowed = {f"nasvec.experiments.{name}", f"nasvec.book.plots.{name}", f"nasvec.{name}"} if name in chapters \
            else set()
        if len(places) > 1 and not set(places) <= allowed:
            out.append((name, sorted(places)))
    return out


def chapters_of(root: Path) -> list[str]:
    """The chapters: the notebook stems of ``root/notebooks``."""
    return sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))


def functions(root: Path) -> list[tuple[int, str]]:
    """``(lines, qualified name)`` of every function and method, longest first."""
    out = []
    for name, path in modules(root).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(out, reverse=True)


def module_lines(root: Path) -> list[tuple[int, str]]:
    return sorted(((len(p.read_text().splitlines()), n) for n, p in modules(root).items()), reverse=True)


def notebook_cells(root: Path) -> list[tuple[int, str, bool]]:
    """``(logic lines, "notebook: cell k", is the parameters cell)`` of every code cell: lines that are
    neither blank nor comments."""
    import nbformat

    out = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        for k, cell in enumerate(code):
            n = sum(1 for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#"))
            out.append((n, f"{path.stem}: code cell {k + 1}", "parameters" in cell.get("metadata", {}).get("tags", [])))
    return out


def layers_of(root: Path):
    """``nasvec.LAYERS`` of the checkout at ``root`` (read from its source, not imported), or None."""
    text = (root / "nasvec" / "__init__.py").read_text()
    m = re.search(r"^LAYERS = (\(.*?\n\))", text, flags=re.M | re.S)
    return ast.literal_eval(m.group(1)) if m else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    graph = import_graph(root)
    sizes = module_lines(root)
    funcs = functions(root)
    cells = notebook_cells(root)
    print(f"modules: {len(sizes)}, lines: {sum(n for n, _ in sizes):,}")
    print("largest modules: " + ", ".join(f"{name} {n}" for n, name in sizes[:5]))
    print(f"modules over {MAX_MODULE_LINES} lines: {[(name, n) for n, name in sizes if n > MAX_MODULE_LINES]}")
    print("largest functions: " + ", ".join(f"{name} {n}" for n, name in funcs[:5]))
    print(f"functions over {MAX_FUNCTION_LINES} lines: {[(name, n) for n, name in funcs if n > MAX_FUNCTION_LINES]}")
    print(f"import circles: {circles(graph)}")
    print(f"private names imported across modules: {private_imports(root)}")
    print(f"module names shared beyond a chapter's glue, figures and methods: {shared_names(root, chapters_of(root))}")
    layers = layers_of(root)
    if layers is None:
        print("upward imports: the checkout declares no nasvec.LAYERS")
    else:
        up = upward(graph, layers)
        print(f"imports against the layers: {len(up)}" + "".join(f"\n  {a} -> {b}" for a, b in up))
    long = [(n, where) for n, where, params in cells if n > MAX_CELL_LINES]
    print(f"notebook code cells: {len(cells)}; over {MAX_CELL_LINES} lines of logic: {len(long)} "
          f"({sum(1 for n, _, p in cells if n > MAX_CELL_LINES and p)} of them parameters cells)")
    for n, where in long:
        print(f"  {where}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
