"""Chapter 6: training a population of masked two-layer networks at once against one at a time.

Prints networks trained per second (batched and in a Python loop), the speed-up, and the share of the
batched step spent in its matrix products (a plain ``bmm`` of the same shapes is the compute limit).

    .venv/bin/python benchmarks/structure.py [--population 256] [--objects 200] [--features 12] [--threads 2]
"""

import argparse
import time

import numpy as np
import torch

from nasvec.subsample.masked import FitConfig, random_structure, train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--features", type=int, default=12)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--loop", type=int, default=16, help="networks trained one at a time for the comparison")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    shape = (a.features, a.features, a.classes)
    zs = [random_structure(shape, (0.1, 0.33), rng) for _ in range(a.population)]
    x = rng.standard_normal((a.population, a.objects, a.features)).astype(np.float32)
    y = rng.integers(a.classes, size=(a.population, a.objects))
    cfg = FitConfig(steps=a.steps, lr=0.05, chunk=a.population)

    t0 = time.perf_counter()
    train(zs, x, y, cfg)
    batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(a.loop):
        train([zs[i]], x[i:i + 1], y[i:i + 1], cfg)
    loop = (time.perf_counter() - t0) / a.loop

    p, m, n, c = a.population, a.objects, a.features, a.classes
    xt, w1, w2 = torch.randn(p, m, n), torch.randn(p, n, n, requires_grad=True), torch.randn(p, n, c, requires_grad=True)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        torch.bmm(torch.bmm(xt, w1), w2).sum().backward()
    mm = time.perf_counter() - t0
    flops = 3 * 2 * p * m * (n * n + n * c) * a.steps     # forward and two backward products per layer
    print(f"population {p} networks {n}-{n}-{c}, {m} objects each, {a.steps} full-batch steps, {a.threads} threads")
    print(f"batched:   {batched:.2f} s, {p / batched:.1f} networks/s")
    print(f"one by one: {loop:.3f} s per network, {1 / loop:.1f} networks/s")
    print(f"speed-up of the population: {loop * p / batched:.1f}x")
    print(f"matrix products alone (the compute limit of these shapes): {mm:.2f} s, {flops / mm / 1e9:.1f} GFLOP/s; "
          f"the batched training takes {batched / mm:.1f}x that (the rest: activations, loss, Adam)")


if __name__ == "__main__":
    main()
