"""Export errors say what is wrong and what to do, and never leave a partial or clobbered ZIP."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lumicare_ij.export import ExportError, TFJavaError, check_graph_def, export_csbdeep_fiji
from lumicare_ij.export import csbdeep_fiji, tfjava
from lumicare_ij.export.tf1_graph import describe_keras_model

from .models import make_care_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    care = make_care_model(tmp_path_factory.mktemp("models"), "tiny", "YX", unet_n_depth=1, unet_n_first=2)
    return care.logdir


def _copy_model(model_dir, tmp_path, name="copy"):
    dest = tmp_path / name
    shutil.copytree(model_dir, dest)
    return dest


def _no_leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep) == []


def test_missing_folder(tmp_path):
    with pytest.raises(ExportError, match="not a folder"):
        export_csbdeep_fiji(tmp_path / "nope", tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_folder_without_config_json(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights_best.h5").write_bytes(b"")
    with pytest.raises(ExportError, match="no config.json"):
        export_csbdeep_fiji(tmp_path / "model", tmp_path / "out.zip")


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"),
                                              ('{"n_dim": 2}', "not a csbdeep CARE config"),
                                              ("[1, 2]", "not a csbdeep CARE config")])
def test_config_json_that_is_not_a_care_config(tmp_path, content, message):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(content)
    with pytest.raises(ExportError, match=message):
        export_csbdeep_fiji(tmp_path / "model", tmp_path / "out.zip")


def test_projection_care_is_refused(model_dir, tmp_path):
    folder = _copy_model(model_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["proj_n_depth"] = 4
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ExportError, match="ProjectionCARE"):
        export_csbdeep_fiji(folder, tmp_path / "out.zip")


def test_missing_weights(model_dir, tmp_path):
    folder = _copy_model(model_dir, tmp_path)
    (folder / "weights_best.h5").unlink()
    with pytest.raises(ExportError, match="No weights file weights_best.h5 or weights_last.h5"):
        export_csbdeep_fiji(folder, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_weights_last_is_used_when_there_is_no_weights_best(model_dir, tmp_path):
    folder = _copy_model(model_dir, tmp_path)
    (folder / "weights_best.h5").rename(folder / "weights_last.h5")
    assert export_csbdeep_fiji(folder, tmp_path / "out.zip").is_file()


def test_other_weights_file_is_named_in_the_error(model_dir, tmp_path):
    folder = _copy_model(model_dir, tmp_path)
    (folder / "weights_best.h5").rename(folder / "weights_now.h5")
    with pytest.raises(ExportError, match="Found weights_now.h5; pass weights=<name>"):
        export_csbdeep_fiji(folder, tmp_path / "out.zip")
    assert export_csbdeep_fiji(folder, tmp_path / "out.zip", weights="weights_now.h5").is_file()


def test_weights_that_do_not_fit_the_config(model_dir, tmp_path):
    other = make_care_model(tmp_path / "models", "bigger", "YX", unet_n_depth=2, unet_n_first=2)
    folder = _copy_model(model_dir, tmp_path)
    shutil.copy(other.logdir / "weights_best.h5", folder / "weights_best.h5")
    with pytest.raises(ExportError, match="same training run"):
        export_csbdeep_fiji(folder, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_existing_output_is_kept_without_overwrite(model_dir, tmp_path):
    out = tmp_path / "out.zip"
    out.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists.*overwrite=True"):
        export_csbdeep_fiji(model_dir, out)
    assert out.read_bytes() == b"precious"
    export_csbdeep_fiji(model_dir, out, overwrite=True)
    assert out.read_bytes()[:2] == b"PK"
    assert _no_leftovers(tmp_path, keep={"out.zip"})
    # The same export again (a rerun after an interruption) finds it done and writes nothing.
    before = out.stat().st_mtime_ns
    assert export_csbdeep_fiji(model_dir, out) == out and out.stat().st_mtime_ns == before


def test_failure_while_zipping_leaves_no_partial_zip_and_keeps_the_old_one(model_dir, tmp_path, monkeypatch):
    class BrokenJson:
        loads = staticmethod(json.loads)

        @staticmethod
        def dumps(*args, **kwargs):
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(csbdeep_fiji, "json", BrokenJson)
    with pytest.raises(OSError, match="simulated"):
        export_csbdeep_fiji(model_dir, tmp_path / "new.zip")
    assert _no_leftovers(tmp_path)

    (tmp_path / "old.zip").write_bytes(b"old")
    with pytest.raises(OSError, match="simulated"):
        export_csbdeep_fiji(model_dir, tmp_path / "old.zip", overwrite=True)
    assert (tmp_path / "old.zip").read_bytes() == b"old"
    assert _no_leftovers(tmp_path, keep={"old.zip"})


def test_bad_output_choice(model_dir, tmp_path):
    with pytest.raises(ExportError, match="output must be one of"):
        export_csbdeep_fiji(model_dir, tmp_path / "out.zip", output="scale")
    with pytest.raises(ExportError, match="not a probabilistic model"):
        export_csbdeep_fiji(model_dir, tmp_path / "out.zip", output="mean+scale")
    assert _no_leftovers(tmp_path)


def test_untranslatable_layers_are_named():
    import keras

    inp = keras.Input((None, None, 1), name="input")
    x = keras.layers.Conv2D(2, 3, padding="same")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    with pytest.raises(ExportError, match="'bn' \\(BatchNormalization\\)"):
        describe_keras_model(keras.Model(inp, x))

    y = keras.layers.Lambda(lambda t: 2 * t, name="doubling")(inp)
    with pytest.raises(ExportError, match="'doubling'.*not a constant offset"):
        describe_keras_model(keras.Model(inp, y))

    z = keras.layers.Conv2D(1, 3, strides=2, name="strided")(inp)
    with pytest.raises(ExportError, match="'strided'.*stride 1"):
        describe_keras_model(keras.Model(inp, z))


def test_graph_check_reports_each_problem():
    class Node:
        def __init__(self, name, op, attrs):
            self.name, self.op, self.attr = name, op, dict.fromkeys(attrs)

    class Library:
        function, gradient = [], []

    class Graph:
        node = [Node("a", "AddV2", ["T"]), Node("b", "MaxPool", ["T", "explicit_paddings", "_output_shapes"]),
                Node("c", "Relu", ["T"])]
        library = Library()

    registry = {"MaxPool": {"T", "ksize", "strides", "padding", "data_format"}, "Relu": {"T"}}
    with pytest.raises(ExportError) as err:
        check_graph_def(Graph(), registry)
    message = str(err.value)
    assert "'AddV2' is not in the allowed" in message and "not registered in TensorFlow 1.15" in message
    assert "['explicit_paddings']" in message and "_output_shapes" not in message
    assert "'c'" not in message


def test_missing_java_is_a_clear_error(monkeypatch):
    from lumicare_ij import javatools

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(javatools.shutil, "which", lambda name: None)
    with pytest.raises(TFJavaError, match="not found.*Install a JDK.*openjdk"):
        javatools.jdk_tool("java", error=TFJavaError)


def test_missing_model_for_tfjava(tmp_path):
    with pytest.raises(TFJavaError, match="No model at"):
        tfjava.run_in_tfjava(tmp_path / "missing.zip", np.zeros((1, 4, 4, 1), np.float32))
