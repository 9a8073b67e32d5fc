import random

import numpy as np
import pytest
import torch

from nasvec.utils import atomic_write, seed_everything


def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(3)
    a = draw()
    seed_everything(3)
    assert draw() == a
    seed_everything(4)
    assert draw() != a


def test_seed_everything_rejects_non_integers():
    with pytest.raises(TypeError, match="seed must be an integer"):
        seed_everything(1.5)


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as fh:
            fh.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_atomic_write_replaces(tmp_path):
    path = tmp_path / "sub" / "t.txt"
    with atomic_write(path) as fh:
        fh.write("new")
    assert path.read_text() == "new"


def test_paired_difference_calls_a_consistent_difference_by_its_sign():
    from nasvec.utils import paired_difference

    assert paired_difference([-1.0, -1.2, -0.9])[2] == "lower" and paired_difference([1.0, 1.1])[2] == "higher"


def test_paired_difference_calls_a_difference_within_two_standard_errors_a_tie():
    from nasvec.utils import paired_difference

    assert paired_difference([1.0, -1.0, 0.5])[2] == "tie"


def test_paired_difference_with_one_seed_is_a_tie_with_unknown_error():
    import math

    from nasvec.utils import paired_difference

    mean, se, word = paired_difference([0.3])
    assert (mean, math.isnan(se), word) == (0.3, True, "tie")
