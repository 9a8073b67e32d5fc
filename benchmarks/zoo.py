"""Time to build the CNN zoo on one core: configs, torch build + ONNX export, from_onnx; sizes per family.

    .venv/bin/python benchmarks/zoo.py              # the 1500-architecture zoo, seed 0
    .venv/bin/python benchmarks/zoo.py --n 300      # the quick profile's zoo

Prints wall-clock and CPU seconds (torch on one thread), nodes and out-degrees of the graphs that
``from_onnx`` reads, per family and in all, and the size of the gzipped pickled graph list (what
``load_zoo`` caches). The issue's budget: the whole 1500 export in under about 3 minutes.
Timings on a shared CPU vary: compare CPU seconds, and run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nasvec.data import zoo  # noqa: E402
from nasvec.io import from_onnx  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)

    t0 = time.perf_counter()
    configs = zoo.generate_configs(a.n, a.seed)
    print(f"{a.n} configs generated in {time.perf_counter() - t0:.2f} s")

    rows = defaultdict(list)
    graphs = []
    w0, c0 = time.perf_counter(), time.process_time()
    for c in configs:
        w, t = time.perf_counter(), time.process_time()
        g = from_onnx(zoo.strip_weights(zoo.export_config(c)))
        graphs.append(g)
        rows[c["family"]].append((len(g), int(g.out_degrees().max()), time.perf_counter() - w,
                                  time.process_time() - t))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0

    print(f"{'family':18s} {'n':>5s} {'median':>7s} {'max':>6s} {'max out':>8s} {'wall s':>7s} {'cpu s':>7s} "
          f"{'cpu ms/node':>11s}")
    for fam in zoo.FAMILIES:
        r = np.array(rows[fam], dtype=float)
        print(f"{fam:18s} {len(r):5d} {np.median(r[:, 0]):7.0f} {r[:, 0].max():6.0f} {r[:, 1].max():8.0f} "
              f"{r[:, 2].sum():7.1f} {r[:, 3].sum():7.1f} {1000 * r[:, 3].sum() / r[:, 0].sum():11.2f}")
    sizes = np.array([len(g) for g in graphs])
    blob = gzip.compress(pickle.dumps(graphs, protocol=4), 6)
    print(f"all: {len(graphs)} graphs, {sizes.sum()} nodes (median {np.median(sizes):.0f}, max {sizes.max()}), "
          f"max out-degree {max(int(g.out_degrees().max()) for g in graphs)}")
    print(f"build + export + from_onnx: {wall:.1f} s wall, {cpu:.1f} s CPU on one thread; "
          f"cached graph list {len(blob) / 1e6:.2f} MB (gzipped pickle)")


if __name__ == "__main__":
    main()
