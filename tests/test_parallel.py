"""nasvec.parallel: one map, serial or on Ray, with the same results in the same order."""

import pytest

from nasvec import parallel
from nasvec.errors import NasvecError
from nasvec.parallel import ParallelError, pmap, task_seeds
from parallel_tasks import fails_on_three, square_after


_ATTEMPTS = {}


def _flaky(i):
    _ATTEMPTS[i] = _ATTEMPTS.get(i, 0) + 1
    if _ATTEMPTS[i] == 1 and i == 2:
        raise RuntimeError("first attempt fails")
    return -i


def test_task_seeds_are_fixed_per_position_and_distinct():
    a, b = task_seeds(7, 5), task_seeds(7, 8)
    assert a == b[:5] and len(set(b)) == 8
    assert task_seeds(8, 5) != a
    with pytest.raises(NasvecError, match="n must be >= 0"):
        task_seeds(0, -1)


def test_serial_map_keeps_order_retries_once_and_names_the_failing_item():
    assert pmap(square_after, [(i, 0) for i in range(5)], backend="serial", progress=False) == [0, 1, 4, 9, 16]
    _ATTEMPTS.clear()
    assert pmap(_flaky, range(4), backend="serial", progress=False) == [0, -1, -2, -3]
    assert _ATTEMPTS[2] == 2
    with pytest.raises(ParallelError, match=r"task 3 \(3\) failed twice: ValueError: item 3 is bad") as err:
        pmap(fails_on_three, range(6), backend="serial", progress=False)
    assert err.value.index == 3 and err.value.item == 3


def test_backend_and_workers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NASVEC_BACKEND", "ray")
    monkeypatch.setenv("NASVEC_WORKERS", "3")
    assert parallel.resolve() == ("ray", 3)
    assert parallel.resolve("serial", 1) == ("serial", 1)
    monkeypatch.setenv("NASVEC_BACKEND", "dask")
    with pytest.raises(NasvecError, match="unknown backend 'dask'"):
        parallel.resolve()
    monkeypatch.setenv("NASVEC_BACKEND", "serial")
    monkeypatch.setenv("NASVEC_WORKERS", "two")
    with pytest.raises(NasvecError, match="NASVEC_WORKERS must be a whole number"):
        parallel.resolve()


def test_the_package_s_own_errors_are_not_retried_nor_wrapped():
    from nasvec.errors import ConfigError

    import parallel_tasks

    parallel_tasks.CALLS.clear()
    with pytest.raises(ConfigError, match="item 0: no such setting"):
        pmap(parallel_tasks.bad_input, range(3), backend="serial", progress=False)
    assert parallel_tasks.CALLS == {0: 1}
