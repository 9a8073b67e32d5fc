"""The book's figures (only notebooks call these); every function returns a matplotlib figure or axes.

* :mod:`.common` — image grids, architecture graphs drawn layer by layer (every chapter);
* :mod:`.ternary` — ternary maps over the simplex, op distributions (chapters 4 and 5);
* one module per chapter: :mod:`.datasets`, :mod:`.graphs`, :mod:`.compression`, :mod:`.repair`,
  :mod:`.gumbel`, :mod:`.hypernetwork`.
"""

from .common import draw_graph, graph_layers, image_grid
from .ternary import op_distribution, ternary

__all__ = ["draw_graph", "graph_layers", "image_grid", "op_distribution", "ternary"]
