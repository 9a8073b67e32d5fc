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
# # Assignment: Complexity-controlled search with a hypernetwork
# This assignment follows the chapter *Complexity-controlled search with a hypernetwork*. You
# implement the pieces of the method: the mixed operation of an edge, the complexity cost
# $\mathrm{Cost}(\gamma; s)$ and a complexity vector built from parameter counts; the hypernetwork's
# interpolation $s \mapsto \alpha(s)$; and a search over one mixed edge on scikit-learn's digits (a
# few seconds), where you check what the penalty weight $\kappa$ does with your own complexity
# vector $s$.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# channels: {choice: [4, 6, 8, 12, 16]}
# bandwidth: {uniform: [0.1, 1.0]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0                   # defaults: the variant every reader of the book sees
channels = 8
bandwidth = 1.0
secret_seed = 1            # the hidden tests' inputs: each student's is drawn from the class's secret

# %% [markdown]
# Your complexity vector `s` (one penalty per operation, in the order
# $(\text{pool}, \text{identity}, \text{conv})$ of `OPS`), the logits used in the tests and the data
# are drawn from your `seed` below. Run the cell and keep its names.

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from nasvec.dnas import SLIDES_OPS, default_references, make_op

torch.set_num_threads(1)
OPS = SLIDES_OPS            # ("max_pool_3x3", "skip_connect", "conv_3x3"): s = (pool, identity, conv)
rng = np.random.default_rng(seed)
while True:                 # a complexity vector whose smallest penalty is clearly the smallest
    s = np.round(rng.dirichlet(np.ones(3)), 2)
    s[2] = round(1.0 - s[0] - s[1], 2)
    if s.min() >= 0 and np.sort(s)[1] - np.sort(s)[0] >= 0.2:
        break
s_ref = default_references(3)          # the hypernetwork's 7 reference points (vertices, midpoints, centre)
n_edges = 5
alpha_ref = np.round(rng.normal(0.0, 1.0, (len(s_ref), n_edges, 3)), 3)   # reference logits (7, 5, 3)
channels = int(channels)
bandwidth = float(bandwidth)
kappa_high = 5.0

digits = load_digits()
x_train = torch.tensor(digits.images[:600] / 16.0, dtype=torch.float32)[:, None]   # (600, 1, 8, 8)
y_train = torch.tensor(digits.target[:600], dtype=torch.long)


def rand_tensor(shape, seed):
    """Standard normal numbers from ``torch.Generator().manual_seed(seed)``."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


print(f"s = {s.tolist()}, channels = {channels}, bandwidth = {bandwidth}")

# %% [raw]
# # BEGIN QUESTION
# name: mixed_op_and_cost
# points: 3
# reference: [nasvec.dnas.cells.MixedOp, nasvec.dnas.hyper.cost, nasvec.dnas.cost, nasvec.dnas.cells.count_params, nasvec.dnas.count_params, nasvec.dnas.latency.to_simplex, nasvec.dnas.to_simplex]
# shortcuts:
#   - name: the edge's weights left out (the plain mean of the ops)
#     replace: [["sum(g * op(x) for g, op in zip(gamma, ops))", "sum(op(x) for op in ops) / len(ops)"]]
#   - name: the cost averaged over the edges instead of summed
#     replace: [["np.asarray(s, dtype=np.float64)).sum())", "np.asarray(s, dtype=np.float64)).sum(-1).mean())"]]
#   - name: the stride ignored (the ops built with stride 1)
#     replace: [["make_op(o, channels, stride)", "make_op(o, channels)"]]

# %% [markdown]
# **The mixed operation, the cost and a complexity vector from parameter counts.** An edge of the
# super-network computes $\hat g(x) = \sum_m \gamma_m\, o^{(m)}(x)$ and the search pays
# $\mathrm{Cost}(\gamma; s) = \sum_{\text{edges } e} \sum_m \gamma_{e,m} s_m$. Define:
#
# 1. `mixed_op(x, gamma, ops)`: `x` a tensor `(b, C, H, W)`, `gamma` a tensor `(k,)`, `ops` a list
#    (or `nn.ModuleList`) of $k$ modules; return the tensor $\sum_m \gamma_m\, \mathrm{ops}[m](x)$.
# 2. `cost(gamma, s)`: `gamma` an array `(E, k)` (one row per edge), `s` an array `(k,)`; return
#    $\mathrm{Cost}(\gamma; s)$ as a float.
# 3. `param_complexity(channels, stride)`: the complexity vector that penalises each op of `OPS`
#    by its number of parameters, built with `nasvec.dnas.make_op(name, channels, stride)` (the
#    defaults otherwise): return a NumPy array `(3,)`, the parameter counts divided by their sum.
#    (Why does it make no sense for `stride=1`? On a reduction edge, `stride=2`, the identity is a
#    factorised reduction with parameters.)
#
# Then set `s_params = param_complexity(channels, 2)` for your `channels`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def mixed_op(x, gamma, ops):
    return sum(g * op(x) for g, op in zip(gamma, ops))  # SOLUTION


def cost(gamma, s):
    return float((np.asarray(gamma, dtype=np.float64) * np.asarray(s, dtype=np.float64)).sum())  # SOLUTION


def param_complexity(channels, stride):
    # BEGIN SOLUTION
    counts = np.array([sum(p.numel() for p in make_op(o, channels, stride).parameters()) for o in OPS], dtype=np.float64)
    return counts / counts.sum()
    # END SOLUTION


s_params = param_complexity(channels, 2)  # SOLUTION
print("s_params =", np.round(s_params, 4))

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
_ops = [nn.Identity(), nn.Identity()]
(tuple(mixed_op(torch.ones(1, 1, 2, 2), torch.tensor([0.25, 0.75]), _ops).shape),
 round(float(cost(np.full((4, 3), 1 / 3), np.array([0.2, 0.3, 0.5]))), 4), np.shape(s_params), round(float(np.sum(s_params)), 6))

# %%
# HIDDEN
from nasvec.dnas.cells import MixedOp
_c, _stride = 3 + secret_seed % 6, 1 + secret_seed % 2      # an edge of the grader's own
_ = torch.manual_seed(secret_seed)
_edge = MixedOp(OPS, _c, _stride)            # nasvec's mixed edge (DARTS search ops)
_x = rand_tensor((3, _c, 8, 8), secret_seed)
_gamma = torch.softmax(2.0 * rand_tensor((3,), secret_seed + 1), 0)   # weights far from uniform
with torch.no_grad():
    _ok = bool(torch.allclose(mixed_op(_x, _gamma, _edge.ops), _edge(_x, _gamma), atol=1e-5))
_ok

# %%
# HIDDEN
from nasvec.dnas import cost as nasvec_cost
_r = np.random.default_rng(secret_seed)      # edge weights and a complexity vector of the grader's own
_gamma = torch.softmax(torch.tensor(_r.normal(0.0, 1.5, (int(_r.integers(4, 29)), 3))), -1)
_s = _r.dirichlet(np.ones(3))
_ref = [float(nasvec_cost(_gamma, torch.tensor(np.asarray(v, dtype=np.float64)))) for v in (s, _s)]
_mine = [float(cost(_gamma.numpy(), v)) for v in (s, _s)]
(bool(np.allclose(_mine, _ref, rtol=1e-6, atol=1e-6)), [round(v, 4) for v in _ref])

# %%
# HIDDEN
from nasvec.dnas import count_params, to_simplex
_counts = [count_params(make_op(o, channels, 2)) for o in OPS]
(np.round(np.asarray(s_params, dtype=np.float64), 4).tolist(), bool(np.allclose(s_params, to_simplex(_counts))))

# %%
# HIDDEN
from nasvec.dnas import count_params, to_simplex
_c = 2 * (2 + secret_seed % 15)              # a width of the grader's own (even, 4 to 32), on a reduction edge
_ref = to_simplex([count_params(make_op(o, _c, 2)) for o in OPS])
(bool(np.allclose(np.asarray(param_complexity(_c, 2), dtype=np.float64), _ref, atol=1e-9)), np.round(_ref, 4).tolist())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: hypernetwork_logits
# points: 3
# reference: [nasvec.dnas.hyper.HyperNet, nasvec.dnas.HyperNet]
# shortcuts:
#   - name: the bandwidth left out
#     replace: [["z = -d2 / b", "z = -d2"]]
#   - name: the distance instead of the squared distance
#     replace: [["** 2).sum(-1)", "** 2).sum(-1) ** 0.5"]]
#   - name: the slides' factor e^2 whatever the bandwidth
#     replace: [["float(np.exp(2.0 / bandwidth))", "float(np.exp(2.0))"]]

# %% [markdown]
# **The hypernetwork's interpolation.** The hypernetwork maps a complexity vector $s$ to logits
#
# $$\alpha(s) = \sum_{r=1}^{m} w_r(s)\, \alpha_{\mathrm{ref},r}, \qquad
#   w_r(s) = \mathrm{softmax}_r\big(-\lVert s - s_{\mathrm{ref},r}\rVert^2 / b\big),$$
#
# with reference points $s_{\mathrm{ref},r}$ (the rows of `s_ref`, shape `(7, 3)`), reference logits
# $\alpha_{\mathrm{ref},r}$ (`alpha_ref`, shape `(7, 5, 3)`: 5 edges, 3 ops) and bandwidth $b$ (the
# slides use $b = 1$). Define:
#
# 1. `hyper_weights(s, s_ref, b)`: a NumPy array `(m,)`, the weights $w_r(s)$;
# 2. `hyper_alpha(s, s_ref, alpha_ref, b)`: a NumPy array of shape `alpha_ref.shape[1:]`, the logits $\alpha(s)$;
# 3. `max_weight_ratio`: a float, the largest ratio $\max_r w_r(s) / \min_r w_r(s)$ over all $s$ of
#    the simplex, for your `bandwidth` (derive it, or take the maximum over a fine grid that contains
#    the vertices). The chapter says that with $b = 1$ the weights of any $s$ differ by at most a
#    factor $e^2$.

# %% [raw]
# # BEGIN SOLUTION

# %%
def hyper_weights(s, s_ref, b):
    # BEGIN SOLUTION
    d2 = ((np.asarray(s_ref, dtype=np.float64) - np.asarray(s, dtype=np.float64)) ** 2).sum(-1)
    z = -d2 / b
    e = np.exp(z - z.max())
    return e / e.sum()
    # END SOLUTION


def hyper_alpha(s, s_ref, alpha_ref, b):
    return np.tensordot(hyper_weights(s, s_ref, b), np.asarray(alpha_ref, dtype=np.float64), axes=1)  # SOLUTION


max_weight_ratio = float(np.exp(2.0 / bandwidth))  # SOLUTION
print("w(s) =", np.round(hyper_weights(s, s_ref, bandwidth), 4), "; max ratio =", max_weight_ratio)

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
(np.shape(hyper_weights(s, s_ref, 1.0)), round(float(np.sum(hyper_weights(s, s_ref, 1.0))), 6),
 np.shape(hyper_alpha(s, s_ref, alpha_ref, 1.0)), bool(max_weight_ratio >= 1))

# %%
# HIDDEN
from nasvec.dnas import HyperNet
_r = np.random.default_rng(secret_seed)      # a bandwidth, a point and reference logits of the grader's own
_b = round(0.2 + (secret_seed % 600) / 1000, 3)
_s = _r.dirichlet(np.ones(3))
_a = _r.normal(0.0, 1.0, (len(s_ref), 4, 3))
_hn = HyperNet(3, bandwidth=_b, shape=(4,))
_hn.alpha_ref.data = torch.tensor(_a, dtype=torch.float64)
_hn.ref_points = _hn.ref_points.double()
with torch.no_grad():
    _w, _alpha = _hn.weights(torch.tensor(_s)).numpy(), _hn(torch.tensor(_s)).numpy()
print(bool(np.allclose(hyper_weights(_s, s_ref, _b), _w, atol=1e-7)),
      bool(np.allclose(hyper_alpha(_s, s_ref, _a, _b), _alpha, atol=1e-6)), np.round(_w, 4).tolist())

# %%
# HIDDEN
from nasvec.dnas import HyperNet
_hn = HyperNet(3, bandwidth=bandwidth, shape=(n_edges,))
_hn.alpha_ref.data = torch.tensor(alpha_ref, dtype=torch.float32)
with torch.no_grad():
    _ok = (bool(np.allclose(hyper_weights(s, s_ref, bandwidth), _hn.weights(s).numpy(), atol=1e-6)),
           bool(np.allclose(hyper_alpha(s, s_ref, alpha_ref, bandwidth), _hn(s).numpy(), atol=1e-5)),
           bool(np.allclose(hyper_alpha(s_ref[0], s_ref, alpha_ref, bandwidth), _hn(s_ref[0]).numpy(), atol=1e-5)))
_ok

# %%
# HIDDEN
print(np.round(np.asarray(hyper_weights(s, s_ref, bandwidth), dtype=np.float64), 4).tolist(),
      np.round(np.asarray(hyper_alpha(s, s_ref, alpha_ref, bandwidth), dtype=np.float64)[0], 4).tolist())

# %%
# HIDDEN
from nasvec.dnas import HyperNet, simplex_grid
_hn = HyperNet(3, bandwidth=bandwidth, shape=(n_edges,))
with torch.no_grad():
    _w = _hn.weights(simplex_grid(3, 10)).double()
_ref = float((_w.max(-1).values / _w.min(-1).values).max())
(bool(abs(np.log(max_weight_ratio) - np.log(_ref)) < 1e-3), round(float(np.log(max_weight_ratio)), 3))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: penalty_effect
# points: 4
# reference: [nasvec.dnas.hyper.differentiable_search, nasvec.dnas.differentiable_search]
# shortcuts:
#   - name: the penalty on the Gumbel draw instead of softmax(alpha)
#     replace: [["kappa * torch.softmax(alpha, -1) @ s_t", "kappa * gamma @ s_t"]]
#   - name: the Gumbel noise from torch's global generator
#     replace: [["torch.rand(3, generator=gen)", "torch.rand(3)"]]
#   - name: the network's initialisation not seeded
#     replace: [["torch.manual_seed(seed)\n    net = OneEdgeNet()", "net = OneEdgeNet()"]]

# %% [markdown]
# **What the penalty weight does: a search over one mixed edge.** The network below is a 3×3
# convolution stem, **one mixed edge** over `OPS` and a linear classifier, on 600 of
# scikit-learn's 8×8 digits (`x_train`, `y_train`). `OneEdgeNet()(x, gamma)` takes a batch and
# the edge's weights `gamma` (a tensor `(3,)`).
#
# Define `search_one_edge(kappa, s, seed)` that searches the edge's logits $\alpha$ (a tensor `(3,)`,
# initialised to zeros) together with the network's weights, **exactly** as follows, and returns the
# final $\alpha$ as a NumPy array `(3,)`:
#
# * `torch.manual_seed(seed)`, then `net = OneEdgeNet()`; `gen = torch.Generator().manual_seed(seed)`;
# * `torch.optim.Adam(net.parameters(), lr=3e-3)` and `torch.optim.Adam([alpha], lr=3e-2)`;
# * 4 epochs; in each, a permutation of the 600 images `torch.randperm(600, generator=gen)`, cut
#   into batches of 64 (the last one shorter); per batch: one Gumbel draw
#   $\gamma = \mathrm{softmax}(\alpha + g)$ at temperature $t = 1$ with
#   $g = -\log(-\log U)$, `U = torch.rand(3, generator=gen)`; the loss
#
#   $$\mathrm{CE}\big(\mathrm{net}(x, \gamma), y\big) + \kappa\, \langle \mathrm{softmax}(\alpha), s\rangle;$$
#
#   zero both optimisers' gradients, backpropagate, step both.
#
# Then set `alpha_high = search_one_edge(kappa_high, s, seed)` ($\kappa = 5$, your `s`),
# `p_high` to $\mathrm{softmax}$ of it (NumPy `(3,)`) and `derived_high` to the name in `OPS` of the op with the largest
# logit: the architecture the search derives. Which op do you expect?

# %%
class OneEdgeNet(nn.Module):
    """Stem (3x3 conv, 4 channels, ReLU), one mixed edge over OPS (stride 1), linear classifier."""

    def __init__(self, channels=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU())
        self.ops = nn.ModuleList([nn.MaxPool2d(3, 1, padding=1), nn.Identity(),
                                  nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())])
        self.head = nn.Linear(channels * 64, 10)

    def forward(self, x, gamma):
        h = self.stem(x)
        return self.head(sum(g * op(h) for g, op in zip(gamma, self.ops)).flatten(1))

# %% [raw]
# # BEGIN SOLUTION

# %%
def search_one_edge(kappa, s, seed):
    # BEGIN SOLUTION
    torch.manual_seed(seed)
    net = OneEdgeNet()
    gen = torch.Generator().manual_seed(seed)
    alpha = torch.zeros(3, requires_grad=True)
    s_t = torch.as_tensor(np.asarray(s), dtype=torch.float32)
    opt_w = torch.optim.Adam(net.parameters(), lr=3e-3)
    opt_a = torch.optim.Adam([alpha], lr=3e-2)
    for _ in range(4):
        perm = torch.randperm(len(y_train), generator=gen)
        for i in range(0, len(y_train), 64):
            idx = perm[i:i + 64]
            g = -torch.log(-torch.log(torch.rand(3, generator=gen)))
            gamma = torch.softmax(alpha + g, -1)
            loss = nn.functional.cross_entropy(net(x_train[idx], gamma), y_train[idx]) \
                + kappa * torch.softmax(alpha, -1) @ s_t
            opt_w.zero_grad()
            opt_a.zero_grad()
            loss.backward()
            opt_w.step()
            opt_a.step()
    return alpha.detach().numpy()
    # END SOLUTION


alpha_high = search_one_edge(kappa_high, s, seed)  # SOLUTION
# BEGIN SOLUTION
p_high = np.exp(alpha_high - alpha_high.max())
p_high = p_high / p_high.sum()
derived_high = OPS[int(np.argmax(alpha_high))]
# END SOLUTION
print(f"s = {s.tolist()}: alpha = {np.round(alpha_high, 3)}, softmax = {np.round(p_high, 3)}, derived: {derived_high}")

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
(np.shape(alpha_high), np.shape(p_high), round(float(np.sum(p_high)), 4), str(derived_high) in OPS)

# %%
# HIDDEN
(str(derived_high), bool(np.allclose(p_high, np.exp(alpha_high) / np.exp(alpha_high).sum(), atol=1e-6)))

# %%
# HIDDEN
_a0 = search_one_edge(0.0, s, secret_seed)
_a1 = search_one_edge(0.0, s[::-1].copy(), secret_seed)
bool(np.allclose(_a0, _a1, atol=0))        # with kappa = 0 the search ignores s; and it is seeded

# %%
# HIDDEN
_s = [np.roll(s, r) for r in (1, 2)]          # the same penalties moved to the other ops
print([str(OPS[int(np.argmax(search_one_edge(kappa_high, s_r, secret_seed)))]) for s_r in _s])

# %%
# HIDDEN
def _search(kappa, s, seed):                 # the loop exactly as the prompt states it
    torch.manual_seed(seed)
    net = OneEdgeNet()
    gen = torch.Generator().manual_seed(seed)
    alpha = torch.zeros(3, requires_grad=True)
    s_t = torch.tensor(np.asarray(s), dtype=torch.float32)
    opt_w, opt_a = torch.optim.Adam(net.parameters(), lr=3e-3), torch.optim.Adam([alpha], lr=3e-2)
    for _ in range(4):
        perm = torch.randperm(600, generator=gen)
        for i in range(0, 600, 64):
            idx = perm[i:i + 64]
            gamma = torch.softmax(alpha - torch.log(-torch.log(torch.rand(3, generator=gen))), -1)
            loss = nn.functional.cross_entropy(net(x_train[idx], gamma), y_train[idx]) + kappa * (torch.softmax(alpha, -1) * s_t).sum()
            opt_w.zero_grad()
            opt_a.zero_grad()
            loss.backward()
            opt_w.step()
            opt_a.step()
    return alpha.detach().numpy().astype(np.float64)


_r = np.random.default_rng(secret_seed)      # a penalty weight, a complexity vector and a seed of the grader's own
_kappa, _s = round(float(_r.uniform(0.5, 3.0)), 2), _r.dirichlet(np.ones(3))
_mine = np.asarray(search_one_edge(_kappa, _s, secret_seed), dtype=np.float64)
_ref = _search(_kappa, _s, secret_seed)
print(bool(np.allclose(_mine, _ref, atol=2e-3)), np.round(_ref, 2).tolist())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
