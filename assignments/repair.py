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
# # Assignment: Repair rules
# This assignment follows the chapter *Repair rules and training after a round trip*. You write two of
# the repair rules of `nasvec.repair` yourself (cleaning a decoder's edge list, and finding the nodes a
# pruned graph keeps), then one kind of controlled damage, and use the package's `repair` to check the
# chapter's claim that repair undoes what the rest of the decode implies: reversed edges come back
# exactly, while rewired ones do not.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# n_nodes: {integer: [8, 24]}
# network: {choice: [resnet18, vgg11, mobilenet_v2, squeezenet1_1]}
# damage_k: {choice: [5, 10, 20, 40]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0
n_nodes = 12
network = "resnet18"
damage_k = 10
secret_seed = 1            # the hidden tests' own inputs: each student's is drawn from the class's secret

# %%
import numpy as np
import torch

import nasvec
from nasvec.experiments.repair import reference_graphs
from nasvec.repair_rules.damage import damage, kept

torch.set_num_threads(1)
rng = np.random.default_rng(seed)


def garbage_edges(n, rng):
    """A decoder's edge list for n nodes: [2, E] floats with out-of-range ends, NaN, inf, non-integers,
    self-loops, duplicates and backward edges."""
    e = rng.integers(-2, n + 2, size=(2, 4 * n)).astype(np.float64)
    e[:, : n] = np.stack([np.arange(n - 1, -1, -1), np.arange(n)])       # half of them backwards, one a loop
    e[:, n: n + 3] = e[:, :3]                                             # duplicates
    cells = rng.choice(e.size, n, replace=False)
    e.flat[cells[: n // 3]] = rng.choice([np.nan, np.inf, -np.inf], n // 3)
    e.flat[cells[n // 3:]] += rng.choice([-0.3, 0.2, 0.4], n - n // 3)   # non-integers, never x.5
    return e


edges = garbage_edges(n_nodes, rng)
print(f"a decoder's edge list of {edges.shape[1]} columns for {n_nodes} nodes")

# %% [raw]
# # BEGIN QUESTION
# name: edge_rules
# points: 4
# reference: [nasvec.repair_rules.arrays.decode_edges]
# shortcuts:
#   - name: backward edges dropped instead of reversed
#     replace: [["e = np.where(e[0] > e[1], e[::-1], e)", "e = e[:, e[0] < e[1]]"]]
#   - name: truncated instead of rounded
#     replace: [["e = np.round(e).astype(np.int64)", "e = e.astype(np.int64)"]]
#   - name: ordered by destination, then by source (not a stable sort)
#     replace: [["e = e[:, np.argsort(e[1], kind=\"stable\")]", "e = e[:, np.lexsort((e[0], e[1]))]"]]

# %% [markdown]
# **Clean a decoder's edge list (rules `edges` and `acyclic`).** A decoder emits an edge list as a
# `[2, E]` float array: column $e$ is an edge from node `edge_index[0, e]` to node `edge_index[1, e]`.
# Nodes are numbered $0 \dots n-1$ in topological order. Define `clean_edges(edge_index, n)` that returns
# an `int64` numpy array of shape `[2, E']`, the edges that survive these rules, applied in this order:
#
# 1. a column with a non-finite entry (NaN, ±inf) is dropped; the others are rounded to the nearest integer;
# 2. a column naming a node outside $0 \dots n-1$ is dropped;
# 3. a self-loop ($i \to i$) is dropped;
# 4. a backward edge ($i \to j$ with $i > j$) is reversed to $j \to i$;
# 5. the edges are ordered by destination, ascending; edges with the same destination keep the order
#    they had in the input (a *stable* sort);
# 6. of several copies of one edge, only the first (in that order) stays.
#
# The setup cell made such a list, `edges`, for `n_nodes` nodes.

# %% [raw]
# # BEGIN SOLUTION

# %%
def clean_edges(edge_index, n):
    # BEGIN SOLUTION
    e = np.asarray(edge_index, dtype=np.float64)
    e = e[:, np.isfinite(e).all(0)]
    e = np.round(e).astype(np.int64)
    e = e[:, ((e >= 0) & (e < n)).all(0)]
    e = e[:, e[0] != e[1]]
    e = np.where(e[0] > e[1], e[::-1], e)
    e = e[:, np.argsort(e[1], kind="stable")]
    seen, keep = set(), []
    for k, (s, d) in enumerate(e.T.tolist()):
        keep.append((s, d) not in seen)
        seen.add((s, d))
    return e[:, np.array(keep, dtype=bool)] if e.shape[1] else e
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
clean_edges(np.array([[0, 2, 1, 1, 5, 2.2], [1, 1, 1, 2, 0, np.nan]]), 3).tolist()

# %%
out = clean_edges(edges, n_nodes)
out.dtype == np.int64, out.ndim, out.shape[0]

# %%
# HIDDEN
from collections import Counter
from nasvec.repair_rules.arrays import decode_edges
out = clean_edges(edges, n_nodes)
bool(np.array_equal(out, decode_edges(edges, None, n_nodes, 0.5, Counter()))), out.shape

# %%
# HIDDEN
from collections import Counter
from nasvec.repair_rules.arrays import decode_edges
_g = np.random.default_rng(secret_seed)         # an edge list and a size of the grader's own
_n = 8 + secret_seed % 17
_near = _g.integers(0, _n, (2, 2 * _n)) + _g.choice([-0.4, 0.3, 0.6], (2, 2 * _n))   # non-integers either side
_more = np.concatenate([garbage_edges(_n, _g), _near, garbage_edges(_n, _g)[::-1]], axis=1)
_out = clean_edges(_more, _n)
bool(np.array_equal(_out, decode_edges(_more, None, _n, 0.5, Counter()))), int(_out.sum())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: prune_rule
# points: 2
# reference: [nasvec.repair_rules.emit.reaching]
# shortcuts:
#   - name: a forward pass (only the Output's direct inputs)
#     replace: [["for k in range(n - 1, -1, -1):", "for k in range(n):"]]
#   - name: dropping only the nodes nobody reads
#     replace: [["if keep[k]:", "if True:"]]

# %% [markdown]
# **Which nodes does rule `prune` keep?** After the structural rules, a graph of $n$ nodes is a list
# `ins` of length $n$: `ins[k]` lists the nodes that node $k$ reads, all of them smaller than $k$;
# node $n-1$ is the Output. Rule `prune` keeps a node exactly when the Output depends on it: node
# $n-1$ itself, and every node from which a path of edges leads to node $n-1$. Define
# `reaches_output(ins)` that returns a list of $n$ Python bools, `True` for the nodes kept.
# Try to make it one pass over the nodes (from the last to the first).

# %% [raw]
# # BEGIN SOLUTION

# %%
def reaches_output(ins):
    # BEGIN SOLUTION
    n = len(ins)
    keep = [False] * n
    keep[n - 1] = True
    for k in range(n - 1, -1, -1):
        if keep[k]:
            for j in ins[k]:
                keep[j] = True
    return keep
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
[bool(x) for x in reaches_output([[], [0], [0], [1]])]

# %%
# HIDDEN
from nasvec.repair_rules.emit import reaching
_g = np.random.default_rng(secret_seed)         # graphs of the grader's own
_cases = [[[]] + [sorted(set(_g.integers(0, k, _g.integers(0, 3)).tolist())) for k in range(1, n_nodes)] for _ in range(20)]
_answers = [[bool(x) for x in reaches_output(ins)] for ins in _cases]
all(a == reaching(ins, len(ins)) for a, ins in zip(_answers, _cases)), sum(map(sum, _answers))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Controlled damage
#
# The setup below builds `network` (a reference CNN of `nasvec.data.reference`, 32×32 RGB input, 10
# classes) as a graph `original` and its vector representation `arrays = nasvec.encode(original)`;
# `arrays.edge_index` is its `[2, E]` edge list. `nasvec.repair_rules.damage.damage(g, k, kind, seed)` damages
# `k` per cent of the entries of every array; `nasvec.repair(v, input_shape=shape, num_classes=10)`
# repairs it.

# %%
original, shape = reference_graphs([network])[network]
arrays = nasvec.encode(original)
print(f"{network}: {len(original)} nodes, {arrays.edge_index.shape[1]} edges, input {shape}")

# %% [raw]
# # BEGIN QUESTION
# name: flip_damage
# points: 4
# reference: []
# shortcuts:
#   - name: k per cent of the entries instead of the columns
#     replace: [["int(round(k / 100 * e.shape[1]))", "int(round(k / 100 * e.size))"]]
#   - name: the damage kind left at its default
#     replace: [["damage(original, damage_k, \"ids\", seed=s)", "damage(original, damage_k, seed=s)"]]
#   - name: flipped in place, no copy
#     replace: [["e = np.array(edge_index, dtype=np.float64)", "e = np.asarray(edge_index, dtype=np.float64)"]]

# %% [markdown]
# **Reverse edges, then repair.** Define `flip_edges(edge_index, k, rng)` that returns a float64 copy of
# the `[2, E]` array `edge_index` in which $m$ = `int(round(k / 100 * E))` columns are reversed (source and
# destination swapped): the columns `rng.choice(E, m, replace=False)`, drawn exactly like that, once,
# from the numpy generator `rng`. (That is `nasvec`'s damage of kind `"flip"`.)
#
# Then test the claim that repair undoes such damage, on `original`:
#
# * `flip_restored`: a Python bool, whether `nasvec.repair` of the flipped arrays (a dict with `"ops"`,
#   `"attrs"` and `"tensors"` of `arrays` and your flipped `"edge_index"`, `flip_edges(...,
#   damage_k, np.random.default_rng(seed))`; `input_shape=shape, num_classes=10`) gives back a graph
#   equal (`==`) to `original`;
# * `rewired_edges_kept`: a Python float, the mean over the damage seeds 0, 1 and 2 of the share of the
#   original edges kept (`kept(original, repaired)["edges"]`) after damage of kind `"ids"` (`damage_k`
#   per cent of the entries of every array set to random values of their kind: an edge's end moves to a
#   random node) and repair (same `input_shape` and `num_classes`).

# %% [raw]
# # BEGIN SOLUTION

# %%
def flip_edges(edge_index, k, rng):
    # BEGIN SOLUTION
    e = np.array(edge_index, dtype=np.float64)
    cols = rng.choice(e.shape[1], int(round(k / 100 * e.shape[1])), replace=False)
    e[:, cols] = e[::-1, cols]
    return e
    # END SOLUTION


# BEGIN SOLUTION
flipped = {"ops": arrays.ops.numpy(), "attrs": arrays.attrs.numpy(), "tensors": list(arrays.tensors),
           "edge_index": flip_edges(arrays.edge_index.numpy(), damage_k, np.random.default_rng(seed))}
flip_restored = nasvec.repair(flipped, input_shape=shape, num_classes=10) == original
rewired_edges_kept = float(np.mean([
    kept(original, nasvec.repair(damage(original, damage_k, "ids", seed=s), input_shape=shape, num_classes=10))["edges"]
    for s in range(3)]))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
f = flip_edges(arrays.edge_index.numpy(), damage_k, np.random.default_rng(0))
f.shape == tuple(arrays.edge_index.shape), bool((np.sort(f, 0) == np.sort(arrays.edge_index.numpy(), 0)).all())

# %%
isinstance(flip_restored, (bool, np.bool_)), bool(0 <= rewired_edges_kept <= 1)

# %%
# HIDDEN
f = flip_edges(arrays.edge_index.numpy(), damage_k, np.random.default_rng(seed))
bool(np.array_equal(f, damage(original, damage_k, "flip", seed=seed)["edge_index"])), int((f != arrays.edge_index.numpy()).any(0).sum())

# %%
# HIDDEN
_k = 5 + secret_seed % 41                       # a share and a generator of the grader's own
_f = flip_edges(arrays.edge_index.numpy(), _k, np.random.default_rng(secret_seed))
bool(np.array_equal(_f, damage(original, _k, "flip", seed=secret_seed)["edge_index"])), int((_f != arrays.edge_index.numpy()).any(0).sum())

# %%
# HIDDEN
_e = np.random.default_rng(secret_seed).integers(0, 60, (2, 30 + secret_seed % 50)).astype(np.float64)
_before = _e.copy()                             # a float64 edge list of the grader's own: left as it was?
_f = flip_edges(_e, 20 + secret_seed % 21, np.random.default_rng(secret_seed + 1))
bool(np.array_equal(_e, _before)), _f.dtype == np.float64, int((_f != _e).any(0).sum())

# %%
# HIDDEN
bool(flip_restored)

# %%
# HIDDEN
round(float(rewired_edges_kept), 4)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
