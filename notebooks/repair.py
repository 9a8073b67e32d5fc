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
zoo_n = 60                 # CNN zoo graphs the attribute-aware compressor is trained on
max_nodes = 80             # graphs cut to their first max_nodes nodes (ResNet18: 70, AlexNet: 21)
comp_dims = [16, 8, 16]    # latent sizes: structure, op types, attributes
comp_hidden = [128]
comp_epochs = 40
comp_lr = 3e-3             # Adam
comp_batch = 8
prior_samples = 100        # codes z ~ N(0, I) decoded for the prior-validity figures
t2_models = ["resnet18", "alexnet"]
t2_sizes = {"resnet18": 8, "alexnet": 28}   # input side per model (AlexNet's small_input head needs 28-32)
t2_data = "digits"         # digits (quick) or fashion_mnist
t2_n_train = 64
t2_n_test = 128
t2_epochs = 1
t2_seeds = [0]
t2_batch = 32
t2_optimizer = "adam"       # Table 2 trainings: "adam" (AdamW) or "sgd" (Nesterov momentum 0.9)
t2_lr = 3e-4               # their learning rate (cosine schedule to 0)
ch2 = {"real_data": False, "n_generated": 1000,   # chapter 2's settings in this profile (the profile
       "models": ["ae", "vae", "seq2seq", "split", "dvae", "dvae_emb"],   # repeats them with YAML aliases),
       "latent": {"ae": 56, "vae": 56, "seq2seq": 56, "split": 6, "dvae": 56, "dvae_emb": 56},  # so that its
       "epochs": {"ae": 30, "vae": 30, "seq2seq": 20, "split": 30, "dvae": 10, "dvae_emb": 10},  # trained models
       "lr": {"ae": 1e-3, "vae": 1e-3, "seq2seq": 1e-3, "split": 1e-3, "dvae": 1e-3, "dvae_emb": 1e-3},  # load
       "model_kwargs": {"dvae": {"hidden": 64}, "dvae_emb": {"hidden": 64}},   # from the cache
       "batch_size": 32, "beta": 0.005, "chunk": 10}
ch2_prior = 200            # prior codes decoded per chapter-2 model

# %%
import importlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import nasvec
from nasvec.report import Report

nasvec.seed_everything(seed)
rep = Report("repair", profile)
torch.set_num_threads(threads)

# %% [markdown]
# ## The rules
#
# `repair(v)` first tries the exact decode: if the arrays decode to a graph that validates, whose
# shapes infer for the input shape and that `to_torch` supports, that graph is returned unchanged
# (so `repair(encode(g)) == g` for every network that runs). Otherwise the rules below run in this
# order; each is a few lines of `nasvec/repair.py` with a test in `tests/test_repair.py` that shows
# the defect it fixes. Nothing is random, so repair is deterministic, and every pass is linear in
# nodes and edges. A repaired CNN never mixes the batch axis (Flatten axis 1, Concat/Slice/
# ReduceMean/Pad/Softmax leave axis 0 alone, Gemm never transposes its input), so it trains with any
# batch size; layer sizes are capped so that garbage cannot ask for terabytes.

# %%
repair_mod = importlib.import_module("nasvec.repair")  # the module (nasvec.repair is also the function)
rules = pd.DataFrame({"rule": list(repair_mod.RULES), "what it fixes": list(repair_mod.RULES.values())})
rep.table(rules, "rules")

# %% [markdown]
# A hand-made broken decode: no Output, a 40×40 kernel on a 28×28 image, an `Add` with one operand,
# a `Sigmoid` nobody reads, a `Shape` op, a `Gemm` reading a 4-D tensor and one edge pointing
# backwards. Left: the graph as decoded (edge directions ignored for the drawing); right: repaired.

# %%
from nasvec.graph import ArchGraph, Node
from nasvec.plots import draw_graph
from nasvec.vocab import OP_INDEX

specs = [("Input", {}), ("Conv", {"kernel_shape": [40, 40], "out_channels": 8, "group": 3}), ("Relu", {}),
         ("Sigmoid", {}), ("Add", {}), ("Shape", {}), ("Gemm", {"out_features": 10})]
broken_edges = [(0, 1), (2, 1), (2, 4), (1, 3), (4, 5), (5, 6)]  # (2, 1) points backwards
shown = ArchGraph.__new__(ArchGraph)
shown.nodes, shown.edges, shown.name, shown.meta = [Node(o, a) for o, a in specs], [], "", {}
arrays = repair_mod.raw_arrays(shown)
arrays["edge_index"] = np.array(broken_edges).T
before = ArchGraph([Node(o) for o, _ in specs], sorted({(min(s, d), max(s, d)) for s, d in broken_edges}))
after, counts = nasvec.repair(arrays, report=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
draw_graph(before, ax=axes[0], title="as decoded")
draw_graph(after, ax=axes[1], title="repaired")
rep.figure(fig, "before_after")
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
rng = np.random.default_rng(seed)
rows, rule_rows = [], []
for kind in repair_mod.DECODER_KINDS:
    outs = [repair_mod.random_decoder_output(rng, kind, int(rng.integers(1, random_max_nodes + 1))) for _ in range(n_random)]
    r = repair_mod.validity_study(outs)
    rows.append({"kind": kind, "outputs": r["n"], "valid before repair %": 100 * r["valid_before"],
                 "valid after repair %": 100 * r["valid_after"], "mean nodes after": r["mean_nodes_after"]})
    rule_rows.append({"kind": kind, **{k: r["rule_fired"].get(k, 0) for k in repair_mod.RULES}})
rep.table(pd.DataFrame(rows), "validity_random")

# %% [markdown]
# How many outputs of each kind needed each rule (the rule-firing table):

# %%
rep.table(pd.DataFrame(rule_rows), "rule_firing")

# %% [markdown]
# ### Decodes of chapter 2's models
#
# Chapter 2's compressors decode ENAS cells: eight nodes over ENAS' own six ops. To repair them as
# networks, `nasvec.repair.enas_decoder_output` writes a cell in the CNN vocabulary: the input
# node becomes the Input and a 3×3 stem Conv, each layer the Conv or pooling it names (16 channels,
# "same" padding, stride 1; a separable conv is a grouped KxK Conv and a 1×1 Conv), a node with
# several inputs reads their Concat, the output node the Output. Whatever the decoder got wrong (no
# input node, two outputs, a layer nobody reads) is kept for the rules to fix; a valid ENAS cell
# becomes a valid network that `repair` returns unchanged. Each model of chapter 2, reloaded from the
# cache with chapter 2's settings of this profile (trained now if chapter 2 has not run), decodes
# `ch2_prior` codes drawn from the prior N(0, I); the table counts the decodes that are valid ENAS
# cells (D-VAE's check, as in chapter 2), the networks that run as decoded, and after repair.

# %%
from nasvec import data
from nasvec.compress.base import DagBatch
from nasvec.compress.models import available_models, train_compressor

graphs2, _, train_idx2, _ = data.enas_split(ch2["real_data"], ch2["n_generated"], seed=seed)
train2 = DagBatch.from_graphs(graphs2, data.ENAS_TYPES)[torch.as_tensor(train_idx2)]
ch2_rows, provenance = [], []
for key in [k for k in ch2["models"] if k in available_models()]:
    model, hist, loaded = train_compressor(
        key, train2, data.ENAS_TYPES, latent_dim=ch2["latent"][key], epochs=ch2["epochs"][key], lr=ch2["lr"][key],
        batch_size=ch2["batch_size"], beta=ch2["beta"], seed=seed, chunk=ch2["chunk"],
        model_kwargs=ch2["model_kwargs"].get(key, {}), progress=False)
    r = repair_mod.enas_decode_study(model, ch2_prior, seed=seed)
    ch2_rows.append({"model": model.name, "decodes": r["n"], "valid ENAS cells %": 100 * r["valid_enas"],
                     "runs as decoded %": 100 * r["valid_before"], "valid after repair %": 100 * r["valid_after"],
                     "rules fired": ", ".join(f"{k} {v}" for k, v in sorted(r["rule_fired"].items(), key=lambda kv: -kv[1]))})
    provenance.append({"what": "chapter 2 model", "model": model.name, "variant": "", "seed": seed,
                       "epochs": len(hist), "seconds": sum(h["seconds"] for h in hist), "from cache": loaded == len(hist)})
rep.table(pd.DataFrame(ch2_rows), "chapter2_decodes", float_format="%.1f")

# %% [markdown]
# ## An attribute-aware compressor on the CNN zoo
#
# Chapter 2's split-latent model compresses structure and op types in separate latent spaces. The
# paper proposes the same for attributes; `nasvec.compress.attributed.AttributedSplitVAE` adds a
# third latent space for the attribute matrix, every used column of it treated as a categorical
# variable (missing, or one of its 31 most frequent values in the training graphs). It is trained on
# the CNN zoo of chapter 1 (graphs cut to their first `max_nodes` nodes). Reconstruction is from the
# mean code of every training graph.

# %%
from nasvec.compress.attributed import prior_validity, reconstruction_report, train_attributed
from nasvec.zoo import load_zoo

zoo = load_zoo(zoo_n, seed=0, progress=False)
comp_key = {"zoo_n": zoo_n, "zoo_seed": 0}
comp, zoo_batch, comp_hist, comp_cached = train_attributed(
    zoo, max_nodes, comp_epochs, seed=seed, structure_dim=comp_dims[0], type_dim=comp_dims[1], attr_dim=comp_dims[2],
    hidden=tuple(comp_hidden), lr=comp_lr, batch_size=comp_batch, cache_name="repair-compressor", cache_config=comp_key)
print(f"{len(zoo)} zoo graphs ({sum(len(g) > max_nodes for g in zoo)} cut to {max_nodes} nodes), "
      f"{comp_epochs} epochs, {'from the cache' if comp_cached else 'trained now'}; "
      f"reconstruction loss per graph {comp_hist[0]['recon']:.1f} -> {comp_hist[-1]['recon']:.1f}")
recon = reconstruction_report(comp, zoo_batch)
summary = pd.DataFrame([{"graphs": len(zoo), "epochs": comp_epochs,
                         **{k: v for k, v in recon.items() if k != "per_attr"}}])
rep.table(summary, "reconstruction", caption="whether the model came from the cache: table provenance_timing below")
provenance.append({"what": "compressor", "model": "split-attr", "variant": "", "seed": seed, "epochs": comp_epochs,
                   "seconds": sum(h["seconds"] for h in comp_hist), "from cache": comp_cached})

# %% [markdown]
# Per attribute column: accuracy over all real nodes (including "missing") and over the nodes that
# have the attribute.

# %%
per_attr = pd.DataFrame([{"column": k, **v} for k, v in recon["per_attr"].items()])
rep.table(per_attr, "attribute_reconstruction")

# %% [markdown]
# Codes drawn from the prior N(0, I), decoded by argmax: how many are networks as decoded, and after
# repair.

# %%
prior_rows = []
for shape in [(1, 1, 28, 28), (1, 3, 32, 32)]:
    pv = prior_validity(comp, prior_samples, shape, seed=seed)
    prior_rows.append({"input": "x".join(map(str, shape[1:])), "samples": pv["samples"], "mean nodes": pv["mean_nodes"],
                       "valid as decoded %": 100 * pv["valid_before"], "valid after repair %": 100 * pv["valid_after"]})
rep.table(pd.DataFrame(prior_rows), "prior_validity")

# %% [markdown]
# ## Table 2: training after a round trip
#
# The paper trains ResNet18 and AlexNet for 50 epochs three ways — the original network, the network
# rebuilt from its vectors without compression, and after compression and repair — and reports
# accuracy (mean ± std over runs). **The paper does not name its data set.** We use our own
# definitions of both networks (`nasvec.models`, `small_input=True`, one input channel), Fashion-MNIST
# in the standard and paper profiles and scikit-learn's digits (bilinearly resized) in the quick
# profile, each network trained from scratch with fresh weights. The paper names no optimizer; we use
# AdamW (learning rate `t2_lr` = 3·10⁻⁴, cosine schedule), because AlexNet, which has no batch
# normalisation, learns slowly under SGD with momentum in the few epochs a CPU profile affords
# (`t2_optimizer="sgd"` re-runs the table with it).
# The "compressed" network is the mean code of the network's graph decoded by the compressor above
# and repaired with `num_classes=10`.

# %%
from nasvec import cache
from nasvec.data import load_digits, load_fashion_mnist
from nasvec.train import TABLE2_VARIANTS, fit, image_data, table2_network

if t2_data == "digits":
    x_all, y_all = load_digits()
else:
    x_all, y_all = load_fashion_mnist("train")
PAPER = {("resnet18", "roundtrip"): "78.99 ± 0.39", ("resnet18", "compressed"): "79.17 ± 0.23",
         ("resnet18", "original"): "78.99 ± 0.39", ("alexnet", "roundtrip"): "70.46 ± 0.50",
         ("alexnet", "compressed"): "60.44 ± 0.39", ("alexnet", "original"): "71.54 ± 0.42"}
runs, graphs = {}, {}
for name in t2_models:
    data = image_data(x_all, y_all, t2_n_train, t2_n_test, size=t2_sizes[name], seed=seed)
    shape = data.input_shape
    for variant in TABLE2_VARIANTS:
        for s in t2_seeds:
            def train_one(name=name, variant=variant, s=s, data=data, shape=shape):
                net, g, repairs = table2_network(name, variant, shape, 10, s, compressor=comp)
                curves = fit(net, data, t2_epochs, seed=s, batch_size=t2_batch, lr=t2_lr, optimizer=t2_optimizer)
                return {"curves": curves, "repairs": repairs, "nodes": None if g is None else len(g)}
            config = {"model": name, "variant": variant, "seed": s, "data": t2_data, "n_train": t2_n_train,
                      "n_test": t2_n_test, "size": t2_sizes[name], "epochs": t2_epochs, "batch": t2_batch,
                      "optimizer": t2_optimizer, "lr": t2_lr,
                      "compressor": {**comp_key, "epochs": comp_epochs, "dims": comp_dims, "max_nodes": max_nodes,
                                     "hidden": comp_hidden, "lr": comp_lr, "batch": comp_batch}
                      if variant == "compressed" else None}
            runs[name, variant, s], hit = cache.cached("repair-table2", config, train_one)
            runs[name, variant, s]["cached"] = hit

# %%
t2 = []
for name in t2_models:
    for variant in TABLE2_VARIANTS:
        accs = [100 * runs[name, variant, s]["curves"]["final_acc"] for s in t2_seeds]
        r0 = runs[name, variant, t2_seeds[0]]
        t2.append({"model": name, "variant": variant, "input": f"{t2_sizes[name]}x{t2_sizes[name]}",
                   "data": t2_data, "train images": t2_n_train, "epochs": t2_epochs, "seeds": len(t2_seeds),
                   "accuracy % (mean)": np.mean(accs), "std": np.std(accs, ddof=1) if len(accs) > 1 else np.nan,
                   "params": r0["curves"]["params"], "graph nodes": r0["nodes"],
                   "paper (50 epochs, data set not named)": PAPER[name, variant]})
rep.table(pd.DataFrame(t2), "table2", caption="cache provenance of every training: table provenance_timing below")
provenance += [{"what": "Table 2", "model": name, "variant": variant, "seed": s, "epochs": t2_epochs,
                "seconds": runs[name, variant, s]["curves"]["seconds"], "from cache": runs[name, variant, s]["cached"]}
               for (name, variant, s) in runs]

# %% [markdown]
# What repair had to do to the decoded ResNet18 and AlexNet:

# %%
rep.table(pd.DataFrame([{"model": name, **(runs[name, "compressed", t2_seeds[0]]["repairs"] or {})}
                        for name in t2_models]).fillna(0), "table2_repairs")

# %%
fig, axes = plt.subplots(1, len(t2_models), figsize=(5 * len(t2_models), 3.5), squeeze=False)
for ax, name in zip(axes[0], t2_models):
    for variant in TABLE2_VARIANTS:
        acc = np.mean([runs[name, variant, s]["curves"]["test_acc"] for s in t2_seeds], axis=0)
        ax.plot(range(1, len(acc) + 1), 100 * acc, marker="o", label=variant)
    ax.set(title=name, xlabel="epoch", ylabel="test accuracy %")
    ax.legend()
rep.figure(fig, "table2_curves")

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
valid = pd.DataFrame(rows)
print(f"valid as decoded: {valid['valid before repair %'].mean():.1f} % of {valid['outputs'].sum()} outputs; "
      f"after repair: {valid['valid after repair %'].mean():.1f} %")
d2 = pd.DataFrame(ch2_rows)
print(f"chapter 2's decodes: {d2['runs as decoded %'].min():.1f}-{d2['runs as decoded %'].max():.1f} % run as decoded "
      f"(per model), {d2['valid after repair %'].min():.1f} % or more after repair")
