"""Compressors of architecture graphs (chapters 2 and 3): one interface, several models.

* :mod:`.base` — the interface (:class:`Compressor`), the batch format (:class:`DagBatch`), the training loop
  (:func:`fit_compressor`, its settings :class:`VAETraining`);
* :mod:`.setvec` — the set-of-vectors models: AE, VAE, seq2seq, the seed paper's split-latent VAE;
* :mod:`.dvae`, :mod:`.dvae_decoders` — D-VAE and DVAE-EMB, batched;
* :mod:`.registry` — every model by name, :class:`CompressorConfig`, :func:`train_compressor` (cached);
* :mod:`.attributed` — chapter 3's attribute-aware split-latent compressor of CNN graphs;
* :mod:`.metrics` — D-VAE's protocol: reconstruction, validity, uniqueness, novelty;
* :mod:`.latent` — what a latent space is good for: GP prediction and Bayesian optimisation.
"""

from .base import Compressor, DagBatch, VAETraining, fit_compressor, fit_compressor_cached
from .registry import MODEL_KEYS, MODELS, CompressorConfig, available_models, make_compressor, train_compressor

__all__ = ["MODELS", "MODEL_KEYS", "Compressor", "CompressorConfig", "DagBatch", "VAETraining", "available_models",
           "fit_compressor", "fit_compressor_cached", "make_compressor", "train_compressor"]
