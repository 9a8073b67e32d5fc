"""Search (chapters 4 and 5): Gumbel-Softmax relaxation, the DARTS cell space, complexity-controlled search.

* :mod:`.gumbel` — the Gumbel-Softmax sampler, its limits, Monte Carlo, quadrature, gradient estimators;
* :mod:`.simplex` — points of the simplex: checks, uniform draws, grids, the plane of triangle plots;
* :mod:`.ops`, :mod:`.space` — candidate operations, super-network, genotypes, discrete networks;
* :mod:`.hyper` — the cost, the hypernetwork ``s -> alpha(s)``, the search loop;
* :mod:`.config` — :class:`NetConfig`, :class:`SearchConfig`;
* :mod:`.latency` — latency and memory of ops and networks on the machine at hand.

Chapter 5's cached runs (searches, trainings, the family over the simplex) are in
:mod:`nasvec.experiments.hypernetwork`.
"""

from ..errors import SearchError
from .config import NetConfig, SearchConfig
from .hyper import FixedAlpha, HyperNet, cost, search, temperature
from .latency import activation_bytes, compare_latency, measure_latency, measure_ops, to_simplex
from .ops import DARTS_OPS, OP_KIND, SLIDES_OPS, make_op, resolve_ops
from .simplex import check_simplex, default_references, sample_simplex, simplex_grid, to_plane
from .space import EDGES, N_EDGES, Genotype, Network, SuperNet, count_params, derive

__all__ = ["DARTS_OPS", "EDGES", "FixedAlpha", "Genotype", "HyperNet", "NetConfig", "N_EDGES", "Network", "OP_KIND",
           "SLIDES_OPS", "SearchConfig", "SearchError", "SuperNet", "activation_bytes", "check_simplex",
           "compare_latency", "cost", "count_params", "default_references", "derive", "make_op", "measure_latency",
           "measure_ops", "resolve_ops", "sample_simplex", "search", "simplex_grid", "temperature", "to_plane",
           "to_simplex"]
