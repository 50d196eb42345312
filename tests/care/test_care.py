"""CARE training, resume, loading, prediction and restoring files (tiny networks)."""

import json

import numpy as np
import pytest

from lumicare_ij import care, training
from lumicare_ij.care import ModelError
from lumicare_ij.io import read_stack, write_stack

from . import synth

SHAPE, TINY = synth.SHAPE, synth.TINY


@pytest.fixture(scope="module")
def model_dir(data):
    root, npz = data
    care.train(npz, root / "models" / "tiny", epochs=2, progress=True, **TINY)
    return root / "models" / "tiny"


def test_train_writes_csbdeep_folder_and_record(model_dir, data):
    _, npz = data
    names = {p.name for p in model_dir.iterdir()}
    assert {"config.json", "weights_best.h5", "weights_last.h5", "lumicare.json"} <= names
    assert "weights_now.h5" not in names
    config = json.loads((model_dir / "config.json").read_text())
    assert config["probabilistic"] is True and config["unet_n_first"] == 4
    assert config["train_tensorboard"] is care.tensorboard_available()
    record = care.read_model_record(model_dir)
    assert record["status"] == "finished" and record["epochs_done"] == 2
    assert [h["epoch"] for h in record["history"]] == [1, 2]
    assert all(np.isfinite(h["loss"]) and np.isfinite(h["val_loss"]) for h in record["history"])
    assert record["regime"] == "denoise" and record["preset"]["name"] == "quick"
    assert record["data"]["npz"] == str(npz.resolve())
    assert record["data"]["record"]["n_patches"] == 64
    assert record["normalization"]["prediction"]["pmin"] == 2.0
    assert record["normalization"]["training"]["pmax_range"] == [99.5, 99.9]
    assert {"csbdeep", "tensorflow", "keras", "numpy"} <= set(record["versions"])


def test_existing_model_is_not_replaced(model_dir, data):
    _, npz = data
    with pytest.raises(FileExistsError, match="resume"):
        care.train(npz, model_dir, epochs=1, progress=False, **TINY)
    before = (model_dir / "weights_best.h5").stat().st_mtime_ns
    # Resuming a finished model (a rerun of the same command) has nothing to do; fewer epochs are refused.
    assert care.train(npz, model_dir, resume=True, progress=False, **TINY)["status"] == "finished"
    assert (model_dir / "weights_best.h5").stat().st_mtime_ns == before
    with pytest.raises(ModelError, match="already trained 2 of 1"):
        care.train(npz, model_dir, resume=True, epochs=1, progress=False)
    with pytest.raises(ModelError, match=r"unet_n_first=8 \(recorded 4\)"):
        care.train(npz, model_dir, resume=True, progress=False, **{**TINY, "unet_n_first": 8})


def test_nothing_to_resume(tmp_path, data):
    with pytest.raises(ModelError, match="nothing to resume"):
        care.train(data[1], tmp_path / "new", resume=True)


def test_training_data_errors(tmp_path, data):
    _, npz = data
    with pytest.raises(ModelError, match="no such training file"):
        care.train(tmp_path / "missing.npz", tmp_path / "m", progress=False)
    with pytest.raises(ModelError, match="cannot be split"):
        care.train(npz, tmp_path / "m", validation_split=0.001, progress=False, **TINY)
    with pytest.raises(ModelError, match=r"\(8, 16, 16\) is not divisible by 2\*\*unet_n_depth = 16"):
        care.train(npz, tmp_path / "m", unet_n_depth=4, progress=False, **TINY)
    assert not (tmp_path / "m").exists()


class _InterruptAfterEpoch:
    """Keras callback that simulates Ctrl-C at the end of the given epoch."""

    def __new__(cls, epoch):
        from keras.callbacks import Callback

        class Interrupt(Callback):
            def on_epoch_end(self, e, logs=None):
                if e + 1 == epoch:
                    raise KeyboardInterrupt

        return Interrupt()


def test_interrupted_training_resumes_from_last_epoch(tmp_path, data):
    _, npz = data
    model_dir = tmp_path / "resumable"
    with pytest.raises(KeyboardInterrupt):
        care.train(npz, model_dir, epochs=3, progress=False, callbacks=[_InterruptAfterEpoch(1)], **TINY)
    record = care.read_model_record(model_dir)
    assert record["status"] == "interrupted" and record["epochs_done"] == 1
    assert (model_dir / "weights_last.h5").is_file() and (model_dir / "optimizer_last.npz").is_file()
    first_epoch = record["history"][0]

    record = care.train(npz, model_dir, resume=True, progress=True)
    assert record["status"] == "finished" and record["epochs_done"] == 3
    assert [h["epoch"] for h in record["history"]] == [1, 2, 3]
    assert record["history"][0] == first_epoch
    assert record["resumed_at_epochs"] == [1]
    # The optimizer continued: Adam's step counter counts all three epochs' steps.
    with np.load(model_dir / "optimizer_last.npz") as f:
        assert int(f["0"]) == 3 * TINY["train_steps_per_epoch"]
    # Train longer.
    record = care.train(npz, model_dir, resume=True, epochs=4, progress=False)
    assert record["epochs_done"] == 4 and record["resumed_at_epochs"] == [1, 3]
    assert json.loads((model_dir / "config.json").read_text())["train_epochs"] == 4
    with pytest.raises(ModelError, match="only epochs may be changed"):
        care.train(npz, model_dir, resume=True, epochs=5, unet_n_first=8)


def _weights(model_dir):
    import h5py

    arrays = []
    with h5py.File(model_dir / "weights_last.h5") as f:
        f.visititems(lambda name, obj: arrays.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


def test_a_resumed_training_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, data):
    _, npz = data
    settings = {**TINY, "train_steps_per_epoch": 3}  # 12 patches of batch 4: each epoch reshuffles
    care.train(npz, tmp_path / "whole", epochs=4, seed=7, progress=False, **settings)
    with pytest.raises(KeyboardInterrupt):
        care.train(npz, tmp_path / "resumed", epochs=4, seed=7, progress=False,
                   callbacks=[_InterruptAfterEpoch(2)], **settings)
    care.train(npz, tmp_path / "resumed", resume=True, progress=False)
    whole, resumed = (care.read_model_record(tmp_path / d)["history"] for d in ("whole", "resumed"))
    assert [h["val_loss"] for h in resumed] == [h["val_loss"] for h in whole]
    for a, b in zip(_weights(tmp_path / "whole"), _weights(tmp_path / "resumed"), strict=True):
        np.testing.assert_array_equal(a, b)


def _initial_weights_and_first_loss(npz, model_dir, seed):
    """The weights the first step starts from and the first epoch's loss, training with ``seed``."""
    from keras.callbacks import Callback

    class Initial(Callback):
        def on_train_begin(self, logs=None):
            self.weights = [w.copy() for w in self.model.get_weights()]

    initial = Initial()
    record = care.train(npz, model_dir, epochs=1, progress=False, seed=seed, callbacks=[initial], **TINY)
    return record, initial.weights, record["history"][0]["loss"]


def test_seed_sets_initial_weights_and_batches_and_is_recorded(tmp_path, data):
    _, npz = data
    a, init_a, loss_a = _initial_weights_and_first_loss(npz, tmp_path / "a", 11)
    b, init_b, loss_b = _initial_weights_and_first_loss(npz, tmp_path / "b", 11)
    c, init_c, loss_c = _initial_weights_and_first_loss(npz, tmp_path / "c", 12)
    assert a["seed"] == b["seed"] == 11 and c["seed"] == 12
    assert all(np.array_equal(x, y) for x, y in zip(init_a, init_b))
    assert not all(np.array_equal(x, y) for x, y in zip(init_a, init_c))
    # Same initial weights and the same batches: the first epoch's loss agrees to float32 summation order.
    assert loss_a == pytest.approx(loss_b, rel=1e-4)
    assert loss_a != pytest.approx(loss_c, rel=1e-4)
    # No seed: one is drawn and recorded, so the run can be repeated.
    d = care.train(npz, tmp_path / "d", epochs=1, progress=False, **TINY)
    assert isinstance(d["seed"], int) and 0 <= d["seed"] < 2**31
    with pytest.raises(ModelError, match="seed must be a whole number"):
        care.train(npz, tmp_path / "e", epochs=1, progress=False, seed=-1, **TINY)


def test_resume_refuses_other_data_of_the_same_name_and_size(tmp_path, data):
    """Re-running prepare with another seed writes a file of the same path and byte size: refuse it."""
    root, _ = data
    npz = tmp_path / "train.npz"
    synth.prepare_tiny(root / "data", npz, seed=0)
    model_dir = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        care.train(npz, model_dir, epochs=3, progress=False, callbacks=[_InterruptAfterEpoch(1)], **TINY)
    size = npz.stat().st_size
    recorded = training.read_training_record(npz)["npz_sha256"]
    assert care.read_model_record(model_dir)["data"]["npz_sha256"] == recorded

    synth.prepare_tiny(root / "data", npz, seed=1, overwrite=True)
    assert npz.stat().st_size == size  # what the old size check compared
    assert training.read_training_record(npz)["npz_sha256"] != recorded
    with pytest.raises(ModelError, match="not the training data .* was trained on") as err:
        care.train(npz, model_dir, resume=True, progress=False)
    assert "--force" in str(err.value)
    assert care.read_model_record(model_dir)["epochs_done"] == 1  # nothing trained on the other data


def test_training_file_that_does_not_match_its_record_is_refused(tmp_path, data):
    _, npz = data
    copy = tmp_path / "train.npz"
    changed = bytearray(npz.read_bytes())
    changed[len(changed) // 2] ^= 0xFF  # one patch value differs; headers and size stay
    copy.write_bytes(bytes(changed))
    record = training.read_training_record(npz)
    training.training_record_path(copy).write_text(json.dumps(record))
    with pytest.raises(ModelError, match="its content changed after 'lumicare prepare'"):
        care.train(copy, tmp_path / "m", epochs=1, progress=False, **TINY)
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- load / predict

def test_load_model_errors(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        care.load_model(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a CARE model folder"):
        care.load_model(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"n_rays": 32}')
    with pytest.raises(ModelError, match="not a CSBDeep CARE"):
        care.load_model(tmp_path / "other")


def test_predict_mean_scale_and_tiles(model_dir):
    model = care.load_model(model_dir)
    image = synth.poisson(synth.blobs((16, 48, 40), seed=5), 4.0, np.random.default_rng(0))
    mean = care.predict(model, image)
    assert mean.shape == image.shape and mean.dtype == np.float32
    mean2, scale = care.predict(model, image, return_scale=True)
    np.testing.assert_allclose(mean2, mean, rtol=1e-5, atol=1e-5)
    assert scale.shape == image.shape and scale.dtype == np.float32 and (scale > 0).all()
    tiled = care.predict(model, image, tiles=(2, 2, 2))
    assert tiled.shape == image.shape
    # Tiles overlap by the network's receptive field: tiling barely changes the result.
    assert np.abs(tiled - mean).max() <= 1e-3 * (np.abs(mean).max() + 1)
    np.testing.assert_allclose(care.predict(model, image, tiles="auto"), mean, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="3D stacks"):
        care.predict(model, image[0])
    with pytest.raises(ValueError, match="tiles takes 3"):
        care.predict(model, image, tiles=(2, 2))


def test_predict_is_csbdeep_predict(model_dir):
    """No extra processing: the same numbers as calling csbdeep directly."""
    from csbdeep.data import PercentileNormalizer

    model = care.load_model(model_dir)
    image = synth.poisson(synth.blobs(SHAPE, seed=6), 4.0, np.random.default_rng(1))
    direct = model.predict(image, "ZYX", normalizer=PercentileNormalizer(2, 99.8))
    np.testing.assert_array_equal(care.predict(model, image), direct)


def test_restore_files(model_dir, data, tmp_path):
    root, _ = data
    inputs = root / "data" / "short"
    out = tmp_path / "restored"
    results = care.restore_files(model_dir, inputs, out, tiles=(1, 2, 2), save_scale=True, progress=False)
    assert [r["output"] for r in results] == [str(out / "cell00.tif"), str(out / "cell01.tif")]
    restored = read_stack(out / "cell00.tif")
    scale = read_stack(out / "cell00_scale.tif")
    source = read_stack(inputs / "cell00.tif")
    assert restored.dtype == np.float32 and scale.dtype == np.float32
    assert restored.shape == scale.shape == SHAPE
    assert restored.attrs["pixel_size_um"] == pytest.approx(0.65)
    assert restored.attrs["z_step_um"] == pytest.approx(0.57)
    meta = restored.attrs["metadata"]
    assert meta["exposure_s"] == 0.5  # the input's metadata are kept
    prov = meta["restoration"]
    assert prov["output"] == "mean" and scale.attrs["metadata"]["restoration"]["output"] == "scale"
    assert prov["input_file"] == str((inputs / "cell00.tif").resolve())
    assert prov["model_dir"] == str(model_dir.resolve()) and prov["tiles_zyx"] == [1, 2, 2]
    assert prov["regime"] == "denoise"
    model = care.load_model(model_dir)
    np.testing.assert_allclose(restored.values, care.predict(model, source.values, tiles=(1, 2, 2)),
                               rtol=1e-6, atol=1e-6)

    # A re-run with the same model, inputs and settings skips what is done (nothing rewritten) ...
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = care.restore_files(model_dir, inputs, out, tiles=(1, 2, 2), save_scale=True, progress=False)
    assert [r["status"] for r in again] == ["skipped", "skipped"]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written
    # ... refuses outputs made with other settings (nothing written) ...
    with pytest.raises(FileExistsError, match="4 output.*made from another input, model or settings"):
        care.restore_files(model_dir, inputs, out, save_scale=True, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written
    # ... or from another input of the same name, and replaces them with overwrite.
    other = tmp_path / "other" / "cell01.tif"
    write_stack(other, source.values[::-1].copy())
    with pytest.raises(FileExistsError, match="2 output"):
        care.restore_files(model_dir, other, out, tiles=(1, 2, 2), save_scale=True, progress=False)
    redone = care.restore_files(model_dir, other, out, tiles=(1, 2, 2), save_scale=True, overwrite=True,
                                progress=False)
    assert redone[0]["status"] == "done"
    assert read_stack(out / "cell01.tif").attrs["metadata"]["restoration"]["input_file"] == str(other.resolve())
    assert not list(out.glob(".*"))  # no temporary files left


def test_restore_never_overwrites_inputs(model_dir, tmp_path):
    stack = synth.poisson(synth.blobs(SHAPE, seed=7), 4.0, np.random.default_rng(2))
    path = write_stack(tmp_path / "in" / "x.tif", stack)
    with pytest.raises(ValueError, match="would replace an input"):
        care.restore_files(model_dir, path, tmp_path / "in", overwrite=True, progress=False)
    np.testing.assert_array_equal(read_stack(path).values, stack)
    with pytest.raises(FileNotFoundError):
        care.restore_files(model_dir, tmp_path / "nothing.tif", tmp_path / "out", progress=False)


def test_restore_upsamples_binned_inputs_for_upsample_models(model_dir, tmp_path):
    import shutil

    upsample_model = tmp_path / "upsample_model"
    shutil.copytree(model_dir, upsample_model)
    record = json.loads((upsample_model / "lumicare.json").read_text())
    record.update(regime="upsample", bin_factor=2)
    (upsample_model / "lumicare.json").write_text(json.dumps(record))
    binned = synth.poisson(synth.blobs((8, 16, 16), seed=8), 16.0, np.random.default_rng(3))
    path = write_stack(tmp_path / "in" / "b.tif", binned, pixel_size_um=1.3, z_step_um=0.57)

    care.restore_files(upsample_model, path, tmp_path / "out", progress=False)
    restored = read_stack(tmp_path / "out" / "b.tif")
    assert restored.shape == (8, 32, 32)
    assert restored.attrs["pixel_size_um"] == pytest.approx(0.65)
    assert restored.attrs["metadata"]["restoration"]["upsampled_xy"] == 2

    care.restore_files(upsample_model, path, tmp_path / "as_is", upsample_factor=1, progress=False)
    assert read_stack(tmp_path / "as_is" / "b.tif").shape == (8, 16, 16)
