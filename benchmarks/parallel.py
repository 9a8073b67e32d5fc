"""Ray against serial on this machine: 8 child trainings of chapter 5 (the family's from-scratch trainings).

Prints Ray's start-up time, the wall clock of the serial map and of the Ray map with ``--workers`` workers,
the speed-up (the limit is the number of cores), whether the results agree, and memory: the driver's peak
resident set and, for Ray, the workers' resident sets summed at the end of the map.

    .venv/bin/python benchmarks/parallel.py [--tasks 8] [--workers 2] [--epochs 12] [--images 1400]

Measured here (2 cores): tasks of ~4.7 s (the defaults) 1.86x with 2 workers (1.61x counting Ray's 3.1 s
start-up); tasks of ~0.8 s (``--epochs 2 --images 1000``) 0.86x: each Ray worker first imports torch.
"""

import argparse
import resource
import time


def _train(item):
    """One child training: the architecture derived from random logits, trained from scratch (1 thread)."""
    import torch

    from nasvec.experiments.hypernetwork import TRAINING
    from nasvec.dnas import NetConfig, Network, SLIDES_OPS, derive
    from nasvec.train import accuracy, fit_classifier

    images, epochs, seed = item
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    genotype = derive(torch.randn(2, 14, len(SLIDES_OPS), generator=gen), SLIDES_OPS)
    torch.manual_seed(seed)
    model = Network(genotype, **NetConfig(layers=("normal", "reduction"), stem_stride=2).kwargs(images))
    fit_classifier(model, images, TRAINING.replace(epochs=epochs, seed=seed), evaluate=False)
    return round(accuracy(model, images.x_test, images.y_test), 6)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--images", type=int, default=1400)
    a = ap.parse_args()

    from nasvec import data, parallel

    images = data.load_images(False, a.images, 300, seed=0)
    items = [(images, a.epochs, s) for s in parallel.task_seeds(0, a.tasks)]

    t0 = time.perf_counter()
    serial = parallel.pmap(_train, items, backend="serial", progress=False)
    t_serial = time.perf_counter() - t0
    rss_serial = _rss_mb()

    info = parallel.start_ray(workers=a.workers)
    t0 = time.perf_counter()
    ray_out = parallel.pmap(_train, items, backend="ray", progress=False)
    t_ray = time.perf_counter() - t0
    import psutil
    import ray

    workers_mb = sum(p.memory_info().rss for p in psutil.Process().children(recursive=True)) / 2**20
    ray.shutdown()

    print(f"{a.tasks} child trainings of chapter 5 ({a.epochs} epochs on {a.images} images, 1 thread each)")
    print(f"ray start-up: {info['seconds']:.1f} s ({info['cpus']} CPUs)")
    print(f"serial: {t_serial:.1f} s; ray, {a.workers} workers: {t_ray:.1f} s (start-up not included)")
    print(f"speed-up: {t_serial / t_ray:.2f}x (limit {a.workers}x); with start-up {t_serial / (t_ray + info['seconds']):.2f}x")
    print(f"results identical: {serial == ray_out}")
    print(f"memory: driver peak {rss_serial:.0f} MB; Ray processes at the end {workers_mb:.0f} MB")


if __name__ == "__main__":
    main()
