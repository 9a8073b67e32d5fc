"""The teachers' page: what each chapter's assignment asks, what it costs, a drill class made and graded.

Introduced on the book's page *For teachers* (``notebooks/teaching.py``), which calls these
functions on a :func:`~nasvec.classroom.drill.class_drill` of one chapter.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from .drill import class_drill
from .gradebook import gradebook
from .master import read_master, source_root


def assignments_table(root: Path | None = None):
    """One row per chapter with an assignment: its questions, points, parameters, shortcuts and reference functions
    listed (the questions' names are the exercises' titles in the chapter)."""
    import pandas as pd

    root = Path(root) if root else source_root()
    rows = []
    for path in sorted((root / "assignments").glob("*.py")):
        m = read_master(path)
        rows.append({"chapter": m.chapter, "questions": len(m.questions), "points": f"{m.points:g}",
                     "student parameters": ", ".join(k for k in m.variants if k not in m.secret),
                     "secret": ", ".join(m.secret), "shortcuts": sum(len(q.shortcuts) for q in m.questions),
                     "references": sum(len(q.reference) for q in m.questions)})
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


def demo_class(chapter: str, class_size: int | None = None, root: Path | None = None, jobs: int = 2) -> dict:
    """A drill class of ``chapter`` (:func:`~nasvec.classroom.drill.class_drill`; ``class_size`` pads it with
    reference submissions), made and graded in a temporary folder; adds the folder's listing, the students'
    public parameters and the Canvas gradebook to the drill's result."""
    work = Path(tempfile.mkdtemp(prefix="nasvec-class-"))
    try:
        d = class_drill(chapter, work, size=class_size, combine=class_size is None, root=root, jobs=jobs,
                        salt="nasvec-book")            # a fixed secret: the page's tables are the same on every run
        cls = work / "class"
        d["listing"] = sorted(str(p.relative_to(cls)) for p in cls.rglob("*") if p.is_file())
        d["params"] = {s["id"]: s["params"] for s in json.loads((cls / "manifest.json").read_text())["students"]}
        d["gradebook"] = gradebook(d["scores"], chapter, "canvas")
        d["jobs"] = jobs
        return d
    finally:
        shutil.rmtree(work, ignore_errors=True)


def listing(demo: dict, per_kind: int = 2) -> str:
    """The class folder, ``per_kind`` students shown of each folder."""
    shown, seen = [], {}
    for p in demo["listing"]:
        parts = p.split("/")
        key = parts[0]
        if len(parts) >= 3:
            seen.setdefault(key, [])
            if parts[1] not in seen[key]:
                seen[key].append(parts[1])
            if seen[key].index(parts[1]) >= per_kind:
                continue
        shown.append("  " + p)
    more = {k: len(v) - per_kind for k, v in seen.items() if len(v) > per_kind}
    return "\n".join(shown + [f"  {k}/... ({n} more students)" for k, n in more.items()])


def params_table(demo: dict, rows: int = 5):
    """The first students' public parameters, one row each (the secret ones are only in teacher/secret.json)."""
    import pandas as pd

    return pd.DataFrame([{"id": sid, **{k: str(v) for k, v in p.items()}} for sid, p in demo["params"].items()][:rows])


def _spaced(name: str) -> str:
    """A question's name as a table header that can wrap."""
    return name.replace("_", " ")


def _described(plan: dict, k: int) -> str:
    """A short description of a drill submission (``k``: its rank among the shortcut notebooks)."""
    if plan["kind"] == "shortcut":
        edits = plan["edits"]
        own = f"shortcut #{k} of each question" if len(edits) > 1 else f"shortcut: {edits[0][1]['name']}"
        return own + (" + a reference call in each" if plan.get("calls") else "")
    if plan["kind"] == "caller":
        return "reference + a call of " + plan["edits"][0][1].rpartition(".")[2]
    return {"reference": "reference", "untouched": "untouched", "renamed": "reference, renamed"}[plan["kind"]]


def scores_table(demo: dict):
    """One row per kind of submission (identical reference submissions counted once): what it is, its score
    per question, its total, and what the grader flagged."""
    t = demo["scores"]
    wide = t.pivot_table(index="id", columns="question", values="score", sort=False)
    questions = list(dict.fromkeys(t.question))
    rows, k = [], 0
    for sid, plan in demo["plan"].items():
        k += plan["kind"] == "shortcut"
        rows.append({"id": sid, "submission": _described(plan, k), **wide.loc[sid, questions].to_dict(),
                     "total": float(wide.loc[sid, questions].sum()),
                     "flagged": int((t[t.id == sid]["flags"] != "").sum())})
    import pandas as pd

    out = pd.DataFrame(rows)
    keys = ["submission", *questions, "flagged"]
    dup = out.duplicated(keys)
    out = out[~dup].assign(students=out.groupby(keys, sort=False).id.transform("size")[~dup]).reset_index(drop=True)
    return out.rename(columns={q: _spaced(q) for q in questions})


def shortcuts_table(demo: dict):
    """Each listed shortcut the class took: its question, its name, the score the question got and its max."""
    t = demo["scores"]
    hit = t[(t.kind == "shortcut") & (t.edit != "")]
    return hit[["question", "edit", "score", "max_score"]].rename(columns={"edit": "shortcut"}).assign(
        question=lambda d: d.question.map(_spaced)).reset_index(drop=True)


def summary_table(demo: dict):
    """The grader's per-question summary of the class (what ``nasvec grade`` prints and writes), one column per
    question so that it fits the page."""
    s = demo["summary"].set_index("question").map(_text)   # text cells: a transposed column mixes kinds
    return s.T.rename(columns=_spaced).rename_axis(None, axis=1).reset_index().rename(columns={"index": ""})


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def gradebook_table(demo: dict, rows: int = 4):
    """The first rows of the class's Canvas gradebook, one column per row of the file (to fit the page)."""
    g = demo["gradebook"].head(rows).map(_text)
    return g.T.reset_index().set_axis(["column", *[f"row {i + 1}" for i in range(len(g))]], axis=1)


def reasons_table(demo: dict, width: int = 110):
    """The questions the class lost points on, with the grader's reason (shortened), one row per reason."""
    t = demo["scores"]
    lost = t[t.score < t.max_score]
    return (lost.assign(reason=lambda d: d.reason.str.slice(0, width))
            .groupby(["question", "reason"], sort=False).id.size().rename("students").reset_index())


def selfcheck_table(demo: dict):
    """What the renamed notebook's ``grader.check`` cells showed the student."""
    import pandas as pd

    return pd.DataFrame([{"question": q, "the self-check said": text.replace("\n", " ")}
                         for q, text in (demo["selfcheck"] or {}).items()])


def times_table(demo: dict, time_masters: bool = True, root: Path | None = None):
    """Seconds: making and grading the demo class (in all, per student); one run of each chapter's master."""
    import pandas as pd

    n = demo["n"]
    rows = [{"what": f"nasvec assign, {n} students ({demo['chapter']})", "seconds": demo["assign_s"],
             "per student": demo["assign_s"] / n},
            {"what": f"nasvec grade, {n} submissions, {demo['jobs']} at a time", "seconds": demo["grade_s"],
             "per student": demo["grade_s"] / n}]
    if time_masters:
        root = Path(root) if root else source_root()
        for path in sorted((root / "assignments").glob("*.py")):
            s = time_master(path.stem, root)
            rows.append({"what": f"one run of the {path.stem} assignment (reference solutions)", "seconds": s,
                         "per student": s})
    return pd.DataFrame(rows).round({"seconds": 1, "per student": 1})


def times_sentence(demo: dict, class_size: int = 30) -> str:
    """The page's sentence on the cost of a class, computed from the demo's measured times."""
    n, a, g = demo["n"], demo["assign_s"], demo["grade_s"]
    if n >= class_size:
        return (f"Making this class set of {n} students took {a / 60:.1f} min and grading it {g / 60:.1f} min "
                f"({demo['jobs']} submissions at a time) on this machine.")
    return (f"Making this class set of {n} students took {a:.0f} s ({a / n:.1f} s per student) and grading "
            f"it {g:.0f} s ({g / n:.1f} s per submission, {demo['jobs']} at a time) on this machine: a class of "
            f"{class_size} would take about {class_size * a / n / 60:.1f} min to make and "
            f"{class_size * g / n / 60:.1f} min to grade (an extrapolation from the per-student times).")
