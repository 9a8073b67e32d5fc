"""Search and evaluation strategies side by side (chapter 7, seed 003).

* :mod:`~nasvec.strategies.space`  — finite search spaces (sample, mutate, neighbours, encodings), with what a
  benchmark declares: choices per position, valid codes, a canonical form, the cell DAG;
* :mod:`~nasvec.strategies.blackbox` — ask/tell strategies: random, regularized evolution, local search, REINFORCE;
* :mod:`~nasvec.strategies.bo`     — GP Bayesian optimisation (BoTorch) and a BANANAS-style ensemble;
* :mod:`~nasvec.strategies.runner` — the benchmark protocol (:class:`Table`: the search signal and the reported score
  apart, their unit, a query's cost), runs over many seeds, traces with regret and test regret;
* :mod:`~nasvec.strategies.cellnet`, :mod:`~nasvec.strategies.live`, :mod:`~nasvec.strategies.proxies`,
  :mod:`~nasvec.strategies.oneshot` — the live benchmark and the evaluation strategies.

To search your own benchmark, wrap it in a ``Space`` and a ``Table`` and run the strategies; chapter 7's section
"Bring your own benchmark" (``nasvec.experiments.strategies_byob``) is a worked example.
"""
