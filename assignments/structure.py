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
# # Assignment: Predicting the structure from subsamples
# This assignment follows the chapter *Predicting the structure from subsamples*. On a small planted
# task you implement the paper's proximity $F$ between structures, the alignment of hidden neurons that
# makes $F$ blind to reordering, and the vote over the structures found on subsamples — then measure how
# many of the planted connections the vote recovers as the number of subsamples grows.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# features: {choice: [6, 8, 10]}
# alpha: {uniform: [0.005, 0.02]}
# beta: {uniform: [0.001, 0.004]}
# noise: {uniform: [0.1, 0.3]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0
features = 8
alpha = 0.01
beta = 0.002
noise = 0.2
secret_seed = 1            # the hidden tests' own structures, qualities and weights: each student's drawn from the class's secret

# %%
import numpy as np
import torch

from nasvec.subsample.masked import ACTIVATIONS, FitConfig, Structure, fit_score, quality, random_structure
from nasvec.subsample.tasks import TaskSpec, make_task

torch.manual_seed(seed)
torch.set_num_threads(1)
C = 0.001                                        # g(K) = C K
task = make_task(TaskSpec(name="planted", source="planted", features=features, n_train=300, n_val=200, n_test=10,
                          live=4, fan_in=2, informative=6), seed)
z_opt = task.planted                             # the planted structure Z_opt
n, h, c = z_opt.shape
rng = np.random.default_rng([seed, 6100])


def noisy_copy(z, rng, noise):
    """``z`` with each connection moved, with probability ``noise``, to a random empty place of its layer,
    each hidden activation redrawn with probability ``noise``, and the hidden neurons shuffled."""
    v1, v2, a1 = z.v1.copy(), z.v2.copy(), z.a1.copy()
    for v in (v1, v2):
        flat = v.reshape(-1)
        for i in np.flatnonzero(flat):
            if rng.random() < noise:
                flat[i] = False
                flat[rng.choice(np.flatnonzero(~flat))] = True
    redraw = rng.random(len(a1)) < noise
    a1[redraw] = rng.integers(len(ACTIVATIONS), size=int(redraw.sum()))
    return Structure(v1, a1, v2, z.a2).permute_hidden(rng.permutation(len(a1)))


z_copy = z_opt.permute_hidden(rng.permutation(h))                    # an isomorphic copy of Z_opt
z_near = noisy_copy(z_opt, rng, noise)                               # a perturbed copy, neurons shuffled
z_rand = random_structure(z_opt.shape, (z_opt.v1.mean(), z_opt.v2.mean()), rng)   # as many connections, at random
trained = {"Z_opt": z_opt, "near": z_near, "random": z_rand}
out = fit_score(list(trained.values()), task.x_train, task.y_train, {"val": (task.x_val, task.y_val)},
                FitConfig(steps=100, lr=0.05), seed=seed)
err = dict(zip(trained, out["val"]))
q = dict(zip(trained, quality(out["val"], [z.K for z in trained.values()], C)))   # L(Z) of each, on validation
err["copy"], q["copy"] = err["Z_opt"], q["Z_opt"]   # Z_opt's trained weights, reordered with the neurons: the same function
zs = {"Z_opt": z_opt, "copy": z_copy, "near": z_near, "random": z_rand}
for name, z in zs.items():
    print(f"{name:7s} {z.describe()}, validation error {err[name]:.3f}, L = {q[name]:.4f}")

# %% [raw]
# # BEGIN QUESTION
# name: proximity_f
# points: 2
# reference: [nasvec.subsample.masked.proximity, nasvec.subsample.masked.mask_penalty]
# shortcuts:
#   - name: alpha and beta swapped
#     replace: [["alpha * extra + beta * missing", "beta * extra + alpha * missing"]]
#   - name: the first layer's mask only
#     replace: [["((z.v1, z_opt.v1), (z.v2, z_opt.v2))", "((z.v1, z_opt.v1),)"]]
#   - name: the quality difference the other way round
#     replace: [["q_z - q_opt + alpha", "q_opt - q_z + alpha"]]

# %% [markdown]
# **The proximity $F$.** A structure `z` (a `nasvec.subsample.masked.Structure`) has boolean masks
# `z.v1` (inputs $\times$ hidden) and `z.v2` (hidden $\times$ outputs) and activations `z.a1`, `z.a2`.
# The paper's proximity of $Z$ to the optimal $Z_{opt}$ is
#
# $$F(Z_{opt}, Z) = \mathfrak L(Z) - \mathfrak L(Z_{opt}) + \sum_{k=1}^{2} \sum_{ij}
#   \big(\alpha\,[V_{k,ij} = 1, V_{opt,k,ij} = 0] + \beta\,[V_{k,ij} = 0, V_{opt,k,ij} = 1]\big):$$
#
# $\alpha$ for each connection of $Z$ that $Z_{opt}$ lacks, $\beta$ for each connection of $Z_{opt}$ that
# $Z$ lacks, the masks compared entry by entry as indexed.
#
# Define `F(z, z_opt, q_z, q_opt, alpha, beta)` returning $F$ as a `float`, where `q_z` and `q_opt` are
# the qualities $\mathfrak L(Z)$ and $\mathfrak L(Z_{opt})$ (the dictionary `q` above holds them for the
# four structures). Then look at `F(z_copy, ...)`: the copy, with $Z_{opt}$'s trained weights reordered
# along with its neurons, computes the same function as $Z_{opt}$ and has the same quality.

# %% [raw]
# # BEGIN SOLUTION

# %%
def F(z, z_opt, q_z, q_opt, alpha, beta):
    # BEGIN SOLUTION
    extra = sum(int((a & ~b).sum()) for a, b in ((z.v1, z_opt.v1), (z.v2, z_opt.v2)))
    missing = sum(int((~a & b).sum()) for a, b in ((z.v1, z_opt.v1), (z.v2, z_opt.v2)))
    return float(q_z - q_opt + alpha * extra + beta * missing)
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
(isinstance(float(F(z_opt, z_opt, q["Z_opt"], q["Z_opt"], alpha, beta)), float), round(float(F(z_opt, z_opt, q["Z_opt"], q["Z_opt"], alpha, beta)), 4))

# %%
(round(float(F(z_rand, z_opt, 0.5, 0.5, 1.0, 0.0)), 4), round(float(F(z_rand, z_opt, 0.5, 0.5, 0.0, 1.0)), 4))

# %%
# HIDDEN
[round(float(F(zs[k], z_opt, q[k], q["Z_opt"], alpha, beta)), 4) for k in ("copy", "near", "random")]

# %%
# HIDDEN
from nasvec.subsample.masked import proximity
bool(np.allclose([F(zs[k], z_opt, q[k], q["Z_opt"], alpha, beta) for k in zs],
                 [proximity(zs[k], z_opt, q[k], q["Z_opt"], alpha, beta) for k in zs]))

# %%
# HIDDEN
from nasvec.subsample.masked import proximity
_r = np.random.default_rng(secret_seed)       # structures (more or fewer connections than Z_opt), qualities, weights of the grader's own
_z = [random_structure(z_opt.shape, (0.05 + 0.4 * _r.random(), 0.1 + 0.8 * _r.random()), _r) for _ in range(3)]
_qs, _al, _be = _r.random(4), 0.01 + 0.04 * _r.random(), 0.01 * _r.random()
_cases = [(_z[0], z_opt, _qs[0], q["Z_opt"]), (_z[1], _z[2], _qs[1], _qs[2]), (z_opt, _z[0], q["Z_opt"], _qs[3])]
_ref = [proximity(a, b, qa, qb, _al, _be) for a, b, qa, qb in _cases]
bool(np.allclose([F(a, b, qa, qb, _al, _be) for a, b, qa, qb in _cases], _ref)), [round(x, 4) for x in _ref]

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: align_hidden_neurons
# points: 3
# reference: [nasvec.subsample.masked.align]
# shortcuts:
#   - name: the assignment's columns taken as the permutation
#     replace: [["perm[cols] = rows", "perm[rows] = cols"]]
#   - name: the overlap minimised instead of the disagreement
#     replace: [["cost = a.T @ (1 - b) + (1 - a).T @ b", "cost = a.T @ b"]]
#   - name: the output connections left out
#     replace: [["a = np.concatenate([z.v1, z.v2.T]).astype(np.int64)", "a = z.v1.astype(np.int64)"], ["b = np.concatenate([ref.v1, ref.v2.T]).astype(np.int64)", "b = ref.v1.astype(np.int64)"]]

# %% [markdown]
# **Aligning the hidden neurons.** Reordering the hidden neurons of $Z$ (columns of $V_1$, rows of
# $V_2$, entries of $\vec\alpha_1$) gives the same function, but $F$ charges it. Define
# `align_hidden(z, ref)` returning a permutation `perm` of the $h$ hidden neurons (a 1-D integer
# `numpy` array) such that `z.permute_hidden(perm)` — which puts neuron `perm[j]` of `z` at position
# `j` — differs from `ref` in **as few mask entries** (of $V_1$ and $V_2$ together) as possible. Since
# both structures keep their number of connections, that permutation also minimises the mask part of
# $F$ for every $\alpha, \beta > 0$.
#
# Hint: neuron $i$ of `z` placed at position $j$ costs the number of its input and output connections
# that disagree with those of `ref`'s neuron $j$; the best placement of all neurons at once is an
# assignment problem (`scipy.optimize.linear_sum_assignment`). Ties may be broken any way you like.
# The tests count, with `aligned_mismatch(z, ref)` (defined below your answer), the mask entries that still
# differ after your permutation.

# %% [raw]
# # BEGIN SOLUTION

# %%
def align_hidden(z, ref):
    # BEGIN SOLUTION
    from scipy.optimize import linear_sum_assignment

    a = np.concatenate([z.v1, z.v2.T]).astype(np.int64)       # (n + c, h): each neuron's in and out connections
    b = np.concatenate([ref.v1, ref.v2.T]).astype(np.int64)
    cost = a.T @ (1 - b) + (1 - a).T @ b                      # cost[i, j]: z's neuron i at ref's position j
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(z.shape[1], dtype=np.int64)
    perm[cols] = rows
    return perm
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %%
def aligned_mismatch(z, ref):
    """How many mask entries (of V_1 and V_2) differ from ref's once z's hidden neurons are reordered by your align_hidden."""
    za = z.permute_hidden(np.asarray(align_hidden(z, ref)))
    return int((za.v1 != ref.v1).sum() + (za.v2 != ref.v2).sum())

# %% [raw]
# # BEGIN TESTS

# %%
sorted(np.asarray(align_hidden(z_near, z_opt)).tolist()) == list(range(h))

# %%
aligned_mismatch(z_copy, z_opt)

# %%
# HIDDEN
[aligned_mismatch(zs[k], z_opt) for k in ("copy", "near", "random")]

# %%
# HIDDEN
from nasvec.subsample.masked import align
[aligned_mismatch(zs[k], z_opt) == int((align(zs[k], z_opt).v1 != z_opt.v1).sum() + (align(zs[k], z_opt).v2 != z_opt.v2).sum())
 for k in ("near", "random")] + [aligned_mismatch(z_opt, z_near)]

# %%
# HIDDEN
from nasvec.subsample.masked import align
_r = np.random.default_rng(secret_seed)       # structures of the grader's own: 9 hidden neurons, 3 outputs
_ref = random_structure((7, 9, 3), (0.4, 0.5), _r)
_zs = [_ref.permute_hidden(_r.permutation(9)), noisy_copy(_ref, _r, 0.15), noisy_copy(_ref, _r, 0.3),
       random_structure((7, 9, 3), (0.4, 0.5), _r)]
_best = [int((align(z, _ref).v1 != _ref.v1).sum() + (align(z, _ref).v2 != _ref.v2).sum()) for z in _zs]
[aligned_mismatch(z, _ref) for z in _zs] == _best, _best

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: vote_over_subsamples
# points: 3
# reference: [nasvec.subsample.meta.from_scores, nasvec.subsample.masked.top_mask, nasvec.subsample.meta.vote]
# shortcuts:
#   - name: ties to the higher index
#     replace: [["order = np.lexsort((np.arange(share.size), -share.reshape(-1)))", "order = np.argsort(share.reshape(-1), kind=\"stable\")[::-1]"]]
#   - name: the mean activation index for the most frequent activation
#     replace: [["a1 = np.mean([np.eye(na)[z.a1] for z in zs], 0).argmax(1)", "a1 = np.rint(np.mean([z.a1 for z in zs], 0)).astype(int)"], ["a2 = np.mean([np.eye(na)[z.a2] for z in zs], 0).argmax(1)", "a2 = np.rint(np.mean([z.a2 for z in zs], 0)).astype(int)"]]
#   - name: a majority threshold for the k best
#     replace: [["return mask.reshape(share.shape)", "return share > 0.5"]]

# %% [markdown]
# **The vote.** On each of $k$ subsamples a search returns a structure $Z_j$; below they are imitated by
# noisy copies of $Z_{opt}$ with their hidden neurons shuffled (`noisy_copy`, your `noise`), then aligned
# to the first one (with `nasvec`'s `align`). The vote keeps, per layer, the connections held by the
# largest share of the $Z_j$, and gives each neuron its most frequent activation.
#
# Define `vote(zs, k1, k2)` that takes a list of aligned structures and returns a `Structure` with
# * `v1`: the `k1` entries of $V_1$ with the highest share $\frac1k \sum_j V_{j,1}$ (ties: the lower
#   index in row-major order, `.reshape(-1)`); `v2` likewise with `k2`;
# * `a1`, `a2`: each neuron's most frequent activation among the $Z_j$ (ties: the lower activation index).
#
# The ties matter: the tests compare your structure with `nasvec`'s vote entry by entry. `np.argsort`
# is not stable by default; `np.argsort(-share.reshape(-1), kind="stable")` and `np.argmax` break ties
# as asked. Then run `errors_of_vote(k)` (defined below the answer) for a few $k$.

# %% [raw]
# # BEGIN SOLUTION

# %%
def vote(zs, k1, k2):
    # BEGIN SOLUTION
    def top(share, k):
        order = np.lexsort((np.arange(share.size), -share.reshape(-1)))
        mask = np.zeros(share.size, bool)
        mask[order[:k]] = True
        return mask.reshape(share.shape)

    na = len(ACTIVATIONS)
    a1 = np.mean([np.eye(na)[z.a1] for z in zs], 0).argmax(1)
    a2 = np.mean([np.eye(na)[z.a2] for z in zs], 0).argmax(1)
    return Structure(top(np.mean([z.v1 for z in zs], 0), k1), a1, top(np.mean([z.v2 for z in zs], 0), k2), a2)
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %%
from nasvec.subsample.masked import align       # nasvec's alignment (the answer to the previous question)

k1, k2 = int(z_opt.v1.sum()), int(z_opt.v2.sum())
subs = [noisy_copy(z_opt, np.random.default_rng([seed, 6200, j]), noise) for j in range(15)]


def aligned_subs(k):
    """The first k subsample structures, aligned to the first."""
    return [align(z, subs[0]) for z in subs[:k]]


def errors_of_vote(k):
    """(extra, missing) connections of the vote over k subsamples against Z_opt, hidden neurons aligned."""
    v = align(vote(aligned_subs(k), k1, k2), z_opt)
    return (int((v.v1 & ~z_opt.v1).sum() + (v.v2 & ~z_opt.v2).sum()),
            int((~v.v1 & z_opt.v1).sum() + (~v.v2 & z_opt.v2).sum()))

# %% [raw]
# # BEGIN TESTS

# %%
one = vote(aligned_subs(3), k1, k2); (type(one).__name__, int(one.v1.sum()), int(one.v2.sum())) == ("Structure", k1, k2)

# %%
vote([subs[0]], k1, k2) == subs[0]

# %%
# HIDDEN
from nasvec.subsample.meta import from_scores
def nasvec_vote(zs):
    na = len(ACTIVATIONS)
    return from_scores(np.mean([z.v1 for z in zs], 0), np.mean([np.eye(na)[z.a1] for z in zs], 0),
                       np.mean([z.v2 for z in zs], 0), np.mean([np.eye(na)[z.a2] for z in zs], 0), k1, k2)
[vote(aligned_subs(k), k1, k2) == nasvec_vote(aligned_subs(k)) for k in (2, 5, 15)]

# %%
# HIDDEN
[errors_of_vote(k) for k in (1, 3, 15)]

# %%
# HIDDEN
from nasvec.subsample.meta import from_scores
_r = np.random.default_rng(secret_seed)       # structures of the grader's own, at random: many shares tie
_zs = [random_structure(z_opt.shape, (0.2 + 0.3 * _r.random(), 0.3 + 0.4 * _r.random()), _r) for _ in range(3 + secret_seed % 4)]
_k1, _k2 = int(_r.integers(2, z_opt.v1.size // 2)), int(_r.integers(1, z_opt.v2.size))
_na = len(ACTIVATIONS)
_ref = from_scores(np.mean([z.v1 for z in _zs], 0), np.mean([np.eye(_na)[z.a1] for z in _zs], 0),
                   np.mean([z.v2 for z in _zs], 0), np.mean([np.eye(_na)[z.a2] for z in _zs], 0), _k1, _k2)
print(vote(_zs, _k1, _k2) == _ref, np.flatnonzero(_ref.v2).tolist(), _ref.a1.tolist(), _ref.a2.tolist())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# With these numbers in hand: how many subsamples does the vote need before it recovers the planted
# connections at your noise level, and does the answer change if the $Z_j$ are not aligned first?
