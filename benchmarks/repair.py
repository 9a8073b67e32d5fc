"""Benchmark of chapter 3's repair rules: arbitrary decoder outputs -> valid, runnable networks.

    .venv/bin/python benchmarks/repair.py [--n 100000] [--big 20] [--sample N] [--seed 0] [--backend ray --workers 2]

Repairs ``n`` arbitrary decoder outputs (the five kinds of :func:`nasvec.experiments.repair.random_decoder_output`,
in turn; sizes mostly 1-30 nodes, 1 % with 100-500 nodes) plus ``big`` outputs of 1000-3000 nodes;
checks every result with :func:`nasvec.repair_rules.problem` (validate, shape inference, to_torch support,
at batch 1 and 3) and runs every result (or a seeded sample of ``--sample`` of them, for a quicker
look) in onnxruntime (``to_onnx`` with the full checker) and as ``to_torch`` (forward and backward at
batch 3). The outputs go in chunks through :func:`nasvec.parallel.pmap` (serial, or Ray with ``--backend ray``),
each chunk drawn with its own seed, so the figures do not depend on the backend. Prints the figures; 822 s for
the default 100,020 on a 2-core CPU (measured serially, before the chunks).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _chunk(item) -> dict:
    """Repair and check the outputs ``k0 .. k1 - 1`` (one task of :func:`nasvec.parallel.pmap`), drawn with the
    chunk's own seed; ``run_share``: the share of them also run in onnxruntime and torch."""
    import onnxruntime as ort
    import torch

    from nasvec import to_onnx, to_torch
    from nasvec.experiments.repair import DECODER_KINDS, random_decoder_output
    from nasvec.repair_rules import problem, repair

    k0, k1, n_small_total, seed, run_share = item
    torch.set_num_threads(1)
    shape, shape3 = (1, 1, 28, 28), (3, 1, 28, 28)
    rng = np.random.default_rng(seed)
    out = {"ok": 0, "ran": 0, "ran_ok": 0, "t_small": 0.0, "n_small": 0, "t_big": [], "sizes_big": [], "failures": []}
    for k in range(k0, k1):
        kind = DECODER_KINDS[k % len(DECODER_KINDS)]
        if k >= n_small_total:
            n = int(rng.integers(1000, 3001))
        elif rng.random() < 0.01:
            n = int(rng.integers(100, 501))
        else:
            n = int(rng.integers(1, 31))
        v = random_decoder_output(rng, kind, n)
        t0 = time.perf_counter()
        g = repair(v, input_shape=shape)
        dt = time.perf_counter() - t0
        if k >= n_small_total:
            out["t_big"].append(dt)
            out["sizes_big"].append((n, len(g)))
        else:
            out["t_small"] += dt
            out["n_small"] += 1
        why = problem(g, shape) or problem(g, shape3)
        if why is None:
            out["ok"] += 1
        else:
            out["failures"].append((k, kind, n, why))
        if rng.random() < run_share:
            out["ran"] += 1
            try:
                m = to_onnx(g, shape)
                sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
                sess.run(None, {"input": np.zeros(shape, np.float32)})
                net = to_torch(g, shape3)
                x = torch.randn(shape3, requires_grad=True)
                net(x).float().sum().backward()
                out["ran_ok"] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                out["failures"].append((k, kind, n, f"run: {type(e).__name__}: {e}"))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--big", type=int, default=20)
    ap.add_argument("--sample", type=int, default=None, help="run about this many results (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=2000, help="outputs per task of nasvec.parallel.pmap")
    ap.add_argument("--backend", default=None, help="serial (default) or ray (NASVEC_BACKEND)")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)

    from nasvec.parallel import pmap, task_seeds

    total = args.n + args.big
    run_share = 1.0 if args.sample is None else min(1.0, args.sample / total)
    bounds = [(k, min(k + args.chunk, total)) for k in range(0, total, args.chunk)]
    items = [(k0, k1, args.n, s, run_share) for (k0, k1), s in zip(bounds, task_seeds(args.seed, len(bounds)))]
    t_start = time.perf_counter()
    parts = pmap(_chunk, items, backend=args.backend, workers=args.workers, desc="repairs (chunks)")
    ok = sum(p["ok"] for p in parts)
    ran, ran_ok = sum(p["ran"] for p in parts), sum(p["ran_ok"] for p in parts)
    t_small, n_small = sum(p["t_small"] for p in parts), sum(p["n_small"] for p in parts)
    t_big = [t for p in parts for t in p["t_big"]]
    sizes_big = [s for p in parts for s in p["sizes_big"]]
    failures = [f for p in parts for f in p["failures"]]
    print(f"repaired {total:,} decoder outputs ({args.n:,} of 1-500 nodes, {args.big} of 1000-3000 nodes)")
    print(f"valid (validate + shapes + to_torch support, batch 1 and 3): {ok:,} / {total:,} = {100 * ok / total:.3f} %")
    print(f"ran in onnxruntime and torch (forward + backward): {ran_ok:,} / {ran:,} {'sampled' if ran < total else 'repaired'} = {100 * ran_ok / max(ran, 1):.2f} %")
    print(f"time per repair, 1-500 nodes: {1e3 * t_small / max(n_small, 1):.2f} ms (mean)")
    if t_big:
        print(f"time per repair, 1000-3000 nodes: {1e3 * np.mean(t_big):.1f} ms mean, {1e3 * np.max(t_big):.1f} ms max; "
              f"nodes kept: median {int(np.median([b for _, b in sizes_big]))}")
    print(f"wall time {time.perf_counter() - t_start:.0f} s ({len(items)} tasks of {args.chunk})")
    for f in failures[:10]:
        print("FAILED", f)
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
