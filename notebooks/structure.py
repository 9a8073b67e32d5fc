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
# # Predicting the structure from subsamples
#
# Seed 002 (Kalugin, Bakhteev, Strijov, 2018, *predicting the graph structure of a neural network
# model*) proposes to find good structures on **small subsamples** of the training set, where each
# search is cheap, and to let a **meta-model** learn from the pairs "subsample — structure" which
# structure the whole data set wants. The paper states the method and the quantities below; its
# experiment section is empty. This chapter designs the experiment it promised (MNIST and synthetic data,
# binary classification, AdaNet and reinforcement learning as competitors), runs it, and says whether the
# method works. The MNIST here is its test split, the only part of MNIST in this workspace: the task
# `mnist-binary` takes its 3s and 5s, splits them into our own training, validation and test parts and
# reduces them by PCA to the profile's number of features (the tasks table gives each task's sizes); its
# verdict below is the paper's own data set's. The AdaNet competitor is *AdaNet-style growth*: one hidden
# layer grown block by block and scored by the chapter's validation quality, not AdaNet itself.
#
# **The structure.** A two-layer network $f(x) = \sigma_2(W_2\,\sigma_1(W_1 x))$ (no biases, as
# written; the hidden layer has as many neurons as there are inputs, as in the paper) has the
# structure $Z = \{V_1, \vec\alpha_1, V_2, \vec\alpha_2\}$: binary masks $V_k = [W_k \ne 0]$ and one
# activation per neuron, chosen from a class (here identity, ReLU, tanh, sigmoid). $K(Z)$ is the
# number of active connections (the paper says "active neurons" but counts non-zero weights).
# A masked network $f_Z$ is trained with its masks fixed (`nasvec.subsample.masked`).
#
# **Quality and proximity.** $\mathfrak L(Z) = L(y, f_Z(X)) + g(K)$ with $g(K) = C\,K$ and $L$ the
# error rate (the paper names accuracy; we use $1 -$ accuracy so that lower is better), measured on
# held-out data. The proximity of $Z$ to the optimal $Z_{opt}$ is
#
# $$F(Z_{opt}, Z) = \mathfrak L(Z) - \mathfrak L(Z_{opt}) + \sum_k \sum_{ij}
#   \big(\alpha\,[V_{k,ij} = 1, V_{opt,k,ij} = 0] + \beta\,[V_{k,ij} = 0, V_{opt,k,ij} = 1]\big),$$
#
# with $\alpha > \beta$ when fewer connections are wanted.
#
# **The base algorithm.** On each of $k$ subsamples $D_j$ of $m$ objects, random search over
# structures with a fixed share of active connections finds a near-optimal $Z_j$; a meta-model
# trained on the pairs $(D_j, Z_j)$ predicts $Z$ for the whole data set.
#
# **What the paper leaves open, and what this chapter chooses.**
# * *The meta-model.* Not specified. We run four, from none to learned (`nasvec.subsample.meta`):
#   *best subsample* (the best $Z_j$ as it is), *vote* (per connection, the share of the $Z_j$ that
#   hold it; the most voted, as many as the search's share gives), *extrapolate* (that vote share
#   fitted linearly in $\log m$ over the sizes up to $m$ and read off at the whole set's size) and
#   *set encoder* (learned: a DeepSets network reads a subsample, object by object with its label,
#   and outputs every connection's and activation's logits; trained on the pairs $(D_j, Z_j)$ and
#   applied to the whole training set). The paper's sentence — "on the pairs subsample – optimal
#   structure we train a meta-model, with which we predict the structure of the model **and its
#   parameters** for the whole sample" — describes the set encoder; the vote and the extrapolation are
#   our simpler baselines. No meta-model here predicts parameters: every predicted structure is trained.
# * *Hidden neurons have no fixed order.* Reordering the hidden neurons (with their activations)
#   gives the same function, but $F$ compares masks entry by entry, so it charges an isomorphic copy
#   of $Z_{opt}$ as if it were a different structure (measured below). The paper notices the symmetry
#   — it chooses activations per neuron "to diversify the class of architectures" — but per-neuron
#   activations do not remove it. We report $F$ as defined and an **aligned** $F$ (ours): the hidden
#   neurons of $Z$ first reordered to be closest to $Z_{opt}$ (an assignment problem, solved exactly).
#   The vote and the set encoder align every $Z_j$ to the best one before they count.
# * *$Z_{opt}$.* Known on synthetic data: the labels come from a **planted** sparse teacher network.
#   On images it is unknown; $F$ is measured to the structure with the lowest $\mathfrak L$ among those
#   the whole-data searches found (scored after the final training that every method's structure gets).

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seeds = [0, 1, 2, 3, 4]
tasks = [                  # each a nasvec.subsample.tasks.TaskSpec
    {"name": "planted-binary", "source": "planted", "features": 10, "n_train": 600, "n_val": 200, "n_test": 600},
    {"name": "digits-binary", "source": "digits", "classes": [3, 8], "features": 10, "n_train": 200, "n_val": 60,
     "n_test": 95},
]
design = {                 # nasvec.experiments.structure.StudyConfig
    "sizes": [25, 50, 100], "ks": [1, 2, 4], "main": [50, 4], "candidates": 16, "share": [0.06, 0.33],
    "C": 0.001, "alpha": 0.01, "beta": 0.005, "set_steps": 100, "fit": {"steps": 60, "lr": 0.05},
}
mask_task = "planted-binary"   # the task whose structures are drawn (seed 0)
mask_methods = ["vote", "set encoder", "random search", "evolution", "magnitude pruning"]
threads = 2                # torch threads of each task x seed run (the same on every backend)

# %%
import torch

import nasvec
from nasvec.book import Report
from nasvec.book.plots import structure as figures
from nasvec.experiments import structure as chapter, structure_share as share_search

nasvec.seed_everything(seeds[0])
torch.set_num_threads(threads)
rep = Report("structure")
cfg = chapter.StudyConfig.from_dict(design)

# %% [markdown]
# ## The experiment
#
# Each task is run for every seed; the seed draws the teacher and its data (synthetic) or the split
# (images), the subsamples and every search. Per task and seed:
#
# 1. for each subsample size $m$, $k$ subsamples of the training set; on each, the paper's random
#    search: `candidates` structures with the fixed share of connections, each trained on $D_j$ less a
#    held-out part (`val_fraction` of it) and scored by $\mathfrak L$ on that part; the best is $Z_j$;
# 2. every meta-model at every $(m, k)$ predicts $Z$ for the whole training set;
# 3. the competitors search on the whole training set, at **equal compute**: as many whole-data
#    trainings as the subsample route spends at the main point $(m^*, k^*)$: the vote's subsample
#    searches plus one whole-data training per meta-model (the route picks its meta-model by validation,
#    so it trains all four), counted in trained object-steps (objects × optimiser steps) and rounded up
#    (every table gives each method's own compute): random search at the same share,
#    regularized evolution, REINFORCE over masks and activations (the RL baseline), an AdaNet-style
#    learner that grows blocks of hidden neurons while its objective falls (reimplemented in torch;
#    the `adanet` package is TensorFlow), and iterative magnitude pruning of a dense ReLU network to the
#    same K. Beside them, random search on the whole data with as many candidates as one subsample
#    search (what one would run without subsamples; its cost is in the tables);
# 4. every method's final structure is trained once more on the whole training set, in one batch
#    with one seed, and scored: $\mathfrak L$ on the validation set, error on the test set, $F$.
#
# All networks of a step are trained together: one batched matrix product per layer for a whole
# population, every network with its own subsample and its own activations.

# %%
rep.table(chapter.tasks_table(tasks), "tasks")
print(f"design: {cfg.describe()}")

# %%
runs = chapter.run_all(tasks, seeds, cfg, threads=threads)   # serial, or Ray: nasvec book --backend ray
df = chapter.frame(runs)
rep.table(df.drop(columns=["cpu_s"]), "runs", float_format="%.5f", show=False)   # every row, CSV only
print(f"{len(df)} rows: {df.task.nunique()} tasks x {df.seed.nunique()} seeds x methods and (m, k) points")

# %% [markdown]
# The networks and budgets per task:

# %%
rep.table(chapter.design_table(runs), "design")
rep.note(chapter.hint_line(runs))
rep.table(chapter.provenance(runs, cfg), "provenance_timing", hide=("design",))   # differs if cached

# %% [markdown]
# ## $F$ and isomorphic copies
#
# The planted (or best whole-data) structure against a copy of itself with the hidden neurons reordered — the
# same function, so $\mathfrak L$ is the same — on the paper's $F$ and on the aligned one:

# %%
rep.table(chapter.permutation_table(runs), "permutation", float_format="%.3f")

# %% [markdown]
# ## Results at the main point
#
# Mean ± sd over the seeds at $(m^*, k^*)$ for the meta-models, the *subsample route* (on each seed the
# meta-model of lowest validation quality, charged the whole-data trainings of the three it did not choose),
# and every whole-data method with its budget; compute is counted in whole-data trainings (trained object-steps divided by those of one
# training on the whole training set; the final training of every method included).

# %%
summary = chapter.summary(df, cfg.main)
rep.table(summary, "summary", float_format="%.4f", show=False)   # the numbers; the page shows them compactly
rep.table(chapter.summary_page(summary), "summary_page")

# %%
rep.figure(figures.pareto(df, cfg.main), "pareto")

# %% [markdown]
# ## Subsample size and number of subsamples
#
# For each task: test error and aligned $F$ of every meta-model against $m$ (at $k = k^*$) and against
# $k$ (at $m = m^*$); the dashed line is random search on the whole data at the route's compute.

# %%
sw = chapter.sweep(df)
rep.table(sw, "sweep", float_format="%.4f", show=False)   # every (m, k) point, CSV only: the figures show it
for name in runs:
    rep.figure(figures.sweep(sw, summary, name, cfg.main), f"sweep_{name}")

# %% [markdown]
# ## The structures found
#
# Seed 0 of one task: the target's masks beside the structures some methods found (hidden neurons
# aligned to the target; each column labelled with its activation).

# %%
rep.figure(figures.masks(runs[mask_task][0], mask_methods), "masks")

# %% [markdown]
# ## Verdict
#
# Computed from the rows above. On each seed the route takes the meta-model whose structure has the lowest
# quality $\mathfrak L$ on that seed's validation set (never chosen by the test error); it is compared with random search
# by the paired difference of their test errors over the same seeds: a difference counts when it exceeds 2
# standard errors, otherwise it is a tie.

# %%
rep.note(chapter.verdict(df, runs, cfg.main))

# %% [markdown]
# **Reading the verdict.** The paper's claim has two parts. *Transfer*: a structure found on small
# subsamples should serve the whole data set; the comparison with random search on the whole data at
# the route's budget tests it, and the aligned $F$ says whether the transferred structure is close to the
# planted one. *Saving*: the subsample route should need less compute than searching on the whole data;
# the comparison with the whole-data random search of N candidates (whose compute the verdict gives beside
# the subsample route's) tests that. The paper compares with neither random search nor pruning; it names AdaNet and reinforcement
# learning, which are in the tables too. The learned set encoder, the paper's literal reading, learns from
# only $k$ pairs; the last line of the verdict says how it fares against the plain vote.

# %% [markdown]
# ## Without the hint: the share searched, and what C does
#
# Every search above draws its structures at the profile's share of active connections (above: for a planted
# task that is the teacher's density). Here the route is not told it: the vote at the main point runs at each
# share of a grid fixed in advance for every task (the same share in both layers; no task's hint is on it), each
# result is trained once on the whole data, and validation quality
# $\mathfrak L = \text{error} + C K$ picks the share — for each $C$ of a range, since the paper tunes $C$
# separately and at a fixed share $C$ changes nothing (every candidate has the same $K$). The picks are compared
# with the hint's share by the paired difference of test errors over the seeds.

# %%
shares = share_search.share_runs(tasks, seeds, cfg, threads=threads)
rep.table(share_search.share_table(shares), "share_search", float_format="%.4g")
picks = share_search.by_c(shares)
rep.table(picks, "share_by_C", float_format="%.4g")
rep.note(share_search.share_line(picks, cfg.C, len(share_search.GRID)))

# %% [markdown]
# ## Cost
#
# CPU seconds per method (rows) and task (columns) at the main point (mean over seeds, this machine; the subsample searches'
# time is shared among the meta-models that use them in proportion to the object-steps each uses;
# every method includes its share of the final training).

# %%
rep.table(chapter.timing(df, cfg.main), "cost_timing", float_format="%.2f")
