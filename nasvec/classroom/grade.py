"""``nasvec grade``: grade a class set's returned notebooks with ``otter run`` (no Docker).

For each student of the class folder's manifest the grader finds the submission
(``submissions/<id>.ipynb``, or the one notebook in ``submissions/<id>/``), puts the student's own
parameters back (papermill's injection: a student who edits them is graded on their variant all
the same), adds a first cell that stops any cell running longer than ``cell_timeout`` seconds, and
runs ``otter run`` with that student's autograder in a process of its own, stopped after
``timeout`` seconds. A missing, unreadable, crashing or looping submission scores zero for what it
did not answer, with the reason in the ``reason`` column, and never stops the grading of the
others.

Two things otter does not see are read from the notebook itself (:mod:`~nasvec.classroom.scan`): an
answer left as the student received it is "not answered" (zero), and a call of a function the master
lists as the question's reference is named in the ``flags`` column ("used nasvec....sample");
``reference_calls="zero"`` also takes the question's points. :func:`summary` and :func:`gradebook`
turn the scores into the teacher's per-question statistics and an LMS's import file. Introduced on the
teachers' page of the book.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import ClassroomError
from ..parallel import pmap
from ..utils import atomic_write
from .gradebook import LMS, gradebook, summary

COLUMNS = ("id", "name", "question", "score", "max_score", "reason", "flags")
NOT_ANSWERED = "not answered"
GUARD = """# nasvec grade: no cell below may run longer than {limit} s at a stretch
import signal as _nasvec_signal

def _nasvec_over_time(signum, frame):
    raise TimeoutError("nasvec grade: ran over {limit} s and was stopped")

_nasvec_signal.signal(_nasvec_signal.SIGALRM, _nasvec_over_time)
get_ipython().events.register(   # a repeating timer: a loop in a test case is stopped, and so is the next
    "pre_run_cell", lambda *_: _nasvec_signal.setitimer(_nasvec_signal.ITIMER_REAL, {limit}, {limit}))
get_ipython().events.register("post_run_cell", lambda *_: _nasvec_signal.setitimer(_nasvec_signal.ITIMER_REAL, 0))
"""

def _secret_variants(class_dir: Path, manifest: dict) -> dict:
    """Each student's secret variants from ``teacher/secret.json``; an error when the class has secret variants and
    the file, or a student in it, is missing (their hidden tests would all fail)."""
    path = Path(class_dir) / "teacher" / "secret.json"
    names = manifest.get("secret_variants", [])
    if not path.is_file():
        if names:
            raise ClassroomError(f"{path} is missing: the class's secret variants ({', '.join(names)}) feed its hidden "
                                 "tests; copy the teacher/ folder the class set was made with")
        return {}
    try:
        found = json.loads(path.read_text())["secret_variants"]
    except (ValueError, KeyError, TypeError) as err:
        raise ClassroomError(f"{path} is not the class's secret file ({type(err).__name__}: {str(err)[:80]})") from None
    lacking = [s["id"] for s in manifest["students"] if names and set(names) - set(found.get(s["id"], {}))]
    if lacking:
        raise ClassroomError(f"{path} holds no secret variants for {', '.join(lacking[:5])}: not this class's file")
    return found


def read_manifest(class_dir: Path) -> dict:
    path = Path(class_dir) / "manifest.json"
    if not path.is_file():
        raise ClassroomError(f"no manifest.json in {class_dir}: grade the submissions/ folder of a class set "
                             "made by `nasvec assign`")
    return json.loads(path.read_text())


def find_submissions(sub_dir: Path, ids: list[str], chapter: str) -> tuple[dict, list[str]]:
    """``{id: path or None}`` and the names in ``sub_dir`` that belong to no student."""
    found, used = {}, set()
    for sid in ids:
        cands = [sub_dir / f"{sid}.ipynb", sub_dir / sid / f"{chapter}.ipynb"]
        folder = sub_dir / sid
        if folder.is_dir():
            cands += sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        path = next((p for p in cands if p.is_file()), None)
        found[sid] = path
        if path is not None:
            used.add((sub_dir / sid) if path.parent != sub_dir else path)
    extra = sorted(p.name for p in sub_dir.iterdir() if p not in used and not p.name.startswith("."))
    return found, extra


def _prepare(path: Path, params: dict, limit: int, chapter: str):
    """The submission with the student's parameters re-injected and the time guard as its first cell."""
    import nbformat
    from papermill.parameterize import parameterize_notebook

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - whatever the student returned
        raise ClassroomError(f"not a readable notebook: {type(err).__name__}: {str(err)[:160]}") from None
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("papermill", {})              # a notebook rebuilt by hand may have lost these
    nb.metadata.setdefault("otter", {})["assignment_name"] = chapter
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, params, kernel_name="python3", language="python")
    nb.cells.insert(0, nbformat.v4.new_code_cell(GUARD.format(limit=int(limit))))
    return nb


def _reason(output: str) -> str:
    """One line from otter's output for a question: how many cases failed and what the first one did (not the
    test's code: a scores table shared with students must not reveal the hidden tests)."""
    failed = output.count("Test case failed")
    total = len(re.findall(r"^\s*\S+ - \d+ result:", output, flags=re.M)) or failed
    msg = f"{failed} of {total} test cases failed" if failed else "tests failed"
    m = re.search(r"Failed example:\n\s*(.+?)\n(.*?)(?=\n\s*\S+ - \d+ result:|\Z)", output, flags=re.S)
    if not m:
        return msg
    rest = m.group(2)
    if "Exception raised:" in rest:
        lines = [ln.strip() for ln in rest.splitlines() if ln.strip()]
        got = "raised " + lines[-1]
    elif "Got nothing" in rest:
        got = "printed nothing"
    else:
        after = rest.split("Got:", 1)[-1].strip().splitlines()
        got = "gave " + (after[0].strip() if after else "?")
    return f"{msg}; the first {got[:140]}"


def _run_otter(nb_path: Path, autograder: Path, out_dir: Path, timeout: int) -> tuple[dict | None, str]:
    cmd = [sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(out_dir), "--no-logo", str(nb_path)]
    env = {**os.environ, "TMPDIR": str(out_dir)}       # otter's own temporary copies go where we clean up
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=out_dir, env=env, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        proc.communicate()
        return None, f"the notebook ran over {timeout} s and was stopped"
    res = out_dir / "results.json"
    if proc.returncode != 0 or not res.is_file():
        last = [ln for ln in (log or "").splitlines() if ln.strip()][-1:] or ["no output"]
        return None, f"otter run failed (exit {proc.returncode}): {last[0][:200]}"
    return json.loads(res.read_text()), ""


def _kill_tree(pid: int) -> None:
    """Kill ``otter run`` and everything it started (the kernel runs in a session of its own)."""
    import psutil

    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        procs = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _grade_one(task: dict) -> list[dict]:
    """The rows of one student (a :func:`nasvec.parallel.pmap` task); any failure is the submission's zero."""
    try:
        return _grade_submission(task)
    except Exception as err:  # noqa: BLE001 - one odd submission never stops the class's grading
        return _rows(task, {}, f"could not be graded: {type(err).__name__}: {str(err)[:160]}")


def _rows(task: dict, scores: dict, why: str, flags: dict | None = None) -> list[dict]:
    out = []
    for q in task["questions"]:
        score, reason = scores.get(q["name"], (0.0, why))
        out.append({"id": task["id"], "name": task["name"], "question": q["name"], "score": score,
                    "max_score": q["points"], "reason": reason, "flags": (flags or {}).get(q["name"], "")})
    return out


def _read_notebook(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - _prepare reports an unreadable submission
        return None


def _inspect(task: dict) -> tuple[set, dict]:
    """The questions left as received, and ``{question: "used X, Y"}`` for the reference calls."""
    from .scan import reference_calls, segments, unanswered

    received = _read_notebook(Path(task["received"])) if task.get("received") else None
    mine = _read_notebook(Path(task["submission"]))
    if received is None or mine is None:
        return set(), {}
    seg_mine, seg_given = segments(mine), segments(received)
    blank = {q["name"] for q in task["questions"]
             if q["name"] in seg_mine and unanswered(seg_mine[q["name"]], seg_given.get(q["name"], []))}
    flags = {}
    for q in task["questions"]:
        used = reference_calls(mine, received, q["name"], q.get("reference", []))
        if used:
            flags[q["name"]] = "used " + ", ".join(used)
    return blank, flags


def _grade_submission(task: dict) -> list[dict]:
    questions = task["questions"]
    if task["submission"] is None:
        return _rows(task, {}, f"missing: no {task['id']}.ipynb in submissions/")
    with tempfile.TemporaryDirectory(prefix="nasvec-grade-", dir=task.get("workdir")) as tmp:
        tmp = Path(tmp)
        try:
            nb = _prepare(Path(task["submission"]), task["params"], task["cell_timeout"], task["chapter"])
        except ClassroomError as err:
            return _rows(task, {}, str(err))
        import nbformat

        nb_path = tmp / f"{task['chapter']}.ipynb"
        nbformat.write(nb, nb_path)
        results, why = _run_otter(nb_path, Path(task["autograder"]), tmp, task["timeout"])
    blank, flags = _inspect(task)
    if results is None:
        return _rows(task, {q: (0.0, NOT_ANSWERED) for q in blank}, why, flags)
    scores = {}
    for t in results.get("tests", []):
        if t.get("name") in {q["name"] for q in questions}:
            score = float(t.get("score") or 0.0)
            full = score >= float(t.get("max_score") or 0.0)
            scores[t["name"]] = (score, "" if full else _reason(t.get("output", "")))
    full = {q["name"]: float(q["points"]) for q in questions}
    for q in blank:                          # left as received, and otter found no full answer elsewhere either
        if scores.get(q, (0.0, ""))[0] < full[q]:
            scores[q] = (0.0, NOT_ANSWERED)
    if task.get("reference_calls") == "zero":
        for q, what in flags.items():
            scores[q] = (0.0, f"{what} (the class's rule: a reference call scores zero)")
    return _rows(task, scores, "no result from the grader for this question", flags)


def grade_class(submissions: Path, out_csv: Path, *, class_dir: Path | None = None, cell_timeout: int = 120,
                timeout: int = 900, jobs: int = 1, backend: str | None = None, workers: int | None = None,
                progress: bool = True, reference_calls: str = "flag", gradebook_csv: Path | None = None,
                lms: str = "canvas", workdir: Path | None = None) -> dict:
    """Grade every student of the class set; writes ``out_csv`` (one row per student and question).

    ``reference_calls``: ``"flag"`` names a call of a question's reference function in ``flags``;
    ``"zero"`` also scores the question zero. Beside ``out_csv`` goes ``<stem>-summary.csv`` (one row per
    question, :func:`~nasvec.classroom.gradebook.summary`); ``gradebook_csv`` is the LMS's import file
    (:func:`~nasvec.classroom.gradebook.gradebook`). ``workdir``: where each submission's temporary folder goes
    (default: the system's).

    ``jobs`` > 1 runs that many ``otter run`` processes at once on this machine (threads waiting on
    processes); ``backend="ray"`` spreads the submissions over a Ray cluster instead."""
    import pandas as pd

    submissions = Path(submissions).resolve()
    if not submissions.is_dir():
        raise ClassroomError(f"{submissions} is not a folder of submissions")
    class_dir = Path(class_dir).resolve() if class_dir else submissions.parent
    manifest = read_manifest(class_dir)
    if reference_calls not in ("flag", "zero"):
        raise ClassroomError(f"reference_calls must be 'flag' or 'zero', got {reference_calls!r}")
    secret = _secret_variants(class_dir, manifest)
    out_csv = Path(out_csv)
    summary_csv = out_csv.with_name(out_csv.stem + "-summary.csv")
    if gradebook_csv is not None and (Path(gradebook_csv).is_dir() or
                                      Path(gradebook_csv).resolve() in (out_csv.resolve(), summary_csv.resolve())):
        raise ClassroomError(f"--gradebook {gradebook_csv}: a folder, or the scores' own file; give another file name")
    ch = manifest["chapter"]
    found, extra = find_submissions(submissions, [s["id"] for s in manifest["students"]], ch)
    tasks = [{"id": s["id"], "name": s["name"], "params": {**s["params"], **secret.get(s["id"], {})}, "chapter": ch,
              "submission": str(found[s["id"]]) if found[s["id"]] else None, "reference_calls": reference_calls,
              "workdir": str(workdir) if workdir else None,
              "received": str(class_dir / "students" / s["id"] / f"{ch}.ipynb"),
              "autograder": str(class_dir / "teacher" / s["id"] / "autograder.zip"),
              "questions": manifest["questions"], "cell_timeout": cell_timeout, "timeout": timeout}
             for s in manifest["students"]]
    for t in tasks:
        if not Path(t["autograder"]).is_file():
            raise ClassroomError(f"{t['autograder']} is missing: the class folder {class_dir} is incomplete")
    if jobs < 1:
        raise ClassroomError(f"jobs must be >= 1, got {jobs}")
    if lms not in LMS:
        raise ClassroomError(f"unknown LMS {lms!r}; choose one of {', '.join(LMS)}")
    if jobs > 1 and backend != "ray":
        from concurrent.futures import ThreadPoolExecutor

        from tqdm.auto import tqdm

        with ThreadPoolExecutor(jobs) as pool:
            per_student = list(tqdm(pool.map(_grade_one, tasks), total=len(tasks), desc=f"grade {ch}",
                                    disable=not progress))
    else:
        per_student = pmap(_grade_one, tasks, backend=backend, workers=workers, desc=f"grade {ch}",
                           progress=progress)
    table = pd.DataFrame([r for rows in per_student for r in rows], columns=list(COLUMNS))
    per_question = summary(table)
    written = {"scores": out_csv, "summary": summary_csv}
    with atomic_write(out_csv, encoding="utf-8") as f:
        table.to_csv(f, index=False)
    with atomic_write(summary_csv, encoding="utf-8") as f:
        per_question.to_csv(f, index=False)
    if gradebook_csv is not None:
        written["gradebook"] = Path(gradebook_csv)
        with atomic_write(gradebook_csv, encoding="utf-8") as f:
            gradebook(table, ch, lms).to_csv(f, index=False)
    return {"table": table, "summary": per_question, "ignored": extra, "chapter": ch, "written": written}
