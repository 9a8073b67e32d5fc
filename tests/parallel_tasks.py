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
