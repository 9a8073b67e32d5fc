"""nasvec.train: the small image-classifier loop and Table 2's network variants (chapter 3)."""

import numpy as np
import pytest
import torch
from torch import nn

from nasvec.data import load_digits
from nasvec.train import fit, image_data, table2_network


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return image_data(x, y, 300, 200, seed=0)


def test_image_data_splits_and_checks(digits):
    assert digits.x_train.shape == (300, 1, 8, 8) and digits.x_test.shape == (200, 1, 8, 8)
    assert abs(float(digits.x_train.mean())) < 1e-4 and digits.num_classes == 10
    x, y = load_digits()
    assert image_data(x, y, 10, 10, size=28).input_shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="n_train"):
        image_data(x, y, 2000, 10)
    with pytest.raises(ValueError, match="labels"):
        image_data(x, y[:5], 2, 2)


def test_fit_learns_and_is_seeded(digits):
    def run():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        return fit(net, digits, 5, seed=0, lr=0.05)

    a, b = run(), run()
    assert a["epoch"] == [1, 2, 3, 4, 5] and len(a["test_acc"]) == 5
    assert a["train_loss"][-1] < a["train_loss"][0] and a["final_acc"] > 0.5
    assert a["test_acc"] == b["test_acc"]
    with pytest.raises(ValueError, match="epochs"):
        fit(nn.Linear(64, 10), digits, 0, seed=0)


def test_fit_with_adam_learns_and_bad_optimizer_is_named(digits):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    r = fit(net, digits, 5, seed=0, lr=3e-3, optimizer="adam")
    assert r["train_loss"][-1] < r["train_loss"][0] and r["final_acc"] > 0.5
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam', got 'rmsprop'"):
        fit(nn.Linear(64, 10), digits, 1, seed=0, optimizer="rmsprop")


def test_roundtrip_variant_is_the_same_architecture():
    orig, _, _ = table2_network("resnet18", "original", (1, 1, 8, 8), 10, seed=0)
    net, g, repairs = table2_network("resnet18", "roundtrip", (1, 1, 8, 8), 10, seed=0)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(net) == count(orig) and repairs is None and len(g) > 50
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="variant"):
        table2_network("resnet18", "bogus", (1, 1, 8, 8), 10, seed=0)
    with pytest.raises(ValueError, match="compressor"):
        table2_network("resnet18", "compressed", (1, 1, 8, 8), 10, seed=0)
