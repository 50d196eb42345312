"""Training data: pairs per regime, 8-fold augmentation, patches + record."""

import json

import numpy as np
import pytest

from lumicare_ij import ijops, training
from lumicare_ij.io import read_stack, write_stack
from lumicare_ij.presets import get_preset
from lumicare_ij.training import TrainingDataError

from . import synth

SHAPE = (8, 32, 32)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    synth.write_dataset(root, n_stacks=2, shape=SHAPE, binned_short=2)
    return root


# ---------------------------------------------------------------- find_pairs

def test_find_pairs_matches_names(data):
    pairs = training.find_pairs(data, "short", "long")
    assert [(a.name, b.name) for a, b in pairs] == [("cell00.tif", "cell00.tif"), ("cell01.tif", "cell01.tif")]
    assert all(a.parent.name == "short" and b.parent.name == "long" for a, b in pairs)


def test_find_pairs_missing_folder(data):
    with pytest.raises(TrainingDataError, match="no such condition folder.*long, short"):
        training.find_pairs(data, "short", "nope")
    with pytest.raises(TrainingDataError, match="no such folder"):
        training.find_pairs(data / "missing", "short", "long")


def test_find_pairs_missing_partner(tmp_path):
    write_stack(tmp_path / "a" / "x.tif", np.ones(SHAPE, np.uint16))
    write_stack(tmp_path / "a" / "y.tif", np.ones(SHAPE, np.uint16))
    write_stack(tmp_path / "b" / "x.tif", np.ones(SHAPE, np.uint16))
    write_stack(tmp_path / "b" / "z.tif", np.ones(SHAPE, np.uint16))
    with pytest.raises(TrainingDataError, match=r"in a/ but not in b/: y\.tif.*in b/ but not in a/: z\.tif"):
        training.find_pairs(tmp_path, "a", "b")


def test_find_pairs_shape_mismatch_names_files(tmp_path):
    write_stack(tmp_path / "a" / "x.tif", np.ones(SHAPE, np.uint16))
    write_stack(tmp_path / "b" / "x.tif", np.ones((8, 32, 16), np.uint16))
    with pytest.raises(TrainingDataError, match=r"a/x\.tif has shape \(8, 32, 32\).*b/x\.tif has shape \(8, 32, 16\)"):
        training.find_pairs(tmp_path, "a", "b")
    assert len(training.find_pairs(tmp_path, "a", "b", check_shapes=False)) == 1


def test_same_condition_twice_is_refused(data):
    with pytest.raises(TrainingDataError, match="both 'short'"):
        training.find_pairs(data, "short", "short")


def test_2d_stacks_are_refused(tmp_path):
    write_stack(tmp_path / "a" / "x.tif", np.ones((32, 32), np.uint16))
    write_stack(tmp_path / "b" / "x.tif", np.ones((32, 32), np.uint16))
    with pytest.raises(TrainingDataError, match="3D stacks"):
        training.denoise_pairs(tmp_path, "a", "b")


# ---------------------------------------------------------------- regimes

def test_denoise_pairs_are_the_files(data):
    pairs = training.denoise_pairs(data, "short", "long")
    assert len(pairs) == 2
    p = pairs[0]
    np.testing.assert_array_equal(p.input, read_stack(data / "short" / "cell00.tif").values)
    np.testing.assert_array_equal(p.target, read_stack(data / "long" / "cell00.tif").values)
    assert p.input.shape == SHAPE


def test_fluorescence_pairs(data):
    pairs = training.fluorescence_pairs(data, "short", "fluo")
    np.testing.assert_array_equal(pairs[1].target, read_stack(data / "fluo" / "cell01.tif").values)
    assert "fluorescence" in pairs[1].note


def test_n2n_uses_both_directions(data):
    pairs = training.n2n_pairs(data, "short", "short_b")
    assert len(pairs) == 4
    a = read_stack(data / "short" / "cell00.tif").values
    b = read_stack(data / "short_b" / "cell00.tif").values
    np.testing.assert_array_equal(pairs[0].input, a)
    np.testing.assert_array_equal(pairs[0].target, b)
    np.testing.assert_array_equal(pairs[1].input, b)
    np.testing.assert_array_equal(pairs[1].target, a)
    assert pairs[0].name != pairs[1].name


def test_upsample_software_binning_is_ijops_bin_then_upsample(data):
    pairs = training.upsample_pairs(data, "short", "long", bin_factor=2)
    raw = read_stack(data / "short" / "cell00.tif").values
    expected = ijops.upsample_nearest(ijops.bin(raw, 2, 1, method="average"), SHAPE)
    np.testing.assert_array_equal(pairs[0].input, expected)
    assert pairs[0].input.shape == pairs[0].target.shape == SHAPE
    assert pairs[0].bin_factor == 2
    # Independently: 2x2 block means, rounded as ImageJ does for 16-bit, repeated 2x2.
    blocks = raw.reshape(8, 16, 2, 16, 2).astype(np.float64).mean(axis=(2, 4))
    np.testing.assert_array_equal(pairs[0].input[:, ::2, ::2], np.floor(blocks + 0.5))
    np.testing.assert_array_equal(pairs[0].input[:, 1::2, 1::2], pairs[0].input[:, ::2, ::2])


def test_upsample_chip_binned_inputs_are_only_upsampled(data):
    pairs = training.upsample_pairs(data, "short_binned", "long")
    raw = read_stack(data / "short_binned" / "cell00.tif").values
    assert raw.shape == (8, 16, 16)
    np.testing.assert_array_equal(pairs[0].input, ijops.upsample_nearest(raw, SHAPE))
    assert pairs[0].bin_factor == 2
    with pytest.raises(TrainingDataError, match="bin_factor=4 was given"):
        training.upsample_pairs(data, "short_binned", "long", bin_factor=4)


def test_upsample_needs_a_bin_factor_for_unbinned_inputs(data):
    with pytest.raises(TrainingDataError, match="unbinned.*bin_factor"):
        training.upsample_pairs(data, "short", "long")


def test_build_pairs_dispatch_and_errors(data):
    assert len(training.build_pairs(data, "n2n", "short", "short_b")) == 4
    with pytest.raises(TrainingDataError, match="unknown regime"):
        training.build_pairs(data, "deblur", "short", "long")
    with pytest.raises(TrainingDataError, match="upsample regime only"):
        training.build_pairs(data, "denoise", "short", "long", bin_factor=2)


# ---------------------------------------------------------------- augmentation

def test_augment_8fold_gives_8_distinct_orientations():
    stack = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    views = training.augment_8fold(stack)
    assert len(views) == 8
    np.testing.assert_array_equal(views[0], stack)
    assert {v.shape for v in views} == {(2, 3, 4), (2, 4, 3)}
    assert len({v.tobytes() + bytes(v.shape) for v in map(np.ascontiguousarray, views)}) == 8
    # Each is a rotation by k*90 degrees in YX, optionally followed by a horizontal mirror.
    np.testing.assert_array_equal(views[2], np.rot90(stack, 1, axes=(1, 2)))
    np.testing.assert_array_equal(views[3], np.rot90(stack, 1, axes=(1, 2))[:, :, ::-1])
    # Z is never touched.
    for v in views:
        assert sorted(v[0].ravel()) == list(range(12))


def test_augment_transform_moves_input_and_target_together():
    x = np.random.default_rng(0).random((2, 4, 4))
    transform = training.augment_8fold_transform()
    out = list(transform.generator(iter([(x, x * 2, "ZYX", None)])))
    assert transform.size == 8 and len(out) == 8
    for xa, ya, axes, mask in out:
        np.testing.assert_allclose(ya, xa * 2)
        assert axes == "ZYX" and mask is None


# ---------------------------------------------------------------- prepare

def test_prepare_writes_npz_and_record(data, tmp_path):
    out = tmp_path / "train.npz"
    record = training.prepare_training_data(data, "denoise", "short", "long", out, preset="quick",
                                            patch_size=(8, 16, 16), n_patches_per_image=4, seed=3, progress=False)
    with np.load(out) as f:
        X, Y, axes = f["X"], f["Y"], str(f["axes"])
    assert X.shape == Y.shape == (2 * 8 * 4, 1, 8, 16, 16)
    assert axes == "SCZYX" and X.dtype == np.float32
    saved = json.loads((tmp_path / "train.json").read_text())
    assert saved == json.loads(training.to_json(record))
    assert saved["regime"] == "denoise" and saved["n_patches"] == 64
    assert saved["augmentation"]["factor"] == 8
    assert saved["normalization"]["pmin_range"] == [1.0, 3.0]
    assert saved["patch_size_zyx"] == [8, 16, 16] and saved["preset"]["name"] == "quick"
    assert saved["n_train_patches"] + saved["n_validation_patches"] == 64
    assert [p["name"] for p in saved["pairs"]] == ["cell00.tif", "cell01.tif"]
    assert "csbdeep" in saved["versions"]
    # Same seed, same data -> same file.
    again = training.prepare_training_data(data, "denoise", "short", "long", tmp_path / "again", preset="quick",
                                           patch_size=(8, 16, 16), n_patches_per_image=4, seed=3, progress=False)
    with np.load(tmp_path / "again.npz") as f:
        np.testing.assert_array_equal(f["X"], X)
    assert again["npz"].endswith("again.npz")


def test_prepare_refuses_to_overwrite(data, tmp_path):
    kwargs = dict(patch_size=(8, 16, 16), n_patches_per_image=2, progress=False)
    training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", **kwargs)
    before = (tmp_path / "t.npz").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="overwrite"):
        training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", seed=9, **kwargs)
    assert (tmp_path / "t.npz").stat().st_mtime_ns == before
    # The same call again (a rerun): the same file is already there, nothing is written.
    training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", **kwargs)
    assert (tmp_path / "t.npz").stat().st_mtime_ns == before
    record = training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", overwrite=True,
                                            **kwargs)
    assert record["n_stack_pairs"] == 4 and record["n_patches"] == 4 * 8 * 2


def test_a_training_file_left_without_its_record_by_a_killed_run_is_adopted_only_if_the_same(data, tmp_path):
    kwargs = dict(patch_size=(8, 16, 16), n_patches_per_image=2, progress=False)
    training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", seed=1, **kwargs)
    record_text = (tmp_path / "t.json").read_text()
    (tmp_path / "t.json").unlink()  # killed between the two writes
    (tmp_path / ".0badc0de.part.t.npz").write_bytes(b"half")  # and its temporary of the first
    inode = (tmp_path / "t.npz").stat().st_ino
    training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", seed=1, **kwargs)
    assert (tmp_path / "t.npz").stat().st_ino == inode  # kept, not rewritten
    assert json.loads((tmp_path / "t.json").read_text())["npz_sha256"] == json.loads(record_text)["npz_sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.npz"]
    (tmp_path / "t.json").unlink()
    with pytest.raises(FileExistsError, match="holds other patches"):  # with or without a record
        training.prepare_training_data(data, "n2n", "short", "short_b", tmp_path / "t.npz", seed=2, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]


def test_prepare_upsample_records_bin_factor(data, tmp_path):
    record = training.prepare_training_data(data, "upsample", "short_binned", "long", tmp_path / "u.npz",
                                            patch_size=(8, 16, 16), n_patches_per_image=2, progress=False)
    assert record["bin_factor"] == 2 and "on chip" in record["pairs"][0]["note"]


def test_patch_larger_than_stack_is_explained(data, tmp_path):
    with pytest.raises(TrainingDataError, match=r"does not fit stack .*cell00\.tif of shape \(8, 32, 32\)"):
        training.prepare_training_data(data, "denoise", "short", "long", tmp_path / "t.npz", preset="h2b",
                                       progress=False)
    assert not (tmp_path / "t.npz").exists()


def test_too_few_patches_for_validation(data, tmp_path):
    preset = get_preset("quick", validation_split=0.01)  # 16 patches x 0.01 -> no validation patch
    with pytest.raises(TrainingDataError, match="cannot be split"):
        training.prepare_training_data(data, "denoise", "short", "long", tmp_path / "t.npz", preset=preset,
                                       patch_size=(8, 16, 16), n_patches_per_image=1, progress=False)
