"""Finite search spaces (chapter 7): every candidate a row of categorical codes, every candidate an id.

Every space chapter 7 searches is a finite list of ``N`` candidates — the 15,625 NAS-Bench-201 cells,
the 19,020 architectures of D-VAE's ENAS-6 pool, a drawn set of cells of the live benchmark, a toy
space — so a candidate is an integer id and a strategy works with ids. A :class:`Space` offers what a
strategy needs (NASLib's design): ``sample``, ``mutate``, ``neighbours``, a ``hash`` (the id itself) and
encodings (:meth:`Space.encode`: one-hot codes; NAS-Bench-201's path encoding, BANANAS's).

Neighbours are one code apart. In a complete product space (:meth:`Space.product`) that is every
single change; in a pool (:meth:`Space.pool`), where a single change almost never lands on another
member, the neighbours are all the nearest members in Hamming distance (ours: the pool's analogue).

A benchmark declares what a strategy may not assume: the choices per position (``cards``, one count each), which
codes are architectures (``valid``), which codes are the same architecture (``canonical``: isomorphic codes map to
one), and what the codes are (``cell``). Strategies query only valid, canonical candidates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..errors import SearchError


@dataclass(eq=False)
class Space:
    """``codes`` (N, L) ints and ``cards`` choices per position; neighbours in compressed rows (``nbr_ptr`` (N + 1),
    ``nbr_idx``: the neighbours of ``i`` are ``nbr_idx[nbr_ptr[i]:nbr_ptr[i + 1]]``).

    ``allowed`` (N,) marks the candidates a strategy may query: valid (the benchmark's validity predicate) and the
    canonical member of their isomorphism class (``canon`` maps every id to its class's canonical id). A strategy
    never proposes another one, so invalid codes and isomorphic duplicates are never queried nor counted.
    ``cell`` declares what the codes are when a strategy can use it (``"nb201"``: NAS-Bench-201's cell DAG, whose
    path encoding BANANAS uses); nothing is inferred from the array's shape."""

    name: str
    codes: np.ndarray
    cards: tuple
    nbr_ptr: np.ndarray
    nbr_idx: np.ndarray
    op_names: tuple = ()
    kind: str = "pool"
    cell: str | None = None
    allowed: np.ndarray | None = None
    canon: np.ndarray | None = None
    _enc: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        n = len(self.codes)
        self.canon = np.arange(n) if self.canon is None else np.asarray(self.canon, dtype=np.int64)
        self.allowed = np.ones(n, bool) if self.allowed is None else np.asarray(self.allowed, dtype=bool).copy()
        if self.canon.shape != (n,) or self.allowed.shape != (n,):
            raise SearchError(f"space {self.name!r}: canon and allowed need one entry per candidate ({n})")
        self.allowed &= self.canon == np.arange(n)
        if not self.allowed.any():
            raise SearchError(f"space {self.name!r}: no candidate is valid")
        if self.cell not in CELLS:
            raise SearchError(f"space {self.name!r}: unknown cell {self.cell!r} (known: {sorted(CELLS)})")
        if self.cell is not None and (self.codes.shape[1], tuple(self.cards)) != CELLS[self.cell]:
            raise SearchError(f"space {self.name!r}: a {self.cell} cell has {CELLS[self.cell][0]} positions of "
                              f"{CELLS[self.cell][1][0]} choices, the codes have cards {self.cards}")

    def __len__(self) -> int:
        return len(self.codes)

    # ------------------------------------------------------------------ construction
    @classmethod
    def product(cls, name: str, cards, n_ops: int | None = None, op_names=(), valid=None, canonical=None,
                cell: str | None = None) -> "Space":
        """Every code of ``cards`` choices per position (or ``cards`` positions of ``n_ops`` choices each); id =
        the mixed-radix number of the code (first position most significant). ``valid`` (codes (N, L) -> bool
        (N,)) marks the codes that are architectures; ``canonical`` (codes -> codes) maps a code to its isomorphism
        class's representative. Neighbours: every single change, as its canonical member, if allowed."""
        cards = (int(n_ops),) * int(cards) if n_ops is not None else tuple(int(c) for c in cards)
        if not cards or min(cards) < 2 or np.prod(cards, dtype=float) > 2_000_000:
            raise SearchError(f"product space {name!r}: choices per position {cards} give an empty or too large "
                              f"space (at least 2 choices per position, at most 2,000,000 codes)")
        codes = np.array(list(itertools.product(*[range(c) for c in cards])), dtype=np.int16)
        weights = np.array([int(np.prod(cards[p + 1:], dtype=np.int64)) for p in range(len(cards))])
        allowed, canon = _classes(name, codes, valid, canonical, lambda c: c @ weights)
        nbrs = []
        for p, c in enumerate(cards):
            for d in range(1, c):
                changed = codes.copy()
                changed[:, p] = (changed[:, p] + d) % c
                nbrs.append(canon[changed @ weights])
        ptr, idx = _rows(np.stack(nbrs, 1), allowed, distinct=canonical is None)
        return cls(name, codes, cards, ptr, idx, tuple(op_names), "product", cell, allowed, canon)

    @classmethod
    def pool(cls, name: str, codes, cards=None, k: int | None = None, op_names=(), valid=None, canonical=None,
             cell: str | None = None) -> "Space":
        """A pool of given code rows. Neighbours: every allowed member at the smallest Hamming distance from the
        member (its whole neighbourhood, however many; ``k`` keeps at most the ``k`` nearest, ties broken by a
        fixed random order of the members). ``valid`` and ``canonical`` as in :meth:`product` (the canonical
        member of a class is its first member in the pool)."""
        codes = np.asarray(codes, dtype=np.int16)
        if codes.ndim != 2 or len(codes) < 2:
            raise SearchError(f"pool {name!r}: expected at least 2 code rows (N, L), got shape {codes.shape}")
        if len({r.tobytes() for r in codes}) != len(codes):
            raise SearchError(f"pool {name!r}: two members have the same codes")
        cards = tuple(int(c) for c in (cards if cards is not None else codes.max(0) + 1))
        lookup = {r.tobytes(): i for i, r in enumerate(codes)}
        allowed, canon = _classes(name, codes, valid, canonical, None, lookup)
        tie = np.random.default_rng(0).permutation(len(codes))           # a fixed random tie-break
        onehot = np.zeros((len(codes), int(sum(cards))), dtype=np.float32)   # Hamming = L - matches
        onehot[np.arange(len(codes))[:, None], codes + np.concatenate([[0], np.cumsum(cards)[:-1]])] = 1.0
        rows = []
        for s in range(0, len(codes), 1024):
            dist = codes.shape[1] - np.rint(onehot[s:s + 1024] @ onehot.T).astype(np.int64)
            dist[:, ~allowed] = 10 ** 6
            dist[np.arange(dist.shape[0]), np.arange(s, s + dist.shape[0])] = 10 ** 6   # not itself
            for r in dist:
                near = np.flatnonzero(r == r.min()) if r.min() < 10 ** 6 else np.zeros(0, np.int64)
                near = near[np.argsort(tie[near], kind="stable")]
                if k is not None and len(near) < k:   # the k nearest, whatever their distance
                    order = np.lexsort((tie, r))
                    near = order[:k][r[order[:k]] < 10 ** 6]
                rows.append(near[:k] if k is not None else near)
        ptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        idx = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        return cls(name, codes, cards, ptr, idx, tuple(op_names), "pool", cell, allowed, canon)

    def id_of(self, code) -> int | None:
        """The id of a code of this space (its canonical member), or None when it is not a member."""
        if self.kind == "product":
            if any(not 0 <= int(x) < c for x, c in zip(code, self.cards)):
                return None
            return int(self.canon[int(np.ravel_multi_index(tuple(int(x) for x in code), self.cards))])
        if "lookup" not in self._enc:
            self._enc["lookup"] = {r.tobytes(): i for i, r in enumerate(self.codes)}
        i = self._enc["lookup"].get(np.asarray(code, dtype=np.int16).tobytes())
        return None if i is None else int(self.canon[i])

    # ------------------------------------------------------------------ the strategy's operations
    def check(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= len(self)):
            raise SearchError(f"space {self.name!r}: ids must be integers in 0..{len(self) - 1}")
        return ids.astype(np.int64)

    def sample(self, rng: np.random.Generator, n: int, exclude=None) -> np.ndarray:
        """``n`` distinct allowed ids not in the boolean mask ``exclude`` (N,), uniformly (fewer if too few are
        left)."""
        free = np.flatnonzero(self.allowed & ~exclude) if exclude is not None else np.flatnonzero(self.allowed)
        return rng.choice(free, min(n, len(free)), replace=False) if len(free) else np.zeros(0, np.int64)

    def neighbours(self, i: int) -> np.ndarray:
        return self.nbr_idx[self.nbr_ptr[int(i)]:self.nbr_ptr[int(i) + 1]]

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
            elif kind == "path" and self.cell == "nb201":
                enc = nb201_paths(self.codes)
            elif kind == "path":
                raise SearchError(f"space {self.name!r}: the path encoding needs a declared cell DAG "
                                  f"(cell='nb201'); this space declares none")
            else:
                raise SearchError(f"unknown encoding {kind!r}; expected 'onehot' or 'path'")
            self._enc[kind] = enc
        return self._enc[kind]


#: the cell DAGs a space may declare: name -> (positions, choices per position)
CELLS = {None: None, "nb201": (6, (5,) * 6)}


def _classes(name, codes, valid, canonical, number=None, lookup=None):
    """``(allowed, canon)``: the valid codes, and every id's canonical id (the id of ``canonical(code)`` in a product
    space, ``number`` giving it; in a pool, the first member whose canonical code is the same)."""
    n = len(codes)
    allowed = np.ones(n, bool) if valid is None else np.asarray(valid(codes), dtype=bool).reshape(-1)
    if allowed.shape != (n,):
        raise SearchError(f"space {name!r}: valid(codes) must return one bool per code ({n}), got {allowed.shape}")
    if canonical is None:
        return allowed, np.arange(n)
    can = np.asarray(canonical(codes.copy()), dtype=np.int64)
    if can.shape != codes.shape:
        raise SearchError(f"space {name!r}: canonical(codes) must return codes of shape {codes.shape}, got {can.shape}")
    if number is not None:
        canon = np.asarray(number(can), dtype=np.int64)
    else:
        first = {}
        canon = np.array([first.setdefault(r.astype(np.int16).tobytes(), i) for i, r in enumerate(can)])
    canon = canon[canon]   # a representative is its own (canonical of canonical)
    return allowed & allowed[canon], canon


def _rows(nbrs: np.ndarray, allowed: np.ndarray, distinct: bool = False):
    """Compressed rows of the neighbour table: per row, the allowed ids in order, each once (``distinct``: the rows
    hold no repeat and not the row's own id, as a product space's single changes without a canonical form)."""
    if distinct and allowed.all():
        flat = nbrs.reshape(-1)   # the table as it is
        return np.arange(0, flat.size + 1, nbrs.shape[1], dtype=np.int64), flat.astype(np.int64)
    rows = []
    for i, r in enumerate(nbrs):
        r = r[allowed[r] & (r != i)]
        _, first = np.unique(r, return_index=True)
        rows.append(r[np.sort(first)])
    ptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return ptr, np.concatenate(rows).astype(np.int64)


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
