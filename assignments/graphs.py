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
# # Assignment: A network as a graph and its vector representation
# This assignment follows the chapter *A network as a graph and its vector representation*. You take
# one of the book's reference CNNs as an `ArchGraph` and build its vector representation yourself:
# the op ids, the adjacency list and the dense adjacency matrix, then the attribute matrix row by
# row; finally you put a shuffled copy of the network back into topological order. `nasvec.encode`
# is the reference your results are compared with.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# network: {choice: [resnet18, squeezenet1_1, mobilenet_v2, vgg11, shufflenet_v2_x1_0, mobilenet_v3_small, googlenet, mnasnet1_0, regnet_x_400mf, efficientnet_b0]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0              # defaults: the variant every reader of the book sees
network = "resnet18"  # the reference CNN (nasvec.data.reference) this variant works on
secret_seed = 1       # the hidden tests' own graphs and attributes: each student's drawn from the class's secret

# %%
import warnings

import numpy as np
import torch

from nasvec import ArchGraph, Node, from_torch
from nasvec.data import reference
from nasvec.graph import vocab

warnings.filterwarnings("ignore")
torch.manual_seed(seed)
net = reference.reference(network, num_classes=10, small_input=True).eval()
g = from_torch(net, torch.randn(*reference.input_shape(network, small_input=True)))
print(network, "as a graph:", len(g), "nodes,", len(g.edges), "edges; ops:", sorted(set(g.ops)))

# %% [raw]
# # BEGIN QUESTION
# name: structure_vectors
# points: 3
# reference: [nasvec.graph.vectors.encode, nasvec.encode, nasvec.repair_rules.arrays.raw_arrays]
# shortcuts:
#   - name: the edges sorted by source instead of in the order of g.edges
#     replace: [["np.array(g.edges, dtype=np.int64)", "np.array(sorted(g.edges), dtype=np.int64)"]]
#   - name: the adjacency matrix transposed (A[d, s] = 1)
#     replace: [["adjacency[edge_index[0], edge_index[1]] = 1.0", "adjacency[edge_index[1], edge_index[0]] = 1.0"]]

# %% [markdown]
# **The structure of the vector representation.** `nasvec.encode(g)` stores a graph's structure in
# two arrays: `ops`, of shape $[N]$, the index of every node's op in the vocabulary
# `nasvec.graph.vocab.OPS`; and `edge_index`, of shape $[2, E]$, whose column $e$ is the edge
# $s \to d$ as $(s, d)$, in the order of `g.edges`. The per-node adjacency vectors of the paper are
# the rows of the dense $[N, N]$ matrix $A$ with $A_{sd} = 1$ when there is an edge $s \to d$ and 0
# otherwise. Write `structure(g)` that returns the tuple `(ops, edge_index, adjacency)` of `numpy`
# arrays: `ops` and `edge_index` of dtype `int64`, `adjacency` of dtype `float32`. Use only `g.nodes`
# (each node's `.op`), `g.edges` and `vocab.OP_INDEX` or `vocab.OPS`; do not call `encode`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def structure(g):
    # BEGIN SOLUTION
    ops = np.array([vocab.OP_INDEX[node.op] for node in g.nodes], dtype=np.int64)
    edge_index = np.array(g.edges, dtype=np.int64).reshape(-1, 2).T
    adjacency = np.zeros((len(g.nodes), len(g.nodes)), dtype=np.float32)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    return ops, edge_index, adjacency
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
tiny = ArchGraph([Node("Input"), Node("Relu"), Node("Add"), Node("Output")], [(0, 1), (0, 2), (1, 2), (2, 3)])
ops, edge_index, adjacency = structure(tiny)
print(ops.tolist(), edge_index.tolist(), adjacency.astype(int).tolist(), ops.dtype, edge_index.dtype, adjacency.dtype)

# %%
# HIDDEN
ops, edge_index, adjacency = structure(g)
print(ops.shape, edge_index.shape, adjacency.shape, int(adjacency.sum()), int(adjacency.sum(axis=0).max()))

# %%
# HIDDEN
from nasvec import encode
ops, edge_index, adjacency = structure(g)
v = encode(g)
print(bool(np.array_equal(ops, v.ops.numpy())), bool(np.array_equal(edge_index, v.edge_index.numpy())),
      bool(np.array_equal(adjacency, v.adjacency().numpy())))

# %%
# HIDDEN
from nasvec import encode
_r = np.random.default_rng(secret_seed)       # a valid graph of the grader's own, each node's inputs in shuffled order
_nodes, _edges = [Node("Input")], []
for _d in range(1, int(_r.integers(15, 30))):
    _preds = [_d - 1] + [int(_s) for _s in _r.choice(_d - 1, min(_d - 1, int(_r.integers(0, 4))), replace=False)]
    _r.shuffle(_preds)
    _nodes.append(Node(str(_r.choice(["Relu", "Sigmoid", "Tanh"] if len(_preds) == 1 else ["Add", "Mul", "Sub"]
                                     if len(_preds) == 2 else ["Concat"]))))
    _edges += [(_s, _d) for _s in _preds]
_edges.append((len(_nodes) - 1, len(_nodes)))
_nodes.append(Node("Output"))
_g = ArchGraph(_nodes, _edges)
_ops, _edge_index, _adjacency = structure(_g)
_v = encode(_g)
print(len(_g), len(_g.edges), bool(np.array_equal(_ops, _v.ops.numpy())),
      bool(np.array_equal(_edge_index, _v.edge_index.numpy())), bool(np.array_equal(_adjacency, _v.adjacency().numpy())))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: attribute_row
# points: 4
# reference: [nasvec.graph.codec.encode_attrs]
# shortcuts:
#   - name: the sentinels mapped to infinity inside lists only, not for an "int"
#     replace: [["row[c] = _as_float(value)", "row[c] = float(value)"]]
#   - name: the tensor's index taken after appending it (counted from 1)
#     replace: [["row[c] = len(tensors)\n            tensors.append(np.asarray(value))", "tensors.append(np.asarray(value))\n            row[c] = len(tensors)"]]

# %% [markdown]
# **One row of the attribute matrix.** Every node becomes one row of $A_{\text{attr}}$ =
# `vocab.N_COLUMNS` floats, `NaN` where the node has no such attribute. `vocab.ATTRS[name]` is the
# attribute's `(kind, width)` and `vocab.COLUMN_OF[name]` its first column $c$. By kind:
#
# * `"int"`: column $c$ holds the value as a float, except ONNX's "to the end" sentinels:
#   `vocab.INT64_MAX` $= 2^{63}-1$ is stored as $+\infty$ and `vocab.INT64_MIN` $= -2^{63}$ as $-\infty$;
# * `"float"`: column $c$ holds the value;
# * `"string"`: column $c$ holds the index of the string in `vocab.STRINGS`;
# * `"tensor"`: column $c$ holds `len(tensors)`, then the value (as a `numpy` array) is appended to the list `tensors`;
# * `"ints"` / `"floats"`: column $c$ holds the list's length $m$, columns $c+1 \dots c+m$ its
#   entries (for `"ints"`, each entry as for `"int"`, sentinels included); the other columns stay `NaN`.
#
# Write `attribute_row(attrs, tensors)` that returns this row, a 1-D `float64` `numpy` array of
# length `vocab.N_COLUMNS`, for the dictionary `attrs` of one node (`g.nodes[i].attrs`). Do not call
# `nasvec.graph.codec.encode_attrs` (the tests compare your rows with it).

# %% [raw]
# # BEGIN SOLUTION

# %%
def attribute_row(attrs, tensors):
    # BEGIN SOLUTION
    def _as_float(x):
        return np.inf if x == vocab.INT64_MAX else -np.inf if x == vocab.INT64_MIN else float(x)

    row = np.full(vocab.N_COLUMNS, np.nan)
    for name, value in attrs.items():
        kind, _ = vocab.ATTRS[name]
        c = vocab.COLUMN_OF[name]
        if kind == "int":
            row[c] = _as_float(value)
        elif kind == "float":
            row[c] = float(value)
        elif kind == "string":
            row[c] = vocab.STRINGS.index(value)
        elif kind == "tensor":
            row[c] = len(tensors)
            tensors.append(np.asarray(value))
        else:
            row[c] = len(value)
            for k, x in enumerate(value):
                row[c + 1 + k] = _as_float(x) if kind == "ints" else float(x)
    return row
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
row = attribute_row({"kernel_shape": [3, 3], "group": 1, "mode": "reflect"}, [])
c = vocab.COLUMN_OF
print(row.shape, row.dtype, row[c["kernel_shape"]:c["kernel_shape"] + 4].tolist(), row[c["group"]],
      row[c["mode"]], int(np.isnan(row).sum()))

# %%
c = vocab.COLUMN_OF
tensors = []
row = attribute_row({"ends": [vocab.INT64_MAX, -vocab.INT64_MAX - 1], "value": np.ones(2, dtype=np.float32)}, tensors)
print(row[c["ends"]:c["ends"] + 3].tolist(), row[c["value"]], len(tensors))

# %%
# HIDDEN
rows = np.stack([attribute_row(node.attrs, []) for node in g.nodes])
print(rows.shape, int((~np.isnan(rows)).sum()), round(float(np.nansum(np.where(np.isfinite(rows), rows, 0.0))), 4))

# %%
# HIDDEN
from nasvec.graph.codec import encode_attrs
rows = np.stack([attribute_row(node.attrs, []) for node in g.nodes])
bool(np.array_equal(rows, np.stack([encode_attrs(node.attrs, []) for node in g.nodes]), equal_nan=True))

# %%
# HIDDEN
from nasvec.graph.codec import encode_attrs
_r = np.random.default_rng(secret_seed)       # attribute dictionaries of the grader's own, sentinels included
_big = (vocab.INT64_MAX, vocab.INT64_MIN)
_int = lambda: int(_big[int(_r.integers(2))]) if _r.random() < 0.3 else int(_r.integers(-1000, 1000))
_make = {"int": lambda w: _int(), "float": lambda w: float(np.round(_r.normal(0.0, 10.0), 3)),
         "string": lambda w: vocab.STRINGS[int(_r.integers(len(vocab.STRINGS)))],
         "tensor": lambda w: _r.normal(size=int(_r.integers(1, 4))).astype(np.float32),
         "ints": lambda w: [_int() for _ in range(int(_r.integers(0, w + 1)))],
         "floats": lambda w: [float(_r.normal()) for _ in range(int(_r.integers(0, w + 1)))]}
_dicts = [{str(_n): _make[vocab.ATTRS[str(_n)][0]](vocab.ATTRS[str(_n)][1]) for _n in _r.choice(list(vocab.ATTRS), 8, replace=False)} for _ in range(8)]
_dicts[0]["end"] = vocab.INT64_MAX if secret_seed % 2 else vocab.INT64_MIN     # an "int" sentinel in any case
_dicts[1]["value"] = np.arange(3.0)                                             # a tensor in any case
_mine, _ref = [], []
_rows = np.stack([attribute_row(_d, _mine) for _d in _dicts])
_want = np.stack([encode_attrs(_d, _ref) for _d in _dicts])
print(bool(np.array_equal(_rows, _want, equal_nan=True)),
      len(_mine) == len(_ref) and all(np.array_equal(_a, _b) for _a, _b in zip(_mine, _ref)))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# The same network with its nodes shuffled: `shuffled_ops[k]` is the op of node `k` of the shuffled
# copy and `shuffled_edges` its edges, each node's incoming edges still in input order. Its node
# numbers are no longer a topological order (some edges go backwards), so it is not a valid `ArchGraph`.

# %%
perm = np.random.default_rng(seed).permutation(len(g))    # shuffled node k is node perm[k] of g
new_index = np.argsort(perm)                               # node i of g is shuffled node new_index[i]
shuffled_nodes = [g.nodes[i] for i in perm]
shuffled_ops = [node.op for node in shuffled_nodes]
shuffled_edges = [(int(new_index[s]), int(new_index[d])) for s, d in g.edges]
print(len(shuffled_ops), "nodes,", sum(s > d for s, d in shuffled_edges), "of", len(shuffled_edges), "edges go backwards")

# %% [raw]
# # BEGIN QUESTION
# name: topological_order
# points: 3
# reference: [networkx.lexicographical_topological_sort, networkx.algorithms.dag.lexicographical_topological_sort]
# shortcuts:
#   - name: a stack (the last ready node) instead of the smallest-numbered one
#     replace: [["i = heapq.heappop(ready)", "i = ready.pop()"], ["heapq.heappush(ready, d)", "ready.append(d)"]]
#   - name: a first-in first-out queue instead of the smallest-numbered node
#     replace: [["i = heapq.heappop(ready)", "i = ready.pop(0)"], ["heapq.heappush(ready, d)", "ready.append(d)"]]

# %% [markdown]
# **Back into topological order.** An `ArchGraph` keeps its nodes in topological order: every edge
# goes from a lower to a higher index. ONNX files promise the same, but a graph assembled by hand (or
# by a decoder) may not. Write `topological_order(n, edges)` that, for a DAG with nodes $0 \dots n-1$
# and the list `edges` of pairs `(s, d)`, returns a list of the $n$ node numbers (Python `int`s) in
# topological order. Make the answer unique with Kahn's rule: start with the nodes that have no
# incoming edge; at every step place the *smallest-numbered* node all of whose predecessors are
# already placed (a heap, `heapq`, does this in $O((n + E) \log n)$). If the graph has a cycle,
# raise `ValueError`.
#
# For a graph already in topological order, this rule gives $0, 1, \dots, n-1$.

# %% [raw]
# # BEGIN SOLUTION

# %%
import heapq


def topological_order(n, edges):
    # BEGIN SOLUTION
    succ = [[] for _ in range(n)]
    indeg = [0] * n
    for s, d in edges:
        succ[s].append(d)
        indeg[d] += 1
    ready = [i for i in range(n) if indeg[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for d in succ[i]:
            indeg[d] -= 1
            if indeg[d] == 0:
                heapq.heappush(ready, d)
    if len(order) < n:
        raise ValueError("the graph has a cycle")
    return order
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
print(topological_order(5, [(3, 0), (4, 3), (1, 0), (2, 1), (4, 2)]))

# %%
topological_order(len(g), g.edges) == list(range(len(g)))

# %%
try:
    topological_order(3, [(0, 1), (1, 2), (2, 1)])
    print("no error")
except ValueError:
    print("ValueError")

# %%
# HIDDEN
from nasvec import encode
order = topological_order(len(shuffled_ops), shuffled_edges)
position = {k: p for p, k in enumerate(order)}
rebuilt = ArchGraph([shuffled_nodes[k] for k in order], [(position[s], position[d]) for s, d in shuffled_edges])
print(sorted(order) == list(range(len(g))), len(rebuilt.validate()), encode(rebuilt).ops.tolist() == [vocab.OP_INDEX[shuffled_ops[k]] for k in order])

# %%
# HIDDEN
order = topological_order(len(shuffled_ops), shuffled_edges)
print(order[:12], order[-4:])

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)       # a DAG of the grader's own, its nodes shuffled
_n = int(_r.integers(30, 60))
_dag = {(int(_s), _d) for _d in range(1, _n) for _s in _r.choice(_d, min(_d, int(_r.integers(1, 4))), replace=False)}
_new = np.argsort(_r.permutation(_n))
_e = [(int(_new[_s]), int(_new[_d])) for _s, _d in sorted(_dag)]
_r.shuffle(_e)
print(topological_order(_n, _e))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
