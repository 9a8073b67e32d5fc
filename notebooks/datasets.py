# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data sets used in this book
#
# Every method in this book runs on real data. This chapter loads each data set once,
# checks it, and shows what it looks like, so later chapters can simply call
# `nasvec.data`. Two kinds of data appear:
#
# * **images** for training the networks that NAS designs: scikit-learn's 8×8 handwritten
#   digits (embedded in scikit-learn, used by the `quick` profile) and Fashion-MNIST
#   (28×28 greyscale photos of clothing, 60,000 for training and 10,000 for testing);
# * **architectures** for learning about networks: the ENAS search space of D-VAE
#   (Zhang et al., 2019), 19,020 six-layer networks each with the accuracy ENAS's weight-sharing
#   super-network gave it on CIFAR-10, and a generator of random networks from the same space.

# %% tags=["parameters"]
profile = "quick"          # which profile produced this page (set by `nasvec book`)
seed = 0
real_data = False          # Fashion-MNIST and D-VAE's ENAS file (standard profile) or embedded data only
per_class = 6              # samples per class in the image grids
n_generated = 2000         # random ENAS architectures to generate

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

import nasvec
from nasvec import data, plots
from nasvec.report import Report

nasvec.seed_everything(seed)
rep = Report("datasets", profile)

# %% [markdown]
# ## Images
#
# The digits are 1,797 images of 8×8 pixels with 16 grey levels, ten classes. They are small
# enough that every network in the `quick` profile trains in seconds.

# %%
digits_x, digits_y = data.load_digits()
rep.figure(plots.image_grid(digits_x, digits_y, per_class=per_class, seed=seed,
                            title="scikit-learn digits (8×8)"), "digits_samples")

# %% [markdown]
# Fashion-MNIST has the shape of MNIST but is harder: shirts, pullovers and coats look alike at
# 28×28. The loader finds the files in `$NASVEC_DATA/fashion-mnist/`, then in Debian's package
# `dataset-fashion-mnist`, and checks the SHA-256 of every decompressed file.

# %%
rows = [dict(data_set="digits", kind="images", train=len(digits_y), test=0,
             shape="1×8×8", classes=len(np.unique(digits_y)), source="sklearn (embedded)")]
if real_data:
    fx, fy = data.load_fashion_mnist("train")
    tx, ty = data.load_fashion_mnist("test")
    rows.append(dict(data_set="Fashion-MNIST", kind="images", train=len(fy), test=len(ty),
                     shape="1×28×28", classes=len(np.unique(fy)), source="Zalando Research (MIT)"))
    rep.figure(plots.image_grid(fx, fy, data.FASHION_MNIST_CLASSES, per_class=per_class, seed=seed,
                                title="Fashion-MNIST (28×28)"), "fashion_mnist_samples")
    counts = pd.DataFrame({"class": data.FASHION_MNIST_CLASSES,
                           "train": np.bincount(fy, minlength=10), "test": np.bincount(ty, minlength=10)})
    rep.table(counts, "fashion_mnist_classes")
else:
    print("Fashion-MNIST is used by the standard profile (real_data=True).")

# %% [markdown]
# ## Architectures: the ENAS search space
#
# An ENAS "macro" network has six layers in a chain. Each layer applies one of six operations
# (3×3 or 5×5 convolution, 3×3 or 5×5 separable convolution, 3×3 average or max pooling) and may
# also read any earlier layer or the input through a skip connection. As D-VAE does, we draw each
# network as a graph with an input node, six operation nodes and an output node.

# %%
graphs = data.generate_enas(n_generated, seed=seed)
stats = {"generated": data.enas_statistics(graphs)}
if real_data:
    enas = data.load_enas()
    stats["D-VAE file"] = data.enas_statistics(enas.graphs)
    example = enas.graphs[enas.train[0]]
else:
    example = graphs[0]
fig, ax = plt.subplots(figsize=(4, 6))
plots.draw_graph(example, ax=ax, title="an ENAS architecture as a graph")
rep.figure(fig, "enas_example")

# %% [markdown]
# D-VAE skips the first 1,000 lines of the file, shuffles the remaining 19,020 with Python's
# `random.Random(0)` and keeps the first 90 % for training. We follow that convention exactly
# (the test suite checks our split against the line numbers recomputed from D-VAE's loader), so
# our reconstruction numbers in chapter 2 are measured on the same test graphs as D-VAE's.

# %%
summary = pd.DataFrame([
    dict(source=name, graphs=s["graphs"], distinct=s["distinct"],
         skip_share=s["skip_ones"] / (s["skip_ones"] + s["skip_zeros"]),
         **{op: s["op_counts"][op] / (6 * s["graphs"]) for op in data.ENAS_OPS})
    for name, s in stats.items()])
if real_data:
    rows.append(dict(data_set="ENAS (D-VAE)", kind="architectures", train=len(enas.train),
                     test=len(enas.test), shape="8 nodes", classes=len(data.ENAS_TYPES), source="D-VAE (MIT)"))
rows.append(dict(data_set="ENAS (generated)", kind="architectures", train=n_generated, test=0,
                 shape="8 nodes", classes=len(data.ENAS_TYPES), source="nasvec.data.generate_enas"))
rep.table(summary, "enas_summary")

# %%
fig, axes = plt.subplots(1, 2 if real_data else 1, figsize=(10 if real_data else 5, 3.2), squeeze=False)
ax = axes[0, 0]
width = 0.8 / len(stats)
for k, (name, s) in enumerate(stats.items()):
    freq = np.array([s["op_counts"][op] for op in data.ENAS_OPS]) / (6 * s["graphs"])
    ax.bar(np.arange(6) + k * width, freq, width, label=name)
ax.set_xticks(np.arange(6) + width * (len(stats) - 1) / 2, data.ENAS_OPS, rotation=30, ha="right", fontsize=8)
ax.set_ylabel("share of layers")
ax.legend(fontsize=8)
ax.set_title("operation frequencies", fontsize=10)
if real_data:
    axes[0, 1].hist(enas.accuracy, bins=40, color="tab:green")
    axes[0, 1].set_xlabel("weight-sharing accuracy on CIFAR-10")
    axes[0, 1].set_ylabel("architectures")
    axes[0, 1].set_title("accuracy column of the ENAS file", fontsize=10)
rep.figure(fig, "enas_distributions")

# %% [markdown]
# The accuracy column is the accuracy of each architecture evaluated with the *shared* weights of
# a pretrained ENAS super-network, not after training it alone; its narrow range is a property of
# weight sharing. Chapter 2 uses it as the quantity to predict from the latent codes.
#
# ## Summary

# %%
sizes = pd.DataFrame(rows)
rep.table(sizes, "sizes")
