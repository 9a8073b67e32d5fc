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
# # Assignment: The Gumbel-Softmax limit theorem
# This assignment follows the chapter *The Gumbel-Softmax limit theorem*. You implement the
# Gumbel-Softmax sampler, test the slides' identity $\mathbb E[\gamma(t)] = \mathrm{Softmax}(\alpha/t)$
# by Monte Carlo for your own logits $\alpha$ and temperature $t$, and check which limit
# $\mathbb E f(\gamma(t))$ tends to as $t \to 0^+$: the slides' $f(\bar\gamma(0))$ or the corrected
# $\sum_m \mathrm{softmax}(\alpha)_m f(e_m)$. Everything runs in a second on a laptop.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# t: {uniform: [0.3, 1.0]}
# secret_seed: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0                   # defaults: the variant every reader of the book sees
t = 0.5
secret_seed = 1           # the hidden tests' noise: each student's is drawn from the class's secret

# %% [markdown]
# Your logits $\alpha$ (four operations), the values $f(e_m)$ of a linear test function at the
# vertices, and the noise you must use are drawn from your `seed` below. Run the cell and keep
# the names: `alpha`, `values`, `t`, `n`, `u`, and the helper `uniforms(n, k, seed)`, which returns an
# array `(n, k)` of uniform numbers in $(0, 1)$ (the same numbers `nasvec` draws from a torch
# generator with that seed).

# %%
import numpy as np
import torch

torch.set_num_threads(1)
rng = np.random.default_rng(seed)
k = 4
while True:                # distinct logits, not all close together
    alpha = np.round(rng.normal(0.0, 1.5, k), 2)
    if np.unique(alpha).size == k and np.ptp(alpha) >= 1.0:
        break
values = np.round(rng.normal(0.0, 1.0, k), 2)
values[np.argmax(alpha)] = round(float(values.max()) + 1.0, 2)   # the argmax op has the largest f
t = float(t)
n = 20000


def uniforms(n, k, seed):
    """``(n, k)`` float64 uniforms in (0, 1), drawn from ``torch.Generator().manual_seed(seed)``."""
    return torch.rand((n, k), generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()


def generator(seed):
    return torch.Generator().manual_seed(seed)


u = uniforms(n, k, seed)
print(f"alpha = {alpha.tolist()}, values = {values.tolist()}, t = {t}, n = {n}")

# %% [raw]
# # BEGIN QUESTION
# name: gumbel_softmax_sampler
# points: 3
# reference: [nasvec.dnas.gumbel_softmax.sample, torch.nn.functional.gumbel_softmax]
# shortcuts:
#   - name: the temperature left out
#     replace: [["z = (np.asarray(alpha, dtype=np.float64) + g) / t", "z = np.asarray(alpha, dtype=np.float64) + g"]]

# %% [markdown]
# **Implement the Gumbel-Softmax sampler.** A draw of $\gamma(t) \sim \mathrm{GumbelSoftmax}(\alpha, t)$ is
#
# $$\gamma(t) = \mathrm{softmax}\big((\alpha + g)/t\big), \qquad g_m = -\log(-\log U_m),\quad U_m \sim U(0, 1) \text{ i.i.d.}$$
#
# Define a function `gumbel_softmax(alpha, t, u)` that takes the logits `alpha` (a NumPy array of
# shape `(k,)`), a temperature `t > 0` and uniforms `u` (a NumPy array of shape `(n, k)`, values in
# $(0, 1)$), and returns a NumPy array of shape `(n, k)`: row $i$ is the draw made from the noise
# $g_i = -\log(-\log u_i)$. Compute the softmax stably (subtract each row's maximum before
# exponentiating): it must give finite results for temperatures as small as $t = 10^{-3}$.
# The tests compare your draws with `nasvec.dnas.gumbel_softmax.sample` on the same noise.

# %% [raw]
# # BEGIN SOLUTION

# %%
def gumbel_softmax(alpha, t, u):
    # BEGIN SOLUTION
    g = -np.log(-np.log(np.asarray(u, dtype=np.float64)))
    z = (np.asarray(alpha, dtype=np.float64) + g) / t
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
_g = gumbel_softmax(np.zeros(3), 1.0, uniforms(5, 3, 0))
(np.asarray(_g).shape, bool(np.allclose(np.asarray(_g).sum(axis=1), 1.0)), bool((np.asarray(_g) >= 0).all()))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_t = 0.2 + (secret_seed % 400) / 1000      # a temperature of the grader's own, in [0.2, 0.6)
_ref = nvg.sample(torch.tensor(alpha), _t, 500, generator=generator(secret_seed)).numpy()
bool(np.allclose(gumbel_softmax(alpha, _t, uniforms(500, k, secret_seed)), _ref, atol=1e-10))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_ref = nvg.sample(torch.tensor(alpha), 1e-3, 200, generator=generator(secret_seed + 1)).numpy()
_g = np.asarray(gumbel_softmax(alpha, 1e-3, uniforms(200, k, secret_seed + 1)))
bool(np.isfinite(_g).all() and np.allclose(_g, _ref, atol=1e-10))

# %%
# HIDDEN
print(np.round(np.asarray(gumbel_softmax(alpha, t, u[:2]), dtype=np.float64), 4).tolist())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: mean_is_not_softmax
# points: 3
# reference: [nasvec.dnas.gumbel_softmax.expect, nasvec.dnas.gumbel_softmax.relaxed_mean, nasvec.dnas.gumbel_softmax.exact_mean]
# shortcuts:
#   - name: the standard deviation for the standard error
#     replace: [["draws.std(axis=0, ddof=1) / np.sqrt(len(draws))", "draws.std(axis=0, ddof=1)"]]

# %% [markdown]
# **Is $\mathbb E[\gamma(t)]$ equal to $\mathrm{Softmax}(\alpha/t)$?** The slides' theorem states
# $\bar\gamma(t) = \mathrm{Softmax}(\alpha/t) = \mathbb E[\gamma(t)]$. Test it by Monte Carlo for your
# `alpha` and `t`.
#
# 1. Define `mc_mean(alpha, t, u)` that draws $\gamma(t)$ with your `gumbel_softmax` from the
#    uniforms `u` (shape `(n, k)`) and returns a tuple `(mean, se)` of two NumPy arrays of shape
#    `(k,)`: the sample mean of the $n$ draws and its standard error, `std(ddof=1) / sqrt(n)`,
#    per component.
# 2. Set `E_gamma, E_gamma_se = mc_mean(alpha, t, u)` (the `u` of the setup cell, $n = 20000$).
# 3. Set `softmax_alpha_t` to $\mathrm{Softmax}(\alpha/t)$ (shape `(k,)`) and `z_claim` to the
#    z-scores `(E_gamma - softmax_alpha_t) / E_gamma_se` (shape `(k,)`).
# 4. Set `claim1_holds` to `True` if the Monte Carlo result is consistent with the identity
#    (every $|z| \le 3$), else `False`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def mc_mean(alpha, t, u):
    # BEGIN SOLUTION
    draws = gumbel_softmax(alpha, t, u)
    return draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    # END SOLUTION


E_gamma, E_gamma_se = mc_mean(alpha, t, u)  # SOLUTION
# BEGIN SOLUTION
softmax_alpha_t = np.exp(alpha / t - np.max(alpha / t))
softmax_alpha_t = softmax_alpha_t / softmax_alpha_t.sum()
z_claim = (E_gamma - softmax_alpha_t) / E_gamma_se
claim1_holds = bool(np.all(np.abs(z_claim) <= 3))
# END SOLUTION
print("E[gamma(t)] (Monte Carlo):", np.round(E_gamma, 4), "\nSoftmax(alpha/t):         ", np.round(softmax_alpha_t, 4),
      "\nz:", np.round(z_claim, 1), "\nclaim holds:", claim1_holds)

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
(np.shape(E_gamma), np.shape(E_gamma_se), round(float(np.sum(E_gamma)), 6), claim1_holds in (True, False))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_est = nvg.expect(lambda g: g, torch.tensor(alpha), t, n, generator(seed))   # the same draws as u
(bool(np.allclose(E_gamma, _est.mean.numpy(), atol=1e-9)), bool(np.allclose(E_gamma_se, _est.se.numpy(), rtol=1e-6)))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_est = nvg.expect(lambda g: g, torch.tensor(alpha), t, 3000, generator(secret_seed))   # noise of the grader's own
_m, _se = mc_mean(alpha, t, uniforms(3000, k, secret_seed))
(bool(np.allclose(_m, _est.mean.numpy(), atol=1e-9)), bool(np.allclose(_se, _est.se.numpy(), rtol=1e-6)))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_exact = nvg.exact_mean(alpha, t).numpy()   # E[gamma(t)] by numerical integration
_se = nvg.expect(lambda g: g, torch.tensor(alpha), t, n, generator(seed)).se.numpy()
(bool(np.allclose(softmax_alpha_t, nvg.relaxed_mean(alpha, t).numpy(), atol=1e-10)),
 bool(np.all(np.abs(np.asarray(E_gamma) - _exact) <= 5 * _se)))

# %%
# HIDDEN
print(np.round(np.asarray(E_gamma, dtype=np.float64), 4).tolist(), np.round(np.asarray(z_claim, dtype=np.float64), 1).tolist(),
      bool(claim1_holds))

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: corrected_limit
# points: 4
# reference: [nasvec.dnas.gumbel_softmax.vertex_expectation, nasvec.dnas.gumbel_softmax.sample_vertices, nasvec.dnas.gumbel_softmax.expect]
# shortcuts:
#   - name: the largest value for the claimed limit
#     replace: [["return float(np.asarray(values)[np.argmax(alpha)])", "return float(np.max(values))"]]
#   - name: the plain mean of the values for the corrected limit
#     replace: [["return float(p @ np.asarray(values) / p.sum())", "return float(np.mean(values))"]]

# %% [markdown]
# **Which limit does $\mathbb E f(\gamma(t))$ reach as $t \to 0^+$?** Take the linear test function
# $f(\gamma) = \langle \gamma, c\rangle$ with $c$ = `values` (so $f(e_m) = c_m$). The slides claim
# $\lim_{t\to 0^+}\mathbb E f(\gamma(t)) = f(\bar\gamma(0)) = c_{m^*}$, $m^* = \arg\max_m \alpha_m$; the
# chapter's corrected theorem says the limit is $\sum_m \mathrm{softmax}(\alpha)_m\, c_m$, because
# $\gamma(t)$ tends to the vertex $e_M$ with $M = \arg\max_m(\alpha_m + g_m)$ and
# $P(M = m) = \mathrm{softmax}(\alpha)_m$ (the Gumbel-max trick).
#
# 1. Define `vertex_frequencies(alpha, u)`: with $g = -\log(-\log u)$ row by row, return a NumPy
#    array of shape `(k,)` whose entry $m$ is the fraction of the $n$ rows in which
#    $\arg\max_j (\alpha_j + g_j) = m$.
# 2. Define `claimed_limit(values, alpha)` $= c_{m^*}$ and `corrected_limit(values, alpha)`
#    $= \sum_m \mathrm{softmax}(\alpha)_m c_m$, each returning a float.
# 3. Set `E_f_small` to the Monte Carlo estimate (a float) of $\mathbb E f(\gamma(t))$ at
#    $t = 10^{-3}$ from your `gumbel_softmax` with the setup's `u`, and `E_f_small_se` to its standard error
#    (`std(ddof=1) / sqrt(n)`).
# 4. Set `limit_answer` to the string `"claimed"` or `"corrected"`: the limit your estimate
#    agrees with (within 4 standard errors).

# %% [raw]
# # BEGIN SOLUTION

# %%
def vertex_frequencies(alpha, u):
    # BEGIN SOLUTION
    g = -np.log(-np.log(np.asarray(u, dtype=np.float64)))
    m = np.argmax(np.asarray(alpha, dtype=np.float64) + g, axis=1)
    return np.bincount(m, minlength=len(alpha)) / len(m)
    # END SOLUTION


def claimed_limit(values, alpha):
    return float(np.asarray(values)[np.argmax(alpha)])  # SOLUTION


def corrected_limit(values, alpha):
    # BEGIN SOLUTION
    p = np.exp(np.asarray(alpha) - np.max(alpha))
    return float(p @ np.asarray(values) / p.sum())
    # END SOLUTION


# BEGIN SOLUTION
f_small = gumbel_softmax(alpha, 1e-3, u) @ values
E_f_small = float(f_small.mean())
E_f_small_se = float(f_small.std(ddof=1) / np.sqrt(len(f_small)))
z_corrected = (E_f_small - corrected_limit(values, alpha)) / E_f_small_se
z_claimed = (E_f_small - claimed_limit(values, alpha)) / E_f_small_se
limit_answer = "corrected" if abs(z_corrected) <= 4 else "claimed"
# END SOLUTION
print(f"E f(gamma(0.001)) = {E_f_small:.4f} ± {E_f_small_se:.4f}; claimed {claimed_limit(values, alpha):.4f}, "
      f"corrected {corrected_limit(values, alpha):.4f} -> {limit_answer}")

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
_fr = np.asarray(vertex_frequencies(np.zeros(3), uniforms(3000, 3, 0)))
(_fr.shape, round(float(_fr.sum()), 6), round(float(corrected_limit(np.array([1.0, 2.0]), np.zeros(2))), 4),
 round(float(claimed_limit(np.array([1.0, 2.0]), np.array([0.0, 1.0]))), 4), limit_answer in ("claimed", "corrected"))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_m = nvg.sample_vertices(torch.tensor(alpha), n, generator(seed)).numpy()   # the same noise as u
bool(np.allclose(vertex_frequencies(alpha, u), np.bincount(_m, minlength=k) / n, atol=1e-12))

# %%
# HIDDEN
_r = np.random.default_rng(secret_seed)       # logits and values of the grader's own, the largest value elsewhere
_a, _v = np.round(_r.normal(0, 1.5, 5), 2), np.round(_r.normal(0, 1, 5), 2)
_v[np.argmax(_a)] = _v.min() - 0.5
(round(float(claimed_limit(_v, _a)), 4), round(float(corrected_limit(_v, _a)), 4))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_f = nvg.linear(values)
(round(float(claimed_limit(values, alpha)), 4), round(float(corrected_limit(values, alpha)), 4),
 bool(abs(corrected_limit(values, alpha) - float(nvg.vertex_expectation(_f, alpha))) < 1e-9))

# %%
# HIDDEN
from nasvec.dnas import gumbel_softmax as nvg
_est = nvg.expect(nvg.linear(values), torch.tensor(alpha), 1e-3, n, generator(seed))   # the same draws as u
(bool(abs(E_f_small - float(_est.mean)) < 1e-9), bool(abs(E_f_small_se - float(_est.se)) < 1e-6 * float(_est.se)),
 round(float(E_f_small), 4))

# %%
# HIDDEN
str(limit_answer)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
