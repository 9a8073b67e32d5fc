"""The ``nasvec`` command line.

* ``nasvec book --profile quick|standard|paper [--only CH] [--force] [--backend ray] [--workers N]`` builds the book;
* ``nasvec edition status|update|html|pdf`` — the published edition in ``editions/standard/``
  (:mod:`nasvec.book.edition`): which chapters are fresh, re-executing the stale ones, the HTML book and
  the PDF made from it without executing anything;
* ``nasvec assign CHAPTER --roster roster.csv --out DIR`` makes a class set of a chapter's
  assignment, one variant per student (:mod:`nasvec.classroom.assign`);
* ``nasvec grade DIR/submissions --out scores.csv`` grades the returned notebooks
  (:mod:`nasvec.classroom.grade`);
* ``nasvec converge MODEL [settings]`` trains one of chapter 2's compressors until its reconstruction of a
  validation split (carved from the training split) stops improving and ships it in ``checkpoints/compression/<name>/``
  (:func:`nasvec.compress.shipped.converge`); run again, it resumes an unfinished training.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nasvec", description="Build and run the nasvec book.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("book", help="execute the chapter notebooks (cached) and build the HTML book")
    b.add_argument("--profile", default="quick", help="profile name: a file profiles/<name>.yml (default: quick)")
    b.add_argument("--only", action="append", metavar="CHAPTER",
                   help="execute only this chapter (notebook stem); may be repeated or comma-separated")
    b.add_argument("--force", action="store_true", help="re-execute even if cached, and retrain cached models")
    b.add_argument("--no-html", action="store_true", help="execute the notebooks but skip jupyter-book")
    b.add_argument("--root", type=Path, default=None, help="the book's root folder (default: found from here)")
    b.add_argument("--backend", choices=("serial", "ray"), default=None,
                   help="where the chapters' many independent runs go (nasvec.parallel; default: serial, or "
                        "NASVEC_BACKEND); ray uses RAY_ADDRESS's cluster if set, else this machine")
    b.add_argument("--workers", type=int, default=None, help="Ray workers on this machine (default: all CPUs)")
    b.add_argument("--student", action="store_true", help="the students' edition: exercises without solutions")
    _edition_parser(sub)
    _converge_parser(sub)
    _classroom_parsers(sub)
    args = parser.parse_args(argv)
    if args.command == "edition":
        return _edition(args)
    if args.command == "converge":
        return _converge(args)
    if args.command in ("assign", "grade"):
        return _classroom(args)

    from ..errors import BookError
    from .site import build

    only = [c for arg in args.only or [] for c in arg.split(",") if c] or None
    if not _use_backend("book", args):
        return 2
    try:
        build(args.root, args.profile, only, args.force, html=not args.no_html, student=args.student)
    except BookError as err:
        print(f"nasvec book: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasvec book: interrupted; finished chapters are kept, re-run to resume", file=sys.stderr)
        return 130
    return 0



def _use_backend(command: str, args) -> bool:
    """Check ``--workers`` and export ``--backend``/``--workers`` (the notebooks' kernels inherit them;
    :mod:`nasvec.parallel` reads them); ``False`` after printing the error."""
    if args.workers is not None and args.workers < 1:
        print(f"nasvec {command}: error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return False
    for name, value in (("NASVEC_BACKEND", args.backend), ("NASVEC_WORKERS", args.workers)):
        if value is not None:
            os.environ[name] = str(value)
    return True


# --------------------------------------------------------------------------- nasvec edition
def _edition_parser(sub) -> None:
    e = sub.add_parser("edition", help="the published edition (editions/standard/): status, update, html, pdf")
    e.add_argument("action", choices=("status", "update", "html", "pdf"),
                   help="status: fresh or stale per chapter; update: re-execute the stale chapters; html: render "
                        "the edition to _build/edition/ (nothing executed); pdf: print it to one PDF")
    e.add_argument("--profile", default="standard", help="the edition's profile (default: standard)")
    e.add_argument("--only", action="append", metavar="CHAPTER", help="only this chapter (repeat or comma-separate)")
    e.add_argument("--force", action="store_true", help="update: re-execute fresh chapters too")
    e.add_argument("--backend", choices=("serial", "ray"), default=None, help="update: where the many runs go")
    e.add_argument("--workers", type=int, default=None, help="update: Ray workers on this machine")
    e.add_argument("--root", type=Path, default=None, help="the book's root folder (default: found from here)")


def _edition(args) -> int:
    from ..errors import BookError
    from . import edition

    only = [c for arg in args.only or [] for c in arg.split(",") if c] or None
    if args.action != "update" and (args.force or args.backend or args.workers):
        print(f"nasvec edition {args.action}: error: --force, --backend and --workers are options of update",
              file=sys.stderr)
        return 2
    if not _use_backend("edition", args):
        return 2
    try:
        if args.action == "status":
            states = edition.status(args.root, args.profile, only)
            for st in states:
                print(st.line())
            counts = {s: sum(st.state == s for st in states) for s in ("fresh", "stale", "missing", "altered")}
            print(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" (of {len(states)} chapters)")
        elif args.action == "update":
            t0 = time.perf_counter()
            states = edition.update(args.root, args.profile, only, args.force)
            print(f"edition updated in {time.perf_counter() - t0:,.0f} s: "
                  + ", ".join(f"{st.name} {st.state}" for st in states))
        elif args.action == "html":
            edition.render(args.root, args.profile)
        else:
            edition.print_pdf(args.root, args.profile)
    except BookError as err:
        print(f"nasvec edition {args.action}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasvec edition: interrupted; the chapters published so far are kept", file=sys.stderr)
        return 130
    return 0


# --------------------------------------------------------------------------- nasvec converge
_SETTINGS = {  # option -> (CompressorConfig or ConvergeConfig field, type)
    "latent": ("latent_dim", int), "hidden": ("hidden", int), "lr": ("lr", float), "batch_size": ("batch_size", int),
    "beta": ("beta", float), "seed": ("seed", int), "max_epochs": ("max_epochs", int),
    "eval_every": ("eval_every", int), "eval_decodes": ("eval_decodes", int), "patience": ("patience", int),
    "min_delta": ("min_delta", float), "validation": ("validation", float), "validation_seed": ("validation_seed", int)}


def _converge_parser(sub) -> None:
    c = sub.add_parser("converge", help="train a chapter-2 compressor to convergence and ship its checkpoint")
    c.add_argument("model", help="compressor key: ae, vae, seq2seq, split, pernode, dvae, dvae_emb")
    c.add_argument("--name", default=None, help="folder under checkpoints/compression/ (default: the model key)")
    c.add_argument("--out", type=Path, default=None, help="write here instead (tests, experiments)")
    for opt, (_, typ) in _SETTINGS.items():
        c.add_argument("--" + opt.replace("_", "-"), type=typ, default=None)
    c.add_argument("--generated", type=int, default=0, help="train on this many generated ENAS graphs (no data files)")
    c.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    c.add_argument("--quiet", action="store_true")


def _converge(args) -> int:
    import torch

    from ..compress.base import VAETraining
    from ..compress.registry import CompressorConfig
    from ..compress.shipped import ConvergeConfig, converge, shipped_dir
    from ..data.enas import ENAS_TYPES
    from ..errors import NasvecError
    from ..experiments.compression import architectures

    given = {opt: getattr(args, opt) for opt in _SETTINGS if getattr(args, opt) is not None}
    command = " ".join(["nasvec converge", args.model] + (["--name", args.name] if args.name else []) +
                       [f"--{k.replace('_', '-')} {v}" for k, v in given.items()] +
                       ([f"--generated {args.generated}"] if args.generated else []) + [f"--threads {args.threads}"])
    try:
        conv_keys = {f for f in ConvergeConfig.__dataclass_fields__}
        conv = ConvergeConfig.from_dict({k: v for k, v in given.items() if k in conv_keys})
        comp = {_SETTINGS[k][0]: v for k, v in given.items() if k not in conv_keys and k != "hidden"}
        training = {k: comp.pop(k) for k in list(comp) if k in VAETraining.__dataclass_fields__}
        kwargs = {"hidden": given["hidden"]} if "hidden" in given else {}
        cfg = CompressorConfig.from_dict({"latent_dim": 56, **comp}, model=args.model, kwargs=kwargs,
                                         training={"lr": 1e-4, **training, "epochs": conv.max_epochs})
        torch.set_num_threads(args.threads)
        arch = architectures(real_data=not args.generated, n_generated=args.generated or 1000)
        out = args.out or shipped_dir(args.name or args.model)
        print(f"{command}\n-> {out}", flush=True)
        prov = converge(cfg, conv, arch.train, ENAS_TYPES, out, command, progress=not args.quiet,
                        log=lambda line: print(line, flush=True))
    except NasvecError as err:
        print(f"nasvec converge: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasvec converge: interrupted; run the same command again to resume from the last evaluation",
              file=sys.stderr)
        return 130
    e = prov["final_eval"]
    print(f"shipped {out}: {prov['epochs']} epochs, {prov['seconds']:.0f} s, validation per graph "
          f"{100 * e['per_graph']:.2f} % ({prov['validation']['n_validation']} of the training split's graphs)")
    return 0


# --------------------------------------------------------------------------- nasvec assign / grade
def _classroom_parsers(sub) -> None:
    a = sub.add_parser("assign", help="make a class set of a chapter's assignment, one variant per student")
    a.add_argument("chapter", help="chapter (notebook stem) with an assignments/<chapter>.py master")
    a.add_argument("--roster", type=Path, required=True, help="CSV with the columns id,name")
    a.add_argument("--out", type=Path, required=True, help="the class folder to create")
    a.add_argument("--salt", default=None, help="the class's secret, for a reproducible class set (default: drawn at "
                   "random); either way it is kept only in OUT/teacher/secret.json")
    a.add_argument("--force", action="store_true", help="replace --out if it exists")
    a.add_argument("--timeout", type=int, default=600, help="seconds one reference solution may run (default 600)")
    g = sub.add_parser("grade", help="grade the returned notebooks of a class set with otter-grader")
    g.add_argument("submissions", type=Path, help="the class folder's submissions/ (<id>.ipynb each)")
    g.add_argument("--out", type=Path, required=True, help="scores CSV: one row per student and question")
    g.add_argument("--class-dir", type=Path, default=None, help="the class folder (default: SUBMISSIONS/..)")
    g.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run (default 120)")
    g.add_argument("--timeout", type=int, default=900, help="seconds one notebook may run (default 900)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at once on this machine (default 1)")
    g.add_argument("--reference-calls", choices=("flag", "zero"), default="flag",
                   help="an answer calling the question's reference function: flagged (default) or scored zero")
    g.add_argument("--gradebook", type=Path, default=None, help="also write the LMS gradebook CSV here")
    g.add_argument("--lms", choices=("canvas", "gradescope"), default="canvas", help="the gradebook's columns")
    for p in (a, g):
        p.add_argument("--backend", choices=("serial", "ray"), default=None, help="where the students' runs go")
        p.add_argument("--workers", type=int, default=None, help="Ray workers on this machine (default: all CPUs)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")


def _classroom(args) -> int:
    import time

    from ..errors import NasvecError

    t0 = time.perf_counter()
    try:
        if args.command == "assign":
            from ..classroom.assign import make_class

            m = make_class(args.chapter, args.roster, args.out, salt=args.salt, force=args.force,
                           timeout=args.timeout, backend=args.backend, workers=args.workers, progress=not args.quiet)
            n = len(m["students"])
            print(f"class set of {args.chapter!r}: {n} students, {len(m['questions'])} questions, "
                  f"{time.perf_counter() - t0:.1f} s -> {args.out}\nhand out {args.out}/students/<id>/; "
                  f"put the returned notebooks in {args.out}/submissions/ as <id>.ipynb")
            return 0
        from ..classroom.grade import grade_class

        res = grade_class(args.submissions, args.out, class_dir=args.class_dir, cell_timeout=args.cell_timeout,
                          timeout=args.timeout, jobs=args.jobs, backend=args.backend, workers=args.workers,
                          progress=not args.quiet, reference_calls=args.reference_calls, gradebook_csv=args.gradebook,
                          lms=args.lms)
    except NasvecError as err:
        print(f"nasvec {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nasvec {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    import pandas as pd

    t = res["table"]
    totals = t.groupby("id", sort=False)[["score", "max_score"]].sum()
    for sid, row in totals.iterrows():
        print(f"{sid}: {row['score']:g} / {row['max_score']:g}")
    if res["ignored"]:
        print(f"ignored (no student with that id): {', '.join(res['ignored'])}")
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print("\nper question:\n" + res["summary"].to_string(index=False))
    print(f"\ngraded {len(totals)} submissions of {res['chapter']!r} in {time.perf_counter() - t0:.1f} s -> "
          + ", ".join(str(p) for p in res["written"].values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
