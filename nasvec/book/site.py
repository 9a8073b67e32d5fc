"""The Jupyter Book site: the executed chapters (or the published edition's) with the narrative pages, built to HTML.

``assemble_site`` copies the config, the narrative pages, ``_static/`` and each chapter's notebook into a
site folder, appends the chapter's exercises and serves Debian's MathJax with it when installed;
``build_html`` runs ``jupyter-book build -W -n --keep-going`` on it (execution off); ``build`` is ``nasvec book``:
the chapters executed (:mod:`.pipeline`), then the HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..errors import BookError
from ..utils import repo_root
from .pipeline import Paths, chapters, execute_all, sync_tree
from .profiles import load_profile


def add_exercises(nb_path: Path, chapter: str, root: Path, student: bool = False) -> None:
    """Append the chapter's *Exercises* (from ``assignments/<chapter>.py``, if there is one) to a notebook."""
    import nbformat

    from ..classroom.master import exercise_cells, read_master

    src = root / "assignments" / f"{chapter}.py"
    if not src.is_file():
        return
    nb = nbformat.read(nb_path, as_version=4)
    master = read_master(src, chapter)
    nb.cells += [nbformat.v4.new_markdown_cell(c) for c in exercise_cells(master, solutions=not student)]
    nbformat.write(nb, nb_path)


MATHJAX = Path("/usr/share/javascript/mathjax")   # Debian's libjs-mathjax (MathJax 2)
MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX", "jax/element",
                 "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff")


def serve_mathjax(dst: Path) -> bool:
    """Copy the part of Debian's MathJax the pages use (1.6 MB) to ``dst``, so the book typesets its formulas
    offline and in print; ``False`` (the pages then load MathJax from its CDN) when the package is absent."""
    if not (MATHJAX / "MathJax.js").is_file():
        return False
    for part in MATHJAX_PARTS:
        src, out = MATHJAX / part, dst / part
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)   # follows Debian's symbolic links
        else:
            shutil.copy(src, out)
    return True


def assemble_site(root: Path, profile: str, student: bool = False, site: Path | None = None, page=None,
                  title: str | None = None) -> Path:
    """Copy the narrative pages, the config and the executed notebooks into ``_build/site`` (or ``site``); each
    chapter ends with its exercises (their solutions folded, or left out in the students' edition). ``page(ch,
    dst)`` writes a chapter's notebook to ``dst`` instead (the published edition's); ``title`` is added to the
    book's."""
    import nbformat

    paths = Paths(root, profile)
    site = Path(site) if site is not None else paths.site
    prof = load_profile(profile, root)
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="site-", dir=site.parent))
    try:
        for name in ("_config.yml", "_toc.yml", "references.bib"):
            if (root / name).is_file():
                shutil.copy2(root / name, staging / name)
        if (root / "_static").is_dir():
            shutil.copytree(root / "_static", staging / "_static")
        config = yaml.safe_load((staging / "_config.yml").read_text()) if (staging / "_config.yml").is_file() else {}
        if title:
            config["title"] = f"{config.get('title', 'nasvec')} ({title})"
        if serve_mathjax(staging / "_mathjax" / "mathjax"):
            sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
            sphinx.update({"html_extra_path": ["_mathjax"], "mathjax_path": "../mathjax/MathJax.js?config=TeX-AMS_CHTML",
                           "mathjax2_config": {"tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"}}})
        (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.copytree(root / "book", staging / "book", ignore=shutil.ignore_patterns("figures", "tables"))
        for ch in chapters(root, prof):
            dst = staging / f"{ch.docname}.ipynb"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if page is not None:
                page(ch, dst)
            elif paths.executed_nb(ch).is_file():
                shutil.copy2(paths.executed_nb(ch), dst)
            else:  # not executed in this profile yet (e.g. after --only): render the source, say so
                nb = nbformat.read(ch.source, as_version=4)
                nb.cells.insert(1, nbformat.v4.new_markdown_cell(
                    f"```{{warning}}\nThis chapter has not been executed with the **{profile}** profile yet: "
                    f"run `nasvec book --profile {profile} --only {ch.name}`.\n```"))
                with open(dst, "w") as fh:
                    nbformat.write(nb, fh)
                shutil.copystat(ch.source, dst)
            add_exercises(dst, ch.name, root, student)
        sync_tree(staging, site)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return site


def build_html(root: Path, profile: str, log=print, student: bool = False) -> Path:
    """Run ``jupyter-book build -W -n --keep-going`` on the assembled site."""
    site = assemble_site(root, profile, student)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(site), "--path-output", str(root),
           "-W", "-n", "--keep-going"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-40:])
        raise BookError(f"jupyter-book build failed (exit {res.returncode}):\n{tail}")
    index = root / "_build" / "html" / "index.html"
    edition = "students' edition, no solutions" if student else "solutions folded"
    log(f"jupyter-book build ({edition}): {time.perf_counter() - t0:.1f} s -> {index}")
    return index


def build(root: Path | None = None, profile: str = "quick", only: list[str] | None = None,
          force: bool = False, html: bool = True, log=print, student: bool = False) -> Path | None:
    root = Path(root) if root is not None else repo_root()
    t0 = time.perf_counter()
    execute_all(root, profile, only, force, log)
    out = build_html(root, profile, log, student) if html else None
    log(f"book ({profile}) done in {time.perf_counter() - t0:.1f} s")
    return out
