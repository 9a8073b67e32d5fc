"""Reading a student's notebook without running it: which cells answer which question, whether an answer
was touched, and which of the master's reference functions an answer calls.

A student's notebook (otter-grader's) has one ``grader.check("name")`` cell per question; a question's
*answer segment* is every code cell after the previous check cell and before its own (where the student
writes, and may add cells). :func:`segments` cuts a notebook so; :func:`unanswered` compares a segment
with the one the student received; :func:`reference_calls` lists the calls in a segment that resolve
(through the notebook's imports and aliases) to a function the master names as the question's
reference. Introduced on the teachers' page of the book (``nasvec grade --reference-calls``).
"""

from __future__ import annotations

import ast
import re

_CHECK = re.compile(r"""^\s*grader\.check\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\)\s*(#.*)?$""")


def _code(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def segments(nb) -> dict[str, list[str]]:
    """``{question: [code of each cell in its answer segment]}``, in the notebook's order; a question checked
    twice (an answer added below its check, checked again) has both segments."""
    out: dict[str, list[str]] = {}
    pending: list[str] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        src = _code(cell)
        m = _CHECK.match(src.strip())
        if m:
            out.setdefault(m.group(1), []).extend(pending)
            pending = []
        else:
            pending.append(src)
    return out


def _norm(sources: list[str]) -> list[str]:
    return [s for s in ("\n".join(ln.rstrip() for ln in src.strip().splitlines()) for src in sources) if s]


def unanswered(submitted: list[str], received: list[str]) -> bool:
    """True when the segment is the one the student received (up to blank lines and trailing spaces)."""
    return _norm(submitted) == _norm(received)


def _parse(src: str):
    lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]   # IPython magics
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def aliases(sources: list[str]) -> dict[str, str]:
    """Local name -> dotted name, from every ``import`` and ``from ... import`` in ``sources``; a name the sources
    also define (``def``, ``class``, an assignment) is the student's own and resolves to nothing."""
    out: dict[str, str] = {}
    own: set[str] = set()
    for src in sources:
        tree = _parse(src)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            if isinstance(node, ast.Import):
                for a in node.names:
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return {k: v for k, v in out.items() if k not in own}


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def called(sources: list[str], names: dict[str, str]) -> set[str]:
    """The dotted names of every call in ``sources``, resolved through ``names`` (see :func:`aliases`)."""
    out = set()
    for src in sources:
        tree = _parse(src)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Call) and (d := _dotted(node.func)):
                head, _, rest = d.partition(".")
                full = names.get(head, head) + (f".{rest}" if rest else "")
                out.add(full)
    return out


def matches(name: str, references: list[str]) -> bool:
    """``name`` is one of ``references`` or inside one of them (a listed module or class)."""
    return any(name == r or name.startswith(r + ".") for r in references)


def reference_calls(nb, received, question: str, references: list[str]) -> list[str]:
    """The reference functions the student's answer to ``question`` calls and the received notebook did not."""
    if not references:
        return []
    mine, given = segments(nb).get(question), segments(received).get(question, [])
    if mine is None:
        return []
    names = aliases([_code(c) for c in nb.cells if c.get("cell_type") == "code"])
    before = called(given, aliases([_code(c) for c in received.cells if c.get("cell_type") == "code"]))
    return sorted(n for n in called(mine, names) - before if matches(n, references))


def imports_of(sources: list[str]) -> set[str]:
    """The dotted names ``sources`` import (modules and the names taken from them)."""
    return set(aliases(sources).values())


def asked_names(sources: list[str]) -> list[str]:
    """The names a received answer segment leaves to the student: ``x = ...`` and ``def f(...): ...``."""
    out: list[str] = []
    for src in sources:
        tree = _parse(src)
        for node in tree.body if tree else ():
            if isinstance(node, ast.FunctionDef) and all(
                    isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis
                    for s in node.body):
                out.append(node.name)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
                for t in node.targets:
                    elts = t.elts if isinstance(t, ast.Tuple) else [t]
                    out += [e.id for e in elts if isinstance(e, ast.Name)]
    return list(dict.fromkeys(out))
