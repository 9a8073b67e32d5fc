"""The book's figures (only notebooks call these); every function returns a matplotlib figure or axes.

* :mod:`.common` — image grids, architecture graphs drawn layer by layer (every chapter);
* :mod:`.ternary` — ternary maps over the simplex, op distributions (chapters 4 and 5);
* one module per chapter: :mod:`.datasets`, :mod:`.graphs`, :mod:`.compression`, :mod:`.repair`,
  :mod:`.gumbel`, :mod:`.hypernetwork`.
"""

from importlib import import_module

# public name -> module that defines it; imported on first use, so a chapter depends only on the figures it draws
_EXPORTS = {"draw_graph": "nasvec.book.plots.common", "graph_layers": "nasvec.book.plots.common",
            "image_grid": "nasvec.book.plots.common", "op_distribution": "nasvec.book.plots.ternary",
            "ternary": "nasvec.book.plots.ternary"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'nasvec.book.plots' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
