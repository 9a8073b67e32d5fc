"""Every profile's settings (and every notebook's defaults) build the configs their chapters build, so a profile
that names a setting a config does not have fails here, not hours into a standard build."""

import ast

import pytest

from nasvec.book.pipeline import notebook_parameters
from nasvec.book.profiles import load_profile

from conftest import ROOT

PROFILES = ("quick", "standard", "paper")


def settings(profile: str | None, chapter: str, name: str):
    """The value of ``name`` for ``chapter``: the profile's (shared or the chapter's), else the notebook's default."""
    if profile is not None:
        prof = load_profile(profile, ROOT)
        if name in prof.notebooks.get(chapter, {}):
            return prof.notebooks[chapter][name]
        if name in prof.shared:
            return prof.shared[name]
    value = notebook_parameters(ROOT / "notebooks" / f"{chapter}.ipynb")[name]
    return ast.literal_eval(value) if isinstance(value, str) else value


@pytest.mark.parametrize("profile", PROFILES)   # the notebook's default (None) reads the profile's shared mapping
def test_chapter2s_compressors_build(profile):
    from nasvec.experiments.compression import CompressorSet

    assert CompressorSet.from_dict(settings(profile, "compression", "compressors")).configs()


@pytest.mark.parametrize("profile", PROFILES + (None,))
def test_chapter3s_compressors_build(profile):
    from nasvec.compress.attributed import AttributedConfig
    from nasvec.compress.pernode_attr import PerNodeAttrConfig

    assert PerNodeAttrConfig.from_dict(settings(profile, "repair", "pernode")).training.epochs >= 0
    assert AttributedConfig.from_dict(settings(profile, "repair", "compressor")).training.epochs >= 0


@pytest.mark.parametrize("profile", PROFILES + (None,))
def test_chapter5s_configs_build(profile):
    from nasvec.dnas import NetConfig, SearchConfig
    from nasvec.experiments.hypernetwork import TRAINING

    assert NetConfig.from_dict(settings(profile, "hypernetwork", "net")).ops
    assert SearchConfig.from_dict(settings(profile, "hypernetwork", "search")).epochs >= 1
    assert TRAINING.replace(**settings(profile, "hypernetwork", "training")).epochs >= 1


@pytest.mark.parametrize("profile", PROFILES + (None,))
def test_chapter7s_configs_build(profile):
    from nasvec.experiments.strategies_latent import NB201LatentConfig
    from nasvec.strategies.live import LiveConfig

    assert LiveConfig.from_dict(settings(profile, "strategies", "live")).training.epochs >= 1
    for spec in settings(profile, "strategies", "latent").values():
        assert NB201LatentConfig.from_dict(spec).compressor.model in ("pernode", "dvae")
