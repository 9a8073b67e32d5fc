"""Reading the edition: its pages (a stale one says so), the HTML book and the PDF; nothing is executed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from ...errors import BookError
from ...utils import repo_root
from .. import pipeline
from .. import site as site_mod
from ..pipeline import Chapter
from .manifest import PROFILE, STALE_NOTE, chapter_status, published_dir


def edition_page(ch: Chapter, root: Path, profile: str, dst: Path) -> None:
    """The chapter's page in the rendered edition: the stored notebook, a stale warning on top when it is
    stale, or the notebook's source with a warning when the edition lacks the chapter."""
    st = chapter_status(ch, root, profile)
    if st.state == "missing":
        nb = nbformat.read(ch.source, as_version=4)
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(
            f"```{{warning}}\nThe **{profile}** edition does not hold this chapter yet: run "
            f"`nasvec edition update --only {ch.name}`.\n```"))
    else:
        nb = nbformat.read(published_dir(root, ch.name, profile) / f"{ch.name}.ipynb", as_version=4)
        if st.state != "fresh":
            reasons = "; ".join(st.reasons) if st.state == "stale" else \
                "its files differ from its manifest (" + "; ".join(st.reasons) + ")"
            nb.cells.insert(1, nbformat.v4.new_markdown_cell(STALE_NOTE.format(
                reasons="since its run, " + reasons if st.state == "stale" else reasons, name=ch.name)))
    with open(dst, "w") as fh:
        nbformat.write(nb, fh)


def _jupyter_book() -> str:
    jb = Path(sys.executable).with_name("jupyter-book")
    return str(jb) if jb.exists() else "jupyter-book"


def _build_site(root: Path, profile: str, builder: str, log) -> Path:
    site = Path(root) / "_build" / f"edition-site-{builder}"
    site_mod.assemble_site(root, profile, site=site, page=lambda ch, dst: edition_page(ch, root, profile, dst),
                           title=f"{profile} edition")
    out = Path(root) / "_build" / f"edition-{builder}"
    cmd = [_jupyter_book(), "build", str(site), "--path-output", str(out), "--builder", builder, "-W", "-n",
           "--keep-going"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-40:])
        raise BookError(f"jupyter-book build of the edition failed (exit {res.returncode}):\n{tail}")
    log(f"jupyter-book build ({builder}): {time.perf_counter() - t0:.1f} s")
    return out / "_build" / builder


def render(root: Path | None = None, profile: str = PROFILE, log=print) -> Path:
    """The edition as the HTML book in ``_build/edition/`` (``make edition``); nothing is executed."""
    root = Path(root) if root is not None else repo_root()
    html = _build_site(root, profile, "html", log)
    pipeline.sync_tree(html, root / "_build" / "edition")
    index = root / "_build" / "edition" / "index.html"
    log(f"edition ({profile}) -> {index.relative_to(root)}")
    return index


def print_pdf(root: Path | None = None, profile: str = PROFILE, log=print) -> Path | None:
    """The whole edition as one PDF, ``_build/nasvec-<profile>.pdf`` (``make pdf``): Jupyter Book's single-page
    HTML printed by headless Chromium. Without Chromium it says so and returns ``None``."""
    root = Path(root) if root is not None else repo_root()
    chromium = next((shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)),
                    None)
    if chromium is None:
        log("make pdf: skipped: no Chromium on this machine (Debian: apt-get install chromium)")
        return None
    out = _build_site(root, profile, "singlehtml", log)
    # Jupyter Book writes the single page under the root document's folder (book/intro.html) with links
    # relative to the output folder: a copy at the top resolves its styles, images and formulas.
    root_doc = pipeline.read_toc(root)[0]
    page = out / "edition.html"
    page.write_text((out / f"{root_doc}.html").read_text())
    pdf = root / "_build" / f"nasvec-{profile}.pdf"
    partial = pdf.with_suffix(".partial.pdf")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
           "--virtual-time-budget=30000", f"--print-to-pdf={partial}", page.as_uri()]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise BookError(f"Chromium could not print {page} (exit {res.returncode}): {res.stderr[-1000:]}")
    os.replace(partial, pdf)
    log(f"printed in {time.perf_counter() - t0:.1f} s -> {pdf.relative_to(root)} ({pdf.stat().st_size / 2**20:.1f} MiB)")
    return pdf
