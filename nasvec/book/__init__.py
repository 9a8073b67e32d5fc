"""The book (the top layer: only notebooks and the command line import it).

* :mod:`.profiles` — the profiles: per-chapter and shared parameters;
* :mod:`.pipeline` — cached notebook execution with papermill;
* :mod:`.site` — the Jupyter Book site (executed chapters or the edition's) and its HTML build;
* :mod:`.edition` — the published edition (``editions/standard/``): manifests, fingerprints, status, update;
* :mod:`.report` — :class:`Report`: a chapter's figures and tables, written atomically;
* :mod:`.plots` — the figures the chapters draw;
* :mod:`.cli` — ``nasvec book``, ``nasvec edition``, ``nasvec assign``, ``nasvec grade``, ``nasvec converge``.

Names are imported lazily, like the package's: a chapter's ``from nasvec.book import Report`` imports
:mod:`.report` only, so the pipeline and the edition are not among the modules a chapter's published
edition depends on (:func:`nasvec.book.edition.import_closure`).
"""

from importlib import import_module

# public name -> module that defines it
_EXPORTS = {
    "BookError": "nasvec.errors",
    **{name: "nasvec.book.pipeline" for name in (
        "Chapter", "Paths", "cache_key", "chapters", "execute", "execute_all", "is_fresh", "notebook_hash",
        "notebook_parameters", "package_hash", "read_toc")},
    **{name: "nasvec.book.site" for name in ("assemble_site", "build", "build_html")},
    **{name: "nasvec.book.profiles" for name in ("Profile", "available_profiles", "load_profile", "shared")},
    "Report": "nasvec.book.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'nasvec.book' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
