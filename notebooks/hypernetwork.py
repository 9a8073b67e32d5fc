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
# # Complexity-controlled search with a hypernetwork
#
# The slides of seed 004 (Firsov, 2025, *architecture optimisation with control of operating
# characteristics on the target device*) search DARTS cells (Liu et al., 2019) whose edges mix
# candidate operations with Gumbel-Softmax weights, and add a **complexity vector** $s$ on the
# simplex, one penalty per operation:
#
# $$\hat g^{(i,j)}(x) = \sum_m \gamma^{(i,j)}_m o^{(m)}(x),\quad \gamma^{(i,j)} \sim \mathrm{GumbelSoftmax}(\alpha^{(i,j)}, t),
# \qquad \mathrm{Cost}(\gamma; s) = \sum_{(i,j)} \sum_m \gamma^{(i,j)}_m s_m .$$
#
# Instead of one search per $s$, a **hypernetwork** maps $s$ to the logits,
# $\alpha(s) = \sum_r w_r(s)\,\alpha_{\mathrm{ref},r}$ with
# $w_r(s) = \mathrm{softmax}_r(-\lVert s - s_{\mathrm{ref},r}\rVert^2)$, and one training minimises
#
# $$\mathbb E_{s \sim U(\Delta)} \Big[ \mathbb E_{\gamma \sim GS(\alpha(s), t)} L_{\mathrm{task}}(w, \gamma)
#   + \kappa\, \mathrm{Cost}(\bar\gamma(s); s) \Big] \to \min_{w, a},$$
#
# so that every $s$ yields an architecture without another search. This chapter implements the
# method (`nasvec.dnas`), reproduces the slides' table for four complexity vectors, maps the whole
# family over the simplex, compares one hypernetwork run with separate fixed-$s$ searches, and
# builds $s$ from latencies measured on this machine.

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seed = 0
real_data = False          # Fashion-MNIST in standard and paper, scikit-learn digits in quick
n_train = 700              # training images, for the search and the from-scratch training
n_test = 797               # test images, accuracy of the derived architectures
net = {"ops": "slides", "channels": 8, "layers": ["normal", "reduction"], "stem_stride": 1}   # NetConfig
search = {"epochs": 6, "kappa": 0.2}   # SearchConfig (others at its defaults: batch 64, Adam lr 3e-3 / 3e-2, bandwidth 1)
sharp_bandwidth = 0.1      # a second hypernetwork with sharper interpolation weights, not on the slides
training = {"epochs": 5}   # TrainConfig of the from-scratch trainings, over Adam lr 3e-3, cosine annealing, batch 64
grid_steps = 3             # simplex grid with spacing 1/grid_steps for the family
latency_batch = 64         # batch size of the latency measurements
latency_repeats = 20
latency_rounds = 5         # interleaved rounds of the network latency comparison
threads = 1                # torch threads; 1 is robust on a shared CPU
seeds = [0, 1]             # the hypernetwork search, A-D and the family are repeated for each (spread across seeds)
calibration = 500          # training images that recompute batch-norm statistics for the shared-weights accuracy
saturation = {"arch": ["A", "C"], "sizes": [250, 500, 1000]}   # learning curve: A and C retrained on these many images
device = "cpu"             # searches and trainings: cpu, cuda, or auto for a GPU when one is visible

# %%
import pandas as pd
import torch

from nasvec import data, seed_everything
from nasvec.book import Report
from nasvec.book.plots import hypernetwork as figures
from nasvec.experiments import hypernetwork as chapter, hypernetwork_seeds as seeds_chapter, hypernetwork_slides as slides
from nasvec.dnas import NetConfig, SearchConfig, derive, simplex_grid

seed_everything(seed)
torch.set_num_threads(threads)
rep = Report("hypernetwork")

# %%
images = data.load_images(real_data, n_train, n_test, seed=seed)
study = chapter.Study(images, NetConfig.from_dict(net), SearchConfig.from_dict({"seed": seed, **search}),
                      chapter.TRAINING.replace(**{"seed": seed, **training}), device=device, threads=threads)
print(f"{images.spec['data']}: {len(images.y_train)} training and {len(images.y_test)} test images of shape {images.shape}")

# %% [markdown]
# ## The search space
#
# A cell has two inputs (the two previous cells' outputs) and four intermediate nodes; each node
# sums one operation on an edge from every earlier state, so a cell has 14 edges. The network is a
# stem, the cells listed in `net["layers"]` (normal cells share one architecture, reduction cells another,
# as in DARTS: 28 edges in all; the slides' op counts also add up to 28), global average pooling and
# a linear classifier. The slides' operations, in the order of their complexity vector
# $s = (\text{pool}, \text{identity}, \text{conv})$, are 3×3 max-pooling, identity and a 3×3 convolution:
# the profile says which (settings table: DARTS' ReLU–conv–BN `conv_3x3`, or the separable `sep_conv_3x3` that
# the slides' parameter counts imply, next section). On a reduction cell's input edges the identity is DARTS'
# factorised reduction (two strided 1×1 convolutions), so it has parameters there.
#
# **Hypernetwork.** The reference points $s_{\mathrm{ref},r}$ are *fixed* here: the vertices, the
# edge midpoints and the centre of the simplex ($m = 7$ for three ops); the reference logits
# $\alpha_{\mathrm{ref},r}$ (7 × 28 × 3 numbers) are learned. (`HyperNet(learn_ref=True)` also learns
# the points; not used below.) With the slides' weights $\mathrm{softmax}(-\lVert s - s_{\mathrm{ref}}\rVert^2)$
# the squared distances lie in $[0, 2]$, so the weights of any $s$ differ by at most a factor
# $e^2$: the interpolation is smooth, and different $s$ can only get different logits if the
# reference logits grow apart.
#
# **Objective details the slides leave open.** One $s \sim \mathrm{Dirichlet}(1)$ (uniform on the
# simplex) and one Gumbel draw per edge are taken per mini-batch; weights and hypernetwork are
# updated together by Adam on the training data (single level, as the slides write the objective;
# DARTS alternates with a validation split). For $\bar\gamma(s)$ we use $\mathrm{softmax}(\alpha(s))$,
# the probability of each op under the Gumbel-max trick — the slides' $\mathrm{Softmax}(\alpha/t) =
# \mathbb E[\gamma(t)]$ is not an identity (chapter 4). An architecture is derived by taking the
# strongest op on every edge (all 28 edges kept, as the slides' counts imply; DARTS' "two strongest
# inputs per node" is `rule="top2"`). The slides give no value of κ, the weight of the cost: ours is
# the profile's (settings table), and its scale against the task loss is measured below; nor do
# they say whether the temperature steps once per epoch (ours: linear in the epoch, 1.0 in the first and
# 0.2 in the last) or per batch.

# %%
rep.table(chapter.settings(study), "settings")

# %% [markdown]
# ## The slides' network, inferred from their parameter counts
#
# The slides give neither the widths nor the form of their convolution, but their table gives, for each of
# A–D, a parameter count beside the op counts. B has no convolution and 5,120 parameters, C has 13 and
# 143,488: the counts must depend on where the ops sit. Suppose the count is what a search counts as an
# architecture's cost — the parameters of the op chosen on every edge of every cell, built as the search
# builds them (batch norm without learned scale and shift), leaving out the stem, the cells' 1×1 input
# convolutions and the classifier. Then a count is a sum of per-edge costs, which depend on the cell
# sequence (a reduction cell doubles the channels, and an identity on its input edges is a factorised
# reduction with parameters), the first cell's width and the convolution. We try every sequence of three
# cells that uses both cell types, every width from 4 to 64 channels and three 3×3 convolutions (DARTS'
# ReLU–conv–BN, separable and dilated), and for each network and each of A–D the placement of the slides'
# op counts on the edges that comes nearest to the slides' count:

# %%
networks = slides.network_search()
rep.table(networks.head(6), "network_search", float_format="%.2f")
rep.note(slides.network_line(networks, study.net))
rep.table(slides.fit_counts(study.ops, study.net.channels, study.net.layers), "network_fit", float_format="%.2f")

# %% [markdown]
# The fit says what the slides' network most plausibly was; it is an inference from four numbers, not
# something the slides state. The resolution the cells see is not in the counts (the `stem_stride` of
# the settings table is ours). Below, *edge params* counts our architectures the same way, beside the
# whole network's parameters (*params*).

# %% [markdown]
# ## One hypernetwork search

# %%
hyper, hyper_run, hyper_cached = study.run_search()
rep.figure(figures.search_curves(pd.DataFrame(hyper_run["history"])), "search_curves")
rep.note(slides.cost_scale_line(study.search_cfg.kappa, hyper_run["history"], hyper_cached))

# %% [markdown]
# ## The slides' four architectures
#
# The slides pick four complexity vectors $s = (\text{pool}, \text{identity}, \text{conv})$: A uniform,
# B penalises convolutions, C pooling, D identity. We derive each architecture from the one
# hypernetwork, train it from scratch and count its parameters and operations. The paper's numbers
# (Fashion-MNIST; their training length and data split are not given) stand beside ours.

# %%
POINTS = chapter.POINTS
geno = dict(zip(POINTS, study.family(hyper, list(POINTS.values()))))
res = dict(zip(POINTS, study.train(list(geno.values()))))
ad_table = chapter.slides_table(study, geno, res)
rep.table(ad_table, "slides_table", float_format="%.2f", show=False)   # the numbers; the page shows them compactly
rep.table(chapter.slides_table_page(ad_table), "slides_table_page")

# %% [markdown]
# The op counts compare directly (28 edges in both); *edge params* compare with the slides' counts when this
# chapter's network is the one inferred above (the line under the search table says whether it is); accuracy
# only roughly: the slides give neither the training length nor the data split, and our from-scratch training
# is short (see the settings table). The operation distributions:

# %%
rep.figure(figures.op_distributions(geno), "op_distribution")

# %% [markdown]
# Does raising the penalty on an op (from 1/3 at A to 0.70) lower its use?

# %%
if study.slides_ops:
    print(pd.DataFrame(chapter.penalty_effect(geno)).to_string(index=False))

# %% [markdown]
# ### Across seeds
#
# One search is one draw: the search's initialisation, its Dirichlet and Gumbel draws and the
# from-scratch training all depend on the seed. The search, A–D and the family below are repeated for
# every seed of the profile (the data stay the same); the searches and the trainings are independent
# runs, so they go through `nasvec.parallel` (one after another here, or on Ray with
# `nasvec book --backend ray`; the results are the same). Mean ± sd over the seeds (the slides' number
# in brackets), and how many distinct architectures the seeds derived at each point:

# %%
grid = simplex_grid(len(study.ops), grid_steps)
seed_runs = seeds_chapter.across_seeds(study, seeds, grid, threads=threads)
spread = seeds_chapter.slides_spread(seed_runs, study.slides_ops, study.net)
rep.table(spread, "slides_table_seeds", float_format="%.2f", show=False)   # the numbers; the page shows them compactly
rep.table(seeds_chapter.slides_spread_page(spread), "slides_table_seeds_page")

# %% [markdown]
# ### Retrained, or on the shared weights?
#
# The slides claim the family yields an architecture for any $s$ "without retraining" (*без необходимости
# дообучения*), and their table does not say whether its accuracies come from the super-network's shared
# weights or from a new training. We measure both for every seed: the derived architecture computed by the
# search's own super-network with a one-hot $\gamma$ (no gradient step; the batch-norm statistics, which the
# search accumulated over mixtures of all ops, are recomputed on training images), and the same architecture
# trained from scratch.

# %%
both = slides.both_accuracies(study, seed_runs, calibration)
rep.table(both, "accuracy_by_seed", float_format="%.2f", show=False)   # every seed; the page shows the summary
acc = slides.accuracy_summary(both)
rep.table(acc, "accuracy_both", float_format="%.2f")
rep.figure(figures.both_accuracies(acc, slides=study.slides_data), "accuracy_both")
rep.note(slides.closer_line(both, study.images.spec["data"]))

# %% [markdown]
# ### Is our accuracy capped by the data?
#
# Our trainings see a fraction of the training images (Fashion-MNIST has 60,000). If accuracy were still
# climbing with more data, "near the slides" could be an artefact of that cap. A and C, as the search with the
# chapter's `seed` derived them, are retrained from scratch on more and more training images (same epochs;
# Fashion-MNIST's test images are the same at every size, the digits' test split moves with the training size):

# %%
curve = slides.saturation(study, {n: geno[n] for n in saturation["arch"]}, saturation["sizes"], n_test, real_data,
                          seed)
rep.table(curve.drop(columns=["seconds", "from cache"]), "saturation", float_format="%.2f")
rep.table(curve[["arch", "n_train", "seconds", "from cache"]], "saturation_timing", float_format="%.2f", show=False)
rep.figure(figures.saturation(curve, slides.PAPER_ACCURACY if study.slides_data else None), "saturation")
rep.table(slides.saturation_gain(curve), "saturation_gain", float_format="%.2f")
rep.note(slides.saturation_line(curve, acc))

# %% [markdown]
# ## The family over the simplex
#
# Every point of a grid on the simplex gets its architecture from the same hypernetwork (no new
# search); each distinct architecture is trained from scratch once, and also evaluated on the search's shared
# weights (*shared weights %*, no retraining, as for A–D above). The ternary plots place
# $s$ in barycentric coordinates: a corner is the vertex where that op carries the whole penalty.

# %%
grid_geno = study.family(hyper, grid)
grid_res = study.train(grid_geno)
fam = slides.with_shared(chapter.family_table(study, grid, grid_geno, grid_res), study, hyper_run, grid_geno,
                         calibration)
rep.table(fam, "family", float_format="%.2f", hide=("train epochs",))
print(f"{len(grid)} grid points, {len(set(grid_geno))} distinct architectures")

# %%
if len(study.ops) == 3:
    labels = ("pool", "identity", "conv") if study.slides_ops else study.ops
    rep.figure(figures.family_ternary(grid, fam, labels), "family_ternary")
else:
    print("ternary plots need exactly three ops")

# %%
rep.figure(figures.pareto(fam, res), "pareto")

# %% [markdown]
# The same family for every seed: where the architectures and their accuracy move from one seed to
# the next.

# %%
fam_seeds = seeds_chapter.family_spread(seed_runs, grid, study.ops)
rep.table(fam_seeds, "family_seeds", float_format="%.4g", show=False)   # every seed's family, CSV only
rep.figure(figures.family_spread(fam_seeds, ("pool", "identity", "conv") if study.slides_ops else study.ops),
           "family_seeds")
rep.note(seeds_chapter.spread_line(spread, fam_seeds) + ".")

# %% [markdown]
# ## One hypernetwork run against separate fixed-$s$ searches
#
# The baseline searches free logits $\alpha$ for one fixed $s$, with the same epochs, schedule,
# κ and optimiser. We run it at A–D and compare the architectures (trained from scratch the same
# way) and the search time. One hypernetwork run is meant to replace a search per $s$; the slides
# give no cost figure, so we take at most 1.5× the cost of one fixed-$s$ run as our own yardstick.
# Both searches do the same work per step (one forward and backward pass of the
# super-network); the hypernetwork adds a Dirichlet draw and a 7-term interpolation. The search
# times below are wall clock on a CPU shared with other jobs, so they also measure the load at the
# time of each run; `benchmarks/hypernetwork.py` times the two kinds of step interleaved.

# %%
fixed = chapter.fixed_searches(study, POINTS)
fixed_geno = {name: derive(arch(None), study.ops) for name, (arch, _, _) in fixed.items()}
fixed_res = dict(zip(POINTS, study.train(list(fixed_geno.values()))))
rep.table(chapter.comparison(study, geno, res, fixed_geno, fixed_res), "hyper_vs_fixed", float_format="%.2f")

# %%
times, line = chapter.search_timing(hyper_run, hyper_cached, fixed)
rep.table(times, "search_timing", float_format="%.3g")
print(line)

# %% [markdown]
# ### How sharp must the hypernetwork be?
#
# With the slides' weights the interpolation between reference points is smooth (see above). A
# second hypernetwork, identical except for the bandwidth of its weights,
# $w_r(s) = \mathrm{softmax}_r(-\lVert s - s_{\mathrm{ref},r}\rVert^2 / b)$ with a smaller $b$, shows whether that
# smoothness limits how far the architecture follows $s$. Only the op counts are compared (no training).

# %%
sharp, sharp_run, sharp_cached = study.run_search(bandwidth=sharp_bandwidth)
sharp_geno = dict(zip(POINTS, study.family(sharp, list(POINTS.values()))))
rep.table(chapter.bandwidth_counts(study, geno, sharp_geno, fixed_geno, sharp_bandwidth), "bandwidth_counts")

# %% [markdown]
# ## Costs measured on this machine
#
# The title promises control of operating characteristics on the target device. We time each
# operation alone (stride 1, at the first cell's channels and resolution, a batch of the data's
# shape, median of repeated forward passes on this CPU) and count its memory (parameters plus the
# tensors it allocates in a forward pass). Normalising a measurement over the ops gives a
# complexity vector; the hypernetwork turns it into an architecture with no new search. We then time
# the whole network of that architecture against the uniform-$s$ architecture A. Wall-clock numbers
# vary from run to run, so these tables end in `_timing`.
#
# The slides state no cost per operation; the penalties of A–D are chosen, not measured. Measured here,
# the ranking of the ops need not follow their parameter counts (the line under the table says which op
# costs most on this machine).

# %%
meas = chapter.op_costs(study, latency_batch, latency_repeats, seed=seed)
rep.table(meas, "op_costs_timing", float_format="%.4g")
rep.note(chapter.costliest_line(meas))

# %%
lat, lat_res = chapter.device_table(study, hyper, meas, latency_batch, latency_repeats, latency_rounds)
rep.table(lat, "device_timing", float_format="%.4g")

# %%
rep.figure(figures.device_latency(lat, latency_batch), "device_latency")

# %% [markdown]
# ## Where the runs came from

# %%
bw = study.search_cfg.bandwidth
runs = {"hypernetwork search": (hyper_run, hyper_cached),
        f"hypernetwork search, bandwidth {sharp_bandwidth:g}": (sharp_run, sharp_cached),
        **{f"fixed-s search {n}": (r, c) for n, (_, r, c) in fixed.items()}}
trainings = [list(res.values()), grid_res, list(fixed_res.values()), lat_res]
rep.table(chapter.provenance(study, runs, trainings), "provenance_timing", float_format="%.3g")

# %% [markdown]
# ## What the runs show
#
# The lines below are computed from this run's tables (so they hold for the profile that produced
# this page). Raising one op's penalty from 1/3 (A) to 0.70 should lower that op's count; the
# slides report it for all three ops.

# %%
effects = None
if study.slides_ops:
    effects = chapter.penalty_effects({f"hypernetwork, b = {bw:g}": geno, f"hypernetwork, b = {sharp_bandwidth:g}": sharp_geno,
                                       "fixed s": fixed_geno}, study.search_cfg.epochs)
    rep.table(effects, "penalty_effect")
print(chapter.findings(effects, fam, len(grid), len(set(grid_geno)), lat))

# %% [markdown]
# Against the slides, over every seed of this run: two of our architectures differ when their paired difference
# over the same seeds exceeds 2 standard errors (otherwise a tie); one of ours differs from the slides' number when
# it is more than 2 sd of our seeds away.

# %%
pen = slides.penalty_by_seed(seed_runs)
rep.table(pen, "penalty_by_seed")
inferred = slides.is_inferred(networks, study.net)
rep.note("\n".join(f"* {line}" for line in slides.verdicts(both, pen, curve, study.slides_data, inferred)))

# %% [markdown]
# **Limits of these runs.** The detailed tables use the chapter's `seed`; the spread across the profile's
# seeds is in the A–D and family tables and figures above. Searches and from-scratch trainings are short
# (see the settings table). The search is single-level on the training data, as the slides
# write it. The D check cannot show "fewer" when A already uses no identity. Search times are wall
# clock on a shared CPU; `benchmarks/hypernetwork.py` measures the per-step cost of the two kinds
# of search side by side. The `paper` profile (full Fashion-MNIST, 50 epochs) has not been run;
# `device: auto` in that profile runs the searches and trainings on a GPU when one is visible (the
# GPU path has not been exercised in this workspace, which has none).
