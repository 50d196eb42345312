"""Noise2Void: the blind-spot masking, the loss on masked pixels only, and a network trained on noisy stacks alone."""

from __future__ import annotations

import numpy as np
import pytest

from lumicare_ij import care, n2v, training
from lumicare_ij.errors import UserInputError

from .care import synth


@pytest.mark.parametrize("shape, fraction", [((16, 64, 64), 0.02), ((64, 64), 0.01), ((8, 32, 32), 0.05)])
def test_the_mask_hides_about_the_asked_fraction_spread_over_the_patch(shape, fraction):
    mask = blind = n2v.blind_spot_mask(shape, fraction, np.random.default_rng(0))
    side = int(round(fraction ** (-1 / len(shape))))
    assert mask.dtype == bool and mask.sum() == np.prod([-(-n // side) for n in shape])  # one per grid box
    assert 0.5 * fraction < blind.mean() < 2 * fraction
    for axis in range(len(shape)):  # stratified: every slab of boxes holds masked pixels
        assert all(s.any() for s in np.array_split(mask, shape[axis] // side, axis=axis))


def test_masked_pixels_take_their_neighbours_values():
    rng = np.random.default_rng(1)
    patch = rng.permutation(8 * 16 * 16).astype(np.float32).reshape(8, 16, 16)  # every value unique
    mask = n2v.blind_spot_mask(patch.shape, 0.05, rng)
    for strategy in n2v.STRATEGIES:
        out = n2v.replace_masked(patch, mask, rng, strategy)
        np.testing.assert_array_equal(out[~mask], patch[~mask])  # the rest untouched
        if strategy == "uniform":  # the masked value is gone from the input (a median may meet it by chance)
            assert (out[mask] != patch[mask]).all()
        for point in np.argwhere(mask)[:50]:
            lo, hi = np.maximum(point - 2, 0), point + 3
            window = patch[tuple(slice(a, b) for a, b in zip(lo, hi))]
            value = out[tuple(point)]
            if strategy == "uniform":
                assert value in window  # a pixel of its 5x5x5 neighbourhood
            else:
                others = np.delete(window.ravel(), np.flatnonzero(window.ravel() == patch[tuple(point)]))
                assert value == np.median(others)


def test_the_batch_carries_the_original_and_the_mask_for_the_loss():
    X = np.random.default_rng(2).normal(size=(3, 8, 16, 16, 1)).astype(np.float32)
    inputs, targets = n2v.masked_batch(X, np.random.default_rng(3))
    assert inputs.shape == X.shape and targets.shape == X.shape[:-1] + (2,)
    np.testing.assert_array_equal(targets[..., :1], X)
    mask = targets[..., 1:] > 0
    assert set(np.unique(targets[..., 1])) == {0.0, 1.0}
    assert (inputs[mask] != X[mask]).all() and (inputs[~mask] == X[~mask]).all()


def test_only_masked_pixels_enter_the_loss():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 8, 16, 16, 1)).astype(np.float32)
    _, targets = n2v.masked_batch(X, rng)
    mask = targets[..., 1:] > 0
    prediction = rng.normal(size=X.shape).astype(np.float32)
    loss = float(n2v.n2v_loss(targets, prediction))
    assert loss == pytest.approx(float(np.mean((X[mask] - prediction[mask]) ** 2)), rel=1e-5)
    changed = prediction.copy()
    changed[~mask] += 100.0  # anything at unmasked pixels: the loss does not see it
    assert float(n2v.n2v_loss(targets, changed)) == pytest.approx(loss, rel=1e-6)


def test_masks_are_seeded_by_seed_and_batch_number():
    X = np.ones((2, 8, 16, 16, 1), np.float32) * np.arange(16)[None, None, None, :, None]
    a = list(n2v.masked_batches([(X, X)] * 3, seed=5))
    b = list(n2v.masked_batches([(X, X)] * 2, seed=5, first_batch=1))  # a resumed run, from batch 1
    np.testing.assert_array_equal(a[1][1], b[0][1])
    np.testing.assert_array_equal(a[2][0], b[1][0])
    assert not np.array_equal(a[0][1], a[1][1])


def test_bad_settings_are_one_clear_error():
    with pytest.raises(UserInputError, match="masked fraction"):
        n2v.blind_spot_mask((8, 8), 0.9)
    with pytest.raises(UserInputError, match="unknown replacement"):
        n2v.replace_masked(np.zeros((4, 4)), np.zeros((4, 4), bool), strategy="mean")


def test_the_n2v_regime_needs_no_target(tmp_path):
    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=(8, 32, 32))
    pairs = training.build_pairs(tmp_path / "data", "n2v", "short", None)
    assert len(pairs) == 2 and all(p.input is p.target for p in pairs)
    with pytest.raises(training.TrainingDataError, match="alone"):
        training.build_pairs(tmp_path / "data", "n2v", "short", "long")
    with pytest.raises(training.TrainingDataError, match="no .tif stacks"):
        training.build_pairs(tmp_path / "data", "n2v", "missing", None)


def _psnr(image, truth) -> float:
    scale = lambda a: (a - a.mean()) / a.std()  # noqa: E731 - restorations are on another intensity scale
    return float(10 * np.log10((scale(truth).max() - scale(truth).min()) ** 2 / np.mean((scale(image) - scale(truth)) ** 2)))


@pytest.mark.slow
def test_a_network_trained_on_noisy_stacks_alone_beats_the_raw_input(tmp_path):
    """Held-out stacks: PSNR against the noise-free specimen, raw vs the N2V restoration."""
    truths = synth.write_dataset(tmp_path / "data", n_stacks=4, shape=(16, 64, 64), short_photons=6.0, seed=3)
    held_out = synth.write_dataset(tmp_path / "test", n_stacks=2, shape=(16, 64, 64), short_photons=6.0, seed=11)
    record = training.prepare_training_data(tmp_path / "data", "n2v", "short", None, tmp_path / "n2v.npz",
                                            preset="quick", patch_size=(16, 32, 32), n_patches_per_image=8,
                                            progress=False)
    assert record["regime"] == "n2v" and record["target_condition"] is None
    model_record = care.train(tmp_path / "n2v.npz", tmp_path / "model", epochs=8, progress=False, seed=0,
                              train_steps_per_epoch=25, train_batch_size=8, unet_n_first=16)
    assert model_record["status"] == "finished" and model_record["n2v"]["replacement"] == "uniform"
    assert model_record["preset"]["probabilistic"] is False and model_record["csbdeep_config"]["unet_residual"] is False
    assert truths  # the training data's truths are never used: only the noisy 'short' stacks went in
    from lumicare_ij.io import read_array
    gains = []
    for name, truth in held_out.items():
        raw = read_array(tmp_path / "test" / "short" / name).astype(np.float32)
        restored = care.predict(tmp_path / "model", raw)
        gains.append(_psnr(restored, truth) - _psnr(raw, truth))
    assert min(gains) > 3.0, gains  # dB better than the raw input, on every held-out stack


def test_prepare_on_the_command_line_takes_n2v_without_a_target(tmp_path, capsys):
    from lumicare_ij import cli

    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=(8, 32, 32))
    assert cli.main(["prepare", "--data", str(tmp_path / "data"), "--regime", "n2v", "--input", "short",
                     "--out", str(tmp_path / "n2v.npz"), "--patch-size", "8,16,16", "--patches-per-stack", "4"]) == 0
    assert training.read_training_record(tmp_path / "n2v.npz")["regime"] == "n2v"
    capsys.readouterr()  # the first command's progress bar
    assert cli.main(["prepare", "--data", str(tmp_path / "data"), "--regime", "denoise", "--input", "short",
                     "--out", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs --target" in err


def test_an_n2v_network_exports_for_fiji_and_runs_in_tensorflow_java_1_15(tmp_path):
    """The CSBDeep-Fiji ZIP of a blind-spot network (no residual input) gives Keras' output in TF Java 1.15."""
    from lumicare_ij.export import export_csbdeep_fiji, run_in_tfjava

    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=synth.SHAPE)
    training.prepare_training_data(tmp_path / "data", "n2v", "short", None, tmp_path / "n2v.npz", preset="quick",
                                   patch_size=(8, 16, 16), n_patches_per_image=4, progress=False)
    model_dir = tmp_path / "n2v"
    care.train(tmp_path / "n2v.npz", model_dir, epochs=1, progress=False, seed=0, **synth.TINY)
    zip_path = export_csbdeep_fiji(model_dir, tmp_path / "n2v.zip")
    x = np.random.default_rng(0).normal(size=(1, 8, 16, 28, 1)).astype(np.float32)
    expected = care.load_model(model_dir).keras_model.predict(x, verbose=0)
    got = run_in_tfjava(zip_path, x)
    assert got.shape == expected.shape and np.std(expected) > 1e-4
    assert np.max(np.abs(got - expected)) / np.ptp(expected) <= 1e-4


def test_an_interrupted_n2v_training_resumes_to_the_same_weights(tmp_path):
    """Masks are seeded by (seed, batch number): 2 epochs + 2 resumed equal 4 in one go, bit for bit."""
    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=synth.SHAPE)
    training.prepare_training_data(tmp_path / "data", "n2v", "short", None, tmp_path / "n2v.npz", preset="quick",
                                   patch_size=(8, 16, 16), n_patches_per_image=4, progress=False)
    straight = care.train(tmp_path / "n2v.npz", tmp_path / "a", epochs=4, progress=False, seed=3, **synth.TINY)
    care.train(tmp_path / "n2v.npz", tmp_path / "b", epochs=2, progress=False, seed=3, **synth.TINY)
    resumed = care.train(tmp_path / "n2v.npz", tmp_path / "b", epochs=4, resume=True, progress=False)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in straight["history"]]
    a = care.load_model(tmp_path / "a").keras_model.get_weights()
    b = care.load_model(tmp_path / "b").keras_model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_the_n2v2_network_blur_pools_and_has_no_top_skip():
    model = n2v.n2v2_unet(3, 2, 3, 4)((8, 16, 16, 1))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Concatenate") == 1  # depth 2: a skip at the lower level only
    blurs = [layer for layer in model.layers if layer.name.endswith("_blur")]
    assert len(blurs) == 2 and all(not layer.trainable for layer in blurs)
    kernel = blurs[0].get_weights()[0]
    assert kernel.shape == (3, 3, 3, 4, 4) and np.allclose(kernel[..., 0, 0].sum(), 1.0) and kernel[..., 0, 1].sum() == 0
    subsample = model.get_layer("blurpool_0_subsample")
    assert tuple(subsample.output.shape[1:4]) == (4, 8, 8)


def test_an_n2v2_training_keeps_its_blur_fixed_reloads_and_runs_in_tensorflow_java_1_15(tmp_path):
    from lumicare_ij.export import export_csbdeep_fiji, run_in_tfjava

    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=synth.SHAPE)
    training.prepare_training_data(tmp_path / "data", "n2v2", "short", None, tmp_path / "n2v2.npz",
                                   preset="quick", patch_size=(8, 16, 16), n_patches_per_image=4, progress=False)
    record = care.train(tmp_path / "n2v2.npz", tmp_path / "m", epochs=2, progress=False, seed=0, **synth.TINY)
    assert record["n2v"]["network"] == "n2v2" and record["n2v"]["replacement"] == "median"
    model = care.load_model(tmp_path / "m")
    assert type(model).__name__ == "N2V2CARE"
    blur = model.keras_model.get_layer("blurpool_0_blur").get_weights()[0]
    np.testing.assert_array_equal(blur[..., 1, 1], n2v.binomial_kernel(3))  # untouched by training
    x = np.random.default_rng(0).normal(size=(1, 8, 16, 28, 1)).astype(np.float32)
    expected = model.keras_model.predict(x, verbose=0)
    got = run_in_tfjava(export_csbdeep_fiji(tmp_path / "m", tmp_path / "n2v2.zip"), x)
    assert got.shape == expected.shape and np.std(expected) > 1e-5
    assert np.max(np.abs(got - expected)) / np.ptp(expected) <= 1e-4


def test_the_camera_offset_is_removed_before_blind_spot_training(tmp_path):
    """N2V needs noise whose mean is the signal: a camera offset must not reach the network. The percentile
    normalisation of prepare subtracts it: the same stacks with 1000 counts more give the same patches."""
    from lumicare_ij.io import read_stack, write_stack

    synth.write_dataset(tmp_path / "a", n_stacks=2, shape=synth.SHAPE)
    for path in sorted((tmp_path / "a" / "short").glob("*.tif")):
        stack = read_stack(path)
        write_stack(tmp_path / "b" / "short" / path.name, stack.values.astype(np.float32) + 1000.0,
                    pixel_size_um=stack.attrs["pixel_size_um"], z_step_um=stack.attrs["z_step_um"])
    arrays = []
    for name in ("a", "b"):
        training.prepare_training_data(tmp_path / name, "n2v", "short", None, tmp_path / f"{name}.npz",
                                       preset="quick", patch_size=(8, 16, 16), n_patches_per_image=4, progress=False)
        with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as data:
            arrays.append(data["X"])
    np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-3)
