"""The book's plots (only notebooks call these): one module per kind of figure, shared by the chapters.

* :mod:`.common` — image grids, architecture graphs drawn layer by layer;
* :mod:`.simplex` — ternary maps over the simplex, the triangle outline, op distributions;
* :mod:`.curves` — training curves, mean-and-band lines, log-axis formatting.
"""

from .common import draw_graph, graph_layers, image_grid
from .simplex import op_distribution, ternary

__all__ = ["draw_graph", "graph_layers", "image_grid", "op_distribution", "ternary"]
