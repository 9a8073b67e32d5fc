"""Structure from subsamples (chapter 6, seed 002): find a near-optimal sparse structure on small subsamples of
the data and predict the whole data set's structure from them.

* :mod:`.masked` — structures ``Z`` (masks and activations), populations of masked networks, quality ``L``,
  proximity ``F``;
* :mod:`.tasks` — planted-teacher and image tasks;
* :mod:`.meta` — the subsample search and the meta-models that predict ``Z``;
* :mod:`.competitors` — searches on the whole data set within the same budget of trainings.

Chapter 6's runs and tables are in :mod:`nasvec.experiments.structure`.
"""
