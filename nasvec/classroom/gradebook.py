"""For the teacher: a class's scores per question, and the gradebook file an LMS imports.

:func:`summary` is what ``nasvec grade`` prints and writes beside the scores (``<scores>-summary.csv``):
per question its pass rate (full marks), mean, the distribution of scores, the most common failure
reason, and how many answers left it unanswered or called its reference. :func:`gradebook` reshapes the
scores to one row per student, one column per question and a total, with the column conventions of
Canvas' gradebook import or Gradescope's grade export. Introduced on the teachers' page of the book.
"""

from __future__ import annotations

from collections import Counter

LMS = ("canvas", "gradescope")


def _distribution(scores) -> str:
    counts = Counter(float(s) for s in scores)
    return ", ".join(f"{s:g}: {counts[s]}" for s in sorted(counts))


def _common(reasons) -> str:
    """The most frequent failure reason (numbers kept: a reason names a case count, not the student)."""
    counts = Counter(r for r in reasons if r)
    if not counts:
        return ""
    text, n = counts.most_common(1)[0]
    return f"{text} ({n}×)"


def summary(table):
    """One row per question: students, max, pass rate, mean, distribution, the most common failure reason,
    not answered, reference calls flagged."""
    import pandas as pd

    rows = []
    for q, t in table.groupby("question", sort=False):
        full = t.score >= t.max_score
        rows.append({"question": q, "students": len(t), "max": float(t.max_score.iloc[0]),
                     "pass rate": round(float(full.mean()), 3), "mean": round(float(t.score.mean()), 3),
                     "distribution": _distribution(t.score),
                     "most common failure": _common(t.reason[~full]),
                     "not answered": int((t.reason == "not answered").sum()),
                     "reference calls": int((t.get("flags", pd.Series("", index=t.index)).fillna("") != "").sum())})
    return pd.DataFrame(rows)


def gradebook(table, chapter: str, lms: str = "canvas"):
    """The scores as an LMS gradebook: one row per student, one column per question and a total.

    ``canvas``: the gradebook import's leading columns (Student, ID, SIS User ID, SIS Login ID, Section;
    the roster's id goes to *SIS User ID*, Canvas' own ID left empty), a *Points Possible* row, then a
    column per question ("<chapter>: <question>") and "<chapter> (total)"; a column Canvas does not know
    becomes a new assignment on import. ``gradescope``: the columns of Gradescope's grade export (Name,
    SID, Email, Total Score, Max Points, Status, then "1: <question> (<points> pts)" per question)."""
    import pandas as pd

    if lms not in LMS:
        from ..errors import ClassroomError

        raise ClassroomError(f"unknown LMS {lms!r}; choose one of {', '.join(LMS)}")
    questions = list(dict.fromkeys(table.question))
    points = table.drop_duplicates("question").set_index("question").max_score
    wide = table.pivot_table(index=["id", "name"], columns="question", values="score", sort=False)[questions]
    wide = wide.reset_index()
    total = wide[questions].sum(axis=1)
    if lms == "canvas":
        out = pd.DataFrame({"Student": wide.name, "ID": "", "SIS User ID": wide.id, "SIS Login ID": "", "Section": ""})
        for q in questions:
            out[f"{chapter}: {q}"] = wide[q]
        out[f"{chapter} (total)"] = total
        possible = {"Student": "Points Possible", **{f"{chapter}: {q}": points[q] for q in questions},
                    f"{chapter} (total)": points.sum()}
        return pd.concat([pd.DataFrame([possible]), out], ignore_index=True)[list(out.columns)].fillna("")
    missing = table.groupby("id", sort=False).reason.apply(lambda r: r.str.startswith("missing").all())
    out = pd.DataFrame({"Name": wide.name, "SID": wide.id, "Email": "", "Total Score": total,
                        "Max Points": points.sum(),
                        "Status": wide.id.map(lambda i: "Missing" if missing[i] else "Graded")})
    for k, q in enumerate(questions, 1):
        out[f"{k}: {q} ({points[q]:.1f} pts)"] = wide[q]
    return out
