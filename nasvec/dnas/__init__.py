"""Differentiable architecture search (chapters 4 and 5): the Gumbel-Softmax relaxation, the DARTS cell space,
the hypernetwork over complexity vectors.

* :mod:`.gumbel_softmax` — the Gumbel-Softmax sampler, its limits, Monte Carlo, quadrature, gradient estimators;
* :mod:`.simplex` — points of the simplex: checks, uniform draws, grids, the plane of triangle plots;
* :mod:`.ops`, :mod:`.cells` — candidate operations, super-network, genotypes, discrete networks;
* :mod:`.hyper` — the cost, the hypernetwork ``s -> alpha(s)``, the search loop;
* :mod:`.latency` — latency and memory of ops and networks on the machine at hand.

Chapter 5's cached runs (searches, trainings, the family over the simplex) are in
:mod:`nasvec.experiments.hypernetwork`.
"""

from ..errors import SearchError
from .hyper import FixedAlpha, HyperNet, SearchConfig, cost, differentiable_search, temperature
from .latency import activation_bytes, compare_latency, measure_latency, measure_ops, to_simplex
from .ops import DARTS_OPS, OP_KIND, SLIDES_OPS, make_op, resolve_ops
from .simplex import check_simplex, default_references, sample_simplex, simplex_grid, to_plane
from .cells import EDGES, N_EDGES, Genotype, NetConfig, Network, SuperNet, count_params, derive

__all__ = ["DARTS_OPS", "EDGES", "FixedAlpha", "Genotype", "HyperNet", "NetConfig", "N_EDGES", "Network", "OP_KIND",
           "SLIDES_OPS", "SearchConfig", "SearchError", "SuperNet", "activation_bytes", "check_simplex",
           "compare_latency", "cost", "count_params", "default_references", "derive", "make_op", "measure_latency",
           "measure_ops", "resolve_ops", "sample_simplex", "differentiable_search", "simplex_grid", "temperature",
           "to_plane", "to_simplex"]
