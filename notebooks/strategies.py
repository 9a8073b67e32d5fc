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
# # Search and evaluation strategies side by side
#
# Seed 003 (the survey) sorts neural architecture search by three choices: the **search space** (what
# can be built), the **search strategy** (how the next candidate is chosen) and the **evaluation
# strategy** (how a candidate's quality is estimated). This chapter runs the common choices side by side
# on benchmarks that execute here, for many seeds, and tests the premise of seeds 000/001 — *a vector
# representation of a network makes the search cheaper* — where the answer can be measured.
#
# **Benchmarks.**
# * **NAS-Bench-201** on CIFAR-10, complete: all 15,625 cells of its space (6 edges, 5 ops each), each
#   trained 200 epochs (the table of the PyPI package `analog-nasbench`, read by `nasvec.data.nb201` with an
#   unpickler that admits only its two record classes). The table holds **one accuracy per cell**, with no
#   separate validation split: a search reads and reports the same number, so we report **regret** — the
#   table's best accuracy minus the best found. Cells are 6 op ids in the edge order 0→1, 0→2, 0→3, 1→2,
#   1→3, 2→3; that order is checked below against three NATS-Bench records of the same cells.
# * **ENAS-6 pool** (standard profile): the 19,020 architectures D-VAE's authors trained
#   with weight sharing, out of about 1.5·10⁹ in the ENAS space (the few listed twice are kept once); a search may
#   only query pool members.
#   Neighbours of a member are its nearest members in Hamming distance of the codes (ops and skip flags).
# * **Live**: a drawn set of NAS-Bench-201 cells, each *trained here* (a small NB201 network on digits in
#   the quick profile, on Fashion-MNIST in the standard one); it is where evaluation strategies can be
#   compared with the live benchmark's reference training, and where the one-shot search of chapter 5's kind has a point.
#
# **Search strategies** (`nasvec.strategies`; one ask/tell interface, all seeds in lockstep): random
# search; regularized evolution (population 30, tournament 10, as in NASLib); local search (query a whole
# neighbourhood, move to its best, restart at a local optimum); REINFORCE on a factorised policy over the
# op at each position; Bayesian optimisation with a GP (Matérn-5/2, ARD; log expected improvement) on the
# one-hot encoding; a BANANAS-style ensemble of 5 MLPs on the path encoding with Thompson sampling; and
# **GP-BO in the latent space of chapter 2's compressors** (the per-node model and D-VAE, retrained on
# NAS-Bench-201 cells; on the ENAS pool, chapter 2's own models). Model-based strategies start from 10
# random cells and propose 10 per round (BANANAS's protocol).

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seed = 0
nb201 = {"seeds": 20, "queries": 150}          # NAS-Bench-201 runs
enas = None                # e.g. {"seeds": 50, "queries": 300}: the ENAS-6 pool (real data; standard profile)
settings = {"BANANAS": {"epochs": 50}}         # per strategy, its settings (nasvec.experiments.strategies.makers)
latent = {                 # chapter 2's compressors retrained on NB201 cells (NB201LatentConfig)
    "per node": {"compressor": {"model": "pernode", "latent_dim": 6, "training": {"epochs": 20, "lr": 0.003}},
                 "n_train": 2000},
    "D-VAE": {"compressor": {"model": "dvae", "latent_dim": 16, "kwargs": {"hidden": 64},
                             "training": {"epochs": 6, "lr": 0.003}}, "n_train": 2000},
}
enas_latent = {"per node": "pernode", "D-VAE": "dvae"}   # the ENAS pool's codes: chapter 2's models
compressors = None         # chapter 2's compressors; None: the profile's `shared: compressors:`
live = {"dataset": "digits", "n_train": 600, "n_val": 400, "n_test": 797, "channels": 8, "cells_per_stage": 1,
        "training": {"epochs": 3, "batch_size": 32}}
live_cells = 24
fidelities = [[1, 1.0], [1, 0.5]]              # (epochs, share of the training data)
live_search = {"seeds": 20, "queries": 15}
oneshot = {"epochs": 8, "arch_lr": 0.03, "seeds": [0, 1]}
botorch_check = {"seeds": 3, "queries": 40}   # GP-BO: our batched GP against BoTorch's own fit, same seeds
byob = {"seeds": 5, "queries": 40}             # "Bring your own benchmark": the generated benchmark's searches
nb201_proxy = {"cells": 0, "data_free_cells": 120, "names": ["synflow", "params"], "batch": 32, "real_data": False}
threads = 1

# %%
import numpy as np, pandas as pd, torch

import nasvec
from nasvec.book import Report
from nasvec.book.plots import strategies as figures
from nasvec.book.profiles import shared
from nasvec.experiments import strategies as chapter, strategies_eval as evaluation, strategies_latent as latent_codes
from nasvec.strategies import live as live_bench

nasvec.seed_everything(seed)
torch.set_num_threads(threads)
rep = Report("strategies")

# %% [markdown]
# ## The NAS-Bench-201 table and its encoding
#
# The package does not say in which order a cell's six op ids name the edges. Three NATS-Bench records
# (the same cells trained by NAS-Bench-201's authors; mean of their CIFAR-10 seeds) decide it:

# %%
nb = chapter.nb201_bench()
print(f"{len(nb.space)} cells; best {nb.best:.2f} %, mean {nb.accuracy.mean():.2f} %, median {np.median(nb.accuracy):.2f} %")
rep.note(evaluation.optimum_line(nb.best))
rep.table(chapter.nats_check(nb), "nats_check", float_format="%.2f")

# %% [markdown]
# ## Search strategies on NAS-Bench-201
#
# The latent codes first: chapter 2's per-node compressor and D-VAE trained on the cells' graphs (ops as
# nodes; accuracy never seen), every cell encoded by its latent mean.

# %%
codes = {name: latent_codes.nb201_latent(latent_codes.NB201LatentConfig.from_dict(spec)) for name, spec in latent.items()}
lat = chapter.latent_table(codes)
rep.table(lat.drop(columns=["training s"]), "latent_nb201", float_format="%.1f")
rep.table(lat[["latent space", "training s"]], "latent_nb201_timing", float_format="%.1f", show=False)

# %%
strategies = chapter.makers(nb, settings, {k: v["codes"][:, v["informative"]] for k, v in codes.items()})
runs = {"NAS-Bench-201": chapter.run_study(nb, strategies, nb201["seeds"], nb201["queries"], seed)}
at = [q for q in (20, 50, 150, 300) if q <= nb201["queries"]]
table = chapter.anytime(runs["NAS-Bench-201"], at)
rep.table(table, "anytime_nb201", float_format="%.4f", show=False)
rep.table(chapter.anytime_page(table), "anytime_nb201_page")

# %% [markdown]
# The GPs of all seeds are fitted together in one batched closed form (`GPBO(engine="batched")`: the model of
# BoTorch's `SingleTaskGP` — Matérn-5/2 with ARD, constant mean, Gaussian noise — its marginal likelihood
# maximised by Adam, refitted whenever the data have doubled). BoTorch's own `SingleTaskGP` with
# `fit_gpytorch_mll`, one seed at a time, is the reference; on a few seeds the two side by side:

# %%
check = chapter.engine_check(nb, botorch_check["seeds"], botorch_check["queries"], seed, settings)
rep.table(check.drop(columns=["ms per query"]), "gp_engines", float_format="%.3f")
rep.table(check[["strategy", "ms per query"]], "gp_engines_timing", float_format="%.1f")

# %% [markdown]
# ## The ENAS-6 pool
#
# Pool-restricted search (standard profile): the same strategies, the latent codes of chapter 2's own
# compressors (as that chapter trained them under this profile).

# %%
if enas:
    pool, keep = chapter.enas_pool()
    spec = compressors or shared(profile, "compressors")
    feats = {name: latent_codes.enas_pool_latent(spec, key)["codes"][keep] for name, key in enas_latent.items()}
    runs["ENAS-6 pool"] = chapter.run_study(pool, chapter.makers(pool, settings, feats), enas["seeds"], enas["queries"], seed)
    enas_table = chapter.anytime(runs["ENAS-6 pool"], [q for q in (20, 50, 150, 300) if q <= enas["queries"]])
    rep.table(enas_table, "anytime_enas", float_format="%.4f", show=False)
    rep.table(chapter.anytime_page(enas_table), "anytime_enas_page")
else:
    print("The ENAS-6 pool is searched in the standard profile (it needs the real data set).")

# %% [markdown]
# ## Evaluation strategies on the live benchmark
#
# Every drawn cell is trained by the benchmark's reference training (its test accuracy is the ground truth;
# a short training on a small image set, not a full one: the settings table says how short), at lower
# fidelity (fewer epochs, a share of the training data — scored on the validation split) and scored by the
# zero-cost proxies on one batch of training images at initialisation. Each is judged by its Spearman rank
# correlation with the reference training, by the regret of the cell it ranks first, and by its cost.

# %%
live_cfg = live_bench.LiveConfig.from_dict({**live, "threads": threads})
rep.table(live_cfg.settings_table(fidelities), "live_settings")
cells = live_bench.live_table(live_cfg, live_cells, seed, fidelities)
rep.table(cells.drop(columns=[c for c in cells.columns if c.endswith("_seconds")] + ["seconds"]), "live_cells",
          float_format="%.5g", show=False)
spear = live_bench.spearman_table(cells)
rep.table(spear.drop(columns=["seconds"]), "live_evaluation", float_format="%.3f")
rep.table(spear[["strategy", "seconds"]], "live_evaluation_seconds_timing", float_format="%.4f")

# %% [markdown]
# The one-shot point: a supernet over the same cell space (GDAS-style: one hard Gumbel-Softmax sample per
# edge and step, the relaxation of chapter 5), then the chosen cell trained by the reference training. Its cost
# is the search's seconds counted in reference trainings of a cell.

# %%
shot = evaluation.oneshot_points(live_cfg, oneshot["epochs"], oneshot["arch_lr"], oneshot["seeds"], cells.seconds.mean())
shot["regret"] = cells.accuracy.max() - shot.accuracy
rep.table(shot.drop(columns=["search seconds", "in reference trainings"]), "oneshot", float_format="%.2f")
rep.table(shot[["seed", "search seconds", "in reference trainings"]], "oneshot_timing", float_format="%.2f")

# %% [markdown]
# The search strategies on the live pool (the trained cells are the table):

# %%
lb = chapter.live_bench(cells)
runs["live"] = chapter.run_study(lb, chapter.makers(lb, settings), live_search["seeds"], live_search["queries"], seed)
rep.table(chapter.anytime_page(chapter.anytime(runs["live"], [5, 10, live_search["queries"]])), "anytime_live_page")

# %% [markdown]
# ## Zero-cost proxies on NAS-Bench-201
#
# The proxies of NAS-Bench-201's own network (16 channels, 5 cells per stage) at initialisation, ranked
# against the table's 200-epoch accuracy, beside Abdelfattah et al. (2021): the Table 1 of their companion notebook
# (`notebooks/nasbench201_correlations.ipynb` in SamsungLabs/zero-cost-nas), |ρ| over all 15,625 cells against the
# 200-epoch test accuracy. The agreement column asks whether theirs lies within 2 standard errors of ours at our
# number of cells (Fisher's z).

# %%
prox, what = evaluation.nb201_proxies(nb201_proxy["cells"], nb201_proxy["names"], nb201_proxy["batch"], seed,
                                      nb201_proxy["data_free_cells"], nb201_proxy["real_data"])
nb_spear = evaluation.nb201_spearman(prox)
print(f"data for the data-dependent proxies: {what}")
rep.table(evaluation.anchors_table(nb_spear).drop(columns=["seconds per cell"]), "proxies_nb201", float_format="%.3f")
rep.figure(figures.proxies(spear, evaluation.ANCHORS, evaluation.anchors_table(nb_spear)), "proxies")
rep.note(evaluation.evaluation_sentence(spear, evaluation.anchors_table(nb_spear), shot, live_cfg.reference))

# %% [markdown]
# ## Anytime curves
#
# Regret against queries, mean over seeds and a band from the 25th to the 75th percentile:

# %%
rep.figure(figures.anytime(runs, shot), "anytime")

# %% [markdown]
# ## Cost
#
# A strategy's own compute per query (the table look-up excluded; on a live benchmark each query is a
# reference training, which dwarfs it) beside its final regret:

# %%
costs = pd.concat([chapter.cost(r) for r in runs.values()], ignore_index=True)
rep.table(costs, "cost_timing", float_format="%.4g")
rep.figure(figures.cost(costs), "cost")

# %% [markdown]
# ## Bring your own benchmark
#
# The strategies are a library (`nasvec.strategies`): they search any benchmark that declares, and assume nothing
# it does not. To wrap your own tabular benchmark:
#
# * **the space** — `Space.product(name, cards, valid=..., canonical=...)` for every code of `cards[p]` choices at
#   position `p`, or `Space.pool(name, codes, ...)` for a given list of codes. `valid(codes)` says which codes are
#   architectures, `canonical(codes)` maps a code to its isomorphism class's representative; a strategy queries
#   only valid, canonical candidates, so neither kind of waste is ever queried nor counted. `cell="nb201"`
#   declares NAS-Bench-201's cell DAG (BANANAS then uses its path encoding; anything else gets one-hot codes,
#   whatever the shape). Pool neighbourhoods are every nearest member (`k=` caps them);
# * **the scores** — `Table(name, space, validation, test=test, unit="%" or "fraction", seconds=cost)`: a strategy
#   sees only the validation score (`query`); the test score (`report`) is what a paper reports. Without `test`
#   the two are one number, as on NAS-Bench-201 above (where the tables' "regret" is a test regret);
# * **the run** — `run(factory, table, seeds, queries)` or `chapter.run_study(table, chapter.makers(table), ...)`
#   gives a `Trace` per strategy: `regret()` on the search signal, `test_regret()` of the pick the signal makes,
#   and the floor (`Table.floor`: the test regret of the oracle validation pick; a search can land below it by
#   luck, since validation is noisy). REINFORCE normalises its reward, so percent and fractions search alike.
#
# A worked example: a generated benchmark with what another domain brings — uneven choices per position, codes
# that are not architectures, two interchangeable branches (isomorphic codes), fractions, and a validation score
# that is a noisy estimate of the test score:

# %%
from nasvec.experiments import strategies_byob as own

own_bench = own.generated_benchmark(seed)
rep.table(own.describe(own_bench), "byob_benchmark")
own_runs = chapter.run_study(own_bench, chapter.makers(own_bench), byob["seeds"], byob["queries"], seed)
own_at = sorted({q for q in (10, 20, 50, 100) if q < byob["queries"]} | {byob["queries"]})
rep.table(chapter.anytime_page(chapter.anytime(own_runs, own_at)), "byob_anytime")
rep.table(own.hygiene(own_runs, own_bench), "byob_hygiene", float_format="%.2f")

# %% [markdown]
# ## What the survey names, and what this chapter runs

# %%
rep.table(evaluation.coverage(runs, spear, shot), "coverage")

# %% [markdown]
# ## Verdicts
#
# **The published ordering.** The BANANAS paper ran these strategies on NAS-Bench-101 (test error after
# 150 queries, 200 trials; its numbers are in the table's last column, its "BO with GP" beside our GP-BO on
# the one-hot encoding). Our NAS-Bench-201 runs beside it:

# %%
order, text = chapter.nb101_ordering(table, 150 if 150 in at else at[-1], runs["NAS-Bench-201"])
rep.table(order, "nb101_ordering", float_format="%.3f")
rep.note(text)

# %% [markdown]
# **The latent space.** Does BO on a learned code beat BO on a plain encoding, and regularized evolution,
# at equal queries? On NAS-Bench-201 the codes come from compressors retrained in this chapter within its budget
# (their reconstruction is in the latent-space table above: a D-VAE that reconstructs few cells is not the
# converged model its authors searched in); on the ENAS pool they come from chapter 2's models of this profile. Paired over seeds (every strategy sees the same seeds); a difference counts when it
# exceeds twice its standard error.

# %%
for bench in [b for b in ("NAS-Bench-201", "ENAS-6 pool") if b in runs]:
    verdict, text = chapter.latent_verdict(runs[bench], [q for q in (50, 150, 300) if q <= runs[bench]["random"].values.shape[1]])
    rep.table(verdict, f"latent_verdict_{'nb201' if bench == 'NAS-Bench-201' else 'enas'}", float_format="%.3f")
    rep.note(text)
