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
# # Assignment: Compressing architecture graphs
# This assignment follows the chapter *Compressing architecture graphs*. You write the two ways of
# scoring a reconstruction (per node, the seed paper's measure, and per graph, D-VAE's), the two
# formulas every VAE of the chapter is built on (the KL term and the reparameterisation), and then train
# the paper's per-node model for a few seconds to test the chapter's claim that per-graph accuracy is
# roughly per-node accuracy to the power of the number of nodes.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# n_layers: {choice: [4, 5, 6]}
# skip_prob: {uniform: [0.2, 0.5]}
# flip_rate: {uniform: [0.02, 0.1]}
# structure_dim: {choice: [2, 3, 4]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0
n_layers = 6
skip_prob = 0.3
flip_rate = 0.05
structure_dim = 4
secret_seed = 1            # the hidden tests' own graphs, noise and codes: each student's drawn from the class's secret

# %%
import numpy as np
import torch

from nasvec.compress.base import DagBatch, fit_compressor
from nasvec.compress.pernode import PerNodeVAE
from nasvec.data.enas import ENAS_TYPES, generate_enas

torch.set_num_threads(1)
torch.manual_seed(seed)
rng = np.random.default_rng(seed)

# ENAS graphs of n_layers layers and of n_layers - 1 layers (those padded by one slot)
graphs = (generate_enas(60, n_layers=n_layers, skip_prob=skip_prob, seed=seed)
          + generate_enas(40, n_layers=n_layers - 1, skip_prob=skip_prob, seed=seed + 1))
originals = DagBatch.from_graphs(graphs, ENAS_TYPES, max_nodes=n_layers + 2)


def corrupt(batch, rate, rng):
    """A 'decoded' copy of batch: each real node's type changed with probability rate, and each entry
    of the adjacency tensor flipped with probability rate (everywhere, also where it means nothing)."""
    types = batch.types.clone()
    change = torch.as_tensor(rng.random(types.shape) < rate) & batch.mask
    shift = torch.as_tensor(rng.integers(1, len(ENAS_TYPES), types.shape))
    types[change] = (types[change] + shift[change]) % len(ENAS_TYPES)
    flip = torch.as_tensor(rng.random(batch.adj.shape) < rate)
    adj = torch.where(flip, 1.0 - batch.adj, batch.adj)
    return DagBatch(types, adj)


decoded = corrupt(originals, flip_rate, rng)
print(f"{len(graphs)} graphs of {n_layers + 2} node slots; {int(originals.mask.sum())} real nodes")

# %% [raw]
# # BEGIN QUESTION
# name: reconstruction_accuracy
# points: 4
# reference: [nasvec.compress.metrics.node_hits, nasvec.compress.metrics.same_dag]
# shortcuts:
#   - name: the padding slots counted as nodes
#     replace: [["per_node = (right & real).sum() / real.sum()", "per_node = right.float().mean()"]]
#   - name: the whole adjacency row compared, meaningless entries included
#     replace: [["same_edges = (((original.adj > 0.5) == (decoded.adj > 0.5)) | ~pairs).all(2)", "same_edges = ((original.adj > 0.5) == (decoded.adj > 0.5)).all(2)"]]
#   - name: the incoming edges (a column) for the adjacency row
#     replace: [["| ~pairs).all(2)", "| ~pairs).all(1)"]]

# %% [markdown]
# **Score a reconstruction per node and per graph.** A batch of graphs is a `DagBatch` (from
# `nasvec.compress.base`): `types` is a `[B, N]` long tensor of node types, `-1` in the padding slots
# after a graph's last node; `adj` is a `[B, N, N]` float tensor, `adj[b, i, j] > 0.5` meaning an edge
# $i \to j$. Only entries with $i < j$ between two real nodes mean anything: ignore the rest.
#
# Define `reconstruction_accuracy(original, decoded)` that returns a dict with two Python floats:
#
# * `"per_node"`: the share of the real nodes of `original` (those with `types >= 0`) that `decoded`
#   gets right: the same type **and** exactly the same adjacency row, i.e. for every real node $j > i$
#   of the graph, edge $i \to j$ present in `decoded` exactly when it is present in `original`;
# * `"per_graph"`: the share of graphs all of whose real nodes are right.
#
# `decoded` has the same shape and the same padding as `original`. The setup cell made such a pair,
# `originals` and `decoded`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def reconstruction_accuracy(original, decoded):
    # BEGIN SOLUTION
    n = original.types.shape[1]
    real = original.types >= 0
    pairs = torch.triu(torch.ones(n, n, dtype=torch.bool), 1) & real[:, :, None] & real[:, None, :]
    same_edges = (((original.adj > 0.5) == (decoded.adj > 0.5)) | ~pairs).all(2)
    right = (original.types == decoded.types) & same_edges
    per_node = (right & real).sum() / real.sum()
    per_graph = (right | ~real).all(1).float().mean()
    return {"per_node": float(per_node), "per_graph": float(per_graph)}
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
r = reconstruction_accuracy(originals, originals)
sorted(r), round(float(r["per_node"]), 4), round(float(r["per_graph"]), 4)

# %%
r = reconstruction_accuracy(originals, decoded)
bool(0 <= r["per_node"] <= 1 and 0 <= r["per_graph"] <= 1)

# %%
# HIDDEN
from nasvec.compress import metrics
r = reconstruction_accuracy(originals, decoded)
ref_node = float((metrics.node_hits(originals, decoded) & originals.mask).sum() / originals.mask.sum())
bool(np.isclose(r["per_node"], ref_node)), round(float(r["per_node"]), 4)

# %%
# HIDDEN
from nasvec.compress import metrics
r = reconstruction_accuracy(originals, decoded)
ref_graph = float(metrics.same_dag(originals, decoded).float().mean())
bool(np.isclose(r["per_graph"], ref_graph)), round(float(r["per_graph"]), 4)

# %%
# HIDDEN
from nasvec.compress import metrics
_r = np.random.default_rng(secret_seed)            # graphs and a decoding of the grader's own
_o = DagBatch.from_graphs(generate_enas(50, n_layers=n_layers, skip_prob=skip_prob, seed=secret_seed)
                          + generate_enas(30, n_layers=n_layers - 1, skip_prob=skip_prob, seed=secret_seed + 1),
                          ENAS_TYPES, max_nodes=n_layers + 2)
_d = corrupt(_o, 0.01 + 0.05 * _r.random(), _r)
for _b in np.flatnonzero(_r.random(len(_o)) < 0.5):  # and, in half the graphs, one node's whole row garbled
    _i = int(_r.integers(int(_o.mask[_b].sum()) - 1))
    _d.adj[_b, _i, _i + 1:] = 1.0 - _d.adj[_b, _i, _i + 1:]
_mine = reconstruction_accuracy(_o, _d)
_ref = [float((metrics.node_hits(_o, _d) & _o.mask).sum() / _o.mask.sum()), float(metrics.same_dag(_o, _d).float().mean())]
bool(np.allclose([_mine["per_node"], _mine["per_graph"]], _ref)), [round(x, 4) for x in _ref]

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: vae_kl_and_reparameterisation
# points: 2
# reference: [nasvec.compress.base.kl_divergence, torch.distributions.kl_divergence, torch.distributions.kl.kl_divergence]
# shortcuts:
#   - name: the mean over the batch for the sum
#     replace: [["-0.5 * torch.sum(", "-0.5 * torch.mean("]]
#   - name: the variance for the standard deviation
#     replace: [["mu + eps * torch.exp(0.5 * logvar)", "mu + eps * torch.exp(logvar)"]]

# %% [markdown]
# **The two formulas of a VAE.** The encoder of every VAE in the chapter gives, per latent dimension, a
# mean $\mu$ and a log-variance $\log\sigma^2$. Define
#
# * `kl_term(mu, logvar)`: the KL divergence $\mathrm{KL}(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, 1))
#   = -\tfrac12 \left(1 + \log\sigma^2 - \mu^2 - \sigma^2\right)$, **summed** over the batch and the latent
#   dimensions (as D-VAE reports it), returned as a 0-dimensional torch tensor;
# * `reparameterise(mu, logvar, eps)`: the code $z = \mu + \sigma \cdot \varepsilon$ for a given standard
#   normal `eps` of the same shape, a tensor of that shape.
#
# All inputs are float tensors of shape `[B, d]`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def kl_term(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # SOLUTION


def reparameterise(mu, logvar, eps):
    return mu + eps * torch.exp(0.5 * logvar)  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
round(float(kl_term(torch.ones(3, 2), torch.zeros(3, 2))), 4), tuple(reparameterise(torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(3, 2)).shape)

# %%
# HIDDEN
from nasvec.compress.base import kl_divergence as nasvec_kl
_g = torch.Generator().manual_seed(secret_seed)      # codes of the grader's own
_mu, _logvar = torch.randn(5, structure_dim, generator=_g).double(), 0.5 * torch.randn(5, structure_dim, generator=_g).double()
bool(torch.allclose(kl_term(_mu, _logvar), nasvec_kl(_mu, _logvar))), round(float(nasvec_kl(_mu, _logvar)), 4)

# %%
# HIDDEN
_g = torch.Generator().manual_seed(secret_seed)
_mu, _logvar, _eps = torch.randn(3, 5, structure_dim, generator=_g).double()
_z = reparameterise(_mu, _logvar, _eps)
bool(torch.allclose(_z, _mu + _eps * (0.5 * _logvar).exp())), round(float((_mu + _eps * (0.5 * _logvar).exp()).sum()), 4)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## The paper's per-node model, trained for a few seconds
#
# The setup below trains `nasvec.compress.pernode.PerNodeVAE` (the seed paper's model: per node, the
# adjacency row through a VAE of `structure_dim` latent numbers and the op type through one of 2) on 300
# generated ENAS graphs of `n_layers` layers for 20 epochs, and keeps 100 other graphs as the test set.

# %%
torch.manual_seed(seed)
enas = generate_enas(400, n_layers=n_layers, skip_prob=skip_prob, seed=seed + 2)
batch = DagBatch.from_graphs(enas, ENAS_TYPES)
train, test = batch[:300], batch[300:]
model = PerNodeVAE(ENAS_TYPES, max_nodes=n_layers + 2, structure_dim=structure_dim, type_dim=2)
history = fit_compressor(model, train, epochs=20, batch_size=32, lr=1e-2, beta=0.005, seed=seed, progress=False)
print(f"final training loss per graph {history[-1]['loss']:.3f}")

# %% [raw]
# # BEGIN QUESTION
# name: per_node_vs_per_graph
# points: 4
# reference: [nasvec.compress.metrics.reconstruction]
# shortcuts:
#   - name: the number of layers for the number of nodes
#     replace: [["n = batch.types.shape[1]", "n = n_layers"]]
#   - name: the per-node code size for the whole graph's
#     replace: [["code_size = int(model.encode(test[:1]).shape[1])", "code_size = structure_dim + 2"]]
#   - name: the ratio for the difference
#     replace: [["scores[\"per_graph\"] - scores[\"per_node\"] ** n", "scores[\"per_graph\"] / scores[\"per_node\"] ** n"]]

# %% [markdown]
# **Is a graph right as often as all its nodes are?** If each of a graph's $n$ nodes were right
# independently with probability $p$, the graph would be right with probability $p^n$. Test that on
# `model`:
#
# 1. Define `node_graph_excess(model, batch)` that encodes the graphs of `batch` (a `DagBatch` of graphs
#    of `n_layers` layers) with the mean code (`model.encode(batch)`), decodes the codes with the most
#    likely types and edges (`model.decode(z)`), and returns a tuple of three Python floats
#    `(p_node, p_graph, excess)`: the per-node accuracy of that reconstruction (as in the first question),
#    its per-graph accuracy, and `p_graph` minus $p_\text{node}^{\,n}$, with $n$ the number of nodes of a
#    graph here (`n_layers + 2`); `excess` is positive when graphs come out right more often than
#    independent nodes would. Wrap the model's calls in `torch.no_grad()`.
# 2. Set `p_node, p_graph, excess = node_graph_excess(model, test)`, and the int `code_size` to how many
#    numbers the model's code of one whole graph has.
#
# (No training needed: use `model` as it is. The hidden tests also run your function on other graphs.)

# %% [raw]
# # BEGIN SOLUTION

# %%
def node_graph_excess(model, batch):
    # BEGIN SOLUTION
    with torch.no_grad():
        scores = reconstruction_accuracy(batch, model.decode(model.encode(batch)))
    n = batch.types.shape[1]
    return scores["per_node"], scores["per_graph"], scores["per_graph"] - scores["per_node"] ** n
    # END SOLUTION


p_node, p_graph, excess = node_graph_excess(model, test)  # SOLUTION
code_size = int(model.encode(test[:1]).shape[1])  # SOLUTION
print(f"per node {p_node:.4f}, per graph {p_graph:.4f}, excess {excess:+.4f}, code of {code_size} numbers")

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
bool(0 <= p_graph <= p_node <= 1 and -1 <= excess <= 1 and isinstance(code_size, int))

# %%
# HIDDEN
from nasvec.compress import metrics
ref = metrics.reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False)
bool(np.allclose([p_node, p_graph], [ref["per_node"], ref["per_graph"]]))

# %%
# HIDDEN
from nasvec.compress import metrics
ref = metrics.reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False)
bool(np.isclose(excess, ref["per_graph"] - ref["per_node"] ** (n_layers + 2)))

# %%
# HIDDEN
from nasvec.compress import metrics
_b = DagBatch.from_graphs(generate_enas(100, n_layers=n_layers, skip_prob=0.5 * skip_prob + 0.15 * (secret_seed % 4),
                                        seed=secret_seed), ENAS_TYPES)        # graphs of the grader's own
_ref = metrics.reconstruction(model, _b, 1, 1, stochastic_encode=False, stochastic_decode=False)
_ref = [_ref["per_node"], _ref["per_graph"], _ref["per_graph"] - _ref["per_node"] ** (n_layers + 2)]
bool(np.allclose([float(x) for x in node_graph_excess(model, _b)], _ref)), [round(x, 4) for x in _ref]

# %%
# HIDDEN
int(code_size)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
