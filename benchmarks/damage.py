"""Benchmark of minimal repair (chapter 3): real CNNs, a known share of their vector representation damaged.

    .venv/bin/python benchmarks/damage.py [--zoo 30] [--seeds 3] [--run 40]

Every reference network (:mod:`nasvec.data.reference`, 32x32 RGB input) and a seeded sample of ``--zoo`` CNN-zoo
graphs of at most 600 nodes (each at its own input shape) is encoded; ``k`` per cent of the entries of each array
are damaged (NaN, inf, huge, random ids, mixed; or k per cent of the edges flipped) for k in 0.5 .. 50, and
Gaussian noise is added to every entry (:mod:`nasvec.repair_rules.damage`); each is repaired for its own input shape
(:func:`nasvec.repair_rules.repair`, 10 classes). Prints, per kind and k, the nodes, edges and attributes kept and the
edit distance (mean over seeds, then mean and worst over networks), validity, the issue's targets, and the time
per repair on the arbitrary decoder outputs of ``benchmarks/repair.py`` against the 0.93 ms measured before
minimal repair. ``--run N`` also runs N repaired networks forward and backward in torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KS = (0.5, 1, 2, 5, 10, 25, 50)
KINDS = ("nan", "inf", "huge", "ids", "mixed", "flip", "noise")
BEFORE_MS = 0.93   # time per repair of 1-500 node decoder outputs before minimal repair (benchmarks/repair.py)


def zoo_sample(n: int, seed: int = 0, max_nodes: int = 600) -> dict:
    from nasvec.data.zoo import load_zoo

    zoo = [g for g in load_zoo(1500, seed=0, progress=False) if len(g) <= max_nodes]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(zoo), min(n, len(zoo)), replace=False)
    return {f"zoo {zoo[i].name or i}": (zoo[i], tuple(zoo[i].meta.get("input_shape", (1, 3, 32, 32)))) for i in pick}


def repair_time(n: int = 2000, seed: int = 0) -> float:
    """Mean ms per repair of ``n`` arbitrary decoder outputs of 1-30 nodes (as benchmarks/repair.py draws them)."""
    from nasvec.experiments.repair import DECODER_KINDS, random_decoder_output
    from nasvec.repair_rules import repair

    rng = np.random.default_rng(seed)
    outs = [random_decoder_output(rng, DECODER_KINDS[k % len(DECODER_KINDS)], int(rng.integers(1, 31)))
            for k in range(n)]
    t0 = time.perf_counter()
    for v in outs:
        repair(v, input_shape=(1, 1, 28, 28))
    return 1e3 * (time.perf_counter() - t0) / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--run", type=int, default=40, help="repaired networks also run in torch (forward + backward)")
    args = ap.parse_args(argv)
    import pandas as pd
    import torch

    from nasvec import to_torch
    from nasvec.experiments.repair import damage_study, damage_summary, reference_graphs
    from nasvec.repair_rules import repair
    from nasvec.repair_rules.damage import damage

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    refs = reference_graphs()
    graphs = {**refs, **zoo_sample(args.zoo)}
    study = damage_study(graphs, KINDS, KS, seeds=range(args.seeds))
    pd.set_option("display.width", 200)
    print(f"{len(refs)} reference networks and {len(graphs) - len(refs)} zoo graphs, {args.seeds} seeds: "
          f"{len(study):,} repairs in {time.perf_counter() - t0:.0f} s")
    print(damage_summary(study).to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    ref = study[study.network.isin(refs)]
    at2 = ref[ref["k %"] == 2].groupby(["kind", "network"])[["nodes", "edges"]].mean()
    noise = study[study.kind == "noise"].groupby("network").nodes.mean()
    ms = repair_time()
    targets = []
    for kind in [k for k in KINDS if k != "noise"]:
        a = at2.loc[kind]
        targets += [(f"2 % {kind} damage, every reference network: nodes kept >= 95 %", a.nodes.min() >= 0.95,
                     f"worst {100 * a.nodes.min():.1f} % ({a.nodes.idxmin()})"),
                    (f"2 % {kind} damage, every reference network: edges kept >= 90 %", a.edges.min() >= 0.90,
                     f"worst {100 * a.edges.min():.1f} % ({a.edges.idxmin()})")]
    targets += [("noise on every entry, every network: nodes kept >= 50 %", noise.min() >= 0.5,
                 f"worst {100 * noise.min():.1f} % ({noise.idxmin()})"),
                ("valid after repair: 100 %", bool(study.valid.all()), f"{100 * study.valid.mean():.2f} %"),
                (f"time per repair (1-30 node decoder outputs) <= 2 x {BEFORE_MS} ms", ms <= 2 * BEFORE_MS,
                 f"{ms:.2f} ms ({ms / BEFORE_MS:.2f}x)")]
    low = study[(study.kind != "noise") & (study["k %"] <= 5)]["undamaged nodes"].mean()
    print(f"nodes whose own entries were not damaged, kept (mean over every repair at k <= 5 %): {100 * low:.2f} %")
    for what, ok, figure in targets:
        print(f"[{'met' if ok else 'NOT met'}] {what}: {figure}")
    if args.run:
        rng = np.random.default_rng(0)
        names = list(graphs)
        ran = 0
        for i in range(args.run):
            name = names[rng.integers(len(names))]
            g, shape = graphs[name]
            r = repair(damage(g, float(rng.choice(KS)), "mixed", seed=i), input_shape=shape, num_classes=10)
            net = to_torch(r, shape)
            out = net(torch.randn(3, *shape[1:]))
            out.sum().backward()
            ran += out.shape == (3, 10)
        print(f"ran in torch (forward and backward, batch 3): {ran} / {args.run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
