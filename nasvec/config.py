"""The base of the book's config dataclasses (nanoGPT style: one config is the constructor's
arguments, the cache key and the provenance line of a table, all at once).

A config is a frozen dataclass deriving from :class:`Config`. A profile sets it once
(``profiles/<name>.yml``); a notebook turns that mapping into the dataclass with
:meth:`Config.from_dict`, which names any unknown setting; :func:`nasvec.cache.fingerprint` hashes
it field by field for the cache; :meth:`Config.describe` writes it as one line for a table.
Introduced in chapter 2 (:class:`nasvec.compress.CompressorConfig`).
"""

from __future__ import annotations

import dataclasses

from .errors import ConfigError


class Config:
    """Mixin of the config dataclasses."""

    @classmethod
    def from_dict(cls, d: dict | None = None, **overrides):
        """The config of a profile's mapping (``overrides`` win); an unknown key is a :class:`ConfigError`."""
        given = {**(d or {}), **overrides}
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown setting(s) {unknown}; known are {sorted(known)}")
        return cls(**given)

    def replace(self, **changes):
        """A copy with some fields changed (checked like the original); an unknown one is a :class:`ConfigError`."""
        known = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown setting(s) {unknown}; known are {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """``name value, name value, ...`` of the fields that differ from the defaults (all if none do)."""
        fields = dataclasses.fields(self)
        out = [f"{f.name} {getattr(self, f.name)}" for f in fields
               if f.default is dataclasses.MISSING or getattr(self, f.name) != f.default]
        return ", ".join(out) or ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields)


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds (for ``__post_init__``)."""
    if not condition:
        raise ConfigError(message)
