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
# # A network as a graph and its vector representation
#
# The source paper (seeds 000/001) starts from one idea: a neural network *is* an attributed
# directed acyclic graph. Nodes are layers or operations, each with an **op type** and
# **attributes** (kernel size, strides, padding, …); edges carry tensors from one node to the
# next, skip connections included. There is one **source** (the input) and one **sink** (the
# output). Everything later in the book — compression (chapter 2), repair (chapter 3) — works on
# the **vector representation** of such a graph: per node, an op id, its adjacency vector and its
# attribute vector.
#
# This chapter builds that representation for real networks: we read ONNX files (what
# `torch.onnx.export` writes for the common CNN families), turn them into graphs and vectors and
# back, and check that nothing is lost. The public API is six functions:
#
# ```python
# from nasvec import from_onnx, to_onnx, from_torch, to_torch, encode, decode
# ```

# %% tags=["parameters"]
profile = "quick"       # which profile produced this page (set by `nasvec book`)
seed = 0
zoo_size = 120          # architectures in the CNN zoo (the paper: 1500)
zoo_checked = 20        # zoo graphs run in onnxruntime and torch with transplanted weights
references = ["resnet18", "alexnet", "mobilenet_v2", "squeezenet1_1"]   # reference CNNs to round-trip ("all": every one)
timing_repeats = 1      # encode/decode timing: best of this many runs per graph

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

import nasvec
from nasvec import decode, encode, from_onnx, from_torch, to_onnx, to_torch, vocab
from nasvec import models, plots, roundtrip, zoo
from nasvec.report import Report

warnings.filterwarnings("ignore", category=UserWarning)
nasvec.seed_everything(seed)
rep = Report("graphs", profile)

# %% [markdown]
# ## A small network, drawn and encoded
#
# A five-layer CNN with a residual connection, written in torch. `from_torch` exports it with
# `torch.onnx.export` (the legacy exporter at opset 17, BatchNormalization kept) and reads the
# ONNX model as a graph.

# %%
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4, 10)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv1(x)))
        y = torch.relu(self.conv2(y) + y)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1))


g = from_torch(Tiny(), torch.randn(1, 1, 8, 8))
fig, ax = plt.subplots(figsize=(4.5, 6))
plots.draw_graph(g, ax=ax, title="Tiny as a graph")
rep.figure(fig, "tiny_graph")

# %% [markdown]
# Its vector representation: `ops` holds an index into the vocabulary per node, `edge_index`
# the adjacency list (one column per edge, grouped by destination in input order, the
# `torch_geometric` convention), and `attrs` the attribute matrix — one row per node, a fixed set
# of columns per attribute (only the columns used by this network are shown). `NaN` means
# "this node has no such attribute".

# %%
v = encode(g)
print("ops:", v.ops.tolist(), "=", [vocab.OPS[k] for k in v.ops.tolist()])
print("edge_index:\n", v.edge_index.numpy())
cols = [j for j in range(v.attrs.shape[1]) if not torch.isnan(v.attrs[:, j]).all()]
names = [vocab.column_name(j) for j in cols]
attr_table = pd.DataFrame(v.attrs[:, cols].numpy(), columns=names, index=[n.op for n in g.nodes])
rep.table(attr_table.reset_index(names="op"), "tiny_attributes")
print(v.to_pyg())
assert decode(v) == g

# %% [markdown]
# ## The vocabulary
#
# The paper names 20 ops and 19 attributes. Real exporters emit more: a reshape of `x.view(n, -1)`
# becomes `Shape → Gather → Unsqueeze → Concat → Reshape`, ReLU6 becomes `Clip`, hard-swish
# `HardSwish`. Our vocabulary is the paper's plus what `torch.onnx.export` writes for the sixteen
# reference CNN families below. How every kind of attribute is stored (scalars, lists with a
# length column, strings as indices, tensors in a side table; "to the end" slice bounds as ±∞) is
# documented in one place, `nasvec.vocab`. An op or attribute outside the vocabulary is an error
# that names the node — never a silent drop:

# %%
vocab_table = pd.DataFrame({
    "ops (paper)": [len(vocab.PAPER_OPS)], "ops (ours)": [len(vocab.OPS)],
    "attributes (paper)": [len(vocab.PAPER_ATTRS)], "attributes (ours)": [len(vocab.ATTRS)],
    "attribute matrix columns": [vocab.N_COLUMNS]})
rep.table(vocab_table, "vocabulary")
print("ours beyond the paper:", [op for op in vocab.OPS if op not in vocab.PAPER_OPS])

# %%
import onnx.helper as oh  # noqa: E402

bad = oh.make_model(oh.make_graph(
    [oh.make_node("Relu", ["input"], ["a"], name="relu"), oh.make_node("Erf", ["a"], ["y"], name="erf_1")], "bad",
    [oh.make_tensor_value_info("input", 1, [1, 3])], [oh.make_tensor_value_info("y", 1, [1, 3])]))
try:
    from_onnx(bad)
except nasvec.GraphError as e:
    print("GraphError:", e)

# %% [markdown]
# ## Reference networks: the round trip is exact
#
# Sixteen reference CNNs (`nasvec.models`, written for this book since torchvision does not install
# here; parameter counts match torchvision's), in their small-input form (32×32 images, 10 classes).
# Each goes torch → ONNX → graph → vectors → graph → ONNX and → torch, with the original weights
# transplanted. *exact* means the graph after the trip equals the one before (ops, attributes and
# edges, input order included); the errors are the largest absolute difference of the outputs
# against the original torch module, in onnxruntime and in our own torch builder.

# %%
names = list(models.REFERENCE) if references == "all" else list(references)
ref_rows = [roundtrip.check_reference(n, seed=seed) for n in tqdm(names, desc="reference networks")]
ref_table = pd.DataFrame(ref_rows)
rep.table(ref_table, "reference_round_trip")

# %% [markdown]
# ## The CNN zoo
#
# The paper trains its compressor on 1500 CNN architectures for image classification, up to 3000
# nodes, with up to 62 edges leaving one node; the architectures are not published. We generate a
# zoo of our own (`nasvec.zoo`): seeded configs across families (plain/VGG, AlexNet-like, ResNet
# basic and bottleneck, DenseNet, MobileNet, Inception, SqueezeNet, encoder-decoder, with SE
# blocks and several activations), each built in torch, exported with `torch.onnx.export` and read
# with `from_onnx`. The zoo is cached on disk after its first build. (A zoo of 100 or more ends
# with two fixed architectures at the paper's extremes: ~3000 nodes, and a 64-layer dense block
# whose input feeds every layer, an out-degree above the paper's 62.)

# %%
graphs = zoo.load_zoo(zoo_size, seed=seed)
stats = roundtrip.graph_statistics(graphs)
stats["family"] = [g.name.split("-", 2)[-1] for g in graphs]
summary = pd.DataFrame([
    {"quantity": "architectures", "ours": len(graphs), "paper": 1500},
    {"quantity": "max nodes", "ours": int(stats.nodes.max()), "paper": 3000},
    {"quantity": "max out-degree", "ours": int(stats.max_out_degree.max()), "paper": 62},
    {"quantity": "median nodes", "ours": float(stats.nodes.median()), "paper": None},
    {"quantity": "families", "ours": stats.family.nunique(), "paper": None},
])
rep.table(summary, "zoo_summary")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].hist(stats.nodes, bins=np.logspace(np.log10(max(1, stats.nodes.min())), np.log10(stats.nodes.max() + 1), 30))
axes[0].set(xscale="log", xlabel="nodes per graph", ylabel="graphs", title="graph size")
degrees = np.concatenate([g.out_degrees() for g in graphs])
axes[1].hist(degrees, bins=np.arange(0, degrees.max() + 2) - 0.5, log=True)
axes[1].set(xlabel="out-degree of a node", ylabel="nodes (log)", title="out-degree")
stats.family.value_counts().sort_index().plot.barh(ax=axes[2], title="families")
fig.tight_layout()
rep.figure(fig, "zoo_histograms")

# %%
freq = roundtrip.op_frequencies(graphs)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.bar(freq.op, freq["count"], color=["tab:blue" if op in vocab.PAPER_OPS else "tab:orange" for op in freq.op])
ax.set(yscale="log", ylabel="nodes in the zoo", title="op frequencies (blue: the paper's ops, orange: exporter ops)")
ax.tick_params(axis="x", rotation=75)
rep.figure(fig, "zoo_op_frequencies")
rep.table(freq, "zoo_op_frequencies")

# %% [markdown]
# Every zoo graph round-trips through the vectors and through ONNX; a sample also runs in
# onnxruntime and in torch, with fresh weights written by `to_onnx`, read back and transplanted.

# %%
timing = roundtrip.codec_timing(graphs, repeats=timing_repeats)
onnx_exact = [from_onnx(to_onnx(g2, weights="none")) == g2 for g2 in tqdm(graphs, desc="zoo via ONNX")]
rng = np.random.default_rng(seed)
sample = rng.choice(len(graphs), size=min(zoo_checked, len(graphs)), replace=False)
checks = pd.DataFrame([roundtrip.check_graph(graphs[i], seed=seed) for i in tqdm(sorted(sample), desc="zoo runs")])
zoo_rt = pd.DataFrame([{
    "graphs": len(graphs), "vectors exact %": 100 * timing.exact.mean(), "ONNX exact %": 100 * np.mean(onnx_exact),
    "run in onnxruntime + torch": len(checks), "max onnxruntime error": checks.onnx_max_err.max(),
    "max torch error": checks.torch_max_err.max()}])
rep.table(zoo_rt, "zoo_round_trip")

# %% [markdown]
# ## How fast
#
# Encoding and decoding are linear in the graph's size. The figure shows the time per graph over
# the zoo; `benchmarks/roundtrip.py` times the whole ONNX → graph → vectors → graph → ONNX path on
# ResNet-50 and the whole 1500-graph zoo (figures in the closing notes of issue 3).

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(timing.nodes, 1000 * timing.encode_s, ".", ms=3, label="encode")
ax.loglog(timing.nodes, 1000 * timing.decode_s, ".", ms=3, label="decode")
ax.set(xlabel="nodes", ylabel="ms per graph", title=f"encode / decode time, {len(graphs)} zoo graphs")
ax.legend()
rep.figure(fig, "codec_time")
rep.table(pd.DataFrame([{"graphs": len(graphs), "nodes": int(timing.nodes.sum()),
                         "encode s": timing.encode_s.sum(), "decode s": timing.decode_s.sum()}]), "codec_timing")

# %% [markdown]
# ## What this chapter leaves to the next
#
# The vector representation is exact but large: a ResNet-50 is 176 rows of 110 attribute columns
# plus its adjacency. Chapter 2 compresses such representations into a few numbers, and chapter
# 3 turns whatever a decoder emits back into a network that runs.
