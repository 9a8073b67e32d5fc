"""The classroom: assignment masters, nasvec assign, nasvec grade (otter-grader, no Docker).

A toy master (``tests/data/toy_assignment.py``) checks the mechanics fast and on purpose-made bad
submissions; the chapters' own masters are checked end to end by a drill class each (``test_drill_*``:
the reference, every listed shortcut, untouched, renamed, a reference caller, a re-made class set).
``NASVEC_CLASS_SIZE=30`` pads each drill class to 30 students with one student per shortcut (the
issue's class of 30; ``NASVEC_CLASS_BACKEND=ray`` makes the class set on Ray); CI runs the drill with one
notebook per kind of mistake."""

import csv
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasvec.book.cli import main as cli
from nasvec.classroom.assign import make_class, read_roster, solution_lines
from nasvec.classroom.grade import grade_class
from nasvec.classroom.master import draw_variant, exercise_cells, read_master
from nasvec.classroom.drill import class_drill
from nasvec.classroom.gradebook import gradebook, summary
from nasvec.classroom.scan import aliases, asked_names, called, reference_calls, segments, unanswered
from nasvec.classroom.selfcheck import HIDDEN_NOTE, SelfCheck, pack
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
    assert m.points == 4 and m.defaults == {"seed": 0, "n": 5, "scale": 1.0, "probe": 7}
    assert m.secret == ["probe"] and m.public({"seed": 1, "probe": 2}) == {"seed": 1}
    assert m.questions[1].reference == ["math.comb"] and m.questions[0].shortcuts[0]["name"]
    assert all(q.public >= 1 and q.hidden >= 1 for q in m.questions)
    assert "# SOLUTION" not in m.questions[0].solution and "BEGIN SOLUTION" not in m.questions[1].solution
    assert m.questions[0].title == "The sum of squares"


@pytest.mark.parametrize("edit, message", [
    (("seed: {integer: [0, 999999]}\n", ""), "must draw 'seed'"),
    (("n: {integer: [3, 40]}", "n: {normal: [3, 40]}"), "variant 'n'"),
    (("n = 5\n", ""), "not set in the parameters cell"),
    (("name: triangle", "name: square_sum"), "used twice"),
    (("# HIDDEN\ntriangle(n)", "triangle(n)"), "one hidden test case"),
    (("name: triangle\n# points: 2", "name: triangle\n# points: -1"), "'points:' must be"),
    (("# shortcuts:\n#   - name: one short\n#     replace: [[\"range(1, k + 1)\", \"range(1, k)\"]]\n", ""),
     "'shortcuts:' must list at least one"),
    (('[["range(1, k + 1)", "range(1, k)"]]', '[["range(k)", "range(1, k)"]]'), "is not in the question's solution"),
    (("triangle(n), triangle(3 + probe % 50)", "triangle(n)"), "no hidden test case uses a secret variant"),
    (("x = np.random.default_rng(seed)", "x = np.random.default_rng(probe)"), "secret variant 'probe' is used outside"),
    (("import numpy as np\n", "import numpy as np\nfrom math import comb\n"), "the setup imports math.comb, which"),
    (("# reference: [math.comb]", "# reference: [7]"), "'reference:' must list dotted names"),
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


# --------------------------------------------------------------------------- reading a notebook without running it
def _nb(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_segments_cut_at_the_check_cells():
    nb = _nb("import numpy as np", "x = ...", 'grader.check("q1")', "def f(a):\n    ...", "y = f(2)", "grader.check('q2')")
    assert segments(nb) == {"q1": ["import numpy as np", "x = ..."], "q2": ["def f(a):\n    ...", "y = f(2)"]}


def test_unanswered_ignores_blank_lines_and_trailing_spaces():
    assert unanswered(["x = ...  \n\n"], ["x = ..."])
    assert not unanswered(["x = 3"], ["x = ..."])


def test_asked_names_are_the_ellipsis_assignments_and_stub_functions():
    assert asked_names(["def f(a, b):\n    ...\n\nx, y = ...\nz = 3\ndef g():\n    return 1"]) == ["f", "x", "y"]


def test_called_resolves_import_aliases():
    names = aliases(["import nasvec.dnas.gumbel_softmax as g\nfrom nasvec.dnas import gumbel_softmax as nvg\n"
                     "from nasvec.dnas.gumbel_softmax import sample as s\nimport nasvec"])
    got = called(["g.sample(1)", "nvg.expect(2)", "s()", "nasvec.dnas.gumbel_softmax.linear(3)", "len([])"], names)
    assert got == {"nasvec.dnas.gumbel_softmax." + f for f in ("sample", "expect", "linear")} | {"len"}


def test_called_survives_magics_and_syntax_errors():
    assert called(["%timeit f()\nh(1)", "def broken(:"], {}) == {"h"}


def test_reference_calls_names_only_new_calls_of_a_listed_reference():
    received = _nb("from nasvec.data import split as sp", "n = sp(0)\nx = ...", 'grader.check("q")')
    mine = _nb("from nasvec.data import split as sp", "n = sp(0)\nimport nasvec.data.enas as e\nx = e.graph_to_enas(n)",
               'grader.check("q")')
    assert reference_calls(mine, received, "q", ["nasvec.data.enas"]) == ["nasvec.data.enas.graph_to_enas"]
    assert reference_calls(mine, received, "q", ["nasvec.data.split"]) == []      # the question's own given call


def test_segments_join_a_question_checked_twice():
    nb = _nb("def f(x):\n    ...", 'grader.check("q")', "def f(x):\n    return x", "grader.check('q')  # again")
    assert segments(nb) == {"q": ["def f(x):\n    ...", "def f(x):\n    return x"]}


def test_a_name_the_student_defines_is_not_resolved_through_an_import():
    names = aliases(["from scipy.linalg import solve", "def solve(a, b):\n    return a / b"])
    assert "solve" not in names and called(["solve(1, 2)"], names) == {"solve"}


def _env_check(env, blob):
    return SelfCheck(blob).check("q", env)


@pytest.fixture
def toy_blob():
    tests = {"q": {"name": "q", "points": 1, "suites": [{"type": "doctest", "setup": "", "teardown": "",
                                                          "cases": [{"code": ">>> f(2)\n4", "hidden": False}]}]}}
    return pack(tests, {"q": ["f"]})


def test_selfcheck_says_not_answered_for_a_stub(toy_blob):
    def f(x):
        ...
    r = _env_check({"f": f}, toy_blob)
    assert not r.answered and "not answered" in repr(r)


def test_selfcheck_runs_the_public_tests_and_mentions_hidden_ones(toy_blob):
    r = _env_check({"f": lambda x: x * 2}, toy_blob)
    assert r.passed_public and HIDDEN_NOTE in repr(r) and HIDDEN_NOTE in r._repr_html_()


def test_selfcheck_reports_a_wrong_answer_as_failed(toy_blob):
    r = _env_check({"f": lambda x: x + 1}, toy_blob)
    assert r.answered and not r.passed_public and HIDDEN_NOTE in repr(r)


def test_selfcheck_names_an_unknown_question(toy_blob):
    with pytest.raises(KeyError, match="no question 'nope'.*questions: q"):
        SelfCheck(toy_blob).check("nope", {})


# --------------------------------------------------------------------------- the teacher's reports
def _table():
    import pandas as pd

    return pd.DataFrame([
        {"id": "a", "name": "A", "question": "q1", "score": 2.0, "max_score": 2.0, "reason": "", "flags": ""},
        {"id": "a", "name": "A", "question": "q2", "score": 1.0, "max_score": 3.0, "reason": "1 of 2 failed", "flags": ""},
        {"id": "b", "name": "B", "question": "q1", "score": 0.0, "max_score": 2.0, "reason": "not answered", "flags": ""},
        {"id": "b", "name": "B", "question": "q2", "score": 3.0, "max_score": 3.0, "reason": "", "flags": "used x.y"},
    ])


def test_summary_one_row_per_question():
    s = summary(_table()).set_index("question")
    assert s.loc["q1", "pass rate"] == 0.5 and s.loc["q1", "not answered"] == 1 and s.loc["q1", "mean"] == 1.0
    assert s.loc["q2", "distribution"] == "1: 1, 3: 1" and s.loc["q2", "reference calls"] == 1
    assert s.loc["q2", "most common failure"] == "1 of 2 failed (1×)"


def test_gradebook_canvas_columns_and_points_row():
    g = gradebook(_table(), "toy", "canvas")
    assert list(g.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "toy: q1", "toy: q2", "toy (total)"]
    assert g.iloc[0]["Student"] == "Points Possible" and g.iloc[0]["toy (total)"] == 5.0
    assert g.iloc[1:]["SIS User ID"].tolist() == ["a", "b"] and g.iloc[1:]["toy (total)"].tolist() == [3.0, 3.0]


def test_gradebook_gradescope_columns():
    g = gradebook(_table(), "toy", "gradescope")
    assert list(g.columns) == ["Name", "SID", "Email", "Total Score", "Max Points", "Status",
                               "1: q1 (2.0 pts)", "2: q2 (3.0 pts)"]
    assert g["Total Score"].tolist() == [3.0, 3.0] and set(g.Status) == {"Graded"}


def test_gradebook_unknown_lms_named():
    with pytest.raises(ClassroomError, match="unknown LMS 'moodle'"):
        gradebook(_table(), "toy", "moodle")


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
                                                                   "square_sum = float(np.sum(x ** 2) + y)"))
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


def _caller(nb):
    """The notebook whose triangle answer also calls the question's reference, math.comb."""
    return _replace(nb, "    return total", "    import math\n    assert math.comb(k + 1, 2) == total\n    return total")


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
    tampered = _caller(_teacher(cls, "fay"))      # right answers, injected parameters edited, a reference call
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
    assert list(csv.DictReader(open(out)))[0].keys() == {"id", "name", "question", "score", "max_score", "reason", "flags"}


def test_grade_writes_the_per_question_summary_beside_the_scores(toy_grades):
    _, _, out = toy_grades
    rows = list(csv.DictReader(open(out.with_name("scores-summary.csv"))))
    assert [r["question"] for r in rows] == ["square_sum", "triangle"] and rows[0]["students"] == "6"


def test_grade_says_not_answered_for_an_untouched_notebook(toy_grades):
    _, s, _ = toy_grades
    assert all(v[2] == "not answered" for v in s["bob"].values())


def test_grade_flags_a_call_of_the_questions_reference(toy_grades):
    res, _, _ = toy_grades
    t = res["table"].set_index(["id", "question"])
    assert t.loc[("fay", "triangle"), "flags"] == "used math.comb" and t.loc[("fay", "triangle"), "score"] == 2
    assert (t.drop(("fay", "triangle"))["flags"] == "").all()


def test_grade_can_score_a_reference_call_zero(toy_class, tmp_path, capsys):
    sub = tmp_path / "class"
    shutil.copytree(toy_class, sub, ignore=shutil.ignore_patterns("submissions"))
    (sub / "submissions").mkdir()
    _submit(sub, "ann", _caller(_teacher(sub, "ann")))
    gb = tmp_path / "gradebook.csv"
    assert cli(["grade", str(sub / "submissions"), "--out", str(tmp_path / "s.csv"), "--quiet", "--jobs", "2",
                "--reference-calls", "zero", "--gradebook", str(gb), "--lms", "gradescope"]) == 0
    s = _scores(tmp_path / "s.csv")
    assert s["ann"]["triangle"][0] == 0 and "used math.comb" in s["ann"]["triangle"][2]
    assert s["ann"]["square_sum"][0] == 2
    assert list(csv.DictReader(open(gb)))[0]["Total Score"] == "2.0"
    assert "per question:" in capsys.readouterr().out


def test_grade_names_a_missing_secret_file(toy_class, tmp_path):
    sub = tmp_path / "class"
    shutil.copytree(toy_class, sub, ignore=shutil.ignore_patterns("submissions", "secret.json"))
    (sub / "submissions").mkdir()
    with pytest.raises(ClassroomError, match="secret.json is missing.*probe"):
        grade_class(sub / "submissions", tmp_path / "s.csv", progress=False)


def test_grade_refuses_a_gradebook_over_its_own_scores(toy_class, tmp_path):
    with pytest.raises(ClassroomError, match="--gradebook"):
        grade_class(toy_class / "submissions", tmp_path / "s.csv", gradebook_csv=tmp_path / "s-summary.csv",
                    progress=False)
    assert not (tmp_path / "s.csv").exists()


def test_assign_force_keeps_the_class_secret(tmp_path):
    root, roster = _toy_root(tmp_path / "root"), _roster(tmp_path / "r.csv", ["s1"])
    first = make_class("toy", roster, tmp_path / "c", root=root, progress=False)
    again = make_class("toy", roster, tmp_path / "c", root=root, progress=False, force=True)
    assert first["students"][0]["params"] == again["students"][0]["params"]


def test_secret_kept_in_the_teachers_folder_only(toy_class, layout):
    man, ids, _, notebooks = layout
    secret = json.loads((toy_class / "teacher" / "secret.json").read_text())
    assert secret["salt"] == "test" and secret["salt_given"] and set(secret["secret_variants"]) == set(ids)
    assert "salt" not in man and all("probe" not in st["params"] for st in man["students"])


def test_students_notebooks_hold_no_secret_variant(toy_class, layout):
    _, ids, _, _ = layout
    secret = json.loads((toy_class / "teacher" / "secret.json").read_text())["secret_variants"]
    for sid in ids:
        text = (toy_class / "students" / sid / "toy.ipynb").read_text()
        assert "probe" not in text and str(secret[sid]["probe"]) not in text


def test_students_notebooks_hold_no_machine_path(toy_class, layout):
    _, ids, _, _ = layout
    for sid in ids:
        assert str(toy_class.parent) not in (toy_class / "students" / sid / "toy.ipynb").read_text()


def test_assign_draws_a_new_secret_each_time_and_prints_no_kernel_noise(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("NASVEC_ROOT", str(_toy_root(tmp_path / "root")))
    roster = _roster(tmp_path / "r.csv", ["s1"])
    salts = []
    for k in range(2):
        assert cli(["assign", "toy", "--roster", str(roster), "--out", str(tmp_path / f"c{k}"), "--quiet"]) == 0
        salts.append(json.loads((tmp_path / f"c{k}" / "teacher" / "secret.json").read_text())["salt"])
    out = capfd.readouterr()
    assert salts[0] != salts[1]
    assert "KeyboardInterrupt" not in out.out + out.err


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
    mine = tmp_path / "work"                  # this grading's kernels, told apart from any other test's by their folder
    mine.mkdir()
    kernels = lambda: {p.pid for p in psutil.process_iter(["cmdline"])  # noqa: E731
                       if "ipykernel_launcher" in " ".join(c := p.info["cmdline"] or []) and str(mine) in " ".join(c)}
    before = kernels()
    out = tmp_path / "scores.csv"
    grade_class(sub / "submissions", out, cell_timeout=4, timeout=40, jobs=2, progress=False, workdir=mine)
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


# --------------------------------------------------------------------------- the chapters' assignments: a drill class each
CLASS_SIZE = int(os.environ.get("NASVEC_CLASS_SIZE", "0")) or None


@pytest.fixture(scope="module", params=CHAPTERS)
def drill(request, tmp_path_factory):
    """Every chapter's drill class (:func:`nasvec.classroom.drill.class_drill`): one student per kind of mistake
    (each master's shortcuts, a reference caller, untouched, renamed, the reference), graded; with
    ``NASVEC_CLASS_SIZE=30`` one student per shortcut and reference call, padded to 30."""
    d = class_drill(request.param, tmp_path_factory.mktemp(f"drill-{request.param}"), size=CLASS_SIZE,
                    combine=CLASS_SIZE is None, jobs=2, backend=os.environ.get("NASVEC_CLASS_BACKEND"))
    d["by"] = {k: d["scores"][d["scores"].kind == k] for k in ("reference", "untouched", "renamed", "shortcut", "caller")}
    if os.environ.get("NASVEC_CLASS_OUT"):          # keep the class's tables (the closing note of issue 30 quotes them)
        out = Path(os.environ["NASVEC_CLASS_OUT"]) / request.param
        out.mkdir(parents=True, exist_ok=True)
        d["scores"].to_csv(out / "scores.csv", index=False)
        d["summary"].to_csv(out / "summary.csv", index=False)
        (out / "times.json").write_text(json.dumps({k: d[k] for k in ("n", "assign_s", "grade_s", "rerun_differs")}))
    return d


@pytest.mark.slow
def test_drill_reference_scores_full_marks(drill):
    t = drill["scores"][drill["scores"].kind.isin(["reference", "renamed"])]
    assert len(t) and (t.score == t.max_score).all(), t[t.score < t.max_score][["id", "question", "reason"]].to_string()


@pytest.mark.slow
def test_drill_untouched_notebook_is_not_answered(drill):
    t = drill["by"]["untouched"]
    assert (t.score == 0).all() and (t.reason == "not answered").all(), t[["question", "score", "reason"]].to_string()


@pytest.mark.slow
def test_drill_each_shortcut_loses_points_on_its_question(drill):
    t = drill["by"]["shortcut"]
    hit = t[t.edit != ""]
    assert len(hit) == sum(len(p["edits"]) for p in drill["plan"].values() if p["kind"] == "shortcut") > 0
    kept = hit[hit.score >= hit.max_score]
    assert kept.empty, f"shortcuts scoring full marks: {kept[['question', 'edit']].values.tolist()}"


@pytest.mark.slow
def test_drill_reference_calls_are_flagged_on_their_question(drill):
    t = drill["scores"]
    hit = t[t.call != ""] if (t.call != "").any() else t[(t.kind == "caller") & (t.edit != "")].assign(call=lambda d: d.edit)
    assert all(c in f for c, f in zip(hit.call, hit["flags"])), hit[["question", "call", "flags"]].to_string()


@pytest.mark.slow
def test_drill_nothing_else_is_flagged(drill):
    t = drill["scores"]
    assert (t[(t.call == "") & (t.kind != "caller")]["flags"] == "").all()


@pytest.mark.slow
def test_drill_renamed_notebook_self_checks_and_scores_full_marks(drill):
    t = drill["by"]["renamed"]
    assert (t.score == t.max_score).all()
    assert drill["selfcheck"].keys() == set(t.question)
    assert all("hidden tests also grade" in text for text in drill["selfcheck"].values()), drill["selfcheck"]


@pytest.mark.slow
def test_drill_class_set_remade_without_the_secret_has_other_hidden_tests(drill):
    assert drill["rerun_differs"].keys() == set(drill["scores"].question)      # every question has hidden tests
    assert all(drill["rerun_differs"].values()), drill["rerun_differs"]


@pytest.mark.slow
def test_drill_summary_counts_every_student(drill):
    s = drill["summary"]
    assert (s.students == drill["n"]).all() and (s["not answered"] >= 1).all()


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
