"""An assignment master: reading, checking, the students' variants, the book's exercises.

``assignments/<chapter>.py`` is otter-grader 7's master notebook (jupytext, percent format) plus a
``# STUDENT VARIANTS`` raw cell; ``assignments/README.md`` gives the format. This module reads it
into a :class:`Master`, refuses a malformed one with an error that names the file and the
question, draws a student's parameters (:func:`draw_variant`) and renders the questions as the
book's exercise cells (:func:`exercise_cells`). Introduced on the teachers' page of the book.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..errors import ClassroomError

VARIANTS_MARK = "# STUDENT VARIANTS"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Question:
    name: str
    points: float
    prompt: str                         # the markdown the student reads
    solution: str                       # the reference solution's code, otter's markers removed
    public: int = 0                     # number of public test cases
    hidden: int = 0                     # number of hidden test cases
    given: str = ""                     # code cells of the question outside its solution and tests
    reference: list = field(default_factory=list)   # dotted names of the functions the question asks to write
    shortcuts: list = field(default_factory=list)   # plausible wrong answers: {name, replace: [[old, new], ...]}
    hidden_code: list = field(default_factory=list)  # the source of each hidden test case

    @property
    def title(self) -> str:
        m = re.match(r"\*\*(.+?)\*\*", self.prompt.strip())
        return m.group(1).rstrip(".") if m else self.name.replace("_", " ")


@dataclass
class Master:
    chapter: str
    path: Path
    notebook: object                    # nbformat.NotebookNode
    variants: dict                      # name -> {kind: args}
    defaults: dict                      # the parameters cell's values
    questions: list[Question] = field(default_factory=list)
    setup: list = field(default_factory=list)   # (cell type, source) outside the questions, title and parameters

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions)

    @property
    def secret(self) -> list[str]:
        """The variants only the teacher knows (``{secret: [lo, hi]}``): the hidden tests' inputs."""
        return [k for k, rule in self.variants.items() if next(iter(rule)) == "secret"]

    def public(self, params: dict) -> dict:
        """``params`` without the secret variants: what the student's notebook may show."""
        return {k: v for k, v in params.items() if k not in self.secret}


def source_root() -> Path:
    """The folder holding ``assignments/``: the book's root (``$NASVEC_ROOT``) if it has one, else the
    repository this package was installed from (a re-run writing elsewhere still reads the masters)."""
    from ..utils import repo_root

    for cand in (repo_root(), Path(__file__).resolve().parents[2]):
        if (cand / "assignments").is_dir():
            return cand
    return repo_root()


def master_path(chapter: str, root: Path) -> Path:
    """``assignments/<chapter>.py`` under ``root``, or an error listing the chapters that have one."""
    path = root / "assignments" / f"{chapter}.py"
    if not path.is_file():
        have = sorted(p.stem for p in (root / "assignments").glob("*.py"))
        raise ClassroomError(f"no assignment for chapter {chapter!r} (no {path}); chapters with one: {', '.join(have)}")
    return path


def read_master(path: Path, chapter: str | None = None) -> Master:
    """Read and check a master; every problem is one :class:`ClassroomError` naming the file."""
    import jupytext

    from ..utils import record_input

    path = Path(path)
    nb = jupytext.read(path)
    record_input(path)                      # the book's cache re-runs a page when a master it read changes
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(params) != 1:
        raise ClassroomError(f"{path}: expected exactly one cell tagged 'parameters', found {len(params)}")
    defaults = _defaults(params[0].source, path)
    variants = _variants(nb, path)
    missing = sorted(set(variants) - set(defaults))
    if "seed" not in variants:
        raise ClassroomError(f"{path}: the {VARIANTS_MARK} cell must draw 'seed'")
    if missing:
        raise ClassroomError(f"{path}: variant(s) {', '.join(missing)} not set in the parameters cell")
    master = Master(chapter or path.stem, path, nb, variants, defaults, _questions(nb, path), _setup(nb))
    if not 1 <= len(master.questions) <= 6:
        raise ClassroomError(f"{path}: {len(master.questions)} questions; a master has 1 to 6")
    _check_secret(master)
    _check_reach(master)
    return master


def _uses(name: str, source: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", source) is not None


def _check_secret(master: Master) -> None:
    """Secret variants appear only in hidden test cases, and every question has a hidden case using one."""
    where = master.path
    for name in master.secret:
        for kind, src in master.setup:
            if kind == "code" and _uses(name, src):
                raise ClassroomError(f"{where}: the secret variant {name!r} is used outside the hidden tests "
                                     "(in a setup cell); the student's notebook never holds it")
        for q in master.questions:
            if _uses(name, q.solution) or _uses(name, q.given):
                raise ClassroomError(f"{where}: question {q.name!r}: the secret variant {name!r} is used outside "
                                     "its hidden tests; the student's notebook never holds it")
    for q in master.questions if master.secret else ():
        if not any(_uses(n, c) for c in q.hidden_code for n in master.secret):
            raise ClassroomError(f"{where}: question {q.name!r}: no hidden test case uses a secret variant "
                                 f"({', '.join(master.secret)}): its hidden tests could be regenerated "
                                 "from the student's own parameters")


def _check_reach(master: Master) -> None:
    """The setup cells a student runs import none of the questions' reference functions (nor their modules)."""
    from .scan import imports_of, matches

    imported = imports_of([src for kind, src in master.setup if kind == "code"])
    for q in master.questions:
        for name in sorted(imported):
            if name.count(".") >= 1 and (matches(name, q.reference) or any(r.startswith(name + ".") for r in q.reference)):
                raise ClassroomError(f"{master.path}: question {q.name!r}: the setup imports {name}, which holds "
                                     f"the question's reference ({', '.join(q.reference)}); import it inside "
                                     "the hidden tests instead")


def _defaults(source: str, path: Path) -> dict:
    """The names the parameters cell assigns, with their values (the cell must be plain literals)."""
    env: dict = {}
    try:
        exec(compile(source, f"{path}:parameters", "exec"), {}, env)  # noqa: S102 - the repository's own file
    except Exception as err:  # noqa: BLE001
        raise ClassroomError(f"{path}: the parameters cell does not run on its own: {err}") from None
    return {k: v for k, v in env.items() if not k.startswith("_")}


def _variants(nb, path: Path) -> dict:
    cells = [c for c in nb.cells if c.cell_type == "raw" and c.source.lstrip().startswith(VARIANTS_MARK)]
    if len(cells) != 1:
        raise ClassroomError(f"{path}: expected one raw cell starting {VARIANTS_MARK!r}, found {len(cells)}")
    spec = yaml.safe_load(cells[0].source.split("\n", 1)[1] if "\n" in cells[0].source else "") or {}
    if not isinstance(spec, dict):
        raise ClassroomError(f"{path}: {VARIANTS_MARK} must be a YAML mapping name -> {{kind: args}}")
    for name, rule in spec.items():
        if not (isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in _KINDS):
            raise ClassroomError(f"{path}: variant {name!r}: expected one of {{integer: [lo, hi]}}, "
                                 f"{{choice: [...]}}, {{uniform: [lo, hi]}}, {{secret: [lo, hi]}}; got {rule!r}")
        kind, args = next(iter(rule.items()))
        if not isinstance(args, list) or not args or (kind != "choice" and len(args) != 2):
            raise ClassroomError(f"{path}: variant {name!r}: {kind} needs a list"
                                 f"{'' if kind == 'choice' else ' [lo, hi]'}, got {args!r}")
    return spec


_KINDS = {
    "integer": lambda rng, a: int(rng.integers(int(a[0]), int(a[1]) + 1)),
    "choice": lambda rng, a: copy.deepcopy(a[int(rng.integers(len(a)))]),
    "uniform": lambda rng, a: round(float(rng.uniform(float(a[0]), float(a[1]))), 3),
    "secret": lambda rng, a: int(rng.integers(int(a[0]), int(a[1]) + 1)),
}


def draw_variant(master: Master, student_id: str, salt: str = "nasvec") -> dict:
    """One student's parameters: each variant drawn by a generator seeded by (salt, chapter, id).

    ``nasvec assign`` passes the class's secret as ``salt`` (drawn at random unless the teacher gives
    one): without it nobody can draw a student's secret variants, hence their hidden tests' inputs."""
    digest = hashlib.sha256(f"{salt}\x00{master.chapter}\x00{student_id}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    out = {}
    for name, rule in master.variants.items():
        kind, args = next(iter(rule.items()))
        out[name] = _KINDS[kind](rng, args)
    return out


# --------------------------------------------------------------------------- questions
def _marker(cell) -> str:
    """``BEGIN QUESTION`` etc. for otter's raw marker cells, else ''."""
    if cell.cell_type != "raw":
        return ""
    m = re.match(r"\s*#\s*((BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT))\b", cell.source, flags=re.I)
    return " ".join(m.group(1).upper().split()) if m else ""


def _questions(nb, path: Path) -> list[Question]:
    out: list[Question] = []
    block, q = None, None
    for i, cell in enumerate(nb.cells):
        mark = _marker(cell)
        if mark == "BEGIN QUESTION":
            if q is not None:
                raise ClassroomError(f"{path}: cell {i}: BEGIN QUESTION inside question {q.name!r}")
            q = _question_config(cell.source, path, i)
        elif mark == "END QUESTION":
            if q is None:
                raise ClassroomError(f"{path}: cell {i}: END QUESTION without BEGIN QUESTION")
            _check_question(q, path, {x.name for x in out})
            out.append(q)
            q = None
        elif mark.startswith("BEGIN "):
            block = mark.split()[1]
        elif mark.startswith("END "):
            block = None
        elif q is not None:
            _add_cell(q, block, cell)
    if q is not None:
        raise ClassroomError(f"{path}: question {q.name!r} has no END QUESTION")
    return out


def _setup(nb) -> list:
    """The cells a student runs that belong to no question (the title, parameters and variants excepted)."""
    out, depth, titled = [], 0, False
    for cell in nb.cells:
        mark = _marker(cell)
        depth += mark == "BEGIN QUESTION"
        depth -= mark == "END QUESTION"
        if depth or cell.cell_type == "raw" or "parameters" in cell.metadata.get("tags", []) or not cell.source.strip():
            continue
        if cell.cell_type == "markdown" and not titled:
            titled = True                   # the assignment's title and introduction: the chapter is the context
            continue
        out.append((cell.cell_type, cell.source))
    return out


def _question_config(source: str, path: Path, i: int) -> Question:
    try:
        cfg = yaml.safe_load(source.split("\n", 1)[1]) if "\n" in source else None
    except yaml.YAMLError as err:
        raise ClassroomError(f"{path}: cell {i}: the question's YAML does not parse: {err}") from None
    if not isinstance(cfg, dict) or not _NAME.match(str(cfg.get("name", ""))):
        raise ClassroomError(f"{path}: cell {i}: a question needs 'name:' (a Python identifier), got {cfg!r}")
    points = cfg.get("points")
    if not isinstance(points, (int, float)) or points <= 0:
        raise ClassroomError(f"{path}: question {cfg['name']!r}: 'points:' must be a positive number, got {points!r}")
    reference = cfg.get("reference", [])
    if isinstance(reference, str):
        reference = [reference]
    if not (isinstance(reference, list) and all(isinstance(r, str) and re.fullmatch(r"[A-Za-z_][\w.]*", r)
                                                for r in reference)):
        raise ClassroomError(f"{path}: question {cfg['name']!r}: 'reference:' must list dotted names "
                             f"(the functions the question asks to write), got {reference!r}")
    shortcuts = cfg.get("shortcuts")
    if not isinstance(shortcuts, list) or not shortcuts or not all(_shortcut_ok(s) for s in shortcuts):
        raise ClassroomError(f"{path}: question {cfg['name']!r}: 'shortcuts:' must list at least one plausible wrong "
                             "answer, each {name: ..., replace: [[old, new], ...]}; got " + repr(shortcuts))
    return Question(str(cfg["name"]), float(points), "", "", reference=reference, shortcuts=shortcuts)


def _shortcut_ok(s) -> bool:
    return (isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("replace"), list)
            and bool(s["replace"]) and all(isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r)
                                           and r[0] for r in s["replace"]))


OTTER_KEYS = ("reference", "shortcuts")     # ours: removed before otter assign sees the question's config


def otter_config(source: str) -> str:
    """A BEGIN QUESTION cell's source without the keys otter does not know."""
    head, _, body = source.partition("\n")
    cfg = yaml.safe_load(body) or {}
    return head + "\n" + yaml.safe_dump({k: v for k, v in cfg.items() if k not in OTTER_KEYS}, sort_keys=False)


def _add_cell(q: Question, block: str | None, cell) -> None:
    if block == "SOLUTION" and cell.cell_type == "code":
        code = "\n".join(line for line in cell.source.splitlines() if not re.fullmatch(r"\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*", line))
        code = re.sub(r"\s*# SOLUTION\s*$", "", code, flags=re.M)
        q.solution = (q.solution + "\n\n" + code).strip()
    elif block == "TESTS" and cell.cell_type == "code":
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        hidden = first.startswith("#") and re.search(r"\bhidden\b", first, flags=re.I)
        q.hidden += bool(hidden)
        q.public += not hidden
        if hidden:
            q.hidden_code.append(cell.source)
    elif block is None and cell.cell_type == "markdown":
        q.prompt = (q.prompt + "\n\n" + cell.source).strip()
    elif block is None and cell.cell_type == "code":
        q.given = (q.given + "\n\n" + cell.source).strip()


def _check_question(q: Question, path: Path, seen: set) -> None:
    where = f"{path}: question {q.name!r}"
    if q.name in seen:
        raise ClassroomError(f"{where}: the name is used twice")
    if not q.prompt:
        raise ClassroomError(f"{where}: no prompt (a markdown cell before BEGIN SOLUTION)")
    if not q.solution:
        raise ClassroomError(f"{where}: no solution (a code cell between BEGIN SOLUTION and END SOLUTION)")
    for s in q.shortcuts:
        for old, _ in s["replace"]:
            if old not in q.solution:
                raise ClassroomError(f"{where}: shortcut {s['name']!r}: {old!r} is not in the question's solution")
    if q.public < 1 or q.hidden < 1:
        raise ClassroomError(f"{where}: needs at least one public and one hidden test case "
                             f"(has {q.public} public, {q.hidden} hidden)")


# --------------------------------------------------------------------------- the book's exercises
def _demote(markdown: str) -> str:
    """Markdown headings as bold lines: a heading inside an admonition would break the page's outline."""
    return re.sub(r"^#+\s*(.+)$", r"**\1**", markdown.strip(), flags=re.M)


def exercise_cells(master: Master, solutions: bool = True) -> list[str]:
    """Markdown sources of the chapter's *Exercises* section (sphinx-exercise directives).

    Each question becomes an ``exercise`` with the student's prompt; with ``solutions`` each is
    followed by a folded ``solution`` holding the reference code (``make book STUDENT=1`` passes
    ``solutions=False``, and the pages then carry no solution at all)."""
    ch = master.chapter
    cells = [f"## Exercises\n\nThese are the questions of this chapter's assignment "
             f"(`nasvec assign {ch}`; see *For teachers*). In the assignment each student works on "
             f"their own variant; here the defaults are used: "
             + ", ".join(f"`{k} = {master.defaults[k]!r}`" for k in master.variants) + "."]
    if master.setup:
        body = "\n\n".join(f"```python\n{src.strip()}\n```" if kind == "code" else _demote(src)
                           for kind, src in master.setup)
        cells.append("::::{admonition} The assignment's setup: the names the exercises use\n:class: dropdown\n\n"
                     f"{body}\n::::")
    for q in master.questions:
        label = f"ex-{ch}-{q.name}".replace("_", "-")
        prompt = re.sub(r"^\*\*(.+?)\*\*\s*", "", q.prompt.strip(), count=1)
        if q.given:
            prompt += f"\n\n```python\n{q.given}\n```"
        pts = f"{q.points:g} point{'s' if q.points != 1 else ''}"
        cells.append(f"::::{{exercise}} {q.title} ({pts})\n:label: {label}\n\n{prompt}\n::::")
        if solutions:
            cells.append(f"::::{{solution}} {label}\n:class: dropdown\n\n```python\n{q.solution}\n```\n::::")
    return cells
