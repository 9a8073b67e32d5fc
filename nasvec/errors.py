"""The package's errors: one base class, one subclass per layer that raises them.

Every error a user can provoke with bad input is one of these, with a message that names the
file, node, op or parameter at fault. Each also derives from the built-in exception a caller
would expect (``ValueError`` for bad values and settings, ``TypeError`` too where input of the
wrong kind is possible, ``RuntimeError`` for missing or corrupt files and a failed build), so
``except ValueError`` keeps working. Introduced in chapter 1.
"""

from __future__ import annotations


class NasvecError(Exception):
    """Base class of every error raised on purpose by :mod:`nasvec`."""


class ConfigError(NasvecError, ValueError):
    """A setting is unknown or out of range (a config dataclass, a trainer's arguments)."""


class GraphError(NasvecError, ValueError):
    """An architecture graph is malformed; the message names the node and the problem."""


class DataError(NasvecError, RuntimeError):
    """A data set is missing, corrupt or malformed; the message says what to do."""


class CompressError(NasvecError, ValueError, TypeError):
    """Bad input to a compressor: a batch of the wrong size, an unknown model, bad codes."""


class RepairError(NasvecError, ValueError, TypeError):
    """Input that :func:`nasvec.repair` cannot even read (not arrays, or arrays of no usable shape)."""


class SearchError(NasvecError, ValueError):
    """Bad input to the search: unknown op, a complexity vector off the simplex, a bad genotype."""


class BookError(NasvecError, RuntimeError):
    """A profile, the table of contents or a notebook is wrong; the message says which and why."""


class ClassroomError(NasvecError, ValueError):
    """A bad assignment master, roster, class folder or submission; the message names the file."""
