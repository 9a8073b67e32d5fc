"""Re-executing a chapter of the edition and publishing it: its folder is replaced only once its run finished."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat

from ...cache import cache_dir
from ...errors import BookError
from ...utils import atomic_write, repo_root, sha256_file
from .. import pipeline
from ..pipeline import Chapter, Paths
from .manifest import (MANIFEST, PROFILE, ChapterStatus, recover_swap, changed_inputs, chapter_dir, chapter_status,
                       current_inputs, data_label, edition_chapters, git_commit, input_fingerprint, machine, versions)


def provenance_line(m: dict) -> str:
    """The line at the top of an edition page: which run produced it."""
    mach = m["machine"]
    backend = m["backend"] + (f", {m['workers']} workers" if m.get("workers") else "")
    return (f"```{{note}}\nPublished edition: executed with the **{m['profile']}** profile at commit "
            f"`{m['commit'][:7]}{'+dirty' if m['commit'].endswith('+dirty') else ''}` on {m['date'][:10]}, "
            f"{mach['cpu']} ({mach['cores']} cores), backend {backend}, in {m['seconds']:,.0f} s "
            + ("from an empty cache" if not m.get("cache_entries_at_start") else
               f"with {m['cache_entries_at_start']:,} results in the cache at the start (a result this page needs "
               f"and finds there is loaded, not run; the page's tables of runs say which)")
            + f" (inputs `{m['fingerprint'][:12]}`). Re-run it with `nasvec edition update --only {m['chapter']}`.\n```")


def _cache_entries() -> int:
    folder = cache_dir()
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def publish(ch: Chapter, root: Path, profile: str, run: dict, executed: Path, tables: Path) -> dict:
    """Write a chapter's folder (notebook, tables, manifest) next to the old one, then swap it in."""
    folder = chapter_dir(root, ch.name, profile)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(folder)
    partial = Path(tempfile.mkdtemp(prefix=f".{ch.name}.partial-", dir=folder.parent))
    try:
        nb = nbformat.read(executed, as_version=4)
        pm = nb.metadata.get("papermill", {})   # papermill records where it ran: this machine's paths
        if pm:
            pm["input_path"] = f"notebooks/{ch.name}.ipynb"
            pm["output_path"] = f"editions/{profile}/{ch.name}/{ch.name}.ipynb"
        with open(partial / f"{ch.name}.ipynb", "w") as fh:
            nbformat.write(nb, fh)
        if tables.is_dir():
            shutil.copytree(tables, partial / "tables")
        files = {str(p.relative_to(partial)): sha256_file(p) for p in sorted(partial.rglob("*")) if p.is_file()}
        manifest = {**run, "files": files}
        with atomic_write(partial / MANIFEST, "w") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=False)
            fh.write("\n")
        old = folder.with_name(f".{ch.name}.old")
        if folder.is_dir():
            os.replace(folder, old)
        os.replace(partial, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def update(root: Path | None = None, profile: str = PROFILE, only: list[str] | None = None, force: bool = False,
           log=print) -> list[ChapterStatus]:
    """Re-execute the stale (or missing, or altered) chapters in ``profile`` and publish each as it finishes
    (``nasvec edition update``); ``force``: the fresh ones too. Returns the chapters' states afterwards."""
    root = Path(root) if root is not None else repo_root()
    chs = edition_chapters(root, profile, only)
    paths = Paths(root, profile)
    pkg = pipeline.package_hash()
    failures = []
    for i, ch in enumerate(chs, 1):
        head = f"[{i}/{len(chs)}] {ch.name} ({profile} edition)"
        st = chapter_status(ch, root, profile)
        if st.state == "fresh" and not force:
            log(f"{head}: fresh")
            continue
        log(f"{head}: {st.state}; executing ...")
        date = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        commit, entries = git_commit(root), _cache_entries()
        before = current_inputs(ch, root, [])
        run = {}

        def banner(chapter: Chapter, elapsed: float, read: list) -> str:
            data = sorted({data_label(p, root) for p in read if Path(p).is_file()})
            inputs = current_inputs(chapter, root, data)
            # a file that changed while the chapter ran (the scripts it ran may add modules: those are not changes)
            kept = {m: d for m, d in inputs["modules"].items() if m in before["modules"]}
            moved = changed_inputs({**before, "data": {}}, {**inputs, "modules": kept, "data": {}})
            if moved:
                raise BookError(f"{chapter.name}: its inputs changed while it ran ({'; '.join(moved)}); run it again")
            run.update({
                "chapter": chapter.name, "profile": profile,
                "profile_digest": inputs["parameters"], "parameters": chapter.parameters,
                "commit": commit, "date": date, "machine": machine(),
                "backend": os.environ.get("NASVEC_BACKEND") or "serial",
                "workers": int(os.environ["NASVEC_WORKERS"]) if os.environ.get("NASVEC_WORKERS") else None,
                "seconds": round(elapsed, 1), "cache_entries_at_start": entries, "versions": versions(),
                "inputs": inputs, "fingerprint": input_fingerprint(inputs)})
            return provenance_line(run)

        try:
            pipeline.execute(ch, paths, pipeline.cache_key(ch, pkg), log=log, banner=banner)
        except BookError as err:
            log(f"{head}: FAILED: {err}")
            failures.append(str(err))
            continue
        manifest = publish(ch, root, profile, run, paths.executed_nb(ch), root / "book" / "tables" / ch.name)
        log(f"{head}: published in {manifest['seconds']:,.0f} s -> {chapter_dir(root, ch.name, profile).relative_to(root)}")
    if failures:
        raise BookError(f"{len(failures)} chapter(s) failed; the others are published:\n" + "\n".join(failures))
    return [chapter_status(ch, root, profile) for ch in chs]
