"""The classroom: assignment masters, nasvec assign, nasvec grade (otter-grader, no Docker).

A toy master (``tests/data/toy_assignment.py``) checks the mechanics fast and on purpose-made bad
submissions; the chapters' own masters are checked end to end in the ``test_chapter_class_set_*`` tests."""

import csv
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasvec.book.cli import main as cli
from nasvec.classroom.assign import make_class, read_roster, solution_lines
from nasvec.classroom.grade import grade_class
from nasvec.classroom.master import draw_variant, exercise_cells, read_master
from nasvec.classroom.page import class_demo
from nasvec.errors import ClassroomError

ROOT = Path(__file__).resolve().parent.parent
TOY = Path(__file__).parent / "data" / "toy_assignment.py"
CHAPTERS = sorted(p.stem for p in (ROOT / "assignments").glob("*.py"))


def _roster(path: Path, ids) -> Path:
    path.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids))
    return path


def _toy_root(tmp: Path, text: str | None = None) -> Path:
    (tmp / "assignments").mkdir(parents=True, exist_ok=True)
    (tmp / "assignments" / "toy.py").write_text(text if text is not None else TOY.read_text())
    return tmp


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _scores(csv_path: Path) -> dict:
    out: dict = {}
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            out.setdefault(row["id"], {})[row["question"]] = (float(row["score"]), float(row["max_score"]), row["reason"])
    return out


# --------------------------------------------------------------------------- the master
def test_toy_master_reads():
    m = read_master(TOY, "toy")
    assert [q.name for q in m.questions] == ["square_sum", "triangle"]
    assert m.points == 4 and m.defaults == {"seed": 0, "n": 5, "scale": 1.0}
    assert all(q.public >= 1 and q.hidden >= 1 for q in m.questions)
    assert "# SOLUTION" not in m.questions[0].solution and "BEGIN SOLUTION" not in m.questions[1].solution
    assert m.questions[0].title == "The sum of squares"


@pytest.mark.parametrize("edit, message", [
    (("seed: {integer: [0, 999999]}\n", ""), "must draw 'seed'"),
    (("n: {integer: [3, 40]}", "n: {normal: [3, 40]}"), "variant 'n'"),
    (("n = 5\n", ""), "not set in the parameters cell"),
    (("name: triangle", "name: square_sum"), "used twice"),
    (("# HIDDEN\ntriangle(n)", "triangle(n)"), "one hidden test case"),
    (("points: 2\n\n# %% [markdown]\n# **Triangle", "points: -1\n\n# %% [markdown]\n# **Triangle"), "'points:' must be"),
])
def test_bad_master_named(tmp_path, edit, message):
    text = TOY.read_text()
    old, new = edit
    assert old in text
    bad = tmp_path / "toy.py"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ClassroomError, match=message) as err:
        read_master(bad)
    assert str(bad) in str(err.value)


def test_master_without_end_question(tmp_path):
    bad = tmp_path / "toy.py"
    bad.write_text(TOY.read_text().rsplit("# %% [raw]\n# # END QUESTION", 1)[0])
    with pytest.raises(ClassroomError, match="no END QUESTION"):
        read_master(bad)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True), min_size=2, max_size=6,
                    unique=True), salt=st.text(max_size=5))
def test_variants_in_range_and_reproducible(ids, salt):
    m = read_master(TOY, "toy")
    draws = [draw_variant(m, i, salt) for i in ids]
    assert draws == [draw_variant(m, i, salt) for i in ids]
    for d in draws:
        assert 0 <= d["seed"] <= 999999 and 3 <= d["n"] <= 40 and 0.5 <= d["scale"] <= 2.0



def test_variants_differ_between_students_and_salts():
    m = read_master(TOY, "toy")
    draws = {json.dumps(draw_variant(m, f"s{i}", salt)) for i in range(20) for salt in ("a", "b")}
    assert len(draws) == 40


def test_exercises_for_the_book():
    m = read_master(TOY, "toy")
    teacher, student = exercise_cells(m), exercise_cells(m, solutions=False)
    assert sum(c.startswith("::::{exercise}") for c in teacher) == 2
    assert "x = np.random.default_rng(seed)" in teacher[1] and "dropdown" in teacher[1]    # the setup, folded
    assert sum("{solution}" in c for c in teacher) == 2 and ":class: dropdown" in teacher[3]
    assert not any("{solution}" in c or "total += i" in c for c in student)
    assert "for i in range(1, k + 1):" in "\n".join(teacher)


# --------------------------------------------------------------------------- the roster
@pytest.mark.parametrize("text, message", [
    ("ident,name\na,A\n", "needs the columns 'id' and 'name'"),
    ("id,name\na,A\na,B\n", "line 3: id 'a' appears twice"),
    ("id,name\nAnn,A\nann,B\n", "line 3: id 'ann' appears twice"),
    ("id,name\n../x,A\n", "line 2: id '../x' is not usable"),
    ("id,name\n", "no students"),
])
def test_bad_roster(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(ClassroomError, match=message):
        read_roster(path)


def test_roster_extra_columns_and_bom(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffId,Name,Email\nann,Ann,a@x\n", encoding="utf-8")
    assert read_roster(path) == [{"id": "ann", "name": "Ann"}]


def test_assign_errors(tmp_path):
    root = _toy_root(tmp_path / "root")
    roster = _roster(tmp_path / "r.csv", ["s1"])
    with pytest.raises(ClassroomError, match="no assignment for chapter 'nope'.*toy"):
        make_class("nope", roster, tmp_path / "out", root=root)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    with pytest.raises(ClassroomError, match="exists and is not empty"):
        make_class("toy", roster, tmp_path / "busy", root=root)
    assert (tmp_path / "busy" / "keep.txt").is_file()
    broken = _toy_root(tmp_path / "root2", TOY.read_text().replace("square_sum = float(np.sum(x ** 2))",
                                                                   "square_sum = float(np.sum(y ** 2))"))
    with pytest.raises(ClassroomError, match="reference solution fails for student 's1'.*NameError"):
        make_class("toy", roster, tmp_path / "out2", root=broken, progress=False)
    assert not (tmp_path / "out2").exists() and not list(tmp_path.glob(".out2-*"))


# --------------------------------------------------------------------------- a class set, graded
@pytest.fixture(scope="module")
def toy_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toyclass")
    root = _toy_root(tmp / "root")
    roster = _roster(tmp / "roster.csv", ["ann", "bob", "cy", "dee", "eve", "fay"])
    out = tmp / "class"
    make_class("toy", roster, out, root=root, salt="test", progress=False)
    return out


@pytest.fixture(scope="module")
def layout(toy_class):
    """The toy class set as written: its manifest, the teacher's solution lines and each student's notebook."""
    man = json.loads((toy_class / "manifest.json").read_text())
    ids = [s["id"] for s in man["students"]]
    secret = solution_lines(nbformat.read(toy_class / "teacher" / "ann" / "toy.ipynb", as_version=4))
    notebooks = {sid: nbformat.read(toy_class / "students" / sid / "toy.ipynb", as_version=4) for sid in ids}
    return man, ids, secret, notebooks


def _injected(nb) -> list:
    return [c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]


def test_manifest_lists_the_students_and_the_chapter(layout):
    man, ids, _, _ = layout
    assert ids == ["ann", "bob", "cy", "dee", "eve", "fay"]
    assert man["chapter"] == "toy"


def test_manifest_lists_the_questions(layout):
    man, _, _, _ = layout
    assert [q["name"] for q in man["questions"]] == ["square_sum", "triangle"]


def test_teachers_notebook_holds_the_solution(layout):
    _, _, secret, _ = layout
    assert "total += i" in secret


def test_students_notebooks_hold_no_solution(layout):
    _, _, secret, notebooks = layout
    for nb in notebooks.values():
        assert not secret & {ln.strip() for ln in _code(nb).splitlines()}


def test_students_notebooks_leave_the_answers_to_fill_in(layout):
    _, _, _, notebooks = layout
    for nb in notebooks.values():
        assert "square_sum = ..." in _code(nb)


def test_students_notebooks_hold_no_hidden_test(layout):
    _, _, _, notebooks = layout
    for nb in notebooks.values():
        hidden = json.dumps(nb.metadata.get("otter", {}))
        assert "triangle(n)" not in hidden
        assert "round(square_sum" not in hidden


def test_each_students_notebook_has_its_own_parameters_injected_once(layout):
    man, _, _, notebooks = layout
    for sid, nb in notebooks.items():
        injected = _injected(nb)
        assert len(injected) == 1
        s = next(s for s in man["students"] if s["id"] == sid)
        assert f"n = {s['params']['n']}" in injected[0]


def test_every_students_notebook_differs(layout):
    _, ids, _, notebooks = layout
    params = [_injected(nb)[0] for nb in notebooks.values()]
    assert len(set(params)) == len(ids)


def _submit(cls: Path, sid: str, nb) -> None:
    nbformat.write(nb, cls / "submissions" / f"{sid}.ipynb")


def _teacher(cls, sid):
    return nbformat.read(cls / "teacher" / sid / "toy.ipynb", as_version=4)


def _student(cls, sid):
    return nbformat.read(cls / "students" / sid / "toy.ipynb", as_version=4)


def _replace(nb, old: str, new: str):
    cell = next(c for c in nb.cells if c.cell_type == "code" and old in c.source)
    cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def toy_grades(toy_class, tmp_path_factory):
    """The toy class graded once for the module: the reference, an untouched notebook, a wrong answer, a loop,
    a dead kernel, edited parameters, and a notebook of nobody on the roster."""
    cls = toy_class
    _submit(cls, "ann", _teacher(cls, "ann"))                                           # the reference
    _submit(cls, "bob", _student(cls, "bob"))                                           # untouched
    _submit(cls, "cy", _replace(_teacher(cls, "cy"), "float(np.sum(x ** 2))", "float(np.sum(abs(x)))"))  # wrong
    looping = _replace(_teacher(cls, "dee"), "square_sum = float(np.sum(x ** 2))", "while True:\n    pass")
    _submit(cls, "dee", looping)                                                       # loops in question 1
    crash = _teacher(cls, "eve")
    crash.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    _submit(cls, "eve", crash)                                                         # the kernel dies
    tampered = _teacher(cls, "fay")                           # right answers, its injected parameters edited
    cell = next(c for c in tampered.cells if "injected-parameters" in c.metadata.get("tags", []))
    cell.source = "seed = 1\nn = 3\nscale = 1.0\n"
    _submit(cls, "fay", tampered)
    (cls / "submissions" / "zed.ipynb").write_text("{}")
    out = tmp_path_factory.mktemp("toy_grades") / "scores.csv"
    res = grade_class(cls / "submissions", out, cell_timeout=5, timeout=120, jobs=2, progress=False)
    return res, _scores(out), out


def test_grade_ignores_notebooks_of_nobody_on_the_roster(toy_grades):
    res, _, _ = toy_grades
    assert res["ignored"] == ["zed.ipynb"]


def test_grade_gives_the_reference_full_marks(toy_grades):
    _, s, _ = toy_grades
    assert s["ann"] == {"square_sum": (2, 2, ""), "triangle": (2, 2, "")}


def test_grade_gives_an_untouched_notebook_zero_with_a_reason(toy_grades):
    _, s, _ = toy_grades
    assert all(v[0] == 0 for v in s["bob"].values())
    assert all(v[2] for v in s["bob"].values())


def test_grade_gives_a_wrong_answer_the_public_tests_points(toy_grades):
    _, s, _ = toy_grades
    assert s["cy"]["square_sum"][0] == 1                                    # partial: public passes, hidden not
    assert s["cy"]["triangle"][0] == 2


def test_grade_stops_a_loop_and_grades_the_next_question(toy_grades):
    _, s, _ = toy_grades
    assert s["dee"]["square_sum"][0] == 0                                   # the loop was stopped
    assert s["dee"]["triangle"][0] == 2                                     # q2 graded


def test_grade_gives_a_dead_kernel_zero_and_says_otter_failed(toy_grades):
    _, s, _ = toy_grades
    assert all(v[0] == 0 for v in s["eve"].values())
    assert all("otter run failed" in v[2] for v in s["eve"].values())


def test_grade_uses_the_students_own_variant_not_the_edited_parameters(toy_grades):
    _, s, _ = toy_grades
    assert s["fay"] == {"square_sum": (2, 2, ""), "triangle": (2, 2, "")}


def test_grade_writes_the_scores_csv_columns(toy_grades):
    _, _, out = toy_grades
    assert list(csv.DictReader(open(out)))[0].keys() == {"id", "name", "question", "score", "max_score", "reason"}


@pytest.fixture(scope="module")
def odd_grades(toy_class, tmp_path_factory):
    """The toy class graded once for the module on odd submissions: unreadable, missing, stubborn (ignores the
    per-cell limit), stripped of its metadata, looping only when a hidden test calls it. Returns the scores and
    the kernels left running once the grading is done."""
    import time

    import psutil

    tmp_path = tmp_path_factory.mktemp("odd")
    sub = tmp_path / "class"
    shutil.copytree(toy_class, sub, ignore=shutil.ignore_patterns("submissions"))
    (sub / "submissions").mkdir()
    (sub / "submissions" / "ann.ipynb").write_text("not json")
    stubborn = _teacher(sub, "cy")
    stubborn.cells.insert(6, nbformat.v4.new_code_cell(
        "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n    except BaseException:\n        pass"))
    _submit(sub, "cy", stubborn)
    bare = _teacher(sub, "dee")
    bare.metadata = {}
    for cell in bare.cells:
        cell.metadata.pop("tags", None)
    _submit(sub, "dee", bare)
    _submit(sub, "eve", _replace(_teacher(sub, "eve"), "total = 0", "total = 0\n    while k > 2:\n        pass"))
    kernels = lambda: {p.pid for p in psutil.process_iter(["cmdline"]) if "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])}  # noqa: E731
    before = kernels()
    out = tmp_path / "scores.csv"
    grade_class(sub / "submissions", out, cell_timeout=4, timeout=40, jobs=2, progress=False)
    s = _scores(out)
    for _ in range(20):                      # kernels of finished gradings may take a moment to exit
        if not kernels() - before:
            break
        time.sleep(0.5)
    return s, kernels() - before


def test_grade_an_unreadable_notebook_gets_zero_and_says_so(odd_grades):
    s, _ = odd_grades
    assert all(v[0] == 0 for v in s["ann"].values())
    assert all("not a readable notebook" in v[2] for v in s["ann"].values())


def test_grade_a_missing_notebook_gets_zero_and_says_so(odd_grades):
    s, _ = odd_grades
    assert all(v[0] == 0 for v in s["bob"].values())
    assert all(v[2].startswith("missing") for v in s["bob"].values())


def test_grade_a_notebook_ignoring_the_cell_limit_is_stopped_at_the_timeout(odd_grades):
    s, _ = odd_grades
    assert all(v[0] == 0 for v in s["cy"].values())
    assert all("ran over 40 s" in v[2] for v in s["cy"].values())


def test_grade_a_notebook_stripped_of_its_metadata_is_graded(odd_grades):
    s, _ = odd_grades
    assert s["dee"] == {"square_sum": (2, 2, ""), "triangle": (2, 2, "")}


def test_grade_a_loop_only_a_hidden_test_reaches_is_stopped(odd_grades):
    s, _ = odd_grades
    assert s["eve"]["square_sum"][0] == 2                                   # public passes
    assert s["eve"]["triangle"][0] == 1                                     # hidden stopped
    assert "TimeoutError" in s["eve"]["triangle"][2]


def test_grade_scores_every_student_on_the_roster(odd_grades):
    s, _ = odd_grades
    assert len(s) == 6


def test_no_kernel_outlives_the_grading(odd_grades):
    _, leftover = odd_grades
    assert not leftover, "a kernel outlived its grading"


def test_assign_keeps_returned_work(toy_class, tmp_path):
    sub = tmp_path / "class"
    shutil.copytree(toy_class, sub, ignore=shutil.ignore_patterns("submissions"))
    (sub / "submissions").mkdir()
    (sub / "submissions" / "ann.ipynb").write_text("{}")
    with pytest.raises(ClassroomError, match="holds 1 returned notebook"):
        make_class("toy", sub / "roster.csv", sub, root=_toy_root(tmp_path / "root"), force=True)
    assert (sub / "submissions" / "ann.ipynb").is_file()


def test_grade_cli_errors(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert cli(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "s.csv")]) == 1
    assert "no manifest.json" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def _hidden_cases(autograder: Path) -> dict:
    """{question: [the code and expected output of each hidden case]} from an otter autograder zip."""
    import zipfile

    out = {}
    with zipfile.ZipFile(autograder) as z:
        for name in z.namelist():
            if name.startswith("tests/") and name.endswith(".py"):
                env: dict = {}
                exec(z.read(name).decode(), env)          # noqa: S102 - otter's own OK-format test file
                out[env["test"]["name"]] = [c["code"] for suite in env["test"]["suites"]
                                            for c in suite["cases"] if c["hidden"]]
    return out


# --------------------------------------------------------------------------- the chapters' assignments
def test_class_set_of_three_graded(tmp_path):
    """The issue's class set: 3 students of one chapter; their notebooks differ in their parameters and hold
    no solution; the reference scores full marks, the untouched notebook zero, a wrong one part."""
    demo = class_demo("gumbel", 3, workdir=tmp_path, jobs=2)
    assert len({json.dumps(p, sort_keys=True) for p in demo["params"].values()}) == 3
    cls = tmp_path / "class"
    injected = set()
    for sid in demo["params"]:
        secret = solution_lines(nbformat.read(cls / "teacher" / sid / "gumbel.ipynb", as_version=4))
        nb = nbformat.read(cls / "students" / sid / "gumbel.ipynb", as_version=4)
        assert secret and not secret & {ln.strip() for ln in _code(nb).splitlines()}
        injected |= {c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])}
    assert len(injected) == 3
    t = demo["scores"]
    total = t.groupby("submission").score.sum()
    full = t.groupby("submission").max_score.sum()
    assert total["reference"] == full["reference"] > 0
    assert total["untouched"] == 0 and (t[t.submission == "untouched"].reason != "").all()
    partial = next(k for k in total.index if k.startswith("reference without"))
    last = t.question.iloc[-1]
    assert 0 < total[partial] == full[partial] - t[t.question == last].max_score.iloc[0]


@pytest.fixture(scope="module", params=CHAPTERS)
def chapter_class_set(request, tmp_path_factory):
    """Every chapter's assignment through the command line, once per chapter: two students, the first returns
    the reference, the second the untouched notebook, then the class is graded."""
    chapter = request.param
    tmp_path = tmp_path_factory.mktemp(f"class-{chapter}")
    roster = _roster(tmp_path / "roster.csv", ["s1", "s2"])
    out = tmp_path / "class"
    assigned = cli(["assign", chapter, "--roster", str(roster), "--out", str(out), "--quiet"])
    man = json.loads((out / "manifest.json").read_text())
    secret = solution_lines(nbformat.read(out / "teacher" / "s1" / f"{chapter}.ipynb", as_version=4))
    codes = {sid: _code(nbformat.read(out / "students" / sid / f"{chapter}.ipynb", as_version=4)) for sid in ("s1", "s2")}
    expected = [_hidden_cases(out / "teacher" / sid / "autograder.zip") for sid in ("s1", "s2")]
    shutil.copy(out / "teacher" / "s1" / f"{chapter}.ipynb", out / "submissions" / "s1.ipynb")
    shutil.copy(out / "students" / "s2" / f"{chapter}.ipynb", out / "submissions" / "s2.ipynb")
    graded = cli(["grade", str(out / "submissions"), "--out", str(tmp_path / "scores.csv"), "--quiet",
                  "--jobs", "2"])
    return SimpleNamespace(assigned=assigned, man=man, secret=secret, codes=codes, expected=expected, graded=graded,
                           scores=_scores(tmp_path / "scores.csv"))


@pytest.mark.slow
def test_chapter_class_set_assign_succeeds(chapter_class_set):
    assert chapter_class_set.assigned == 0


@pytest.mark.slow
def test_chapter_class_set_students_get_different_parameters(chapter_class_set):
    students = chapter_class_set.man["students"]
    assert students[0]["params"] != students[1]["params"]


@pytest.mark.slow
def test_chapter_class_set_master_marks_solution_lines(chapter_class_set):
    assert chapter_class_set.secret, "the master marks no solution lines"


@pytest.mark.slow
def test_chapter_class_set_students_notebooks_hold_no_solution(chapter_class_set):
    for code in chapter_class_set.codes.values():
        assert not chapter_class_set.secret & {ln.strip() for ln in code.splitlines()}


@pytest.mark.slow
def test_chapter_class_set_hidden_tests_cover_every_question(chapter_class_set):
    c = chapter_class_set
    assert c.expected[0].keys() == {q["name"] for q in c.man["questions"]}


@pytest.mark.slow
def test_chapter_class_set_hidden_tests_are_recomputed_per_student(chapter_class_set):
    expected = chapter_class_set.expected
    for q, cases in expected[0].items():     # each question's hidden expectations were recomputed per student
        assert cases != expected[1][q], f"question {q}: the hidden tests expect the same for both students"


@pytest.mark.slow
def test_chapter_class_set_grade_succeeds(chapter_class_set):
    assert chapter_class_set.graded == 0


@pytest.mark.slow
def test_chapter_class_set_reference_scores_full_marks(chapter_class_set):
    s, man = chapter_class_set.scores, chapter_class_set.man
    assert all(v[0] == v[1] for v in s["s1"].values()), s["s1"]
    assert sum(v[1] for v in s["s1"].values()) == sum(q["points"] for q in man["questions"])


@pytest.mark.slow
def test_chapter_class_set_untouched_notebook_scores_zero(chapter_class_set):
    s = chapter_class_set.scores
    assert all(v[0] == 0 for v in s["s2"].values()), s["s2"]


def test_book_pages_get_the_exercises(tmp_path):
    """The pipeline appends a chapter's exercises to its page; the students' edition carries no solution."""
    from nasvec.book.site import add_exercises

    root = _toy_root(tmp_path)
    page = tmp_path / "toy.ipynb"
    for student in (False, True):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Toy")]), page)
        add_exercises(page, "toy", root, student=student)
        text = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells)
        assert text.count("{exercise}") == 2 and "## Exercises" in text
        assert ("total += i" in text) is not student and ("{solution}" in text) is not student
    add_exercises(page, "no_assignment", root)               # a chapter without one is left alone
