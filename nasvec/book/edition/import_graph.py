"""The import graph of a chapter: which ``nasvec`` modules it depends on (chapter "Read the book", README).

Read from the source with :mod:`ast`, never by importing: a chapter depends on the modules its cells
import, the modules those import (inside functions too), every package ``__init__.py`` on the way and,
for a name a package exports lazily (``_EXPORTS``), the module that defines it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from ...errors import BookError


def package_root() -> Path:
    return Path(__file__).resolve().parents[3]   # the folder that holds nasvec/


def _module_file(base: Path, dotted: str) -> Path | None:
    path = base.joinpath(*dotted.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _lazy_exports(tree: ast.Module, path: Path) -> dict:
    """A package's ``_EXPORTS`` (public name -> module), read from its source without importing it; an entry that is
    not a literal (or a ``**{name: module for name in (...)}``) is an error, never skipped."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            out = {}
            for key, value in zip(node.value.keys, node.value.values):
                try:
                    if key is not None:
                        out[ast.literal_eval(key)] = ast.literal_eval(value)
                    elif isinstance(value, ast.DictComp) and isinstance(value.generators[0].iter, (ast.Tuple, ast.List)):
                        mod = ast.literal_eval(value.value)
                        out.update({ast.literal_eval(e): mod for e in value.generators[0].iter.elts})
                    else:
                        raise ValueError
                except ValueError:
                    raise BookError(f"{path}: an entry of _EXPORTS is not a literal name -> module "
                                    f"({ast.unparse(value)[:80]}); the import graph cannot read it") from None
            return out
    return {}


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Dotted names a module may import: ``import a.b``, ``from a import b`` (a module or a name in ``a``),
    relative imports resolved, and attribute chains on an imported name (``plots.image_grid`` after ``from
    nasvec.book import plots``; ``nasvec.seed_everything``), which reach the names a package exports lazily."""
    names, aliases = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
            aliases.update({a.asname: a.name for a in node.names if a.asname})
            aliases.update({a.name.split(".")[0]: a.name.split(".")[0] for a in node.names if not a.asname})
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{node.module}" if node.module else pkg
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
            aliases.update({a.asname or a.name: f"{base}.{a.name}" for a in node.names})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                names.add(".".join([aliases[value.id], *reversed(chain)]))
    return names


def notebook_tree(path: Path) -> ast.Module:
    nb = nbformat.read(path, as_version=4)
    body = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!", "?")))
        try:
            body += ast.parse(src).body
        except SyntaxError:
            raise BookError(f"{path}: a code cell is not valid Python, so its imports cannot be read:\n{src[:300]}") \
                from None
    return ast.Module(body=body, type_ignores=[])


def import_closure(notebook: Path, base: Path | None = None, scripts: tuple = ()) -> list[str]:
    """The ``nasvec`` source files a notebook imports, directly or through other modules, as paths relative to
    ``base`` (the folder holding ``nasvec/``): every package ``__init__.py`` on the way, and for a name a package
    exports lazily (``_EXPORTS``), the module that defines it. Imports inside functions count too, and so do the
    imports of the Python ``scripts`` the chapter runs (the assignments the teachers' page executes)."""
    base = Path(base) if base is not None else package_root()
    found: dict[str, Path] = {}
    exports: dict[str, dict] = {}
    todo = [(n, None) for n in _imported_names(notebook_tree(Path(notebook)), "__main__", False)]
    for script in scripts:
        todo += [(n, None) for n in _imported_names(ast.parse(Path(script).read_text()), "__main__", False)]

    def add(dotted: str) -> None:
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):   # the packages an import executes on its way
            name = ".".join(parts[:i])
            if name in found:
                continue
            path = _module_file(base, name)
            if path is None:
                if base.joinpath(*name.split(".")).is_dir():   # a namespace package: nothing runs
                    continue
                return
            found[name] = path
            tree = ast.parse(path.read_text(), filename=str(path))
            if path.name == "__init__.py":
                exports[name] = _lazy_exports(tree, path)
            todo.extend((n, name) for n in _imported_names(tree, name, path.name == "__init__.py"))

    while todo:
        dotted, _ = todo.pop()
        if not (dotted == "nasvec" or dotted.startswith("nasvec.")):
            continue
        if _module_file(base, dotted) is not None:
            add(dotted)
            continue
        parent, _, attr = dotted.rpartition(".")   # a name inside a module, or a lazily exported one
        while parent and _module_file(base, parent) is None and not base.joinpath(*parent.split(".")).is_dir():
            parent, _, attr = parent.rpartition(".")
        if parent:
            add(parent)
            target = exports.get(parent, {}).get(attr)
            if target:
                add(target)
    return sorted(str(p.relative_to(base)) for p in found.values())
