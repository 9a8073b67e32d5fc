"""nasvec: the package behind the executable book on neural architecture search.

Everything the notebooks compute lives here; the notebooks narrate and call it.
Names are imported lazily, so ``import nasvec`` is cheap and a chapter that
needs only graphs does not pay for torch or onnx.

Layers (a module imports only layers below it)::

    book pipeline (book, report, cli)
    methods       (compressors, repair, search)
    I/O and data  (data, onnx/torch builders, the CNN zoo)
    graph core    (graph, vocabulary, vector representation)
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "ArchGraph": "nasvec.graph",
    "Node": "nasvec.graph",
    "GraphError": "nasvec.graph",
    "seed_everything": "nasvec.utils",
    "DVAE": "nasvec.compress.dvae",
    "DVAEEMB": "nasvec.compress.dvae",
    "relaxed_mean": "nasvec.gumbel",
    "exact_mean": "nasvec.gumbel",
    "vertex_expectation": "nasvec.gumbel",
    "from_onnx": "nasvec.onnx_io",
    "to_onnx": "nasvec.onnx_io",
    "from_torch": "nasvec.onnx_io",
    "export_torch": "nasvec.onnx_io",
    "to_torch": "nasvec.torch_io",
    "encode": "nasvec.vectors",
    "decode": "nasvec.vectors",
    "VectorRep": "nasvec.vectors",
    "infer_shapes": "nasvec.shapes",
    "REFERENCE": "nasvec.models",
    "reference": "nasvec.models",
    "generate_configs": "nasvec.zoo",
    "export_zoo": "nasvec.zoo",
    "load_zoo": "nasvec.zoo",
    "repair": "nasvec.repair",
    "HyperNet": "nasvec.search",
    "SuperNet": "nasvec.search",
    "Genotype": "nasvec.search",
    "SearchError": "nasvec.search",
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
