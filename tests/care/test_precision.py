"""Precision of training and prediction: auto's choice, mixed-precision runs, bf16 against float32."""

import json

import h5py
import numpy as np
import pytest

from lumicare_ij import care, precision
from lumicare_ij.care import ModelError
from lumicare_ij.errors import UserInputError
from lumicare_ij.io import read_stack

from . import synth

TINY = synth.TINY


@pytest.mark.parametrize("flags, gpus, expected", [
    ({"avx2", "fma"}, [], "float32"),                       # AMD EPYC / older Xeon: bf16 would be emulated
    ({"avx2", "avx512f"}, [], "float32"),                   # AVX-512 without its BF16 extension
    ({"avx512f", "avx512_bf16"}, [], "bfloat16"),           # Cooper Lake, Zen 4
    ({"avx512f", "amx_tile", "amx_bf16"}, [], "bfloat16"),  # Sapphire Rapids
    ({"avx2"}, [{"name": "H100", "compute_capability": (9, 0)}], "bfloat16"),
    ({"avx2"}, [{"name": "V100", "compute_capability": (7, 0)}], "float16"),
    ({"amx_bf16"}, [{"name": "P100", "compute_capability": (6, 0)}], "float32"),  # the GPU computes, not the CPU
])
def test_auto_picks_what_the_hardware_runs_natively(flags, gpus, expected):
    chosen = precision.resolve("auto", cpu_flags=flags, gpu_list=gpus)
    assert chosen["requested"] == "auto" and chosen["used"] == expected
    assert chosen["reason"]  # says why, in words


def test_explicit_choices_are_kept_and_emulation_is_said():
    assert precision.resolve(None) == {"requested": "float32", "used": "float32", "reason": None}
    emulated = precision.resolve("bfloat16", cpu_flags={"avx2"}, gpu_list=[])
    assert emulated["used"] == "bfloat16" and "not native" in emulated["reason"]
    assert precision.resolve("bfloat16", cpu_flags={"amx_bf16"}, gpu_list=[])["reason"] is None
    with pytest.raises(UserInputError, match="float16 runs only on a GPU"):
        precision.resolve("float16", cpu_flags={"avx2"}, gpu_list=[])
    assert precision.resolve("float16", gpu_list=[{"name": "T4", "compute_capability": (7, 5)}])["reason"] is None
    with pytest.raises(UserInputError, match="choose from float32, bfloat16, float16, auto"):
        precision.resolve("fp8")


@pytest.fixture(scope="module")
def bf16_model(data):
    root, npz = data
    record = care.train(npz, root / "models" / "bf16", epochs=2, progress=False, seed=1, precision="bfloat16",
                        **TINY)
    return root / "models" / "bf16", record


def test_mixed_precision_training_keeps_float32_weights_heads_and_losses(bf16_model):
    model_dir, record = bf16_model
    assert record["precision"]["used"] == "bfloat16" and record["status"] == "finished"
    assert all(np.isfinite([h["loss"], h["val_loss"]]).all() for h in record["history"])
    with h5py.File(model_dir / "weights_best.h5", "r") as f:
        dtypes = set()
        f.visititems(lambda name, obj: dtypes.add(obj.dtype) if isinstance(obj, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float32")}  # the same files a float32 run writes: exports stay float32
    model = care.load_model(model_dir, precision="bfloat16")
    heads = precision.float32_heads(model.keras_model)
    assert heads and all(layer.compute_dtype == "float32" for layer in model.keras_model.layers[-len(heads):])
    assert model.keras_model.layers[1].compute_dtype == "bfloat16"
    assert precision.model_precision(model.keras_model) == "bfloat16"


def _kernel_gradients(keras_model, x, upstream):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(keras_model(x), tf.float32) * upstream)
    return [g.numpy() for g in tape.gradient(loss, keras_model.trainable_weights)]


def test_thin_levels_train_in_float32_so_their_gradients_are_right():
    """8-plane patches leave 2 planes at the deepest level of a depth-2 U-Net, where TensorFlow's
    bfloat16 Conv3D kernel gradient is wrong (benchmarks/bf16_conv3d_gradient.py)."""
    from csbdeep.models import Config

    config = Config("ZYX", n_channel_in=1, n_channel_out=1, unet_n_depth=2, unet_n_first=4, probabilistic=True)
    reference = care._build_care(config, None, "float32").keras_model
    model = care._build_care(config, None, "bfloat16").keras_model
    model.set_weights(reference.get_weights())
    assert precision.float32_thin_levels(model, patch_depth=8, kern_size=3) == ["middle_0", "middle_2"]
    assert precision.float32_thin_levels(model, patch_depth=16, kern_size=3) == []
    assert "middle_0" in precision.float32_thin_levels(model, patch_depth=16, kern_size=5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 8, 16, 16, 1)).astype(np.float32)
    upstream = rng.normal(size=(4, 8, 16, 16, 2)).astype(np.float32)
    expected = _kernel_gradients(reference, x, upstream)
    runs = [_kernel_gradients(model, x, upstream) for _ in range(4)]
    for run in runs:  # the broken kernel returned different garbage (up to 1e38, NaN) on every call
        assert all(np.array_equal(a, b) for a, b in zip(run, runs[0]))
    names = [w.path for w in model.trainable_weights]
    for name, got, want in zip(names, runs[0], expected):
        # bfloat16 against float32 at random initialisation differs by 1-35 % (measured); garbage by far more
        assert np.linalg.norm(got - want) <= 0.5 * np.linalg.norm(want), name


def test_an_epoch_with_non_finite_weights_is_refused_and_not_saved(data, tmp_path):
    import keras

    root, npz = data

    class BreakInSecondEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1:
                weight = self.model.weights[0]
                weight.assign(np.full(weight.shape, np.nan, np.float32))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    with pytest.raises(ModelError, match="epoch 2 left non-finite weights in down_level_0_no_0/kernel"):
        care.train(npz, tmp_path / "m", epochs=3, progress=False, seed=0, callbacks=[BreakInSecondEpoch()], **TINY)
    record = json.loads((tmp_path / "m" / care.RECORD_NAME).read_text())
    assert record["epochs_done"] == 1 and record["status"] == "failed"
    with h5py.File(tmp_path / "m" / "weights_last.h5", "r") as f:
        values = []
        f.visititems(lambda name, obj: values.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    assert values and all(np.isfinite(v).all() for v in values)


def test_resume_keeps_the_recorded_precision(bf16_model, data, tmp_path):
    root, npz = data
    model_dir = tmp_path / "m"
    care.train(npz, model_dir, epochs=1, progress=False, seed=2, precision="bfloat16", **TINY)
    with pytest.raises(ModelError, match="trained in bfloat16"):
        care.train(npz, model_dir, epochs=2, resume=True, progress=False, precision="float32")
    record = care.train(npz, model_dir, epochs=2, resume=True, progress=False)
    assert record["epochs_done"] == 2 and record["precision"]["used"] == "bfloat16"


def test_bf16_prediction_is_close_to_float32_and_recorded(bf16_model, data, tmp_path):
    model_dir, _ = bf16_model
    root, _ = data
    stack = read_stack(root / "data" / "short" / "cell00.tif").values
    full = care.predict(model_dir, stack)
    half = care.predict(model_dir, stack, precision="bfloat16")
    assert half.dtype == np.float32 and half.shape == full.shape
    # bfloat16 keeps 8 significant bits: about 1/256 of a value, far below the restorations' own noise
    assert precision.difference_from_float32(half, full)["psnr_db"] >= 40
    loaded = care.load_model(model_dir)
    with pytest.raises(UserInputError, match="loaded to compute in float32"):
        care.predict(loaded, stack, precision="bfloat16")
    results = care.restore_files(model_dir, root / "data" / "short", tmp_path / "out", progress=False,
                                 precision="bfloat16")
    assert results[0]["precision"]["used"] == "bfloat16"
    meta = read_stack(results[0]["output"]).attrs["metadata"]["restoration"]
    assert meta["precision"]["used"] == "bfloat16"
