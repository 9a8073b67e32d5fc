"""Speed of the chapter-2 compressors on the same data: seconds per training epoch, graphs/s at encode/decode.

    NASVEC_DATA=/work/shared/data .venv/bin/python benchmarks/compressors.py
    .venv/bin/python benchmarks/compressors.py --generated 2000 --models ae split   # no data files needed

Every model is trained for one epoch (or ``--fraction`` of one, extrapolated) on D-VAE's ENAS
training split (17,118 graphs) at batch 32, then encodes and decodes the training graphs in
batches of 128 (D-VAE's inference batch). Each model starts from the same seed. The issue's
target: the split-latent and graph (D-VAE, DVAE-EMB) models at least 10x faster per epoch than
D-VAE's reference code, which takes 316 s per epoch on this machine (DESIGN.md). The accuracy
at which each model gets there is the chapter's Table 1 (``book/tables/compression/table1.csv``,
printed beside the timings when it exists). Timings on a shared CPU vary: run it on a quiet machine.
"cpu s/ep" is the process CPU time per epoch, less sensitive to other jobs than the wall clock; on a
busy machine use ``--threads 1`` (several threads competing with other jobs for 2 cores slow torch
down many times over).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nasvec import data  # noqa: E402
from nasvec.compress.base import DagBatch, fit  # noqa: E402
from nasvec.compress import MODEL_KEYS, available_models, make_compressor  # noqa: E402

DVAE_REFERENCE_S_PER_EPOCH = 316.0   # D-VAE's own code, ENAS-6, batch 32, this machine (DESIGN.md)
DVAE_REFERENCE_INFER_GRAPHS_S = 199.0
LATENT = {"split": 6}
LR = {"dvae": 1e-4, "dvae_emb": 1e-4}


def load(generated: int | None) -> tuple[DagBatch, str]:
    if generated:
        graphs = data.generate_enas(generated, seed=0)
        return DagBatch.from_graphs(graphs, data.ENAS_TYPES), f"{generated} generated ENAS graphs"
    enas = data.load_enas()
    train = [enas.graphs[i] for i in enas.train]
    return DagBatch.from_graphs(train, data.ENAS_TYPES), f"D-VAE's ENAS training split ({len(train)} graphs)"


def throughput(fn, batch: DagBatch | torch.Tensor, size: int = 128) -> float:
    n = len(batch)
    t0 = time.perf_counter()
    with torch.no_grad():
        for k in range(0, n, size):
            fn(batch[k:k + size])
    return n / (time.perf_counter() - t0)


def table1_accuracy() -> dict:
    path = ROOT / "book" / "tables" / "compression" / "table1.csv"
    if not path.is_file():
        return {}
    import pandas as pd

    df = pd.read_csv(path)
    return {r["model"]: (r["per graph %"], r["per node %"], r["epochs"]) for _, r in df.iterrows()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=None, help=f"model keys (default: all available of {MODEL_KEYS})")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of an epoch to time (extrapolated)")
    ap.add_argument("--generated", type=int, default=0, help="use this many generated graphs instead of D-VAE's file")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=None,
                    help="hidden size of D-VAE and DVAE-EMB (default: D-VAE's 501)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    batch, what = load(args.generated)
    keys = args.models or available_models()
    unknown = [k for k in keys if k not in available_models()]
    if unknown:
        ap.error(f"not available: {', '.join(unknown)} (available: {', '.join(available_models())})")
    n_fit = max(args.batch_size, int(round(args.fraction * len(batch))))
    part = batch[:n_fit]
    acc = table1_accuracy()
    print(f"data: {what}; timing {n_fit} graphs per epoch x{len(batch) / n_fit:.2f}; batch {args.batch_size}; "
          f"torch threads {args.threads}")
    print(f"D-VAE reference code: {DVAE_REFERENCE_S_PER_EPOCH:.0f} s/epoch, {DVAE_REFERENCE_INFER_GRAPHS_S:.0f} graphs/s "
          f"inference; 10x target: < {DVAE_REFERENCE_S_PER_EPOCH / 10:.1f} s/epoch")
    header = (f"{'model':10s} {'latent':>6s} {'hidden':>7s} {'params':>9s} {'s/epoch':>8s} {'cpu s/ep':>8s} {'vs ref':>7s} {'train g/s':>9s} "
              f"{'encode g/s':>10s} {'decode g/s':>10s} {'sample g/s':>10s}  Table 1 (per graph / per node, epochs)")
    if acc:
        print("Table 1 columns: book/tables/compression/table1.csv from the last run of the chapter (any profile)")
    print(header)
    print("-" * len(header))
    for key in keys:
        kwargs = {"hidden": args.hidden} if args.hidden and key in ("dvae", "dvae_emb") else {}
        model = make_compressor(key, data.ENAS_TYPES, batch.types.shape[1], LATENT.get(key, 56), seed=0, **kwargs)
        n_params = sum(p.numel() for p in model.parameters())
        fit(make_compressor(key, data.ENAS_TYPES, batch.types.shape[1], LATENT.get(key, 56), seed=0, **kwargs),
            batch[:2 * args.batch_size], 1, batch_size=args.batch_size, progress=False)   # warm-up, not timed
        cpu0 = time.process_time()
        hist = fit(model, part, 1, batch_size=args.batch_size, lr=LR.get(key, 1e-3), progress=False)
        cpu_epoch = (time.process_time() - cpu0) * len(batch) / n_fit
        s_epoch = hist[0]["seconds"] * len(batch) / n_fit
        model.eval()
        enc = throughput(lambda b: model.encode(b), batch)
        z = torch.randn(len(batch), model.latent_dim, generator=torch.Generator().manual_seed(0))
        dec = throughput(lambda zz: model.decode(zz), z)
        sto = throughput(lambda zz: model.decode(zz, stochastic=True), z)
        a = acc.get(model.name)
        acc_txt = f"{a[0]:.2f} % / {a[1]:.2f} % ({a[2]} epochs)" if a else "-"  # from the last run of the chapter
        hidden = getattr(model, "hidden", "")
        hidden = "-".join(map(str, hidden)) if isinstance(hidden, (list, tuple)) else str(hidden)
        print(f"{model.name:10s} {model.latent_dim:6d} {hidden:>7s} {n_params:9,d} {s_epoch:8.2f} {cpu_epoch:8.2f} "
              f"{DVAE_REFERENCE_S_PER_EPOCH / s_epoch:6.1f}x {len(batch) / s_epoch:9.0f} {enc:10.0f} {dec:10.0f} {sto:10.0f}  {acc_txt}",
              flush=True)


if __name__ == "__main__":
    main()
