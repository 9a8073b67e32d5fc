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
