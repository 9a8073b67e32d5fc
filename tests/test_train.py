"""nasvec.train: the one training loop, the classifier trainer and its config; Table 2's network variants."""

import pytest
import torch
from torch import nn

from nasvec.data import image_data, load_digits
from nasvec.errors import ConfigError
from nasvec.experiments.table2 import table2_network
from nasvec.train import TrainConfig, fit_classifier, run_epochs

SGD = TrainConfig(epochs=5, lr=0.05, optimizer="sgd", weight_decay=5e-4)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return image_data(x, y, 300, 200, seed=0)


def test_image_data_splits_and_checks(digits):
    assert digits.x_train.shape == (300, 1, 8, 8) and digits.x_test.shape == (200, 1, 8, 8)
    assert abs(float(digits.x_train.mean())) < 1e-4 and digits.num_classes == 10
    x, y = load_digits()
    assert image_data(x, y, 10, 10, size=28).input_shape == (1, 1, 28, 28)
    with pytest.raises(ConfigError, match="n_train"):
        image_data(x, y, 2000, 10)
    with pytest.raises(ConfigError, match="labels"):
        image_data(x, y[:5], 2, 2)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_fit_learns_and_is_seeded(digits):
    a, b = fit_classifier(_mlp(), digits, SGD), fit_classifier(_mlp(), digits, SGD)
    assert a["epoch"] == [1, 2, 3, 4, 5] and len(a["test_acc"]) == 5
    assert a["train_loss"][-1] < a["train_loss"][0] and a["final_acc"] > 0.5
    assert a["test_acc"] == b["test_acc"]
    with pytest.raises(ConfigError, match="epochs"):
        fit_classifier(nn.Linear(64, 10), digits, TrainConfig(epochs=0))


@pytest.mark.parametrize("optimizer, schedule", [("adam", "cosine"), ("adamw", "cosine-annealing"), ("adam", "constant")])
def test_fit_with_every_optimizer_and_schedule_learns(digits, optimizer, schedule):
    r = fit_classifier(_mlp(), digits, TrainConfig(epochs=5, lr=3e-3, optimizer=optimizer, schedule=schedule))
    assert r["train_loss"][-1] < r["train_loss"][0] and r["final_acc"] > 0.5


def test_bad_settings_are_named(digits):
    with pytest.raises(ConfigError, match=r"optimizer must be one of \['adam', 'adamw', 'sgd'\], got 'rmsprop'"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="schedule must be one of"):
        TrainConfig(schedule="step")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['epoch'\]"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="cfg must be a TrainConfig"):
        fit_classifier(_mlp(), digits, {"epochs": 1})
    assert TrainConfig.from_dict({"epochs": 3}, lr=0.1).describe().startswith("3 epochs, adam lr 0.1 (cosine)")


def test_run_epochs_orders_steps_and_sums_terms():
    gen = torch.Generator().manual_seed(0)
    w = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    seen = []

    def step(idx, epoch):
        seen.append((epoch, idx.tolist()))
        if len(idx) < 3:
            return None  # a skipped batch: no step, not counted
        loss = ((w - 1) ** 2).sum()
        return loss, {"loss": float(loss.detach()) * len(idx), "n": float(len(idx))}

    rows = run_epochs(step, 7, 2, 3, gen, [opt], start_epoch=4)
    assert [r["epoch"] for r in rows] == [5, 6] and [e for e, _ in seen] == [4, 4, 4, 5, 5, 5]
    assert all(r["count"] == 6 and r["sums"]["n"] == 6.0 for r in rows)
    assert sorted(i for _, idx in seen[:3] for i in idx) == list(range(7))  # a permutation per epoch
    assert 0 < float(w.detach()) < 1  # four optimizer steps towards 1
    again = run_epochs(step, 7, 2, 3, torch.Generator().manual_seed(0), [torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)])
    assert [idx for _, idx in seen[6:]] == [idx for _, idx in seen[:6]]  # the same seed, the same order
    assert len(again) == 2
    with pytest.raises(ConfigError, match="batch_size"):
        run_epochs(step, 7, 1, 0, gen, [opt])


def test_roundtrip_variant_is_the_same_architecture():
    orig, _, _ = table2_network("resnet18", "original", (1, 1, 8, 8), 10, seed=0)
    net, g, repairs = table2_network("resnet18", "roundtrip", (1, 1, 8, 8), 10, seed=0)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(net) == count(orig) and repairs is None and len(g) > 50
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ConfigError, match="variant"):
        table2_network("resnet18", "bogus", (1, 1, 8, 8), 10, seed=0)
    with pytest.raises(ConfigError, match="needs compress="):
        table2_network("resnet18", "compressed", (1, 1, 8, 8), 10, seed=0)
