"""The book's many independent runs, one after another or on Ray: :func:`pmap` and the seeds of its tasks.

``pmap(fn, items)`` returns ``[fn(item) for item in items]`` in input order, whatever the backend:

* ``serial`` (the default; tests and CI) runs them here, one after another;
* ``ray`` submits each as a Ray task: to the cluster named by ``RAY_ADDRESS`` (or ``address=``), else to
  a Ray started on this machine with ``workers`` CPUs (all of them by default).

``backend=None`` and ``workers=None`` read ``NASVEC_BACKEND`` and ``NASVEC_WORKERS`` (what
``nasvec book --backend ray --workers N`` sets for every chapter). A task that raises is run once more;
if it fails again, :class:`ParallelError` names its position and item (a :class:`~nasvec.errors.NasvecError`,
the package's own error for bad input, is raised at once as it is). One progress bar counts the
finished tasks. Results do not depend on the backend, the number of workers or the order in which tasks
finish, as long as ``fn`` draws its randomness from its item: give every task a seed of its own with
:func:`task_seeds`. ``fn`` that stores its result with :func:`nasvec.cache.cached` lands in the same cache
as a serial run (on a cluster, point ``NASVEC_CACHE`` at a shared folder), so an interrupted map resumes:
the finished tasks load. Introduced in chapter 6, whose task x seed runs go through it.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Sequence

import numpy as np

from .errors import NasvecError

BACKENDS = ("serial", "ray")


class ParallelError(NasvecError, RuntimeError):
    """A task failed twice; ``index`` and ``item`` say which."""

    def __init__(self, index: int, item, cause: BaseException | str):
        self.index, self.item, self.cause = index, item, cause
        text = repr(item)
        text = text if len(text) <= 200 else text[:197] + "..."
        why = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(f"task {index} ({text}) failed twice: {why}")


def task_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent seeds for the tasks of a run seeded ``seed`` (``numpy.random.SeedSequence.spawn``):
    task ``i`` always gets the same seed, whichever worker runs it and whenever."""
    if n < 0:
        raise NasvecError(f"task_seeds: n must be >= 0, got {n}")
    return [int(s.generate_state(1, np.uint32)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def resolve(backend: str | None = None, workers: int | None = None) -> tuple[str, int | None]:
    """The backend and worker count a map uses: the arguments, else ``NASVEC_BACKEND`` / ``NASVEC_WORKERS``,
    else ``serial`` and all CPUs."""
    source = "the call" if backend else "NASVEC_BACKEND"
    backend = backend or os.environ.get("NASVEC_BACKEND") or "serial"
    if backend not in BACKENDS:
        raise NasvecError(f"unknown backend {backend!r} (from {source}); choose one of {', '.join(BACKENDS)}")
    if workers is None and os.environ.get("NASVEC_WORKERS"):
        try:
            workers = int(os.environ["NASVEC_WORKERS"])
        except ValueError:
            raise NasvecError(f"NASVEC_WORKERS must be a whole number, got {os.environ['NASVEC_WORKERS']!r}") from None
    if workers is not None and workers < 1:
        raise NasvecError(f"workers must be >= 1, got {workers}")
    return backend, workers


def pmap(fn: Callable[[Any], Any], items: Sequence, backend: str | None = None, workers: int | None = None,
         desc: str = "tasks", progress: bool = True, address: str | None = None, cpus_per_task: int = 1) -> list:
    """``[fn(item) for item in items]`` on ``backend`` (see the module's docstring); each task is retried once.
    ``cpus_per_task``: the CPUs Ray reserves for each task (the torch threads it uses), so that tasks never
    oversubscribe a machine."""
    items = list(items)
    backend, workers = resolve(backend, workers)
    if cpus_per_task < 1:
        raise NasvecError(f"cpus_per_task must be >= 1, got {cpus_per_task}")
    if backend == "serial" or not items:
        return _serial(fn, items, desc, progress)
    return _ray(fn, items, workers, desc, progress, address, cpus_per_task)


def _serial(fn, items, desc, progress):
    from tqdm.auto import tqdm

    out = []
    for i, item in enumerate(tqdm(items, desc=desc, disable=not progress)):
        try:
            out.append(fn(item))
        except NasvecError:                    # bad input fails again: no retry, the package's own error
            raise
        except Exception:                      # noqa: BLE001 - one retry, then the error names the item
            try:
                out.append(fn(item))
            except Exception as err:           # noqa: BLE001
                raise ParallelError(i, item, err) from err
    return out


def start_ray(workers: int | None = None, address: str | None = None) -> dict:
    """Connect to Ray once per process: ``address`` or ``RAY_ADDRESS`` (an existing cluster), else a Ray on
    this machine with ``workers`` CPUs. Returns ``{"address": ..., "cpus": ..., "seconds": start-up time}``."""
    try:
        import ray
    except ImportError:
        raise NasvecError("the ray backend needs Ray: pip install 'nasvec[ray]' (or ray==2.60.0)") from None
    t0 = time.perf_counter()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count(), "include_dashboard": False}
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {"env_vars": {k: os.environ[k] for k in ("NASVEC_CACHE", "NASVEC_DATA", "NASVEC_ROOT", "NASVEC_FORCE")
                            if k in os.environ}}
        if not address:
            env["env_vars"]["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR", runtime_env=env, **kwargs)
    node_cpus = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
    return {"address": ray.get_runtime_context().gcs_address, "cpus": int(ray.cluster_resources().get("CPU", 0)),
            "node_cpus": int(max(node_cpus, default=0)), "seconds": time.perf_counter() - t0}


def _ray(fn, items, workers, desc, progress, address, cpus_per_task):
    import ray
    from tqdm.auto import tqdm

    info = start_ray(workers, address)
    if cpus_per_task > info["node_cpus"]:   # a task runs on one node: it would wait for ever
        raise NasvecError(f"each task needs {cpus_per_task} CPUs; the largest node of the Ray cluster at "
                          f"{info['address']} has {info['node_cpus']} (lower the chapter's threads, or add workers)")
    remote = ray.remote(num_cpus=cpus_per_task, max_retries=0)(_call)
    try:
        fn_ref = ray.put(fn)
    except TypeError as err:
        reason = str(err).splitlines()[0]
        raise NasvecError(f"pmap: {getattr(fn, '__qualname__', fn)!r} cannot be sent to the Ray workers ({reason}); "
                          "use a function of an importable module that imports what it needs inside") from None
    pending = {remote.remote(fn_ref, item): (i, 0) for i, item in enumerate(items)}
    out: list = [None] * len(items)
    bar = tqdm(total=len(items), desc=desc, disable=not progress)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        ref = done[0]
        i, tries = pending.pop(ref)
        try:
            out[i] = ray.get(ref)
            bar.update(1)
        except Exception as err:               # noqa: BLE001 - a task's error arrives wrapped by Ray
            cause = getattr(err, "cause", None) or err
            if isinstance(cause, NasvecError):   # bad input fails again: no retry, the package's own error
                for r in pending:
                    ray.cancel(r)
                bar.close()
                raise cause from None
            if tries == 0:
                pending[remote.remote(fn_ref, items[i])] = (i, 1)
                continue
            for r in pending:
                ray.cancel(r)
            bar.close()
            raise ParallelError(i, items[i], cause) from None
    bar.close()
    return out


def _call(fn, item):
    return fn(item)
