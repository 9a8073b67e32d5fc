"""Search strategies as ask/tell objects, run for many seeds at once (chapter 7).

A strategy holds ``S`` independent searches (one per seed, each with its own generator spawned from
the run's seed) over one :class:`~nasvec.strategies.space.Space`. ``ask()`` returns ``(S, q)``
candidate ids, ``tell(ids, values)`` hands back their accuracies (higher is better). Every search
knows which ids it has queried (``seen``) and proposes unseen ones where it can.

Here the model-free strategies: random search, regularized evolution (Real et al. 2019), local search
(White et al. 2021: evaluate the whole neighbourhood, move to its best, restart at a local optimum) and
REINFORCE (Williams 1992; a factorised softmax policy over the op at each position, as in the NAS-Bench
papers' baseline). The model-based ones (GP Bayesian optimisation, BANANAS) are in
:mod:`nasvec.strategies.bo`.
"""

from __future__ import annotations

import numpy as np

from ..errors import SearchError
from .space import Space


class Strategy:
    """Base class: ``S`` searches over ``space``; subclasses define :meth:`propose` and may :meth:`update`."""

    name = "strategy"
    batch = 1   # candidates per ask

    def __init__(self, space: Space, n_seeds: int, seed: int = 0):
        if n_seeds < 1:
            raise SearchError(f"{self.name}: n_seeds must be at least 1, got {n_seeds}")
        self.space, self.S = space, int(n_seeds)
        self.rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(self.S)]
        # a search never proposes what it has queried, nor a candidate the benchmark rules out (an invalid code, a
        # duplicate of an isomorphic one): those start out as seen
        self.seen = np.repeat(~space.allowed[None, :], self.S, axis=0)
        self.hist_ids: list[list[int]] = [[] for _ in range(self.S)]
        self.hist_y: list[list[float]] = [[] for _ in range(self.S)]

    def ask(self) -> np.ndarray:
        ids = np.asarray([self.propose(s) for s in range(self.S)], dtype=np.int64).reshape(self.S, -1)
        return self.space.check(ids)

    def tell(self, ids, values) -> None:
        ids, values = np.asarray(ids).reshape(self.S, -1), np.asarray(values, dtype=float).reshape(self.S, -1)
        for s in range(self.S):
            self.seen[s, ids[s]] = True
            self.hist_ids[s] += ids[s].tolist()
            self.hist_y[s] += values[s].tolist()
        self.update(ids, values)

    def propose(self, s: int):
        raise NotImplementedError

    def update(self, ids: np.ndarray, values: np.ndarray) -> None:
        pass

    def random_unseen(self, s: int, n: int = 1) -> np.ndarray:
        return self.space.sample(self.rngs[s], n, self.seen[s])

    def one_unseen(self, s: int) -> int:
        """One random allowed id search ``s`` has not queried (a random allowed id once all are queried)."""
        free = self.random_unseen(s, 1)
        return int(free[0]) if len(free) else int(self.space.sample(self.rngs[s], 1)[0])


class RandomSearch(Strategy):
    """Uniformly random candidates, never one already queried."""

    name = "random"

    def propose(self, s):
        return self.one_unseen(s)

    def ask(self) -> np.ndarray:   # vectorised over seeds: a random free id per seed by rejection
        N = len(self.space)
        out = np.empty(self.S, dtype=np.int64)
        for s, rng in enumerate(self.rngs):
            for _ in range(20):
                i = int(rng.integers(N))
                if not self.seen[s, i]:
                    break
            else:
                i = self.one_unseen(s)
            out[s] = i
        return out[:, None]


class RegularizedEvolution(Strategy):
    """Aging evolution: a queue of the last ``population`` queried; a child mutates the best of ``sample``
    members drawn at random; the oldest member dies (defaults: NASLib's 30 and 10)."""

    name = "evolution"

    def __init__(self, space, n_seeds, seed=0, population: int = 30, sample: int = 10):
        super().__init__(space, n_seeds, seed)
        if not 1 <= sample <= population:
            raise SearchError(f"evolution: need 1 <= sample ({sample}) <= population ({population})")
        self.population, self.sample = population, sample

    def propose(self, s):
        if len(self.hist_ids[s]) < self.population:
            return self.one_unseen(s)
        ids, y = self.hist_ids[s][-self.population:], self.hist_y[s][-self.population:]
        pick = self.rngs[s].choice(self.population, self.sample, replace=False)
        parent = ids[max(pick, key=lambda j: y[j])]
        return self.space.mutate(self.rngs[s], parent, self.seen[s])


class LocalSearch(Strategy):
    """From a random start, query the whole neighbourhood, move to its best if it improves, else restart."""

    name = "local search"

    def __init__(self, space, n_seeds, seed=0):
        super().__init__(space, n_seeds, seed)
        self.current = [None] * self.S     # (id, value)
        self.queue = [[] for _ in range(self.S)]
        self.round = [[] for _ in range(self.S)]   # (id, value) of this neighbourhood

    def propose(self, s):
        while self.queue[s] and self.seen[s, self.queue[s][0]]:
            self.queue[s].pop(0)
        if self.current[s] is None or not self.queue[s]:
            return self.one_unseen(s)
        return self.queue[s].pop(0)

    def update(self, ids, values):
        for s in range(self.S):
            i, v = int(ids[s, 0]), float(values[s, 0])
            if self.current[s] is None or (not self.queue[s] and not self.round[s]):
                self._move(s, i, v)
                continue
            self.round[s].append((i, v))
            if not any(not self.seen[s, j] for j in self.queue[s]):
                best = max(self.round[s], key=lambda t: t[1])
                self.round[s] = []
                if best[1] > self.current[s][1]:
                    self._move(s, *best)
                else:   # a local optimum: restart at the next (random) proposal
                    self.current[s], self.queue[s] = None, []

    def _move(self, s, i, v):
        self.current[s] = (i, v)
        nb = self.space.neighbours(i)
        nb = nb[~self.seen[s, nb]]
        self.queue[s] = self.rngs[s].permutation(nb).tolist()
        self.round[s] = []


class Reinforce(Strategy):
    """REINFORCE on a factorised softmax policy (one categorical per position). The reward is normalised: minus an
    exponential moving-average baseline, divided by the running standard deviation of the search's rewards, so the
    search is the same whatever the benchmark's unit (percent or fraction) or spread. A sampled code that is not a
    member of a pool space is replaced by its nearest member (Hamming); one the space rules out or already queried
    is redrawn (up to 20 times, then a random unqueried one). ``lr`` 0.05 per standard deviation: on NAS-Bench-201
    (accuracies' sd 12.9 points) the first steps are about the size the unnormalised reward (accuracy / 100 at lr
    0.5) took before."""

    name = "REINFORCE"

    def __init__(self, space, n_seeds, seed=0, lr: float = 0.05, decay: float = 0.9):
        super().__init__(space, n_seeds, seed)
        self.lr, self.decay = lr, decay
        L, K = space.codes.shape[1], max(space.cards)
        self.logits = np.zeros((self.S, L, K))
        self.mask = np.arange(K)[None, :] >= np.asarray(space.cards)[:, None]   # positions with fewer choices
        self.baseline = np.full(self.S, np.nan)
        self.moments = np.zeros((self.S, 3))   # count, mean, sum of squared deviations (Welford)

    def probs(self) -> np.ndarray:
        z = np.where(self.mask, -np.inf, self.logits)
        z = np.exp(z - z.max(-1, keepdims=True))
        return z / z.sum(-1, keepdims=True)

    def _code_id(self, code: np.ndarray) -> int:
        i = self.space.id_of(code)
        if i is None:   # not a member of the pool: its nearest member
            i = int(self.space.canon[int(np.argmin((self.space.codes != code).sum(1)))])
        return i

    def ask(self) -> np.ndarray:   # all seeds at once: inverse-CDF draws, redrawn where already queried
        cdf = np.cumsum(self.probs(), -1)
        out = np.zeros(self.S, dtype=np.int64)
        todo = np.arange(self.S)
        for _ in range(20):
            u = np.stack([self.rngs[s].random(cdf.shape[1]) for s in todo])
            codes = np.minimum((u[..., None] > cdf[todo]).sum(-1), np.asarray(self.space.cards) - 1)
            out[todo] = [self._code_id(c) for c in codes]
            todo = todo[self.seen[todo, out[todo]]]
            if not len(todo):
                break
        for s in todo:
            out[s] = self.one_unseen(s)
        return self.space.check(out[:, None])

    def update(self, ids, values):
        r = values[:, 0]
        n, mean, m2 = self.moments.T.copy()
        n, delta = n + 1, r - mean
        mean = mean + delta / n
        m2 = m2 + delta * (r - mean)
        self.moments = np.stack([n, mean, m2], 1)
        scale = np.sqrt(m2 / np.maximum(n - 1, 1))
        b = np.where(np.isnan(self.baseline), r, self.baseline)
        adv = np.where(scale > 0, (r - b) / np.where(scale > 0, scale, 1.0), 0.0)
        self.baseline = self.decay * b + (1 - self.decay) * r
        onehot = np.zeros_like(self.logits)
        codes = self.space.codes[ids[:, 0]]
        onehot[np.arange(self.S)[:, None], np.arange(codes.shape[1])[None, :], codes] = 1.0
        grad = onehot - self.probs()          # d log pi(a) / d logits
        self.logits += self.lr * adv[:, None, None] * np.where(self.mask, 0.0, grad)
