"""A class drill: a made-up class that tries every way a submission goes wrong, graded, with what each
submission should score.

:func:`class_drill` makes a class set of one chapter and returns, per student, the submission kind and
the expected outcome: the reference (full marks), each shortcut the master lists (that question loses
points), an untouched notebook ("not answered", zero), a renamed notebook (its self-check run under
another file name; full marks), a student calling the question's reference functions (flagged), and a
student who re-made the class set without the secret (other hidden tests). ``tests/test_classroom.py``
asserts the outcomes for every chapter; the teachers' page shows one drill's per-question summary.
"""

from __future__ import annotations

import copy
import shutil
import time
import zipfile
from pathlib import Path

from ..errors import ClassroomError
from .assign import make_class
from .grade import grade_class
from .master import master_path, read_master, source_root


def _solution_cells(nb, question: str):
    """The teacher's code cells answering ``question`` (its answer segment: between the check cells)."""
    out, pending = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.strip().startswith("grader.check("):
            if f'"{question}"' in cell.source:
                out = pending
            pending = []
        else:
            pending.append(cell)
    return out


def shortcut_submission(teacher_nb, question: str, shortcut: dict):
    """The reference notebook with one of the master's shortcuts applied to ``question``'s answer."""
    nb = copy.deepcopy(teacher_nb)
    cells = _solution_cells(nb, question)
    for old, new in shortcut["replace"]:
        cell = next((c for c in cells if old in c.source), None)
        if cell is None:
            raise ClassroomError(f"question {question!r}: shortcut {shortcut['name']!r}: {old!r} is in no answer cell")
        cell.source = cell.source.replace(old, new)
    return nb


def caller_submission(teacher_nb, question: str, reference: str):
    """The reference notebook whose answer to ``question`` also calls ``reference`` (never run: the call sits
    under ``if False``; the grader reads the code, it does not watch it run)."""
    import nbformat

    nb = copy.deepcopy(teacher_nb)
    cells = _solution_cells(nb, question)
    module, _, name = reference.rpartition(".")
    call = nbformat.v4.new_code_cell(f"if False:                      # a shortcut through the package\n"
                                     f"    import {module} as _ref_{question}\n    _ref_{question}.{name}()")
    nb.cells.insert(nb.cells.index(cells[-1]) + 1, call)
    return nb


def hidden_cases(autograder: Path) -> dict:
    """``{question: [the code of each hidden case]}`` from an otter autograder zip."""
    out = {}
    with zipfile.ZipFile(autograder) as z:
        for name in z.namelist():
            if name.startswith("tests/") and name.endswith(".py"):
                env: dict = {}
                exec(z.read(name).decode(), env)          # noqa: S102 - otter's own OK-format test file
                out[env["test"]["name"]] = [c["code"] for suite in env["test"]["suites"]
                                            for c in suite["cases"] if c["hidden"]]
    return out


def _plan(master, size: int | None, combine: bool) -> list[dict]:
    """One dict per student: ``kind`` and ``edits`` (``[(question, shortcut or reference)]``). ``combine`` puts the
    k-th shortcut of every question in one notebook (the first one also calls a reference in every question:
    flags do not depend on scores), and lets the renamed notebook stand for the reference."""
    plan = [{"kind": "untouched", "edits": []}, {"kind": "renamed", "edits": []}]
    plan = plan if combine else [{"kind": "reference", "edits": []}, *plan]
    shortcuts = [[(q.name, s) for q in master.questions for s in q.shortcuts[k:k + 1]]
                 for k in range(max(len(q.shortcuts) for q in master.questions))]
    calls = [(q.name, q.reference[0]) for q in master.questions if q.reference]
    if combine:
        plan += [{"kind": "shortcut", "edits": e, "calls": calls if k == 0 else []} for k, e in enumerate(shortcuts)]
    else:
        plan += [{"kind": "shortcut", "edits": [e]} for group in shortcuts for e in group]
        plan += [{"kind": "caller", "edits": [e]} for e in calls]
    while size and len(plan) < size:
        plan.append({"kind": "reference", "edits": []})
    return plan


def class_drill(chapter: str, workdir: Path, *, size: int | None = None, combine: bool = False,
                root: Path | None = None, jobs: int = 2, salt: str | None = None, backend: str | None = None,
                workers: int | None = None) -> dict:
    """Make, submit and grade a drill class of ``chapter`` in ``workdir``; see the module's docstring.

    ``size`` pads the class with reference submissions (a class of 30); without it the class has one
    student per kind (``combine``: one per kind of mistake, see :func:`_plan`). ``backend``/``workers`` spread
    ``nasvec assign``'s runs (:func:`nasvec.parallel.pmap`); grading runs ``jobs`` at a time. Returns the scores (with each student's ``kind``), the per-question summary, the
    renamed notebook's self-check outputs, whether the re-made class's hidden tests differ, and times."""
    import nbformat
    import papermill

    root = Path(root) if root else source_root()
    master = read_master(master_path(chapter, root), chapter)
    work = Path(workdir)
    plan = _plan(master, size, combine)
    ids = [f"s{i + 1:02d}" for i in range(len(plan))]
    roster = work / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids))
    cls = work / "class"
    t0 = time.perf_counter()
    make_class(chapter, roster, cls, root=root, salt=salt, progress=False, force=True, backend=backend, workers=workers)
    t_assign = time.perf_counter() - t0
    selfcheck = None
    for sid, p in zip(ids, plan):
        teacher = nbformat.read(cls / "teacher" / sid / f"{chapter}.ipynb", as_version=4)
        student = nbformat.read(cls / "students" / sid / f"{chapter}.ipynb", as_version=4)
        dest = cls / "submissions" / f"{sid}.ipynb"
        nb = student if p["kind"] == "untouched" else teacher
        for question, edit in p["edits"]:
            nb = (shortcut_submission if p["kind"] == "shortcut" else caller_submission)(nb, question, edit)
        for question, reference in p.get("calls", []):
            nb = caller_submission(nb, question, reference)
        if p["kind"] == "renamed":                    # the student's own copy, renamed, run where they keep it
            mine = work / "renamed" / f"{sid} my work.ipynb"
            mine.parent.mkdir(exist_ok=True)
            nbformat.write(nb, mine)
            ran = work / "renamed" / "ran.ipynb"
            papermill.execute_notebook(str(mine), str(ran), kernel_name="python3", progress_bar=False,
                                       cwd=str(mine.parent), extra_arguments=["--log-level=CRITICAL"])
            selfcheck = _check_outputs(nbformat.read(ran, as_version=4))
            ran.unlink()
            dest = cls / "submissions" / sid / mine.name
            dest.parent.mkdir()
            shutil.move(mine, dest)
            continue
        nbformat.write(nb, dest)
    t0 = time.perf_counter()
    res = grade_class(cls / "submissions", work / "scores.csv", jobs=jobs, progress=False)
    t_grade = time.perf_counter() - t0
    kinds = {sid: p for sid, p in zip(ids, plan)}
    edit = {(sid, q): e if isinstance(e, str) else e["name"] for sid, p in kinds.items() for q, e in p["edits"]}
    call = {(sid, q): r for sid, p in kinds.items() for q, r in p.get("calls", [])}
    keys = list(zip(res["table"]["id"], res["table"]["question"]))
    scores = res["table"].assign(kind=lambda t: t["id"].map(lambda i: kinds[i]["kind"]),
                                 edit=[edit.get(k, "") for k in keys], call=[call.get(k, "") for k in keys])
    return {"scores": scores, "summary": res["summary"], "selfcheck": selfcheck, "plan": kinds,
            "rerun_differs": _rerun_differs(chapter, cls, ids[0], root, work),
            "assign_s": t_assign, "grade_s": t_grade, "n": len(ids), "chapter": chapter}


def _check_outputs(nb) -> dict:
    """``{question: the text its grader.check cell showed}`` (errors included, as the student would see them)."""
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip().startswith("grader.check("):
            q = cell.source.split('"')[1]
            text = []
            for o in cell.get("outputs", []):
                text.append(o.get("data", {}).get("text/plain", "") if "data" in o else
                            o.get("text", "") if "text" in o else f"{o.get('ename')}: {o.get('evalue')}")
            out[q] = "\n".join(text)
    return out


def _rerun_differs(chapter: str, cls: Path, sid: str, root: Path, work: Path) -> dict:
    """A student re-makes the class set from the public repository, without the secret (their own id on
    the roster, the old default salt): ``{question: True}`` where their hidden tests differ from the class's."""
    roster = work / "rerun.csv"
    roster.write_text(f"id,name\n{sid},Me\n")
    mine = work / "rerun"
    make_class(chapter, roster, mine, root=root, salt="nasvec", progress=False, force=True)
    real = hidden_cases(cls / "teacher" / sid / "autograder.zip")
    fake = hidden_cases(mine / "teacher" / sid / "autograder.zip")
    shutil.rmtree(mine, ignore_errors=True)
    return {q: real[q] != fake.get(q) for q in real}
