"""The book's profiles: ``profiles/<name>.yml``, the parameters every chapter is executed with.

A profile has ``description``; ``notebooks`` — per chapter, the parameters it sets; and ``shared`` —
parameters given to every chapter whose ``parameters`` cell defines them (chapter 2's compressors,
which chapter 3 reloads, are set once there). :func:`shared` reads one for a notebook run by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import BookError
from ..utils import repo_root


def profiles_dir(root: Path) -> Path:
    return root / "profiles"


def available_profiles(root: Path) -> list[str]:
    return sorted(p.stem for p in profiles_dir(root).glob("*.yml"))


@dataclass(frozen=True)
class Profile:
    """A parsed profile: its name and file, a description, per-chapter parameters and shared ones."""

    name: str
    path: Path
    description: str
    notebooks: dict
    shared: dict


def load_profile(name: str, root: Path) -> Profile:
    """The profile ``profiles/<name>.yml``: keys ``description``, ``notebooks`` (chapter -> parameters)
    and ``shared`` (parameter -> value, for every chapter that defines it)."""
    path = profiles_dir(root) / f"{name}.yml"
    if not path.is_file():
        raise BookError(f"unknown profile {name!r}; available: {', '.join(available_profiles(root)) or 'none'} "
                        f"(files in {profiles_dir(root)})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise BookError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict) or not set(data) <= {"description", "notebooks", "shared"}:
        raise BookError(f"{path}: expected the keys 'description', 'notebooks' and 'shared', got "
                        f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    notebooks = data.get("notebooks") or {}
    if not isinstance(notebooks, dict) or not all(isinstance(v, dict) or v is None for v in notebooks.values()):
        raise BookError(f"{path}: 'notebooks' must map each chapter name to a mapping of parameters")
    shared = data.get("shared") or {}
    if not isinstance(shared, dict):
        raise BookError(f"{path}: 'shared' must map parameter names to values")
    return Profile(name, path, data.get("description", ""), {k: dict(v or {}) for k, v in notebooks.items()},
                   dict(shared))


def shared(profile: str, name: str, root: Path | None = None):
    """The value of profile ``profile``'s shared parameter ``name``: what ``nasvec book`` gives every chapter
    that defines ``name``, for a notebook run by hand with that parameter left at ``None``."""
    prof = load_profile(profile, Path(root) if root is not None else repo_root())
    if name not in prof.shared:
        raise BookError(f"profile {profile!r} ({prof.path}) has no shared parameter {name!r}; "
                        f"it shares {sorted(prof.shared)}")
    return prof.shared[name]
