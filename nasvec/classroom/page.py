"""The teachers' page: what each chapter's assignment asks, what it costs, a class set made and graded.

Introduced on the book's page *For teachers* (``notebooks/teaching.py``), which calls these
functions; ``tests/test_classroom.py`` uses :func:`partial_submission` as its "wrong answer".
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from .assign import make_class
from .grade import grade_class
from .master import read_master, source_root


def assignments_table(root: Path | None = None):
    """One row per chapter with an assignment: its questions, points and per-student parameters."""
    import pandas as pd

    root = Path(root) if root else source_root()
    rows = []
    for path in sorted((root / "assignments").glob("*.py")):
        m = read_master(path)
        rows.append({"chapter": m.chapter, "questions": len(m.questions), "points": m.points,
                     "question names": ", ".join(q.name for q in m.questions),
                     "student parameters": ", ".join(m.variants)})
    return pd.DataFrame(rows)


def time_master(chapter: str, root: Path | None = None, timeout: int = 600) -> float:
    """Seconds one run of the chapter's master (reference solutions, default parameters) takes."""
    import papermill

    root = Path(root) if root else source_root()
    m = read_master(root / "assignments" / f"{chapter}.py", chapter)
    import nbformat

    with tempfile.TemporaryDirectory(prefix="nasvec-master-") as tmp:
        src = Path(tmp) / "master.ipynb"
        nbformat.write(m.notebook, src)
        t0 = time.perf_counter()
        papermill.execute_notebook(str(src), str(Path(tmp) / "run.ipynb"), kernel_name="python3",
                                   progress_bar=False, cwd=tmp, execution_timeout=timeout,
                                   extra_arguments=["--log-level=CRITICAL"])
        return time.perf_counter() - t0


def partial_submission(teacher_nb, student_nb, unanswered: set[str]):
    """The reference notebook with the questions in ``unanswered`` left as the student received them.

    Answer cells are matched in order (otter keeps the cell sequence); a question's answer cells are
    those before its ``grader.check("name")`` cell."""
    import copy

    nb = copy.deepcopy(teacher_nb)
    sol = [c for c in nb.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    ans = [c for c in student_nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    if len(sol) != len(ans):
        raise ValueError(f"{len(sol)} solution cells but {len(ans)} answer cells: not the same assignment")
    pending, owner, index = [], {}, {id(c): i for i, c in enumerate(sol)}
    for cell in nb.cells:
        if id(cell) in index:
            pending.append(index[id(cell)])
        elif cell.cell_type == "code" and cell.source.startswith("grader.check("):
            name = cell.source.split('"')[1]
            owner.update({i: name for i in pending})
            pending = []
    for i, cell in enumerate(sol):
        if owner.get(i) in unanswered:
            cell.source = ans[i].source
    return nb


def class_demo(chapter: str, n_students: int = 3, root: Path | None = None, workdir: Path | None = None,
               salt: str = "nasvec", jobs: int = 1) -> dict:
    """Make a class set of ``n_students`` (ids ``s01``...), return the reference for the first, the untouched
    notebook for the second, the reference without its last answer for the third (and the reference for
    the rest), grade them (``jobs`` at once); returns the scores, the class folder's listing and the times."""
    import nbformat

    root = Path(root) if root else source_root()
    own = workdir is None
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="nasvec-class-"))
    try:
        roster = work / "roster.csv"
        ids = [f"s{i + 1:02d}" for i in range(n_students)]
        roster.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids))
        cls = work / "class"
        t0 = time.perf_counter()
        manifest = make_class(chapter, roster, cls, root=root, salt=salt, progress=False, force=True)
        t_assign = time.perf_counter() - t0
        last = manifest["questions"][-1]["name"]
        kinds = {}
        for k, sid in enumerate(ids):
            teacher = nbformat.read(cls / "teacher" / sid / f"{chapter}.ipynb", as_version=4)
            student = nbformat.read(cls / "students" / sid / f"{chapter}.ipynb", as_version=4)
            kind = ["reference", "untouched", f"reference without {last}"][k] if k < 3 else "reference"
            nb = {"untouched": student, "reference": teacher}.get(kind) or partial_submission(teacher, student, {last})
            nbformat.write(nb, cls / "submissions" / f"{sid}.ipynb")
            kinds[sid] = kind
        t0 = time.perf_counter()
        res = grade_class(cls / "submissions", work / "scores.csv", jobs=jobs, progress=False)
        t_grade = time.perf_counter() - t0
        listing = sorted(str(p.relative_to(cls)) for p in cls.rglob("*") if p.is_file())
        scores = res["table"].assign(submission=lambda t: t["id"].map(kinds))
        params = {s["id"]: s["params"] for s in json.loads((cls / "manifest.json").read_text())["students"]}
        return {"scores": scores, "listing": listing, "params": params, "assign_s": t_assign, "grade_s": t_grade,
                "n": n_students, "jobs": jobs, "chapter": chapter}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def params_table(demo: dict):
    """The demo students' parameters, one row each."""
    import pandas as pd

    return pd.DataFrame([{"id": sid, **{k: str(v) for k, v in p.items()}} for sid, p in demo["params"].items()])


def scores_table(demo: dict):
    """The demo's scores: one row per submission, one column per question, the total and the first reason."""
    t = demo["scores"]
    wide = t.pivot_table(index=["id", "submission"], columns="question", values="score", sort=False).reset_index()
    wide.columns.name = None
    totals = t.groupby("id", sort=False).agg(total=("score", "sum"), of=("max_score", "sum"),
                                             reason=("reason", lambda r: next((x for x in r if x), "")))
    return wide.merge(totals.reset_index(), on="id")


def reasons_table(demo: dict, width: int = 110):
    """The questions the demo's submissions lost points on, with the grader's reason (shortened)."""
    t = demo["scores"]
    lost = t[t.score < t.max_score]
    return lost[["id", "question", "score", "max_score", "reason"]].assign(
        reason=lambda d: d.reason.str.slice(0, width)).reset_index(drop=True)


def times_table(demo: dict, time_masters: bool = True, root: Path | None = None):
    """Seconds per student: making and grading the demo class; one run of each chapter's master."""
    import pandas as pd

    n = demo["n"]
    rows = [{"what": f"nasvec assign, per student ({demo['chapter']})", "seconds": demo["assign_s"] / n},
            {"what": f"nasvec grade, per submission ({demo['chapter']})", "seconds": demo["grade_s"] / n}]
    if time_masters:
        root = Path(root) if root else source_root()
        for path in sorted((root / "assignments").glob("*.py")):
            rows.append({"what": f"one run of the {path.stem} assignment (reference solutions)",
                         "seconds": time_master(path.stem, root)})
    return pd.DataFrame(rows).round({"seconds": 1})


def times_sentence(demo: dict, times, class_size: int = 30) -> str:
    """The page's sentence on the cost of a class, computed from the demo's measured times."""
    n, a, g = demo["n"], demo["assign_s"], demo["grade_s"]
    return (f"Making this class set of {n} students took {a:.0f} s ({a / n:.1f} s per student) and grading "
            f"it {g:.0f} s ({g / n:.1f} s per submission), "
            f"{'one student after another' if demo.get('jobs', 1) == 1 else str(demo['jobs']) + ' at a time'} "
            f"on this machine. At "
            f"these rates a class of {class_size} takes about {class_size * a / n / 60:.1f} min to make and "
            f"{class_size * g / n / 60:.1f} min to grade (an extrapolation from the per-student times; a "
            f"chapter with a slower assignment costs its extra run time twice"
            + (", see the table)." if len(times) > 2 else "; the standard profile times every chapter's)."))
