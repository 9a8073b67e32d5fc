"""Chapter 5, "Complexity-controlled search with a hypernetwork": DARTS cells with Gumbel-Softmax
mixed ops, a complexity vector ``s`` on the simplex, a hypernetwork ``s -> alpha(s)``, derived
architectures, and measured operating characteristics.

Modules: :mod:`.ops` (candidate operations), :mod:`.space` (super-network, genotypes, discrete
networks), :mod:`.hyper` (simplex, cost, hypernetwork, search loop), :mod:`.train` (data, training
from scratch), :mod:`.latency` (latency and memory), :mod:`.experiment` (cached runs), :mod:`.viz`.
"""

from .experiment import build, describe, family, pareto_mask, penalty_effect, run_search, train_genotype, train_many
from .hyper import (FixedAlpha, HyperNet, check_simplex, cost, default_references, sample_simplex, search,
                    simplex_grid, temperature)
from .latency import activation_bytes, compare_latency, measure_latency, measure_ops, to_simplex
from .ops import DARTS_OPS, OP_KIND, SLIDES_OPS, SearchError, make_op, resolve_ops
from .space import EDGES, N_EDGES, Genotype, Network, SuperNet, count_params, derive
from .train import Images, accuracy, load_images, resolve_device, train

__all__ = ["DARTS_OPS", "EDGES", "FixedAlpha", "Genotype", "HyperNet", "Images", "N_EDGES", "Network", "OP_KIND",
           "SLIDES_OPS", "SearchError", "SuperNet", "accuracy", "activation_bytes", "build", "check_simplex", "compare_latency",
           "cost", "count_params", "default_references", "derive", "describe", "family", "load_images", "make_op",
           "measure_latency", "measure_ops", "pareto_mask", "penalty_effect", "resolve_device", "resolve_ops", "run_search", "sample_simplex",
           "search", "simplex_grid", "temperature", "to_simplex", "train", "train_genotype", "train_many"]
