"""The book pipeline: profiles, notebook execution with a cache, the Jupyter Book build.

``nasvec book --profile quick`` reads the chapter list from ``_toc.yml``,
executes each chapter notebook with papermill using the profile's parameters
(unless an up-to-date executed copy exists); :mod:`nasvec.book.site` then assembles
the executed copies and the narrative pages in ``_build/site`` and runs
``jupyter-book build -W -n --keep-going`` on it with execution off. The HTML lands
in ``_build/html``.

A notebook is re-executed only when its source, its parameters, the ``nasvec``
source or one of the input files it read (recorded through
:func:`nasvec.utils.record_input`) changed. Every output is written atomically,
so a build killed half-way resumes where it stopped.

The profiles are read by :mod:`nasvec.book.profiles`. A chapter gets the parameters its profile
sets for it and the profile's ``shared`` parameters its ``parameters`` cell defines; the profile's
name reaches a notebook once, as its ``profile`` parameter.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..cache import fingerprint
from ..errors import BookError
from ..utils import atomic_copy, atomic_write, repo_root, sha256_file
from .profiles import Profile, load_profile


# --------------------------------------------------------------------------- chapters
@dataclass
class Chapter:
    name: str          # notebook stem, e.g. "datasets"
    docname: str       # toc entry, e.g. "notebooks/datasets"
    source: Path       # notebooks/datasets.ipynb
    parameters: dict = field(default_factory=dict)


def _toc_files(entry) -> list[str]:
    out = []
    if isinstance(entry, dict):
        if "file" in entry:
            out.append(entry["file"])
        for key in ("root", "chapters", "sections", "parts"):
            if key in entry:
                val = entry[key]
                out += [val] if isinstance(val, str) else _toc_files(val)
    elif isinstance(entry, list):
        for item in entry:
            out += _toc_files(item)
    return out


def read_toc(root: Path) -> list[str]:
    """All document names in ``_toc.yml``, in reading order."""
    path = root / "_toc.yml"
    if not path.is_file():
        raise BookError(f"no _toc.yml in {root}")
    return _toc_files(yaml.safe_load(path.read_text()))


def notebook_parameters(path: Path) -> dict:
    """The names and default values defined in a notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise BookError(f"{path}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    import papermill

    return {name: spec["default"] for name, spec in papermill.inspect_notebook(str(path)).items()}


def chapters(root: Path, profile: Profile, only: list[str] | None = None) -> list[Chapter]:
    """The chapter notebooks of the toc with the profile's parameters, validated before anything runs."""
    docs = read_toc(root)
    found = []
    for doc in docs:
        src = root / f"{doc}.ipynb"
        if src.is_file():
            found.append(Chapter(Path(doc).name, doc, src))
        elif not any((root / f"{doc}{ext}").is_file() for ext in (".md", ".ipynb", ".rst")):
            raise BookError(f"_toc.yml lists {doc!r} but neither {doc}.md nor {doc}.ipynb exists")
    names = {c.name for c in found}
    unknown = set(profile.notebooks) - names
    if unknown:
        raise BookError(f"profile {profile.name!r} ({profile.path}) sets parameters for "
                        f"{sorted(unknown)}, which are not chapter notebooks in _toc.yml "
                        f"(chapters: {sorted(names)})")
    unused = set(profile.shared)
    for ch in found:
        defined = notebook_parameters(ch.source)
        if "profile" not in defined:
            raise BookError(f"{ch.source}: the parameters cell must define 'profile'")
        given = profile.notebooks.get(ch.name, {})
        bad = sorted(set(given) - set(defined))
        if bad:
            raise BookError(f"profile {profile.name!r} sets {bad} for notebook {ch.source.name}, whose "
                            f"parameters cell defines only {sorted(defined)}")
        twice = sorted(set(given) & set(profile.shared))
        if twice:
            raise BookError(f"profile {profile.name!r} sets {twice} both in 'shared' and for notebook "
                            f"{ch.source.name}; set it once")
        shared = {k: v for k, v in profile.shared.items() if k in defined}
        unused -= set(shared)
        ch.parameters = {**shared, **given, "profile": profile.name}
    if unused:
        raise BookError(f"profile {profile.name!r} shares {sorted(unused)}, which no chapter's parameters cell defines")
    if only:
        missing = sorted(set(only) - names)
        if missing:
            raise BookError(f"--only {', '.join(missing)}: no such chapter; chapters: {', '.join(sorted(names))}")
        found = [c for c in found if c.name in only]
    return found


# --------------------------------------------------------------------------- cache
def package_hash(pkg: Path | None = None) -> str:
    """Fingerprint of every ``.py`` file of the ``nasvec`` package (or of the folder ``pkg``)."""
    pkg = Path(pkg) if pkg is not None else Path(__file__).resolve().parent.parent
    return fingerprint({str(p.relative_to(pkg)): p for p in sorted(pkg.rglob("*.py"))}, length=64)


def notebook_hash(path: Path) -> str:
    """Fingerprint of a notebook's cells (type and source), ignoring outputs and metadata."""
    nb = json.loads(path.read_text())
    return fingerprint([(c.get("cell_type"), "".join(c.get("source", ""))) for c in nb.get("cells", [])], length=64)


def cache_key(ch: Chapter, pkg_hash: str) -> str:
    return fingerprint({"notebook": notebook_hash(ch.source), "parameters": ch.parameters,
                        "nasvec": pkg_hash, "python": sys.version.split()[0]}, length=64)


def _inputs_unchanged(inputs: dict) -> bool:
    for path, digest in inputs.items():
        p = Path(path)
        if not p.is_file() or fingerprint(p, length=64) != digest:
            return False
    return True


class Paths:
    def __init__(self, root: Path, profile: str):
        self.root = root
        self.build = root / "_build"
        self.executed = self.build / "executed" / profile
        self.site = self.build / "site"
        self.html = self.build / "html"

    def executed_nb(self, ch: Chapter) -> Path:
        return self.executed / f"{ch.docname}.ipynb"

    def stamp(self, ch: Chapter) -> Path:
        return self.executed / f"{ch.docname}.stamp.json"

    def outputs(self, ch: Chapter) -> list[Path]:
        return [self.root / "book" / kind / ch.name for kind in ("figures", "tables")]

    def saved_outputs(self, ch: Chapter) -> Path:
        return self.executed / "outputs" / ch.name


def is_fresh(ch: Chapter, paths: Paths, key: str) -> bool:
    stamp, out = paths.stamp(ch), paths.executed_nb(ch)
    if not (stamp.is_file() and out.is_file()):
        return False
    try:
        data = json.loads(stamp.read_text())
    except json.JSONDecodeError:
        return False
    return data.get("key") == key and _inputs_unchanged(data.get("inputs", {}))


def sync_tree(src: Path, dst: Path) -> None:
    """Make ``dst`` a copy of ``src`` (files copied atomically when they differ, stale files removed). A file
    copied is stamped with the current time: Sphinx rebuilds a page only when its source is newer than the last
    build, and an executed copy of another profile may be older than that build."""
    dst.mkdir(parents=True, exist_ok=True)
    wanted = set()
    if src.is_dir():
        for f in src.rglob("*"):
            if f.is_file():
                rel = f.relative_to(src)
                wanted.add(rel)
                target = dst / rel
                if not target.is_file() or target.stat().st_size != f.stat().st_size \
                        or sha256_file(target) != sha256_file(f):
                    atomic_copy(f, target)
                    os.utime(target)
    for f in sorted(dst.rglob("*"), reverse=True):
        if f.is_file() and f.relative_to(dst) not in wanted:
            f.unlink()
        elif f.is_dir() and not any(f.iterdir()):
            f.rmdir()


# --------------------------------------------------------------------------- execution
def _banner(ch: Chapter, elapsed: float, read: list | None = None) -> str:
    params = ", ".join(f"`{k}={v!r}`" for k, v in sorted(ch.parameters.items()))
    profile = ch.parameters["profile"]
    first = ("These are the quick profile's sizes, made for a first run in minutes: toy numbers that can contradict "
             "the book's findings. The chapter as the book reports it is its published edition (standard profile), "
             f'<a href="../../edition/{ch.docname}.html">rendered by <code>make edition</code></a>, stored as '
             f"`editions/standard/{ch.name}/{ch.name}.ipynb` in the repository.\n" if profile == "quick" else "")
    return (f"```{{note}}\n{first}This page was executed with the **{profile}** profile "
            f"({params}) in {elapsed:.0f} s. Re-run it with "
            f"`nasvec book --profile {profile} --only {ch.name}`.\n```")


def execute(ch: Chapter, paths: Paths, key: str, force: bool = False, log=print, banner=_banner) -> float:
    """Run one chapter notebook with papermill; write the executed copy and its stamp atomically. ``banner(ch,
    seconds, files read)`` writes the note at the top of the page (the edition's says which run made it)."""
    import nbformat
    import papermill

    out = paths.executed_nb(ch)
    out.parent.mkdir(parents=True, exist_ok=True)
    for d in paths.outputs(ch):  # stale figures of an earlier run must not survive
        shutil.rmtree(d, ignore_errors=True)
    fd, log_path = tempfile.mkstemp(prefix="nasvec-inputs-", suffix=".txt")
    os.close(fd)
    partial = out.with_suffix(".partial.ipynb")
    env_keys = {"NASVEC_INPUT_LOG": log_path, "NASVEC_ROOT": str(paths.root),
                "NASVEC_FORCE": "1" if force else "0",
                "PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(env_keys)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(ch.source), str(partial), parameters=ch.parameters,
                                   kernel_name="python3", cwd=str(paths.root), progress_bar=False,
                                   log_output=False, report_mode=False,
                                   extra_arguments=["--log-level=CRITICAL"])   # no kernel noise at shutdown
    except papermill.PapermillExecutionError as err:
        failed = out.with_suffix(".failed.ipynb")
        if partial.exists():
            os.replace(partial, failed)
        raise BookError(f"{ch.source} failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
                        f"(the partly executed notebook is {failed})") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    elapsed = time.perf_counter() - t0
    read = sorted(set(Path(log_path).read_text().split()))
    os.unlink(log_path)
    nb = nbformat.read(partial, as_version=4)
    for cell in nb.cells:  # the banner shows the parameters; the cells that set them are hidden
        tags = cell.metadata.setdefault("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0,
                    nbformat.v4.new_markdown_cell(banner(ch, elapsed, read)))
    with atomic_write(out, "w") as fh:
        nbformat.write(nb, fh)
    partial.unlink(missing_ok=True)
    out.with_suffix(".failed.ipynb").unlink(missing_ok=True)
    saved_dir = paths.saved_outputs(ch)
    for d in paths.outputs(ch):
        sync_tree(d, saved_dir / d.parent.name)
    with atomic_write(paths.stamp(ch), "w") as fh:
        json.dump({"key": key, "parameters": ch.parameters, "elapsed_s": round(elapsed, 2),
                   "inputs": {p: fingerprint(Path(p), length=64) for p in read if Path(p).is_file()}}, fh, indent=1)
    return elapsed


def execute_all(root: Path | None = None, profile: str = "quick", only: list[str] | None = None,
                force: bool = False, log=print) -> list[Chapter]:
    """Execute every (or the ``only``) chapter notebook of ``profile`` that is out of date."""
    root = Path(root) if root is not None else repo_root()
    chs = chapters(root, load_profile(profile, root), only)
    paths = Paths(root, profile)
    pkg = package_hash()
    failures = []
    for i, ch in enumerate(chs, 1):
        key = cache_key(ch, pkg)
        head = f"[{i}/{len(chs)}] {ch.name} ({profile})"
        if not force and is_fresh(ch, paths, key):
            for d in paths.outputs(ch):  # another profile may have written this chapter's outputs since
                sync_tree(paths.saved_outputs(ch) / d.parent.name, d)
            log(f"{head}: up to date")
            continue
        log(f"{head}: executing ...")
        try:
            elapsed = execute(ch, paths, key, force=force, log=log)
        except BookError as err:
            log(f"{head}: FAILED: {err}")
            failures.append(str(err))
            continue
        log(f"{head}: executed in {elapsed:.1f} s")
    if failures:
        raise BookError(f"{len(failures)} notebook(s) failed:\n" + "\n".join(failures))
    return chs
