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
# # The Gumbel-Softmax limit theorem
#
# The search of the next chapter (seed 004: Firsov, 2025, *architecture optimisation with control
# of operating characteristics on the target device*) relaxes the choice of one operation per edge
# of a DARTS cell into a **mixed operation**
#
# $$\hat g^{(i,j)}(x) = \sum_{m=1}^k \gamma^{(i,j)}_m\, o^{(m)}(x), \qquad
#   \gamma^{(i,j)} \sim \mathrm{GumbelSoftmax}(\alpha^{(i,j)}, t),$$
#
# where $\gamma(t) = \mathrm{softmax}\big((\alpha + g)/t\big)$ with $g_1,\dots,g_k$ i.i.d. standard
# Gumbel noise is a random point of the simplex $\Delta^{k-1}$. The slides justify the relaxation
# with a theorem about the limit $t \to 0^+$. In English translation:
#
# > **Theorem (Firsov, 2025).** Suppose that for every set of weights $w \in \mathbb R^n$ and any
# > input $x \in \mathcal X$ the function
# >
# > $$f(\gamma) = \mathcal L_{\mathrm{task}}(w, \gamma) + \kappa \langle \gamma, s\rangle, \qquad s \in \Delta^{k-1},$$
# >
# > is continuous and bounded on the simplex
# > $\Delta^{k-1} = \{\gamma \in \mathbb R^k \mid \sum_{i=1}^k \gamma_i = 1,\ \gamma_i \ge 0\}$. Put
# >
# > $$\gamma(t) \sim \mathrm{GumbelSoftmax}(\alpha, t), \qquad \bar\gamma(t) = \mathrm{Softmax}(\alpha/t) = \mathbb E[\gamma(t)].$$
# >
# > Then
# >
# > $$\lim_{t\to 0^+} \mathbb E\big[f(\gamma(t))\big] = f(\bar\gamma(0)).$$
#
# $\bar\gamma(0)$ can only mean the limit of $\mathrm{Softmax}(\alpha/t)$: the vertex
# $e_{m^*}$ of the largest logit $m^* = \arg\max_m \alpha_m$. So the claim is that the expected
# relaxed objective tends to the objective **of the argmax architecture**. The statement contains
# two claims that can be checked by computation: the identity
# $\mathbb E[\gamma(t)] = \mathrm{Softmax}(\alpha/t)$, and the limit. This chapter tests both by
# Monte Carlo (and, for $\mathbb E[\gamma(t)]$, by numerical integration, without sampling noise)
# for a linear $f$, a non-linear $f$ and the loss of a small network; finds that both fail; proves
# and verifies the corrected statement; and measures what the difference means for the search.

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seed = 0
alpha = [1.0, 0.5, -0.3]   # logits of the worked example (the counterexample below)
values = [3.0, 1.0, 2.0]   # linear f: its values f(e_m) at the vertices
center = [0.2, 0.5, 0.3]   # non-linear f: squared distance from gamma to center
t_max = 10.0               # temperature grid: n_t values from t_max down to t_min (log scale)
t_min = 1e-3
n_t = 13
n_mc = 20000               # Monte Carlo draws per temperature (linear and quadratic f, E[gamma])
n_net = 400                # Monte Carlo draws per temperature for the network's loss
net_alpha = [0.5, -0.3, 1.0]   # logits of the network's mixed op, order (pool, identity, conv)
kappa = 0.5                # weight of the cost term: f is L_task plus kappa times the cost
s = [0.15, 0.15, 0.70]     # complexity vector (pool, identity, conv): the slides' case B
net_epochs = 20            # training of the tiny network's weights (gamma uniform on the simplex)
channels = 8
heat_resolution = 30       # grid of the simplex for the loss landscape
grad_ts = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]   # temperatures of the gradient study
n_grad = 4000              # draws per temperature for the gradient estimators
n_grad_net = 300           # the same for the network
n_random = 40              # random (alpha, f) problems for the verification of the corrected limit
t_random = 1e-3
n_mc_random = 20000
sharpness = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]   # alpha scaled by these factors in the search-gap table
threads = 1                # torch threads (1 keeps runs reproducible on a shared CPU)

# %%
import pandas as pd
import torch

import nasvec
from nasvec.book import Report
from nasvec.book.plots import gumbel as figures
from nasvec.experiments import gumbel as chapter, gumbel_summary
from nasvec.dnas import gumbel_softmax

nasvec.seed_everything(seed)
rep = Report("gumbel")
torch.set_num_threads(threads)

# %% [markdown]
# ## What $\gamma(t)$ looks like
#
# For the worked example $\alpha = (1, 0.5, -0.3)$ the figure shows draws of $\gamma(t)$ on the
# triangle $\Delta^2$, the slides' $\bar\gamma(t) = \mathrm{Softmax}(\alpha/t)$, and the actual
# mean $\mathbb E[\gamma(t)]$, computed by numerical integration (`nasvec.dnas.gumbel_softmax.exact_mean`: with
# $Y_j = e^{(\alpha_j+g_j)/t}$ and $1/S = \int_0^\infty e^{-rS}dr$, the mean is a one-dimensional
# integral of products of one-dimensional integrals, accurate to about $10^{-10}$ here).
# At high temperature the draws crowd the centre; as $t$ falls they move to the vertices, and
# vertex $m$ receives the share $\mathrm{softmax}(\alpha)_m = (0.532, 0.323, 0.145)$ of them,
# while $\mathrm{Softmax}(\alpha/t)$ runs to the single vertex $e_1$.

# %%
gen = torch.Generator().manual_seed(seed)   # every Monte Carlo draw of the chapter, in order
a = torch.tensor(alpha, dtype=torch.float64)
ts = chapter.temperature_grid(t_max, t_min, n_t)
f_lin, f_quad = gumbel_softmax.linear(values), gumbel_softmax.quadratic(center)
rep.figure(figures.samples_simplex(a, gen), "samples_simplex")

# %% [markdown]
# ## Claim 1: $\mathbb E[\gamma(t)] = \mathrm{Softmax}(\alpha/t)$
#
# The table lists, for each temperature and component, the integral, its Monte Carlo estimate
# (with standard error, as a check of the integral) and $\mathrm{Softmax}(\alpha/t)$. They agree
# only in the trivial sense that both tend to the uniform point as $t\to\infty$. At $t = 1$
# already $\mathbb E[\gamma(1)] \ne \mathrm{Softmax}(\alpha)$, and as $t\to 0$ the mean tends to
# $\mathrm{softmax}(\alpha)$, not to the vertex $e_1$.

# %%
means = chapter.mean_table(a, ts, n_mc, gen)
rep.table(means, "mean_vs_softmax")
print(chapter.mean_gaps(means))

# %%
rep.figure(figures.mean_vs_softmax(means, a), "mean_vs_softmax")

# %% [markdown]
# ## Claim 2: the limit, for a linear $f$
#
# A counterexample: $f(\gamma) = \langle \gamma, c\rangle$ with
# $c = (f(e_1), f(e_2), f(e_3)) = (3, 1, 2)$. Then $f(\bar\gamma(0)) = f(e_1) = 3$, while the
# corrected limit is $\sum_m \mathrm{softmax}(\alpha)_m f(e_m) = 2.209$. For a linear $f$,
# $\mathbb E f(\gamma(t)) = \langle \mathbb E[\gamma(t)], c\rangle$ is also available exactly, from
# the integral above.

# %%
lin = pd.DataFrame(chapter.limit_study(f_lin, a, ts, n_mc, gen, linear_values=values))
rep.table(lin, "linear_limit")

# %% [markdown]
# ## A non-linear $f$ and the loss of a small network
#
# The theorem is stated for the loss of a network plus a linear cost. Two more test functions:
#
# * $f(\gamma) = \lVert \gamma - q\rVert^2$ with $q = (0.2, 0.5, 0.3)$: smooth, bounded, not linear;
# * the slides' own $f(\gamma) = \mathcal L_{\mathrm{task}}(w, \gamma) + \kappa\langle\gamma, s\rangle$
#   for a tiny network on scikit-learn's 8×8 digits (`gumbel.MixedOpNet`): a 3×3 convolution stem
#   with 8 channels, **one mixed edge** over the slides' three operations (3×3 max-pool, identity,
#   3×3 convolution + ReLU), ReLU and a linear classifier. Its weights $w$ are trained once with
#   $\gamma$ drawn uniformly from the simplex for every image, so that every point of the simplex,
#   vertices included, is a trained network; then $w$ is fixed (the theorem holds "for every $w$").
#   $\mathcal L_{\mathrm{task}}$ is the cross-entropy on 360 held-out digits; $\kappa = 0.5$ and
#   $s = (0.15, 0.15, 0.70)$, the slides' case B (convolutions penalised); the logits
#   $\alpha = (0.5, -0.3, 1.0)$ over (pool, identity, conv) are those of the worked example
#   permuted, so the argmax is the convolution. The training is cached; the second table says
#   whether this run trained it or loaded it.

# %%
net_cfg = chapter.MixedNetConfig(epochs=net_epochs, channels=channels, seed=seed)
problem = chapter.network_problem(net_cfg, net_alpha, kappa, s)
f_net, a_net = problem.f, problem.alpha
rep.table(chapter.network_vertices(problem, net_epochs), "network_vertices")
rep.table(pd.DataFrame([dict(epochs=net_epochs, final_training_loss=problem.trained["loss"][-1],
                             from_cache=problem.from_cache)]), "network_training_timing")  # differs if cached

# %% [markdown]
# The network's $f$ over the whole simplex, with the two paths of the figure above: the slides'
# $\bar\gamma(t) = \mathrm{Softmax}(\alpha/t)$ and the actual $\mathbb E[\gamma(t)]$, for $t$ from
# 10 to 0.001.

# %%
rep.figure(figures.network_landscape(f_net, a_net, ts, heat_resolution), "network_landscape")

# %%
quad = pd.DataFrame(chapter.limit_study(f_quad, a, ts, n_mc, gen))
rep.table(quad, "quadratic_limit")
netl = pd.DataFrame(chapter.limit_study(f_net, a_net, ts, n_net, gen, batch=n_net))
rep.table(netl, "network_limit")

# %% [markdown]
# The three limits side by side (bands: 95 % Monte Carlo confidence, mean ± 1.96 standard errors):

# %%
studies = {"linear f, c = (3, 1, 2)": lin, "f = ||γ − q||²": quad, "network: L_task + κ⟨γ, s⟩": netl}
rep.figure(figures.limits(studies), "limits")

# %%
limits = chapter.limits_summary(studies)
rep.table(limits, "limits_summary")
rep.note(gumbel_summary.limits_line(limits))

# %% [markdown]
# For the linear example the corrected limit is the value derived above (column `corrected`). The deterministic relaxation $f(\mathrm{Softmax}(\alpha/t))$ does tend to
# the claimed value $f(\bar\gamma(0))$: the theorem's conclusion holds for the **deterministic**
# relaxation, not for the expectation it is stated for. A curiosity of the linear case: at
# $t = 1$, $f(\mathrm{Softmax}(\alpha)) = \sum_m \mathrm{softmax}(\alpha)_m f(e_m)$ exactly, so the
# correct limit is $f(\bar\gamma(1))$, not $f(\bar\gamma(0))$.
#
# ## The corrected statement, and its proof
#
# > **Theorem (corrected).** Let $f$ be measurable and bounded on $\Delta^{k-1}$ and continuous at its vertices,
# > $\alpha \in \mathbb R^k$, $\gamma(t) = \mathrm{softmax}((\alpha + g)/t)$ with $g_m$ i.i.d.
# > standard Gumbel. Then
# >
# > $$\lim_{t\to 0^+} \mathbb E\, f(\gamma(t)) = \sum_{m=1}^k \mathrm{softmax}(\alpha)_m\, f(e_m)
# >   = \mathbb E_{m\sim \mathrm{Cat}(\mathrm{softmax}(\alpha))} f(e_m).$$
# >
# > In particular ($f(\gamma) = \gamma_m$) $\mathbb E[\gamma(t)] \to \mathrm{softmax}(\alpha)$, and the
# > slides' limit $f(\bar\gamma(0)) = f(e_{m^*})$ is obtained only when
# > $\sum_m \mathrm{softmax}(\alpha)_m f(e_m) = f(e_{m^*})$, e.g. when $f$ takes the same value at all vertices.
#
# *Proof.* **(1) Gumbel-max trick.** Let $M = \arg\max_j (\alpha_j + g_j)$; ties have probability
# zero because the $g_j$ have a density. Conditioning on $g_m = x$ and using the Gumbel
# distribution function $F(u) = \exp(-e^{-u})$,
#
# $$P(M = m) = \int_{\mathbb R} e^{-x - e^{-x}} \prod_{j\ne m} F(\alpha_m - \alpha_j + x)\,dx
#  = \int_{\mathbb R} e^{-x} \exp\Big(-e^{-x}\sum_{j} e^{\alpha_j - \alpha_m}\Big)dx
#  = \frac{1}{\sum_j e^{\alpha_j-\alpha_m}} = \mathrm{softmax}(\alpha)_m$$
#
# (substitute $u = e^{-x}$).
#
# **(2) Pointwise convergence.** Fix an outcome with a unique maximiser $M$ of $z = \alpha + g$.
# For $j \ne M$, $\gamma_j(t) = e^{(z_j - z_M)/t} / \sum_l e^{(z_l - z_M)/t} \le e^{-(z_M - z_j)/t} \to 0$,
# so $\gamma(t) \to e_M$ and, $f$ being continuous at the vertices, $f(\gamma(t)) \to f(e_M)$
# almost surely.
#
# **(3) Bounded convergence.** $|f(\gamma(t))| \le \sup_\Delta |f| < \infty$, so by the bounded
# convergence theorem $\mathbb E f(\gamma(t)) \to \mathbb E f(e_M) = \sum_m P(M = m) f(e_m)$, which
# is the claim by (1). $\square$
#
# The slides' version goes wrong in the middle line of its hypothesis: $\mathrm{Softmax}(\alpha/t)$
# is the softmax of the *expected* logits $\mathbb E[(\alpha+g)/t]$ up to a constant shift, and
# the softmax is not linear, so it is not the expectation $\mathbb E[\gamma(t)]$; as $t \to 0$ the
# two go to different points ($e_{m^*}$ and $\mathrm{softmax}(\alpha)$). And even with the right
# mean, $f(\mathbb E\gamma) \ne \mathbb E f(\gamma)$ for a non-linear $f$.
#
# **Verification on random problems.** Beyond the three functions above: random logits
# $\alpha \sim N(0, 1.5^2 I)$ with $k$ from 2 to 6 and random non-linear
# $f(\gamma) = \langle\gamma, c\rangle + b\lVert\gamma\rVert^2$, $c \sim N(0, I)$, $b \sim U(-1, 1)$,
# each estimated by Monte Carlo at $t = 10^{-3}$.

# %%
rnd, check = chapter.random_tables(n_random, t_random, n_mc_random, gen)
rep.table(rnd, "random_problems")
rep.table(check, "random_problems_summary")

# %%
rep.figure(figures.convergence({"linear f (integral, no noise)": lin, "network": netl}), "convergence")
print(f"linear f: fitted exponent b in |E f(gamma(t)) - limit| ~ t^b for t <= 0.1: {chapter.convergence_exponent(lin):.2f}")

# %% [markdown]
# The left panel, free of sampling noise, shows how fast the corrected limit is approached for
# the linear example (the printed exponent is the slope of the green curve for $t \le 0.1$), while
# the distance to the claimed limit settles at the gap between the two limits. On the right, for the
# network, the distance to the corrected limit is to be read against the Monte Carlo noise (dotted); the
# line below gives both at the smallest temperature.

# %%
rep.note(gumbel_summary.convergence_line(limits))

# %% [markdown]
#
# ## What it means for the search
#
# **The objective.** For small $t$ the relaxed objective $\mathbb E_\gamma f(\gamma(t))$ is the
# expected objective of an architecture **sampled** from $\mathrm{Cat}(\mathrm{softmax}(\alpha))$,
# not the objective of the architecture one derives at the end, the argmax $e_{m^*}$. The two agree
# only when $\mathrm{softmax}(\alpha)$ is concentrated on one vertex. Minimising the relaxed
# objective over $\alpha$ does push the mass towards the best vertex (the minimum of
# $\sum_m p_m f(e_m)$ over the simplex of $p$ is at the best vertex), so the search aims at the right
# architecture; but the value it reports during the search is that of a mixture, and the gap to the
# derived architecture's value depends on how peaked the logits are. The table scales the example
# logits by a factor $\lambda$ and measures the gap
# $f(e_{m^*}) - \sum_m \mathrm{softmax}(\lambda\alpha)_m f(e_m)$.

# %%
problems = {"linear": (f_lin, a), "quadratic": (f_quad, a), "network": (f_net, a_net)}
gap = chapter.search_gap(problems, sharpness)
rep.table(gap, "search_gap")

# %% [markdown]
# The same confusion affects the slides' cost term $\kappa\,\mathrm{Cost}(\bar\gamma; s)$. Cost is
# linear in $\gamma$, so if $\bar\gamma$ is the true mean $\mathbb E[\gamma(t)]$ the term equals the
# expected cost of the sampled architectures, $\to \kappa \langle \mathrm{softmax}(\alpha), s\rangle$
# per edge; if it is implemented as the deterministic $\mathrm{Softmax}(\alpha/t)$ it measures the
# cost of the argmax architecture instead. With the slides' identity $\bar\gamma = \mathbb E\gamma$
# false, the task term and the cost term of the objective refer to different architectures when
# $t$ is small. Chapter 5 takes $\bar\gamma = \mathrm{softmax}(\alpha)$, the $t \to 0$ limit of
# $\mathbb E[\gamma(t)]$: the expected cost of a sampled architecture in the limit, which at the
# temperatures of its schedule (1.0 → 0.2) is not the actual expected cost (first column below; the line
# under the table says by how much). For the network example, $\kappa\langle\cdot, s\rangle$ at the points, per $t$:

# %%
cost = chapter.cost_table(a_net, s, kappa, ts)
rep.table(cost, "cost_term")
rep.note(gumbel_summary.cost_gap_line(cost))

# %% [markdown]
# **The gradient.** The search differentiates the relaxed objective. The pathwise
# (reparameterised) estimator — differentiate $f(\mathrm{softmax}((\alpha+g)/t))$ for each draw
# of $g$ — is unbiased for $\nabla_\alpha \mathbb E f(\gamma(t))$, which tends to the gradient of
# the discrete objective $J(\alpha) = \sum_m \mathrm{softmax}(\alpha)_m f(e_m)$ as $t \to 0$, but its
# variance grows: a draw has a non-zero gradient only when the two largest perturbed logits are
# within about $t$ of each other, and then its size is of order $1/t$. REINFORCE (the
# score-function estimator $f(e_m)\,\nabla_\alpha \log \mathrm{softmax}(\alpha)_m$ of $\nabla J$) is
# unbiased for $\nabla J$ at every $t$ with a variance that does not depend on $t$; a leave-one-out
# baseline reduces it. The deterministic relaxation's gradient $\nabla f(\mathrm{Softmax}(\alpha/t))$
# has no variance, but points elsewhere: it tends to zero (the softmax saturates) instead of to $\nabla J$.
# Per temperature, `pathwise_total_var` is the summed variance of one draw of the estimator
# (divide by the batch size for a minibatch average), `pathwise_bias_to_grad_J` the distance of its
# mean from $\nabla J$ (`pathwise_bias_se`: the noise level of that distance).

# %%
grads = chapter.gradient_table(problems, grad_ts, n_grad, n_grad_net, gen, values)
rep.table(grads, "gradient_variance")

# %%
rep.figure(figures.gradient_variance(grads), "gradient_variance")

# %%
print(chapter.gradient_findings(grads))

# %% [markdown]
# The argument above predicts an exponent of $-1$ (variance $\propto 1/t$) for small $t$; the
# printed fits are to be compared with it. With few draws the estimate at the smallest $t$ is itself
# noisy, because only a fraction of order $t$ of the draws is not saturated. Whether the pathwise mean's
# distance to $\nabla J$ at small $t$ is within its own noise for these sample sizes (dotted lines) is
# the line below; the exact curve for the linear $f$ shows the bias that remains. At $t = 0.2$, the end of
# the slides' temperature schedule (1.0 → 0.2), the printed bias of the pathwise estimator for the linear
# $f$ is its distance to $\nabla J$, which REINFORCE estimates without bias; the printed temperatures are
# those where one pathwise draw is noisier than one REINFORCE-with-baseline draw. The two estimate
# different gradients (of the relaxed and of the discrete objective), so this is a statement about the
# search's aim $J$, not a ranking of estimators in general.

# %%
rep.note(gumbel_summary.gradient_noise_line(grads))

# %% [markdown]
#
#
# ## Summary
#
# Computed from this run's tables:

# %%
rep.note("\n".join(f"* {line}" for line in gumbel_summary.summary_lines(means, limits, gap, cost, grads)))
