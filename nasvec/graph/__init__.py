"""The graph core (chapter 1): a network as an attributed DAG, its vocabulary and its vector representation.

* :mod:`.core` — :class:`ArchGraph` and :class:`Node`, and :func:`checked_shapes`: what
  ``ArchGraph.validate(input_shape)`` checks so that a valid graph builds;
* :mod:`.vocab` — the ops, the attributes, their columns in the attribute matrix, validation;
* :mod:`.codec` — one node's attributes <-> one row of the attribute matrix;
* :mod:`.vectors` — :func:`encode` / :func:`decode` (:class:`VectorRep`);
* :mod:`.shapes` — :func:`infer_shapes`, the output shape of every node for an input shape;
* :mod:`.limits` — the size caps every valid graph keeps (channels, weights per layer and in total, values per
  example).

Nothing here imports torch at import time except :mod:`.vectors`, nor anything outside this folder
but :mod:`nasvec.errors`.
"""

from ..errors import GraphError
from .core import ArchGraph, Node

__all__ = ["ArchGraph", "GraphError", "Node"]
