"""Exported CARE models run in TensorFlow Java 1.15 (Fiji's runtime) and match Keras.

All models are exported once per module and run through one JVM (a separate
process, as the Fiji plugin would run them); the tests then compare and inspect.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from lumicare_ij.export import (ALLOWED_OPS, TFJavaError, export_csbdeep_fiji, find_graph_problems,
                                run_in_tfjava, run_many_in_tfjava, tfjava_registered_ops)
from lumicare_ij.export.tfjava import tfjava_version

from .models import make_care_model, network_inputs

#: Relative tolerance: max |TF Java - Keras| over the Keras output's range.
RTOL = 1e-4

#: name -> (axes, csbdeep Config arguments, input shapes as (N, multiples of 2**depth per axis))
MODELS = {
    "2d_d1_k3": ("YX", dict(unet_n_depth=1, unet_kern_size=3), [(1, 3, 5), (2, 2, 2), (1, 7, 1)]),
    "2d_d2_k5_prob": ("YX", dict(unet_n_depth=2, unet_kern_size=5, probabilistic=True),
                      [(1, 3, 5), (2, 2, 2), (1, 1, 4)]),
    "2d_d3_k3_2in1out_prob": ("YX", dict(n_channel_in=2, n_channel_out=1, unet_n_depth=3, unet_kern_size=3,
                                         probabilistic=True), [(1, 2, 3), (1, 1, 1)]),
    "2d_d2_k3_2ch_relu": ("YX", dict(n_channel_in=2, n_channel_out=2, unet_n_depth=2, unet_kern_size=3,
                                     unet_last_activation="relu"), [(1, 3, 2), (2, 1, 5)]),
    "3d_d1_k3": ("ZYX", dict(unet_n_depth=1, unet_kern_size=3), [(1, 2, 3, 5), (2, 1, 2, 2)]),
    "3d_d2_k3_2ch_prob": ("ZYX", dict(n_channel_in=2, n_channel_out=2, unet_n_depth=2, unet_kern_size=3,
                                      probabilistic=True), [(1, 1, 2, 3), (1, 2, 1, 1)]),
    "3d_d2_k5_prob": ("ZYX", dict(unet_n_depth=2, unet_kern_size=5, probabilistic=True), [(1, 1, 3, 2)]),
    "3d_d3_k3_2in1out_relu": ("ZYX", dict(n_channel_in=2, n_channel_out=1, unet_n_depth=3, unet_kern_size=3,
                                             unet_last_activation="relu"), [(1, 1, 2, 3), (1, 2, 1, 1)]),
}

#: (model, output) pairs to export; probabilistic models both ways.
EXPORTS = [("2d_d1_k3", "mean"), ("2d_d2_k5_prob", "mean"), ("2d_d2_k5_prob", "mean+scale"),
           ("2d_d3_k3_2in1out_prob", "mean+scale"), ("2d_d2_k3_2ch_relu", "mean"),
           ("3d_d1_k3", "mean"), ("3d_d2_k3_2ch_prob", "mean"), ("3d_d2_k5_prob", "mean+scale"),
           ("3d_d3_k3_2in1out_relu", "mean")]
EXPORT_IDS = [f"{m}-{o}" for m, o in EXPORTS]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export every model, predict with Keras, and run all ZIPs in one TF Java process."""
    base = tmp_path_factory.mktemp("models")
    cares = {name: make_care_model(base, name, axes, seed=i, **kwargs)
             for i, (name, (axes, kwargs, _)) in enumerate(MODELS.items())}
    results, jobs = {}, []
    for (name, output), export_id in zip(EXPORTS, EXPORT_IDS):
        care = cares[name]
        zip_path = export_csbdeep_fiji(care.logdir, base / f"{export_id}.zip", output=output)
        inputs = network_inputs(care, MODELS[name][2], seed=len(jobs))
        expected = [np.asarray(care.keras_model.predict(x, verbose=0)) for x in inputs]
        if output == "mean" and care.config.probabilistic:
            expected = [e[..., :care.config.n_channel_out] for e in expected]
        results[export_id] = dict(care=care, zip=zip_path, output=output, inputs=inputs, expected=expected)
        jobs.append((zip_path, inputs))
    for export_id, outputs in zip(EXPORT_IDS, run_many_in_tfjava(jobs)):
        results[export_id]["tfjava"] = outputs
    return results


#: The oldest TensorFlow Java that Fiji installs still run; the op list is chosen to exist there.
OLDEST_TF_JAVA = "1.12.0"


@pytest.fixture(scope="module")
def tfjava_oldest(exported):
    """The same ZIPs and inputs run in TensorFlow Java 1.12 (one more JVM)."""
    jobs = [(exported[i]["zip"], exported[i]["inputs"]) for i in EXPORT_IDS]
    outputs = run_many_in_tfjava(jobs, tf_version=OLDEST_TF_JAVA)
    return dict(zip(EXPORT_IDS, outputs))


def _saved_model_proto(zip_path):
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with zipfile.ZipFile(zip_path) as zf:
        saved.ParseFromString(zf.read("saved_model.pb"))
    return saved


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_tfjava_output_matches_keras(exported, export_id):
    r = exported[export_id]
    for x, expected, got in zip(r["inputs"], r["expected"], r["tfjava"]):
        assert got.shape == expected.shape, f"input {x.shape}"
        assert np.std(expected) > 1e-3, "degenerate test: the model's output is nearly constant"
        error = np.max(np.abs(got - expected)) / np.ptp(expected)
        print(f"{export_id} {x.shape}: max error {error:.2e} of the output range")
        assert error <= RTOL, f"input {x.shape}: max error {error:.2e} of the output range"


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_graph_ops_and_attributes_exist_in_tfjava_1_15(exported, export_id, tfjava_ops):
    graph_def = _saved_model_proto(exported[export_id]["zip"]).meta_graphs[0].graph_def
    assert find_graph_problems(graph_def, tfjava_ops) == []
    ops = {node.op for node in graph_def.node}
    assert ops <= ALLOWED_OPS
    assert "AddV2" not in ops and "VarHandleOp" not in ops
    assert len(graph_def.library.function) == 0


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_signature_is_what_the_fiji_plugin_expects(exported, export_id):
    r = exported[export_id]
    config = r["care"].config
    saved = _saved_model_proto(r["zip"])
    assert len(saved.meta_graphs) == 1
    meta_graph = saved.meta_graphs[0]
    assert list(meta_graph.meta_info_def.tags) == ["serve"]
    signature = meta_graph.signature_def["serving_default"]
    assert len(signature.inputs) == 1 and len(signature.outputs) == 1
    (tensor_in,), (tensor_out,) = signature.inputs.values(), signature.outputs.values()
    channels_out = config.n_channel_out * (2 if r["output"] == "mean+scale" else 1)
    rank = config.n_dim + 2
    for info, channels in ((tensor_in, config.n_channel_in), (tensor_out, channels_out)):
        assert info.dtype == 1  # DT_FLOAT
        assert [d.size for d in info.tensor_shape.dim] == [-1] * (rank - 1) + [channels]
    assert tensor_in.name == "input:0" and tensor_out.name == "output:0"


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_zip_layout_and_meta(exported, export_id):
    r = exported[export_id]
    config = r["care"].config
    with zipfile.ZipFile(r["zip"]) as zf:
        names = zf.namelist()
        meta = json.loads(zf.read("meta.json"))
    assert "saved_model.pb" in names and "variables/" in names
    assert all(not n.startswith("/") and ".." not in n for n in names)
    assert meta["axes"] == config.axes
    assert meta["probabilistic"] == (r["output"] == "mean+scale")
    assert meta["axes_div_by"] == [2 ** config.unet_n_depth if a != "C" else 1 for a in config.axes]
    assert meta["output"] == r["output"]


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_tfjava_1_12_also_runs_the_export(exported, tfjava_oldest, export_id):
    r = exported[export_id]
    for x, expected, got in zip(r["inputs"], r["expected"], tfjava_oldest[export_id]):
        assert got.shape == expected.shape, f"input {x.shape}"
        assert np.max(np.abs(got - expected)) / np.ptp(expected) <= RTOL, f"input {x.shape}"


def test_graph_ops_and_attributes_exist_in_tfjava_1_12(exported):
    registry = tfjava_registered_ops(OLDEST_TF_JAVA)
    for export_id in EXPORT_IDS:
        graph_def = _saved_model_proto(exported[export_id]["zip"]).meta_graphs[0].graph_def
        assert find_graph_problems(graph_def, registry) == [], export_id


def test_tfjava_is_version_1_15():
    assert tfjava_version() == "1.15.0"


def test_single_array_api_and_unpacked_folder(exported, tmp_path):
    r = exported["2d_d1_k3-mean"]
    with zipfile.ZipFile(r["zip"]) as zf:
        zf.extractall(tmp_path / "unpacked")
    got = run_in_tfjava(tmp_path / "unpacked", r["inputs"][0])
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, r["tfjava"][0])


def test_sizes_not_divisible_by_2_to_the_depth_are_refused_before_java(exported):
    r = exported["2d_d2_k5_prob-mean"]   # depth 2: multiples of 4
    odd = np.zeros((1, 10, 12, 1), np.float32)
    with pytest.raises(ValueError, match="multiples of"):
        run_in_tfjava(r["zip"], odd)


def test_sizes_not_divisible_fail_inside_tfjava_too(exported):
    # Documents why the check exists: the network itself cannot take such sizes.
    r = exported["2d_d2_k5_prob-mean"]
    with pytest.raises(TFJavaError):
        run_in_tfjava(r["zip"], np.zeros((1, 10, 12, 1), np.float32), check_divisible=False)


def test_negative_control_unstripped_default_attrs_do_not_load_in_tfjava(exported, tmp_path, tfjava_ops):
    """The same graph saved without strip_default_attrs fails in TF 1.15, and the check says why."""
    import tensorflow as tf

    from lumicare_ij.export.csbdeep_fiji import read_saved_model_graph_def
    from lumicare_ij.export.tf1_graph import build_graph, describe_keras_model

    care = exported["2d_d1_k3-mean"]["care"]
    graph, input_t, output_t = build_graph(*describe_keras_model(care.keras_model))
    export_dir = tmp_path / "unstripped"
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        signature = tf.compat.v1.saved_model.predict_signature_def({"input": input_t}, {"output": output_t})
        builder = tf.compat.v1.saved_model.Builder(str(export_dir))
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature},
                                             strip_default_attrs=False, clear_devices=True)
        builder.save()
    problems = find_graph_problems(read_saved_model_graph_def(export_dir), tfjava_ops)
    assert any("explicit_paddings" in p for p in problems)
    with pytest.raises(TFJavaError, match="explicit_paddings"):
        run_in_tfjava(export_dir, np.zeros((1, 8, 8, 1), np.float32))


def test_a_model_trained_by_csbdeep_exports_and_matches(tmp_path):
    """A folder written by csbdeep's own training (checkpoint callbacks, Keras 3 h5 files)."""
    from csbdeep.models import CARE, Config

    config = Config("YX", probabilistic=True, unet_n_depth=2, unet_n_first=4, unet_kern_size=3,
                    train_tensorboard=False, train_epochs=1, train_steps_per_epoch=2, train_batch_size=2)
    care = CARE(config, "trained", basedir=str(tmp_path))
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(4, 16, 16, 1)).astype(np.float32)
    care.train(x_train, 0.5 * x_train + 0.1, validation_data=(x_train[:2], 0.5 * x_train[:2] + 0.1))
    assert (care.logdir / "weights_best.h5").is_file()

    zip_path = export_csbdeep_fiji(care.logdir, tmp_path / "trained.zip")
    x = rng.normal(size=(1, 16, 28, 1)).astype(np.float32)
    expected = care.keras_model.predict(x, verbose=0)[..., :1]
    got = run_in_tfjava(zip_path, x)
    assert np.max(np.abs(got - expected)) / np.ptp(expected) <= RTOL


def test_a_model_trained_in_bfloat16_exports_a_float32_graph_that_matches(tmp_path):
    """Mixed-precision training keeps float32 weights: the export is the usual float32 graph."""
    from lumicare_ij import care

    from ..care import synth

    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=synth.SHAPE)
    synth.prepare_tiny(tmp_path / "data", tmp_path / "train.npz")
    model_dir = tmp_path / "bf16"
    record = care.train(tmp_path / "train.npz", model_dir, epochs=1, progress=False, seed=0, precision="bfloat16",
                        **synth.TINY)
    assert record["precision"]["used"] == "bfloat16"
    zip_path = export_csbdeep_fiji(model_dir, tmp_path / "bf16.zip")
    x = np.random.default_rng(0).normal(size=(1, 8, 16, 28, 1)).astype(np.float32)
    expected = care.load_model(model_dir).keras_model.predict(x, verbose=0)[..., :1]  # float32 Keras
    got = run_in_tfjava(zip_path, x)
    assert np.max(np.abs(got - expected)) / np.ptp(expected) <= RTOL
