# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # For teachers: assignments and grading
#
# Every chapter of this book ends with exercises. They are also an **assignment**: a notebook in
# `assignments/<chapter>.py` that a teacher hands out, one variant per student, and grades with
# [otter-grader](https://otter-grader.readthedocs.io) (version 7, locally, without Docker). Two
# commands go from this repository to scores:
#
# ```bash
# nasvec assign gumbel --roster roster.csv --out class/     # one notebook per student
# nasvec grade class/submissions --out scores.csv           # one row per student and question
# ```
#
# This page makes a *drill* class of one chapter and grades it, so that every number below comes
# from this run of the book: one student returns the reference solution, one the untouched
# notebook, one renames their notebook, one takes each shortcut the assignment lists, one calls the
# package's reference functions instead of answering; what the folders hold, what each scores, the
# grader's per-question summary, and how long it all takes.

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
chapter = "gumbel"         # the chapter whose class set this page makes and grades
class_size = None          # None: one student per kind of submission; a number: that many (the rest return the reference)
time_masters = True        # time one run of every chapter's assignment (reference solutions)

# %%
from nasvec.book import Report
from nasvec.classroom import page as classroom

rep = Report("teaching")

# %% [markdown]
# ## The assignments
#
# One per chapter, two to four questions each. Each student gets their own **parameters** (always a
# seed; where it matters, their own data subset or problem instance), drawn from the student's id, the
# chapter and the class's **secret**, so that answers cannot simply be copied. The questions ask the
# student to implement a piece that `nasvec` provides, to change a parameter and report its effect,
# or to test a claim of the papers. Every question lists at least one **shortcut** (a plausible wrong
# answer; the book's tests check that each loses points) and the **reference functions** that answer
# it (an answer calling one is flagged).

# %%
rep.table(classroom.assignments_table(), "assignments")

# %% [markdown]
# ## Making a class set
#
# The roster is a CSV file with the columns `id` and `name` (other columns are ignored; an id is
# used as a file name). For every student, `nasvec assign`
#
# 1. draws the class's secret (at random, unless `--salt` asks for a reproducible class set) and from it
#    each student's parameters, public ones and **secret** ones (the hidden tests' inputs), and injects
#    them into the assignment's master notebook (papermill, prepare-only);
# 2. executes the master with the reference solutions, so that **every hidden test's expected output
#    is recomputed for that student's parameters**;
# 3. runs `otter assign` on the executed copy: the student's notebook (solutions replaced by `...`,
#    public tests kept for `grader.check`) and the autograder with the hidden tests;
# 4. checks that no line of a solution and no secret variant reached the student's notebook, and
#    gives the student's notebook a self-check (`grader.check`) that carries its public tests.
#
# The master (solutions and hidden tests included) is public, in this repository; without the
# class's secret, a student who runs `nasvec assign` on it gets other hidden tests than the class's.
#
# The class folder (built next to its final place and moved there at the end):

# %%
demo = classroom.demo_class(chapter, class_size)
print(f"nasvec assign {chapter} --roster roster.csv --out class/   ->   class/")
print(classroom.listing(demo))

# %% [markdown]
# `students/<id>/` is what each student receives; `teacher/` holds each variant's executed reference
# and autograder, and `secret.json` the class's secret and each student's secret variants (never hand
# it out); `manifest.json` records the chapter, the questions and every student's public parameters.
# The first students of this class got these:

# %%
rep.table(classroom.params_table(demo), "parameters")

# %% [markdown]
# Students need the book's environment (`make test` or `pip install -e '.[book]'` creates it; it
# includes otter-grader), open their notebook, write their answers where it says `...`, run
# `grader.check("name")` to see the public tests, and return the notebook. The self-check works
# whatever the notebook is called and wherever it is; it says "not answered" until the question's
# names are defined, and ends every report with a reminder that hidden tests also grade the question.
# Here is what the student who renamed their notebook (to `<id> my work.ipynb`) saw:

# %%
rep.table(classroom.selfcheck_table(demo), "selfcheck")

# %% [markdown]
# ## Grading
#
# Put the returned notebooks in `class/submissions/` as `<id>.ipynb` (or `<id>/<anything>.ipynb`)
# and run `nasvec grade class/submissions --out scores.csv`. For each student the grader puts the
# student's own parameters back (whatever the student did to them), adds a first cell that stops any
# cell running longer than `--cell-timeout` seconds (default 120), and runs `otter run` with that
# student's autograder in a process of its own, stopped after `--timeout` seconds (default 900). A
# question's points are split over its test cases. A missing or unreadable notebook, a kernel that
# dies, a cell that loops: each scores zero for what it did not answer, with the reason in the
# `reason` column, and the grading of the others goes on. Files in `submissions/` that match no
# student are listed and ignored. Two things are read from the notebook itself: an answer left as
# received is "not answered" (zero), and a call of a question's reference function is named in the
# `flags` column (`--reference-calls zero` also takes the question's points; the default only flags).
#
# The class's submissions, graded (one row per kind; `students` counts the identical ones, `flagged` the
# questions whose answer called a reference):

# %%
rep.table(classroom.scores_table(demo), "scores", float_format="%.2f")

# %% [markdown]
# Each shortcut the assignment lists, taken by a student, and what the question then scored:

# %%
rep.table(classroom.shortcuts_table(demo), "shortcuts", float_format="%.2f")

# %% [markdown]
# `nasvec grade` prints and writes (`scores-summary.csv`) the **per-question summary**: the share of
# students with full marks, the mean, the distribution of scores (score: students), the most common
# failure reason, how many left the question unanswered and how many answers called its reference
# (one column per question here):

# %%
rep.table(classroom.summary_table(demo), "summary")

# %% [markdown]
# Where points were lost, the grader's reasons (in `scores.csv`, one row per student and question),
# counted:

# %%
rep.table(classroom.reasons_table(demo), "reasons")

# %% [markdown]
# `--gradebook gradebook.csv --lms canvas` writes the scores in the shape Canvas' gradebook import
# reads (one row per student, a column per question and the total, a *Points Possible* row; the
# roster's id as *SIS User ID*); `--lms gradescope` uses the columns of Gradescope's grade export.
# The first rows of this class's, one column per row of the file:

# %%
rep.table(classroom.gradebook_table(demo), "gradebook")

# %% [markdown]
# ## How long it takes
#
# Making a class set executes each student's variant once; grading executes each submission once
# more, plus otter's own start-up (a kernel, the tests). Both are per student, and can be spread
# over cores or a Ray cluster with `--backend ray --workers N`. Measured here:

# %%
times = classroom.times_table(demo, time_masters)
rep.table(times, "times_timing", float_format="%.1f")
rep.note(classroom.times_sentence(demo, class_size=30))

# %% [markdown]
# ## The students' edition of the book
#
# `make book STUDENT=1` (or `nasvec book --student`) builds the same book with the exercises and
# without any solution; the default build shows each solution folded under its exercise.
#
# ## Writing or changing an assignment
#
# `assignments/README.md` gives the format: otter-grader's master notebook (questions, solutions,
# public and hidden tests) plus a `# STUDENT VARIANTS` cell that says how each student's parameters
# are drawn, and per question its `reference:` functions and `shortcuts:`. `nasvec assign` refuses a
# master whose question has no hidden test, no shortcut, no hidden test using a secret variant, a
# setup that imports a reference, or whose solution would leak into the students' notebooks, and
# names the file and the question.
