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
# # Repair rules and training after a round trip
#
# Seed papers 000/001 describe the inverse path of the vector representation: whatever a decoder
# emits — op scores, adjacency probabilities, an attribute matrix — must become a network that runs
# and trains. A decoder is free to emit an op id outside the vocabulary, a cycle, a node nobody reads,
# an `Add` with one operand, a 40×40 kernel on a 7×7 map or a `Gemm` reading a 4-D tensor. The paper
# says that rules repair such graphs but does not list them; this chapter designs them
# (`nasvec.repair`), tests them on garbage and on the decodes of an attribute-aware compressor, and
# redoes the paper's Table 2: ResNet18 and AlexNet trained from scratch as originally written, after
# graph → vectors → graph, and after compression and repair.

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seed = 0
threads = 1                # torch threads; 1 is robust on a shared CPU
n_random = 100             # arbitrary decoder outputs per kind for the validity table
random_max_nodes = 30      # their sizes: 1 .. random_max_nodes nodes
compressors = None         # chapter 2's models, reloaded from its cache; None: the profile's `shared: compressors:`
ch2_prior = 200            # prior codes decoded per chapter-2 model
zoo_n = 60                 # CNN zoo graphs the attribute-aware compressor is trained on
compressor = {"max_nodes": 80, "epochs": 40, "batch_size": 8}   # AttributedConfig settings (others: its defaults)
prior_samples = 100        # codes z ~ N(0, I) decoded for the prior-validity figures
table2 = {}                # Table2Config settings: models, sizes (input side per model), data, n_train, n_test, seeds
table2_training = {"epochs": 1, "batch_size": 32}   # TrainConfig settings over Table 2's defaults (AdamW, lr 3e-4)

# %%
import pandas as pd
import torch

import nasvec
from nasvec.book import Report, shared
from nasvec.book.plots import repair as figures
from nasvec.compress.attributed import AttributedConfig, reconstruction_report
from nasvec.experiments import compression as ch2, repair as chapter, table2 as t2

nasvec.seed_everything(seed)
rep = Report("repair")
torch.set_num_threads(threads)

# %% [markdown]
# ## The rules
#
# `repair(v)` first tries the exact decode: if the arrays decode to a graph that validates, whose
# shapes infer for the input shape and that `to_torch` supports, that graph is returned unchanged
# (so `repair(encode(g)) == g` for every network that runs). Otherwise the rules below run in this
# order; each is a named function of the package `nasvec/repair/` with a test in `tests/test_repair.py` that shows
# the defect it fixes. Nothing is random, so repair is deterministic, and every pass is linear in
# nodes and edges. A repaired CNN never mixes the batch axis (Flatten axis 1, Concat/Slice/
# ReduceMean/Pad/Softmax leave axis 0 alone, Gemm never transposes its input), so it trains with any
# batch size; layer sizes are capped so that garbage cannot ask for terabytes.

# %%
rep.table(chapter.rule_table(), "rules")

# %% [markdown]
# A hand-made broken decode: no Output, a 40×40 kernel on a 28×28 image, an `Add` with one operand,
# a `Sigmoid` nobody reads, a `Shape` op, a `Gemm` reading a 4-D tensor and one edge pointing
# backwards. Left: the graph as decoded (edge directions ignored for the drawing); right: repaired.

# %%
arrays, before = chapter.broken_decode()
after, counts = nasvec.repair(arrays, report=True)
rep.figure(figures.before_after(before, after), "before_after")
print("rules fired:", counts)
print([f"{n.op} {n.attrs}" for n in after.nodes])

# %% [markdown]
# ## Validity before and after repair
#
# Five kinds of arbitrary decoder output, `n_random` of each with 1 to `random_max_nodes` nodes:
# Gaussian op scores with a dense adjacency of probabilities (`scores`), integer ids with a random
# edge list (`ids`), uniform noise in every array (`noise`), all NaN (`nan`) and ±1e30/±inf/NaN
# (`extreme`). "Valid before" means the arrays already decode to a network that runs; "valid after"
# means the repaired graph validates, its shapes infer and `to_torch` supports it (the benchmark
# `benchmarks/repair.py` also runs a sample in onnxruntime and torch).

# %%
validity, firing = chapter.validity_tables(seed, n_random, random_max_nodes)
rep.table(validity, "validity_random")

# %% [markdown]
# How many outputs of each kind needed each rule (the rule-firing table):

# %%
rep.table(firing, "rule_firing")

# %% [markdown]
# ### Decodes of chapter 2's models
#
# Chapter 2's compressors decode ENAS cells: eight nodes over ENAS' own six ops. To repair them as
# networks, `nasvec.experiments.repair.enas_decoder_output` writes a cell in the CNN vocabulary: the input
# node becomes the Input and a 3×3 stem Conv, each layer the Conv or pooling it names (16 channels,
# "same" padding, stride 1; a separable conv is a grouped KxK Conv and a 1×1 Conv), a node with
# several inputs reads their Concat, the output node the Output. Whatever the decoder got wrong (no
# input node, two outputs, a layer nobody reads) is kept for the rules to fix; a valid ENAS cell
# becomes a valid network that `repair` returns unchanged. Each model of chapter 2, reloaded from the
# cache with chapter 2's settings of this profile (trained now if chapter 2 has not run), decodes
# `ch2_prior` codes drawn from the prior N(0, I); the table counts the decodes that are valid ENAS
# cells (D-VAE's check, as in chapter 2), the networks that run as decoded, and after repair.

# %%
data_spec, configs, _ = ch2.compressor_setup(compressors or shared(profile, "compressors"))
trained2 = ch2.train_all(configs, ch2.architectures(**data_spec).train, progress=False)
decodes, provenance = chapter.chapter2_decodes(trained2, ch2_prior, seed=seed)
rep.table(decodes, "chapter2_decodes", float_format="%.1f")

# %% [markdown]
# ## An attribute-aware compressor on the CNN zoo
#
# Chapter 2's split-latent model compresses structure and op types in separate latent spaces. The
# paper proposes the same for attributes; `nasvec.compress.attributed.AttributedSplitVAE` adds a
# third latent space for the attribute matrix, every used column of it treated as a categorical
# variable (missing, or one of its 31 most frequent values in the training graphs). It is trained on
# the CNN zoo of chapter 1 (graphs cut to their first `compressor["max_nodes"]` nodes). Reconstruction is from the
# mean code of every training graph.

# %%
comp_cfg = AttributedConfig.from_dict({"seed": seed, **compressor})
zoo, comp, zoo_batch, comp_hist, comp_cached = chapter.zoo_compressor(zoo_n, comp_cfg)
print(chapter.compressor_line(zoo, comp_cfg, comp_hist, comp_cached))
recon = reconstruction_report(comp, zoo_batch)
rep.table(chapter.reconstruction_summary(recon, len(zoo), comp_cfg), "reconstruction",
          caption="whether the model came from the cache: table provenance_timing below")
provenance.append(chapter.compressor_provenance(comp_cfg, comp_hist, comp_cached))

# %% [markdown]
# Per attribute column: accuracy over all real nodes (including "missing") and over the nodes that
# have the attribute.

# %%
rep.table(chapter.attribute_accuracy(recon), "attribute_reconstruction")

# %% [markdown]
# Codes drawn from the prior N(0, I), decoded by argmax: how many are networks as decoded, and after
# repair.

# %%
rep.table(chapter.prior_validity_table(comp, prior_samples, seed=seed), "prior_validity")

# %% [markdown]
# ## Table 2: training after a round trip
#
# The paper trains ResNet18 and AlexNet for 50 epochs three ways — the original network, the network
# rebuilt from its vectors without compression, and after compression and repair — and reports
# accuracy (mean ± std over runs). **The paper does not name its data set.** We use our own
# definitions of both networks (`nasvec.data.reference`, `small_input=True`, one input channel), Fashion-MNIST
# in the standard and paper profiles and scikit-learn's digits (bilinearly resized) in the quick
# profile, each network trained from scratch with fresh weights. The paper names no optimizer; we use
# AdamW (learning rate 3·10⁻⁴, cosine schedule), because AlexNet, which has no batch
# normalisation, learns slowly under SGD with momentum in the few epochs a CPU profile affords
# (`table2_training={"optimizer": "sgd", ...}` re-runs the table with it).
# The "compressed" network is the mean code of the network's graph decoded by the compressor above
# and repaired with `num_classes=10`.

# %%
t2_cfg, t2_training = t2.Table2Config.from_dict({"split_seed": seed, **table2}), t2.TRAINING.replace(**table2_training)
runs = t2.run_table2(t2_cfg, t2_training, comp, {"zoo_n": zoo_n, "zoo_seed": 0, "compressor": comp_cfg})

# %%
rep.table(t2.table2_table(runs, t2_cfg, t2_training), "table2",
          caption="cache provenance of every training: table provenance_timing below")
provenance += t2.provenance(runs, t2_training)

# %% [markdown]
# What repair had to do to the decoded ResNet18 and AlexNet:

# %%
rep.table(t2.table2_repairs(runs, t2_cfg), "table2_repairs")

# %%
rep.figure(figures.table2_curves(runs, t2_cfg.models, t2_cfg.seeds), "table2_curves")

# %% [markdown]
# Where every trained model came from (trained in this run or loaded from `cache/`) and how long its
# training took (wall-clock, so this table is not compared between runs):

# %%
rep.table(pd.DataFrame(provenance), "provenance_timing")

# %% [markdown]
# ## What the numbers say
#
# * The validity table above gives, per kind of arbitrary output, how many were networks as decoded
#   and how many after repair (printed below); `benchmarks/repair.py` repairs 100,000 of them.
# * Chapter 2's decodes: a model whose decodes are all valid ENAS cells needs no repair (its networks
#   are returned unchanged); the invalid ones — mostly a second output node or a layer without
#   inputs, as chapter 2's table of reasons shows — are repaired (printed below).
# * The round trip without compression is exact (`decode(encode(g)) == g`), so the "roundtrip"
#   network is the original architecture with fresh weights: any difference from "original" is
#   the seed of the weight draw, not the representation.
# * The "compressed" network is whatever the compressor reconstructs, made runnable by repair; how
#   close it is to the original depends on the compressor's reconstruction accuracy above.
# * In the quick profile the trainings use a few dozen images for one epoch: the accuracies test the
#   pipeline, not the networks.

# %%
print(chapter.closing_lines(validity, decodes))
