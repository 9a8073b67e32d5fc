"""Checks and measurements of the round trip network -> graph -> vectors -> graph -> network (chapter 1).

Shared by the chapter notebook and ``benchmarks/roundtrip.py``:

* :func:`check_reference` — a reference CNN (``nasvec.models``) through the whole path, with its
  weights transplanted: exactness of every step and the largest output difference in onnxruntime
  and in torch against the original module;
* :func:`check_graph` — the same for a graph without an original module (the zoo): fresh weights,
  read back and transplanted;
* :func:`graph_statistics`, :func:`codec_timing` — sizes, degrees and op counts of a set of graphs,
  and encode/decode time per graph.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd

from .graph import ArchGraph
from .onnx_io import export_torch, from_onnx, to_onnx
from .vectors import decode, encode


def _ort(model, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _torch_out(g, weights, x: np.ndarray) -> np.ndarray:
    import torch

    from .torch_io import to_torch

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
    import torch

    from . import models

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
