"""The student notebook's ``grader``: a question's public checks, wherever the notebook lives.

``nasvec assign`` replaces otter's ``grader = otter.Notebook("<chapter>.ipynb")`` (which reads the tests
from the notebook's file, and fails once the student renames it) with a :class:`SelfCheck` that carries
the student's public test cases in the cell itself. ``grader.check("q")``

* says "not answered" while every name the question asks for is still ``...`` (or a function whose body
  is ``...``), instead of an exception from inside a test;
* otherwise runs the public cases with otter-grader and ends with a line saying that hidden tests also
  grade the question (passing the public checks is no promise of full marks);
* under ``otter run`` (grading) hands the call to otter, so grading is what it always was.

Introduced on the teachers' page of the book.
"""

from __future__ import annotations

import base64
import inspect
import json
import zlib

HIDDEN_NOTE = ("Only the public checks ran here: hidden tests also grade this question, "
               "so passing them does not promise full marks.")


def pack(tests: dict, answers: dict) -> str:
    """The blob :class:`SelfCheck` reads: public OK-format tests and the names each question asks for."""
    raw = json.dumps({"tests": tests, "answers": answers}, sort_keys=True).encode()
    return base64.b64encode(zlib.compress(raw, 9)).decode()


def unpack(blob: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(blob)))


def _stub(value) -> bool:
    """``...`` or a function whose body does nothing (otter's ``def f(x): ...``)."""
    if value is Ellipsis:
        return True
    code = getattr(value, "__code__", None)
    return code is not None and code.co_code == (lambda: None).__code__.co_code and not code.co_names


class Result:
    """A check's outcome as the notebook shows it: otter's report plus the note on hidden tests."""

    def __init__(self, question: str, test=None, message: str = ""):
        self.question, self.test, self.message = question, test, message

    @property
    def answered(self) -> bool:
        return self.test is not None

    @property
    def passed_public(self) -> bool:
        return self.test is not None and self.test.passed_all

    def __repr__(self) -> str:
        if self.test is None:
            return self.message
        return f"{self.test.summary()}\n{HIDDEN_NOTE}"

    def _repr_html_(self) -> str:
        if self.test is None:
            return f"<p><strong>{self.question}</strong>: {self.message}</p>"
        return f"{self.test._repr_html_()}<p><em>{HIDDEN_NOTE}</em></p>"


class SelfCheck:
    """``grader`` in a student's notebook (see the module's docstring)."""

    def __init__(self, blob: str):
        data = unpack(blob)
        self.tests, self.answers = data["tests"], data["answers"]

    def check(self, question: str, global_env: dict | None = None):
        import otter
        from otter.test_files.ok_test import OKTestFile

        env = global_env if global_env is not None else inspect.currentframe().f_back.f_globals
        if getattr(otter.Notebook, "_grading_mode", False):          # otter run: grade as otter does
            return otter.Notebook().check(question, env)
        if question not in self.tests:
            raise KeyError(f"no question {question!r} in this assignment; questions: {', '.join(self.tests)}")
        names = self.answers.get(question, [])
        if names and all(_stub(env.get(n, Ellipsis)) for n in names):
            return Result(question, message=f"not answered yet: define {', '.join(names)} (the cells above "
                                            "still hold `...`), then run this check again.")
        test = OKTestFile.from_spec(self.tests[question], path=question)
        test.run(env)
        return Result(question, test)

    def check_all(self):
        env = inspect.currentframe().f_back.f_globals
        return [self.check(q, env) for q in self.tests]
