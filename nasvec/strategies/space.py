"""Finite search spaces (chapter 7): every candidate a row of categorical codes, every candidate an id.

Every space chapter 7 searches is a finite list of ``N`` candidates — the 15,625 NAS-Bench-201 cells,
the 19,020 architectures of D-VAE's ENAS-6 pool, a drawn set of cells of the live benchmark, a toy
space — so a candidate is an integer id and a strategy works with ids. A :class:`Space` offers what a
strategy needs (NASLib's design): ``sample``, ``mutate``, ``neighbours``, a ``hash`` (the id itself) and
encodings (:meth:`Space.encode`: one-hot codes; NAS-Bench-201's path encoding, BANANAS's).

Neighbours are one code apart. In a complete product space (:meth:`Space.product`) that is every
single change; in a pool (:meth:`Space.pool`), where a single change almost never lands on another
member, the neighbours are the nearest members in Hamming distance (ours: the pool's analogue).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..errors import SearchError


@dataclass(eq=False)
class Space:
    """``codes`` (N, L) ints, ``cards`` choices per position; ``nbrs`` (N, k) neighbour ids, -1 padded."""

    name: str
    codes: np.ndarray
    cards: tuple
    nbrs: np.ndarray
    op_names: tuple = ()
    kind: str = "pool"
    _enc: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.codes)

    # ------------------------------------------------------------------ construction
    @classmethod
    def product(cls, name: str, n_pos: int, n_ops: int, op_names=()) -> "Space":
        """All ``n_ops ** n_pos`` cells; id = the base-``n_ops`` number of the codes (first most significant)."""
        if n_pos < 1 or n_ops < 2 or n_ops ** n_pos > 2_000_000:
            raise SearchError(f"product space {name!r}: {n_ops} ops ** {n_pos} positions is empty or too large")
        codes = np.array(list(itertools.product(range(n_ops), repeat=n_pos)), dtype=np.int16)
        weights = n_ops ** np.arange(n_pos - 1, -1, -1)
        nbrs = []
        for p in range(n_pos):
            for d in range(1, n_ops):
                changed = codes.copy()
                changed[:, p] = (changed[:, p] + d) % n_ops
                nbrs.append(changed @ weights)
        return cls(name, codes, (n_ops,) * n_pos, np.stack(nbrs, 1).astype(np.int64), tuple(op_names), "product")

    @classmethod
    def pool(cls, name: str, codes, cards=None, k: int = 24, op_names=()) -> "Space":
        """A pool of given code rows; neighbours = the ``k`` nearest other members by Hamming distance
        (ties broken by a fixed random order of the members)."""
        codes = np.asarray(codes, dtype=np.int16)
        if codes.ndim != 2 or len(codes) < 2:
            raise SearchError(f"pool {name!r}: expected at least 2 code rows (N, L), got shape {codes.shape}")
        if len({r.tobytes() for r in codes}) != len(codes):
            raise SearchError(f"pool {name!r}: two members have the same codes")
        cards = tuple(int(c) for c in (cards if cards is not None else codes.max(0) + 1))
        tie = np.random.default_rng(0).permutation(len(codes))           # a fixed random tie-break
        k = min(k, len(codes) - 1)
        nbrs = np.empty((len(codes), k), dtype=np.int64)
        onehot = np.zeros((len(codes), int(sum(cards))), dtype=np.float32)   # Hamming = L - matches
        onehot[np.arange(len(codes))[:, None], codes + np.concatenate([[0], np.cumsum(cards)[:-1]])] = 1.0
        for s in range(0, len(codes), 1024):
            dist = codes.shape[1] - np.rint(onehot[s:s + 1024] @ onehot.T).astype(np.int64)
            dist[np.arange(dist.shape[0]), np.arange(s, s + dist.shape[0])] = 10 ** 6   # not itself
            key = dist * len(codes) + tie
            part = np.argpartition(key, k - 1, axis=1)[:, :k]
            nbrs[s:s + 1024] = np.take_along_axis(part, np.argsort(np.take_along_axis(key, part, 1), 1), 1)
        return cls(name, codes, cards, nbrs, tuple(op_names), "pool")

    # ------------------------------------------------------------------ the strategy's operations
    def check(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= len(self)):
            raise SearchError(f"space {self.name!r}: ids must be integers in 0..{len(self) - 1}")
        return ids.astype(np.int64)

    def sample(self, rng: np.random.Generator, n: int, exclude=None) -> np.ndarray:
        """``n`` distinct ids not in the boolean mask ``exclude`` (N,), uniformly (fewer if too few are left)."""
        free = np.flatnonzero(~exclude) if exclude is not None else np.arange(len(self))
        return rng.choice(free, min(n, len(free)), replace=False) if len(free) else np.zeros(0, np.int64)

    def neighbours(self, i: int) -> np.ndarray:
        row = self.nbrs[int(i)]
        return row[row >= 0]

    def mutate(self, rng: np.random.Generator, i: int, exclude=None) -> int:
        """A random neighbour of ``i`` (one not in ``exclude`` if there is one; else a random free id)."""
        nb = self.neighbours(i)
        if exclude is not None:
            nb = nb[~exclude[nb]]
            if not len(nb):
                pick = self.sample(rng, 1, exclude)
                return int(pick[0]) if len(pick) else int(i)
        return int(rng.choice(nb))

    # ------------------------------------------------------------------ encodings
    def encode(self, kind: str = "onehot") -> np.ndarray:
        """Features of every candidate, float32 (N, D): ``onehot`` (one block per position) or ``path``
        (NAS-Bench-201 only: which op sequences connect the cell's input to its output, BANANAS's encoding)."""
        if kind not in self._enc:
            if kind == "onehot":
                offsets = np.concatenate([[0], np.cumsum(self.cards)[:-1]])
                enc = np.zeros((len(self), int(sum(self.cards))), dtype=np.float32)
                enc[np.arange(len(self))[:, None], self.codes + offsets] = 1.0
            elif kind == "path":
                enc = nb201_paths(self.codes)
            else:
                raise SearchError(f"unknown encoding {kind!r}; expected 'onehot' or 'path'")
            self._enc[kind] = enc
        return self._enc[kind]


#: NAS-Bench-201's input-to-output paths through a cell, as edge positions (edge order of ``nasvec.data.nb201``)
NB201_PATHS = ((2,), (0, 4), (1, 5), (0, 3, 5))


def nb201_paths(codes, n_ops: int = 5, none_op: int = 1) -> np.ndarray:
    """BANANAS's path encoding of NAS-Bench-201 cells: one feature per (path, op sequence) — 5 + 25 + 25 + 125
    = 180 — set when that path carries that sequence of ops; paths through a ``none`` edge carry nothing."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 6:
        raise SearchError(f"the path encoding is for NAS-Bench-201 cells (N, 6); got shape {codes.shape}")
    blocks = []
    for path in NB201_PATHS:
        seq = np.zeros(len(codes), dtype=np.int64)
        for p in path:
            seq = seq * n_ops + codes[:, p]
        alive = (codes[:, list(path)] != none_op).all(1)
        block = np.zeros((len(codes), n_ops ** len(path)), dtype=np.float32)
        block[np.flatnonzero(alive), seq[alive]] = 1.0
        blocks.append(block)
    return np.concatenate(blocks, 1)
