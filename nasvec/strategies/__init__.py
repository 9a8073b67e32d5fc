"""Search and evaluation strategies side by side (chapter 7, seed 003).

* :mod:`~nasvec.strategies.space`  — finite search spaces (sample, mutate, neighbours, encodings);
* :mod:`~nasvec.strategies.blackbox` — ask/tell strategies: random, regularized evolution, local search, REINFORCE;
* :mod:`~nasvec.strategies.bo`     — GP Bayesian optimisation (BoTorch) and a BANANAS-style ensemble;
* :mod:`~nasvec.strategies.runner` — tabular benchmarks, runs over many seeds, anytime incumbents;
* :mod:`~nasvec.strategies.cellnet`, :mod:`~nasvec.strategies.live`, :mod:`~nasvec.strategies.proxies`,
  :mod:`~nasvec.strategies.oneshot` — the live benchmark and the evaluation strategies.
"""
