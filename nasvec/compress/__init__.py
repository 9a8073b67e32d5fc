"""Compressors of architecture graphs (chapter 2): one interface, several models.

See :mod:`nasvec.compress.base` for the interface (:class:`Compressor`), the
batch format (:class:`DagBatch`) and the shared trainer (:func:`fit`).
"""
