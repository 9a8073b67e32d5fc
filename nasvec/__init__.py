"""nasvec: the package behind the executable book on neural architecture search.

Everything the notebooks compute lives here; the notebooks narrate and call it. The folders are
the layers (:data:`LAYERS`, bottom first); a module imports only its own folder and the layers
below it, and never in a circle (``tests/test_layers.py`` checks both)::

    book/          the book: pipeline, report, plots, command line   (only notebooks and the CLI use it)
    classroom/     assignments per student and their grading (otter-grader): nasvec assign, nasvec grade
    experiments/   chapter glue: one module per chapter, the tables and studies its notebook calls
    compress/ repair_rules/ dnas/ subsample/ strategies/   the methods (chapters 2-7); none imports another
    train          the one training loop, and the classifier trainer built on it
    data/          image data and splits, ENAS architectures, reference CNNs, the CNN zoo
    io/            ONNX and torch, in and out of the graph representation
    graph/         ArchGraph, the vocabulary, the attribute codec, vectors, shapes
    parallel       one map for the many independent runs: serial, or on Ray
    cache config utils stats errors  foundation: caching and fingerprints, config base, helpers, the verdict
                   rule over seeds, errors

Names are imported lazily, so ``import nasvec`` is cheap and a chapter that needs only graphs does
not pay for torch or onnx.
"""

from importlib import import_module

__version__ = "0.1.0"

#: the package's layers, bottom first. A module may import modules of its own entry (a top-level
#: module or package) and of entries in lower layers; entries of one layer do not import each other.
LAYERS = (
    ("errors",), ("utils", "stats"), ("config",), ("cache",), ("parallel",),
    ("graph",), ("io",), ("data",), ("train",),
    ("compress", "repair_rules", "dnas", "subsample", "strategies"),
    ("experiments",),
    ("classroom",),
    ("book",),
)

# public name -> module that defines it
_EXPORTS = {
    "ArchGraph": "nasvec.graph.core",
    "Node": "nasvec.graph.core",
    "GraphError": "nasvec.errors",
    "NasvecError": "nasvec.errors",
    "seed_everything": "nasvec.utils",
    "encode": "nasvec.graph.vectors",
    "decode": "nasvec.graph.vectors",
    "VectorRep": "nasvec.graph.vectors",
    "infer_shapes": "nasvec.graph.shapes",
    "from_onnx": "nasvec.io.onnx_read",
    "from_torch": "nasvec.io.onnx_read",
    "export_torch": "nasvec.io.onnx_read",
    "to_onnx": "nasvec.io.onnx_write",
    "to_torch": "nasvec.io.torch_build",
    "REFERENCE": "nasvec.data.reference",
    "reference": "nasvec.data.reference",
    "generate_configs": "nasvec.data.zoo",
    "export_zoo": "nasvec.data.zoo",
    "load_zoo": "nasvec.data.zoo",
    "TrainConfig": "nasvec.train",
    "DVAE": "nasvec.compress.dvae",
    "DVAEEMB": "nasvec.compress.dvae",
    "CompressorConfig": "nasvec.compress.registry",
    "repair": "nasvec.repair_rules.engine",
    "relaxed_mean": "nasvec.dnas.gumbel_softmax",
    "exact_mean": "nasvec.dnas.gumbel_softmax",
    "vertex_expectation": "nasvec.dnas.gumbel_softmax",
    "HyperNet": "nasvec.dnas.hyper",
    "SuperNet": "nasvec.dnas.cells",
    "Genotype": "nasvec.dnas.cells",
    "SearchError": "nasvec.errors",
}


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'nasvec' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
