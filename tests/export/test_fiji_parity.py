"""Python predictions with the CSBDeep Fiji plugin's normalisation and tiling ("Fiji parity").

The reference is ``java/FijiPipeline.java``: the plugin's path rebuilt on the
libraries the plugin runs on (ImgLib2 5.10 views for tiling and mirror
padding, Java float arithmetic for the normalisation, TensorFlow Java 1.15 on
the exported ZIP). Python's normalisation and tiles must equal Java's bit for
bit, and the stitched prediction (Keras in Python, TF Java in Java) must agree
within 1e-4 of the output range.
"""

from __future__ import annotations

import numpy as np
import pytest

from lumicare_ij.export import export_csbdeep_fiji
from lumicare_ij.export.fiji_parity import (fiji_percentiles, merge_like_fiji, normalize_like_fiji,
                                            plan_fiji_tiling, predict_like_fiji, predict_like_fiji_in_java,
                                            tile_like_fiji)

from .models import make_care_model

RTOL = 1e-4

#: name -> (axes, csbdeep Config arguments)
MODELS = {
    "2d": ("YX", dict(unet_n_depth=2, unet_kern_size=3)),
    "3d_prob": ("ZYX", dict(unet_n_depth=2, unet_kern_size=3, probabilistic=True)),
}
#: (model, image shape, n_tiles): odd sizes, a tiling whose tiles fall short of the image
#: (X 130 -> 4 tiles of 32), a single tiled axis, and a thin 3D stack (Z never split).
CASES = [("2d", (97, 130), 8), ("2d", (40, 200), 3), ("3d_prob", (10, 70, 97), 8)]
CASE_IDS = [f"{m}-{'x'.join(map(str, s))}-{n}tiles" for m, s, n in CASES]


def _luminescence_like(shape, seed):
    """Sparse, dark camera counts with a few bright spots, like a short luminescence exposure."""
    rng = np.random.default_rng(seed)
    image = 100 + rng.poisson(0.3, size=shape) * rng.integers(20, 200, size=shape)
    image[tuple(rng.integers(0, s, size=5) for s in shape)] += 3000
    return image.astype(np.uint16)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("parity")
    result = {}
    for i, (name, (axes, kwargs)) in enumerate(MODELS.items()):
        care = make_care_model(base, name, axes, seed=10 + i, **kwargs)
        result[name] = (care, export_csbdeep_fiji(care.logdir, base / f"{name}.zip"))
    return result


@pytest.fixture(scope="module")
def java_runs(models, tmp_path_factory):
    """Each case through the Java pipeline, with its normalised image and tiles written out."""
    runs = {}
    for case_id, (name, shape, n_tiles) in zip(CASE_IDS, CASES):
        image = _luminescence_like(shape, seed=len(runs))
        tile_dir = tmp_path_factory.mktemp(case_id)
        output, tiling = predict_like_fiji_in_java(models[name][1], image, n_tiles=n_tiles, tile_dir=tile_dir)
        runs[case_id] = dict(model=name, image=image, n_tiles=n_tiles, output=output, tiling=tiling,
                             tile_dir=tile_dir)
    return runs


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

def test_percentiles_are_nearest_rank_on_the_sorted_pixels():
    values = np.random.default_rng(0).permutation(1000).astype(np.float32)
    # index round(999 * p / 100): 3 -> 29.97 -> 30; 99.8 -> 997.002 -> 997; 50 -> 499.5 -> 500 (half up)
    np.testing.assert_array_equal(fiji_percentiles(values, (3.0, 99.8, 50.0)), [30, 997, 500])
    assert fiji_percentiles(values, (0, 100)).tolist() == [0, 999]
    assert fiji_percentiles(np.array([7.0]), (3.0, 99.8)).tolist() == [7, 7]


def test_normalisation_clamps_below_zero_keeps_above_one_and_clips_on_request():
    image = np.arange(1000, dtype=np.uint16).reshape(10, 100)      # p3 = 30, p99.8 = 997
    y = normalize_like_fiji(image)
    assert y.dtype == np.float32
    assert y[0, 0] == 0 and y[0, 29] == 0 and y[0, 30] == 0         # below p3: clamped to 0
    assert y[9, 97] == pytest.approx(1.0) and y[9, 99] > 1.0        # above p99.8: kept
    assert normalize_like_fiji(image, clip=True).max() == 1.0
    assert normalize_like_fiji(image, 0, 100)[9, 99] == pytest.approx(1.0)
    # A flat image: factor 1 (no division by zero), everything maps to 0.
    assert not normalize_like_fiji(np.full((4, 4), 5.0)).any()


def test_normalisation_uses_all_pixels_together_not_per_channel():
    image = np.stack([np.full((8, 8), 10.0), np.full((8, 8), 1000.0)], axis=-1)
    y = normalize_like_fiji(image)
    assert y[..., 0].max() == 0 and y[..., 1].min() == 1.0


# --------------------------------------------------------------------------
# Tiling
# --------------------------------------------------------------------------

def test_tile_layout_of_the_paper_stack_with_eight_tiles():
    # A 16 x 512 x 512 stack: Z (tile 32) is never split; X and Y take turns (X first on ties)
    # until at least 8 tiles: 3 x 3, tiles of 512 // 3 = 170 -> 192 pixels, padded by 32.
    plan = plan_fiji_tiling((16, 512, 512), n_tiles=8)
    assert plan.grid == (1, 3, 3) and plan.n_tiles == 9
    assert plan.tile_size == (32, 192, 192)
    assert plan.padding == (0, 32, 32)
    assert plan.expanded == (32, 576, 576)
    assert plan_fiji_tiling((16, 512, 512), n_tiles=1).grid == (1, 1, 1)
    assert plan_fiji_tiling((64, 64), n_tiles=8).grid == (2, 2)      # tiles of 32 are not split further


def test_tiles_cover_the_image_and_merge_back_to_it():
    image = np.random.default_rng(1).random((37, 75)).astype(np.float32)
    tiles, plan = tile_like_fiji(image, n_tiles=4)
    assert all(t.shape == (1,) + tuple(s + 2 * p for s, p in zip(plan.tile_size, plan.padding)) + (1,)
               for t in tiles)
    np.testing.assert_array_equal(merge_like_fiji(tiles, plan)[..., 0], image)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_python_layout_normalisation_and_tiles_equal_imglib2s(java_runs, case_id):
    run = java_runs[case_id]
    normalized = normalize_like_fiji(run["image"])
    np.testing.assert_array_equal(np.load(run["tile_dir"] / "normalized.npy")[..., 0], normalized)
    tiles, plan = tile_like_fiji(normalized, run["n_tiles"])
    assert run["tiling"] == dict(grid=plan.grid, tile=plan.tile_size, padding=plan.padding)
    java_tiles = sorted(run["tile_dir"].glob("tile*.npy"), key=lambda p: int(p.stem[4:]))
    assert len(java_tiles) == len(tiles) == plan.n_tiles
    for path, tile in zip(java_tiles, tiles):
        np.testing.assert_array_equal(np.load(path), tile, err_msg=path.name)


# --------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_keras_prediction_like_fiji_equals_the_java_pipeline_in_tf_java(models, java_runs, case_id):
    run = java_runs[case_id]
    care = models[run["model"]][0]
    expected = run["output"]
    got = predict_like_fiji(care, run["image"], n_tiles=run["n_tiles"])
    assert got.dtype == np.float32 and got.shape == run["image"].shape == expected.shape
    error = np.max(np.abs(got - expected)) / np.ptp(expected)
    assert error <= RTOL, f"max error {error:.3g} of the output range"


def test_model_folder_and_exported_zip_give_the_same_prediction(models, java_runs):
    run = java_runs[CASE_IDS[-1]]
    care, model_zip = models[run["model"]]
    from_folder = predict_like_fiji(care.logdir, run["image"], n_tiles=run["n_tiles"])
    from_zip = predict_like_fiji(model_zip, run["image"], n_tiles=run["n_tiles"])    # TF Java on Python's tiles
    np.testing.assert_allclose(from_zip, run["output"], rtol=0, atol=1e-6 * np.ptp(run["output"]))
    assert np.max(np.abs(from_folder - from_zip)) / np.ptp(from_zip) <= RTOL


def test_probabilistic_models_return_the_mean_unless_all_is_asked(models):
    care = models["3d_prob"][0]
    image = _luminescence_like((4, 32, 32), seed=9)
    mean = predict_like_fiji(care, image, n_tiles=1)
    both = predict_like_fiji(care, image, n_tiles=1, output="all")
    assert mean.shape == image.shape and both.shape == image.shape + (2,)
    np.testing.assert_array_equal(both[..., 0], mean)
    assert both[..., 1].min() > 0                                   # softplus + 1e-3 scale


def test_wrong_image_shapes_are_refused_with_the_expected_layout(models):
    with pytest.raises(ValueError, match=r"\(Z, Y, X\)"):
        predict_like_fiji(models["3d_prob"][0], np.zeros((32, 32)))
    with pytest.raises(ValueError, match="'mean' or 'all'"):
        predict_like_fiji(models["2d"][0], np.zeros((32, 32)), output="scale")
