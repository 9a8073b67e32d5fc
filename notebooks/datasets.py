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
import matplotlib.pyplot as plt

import nasvec
from nasvec import data
from nasvec.book import Report, plots
from nasvec.book.plots.datasets import enas_distributions
from nasvec.experiments.datasets import class_counts, data_sizes, enas_sources, enas_summary

nasvec.seed_everything(seed)
rep = Report("datasets")

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
fashion = None
if real_data:
    fx, fy = data.load_fashion_mnist("train")
    tx, ty = data.load_fashion_mnist("test")
    fashion = (fy, ty)
    rep.figure(plots.image_grid(fx, fy, data.FASHION_MNIST_CLASSES, per_class=per_class, seed=seed,
                                title="Fashion-MNIST (28×28)"), "fashion_mnist_samples")
    rep.table(class_counts(fy, ty), "fashion_mnist_classes")
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
enas = data.load_enas() if real_data else None
stats = enas_sources(graphs, enas)
example = enas.graphs[enas.train[0]] if real_data else graphs[0]
fig, ax = plt.subplots(figsize=(4, 6))
plots.draw_graph(example, ax=ax, title="an ENAS architecture as a graph")
rep.figure(fig, "enas_example")

# %% [markdown]
# D-VAE skips the first 1,000 lines of the file, shuffles the remaining 19,020 with Python's
# `random.Random(0)` and keeps the first 90 % for training. We follow that convention exactly
# (the test suite checks our split against the line numbers recomputed from D-VAE's loader), so
# our reconstruction numbers in chapter 2 are measured on the same test graphs as D-VAE's.

# %%
rep.table(enas_summary(stats), "enas_summary")

# %%
rep.figure(enas_distributions(stats, enas.accuracy if real_data else None), "enas_distributions")

# %% [markdown]
# The accuracy column is the accuracy of each architecture evaluated with the *shared* weights of
# a pretrained ENAS super-network, not after training it alone; its narrow range is a property of
# weight sharing. Chapter 2 uses it as the quantity to predict from the latent codes.
#
# ## Summary

# %%
rep.table(data_sizes(digits_y, fashion, enas, n_generated), "sizes")
