"""Presets: the paper's training table, exactly, and the quick preset."""

import pytest

from lumicare_ij import presets
from lumicare_ij.presets import PRESETS, care_config_kwargs, format_presets, get_preset

# The paper's table (XYZ patch 64x64x16 -> ZYX (16, 64, 64)).
PAPER = {
    "cytoplasmic": dict(n_patches_per_image=200, train_epochs=150, train_steps_per_epoch=200, validation_split=0.1),
    "h2b": dict(n_patches_per_image=250, train_epochs=100, train_steps_per_epoch=400, validation_split=0.2),
    "tomm20": dict(n_patches_per_image=150, train_epochs=200, train_steps_per_epoch=600, validation_split=0.3),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_presets_match_table(name):
    p = PRESETS[name]
    assert p.patch_size == (16, 64, 64)
    assert p.train_batch_size == 128
    assert p.probabilistic is True
    for field, value in PAPER[name].items():
        assert getattr(p, field) == value, field


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_presets_keep_csbdeep_defaults(name):
    from csbdeep.models import Config

    default = Config("ZYX", probabilistic=True)
    kwargs = care_config_kwargs(PRESETS[name])
    for field in ("unet_n_depth", "unet_n_first", "unet_kern_size", "train_learning_rate"):
        assert kwargs[field] == getattr(default, field), field
    config = Config("ZYX", **kwargs)
    assert config.is_valid()
    assert config.train_loss == "laplace"


def test_quick_is_small():
    q = PRESETS["quick"]
    assert q.unet_n_first <= 16 and q.unet_n_depth == 2
    steps = q.train_epochs * q.train_steps_per_epoch
    voxels = q.train_batch_size * q.patch_size[0] * q.patch_size[1] * q.patch_size[2]
    assert steps * voxels < 50e6  # a few minutes at most on two CPU cores


def test_overrides_and_conversion():
    p = get_preset("h2b", train_epochs=3, patch_size="8,32,32", probabilistic="false", validation_split=None)
    assert (p.train_epochs, p.patch_size, p.probabilistic, p.validation_split) == (3, (8, 32, 32), False, 0.2)
    assert PRESETS["h2b"].train_epochs == 100  # the table is not changed
    assert get_preset(p, train_batch_size="4").train_batch_size == 4


@pytest.mark.parametrize("kwargs, match", [
    (dict(foo=1), "unknown preset field"),
    (dict(patch_size=(10, 64, 64)), "divisible by"),
    (dict(patch_size=(64, 64)), "3 whole numbers"),
    (dict(validation_split=0), "between 0 and 1"),
    (dict(train_epochs=0), ">= 1"),
    (dict(train_epochs="many"), "cannot read"),
    (dict(unet_kern_size=4), "odd"),
])
def test_bad_overrides_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_preset("quick", **kwargs)


def test_unknown_preset():
    with pytest.raises(ValueError, match="choose one of cytoplasmic, h2b, tomm20, quick"):
        get_preset("nuclei")


def test_table_shows_every_preset_and_value():
    text = format_presets()
    for name in PRESETS:
        assert name in text
    assert "64x64x16" in text
    for field in presets.PRESET_FIELDS:
        assert field in text
    row = next(line for line in text.splitlines() if line.startswith("train_steps_per_epoch"))
    assert row.split()[1:4] == ["200", "400", "600"]


def test_as_dict_round_trips():
    p = PRESETS["tomm20"]
    d = p.as_dict()
    assert d["patch_size"] == [16, 64, 64]
    assert presets.Preset(**{**d, "patch_size": tuple(d["patch_size"])}) == p
