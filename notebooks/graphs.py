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
import matplotlib.pyplot as plt
import torch

from nasvec import GraphError, decode, encode, from_onnx, from_torch, seed_everything
from nasvec.book import Report, plots
from nasvec.book.plots import graphs as figures
from nasvec.data.zoo import load_zoo
from nasvec.experiments import graphs as chapter
from nasvec.graph import vocab

seed_everything(seed)
rep = Report("graphs")

# %% [markdown]
# ## A small network, drawn and encoded
#
# A five-layer CNN with a residual connection, written in torch (`nasvec.experiments.graphs.TinyNet`:
# conv → batch norm → ReLU, then a second conv added to its input, global pooling and a linear
# layer). `from_torch` exports it with `torch.onnx.export` (the legacy exporter at opset 17,
# BatchNormalization kept) and reads the ONNX model as a graph.

# %%
g = from_torch(chapter.TinyNet(), torch.randn(1, 1, 8, 8))
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
rep.table(chapter.attribute_table(g), "tiny_attributes")
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
# documented in one place, `nasvec.graph.vocab`. An op or attribute outside the vocabulary is an error
# that names the node — never a silent drop:

# %%
rep.table(chapter.vocabulary_table(), "vocabulary")
print("ours beyond the paper:", [op for op in vocab.OPS if op not in vocab.PAPER_OPS])

# %%
try:
    from_onnx(chapter.unknown_op_model())  # a Relu, then an Erf
except GraphError as e:
    print("GraphError:", e)

# %% [markdown]
# ## Reference networks: the round trip is exact
#
# Sixteen reference CNNs (`nasvec.data.reference`, written for this book since torchvision does not install
# here; parameter counts match torchvision's), in their small-input form (32×32 images, 10 classes).
# Each goes torch → ONNX → graph → vectors → graph → ONNX and → torch, with the original weights
# transplanted. *exact* means the graph after the trip equals the one before (ops, attributes and
# edges, input order included); the errors are the largest absolute difference of the outputs
# against the original torch module, in onnxruntime and in our own torch builder.

# %%
rep.table(chapter.reference_round_trip(references, seed=seed), "reference_round_trip")

# %% [markdown]
# ## The CNN zoo
#
# The paper trains its compressor on 1500 CNN architectures for image classification, up to 3000
# nodes, with up to 62 edges leaving one node; the architectures are not published. We generate a
# zoo of our own (`nasvec.data.zoo`): seeded configs across families (plain/VGG, AlexNet-like, ResNet
# basic and bottleneck, DenseNet, MobileNet, Inception, SqueezeNet, encoder-decoder, with SE
# blocks and several activations), each built in torch, exported with `torch.onnx.export` and read
# with `from_onnx`. The zoo is cached on disk after its first build. (A zoo of 100 or more ends
# with two fixed architectures at the paper's extremes: ~3000 nodes, and a 64-layer dense block
# whose input feeds every layer, an out-degree above the paper's 62.)

# %%
graphs = load_zoo(zoo_size, seed=seed)
stats = chapter.zoo_statistics(graphs)
rep.table(chapter.zoo_summary(stats), "zoo_summary")

# %%
rep.figure(figures.zoo_histograms(stats, graphs), "zoo_histograms")

# %%
freq = chapter.op_frequencies(graphs)
rep.figure(figures.op_frequencies(freq), "zoo_op_frequencies")
rep.table(freq, "zoo_op_frequencies")

# %% [markdown]
# Every zoo graph round-trips through the vectors and through ONNX; a sample also runs in
# onnxruntime and in torch, with fresh weights written by `to_onnx`, read back and transplanted.

# %%
zoo_rt, timing = chapter.zoo_round_trip(graphs, zoo_checked, seed=seed, repeats=timing_repeats)
rep.table(zoo_rt, "zoo_round_trip")

# %% [markdown]
# ## How fast
#
# Encoding and decoding are linear in the graph's size. The figure shows the time per graph over
# the zoo; `benchmarks/roundtrip.py` times the whole ONNX → graph → vectors → graph → ONNX path on
# ResNet-50 and the whole 1500-graph zoo (the README lists its measured figures).

# %%
rep.figure(figures.codec_time(timing), "codec_time")
rep.table(chapter.codec_totals(timing), "codec_timing")

# %% [markdown]
# ## What this chapter leaves to the next
#
# The vector representation is exact but large: a ResNet-50 is 176 rows of 110 attribute columns
# plus its adjacency. Chapter 2 compresses such representations into a few numbers, and chapter
# 3 turns whatever a decoder emits back into a network that runs.
