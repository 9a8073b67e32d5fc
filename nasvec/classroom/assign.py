"""``nasvec assign``: a class set of one chapter's assignment, one variant per student.

For every student of the roster: draw their parameters (:func:`~nasvec.classroom.master.draw_variant`),
inject them into the master with papermill (prepare-only), execute it — so every hidden test's
expected output is recomputed for that student — and run ``otter assign`` on the executed copy.
The class folder::

    DIR/manifest.json              chapter, questions, each student's public parameters (the grader reads it)
    DIR/roster.csv                 the roster, as given
    DIR/students/<id>/<ch>.ipynb   what each student receives: their parameters, no solutions, public tests
    DIR/teacher/secret.json        the class's secret and each student's secret variants (never hand out)
    DIR/teacher/<id>/<ch>.ipynb    their variant's reference solution, executed
    DIR/teacher/<id>/autograder.zip  otter's autograder for their variant (hidden tests inside)
    DIR/submissions/               put the returned notebooks here, as <id>.ipynb

The folder is built next to ``DIR`` and moved into place at the end: an interrupted run leaves no
half-made class set.

The class's secret is drawn at random (``secrets.token_hex``) unless the teacher passes ``salt`` for a
reproducible class set; it seeds every student's draw, and the secret variants it draws (the hidden
tests' inputs) are injected when the master runs for the teacher and when ``nasvec grade`` grades,
never into a student's notebook: a student who re-runs ``nasvec assign`` from the public repository
gets other hidden tests. The student's ``grader`` is :class:`~nasvec.classroom.selfcheck.SelfCheck`.
Introduced on the teachers' page of the book.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import ClassroomError
from ..parallel import pmap
from ..utils import sha256_file
from .master import Master, draw_variant, master_path, otter_config, read_master, source_root

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONFIG = """# ASSIGNMENT CONFIG
name: {chapter}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
generate: true
tests:
  files: false
  ok_format: true
"""


def read_roster(path: Path) -> list[dict]:
    """The roster's students as ``{"id", "name"}``; ids must be unique and safe as file names."""
    path = Path(path)
    if not path.is_file():
        raise ClassroomError(f"roster {path} does not exist")
    try:
        return _roster_rows(path)
    except (UnicodeDecodeError, csv.Error) as e:
        raise ClassroomError(f"roster {path} is not a UTF-8 CSV file with the columns 'id' and 'name' "
                             f"({type(e).__name__}: {str(e)[:120]})") from None


def _roster_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = [c.strip().lower() for c in reader.fieldnames or []]
        if "id" not in cols or "name" not in cols:
            raise ClassroomError(f"roster {path}: needs the columns 'id' and 'name', found {reader.fieldnames}")
        students, seen = [], set()
        for line, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            sid = row["id"]
            if not _ID.match(sid):
                raise ClassroomError(f"roster {path}, line {line}: id {sid!r} is not usable as a file name "
                                     "(letters, digits, '.', '_', '-')")
            if sid.lower() in seen:   # Ann and ann would share a folder on macOS and Windows
                raise ClassroomError(f"roster {path}, line {line}: id {sid!r} appears twice (ids ignore case)")
            seen.add(sid.lower())
            students.append({"id": sid, "name": row["name"]})
    if not students:
        raise ClassroomError(f"roster {path}: no students")
    return students


def solution_lines(nb) -> set[str]:
    """The lines a student's copy must not contain: those otter replaces, and no other cell has."""
    inside, secret, public = False, set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            s = line.strip()
            if re.fullmatch(r"# BEGIN SOLUTION( NO PROMPT)?", s):
                inside = True
            elif s == "# END SOLUTION":
                inside = False
            elif inside or s.endswith("# SOLUTION"):
                secret.add(re.sub(r"\s*# SOLUTION$", "", s))
            else:
                public.add(s)
    return {s for s in secret - public if len(s) > 6 and s not in ("...", "pass")}


def _master_notebook(master: Master):
    import nbformat

    nb = copy.deepcopy(master.notebook)
    for cell in nb.cells:
        if cell.cell_type == "raw" and re.match(r"\s*#\s*BEGIN\s+QUESTION", cell.source, flags=re.I):
            cell.source = otter_config(cell.source)
    nb.cells.insert(0, nbformat.v4.new_raw_cell(_CONFIG.format(chapter=master.chapter)))
    return nb


_INIT = ("# the self-check: each question's public tests (hidden tests also grade it), whatever this file's name\n"
         "from nasvec.classroom.selfcheck import SelfCheck\n"
         "grader = SelfCheck(\"{blob}\")")
KERNEL_ARGS = ["--log-level=CRITICAL"]   # the kernel's "KeyboardInterrupt caught" at a normal shutdown, unprinted


def _self_check(student_nb, teacher_nb) -> None:
    """Both notebooks' ``grader = otter.Notebook("<ch>.ipynb")`` cell becomes a :class:`SelfCheck` holding
    the public tests (from the student's notebook) and the names each question asks for."""
    from .scan import asked_names, segments
    from .selfcheck import pack

    tests = dict(student_nb.metadata.get("otter", {}).get("tests", {}))
    answers = {q: asked_names(src) for q, src in segments(student_nb).items()}
    init = _INIT.replace("{blob}", pack(tests, answers))
    for nb in (student_nb, teacher_nb):
        cell = next((c for c in nb.cells if c.cell_type == "code" and "otter.Notebook(" in c.source), None)
        if cell is None:
            raise ClassroomError("otter assign made a notebook without its `grader = otter.Notebook(...)` cell")
        cell.source = init


def _public_params(nb, public: dict, secret: list) -> None:
    """The student's notebook with the public parameters only: its injected cell, papermill's record (without
    the run's paths either), the master's parameters cell without the secret variants' defaults, and
    without the ``# STUDENT VARIANTS`` cell (the teacher's)."""
    from .master import VARIANTS_MARK

    nb.metadata["papermill"] = {"parameters": public}
    nb.cells = [c for c in nb.cells if not (c.cell_type == "raw" and c.source.lstrip().startswith(VARIANTS_MARK))]
    drop = re.compile(rf"^\s*({'|'.join(map(re.escape, secret))})\s*=" if secret else r"(?!)")
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in public.items())
        elif "parameters" in tags:
            cell.source = "\n".join(ln for ln in cell.source.splitlines() if not drop.match(ln))


def _assign_one(task: dict) -> dict:
    """One student's notebook and autograder (a :func:`nasvec.parallel.pmap` task)."""
    import nbformat
    import papermill
    from otter.assign import main as otter_assign

    work, ch, sid = Path(task["work"]), task["chapter"], task["id"]
    t0 = time.perf_counter()
    run_dir = work / "run" / sid
    run_dir.mkdir(parents=True)
    prepared, executed = run_dir / "prepared.ipynb", run_dir / f"{ch}.ipynb"
    params = {**task["params"], **task["secret"]}
    papermill.execute_notebook(task["master"], str(prepared), parameters=params, prepare_only=True,
                               kernel_name="python3", progress_bar=False)
    try:
        papermill.execute_notebook(str(prepared), str(executed), kernel_name="python3", progress_bar=False,
                                   cwd=str(run_dir), execution_timeout=task["timeout"], extra_arguments=KERNEL_ARGS)
    except papermill.PapermillExecutionError as err:
        raise ClassroomError(f"assignment {ch!r}: the reference solution fails for student {sid!r} "
                             f"(parameters {task['params']}): {err.ename}: {err.evalue}") from None
    dist = run_dir / "dist"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        otter_assign(str(executed), str(dist), no_pdfs=True, no_run_tests=True)
    zips = sorted((dist / "autograder").glob("*.zip"))
    student_nb = dist / "student" / f"{ch}.ipynb"
    if len(zips) != 1 or not student_nb.is_file():
        raise ClassroomError(f"assignment {ch!r}: otter assign made no student notebook or autograder for {sid!r}")
    student, teacher = (nbformat.read(p, as_version=4) for p in (student_nb, dist / "autograder" / f"{ch}.ipynb"))
    _public_params(student, task["params"], list(task["secret"]))
    _self_check(student, teacher)
    leaked = solution_lines(nbformat.read(executed, as_version=4)) & {
        line.strip() for c in student.cells for line in c.source.splitlines()}
    if leaked:
        raise ClassroomError(f"assignment {ch!r}: the student's notebook would contain solution lines: {sorted(leaked)[:3]}")
    shown = [k for k in task["secret"] if re.search(rf"\b{re.escape(k)}\b", nbformat.writes(student))]
    if shown:
        raise ClassroomError(f"assignment {ch!r}: the student's notebook would name the secret variant(s) {shown}")
    nbformat.write(student, student_nb)
    nbformat.write(teacher, dist / "autograder" / f"{ch}.ipynb")
    for sub, files in (("students", [(student_nb, f"{ch}.ipynb")]),
                       ("teacher", [(dist / "autograder" / f"{ch}.ipynb", f"{ch}.ipynb"), (zips[0], "autograder.zip")])):
        dest = work / "class" / sub / sid
        dest.mkdir(parents=True, exist_ok=True)
        for src, name in files:
            shutil.copyfile(src, dest / name)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"id": sid, "seconds": round(time.perf_counter() - t0, 2)}


def make_class(chapter: str, roster: Path, out: Path, *, root: Path | None = None, salt: str | None = None,
               force: bool = False, timeout: int = 600, backend: str | None = None, workers: int | None = None,
               progress: bool = True) -> dict:
    """Make the class set of ``chapter`` for ``roster`` in ``out``; returns the manifest.

    ``salt`` None draws the class's secret at random (or keeps the one of the class set ``out`` already holds, so that
    ``--force`` re-makes the same variants); a given ``salt`` makes the class set reproducible. Either way it is
    written only to ``out/teacher/secret.json``."""
    import nbformat
    import otter

    root = Path(root) if root else source_root()
    master = read_master(master_path(chapter, root), chapter)
    students = read_roster(roster)
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not force:
        raise ClassroomError(f"{out} exists and is not empty; choose another folder or pass --force to replace it")
    returned = [p.name for p in (out / "submissions").glob("*")] if (out / "submissions").is_dir() else []
    if returned:
        raise ClassroomError(f"{out}/submissions/ holds {len(returned)} returned notebook(s) ({returned[0]}, ...); "
                             "move them away before making this class set again")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    t0 = time.perf_counter()
    try:
        nbformat.write(_master_notebook(master), work / "master.ipynb")
        given = salt is not None
        kept = out / "teacher" / "secret.json"          # re-making a class set (--force) keeps its secret
        if not given and kept.is_file():
            try:
                salt = json.loads(kept.read_text()).get("salt")
            except (ValueError, AttributeError):
                raise ClassroomError(f"{kept} is not a class's secret file; remove it or pass --salt") from None
        salt = salt if salt is not None else secrets.token_hex(16)
        hidden = {}
        for s in students:
            drawn = draw_variant(master, s["id"], salt)
            s["params"], hidden[s["id"]] = master.public(drawn), {k: drawn[k] for k in master.secret}
        tasks = [{"work": str(work), "master": str(work / "master.ipynb"), "chapter": chapter, "id": s["id"],
                  "params": s["params"], "secret": hidden[s["id"]], "timeout": timeout} for s in students]
        done = pmap(_assign_one, tasks, backend=backend, workers=workers, desc=f"assign {chapter}", progress=progress)
        for s, d in zip(students, done):
            s["seconds"] = d["seconds"]
        manifest = {"chapter": chapter, "master_sha256": sha256_file(master.path), "secret_variants": master.secret,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "otter_grader": otter.__version__, "seconds": round(time.perf_counter() - t0, 1),
                    "questions": [{"name": q.name, "points": q.points, "reference": q.reference}
                                  for q in master.questions],
                    "students": students}
        cls = work / "class"
        (cls / "submissions").mkdir(parents=True)
        (cls / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (cls / "teacher" / "secret.json").write_text(json.dumps(
            {"salt": salt, "salt_given": given, "secret_variants": hidden}, indent=1) + "\n")
        shutil.copyfile(roster, cls / "roster.csv")
        if out.exists():
            shutil.rmtree(out)
        os.replace(cls, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest
