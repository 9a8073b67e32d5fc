"""Speed of the chapter-1 representation (issue 3's targets; figures printed, not asserted).

    .venv/bin/python benchmarks/roundtrip.py            # ResNet-50 round trip + the whole zoo
    .venv/bin/python benchmarks/roundtrip.py --zoo 0    # ResNet-50 only

1. ResNet-50 (224x224, BatchNormalization kept, ~375 ONNX nodes): the full round trip
   ONNX model -> graph -> vectors -> graph -> ONNX model (the architecture; learned weights as
   inputs of the right shapes, ``to_onnx(weights="none")``), with and without onnx.checker's full
   check; target <= 20 ms. Also the same with fresh weights (25.6 M parameters to generate) and
   with the original weights transplanted, for scale.
2. The CNN zoo (``nasvec.data.zoo.load_zoo``): every graph encoded and decoded; target <= 30 s on 2 cores.

Each step is timed as the median of ``--repeats`` runs. Timings on a shared CPU vary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore")

import onnx  # noqa: E402
import torch  # noqa: E402

from nasvec import decode, encode, from_onnx, to_onnx  # noqa: E402
from nasvec.io import export_torch  # noqa: E402


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def resnet50_round_trip(repeats: int) -> None:
    from nasvec.data.reference import resnet50

    torch.set_num_threads(2)
    model = export_torch(resnet50().eval(), torch.randn(1, 3, 224, 224))
    bn = sum(n.op_type == "BatchNormalization" for n in model.graph.node)
    print(f"ResNet-50: {len(model.graph.node)} ONNX nodes ({bn} BatchNormalization), "
          f"{sum(int(torch.tensor(list(t.dims)).prod()) for t in model.graph.initializer) / 1e6:.1f} M weights")
    g, w = from_onnx(model, return_weights=True)
    v = encode(g)
    g2 = decode(v)
    assert g2 == g and from_onnx(to_onnx(g2, weights="none")) == g
    steps = {
        "ONNX -> graph (from_onnx)": lambda: from_onnx(model),
        "graph -> vectors (encode)": lambda: encode(g),
        "vectors -> graph (decode)": lambda: decode(v),
        "graph -> ONNX, no check": lambda: to_onnx(g2, weights="none", check=False),
        "graph -> ONNX, checker full_check": lambda: to_onnx(g2, weights="none"),
    }
    total = 0.0
    for name, fn in steps.items():
        ms = median_ms(fn, repeats)
        if "full_check" not in name:
            total += ms
        print(f"  {name:38s} {ms:8.2f} ms")
    full = median_ms(lambda: to_onnx(decode(encode(from_onnx(model))), weights="none"), repeats)
    print(f"  full round trip, no check (sum)        {total:8.2f} ms   (target <= 20 ms)")
    print(f"  full round trip with full_check        {full:8.2f} ms")
    print(f"  graph -> ONNX with fresh weights       {median_ms(lambda: to_onnx(g2), max(1, repeats // 10)):8.2f} ms")
    print(f"  graph -> ONNX with original weights    {median_ms(lambda: to_onnx(g2, weights=w), max(1, repeats // 10)):8.2f} ms")


def zoo_codec(n: int) -> None:
    from nasvec.data.zoo import load_zoo

    t0 = time.perf_counter()
    graphs = load_zoo(n)
    print(f"zoo: {len(graphs)} graphs loaded in {time.perf_counter() - t0:.1f} s "
          f"(max {max(len(g) for g in graphs)} nodes, {sum(len(g) for g in graphs)} in all)")
    t0 = time.perf_counter()
    vs = [encode(g) for g in graphs]
    t1 = time.perf_counter()
    back = [decode(v) for v in vs]
    t2 = time.perf_counter()
    exact = sum(a == b for a, b in zip(graphs, back))
    print(f"  encode all {t1 - t0:6.2f} s, decode all {t2 - t1:6.2f} s, total {t2 - t0:6.2f} s (target <= 30 s); "
          f"exact {exact}/{len(graphs)}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--zoo", type=int, default=1500, help="zoo size (0: skip)")
    a = p.parse_args(argv)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, threads {torch.get_num_threads()}")
    resnet50_round_trip(a.repeats)
    if a.zoo:
        zoo_codec(a.zoo)


if __name__ == "__main__":
    main()
