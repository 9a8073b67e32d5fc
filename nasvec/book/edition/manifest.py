"""A chapter's inputs, their fingerprint, its manifest and its state: fresh, stale, missing or altered."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ...cache import fingerprint
from ...errors import BookError
from ...utils import repo_root, sha256_file
from .. import pipeline
from ..pipeline import Chapter
from ..profiles import load_profile
from . import import_graph

PROFILE = "standard"
MANIFEST = "manifest.json"
MANIFEST_KEYS = ("chapter", "profile", "profile_digest", "parameters", "commit", "date", "machine", "backend",
                 "workers", "seconds", "cache_entries_at_start", "versions", "inputs", "fingerprint", "files")
INPUT_KINDS = ("notebook", "parameters", "modules", "data")
VERSIONS = ("nasvec", "torch", "numpy", "pandas", "scipy", "scikit-learn", "torch-geometric", "onnx", "onnxruntime",
            "botorch", "gpytorch", "matplotlib", "papermill", "ray")
STALE_NOTE = ("```{{warning}}\nThis page is **stale**: {reasons}. Its numbers are those of the run described below; "
              "re-cut it with `nasvec edition update --only {name}`.\n```")


# --------------------------------------------------------------------------- where things are
def edition_dir(root: Path, profile: str = PROFILE) -> Path:
    return Path(root) / "editions" / profile


def chapter_dir(root: Path, name: str, profile: str = PROFILE) -> Path:
    return edition_dir(root, profile) / name


def edition_chapters(root: Path, profile: str = PROFILE, only: list[str] | None = None) -> list[Chapter]:
    """The book's chapter notebooks with the edition profile's parameters (validated as ``nasvec book`` does)."""
    return pipeline.chapters(Path(root), load_profile(profile, Path(root)), only)


# --------------------------------------------------------------------------- inputs and their fingerprint
def _data_dir() -> Path:
    from ...data.images import data_dir

    return data_dir()


def _site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


def _folders(root: Path):
    """The folders a data label names, the most specific first (a virtual environment may live inside the root)."""
    return (("site-packages", _site_packages()), ("data", _data_dir()), ("root", Path(root)))


def data_label(path: str | Path, root: Path) -> str:
    """A data file's name in a manifest, the same on every machine: ``{data}/…`` under ``$NASVEC_DATA``,
    ``{root}/…`` inside the repository, ``{site-packages}/…`` in an installed package (analog-nasbench's
    NAS-Bench-201 table), else the absolute path (a system package's file)."""
    p = Path(path).resolve()
    for label, folder in _folders(root):
        try:
            return f"{{{label}}}/{p.relative_to(folder.resolve())}"
        except ValueError:
            continue
    return str(p)


def data_path(label: str, root: Path) -> Path:
    """The file a :func:`data_label` names on this machine."""
    for name, folder in _folders(root):
        prefix = f"{{{name}}}/"
        if label.startswith(prefix):
            return folder / label[len(prefix):]
    return Path(label)


def _file_digest(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


def current_inputs(ch: Chapter, root: Path, data: list[str]) -> dict:
    """The chapter's inputs now: notebook cells, parameters, the modules of its import graph, and the data
    files ``data`` (labels, as a manifest lists them) — each with its digest (``None``: absent here)."""
    base = import_graph.package_root()
    scripts = [p for p in (data_path(label, root) for label in data) if p.suffix == ".py" and p.is_file()]
    return {"notebook": pipeline.notebook_hash(ch.source),
            "parameters": fingerprint(ch.parameters, length=64),
            "modules": {m: sha256_file(base / m) for m in import_graph.import_closure(ch.source, base, tuple(scripts))},
            "data": {label: _file_digest(data_path(label, root)) for label in sorted(data)}}


def input_fingerprint(inputs: dict) -> str:
    return fingerprint({k: inputs[k] for k in INPUT_KINDS}, length=64)


def changed_inputs(recorded: dict, now: dict) -> list[str]:
    """What differs between two inputs records, in words a reader can act on."""
    out = []
    if recorded.get("notebook") != now["notebook"]:
        out.append("the notebook's cells changed")
    if recorded.get("parameters") != now["parameters"]:
        out.append("its parameters in the profile changed")
    old, new = recorded.get("modules", {}), now["modules"]
    for kind, names in (("changed", sorted(m for m in set(old) & set(new) if old[m] != new[m])),
                        ("newly imported", sorted(set(new) - set(old))),
                        ("no longer imported", sorted(set(old) - set(new)))):
        if names:
            out.append(f"{kind}: {', '.join(names)}")
    out += [f"data file {label} changed" for label, digest in sorted(recorded.get("data", {}).items())
            if now["data"].get(label) not in (None, digest)]
    return out


def unchecked_data(now: dict) -> list[str]:
    """The data files a chapter read that this machine lacks (they cannot be compared, which does not make the
    chapter stale: a reader without the data still reads a fresh edition)."""
    return sorted(label for label, digest in now["data"].items() if digest is None)


# --------------------------------------------------------------------------- manifest
def machine() -> dict:
    """The machine a chapter ran on: CPU model, cores, memory, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        mem = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1) if mem else None,
            "system": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for name in VERSIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path) -> str:
    """``HEAD``'s hash, with ``+dirty`` when tracked files outside ``editions/`` differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)editions").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def read_manifest(root: Path, name: str, profile: str = PROFILE) -> dict | None:
    path = published_dir(root, name, profile) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise BookError(f"{path}: not valid JSON ({err})") from None
    missing = [k for k in MANIFEST_KEYS if k not in data]
    if missing:
        raise BookError(f"{path}: the manifest lacks {missing}")
    return data


def check_files(folder: Path, manifest: dict) -> list[str]:
    """Files of a chapter's folder that differ from the digests its manifest recorded (or are missing, or extra)."""
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    listed = manifest["files"]
    out = [f"{f} missing" for f in sorted(set(listed) - on_disk)]
    out += [f"{f} not in the manifest" for f in sorted(on_disk - set(listed))]
    out += [f"{f} edited" for f in sorted(set(listed) & on_disk) if sha256_file(folder / f) != listed[f]]
    return out


# --------------------------------------------------------------------------- status
@dataclass
class ChapterStatus:
    """One chapter of the edition: ``state`` is fresh, stale, missing or altered; ``reasons`` say why."""

    name: str
    state: str
    reasons: list = field(default_factory=list)
    manifest: dict | None = None
    unchecked: list = field(default_factory=list)   # data files not found here

    def line(self) -> str:
        m = self.manifest
        run = (f"  [{m['date'][:10]}, {m['commit'][:7]}, {m['seconds']:,.0f} s]" if m else "")
        why = "".join(f"\n    - {r}" for r in self.reasons)
        if self.unchecked:
            why += f"\n    ({len(self.unchecked)} data files not found here, not compared: set NASVEC_DATA)"
        return f"{self.name:<14}{self.state:<9}{run}{why}"


def recover_swap(folder: Path) -> None:
    """Undo a swap that stopped between its two renames, drop unfinished folders."""
    old = folder.with_name(f".{folder.name}.old")
    if old.is_dir():
        if folder.is_dir():
            shutil.rmtree(old)
        else:
            os.replace(old, folder)
    for partial in folder.parent.glob(f".{folder.name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def published_dir(root: Path, name: str, profile: str = PROFILE) -> Path:
    """The folder that holds a chapter's published edition: its own, or (a swap stopped between its two renames)
    the old one set aside, which the next update puts back. Reading never moves anything."""
    folder = chapter_dir(root, name, profile)
    old = folder.with_name(f".{name}.old")
    return old if not folder.is_dir() and old.is_dir() else folder


def chapter_status(ch: Chapter, root: Path, profile: str = PROFILE) -> ChapterStatus:
    """A chapter's state; read-only (safe while an update runs)."""
    folder = published_dir(root, ch.name, profile)
    manifest = read_manifest(root, ch.name, profile)
    if manifest is None:
        return ChapterStatus(ch.name, "missing", [f"no {MANIFEST} in {chapter_dir(root, ch.name, profile).relative_to(root)}"])
    altered = check_files(folder, manifest)
    if altered:
        return ChapterStatus(ch.name, "altered", altered, manifest)
    now = current_inputs(ch, root, list(manifest["inputs"]["data"]))
    reasons = changed_inputs(manifest["inputs"], now)
    return ChapterStatus(ch.name, "stale" if reasons else "fresh", reasons, manifest, unchecked_data(now))


def status(root: Path | None = None, profile: str = PROFILE, only: list[str] | None = None) -> list[ChapterStatus]:
    """Every chapter of the edition with its state (``nasvec edition status``)."""
    root = Path(root) if root is not None else repo_root()
    return [chapter_status(ch, root, profile) for ch in edition_chapters(root, profile, only)]
