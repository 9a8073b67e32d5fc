"""The base of the book's config dataclasses (nanoGPT style: one config is the constructor's
arguments, the cache key and the provenance line of a table, all at once).

A config is a frozen dataclass deriving from :class:`Config`. A profile sets it once
(``profiles/<name>.yml``); a notebook turns that mapping into the dataclass with
:meth:`Config.from_dict`, which names any unknown setting; :func:`nasvec.cache.fingerprint` hashes
it field by field for the cache; :meth:`Config.describe` writes it as one line for a table.
Introduced in chapter 2 (:class:`nasvec.compress.CompressorConfig`).

Configs compose: a config that extends another *holds* it as a field (annotated with its class), it
does not copy its fields. :meth:`Config.from_dict` and :meth:`Config.replace` take a mapping for such
a field and apply it to the field's current value (its default in ``from_dict``), so
``LiveConfig.from_dict({"training": {"epochs": 3}})`` changes the held training's epochs and keeps
its other settings.
"""

from __future__ import annotations

import dataclasses
import functools
import typing

from .errors import ConfigError


class Config:
    """Mixin of the config dataclasses."""

    @classmethod
    def from_dict(cls, d: dict | None = None, **overrides):
        """The config of a profile's mapping (``overrides`` win); an unknown key is a :class:`ConfigError`."""
        if d is not None and not isinstance(d, dict):
            raise ConfigError(f"{cls.__name__}: expected a mapping of settings, got {type(d).__name__} ({d!r:.80})")
        given = {**(d or {}), **overrides}
        _check_known(cls, given)
        defaults = {f.name: _default(f) for f in dataclasses.fields(cls)}
        return cls(**{k: _nested(cls, k, defaults[k], v) for k, v in given.items()})

    def replace(self, **changes):
        """A copy with some fields changed (checked like the original); an unknown one is a :class:`ConfigError`.
        A mapping given for a field that holds a config changes that config's settings."""
        _check_known(type(self), changes)
        return dataclasses.replace(self, **{k: _nested(type(self), k, getattr(self, k), v) for k, v in changes.items()})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """``name value, name value, ...`` of the fields that differ from the defaults (all if none do)."""
        fields = dataclasses.fields(self)
        out = [f"{f.name} {getattr(self, f.name)}" for f in fields
               if f.default is dataclasses.MISSING or getattr(self, f.name) != f.default]
        return ", ".join(out) or ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields)


@functools.lru_cache(maxsize=None)
def nested_configs(cls) -> dict:
    """Field name -> the :class:`Config` class it holds, for the fields of ``cls`` annotated with one
    (``X`` or ``X | None``); read once per class."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        options = typing.get_args(hint) or (hint,)
        held = [o for o in options if isinstance(o, type) and issubclass(o, Config)]
        if held and name in {f.name for f in dataclasses.fields(cls)}:
            out[name] = held[0]
    return out


def _check_known(cls, given: dict) -> None:
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown setting(s) {unknown}; known are {sorted(known)}")


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _nested(cls, name: str, current, value):
    """``value`` for field ``name`` of ``cls``: a mapping for a held config changes ``current`` (or builds one)."""
    if not isinstance(value, dict):
        return value
    held = nested_configs(cls).get(name)
    if held is None:
        return value
    try:
        return current.replace(**value) if isinstance(current, held) else held.from_dict(value)
    except ConfigError as err:
        raise ConfigError(f"{cls.__name__}.{name}: {err}") from None


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds (for ``__post_init__``)."""
    if not condition:
        raise ConfigError(message)
