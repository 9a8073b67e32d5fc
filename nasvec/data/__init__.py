"""Data: image data sets and their splits, ENAS architectures, reference CNNs, the CNN zoo.

* :mod:`.images` — digits, Fashion-MNIST, MNIST's test split; :class:`ImageData`, :func:`split_indices`;
* :mod:`.enas` — D-VAE's ENAS-6 architectures, generated ones, D-VAE's validity check;
* :mod:`.reference` — the reference CNN families, written out in torch (chapter 1's test bed);
* :mod:`.zoo` — the seeded generator of 1500 CNN architectures (chapters 1 and 3).

Real data is looked up in ``$NASVEC_DATA`` first; loaders verify checksums and fail with one
:class:`~nasvec.errors.DataError` that says how to get the missing files. Every name below is imported
on first use (``_EXPORTS``), so a chapter that reads images does not depend on the graph modules the
ENAS loaders import, and the published edition's fingerprints say so.
"""

from importlib import import_module

_EXPORTS = {
    "DataError": "nasvec.errors",
    **{name: "nasvec.data.enas" for name in (
        "ENAS_FILE_SHA256", "ENAS_OPS", "ENAS_TYPES", "EnasData", "enas_invalid_reason", "enas_split",
        "enas_statistics", "enas_to_graph", "enas_types", "generate_enas", "graph_to_enas", "is_valid_enas",
        "load_enas")},
    **{name: "nasvec.data.images" for name in (
        "DEBIAN_FASHION_MNIST", "FASHION_MNIST_CLASSES", "FASHION_MNIST_SHA256", "FASHION_MNIST_URL", "ImageData",
        "data_dir", "image_data", "load_digits", "load_fashion_mnist", "load_images", "load_mnist_test", "parse_idx",
        "split_indices", "stratified_subset")},
}


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'nasvec.data' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
