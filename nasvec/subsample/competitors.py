"""The competitors of chapter 6, each searching on the whole training set within a budget of trainings.

Every one returns a :class:`Found`: the best structure by quality ``L = validation error + C K``, and
every structure it trained with its quality. ``budget`` counts trainings on the whole training set;
the ledger shows what was spent (it never exceeds the budget).

* :func:`random_search` — the paper's random search at a fixed share, on the whole data;
* :func:`evolution` — regularized evolution (Real et al. 2019), children in rounds of ``batch``;
* :func:`reinforce` — REINFORCE over independent Bernoulli connections and categorical activations,
  a moving-average baseline (the RL baseline the paper names);
* :func:`adanet` — an AdaNet-style learner (Cortes et al. 2017, reimplemented; the PyPI package is
  TensorFlow): it grows the network by blocks of hidden neurons, keeping the candidate that lowers the
  objective most, and stops when none does;
* :func:`magnitude_pruning` — train the dense ReLU network, keep the largest weights (as many per layer
  as the search's share), fine-tune with the mask fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import SearchError
from .masked import (ACTIVATIONS, FitConfig, Ledger, Structure, counts, errors, fit_score, mutate, quality,
                     random_structure, top_mask, train)

COMPETITORS = ("random search", "evolution", "reinforce", "AdaNet-style growth", "magnitude pruning")


@dataclass
class Found:
    """A search's outcome: its best structure, that structure's quality and validation error, and
    every structure it trained, in order, with its quality."""

    z: Structure
    quality: float
    error: float
    history: list = field(default_factory=list)   # (structure, quality, error)
    ledger: Ledger = field(default_factory=Ledger)


class _Scorer:
    """Trains structures on the task's training set, scores them on its validation set, keeps the books."""

    def __init__(self, task, fit: FitConfig, C: float, budget: int, seed: int):
        if budget < 1:
            raise SearchError(f"a search needs a budget of at least 1 training, got {budget}")
        self.task, self.fit, self.C, self.budget, self.seed = task, fit, C, budget, seed
        self.ledger, self.history, self.calls = Ledger(), [], 0

    @property
    def left(self) -> int:
        return self.budget - self.ledger.trainings

    def __call__(self, zs: list[Structure]) -> np.ndarray:
        zs = zs[:self.left]
        if not zs:
            return np.zeros(0)
        self.calls += 1
        out = fit_score(zs, self.task.x_train, self.task.y_train, {"val": (self.task.x_val, self.task.y_val)},
                        self.fit, seed=self.seed * 1000 + self.calls, ledger=self.ledger)
        q = quality(out["val"], [z.K for z in zs], self.C)
        self.history += [(z, float(qi), float(e)) for z, qi, e in zip(zs, q, out["val"])]
        return q

    def found(self) -> Found:
        z, q, e = min(self.history, key=lambda t: t[1])
        return Found(z, q, e, self.history, self.ledger)


def _shape(task) -> tuple[int, int, int]:
    return (task.n_features, task.n_features, task.classes)


def random_search(task, budget: int, share, C: float, fit: FitConfig, seed: int) -> Found:
    rng = np.random.default_rng([seed, 6031])
    score = _Scorer(task, fit, C, budget, seed)
    score([random_structure(_shape(task), share, rng) for _ in range(budget)])
    return score.found()


def evolution(task, budget: int, share, C: float, fit: FitConfig, seed: int, population: int = 16,
              tournament: int = 4, batch: int = 8) -> Found:
    """Regularized evolution: a random population, then rounds of ``batch`` children, each a mutation of
    the best of ``tournament`` random members; the oldest members die."""
    rng = np.random.default_rng([seed, 6032])
    score = _Scorer(task, fit, C, budget, seed)
    pop = [random_structure(_shape(task), share, rng) for _ in range(min(population, budget))]
    qs = list(score(pop))
    while score.left > 0:
        kids = []
        for _ in range(min(batch, score.left)):
            pick = rng.choice(len(pop), size=min(tournament, len(pop)), replace=False)
            kids.append(mutate(pop[min(pick, key=lambda i: qs[i])], rng))
        qs_kids = score(kids)
        pop, qs = (pop + kids)[len(kids):], (qs + list(qs_kids))[len(kids):]
    return score.found()


def reinforce(task, budget: int, share, C: float, fit: FitConfig, seed: int, batch: int = 8, lr: float = 0.1,
              decay: float = 0.8) -> Found:
    """REINFORCE: a policy of independent Bernoulli connections (started at the search's share) and a
    categorical activation per neuron (started uniform); reward ``-L``, baseline a moving average."""
    n, h, c = _shape(task)
    k1, k2 = counts((n, h, c), share)
    p1, p2 = k1 / (n * h), k2 / (h * c)
    gen = torch.Generator().manual_seed(seed)
    logit = lambda p: float(np.log(p / (1 - p))) if p < 1 else 6.0
    params = [torch.full((n, h), logit(p1), requires_grad=True), torch.full((h, c), logit(p2), requires_grad=True),
              torch.zeros(h, len(ACTIVATIONS), requires_grad=True), torch.zeros(c, len(ACTIVATIONS), requires_grad=True)]
    opt = torch.optim.Adam(params, lr=lr)
    score = _Scorer(task, fit, C, budget, seed)
    baseline = None
    while score.left > 0:
        b = min(batch, score.left)
        d1 = torch.distributions.Bernoulli(logits=params[0].expand(b, n, h))
        d2 = torch.distributions.Bernoulli(logits=params[1].expand(b, h, c))
        d3 = torch.distributions.Categorical(logits=params[2].expand(b, h, -1))
        d4 = torch.distributions.Categorical(logits=params[3].expand(b, c, -1))
        with torch.no_grad():
            s1 = (torch.rand((b, n, h), generator=gen) < torch.sigmoid(params[0])).float()
            s2 = (torch.rand((b, h, c), generator=gen) < torch.sigmoid(params[1])).float()
            s3 = torch.multinomial(torch.softmax(params[2], -1), b, True, generator=gen).T
            s4 = torch.multinomial(torch.softmax(params[3], -1), b, True, generator=gen).T
        zs = [Structure(s1[i].bool().numpy(), s3[i].numpy(), s2[i].bool().numpy(), s4[i].numpy()) for i in range(b)]
        reward = -torch.as_tensor(score(zs), dtype=torch.float32)
        mean = float(reward.mean())
        baseline = mean if baseline is None else decay * baseline + (1 - decay) * mean
        logp = (d1.log_prob(s1).sum((1, 2)) + d2.log_prob(s2).sum((1, 2)) + d3.log_prob(s3).sum(1)
                + d4.log_prob(s4).sum(1))
        opt.zero_grad()
        (-(reward - baseline) * logp).mean().backward()
        opt.step()
    return score.found()


def adanet(task, budget: int, share, C: float, fit: FitConfig, seed: int, block: int = 2, candidates: int = 4) -> Found:
    """AdaNet-style growth: start with no hidden neuron; each round trains ``candidates`` extensions (a block
    of ``block`` or ``2 block`` new hidden neurons, each reading ``fan_in`` random inputs — ``fan_in`` drawn
    around the share's fan-in — with a random activation, feeding every output) and keeps the best if
    it lowers the quality; stops when no candidate does, or the budget or the hidden neurons run out.
    (AdaNet's own objective is a complexity-penalised training loss; ours is the chapter's quality.)"""
    n, h, c = _shape(task)
    k1, _ = counts((n, h, c), share)
    mean_fan = max(1, round(k1 / h))
    rng = np.random.default_rng([seed, 6034])
    score = _Scorer(task, fit, C, budget, seed)
    cur = Structure(np.zeros((n, h), bool), np.ones(h, np.int64), np.zeros((h, c), bool), np.zeros(c, np.int64))
    cur_q, used = np.inf, 0
    while score.left > 0 and used < h:
        cands = []
        for i in range(min(candidates, score.left)):
            grow = min(h - used, block * (1 + i % 2))
            v1, a1, v2 = cur.v1.copy(), cur.a1.copy(), cur.v2.copy()
            for j in range(used, used + grow):
                fan = int(np.clip(rng.integers(1, 2 * mean_fan + 1), 1, n))
                v1[rng.choice(n, size=fan, replace=False), j] = True
                a1[j] = rng.integers(len(ACTIVATIONS))
                v2[j] = True
            cands.append((Structure(v1, a1, v2, cur.a2), grow))
        qs = score([z for z, _ in cands])
        best = int(np.argmin(qs))
        if qs[best] >= cur_q:
            break
        (cur, grow), cur_q = cands[best], float(qs[best])
        used += grow
    return score.found()


def magnitude_pruning(task, budget: int, share, C: float, fit: FitConfig, seed: int, rounds: int = 4) -> Found:
    """Iterative magnitude pruning (Han et al. 2015): train the dense network (ReLU hidden, identity outputs),
    then in up to ``rounds`` rounds (as the budget allows) keep the largest ``|w|`` of each layer — the kept
    count falling geometrically to the search's share — and fine-tune from the kept weights, mask fixed."""
    if budget < 2:
        raise SearchError(f"magnitude pruning needs 2 trainings (dense, then fine-tune), budget is {budget}")
    n, h, c = _shape(task)
    k1, k2 = counts((n, h, c), share)
    z = Structure(np.ones((n, h), bool), np.ones(h, np.int64), np.ones((h, c), bool), np.zeros(c, np.int64))
    score = _Scorer(task, fit, C, budget, seed)
    w = train([z], task.x_train, task.y_train, fit, seed=seed, ledger=score.ledger)
    r = min(rounds, budget - 1)
    for i in range(1, r + 1):
        keep1 = int(round(n * h * (k1 / (n * h)) ** (i / r)))
        keep2 = int(round(h * c * (k2 / (h * c)) ** (i / r)))
        z = Structure(top_mask(w[0][0].abs().numpy(), keep1), z.a1, top_mask(w[1][0].abs().numpy(), keep2), z.a2)
        w = train([z], task.x_train, task.y_train, fit, seed=seed, init=w, ledger=score.ledger)
    err = float(errors([z], w, task.x_val, task.y_val)[0])
    q = float(quality(err, z.K, C))
    return Found(z, q, err, [(z, q, err)], score.ledger)


def run(name: str, task, budget: int, share, C: float, fit: FitConfig, seed: int) -> Found:
    """The competitor ``name`` (one of :data:`COMPETITORS`)."""
    funcs = {"random search": random_search, "evolution": evolution, "reinforce": reinforce, "AdaNet-style growth": adanet,
             "magnitude pruning": magnitude_pruning}
    if name not in funcs:
        raise SearchError(f"unknown competitor {name!r}; known: {', '.join(COMPETITORS)}")
    return funcs[name](task, budget, share, C, fit, seed)
