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
# # Assignment: Data sets used in this book
# This assignment follows the chapter *Data sets used in this book*. You draw a class-balanced
# subset of the digits and measure how unbalanced a plain random subset of the same size is; then
# you turn generated ENAS architectures back into D-VAE's list encoding and check the generator's
# skip-connection rate. Everything runs on data embedded in scikit-learn or generated here.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# n_subset: {integer: [50, 400]}
# n_layers: {choice: [4, 5, 6, 7, 8]}
# skip_prob: {uniform: [0.1, 0.6]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0          # defaults: the variant every reader of the book sees
n_subset = 100    # images in the digits subset
n_layers = 6      # layers of the generated ENAS architectures
skip_prob = 0.3   # probability that a skip connection is set
secret_seed = 1   # the hidden tests' own labels, subsets and graphs: each student's drawn from the class's secret

# %%
import numpy as np

from nasvec.data import ENAS_OPS, enas_to_graph, generate_enas, load_digits, split_indices

digits_x, digits_y = load_digits()          # 1,797 images of 8x8 pixels, labels 0..9
graphs = generate_enas(300, n_layers=n_layers, skip_prob=skip_prob, seed=seed)
print(len(digits_y), "digits;", len(graphs), "ENAS graphs of", n_layers, "layers, skip_prob =", skip_prob)

# %% [raw]
# # BEGIN QUESTION
# name: stratified_subset
# points: 3
# reference: [nasvec.data.images.stratified_subset, nasvec.data.stratified_subset]
# shortcuts:
#   - name: the remainder n mod k dropped (n // k images per class)
#     replace: [["[:n // k + (c < n % k)]", "[:n // k]"]]
#   - name: the extra images given to the last classes
#     replace: [["(c < n % k)", "(c >= k - n % k)"]]

# %% [markdown]
# **Draw a class-balanced subset.** The `quick` profile trains on a few hundred digits, and a small
# subset should contain every class about equally often. Write a function
# `stratified_indices(y, n, rng)` that returns a sorted 1-D `numpy` array of `n` distinct indices
# into the label array `y` (integers $0 \dots k-1$, where $k$ is `y.max() + 1`), drawn as follows:
# for each class $c = 0, 1, \dots, k-1$ in that order, take `rng.permutation` of the indices of
# class $c$ and keep its first $\lfloor n/k \rfloor + [c < n \bmod k]$ entries (the first
# $n \bmod k$ classes get one more); then concatenate the pieces and sort them. `rng` is a
# `numpy.random.Generator`; call `rng.permutation` exactly once per class, in class order, so that
# the same generator gives the same subset as `nasvec.data.stratified_subset` (which you may not call).

# %% [raw]
# # BEGIN SOLUTION

# %%
def stratified_indices(y, n, rng):
    # BEGIN SOLUTION
    y = np.asarray(y)
    k = int(y.max()) + 1
    parts = [rng.permutation(np.flatnonzero(y == c))[:n // k + (c < n % k)] for c in range(k)]
    return np.sort(np.concatenate(parts))
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
toy = np.array([0, 0, 0, 1, 1, 2, 2, 2])
toy_idx = stratified_indices(toy, 5, np.random.default_rng(0))
print(len(toy_idx), np.bincount(toy[toy_idx]).tolist(), bool(np.all(np.diff(toy_idx) > 0)))

# %%
# HIDDEN
idx = stratified_indices(digits_y, n_subset, np.random.default_rng(seed))
print(len(idx), np.bincount(digits_y[idx], minlength=10).tolist())

# %%
# HIDDEN
from nasvec.data import stratified_subset
idx = stratified_indices(digits_y, n_subset, np.random.default_rng(seed))
print(bool(np.array_equal(idx, stratified_subset(digits_y, n_subset, np.random.default_rng(seed)))),
      np.asarray(idx)[:6].tolist())

# %%
# HIDDEN
from nasvec.data import stratified_subset
_r = np.random.default_rng(secret_seed)       # labels of the grader's own: k classes, n not a multiple of k
_k = int(_r.integers(3, 9))
_y = _r.integers(0, _k, 500)
_n = _k * int(_r.integers(4, 12)) + int(_r.integers(1, _k))
_idx = np.asarray(stratified_indices(_y, _n, np.random.default_rng(secret_seed + 1)))
print(_k, _n, np.bincount(_y[_idx], minlength=_k).tolist(),
      bool(np.array_equal(_idx, stratified_subset(_y, _n, np.random.default_rng(secret_seed + 1)))))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: random_split_imbalance
# points: 2
# reference: []
# shortcuts:
#   - name: the classes that do not occur left out (np.unique's counts)
#     replace: [["np.bincount(digits_y[idx], minlength=10)", "np.unique(digits_y[idx], return_counts=True)[1]"]]
#   - name: the test part of the split instead of the training part
#     replace: [["split_indices(len(digits_y), n, seed=seed)[0]", "split_indices(len(digits_y), n, seed=seed)[1]"]]

# %% [markdown]
# **How unbalanced is a random subset?** Every train/test split of the book is
# `nasvec.data.split_indices(n, n_train, seed=seed)`: the first `n_train` entries of a seeded random
# permutation, with no attention to the classes. Define the *class gap* of a subset as the largest
# minus the smallest number of images of one class in it (over the ten digit classes, a class that
# does not occur counting 0).
#
# 1. Write `class_gap(idx)` that returns the class gap (a Python `int`) of the digits with the indices
#    `idx`, i.e. of the labels `digits_y[idx]`.
# 2. Write `split_gap(n, seed)` that returns the class gap of the training part of
#    `split_indices(len(digits_y), n, seed=seed)`.
# 3. Set `random_gap` to `split_gap(n_subset, seed)` and `stratified_gap` to the class gap of your
#    `stratified_indices(digits_y, n_subset, np.random.default_rng(seed))`, for your `n_subset` and `seed`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def class_gap(idx):
    # BEGIN SOLUTION
    counts = np.bincount(digits_y[idx], minlength=10)
    return int(counts.max() - counts.min())
    # END SOLUTION


def split_gap(n, seed):
    return class_gap(split_indices(len(digits_y), n, seed=seed)[0])  # SOLUTION


random_gap = split_gap(n_subset, seed)  # SOLUTION
stratified_gap = class_gap(stratified_indices(digits_y, n_subset, np.random.default_rng(seed)))  # SOLUTION
print("class gap: random", random_gap, "stratified", stratified_gap)

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(random_gap, int) and isinstance(stratified_gap, int) and 0 <= stratified_gap <= 1 and random_gap >= 0

# %%
# HIDDEN
print(random_gap, stratified_gap)

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)       # subsets of the grader's own, two classes absent from each
_gaps = []
for _size in (12, 25, 40):
    _absent = _r.choice(10, 2, replace=False)
    _gaps.append(int(class_gap(_r.choice(np.flatnonzero(~np.isin(digits_y, _absent)), _size, replace=False))))
print(_gaps)

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)       # splits of the grader's own
print([int(split_gap(int(_n), int(_s))) for _n, _s in zip(_r.integers(50, 401, 4), _r.integers(0, 10**6, 4))])

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: enas_list_encoding
# points: 3
# reference: [nasvec.data.enas.graph_to_enas, nasvec.data.graph_to_enas]
# shortcuts:
#   - name: the setup's n_layers for the number of layers
#     replace: [["for i in range(len(g) - 2):", "for i in range(n_layers):"]]
#   - name: the skip flag s_j read from node j + 1 (layer j) instead of node j
#     replace: [["[int(j in preds) for j in range(i)]", "[int(j + 1 in preds) for j in range(i)]"]]

# %% [markdown]
# **From a graph back to D-VAE's list encoding.** D-VAE writes an ENAS network of $L$ layers as a
# list of $L$ lists: layer $i$ ($i = 0 \dots L-1$) is `[op, s_0, ..., s_{i-1}]`, where `op` is the
# index of the layer's operation in `nasvec.data.ENAS_OPS` and $s_j = 1$ when layer $i$ also reads
# node $j$ through a skip connection. `nasvec.data.enas_to_graph` turns it into an `ArchGraph`: node 0
# is the input, node $i+1$ is layer $i$, node $L+1$ the output; layer $i$ always reads node $i$ (the
# previous layer, or the input for layer 0) and also every node $j < i$ with $s_j = 1$. Write
# `to_enas_list(g)` that inverts it: given such an `ArchGraph`, return the list encoding as a list of
# lists of Python `int`s. Use `g.nodes[k].op` and `g.predecessors(k)`; do not call
# `nasvec.data.graph_to_enas`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def to_enas_list(g):
    # BEGIN SOLUTION
    arch = []
    for i in range(len(g) - 2):
        preds = set(g.predecessors(i + 1))
        arch.append([ENAS_OPS.index(g.nodes[i + 1].op)] + [int(j in preds) for j in range(i)])
    return arch
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
print(to_enas_list(enas_to_graph([[0], [3, 1], [5, 0, 1]])))

# %%
# HIDDEN
print(to_enas_list(graphs[0]))

# %%
# HIDDEN
from nasvec.data import graph_to_enas
print(sum(to_enas_list(g) == graph_to_enas(g) for g in graphs), len(graphs))

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)       # architectures of the grader's own, 2 to 9 layers
_archs = [[[int(_r.integers(len(ENAS_OPS)))] + [int(f) for f in _r.random(i) < 0.5] for i in range(int(_n))]
          for _n in _r.integers(2, 10, 30)]
print(sum(to_enas_list(enas_to_graph(_a)) == _a for _a in _archs), len(_archs), to_enas_list(enas_to_graph(_archs[0])))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: skip_share
# points: 2
# reference: [nasvec.data.enas.enas_statistics, nasvec.data.enas_statistics]
# shortcuts:
#   - name: the mean of the per-graph shares instead of the pooled share
#     replace: [["return float(set_flags / slots)", "return float(np.mean([(len(g.edges) - len(g) + 1) / ((len(g) - 2) * (len(g) - 3) // 2) for g in graphs]))"]]
#   - name: the edge into the output counted as a skip connection
#     replace: [["len(g.edges) - (len(g) - 2) - 1", "len(g.edges) - (len(g) - 2)"]]

# %% [markdown]
# **Does the generator set skip connections at the rate it claims?** `generate_enas` sets each of the
# $L(L-1)/2$ skip flags of an $L$-layer network independently with probability `skip_prob` (D-VAE's
# file has about 0.30). Write `skip_share(graphs)` that returns, as a Python `float`, the share of all
# skip flags of all the given graphs that are set (pooled over the graphs, which may have different
# numbers of layers $L \ge 2$). Compute it from the graphs' edges: besides the
# skip connections, an $L$-layer graph has the $L$ edges of the chain and the edge into the output.
# Then compare `skip_share(graphs)` with your `skip_prob`: with 300 graphs, the two should differ by
# a few standard errors $\sqrt{p(1-p)/(300 \cdot L(L-1)/2)}$ at most.

# %% [raw]
# # BEGIN SOLUTION

# %%
def skip_share(graphs):
    # BEGIN SOLUTION
    set_flags = sum(len(g.edges) - (len(g) - 2) - 1 for g in graphs)
    slots = sum((len(g) - 2) * (len(g) - 3) // 2 for g in graphs)
    return float(set_flags / slots)
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
share = float(skip_share(graphs))
0.0 <= share <= 1.0

# %%
round(float(skip_share([enas_to_graph([[0], [3, 1], [5, 0, 1]])])), 4)

# %%
# HIDDEN
round(float(skip_share(graphs)), 4)

# %%
# HIDDEN
from nasvec.data import enas_statistics
s = enas_statistics(graphs)
bool(np.isclose(skip_share(graphs), s["skip_ones"] / (s["skip_ones"] + s["skip_zeros"])))

# %%
# HIDDEN
from nasvec.data import enas_statistics
_r = np.random.default_rng(secret_seed)       # graphs of the grader's own: few small ones, many large ones
_gs = (generate_enas(int(_r.integers(20, 40)), n_layers=int(_r.integers(2, 4)), skip_prob=0.6, seed=secret_seed)
       + generate_enas(int(_r.integers(20, 40)), n_layers=int(_r.integers(7, 10)), skip_prob=0.15, seed=secret_seed + 1))
_s = enas_statistics(_gs)
(round(float(skip_share(_gs)), 4), bool(np.isclose(skip_share(_gs), _s["skip_ones"] / (_s["skip_ones"] + _s["skip_zeros"]))))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
