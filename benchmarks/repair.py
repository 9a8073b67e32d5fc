"""Benchmark of chapter 3's repair rules: arbitrary decoder outputs -> valid, runnable networks.

    .venv/bin/python benchmarks/repair.py [--n 100000] [--big 20] [--sample N] [--seed 0]

Repairs ``n`` arbitrary decoder outputs (the five kinds of :func:`nasvec.experiments.repair.random_decoder_output`,
in turn; sizes mostly 1-30 nodes, 1 % with 100-500 nodes) plus ``big`` outputs of 1000-3000 nodes;
checks every result with :func:`nasvec.repair.problem` (validate, shape inference, to_torch support,
at batch 1 and 3) and runs every result (or a seeded sample of ``--sample`` of them, for a quicker
look) in onnxruntime (``to_onnx`` with the full checker) and as ``to_torch`` (forward and backward at
batch 3). Prints the figures; 822 s for the default 100,020 on a 2-core CPU (measured).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--big", type=int, default=20)
    ap.add_argument("--sample", type=int, default=None, help="run only this many results (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import onnxruntime as ort
    import torch

    from nasvec import to_onnx, to_torch
    from nasvec.experiments.repair import DECODER_KINDS, random_decoder_output
    from nasvec.repair import problem, repair

    torch.set_num_threads(1)
    shape, shape3 = (1, 1, 28, 28), (3, 1, 28, 28)
    rng = np.random.default_rng(args.seed)
    total = args.n + args.big
    n_run = total if args.sample is None else min(args.sample, total)
    sample = set(rng.choice(total, size=n_run, replace=False).tolist()) if n_run < total else set(range(total))
    ok = bad = ran = ran_ok = 0
    t_small, n_small, t_big, sizes_big = 0.0, 0, [], []
    failures = []
    t_start = time.perf_counter()
    for k in range(total):
        kind = DECODER_KINDS[k % len(DECODER_KINDS)]
        if k >= args.n:
            n = int(rng.integers(1000, 3001))
        elif rng.random() < 0.01:
            n = int(rng.integers(100, 501))
        else:
            n = int(rng.integers(1, 31))
        v = random_decoder_output(rng, kind, n)
        t0 = time.perf_counter()
        g = repair(v, input_shape=shape)
        dt = time.perf_counter() - t0
        if k >= args.n:
            t_big.append(dt)
            sizes_big.append((n, len(g)))
        else:
            t_small += dt
            n_small += 1
        why = problem(g, shape) or problem(g, shape3)
        if why is None:
            ok += 1
        else:
            bad += 1
            failures.append((k, kind, n, why))
        if k in sample:
            ran += 1
            try:
                m = to_onnx(g, shape)
                sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
                sess.run(None, {"input": np.zeros(shape, np.float32)})
                net = to_torch(g, shape3)
                x = torch.randn(shape3, requires_grad=True)
                net(x).float().sum().backward()
                ran_ok += 1
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append((k, kind, n, f"run: {type(e).__name__}: {e}"))
        if (k + 1) % 10_000 == 0:
            print(f"  {k + 1:,} repaired, {ok:,} valid, {time.perf_counter() - t_start:.0f} s", flush=True)
    print(f"repaired {total:,} decoder outputs ({args.n:,} of 1-500 nodes, {args.big} of 1000-3000 nodes)")
    print(f"valid (validate + shapes + to_torch support, batch 1 and 3): {ok:,} / {total:,} = {100 * ok / total:.3f} %")
    print(f"ran in onnxruntime and torch (forward + backward): {ran_ok:,} / {ran:,} {'sampled' if ran < total else 'repaired'} = {100 * ran_ok / max(ran, 1):.2f} %")
    print(f"time per repair, 1-500 nodes: {1e3 * t_small / max(n_small, 1):.2f} ms (mean)")
    if t_big:
        print(f"time per repair, 1000-3000 nodes: {1e3 * np.mean(t_big):.1f} ms mean, {1e3 * np.max(t_big):.1f} ms max; "
              f"nodes kept: median {int(np.median([b for _, b in sizes_big]))}")
    print(f"wall time {time.perf_counter() - t_start:.0f} s")
    for f in failures[:10]:
        print("FAILED", f)
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
