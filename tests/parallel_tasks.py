"""Tasks the tests of nasvec.parallel map (a module of their own, so that Ray workers receive them by value)."""

import time


def square_after(item):
    """``i * i`` after ``delay`` seconds: later items can finish first."""
    i, delay = item
    time.sleep(delay)
    return i * i


def fails_on_three(i):
    if i == 3:
        raise ValueError(f"item {i} is bad")
    return i


CALLS = {}


def bad_input(i):
    """Raises the package's own error for bad input (counting its calls): it must not be retried."""
    from nasvec.errors import ConfigError

    CALLS[i] = CALLS.get(i, 0) + 1
    raise ConfigError(f"item {i}: no such setting")
