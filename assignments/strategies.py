# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment: Search and evaluation strategies side by side
# This assignment follows the chapter *Search and evaluation strategies side by side*. On the complete
# NAS-Bench-201 table (15,625 cells, one CIFAR-10 accuracy each) you build the neighbourhood that local
# search and evolution move in, compute the exact expected regret of random search, and implement
# regularized evolution, which must beat random search at your query budget.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# budget: {integer: [120, 200]}
# population: {choice: [20, 30]}
# tournament: {choice: [5, 10]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0
budget = 150
population = 30
tournament = 10
secret_seed = 1            # the hidden tests' own cells, budgets and seeds: each student's drawn from the class's secret

# %%
import numpy as np

from nasvec.data.nb201 import NB201_EDGES, NB201_OPS, cell_index, load_nb201

table = load_nb201()
cells, acc = table.cells.astype(np.int64), table.accuracy   # row i: the cell whose base-5 number is i
N = len(acc)
my_cell = int(np.random.default_rng([seed, 7001]).integers(N))
print(f"{N} cells, best {acc.max():.2f} %, mean {acc.mean():.2f} %")
print(f"your cell: id {my_cell}, ops {[NB201_OPS[o] for o in cells[my_cell]]} on edges {list(NB201_EDGES)}")
print(f"your budget: {budget} queries; evolution with population {population}, tournament {tournament}")

# %% [raw]
# # BEGIN QUESTION
# name: hamming_neighbourhood
# points: 2
# reference: [nasvec.strategies.space.Space.neighbours, nasvec.strategies.space.Space]
# shortcuts:
#   - name: the neighbours left unsorted
#     replace: [["return np.sort(np.array(out, dtype=np.int64))", "return np.array(out, dtype=np.int64)"]]
#   - name: the last edge taken as the most significant digit
#     replace: [["out.append(int(cell_index(c)))", "out.append(int(c @ 5 ** np.arange(6)))"]]

# %% [markdown]
# **The neighbourhood of a cell.** A NAS-Bench-201 cell is a vector of 6 op ids, one per edge, each in
# $\{0, \dots, 4\}$; its id is its base-5 number with the first edge most significant,
# $\mathrm{id}(c) = \sum_{p=0}^{5} c_p\, 5^{5-p}$ (so `cells[i]` is the cell with id `i`, and
# `cell_index(c)` computes the id). Two cells are **neighbours** when they differ on exactly one edge
# (Hamming distance 1); every cell has $6 \cdot 4 = 24$ of them. Local search and regularized evolution
# move only between neighbours.
#
# Define `neighbours(i)` that takes a cell id `i` (an `int`) and returns a 1-D `numpy` array of the 24
# ids of its neighbours, **sorted ascending**.

# %% [raw]
# # BEGIN SOLUTION

# %%
def neighbours(i):
    # BEGIN SOLUTION
    code = cells[int(i)]
    out = []
    for p in range(6):
        for op in range(5):
            if op != code[p]:
                c = code.copy()
                c[p] = op
                out.append(int(cell_index(c)))
    return np.sort(np.array(out, dtype=np.int64))
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
nb0 = np.asarray(neighbours(0)); (nb0.shape, len(set(nb0.tolist())), 0 in nb0.tolist())

# %%
np.asarray(neighbours(0)).tolist()[:6]

# %%
# HIDDEN
np.asarray(neighbours(my_cell)).tolist()[::4]

# %%
# HIDDEN
from nasvec.strategies.space import Space
_space = Space.product("NB201", 6, 5)
_ids = np.random.default_rng(secret_seed).choice(N, 8, replace=False)     # cells of the grader's own
(bool(np.array_equal(np.asarray(neighbours(my_cell)), np.sort(_space.neighbours(my_cell)))),
 all(bool(np.array_equal(np.asarray(neighbours(int(i))), np.sort(_space.neighbours(int(i))))) for i in _ids))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: random_search_regret
# points: 3
# reference: []
# shortcuts:
#   - name: the binomial coefficients as floats (they overflow)
#     replace: [["from scipy.special import gammaln", "from scipy.special import comb, gammaln"], ["np.exp(logp)", "comb(n - j, k - 1) / comb(n, k)"]]
#   - name: the k cells drawn with replacement
#     replace: [["return float(a[0] - np.sum(np.exp(logp) * a[: n - k + 1]))", "jj = np.arange(1, n + 1)\n    return float(a[0] - np.sum((((n - jj + 1) / n) ** k - ((n - jj) / n) ** k) * a))"]]

# %% [markdown]
# **The expected regret of random search.** Random search queries $k$ distinct cells drawn uniformly
# without replacement; its regret after $k$ queries is the table's best accuracy minus the best accuracy
# among the $k$ queried. Its expectation has a closed form: sort the accuracies in decreasing order,
# $a_{(1)} \ge a_{(2)} \ge \dots \ge a_{(N)}$; the best of the $k$ is $a_{(j)}$ with probability
#
# $$P_j = \binom{N - j}{k - 1} \Big/ \binom{N}{k}, \qquad j = 1, \dots, N - k + 1,$$
#
# so $\mathbb E[\text{regret}_k] = a_{(1)} - \sum_j P_j\, a_{(j)}$.
#
# Define `expected_regret(k)` that returns this expectation for the whole table (`acc`, $N = 15625$)
# as a `float`, for every $1 \le k \le N$. The binomial coefficients overflow a float for large $N$:
# work with their logarithms (`scipy.special.gammaln`) or with the ratio $P_{j+1} / P_j$. Compare with
# the chapter's anytime table: with your budget, how far behind the strategies is random search?

# %% [raw]
# # BEGIN SOLUTION

# %%
def expected_regret(k):
    # BEGIN SOLUTION
    from scipy.special import gammaln

    a = np.sort(np.asarray(acc, float))[::-1]
    n, k = len(a), int(k)
    j = np.arange(1, n - k + 2)
    logp = (gammaln(n - j + 1) - gammaln(k) - gammaln(n - j - k + 2)) - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    return float(a[0] - np.sum(np.exp(logp) * a[: n - k + 1]))
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
bool(abs(expected_regret(1) - (acc.max() - acc.mean())) < 1e-6)

# %%
(bool(abs(expected_regret(N)) < 1e-6), bool(expected_regret(10) > expected_regret(100) > 0))

# %%
# HIDDEN
round(float(expected_regret(budget)), 4)

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)          # budgets of the grader's own, small to large
print([round(float(expected_regret(k)), 4) for k in (int(_r.integers(2, 120)), int(_r.integers(150, 1500)), int(_r.integers(1500, N)))])

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: regularized_evolution
# points: 4
# reference: [nasvec.strategies.blackbox.RegularizedEvolution, nasvec.experiments.strategies.RegularizedEvolution, nasvec.strategies.space.Space.mutate]
# shortcuts:
#   - name: the first cells queried as the population (no aging)
#     replace: [["pop = ids[-population:]", "pop = ids[:population]"]]
#   - name: a random member as the parent (no tournament)
#     replace: [["parent = max((pop[j] for j in pick), key=lambda i: acc[i])", "parent = pop[int(pick[0])]"]]

# %% [markdown]
# **Regularized evolution.** Implement aging evolution (Real et al. 2019) on the table, as the chapter
# runs it:
#
# 1. query `population` distinct cells drawn uniformly at random;
# 2. then, until `budget` cells are queried: the **population** is the last `population` cells queried;
#    draw `tournament` of its members without replacement, take the one with the highest accuracy as the
#    parent, and query a random neighbour of the parent (your `neighbours`) that has not been queried
#    yet — if all 24 have been, query a random cell not yet queried instead. (The oldest member leaves
#    the population because the population is always the *last* `population` queried.)
#
# Define `regularized_evolution(seed, budget, population, tournament)` returning a 1-D `numpy` array
# of the `budget` cell ids in query order, no id twice, all randomness from
# `np.random.default_rng(seed)`. Its regret after query $t$ is `acc.max() - acc[ids[:t + 1]].max()`.
# The tests check the rules above on your variant and on settings of the grader's own (among them a
# tournament of the whole population, whose parent is then always its best member), and that, averaged
# over 20 runs from the grader's seeds, your evolution's final regret is below 0.7 times the expected
# regret of random search with the same budget.

# %% [raw]
# # BEGIN SOLUTION

# %%
def regularized_evolution(seed, budget, population, tournament):
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    ids = rng.choice(N, size=min(population, budget), replace=False).tolist()
    seen = set(ids)
    while len(ids) < budget:
        pop = ids[-population:]
        pick = rng.choice(len(pop), size=min(tournament, len(pop)), replace=False)
        parent = max((pop[j] for j in pick), key=lambda i: acc[i])
        free = [j for j in neighbours(parent).tolist() if j not in seen]
        if free:
            child = int(rng.choice(free))
        else:
            child = int(rng.integers(N))
            while child in seen:
                child = int(rng.integers(N))
        ids.append(child)
        seen.add(child)
    return np.array(ids, dtype=np.int64)
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %%
def neighbour_share(ids, population):
    """The share of the children (queries after the first `population`) that differ on exactly one edge
    from some member of the population they were bred from (the `population` queries before them)."""
    ids = np.asarray(ids)
    hits = [((cells[ids[t - population:t]] != cells[ids[t]]).sum(1) == 1).any() for t in range(population, len(ids))]
    return float(np.mean(hits)) if hits else 0.0

# %% [raw]
# # BEGIN TESTS

# %%
ev = np.asarray(regularized_evolution(0, 60, 20, 5)); (ev.shape, len(set(ev.tolist())), bool(((ev >= 0) & (ev < N)).all()))

# %%
bool(neighbour_share(regularized_evolution(1, 80, 20, 5), 20) >= 0.9)

# %%
# HIDDEN
mine = np.asarray(regularized_evolution(seed, budget, population, tournament)); (mine.shape, len(set(mine.tolist())), bool(((mine >= 0) & (mine < N)).all()))

# %%
# HIDDEN
bool(neighbour_share(regularized_evolution(seed, budget, population, tournament), population) >= 0.9)

# %%
# HIDDEN
from scipy.special import gammaln; a, j = np.sort(acc)[::-1], np.arange(1, N - budget + 2)
rand = a[0] - np.sum(np.exp(np.log(budget) + gammaln(N - j + 1) + gammaln(N - budget + 1) - gammaln(N - j - budget + 2) - gammaln(N + 1)) * a[:N - budget + 1])
final = [acc.max() - acc[np.asarray(regularized_evolution(secret_seed + r, budget, population, tournament))].max() for r in range(20)]
(round(float(0.7 * rand), 4), bool(np.mean(final) < 0.7 * rand))

# %%
# HIDDEN
_p = 10 + secret_seed % 11                       # a tournament of the whole population: the parent is its best
_ids = np.asarray(regularized_evolution(secret_seed, 3 * _p + 30, _p, _p))
_ok = []
for _t in range(_p, len(_ids)):                  # each child: a neighbour of a best member, or all theirs queried
    _w = _ids[_t - _p:_t]
    _top = _w[acc[_w] == acc[_w].max()]
    _ok.append(bool(((cells[_top] != cells[_ids[_t]]).sum(1) == 1).any())
               or any(((cells[_ids[:_t]] != cells[p]).sum(1) == 1).sum() == 24 for p in _top))
(len(_ids), len(set(_ids.tolist())), all(_ok))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
