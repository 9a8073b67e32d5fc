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

# %% tags=["parameters"]
seed = 0
n_layers = 6
skip_prob = 0.3
flip_rate = 0.05
structure_dim = 4

# %%
import numpy as np
import torch

from nasvec.compress import metrics
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
r = reconstruction_accuracy(originals, decoded)
ref_node = float((metrics.node_hits(originals, decoded) & originals.mask).sum() / originals.mask.sum())
bool(np.isclose(r["per_node"], ref_node)), round(float(r["per_node"]), 4)

# %%
# HIDDEN
r = reconstruction_accuracy(originals, decoded)
ref_graph = float(metrics.same_dag(originals, decoded).float().mean())
bool(np.isclose(r["per_graph"], ref_graph)), round(float(r["per_graph"]), 4)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: vae_kl_and_reparameterisation
# points: 2

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
g = torch.Generator().manual_seed(seed)
mu, logvar = torch.randn(5, structure_dim, generator=g).double(), 0.5 * torch.randn(5, structure_dim, generator=g).double()
bool(torch.allclose(kl_term(mu, logvar), nasvec_kl(mu, logvar))), round(float(kl_term(mu, logvar)), 4)

# %%
# HIDDEN
g = torch.Generator().manual_seed(seed + 1)
mu, logvar, eps = torch.randn(3, 5, structure_dim, generator=g).double()
z = reparameterise(mu, logvar, eps)
bool(torch.allclose(z, mu + eps * (0.5 * logvar).exp())), round(float(z.sum()), 4)

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

# %% [markdown]
# **Is a graph right as often as all its nodes are?** If each of a graph's $n$ nodes were right
# independently with probability $p$, the graph would be right with probability $p^n$. Test that on
# `model` and the `test` graphs: encode them with the mean code (`model.encode(test)`), decode the codes
# with the most likely types and edges (`model.decode(z)`), and define the Python floats
#
# * `p_node`: the per-node accuracy of that reconstruction (as in the first question);
# * `p_graph`: its per-graph accuracy;
# * `excess`: `p_graph` minus $p_\text{node}^{\,n}$, with $n$ the number of nodes of a graph here
#   (`n_layers + 2`); positive when graphs come out right more often than independent nodes would;
#
# and the int `code_size`: how many numbers the model's code of one whole graph has.
#
# (No training needed: use `model` as it is. Wrap the calls in `torch.no_grad()`.)

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
with torch.no_grad():
    z = model.encode(test)
    scores = reconstruction_accuracy(test, model.decode(z))
p_node, p_graph = scores["per_node"], scores["per_graph"]
excess = p_graph - p_node ** (n_layers + 2)
code_size = int(z.shape[1])
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
bool(0 <= p_graph <= p_node <= 1 and -1 <= excess <= 1)

# %%
# HIDDEN
ref = metrics.reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False)
bool(np.allclose([p_node, p_graph], [ref["per_node"], ref["per_graph"]]))

# %%
# HIDDEN
ref = metrics.reconstruction(model, test, 1, 1, stochastic_encode=False, stochastic_decode=False)
bool(np.isclose(excess, ref["per_graph"] - ref["per_node"] ** (n_layers + 2)))

# %%
# HIDDEN
int(code_size)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
