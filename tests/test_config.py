"""nasvec.config: configs that compose (a config holds another, from_dict and replace reach into it)."""

from dataclasses import dataclass, field

import pytest

from nasvec.config import Config, nested_configs
from nasvec.errors import ConfigError


@dataclass(frozen=True)
class Inner(Config):
    epochs: int = 10
    lr: float = 1e-3


@dataclass(frozen=True)
class Outer(Config):
    name: str = "a"
    training: Inner = field(default_factory=lambda: Inner(epochs=4))
    spare: Inner | None = None


def test_nested_fields_are_found_from_the_annotations():
    assert nested_configs(Outer) == {"training": Inner, "spare": Inner}
    assert nested_configs(Inner) == {}


def test_from_dict_applies_a_mapping_to_the_held_default():
    cfg = Outer.from_dict({"training": {"lr": 0.5}})
    assert cfg.training == Inner(epochs=4, lr=0.5)   # the held default's epochs stay


def test_from_dict_builds_a_held_config_that_has_no_default():
    assert Outer.from_dict({"spare": {"epochs": 2}}).spare == Inner(epochs=2)


def test_replace_applies_a_mapping_to_the_current_held_config():
    cfg = Outer().replace(training={"epochs": 7}).replace(training={"lr": 0.1})
    assert cfg.training == Inner(epochs=7, lr=0.1)


def test_a_held_config_may_be_given_whole():
    assert Outer.from_dict({"training": Inner(epochs=1)}).training == Inner(epochs=1)


def test_an_unknown_nested_setting_names_the_field_it_is_in():
    with pytest.raises(ConfigError, match=r"Outer\.training: Inner: unknown setting\(s\) \['epoch'\]"):
        Outer.from_dict({"training": {"epoch": 3}})


def test_an_unknown_top_level_setting_is_named():
    with pytest.raises(ConfigError, match=r"Outer: unknown setting\(s\) \['nme'\]"):
        Outer().replace(nme="b")


def test_settings_that_are_not_a_mapping_are_refused():
    with pytest.raises(ConfigError, match="expected a mapping of settings, got list"):
        Outer.from_dict([("name", "b")])


def test_describe_names_the_settings_that_differ_from_their_defaults():
    assert Inner(lr=0.5).describe() == "lr 0.5"
    assert Outer(name="b").describe() == "name b, training Inner(epochs=4, lr=0.001)"   # a held config: always


@pytest.mark.parametrize("cls,mapping,path", [
    ("nasvec.strategies.live.LiveConfig", {"training": {"epochs": 2}}, ("training", "epochs")),
    ("nasvec.experiments.strategies_latent.NB201LatentConfig",
     {"compressor": {"model": "pernode", "training": {"seed": 5}}}, ("compressor", "training", "seed")),
    ("nasvec.compress.attributed.AttributedConfig", {"training": {"batch_size": 4}}, ("training", "batch_size")),
    ("nasvec.compress.pernode_attr.PerNodeAttrConfig", {"training": {"lr": 0.5}}, ("training", "lr")),
])
def test_the_package_configs_that_extend_another_hold_it(cls, mapping, path):
    import importlib

    module, name = cls.rsplit(".", 1)
    cfg = getattr(importlib.import_module(module), name).from_dict(mapping)
    value, expected = cfg, mapping
    for key in path:
        value, expected = getattr(value, key), expected[key]
    assert value == expected
