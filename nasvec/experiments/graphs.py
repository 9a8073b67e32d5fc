"""Chapter 1 ("A network as a graph", ``notebooks/graphs.ipynb``): checks and measurements of the round
trip network -> graph -> vectors -> graph -> network, and the chapter's tables.

Shared by the chapter notebook and ``benchmarks/roundtrip.py``:

* :func:`check_reference` — a reference CNN (:mod:`nasvec.data.reference`) through the whole path,
  with its weights transplanted: exactness of every step and the largest output difference in
  onnxruntime and in torch against the original module;
* :func:`check_graph` — the same for a graph without an original module (the zoo): fresh weights,
  read back and transplanted;
* :func:`graph_statistics`, :func:`codec_timing` — sizes, degrees and op counts of a set of graphs,
  and encode/decode time per graph;
* :class:`TinyNet`, :func:`attribute_table`, :func:`unknown_op_model`, :func:`zoo_summary`,
  :func:`zoo_round_trip` — the chapter's example network and tables.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd

import torch
from tqdm.auto import tqdm

from ..data import reference as models
from ..graph import vocab
from ..graph.core import ArchGraph
from ..graph.vectors import decode, encode
from ..io import export_torch, from_onnx, to_onnx, to_torch


def _ort(model, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _torch_out(g, weights, x: np.ndarray) -> np.ndarray:
    net = to_torch(g, input_shape=x.shape, weights=weights).eval()
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def check_graph(g: ArchGraph, input_shape=None, seed: int = 0) -> dict:
    """Round trip of a graph: vectors, ONNX (fresh weights), weights read back and transplanted."""
    rng = np.random.default_rng(seed)
    m = to_onnx(g, input_shape=input_shape, seed=seed)
    shape = tuple(d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim)
    x = rng.standard_normal(shape).astype(np.float32)
    g2, w = from_onnx(m, return_weights=True)
    ref = _ort(m, x)
    m2 = to_onnx(g2, input_shape=shape, weights=w)
    return {
        "nodes": len(g), "edges": len(g.edges),
        "vectors_exact": decode(encode(g)) == g,
        "onnx_exact": g2 == g,
        "onnx_max_err": float(np.abs(_ort(m2, x) - ref).max()),
        "torch_max_err": float(np.abs(_torch_out(g2, w, x) - ref).max()),
    }


def check_reference(name: str, small_input: bool = True, num_classes: int = 10, seed: int = 0) -> dict:
    """A reference network through torch -> ONNX -> graph -> vectors -> graph -> ONNX / torch."""
    torch.manual_seed(seed)
    net = models.reference(name, num_classes=num_classes, small_input=small_input).eval()
    shape = models.input_shape(name, small_input=small_input)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for mod in net.modules():   # non-trivial BatchNorm statistics, so that a transplant error shows
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
        out = net(x).numpy()
    original = export_torch(net, x)
    g, w = from_onnx(original, return_weights=True)
    xn = x.numpy()
    g2 = decode(encode(g))
    rebuilt = to_onnx(g2, input_shape=shape, weights=w)
    return {
        "network": name, "onnx_nodes": len(original.graph.node), "nodes": len(g), "edges": len(g.edges),
        "params": int(sum(p.numel() for p in net.parameters())),
        "vectors_exact": g2 == g,
        "onnx_exact": from_onnx(rebuilt) == g,
        "onnx_max_err": float(np.abs(_ort(rebuilt, xn) - out).max()),
        "torch_max_err": float(np.abs(_torch_out(g2, w, xn) - out).max()),
    }


def graph_statistics(graphs) -> pd.DataFrame:
    """One row per graph: nodes, edges, max in/out degree, and the op counts as a dict column."""
    rows = []
    for g in graphs:
        outd, ind = g.out_degrees(), g.in_degrees()
        rows.append({"nodes": len(g), "edges": len(g.edges), "max_out_degree": int(outd.max()),
                     "max_in_degree": int(ind.max()), "ops": Counter(g.ops)})
    return pd.DataFrame(rows)


def op_frequencies(graphs) -> pd.DataFrame:
    """Ops by total count, with the number of graphs that contain each."""
    total, present = Counter(), Counter()
    for g in graphs:
        c = Counter(g.ops)
        total.update(c)
        present.update(c.keys())
    df = pd.DataFrame({"op": list(total), "count": [total[o] for o in total], "graphs": [present[o] for o in total]})
    return df.sort_values(["count", "op"], ascending=[False, True]).reset_index(drop=True)


def codec_timing(graphs, repeats: int = 1) -> pd.DataFrame:
    """Seconds to encode and to decode each graph (best of ``repeats``), with its node count."""
    rows = []
    for g in graphs:
        te, td = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            v = encode(g)
            t1 = time.perf_counter()
            back = decode(v)
            t2 = time.perf_counter()
            te.append(t1 - t0)
            td.append(t2 - t1)
        rows.append({"nodes": len(g), "encode_s": min(te), "decode_s": min(td), "exact": back == g})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the chapter's tables
class TinyNet(torch.nn.Module):
    """The chapter's first example: a five-layer CNN with a residual connection, for 1-channel images."""

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


def attribute_table(g: ArchGraph) -> pd.DataFrame:
    """The attribute matrix of ``g``'s vector representation, only the columns some node uses, one row
    per node (its op first)."""
    v = encode(g)
    cols = [j for j in range(v.attrs.shape[1]) if not torch.isnan(v.attrs[:, j]).all()]
    table = pd.DataFrame(v.attrs[:, cols].numpy(), columns=[vocab.column_name(j) for j in cols],
                         index=[n.op for n in g.nodes])
    return table.reset_index(names="op")


def vocabulary_table() -> pd.DataFrame:
    """The sizes of the paper's vocabulary and of ours."""
    return pd.DataFrame({
        "ops (paper)": [len(vocab.PAPER_OPS)], "ops (ours)": [len(vocab.OPS)],
        "attributes (paper)": [len(vocab.PAPER_ATTRS)], "attributes (ours)": [len(vocab.ATTRS)],
        "attribute matrix columns": [vocab.N_COLUMNS]})


def unknown_op_model():
    """A two-node ONNX model whose second op (``Erf``) is not in the vocabulary."""
    import onnx.helper as oh

    return oh.make_model(oh.make_graph(
        [oh.make_node("Relu", ["input"], ["a"], name="relu"), oh.make_node("Erf", ["a"], ["y"], name="erf_1")], "bad",
        [oh.make_tensor_value_info("input", 1, [1, 3])], [oh.make_tensor_value_info("y", 1, [1, 3])]))


def zoo_summary(stats: pd.DataFrame) -> pd.DataFrame:
    """The zoo beside the paper's data set: size, largest graph, largest out-degree, families."""
    return pd.DataFrame([
        {"quantity": "architectures", "ours": len(stats), "paper": 1500},
        {"quantity": "max nodes", "ours": int(stats.nodes.max()), "paper": 3000},
        {"quantity": "max out-degree", "ours": int(stats.max_out_degree.max()), "paper": 62},
        {"quantity": "median nodes", "ours": float(stats.nodes.median()), "paper": None},
        {"quantity": "families", "ours": stats.family.nunique(), "paper": None},
    ])


def zoo_statistics(graphs) -> pd.DataFrame:
    """:func:`graph_statistics` of the zoo with each graph's family (from its name)."""
    stats = graph_statistics(graphs)
    stats["family"] = [g.name.split("-", 2)[-1] for g in graphs]
    return stats


def zoo_round_trip(graphs, checked: int, seed: int = 0, repeats: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every zoo graph through the vectors and through ONNX; ``checked`` of them (a seeded sample) also run
    in onnxruntime and torch with transplanted weights. Returns ``(summary, timing per graph)``."""
    timing = codec_timing(graphs, repeats=repeats)
    onnx_exact = [from_onnx(to_onnx(g, weights="none")) == g for g in tqdm(graphs, desc="zoo via ONNX")]
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(graphs), size=min(checked, len(graphs)), replace=False)
    checks = pd.DataFrame([check_graph(graphs[i], seed=seed) for i in tqdm(sorted(sample), desc="zoo runs")])
    summary = pd.DataFrame([{
        "graphs": len(graphs), "vectors exact %": 100 * timing.exact.mean(), "ONNX exact %": 100 * np.mean(onnx_exact),
        "run in onnxruntime + torch": len(checks), "max onnxruntime error": checks.onnx_max_err.max(),
        "max torch error": checks.torch_max_err.max()}])
    return summary, timing


def codec_totals(timing: pd.DataFrame) -> pd.DataFrame:
    """Graphs, nodes and the total encode and decode seconds (a ``_timing`` table)."""
    return pd.DataFrame([{"graphs": len(timing), "nodes": int(timing.nodes.sum()),
                          "encode s": timing.encode_s.sum(), "decode s": timing.decode_s.sum()}])


def reference_round_trip(names, seed: int = 0) -> pd.DataFrame:
    """:func:`check_reference` of every named reference network (``"all"``: every one)."""
    names = list(models.REFERENCE) if names == "all" else list(names)
    return pd.DataFrame([check_reference(n, seed=seed) for n in tqdm(names, desc="reference networks")])
