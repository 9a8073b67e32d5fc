"""Chapter 5: cost of one hypernetwork search step against one fixed-s search step.

    .venv/bin/python benchmarks/hypernetwork.py                     # digits, the quick profile's network
    NASVEC_DATA=/work/shared/data .venv/bin/python benchmarks/hypernetwork.py --real --stem-stride 2

Both searches run the same super-network forward and backward pass; the hypernetwork adds the
interpolation alpha(s) = sum_r w_r(s) alpha_ref_r and a Dirichlet draw per batch. The two are timed
in interleaved blocks of steps (so load from other jobs hits both alike), by wall clock and by
process CPU time. The slides' goal: the whole family for <= 1.5x the cost of one fixed-s search;
with the same number of epochs the ratio printed here is that cost ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nasvec.data import load_images  # noqa: E402
from nasvec.dnas import FixedAlpha, HyperNet, SuperNet, differentiable_search  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", action="store_true", help="Fashion-MNIST instead of digits")
    ap.add_argument("--n", type=int, default=640, help="images per block (batch 64)")
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--stem-stride", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = load_images(args.real, args.n, 10)
    runs = {"hypernetwork": HyperNet(3), "fixed s": FixedAlpha(3)}
    nets = {k: SuperNet("slides", args.channels, stem_stride=args.stem_stride) for k in runs}
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    for _ in range(args.blocks):
        for k, arch in runs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            differentiable_search(nets[k], arch, images.x_train, images.y_train, 1,
                                  s=None if k == "hypernetwork" else [1 / 3] * 3, progress=False)
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    steps = (args.n + 63) // 64
    for k in runs:
        print(f"{k:>13}: {1e3 * statistics.median(wall[k]) / steps:7.1f} ms/step wall, "
              f"{1e3 * statistics.median(cpu[k]) / steps:7.1f} ms/step CPU")
    print(f"hypernetwork / fixed s: {statistics.median(wall['hypernetwork']) / statistics.median(wall['fixed s']):.2f} wall, "
          f"{statistics.median(cpu['hypernetwork']) / statistics.median(cpu['fixed s']):.2f} CPU")


if __name__ == "__main__":
    main()
