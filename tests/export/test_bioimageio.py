"""bioimage.io model packages: valid (bioimageio.spec, offline), runnable (bioimageio.core,
TensorFlow Java 1.15, onnxruntime), complete, and written atomically.

bioimageio.spec, bioimageio.core, tf2onnx, onnx and onnxruntime are in the test extra:
a missing one fails these tests, it never skips them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from unittest import mock

import numpy as np
import pytest
import yaml

from lumicare_ij.export import ExportError, run_in_tfjava
from lumicare_ij.export.bioimageio import (CITATIONS, FORMAT_VERSION, TENSORFLOW_VERSION, export_bioimageio,
                                           scale_range, validate_bioimageio)

from .models import make_care_model

RTOL = 1e-4


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """A 3D probabilistic model exported with the simulated default test input and ONNX weights,
    and a 2D model exported with its scale channel and a test input of our own."""
    base = tmp_path_factory.mktemp("bioimageio")
    care3 = make_care_model(base, "lum3d", "ZYX", seed=21, unet_n_depth=2, probabilistic=True)
    care2 = make_care_model(base, "lum2d", "YX", seed=22, unet_n_depth=2, probabilistic=True)
    image2 = np.random.default_rng(5).poisson(3, size=(102, 111)).astype(np.uint16)
    p3 = export_bioimageio(care3.logdir, base / "lum3d.zip", onnx=True,
                           authors=[{"name": "A. Tester", "affiliation": "lumicare"}])
    p2 = export_bioimageio(care2.logdir, base / "lum2d.zip", output="mean+scale", onnx=False,
                           test_input=image2, name="2D test model")
    return dict(care3=care3, care2=care2, p3=p3, p2=p2, image2=image2, base=base)


def _read(package, name):
    with zipfile.ZipFile(package) as zf:
        return zf.read(name)


def _rdf(package):
    return yaml.safe_load(_read(package, "rdf.yaml"))


def _npy(package, name):
    import io

    return np.load(io.BytesIO(_read(package, name)))


def test_package_holds_every_file_the_rdf_names(packages):
    with zipfile.ZipFile(packages["p3"]) as zf:
        names = set(zf.namelist())
    assert names == {"rdf.yaml", "README.md", "cover.png", "test_input.npy", "test_output.npy",
                     "sample_input.tif", "sample_output.tif", "weights_tf_saved_model_bundle.zip",
                     "weights.onnx"}
    assert not list(packages["base"].glob(".*.part*"))


def test_rdf_declares_format_weights_normalisation_and_citations(packages):
    rdf = _rdf(packages["p3"])
    assert rdf["type"] == "model" and rdf["format_version"] == FORMAT_VERSION
    weights = rdf["weights"]["tensorflow_saved_model_bundle"]
    assert weights["tensorflow_version"] == TENSORFLOW_VERSION == "1.15.0"
    assert rdf["weights"]["onnx"]["opset_version"] <= 18
    (pre,) = rdf["inputs"][0]["preprocessing"]
    assert pre["id"] == "scale_range"
    assert pre["kwargs"]["axes"] == ["z", "y", "x"]
    assert (pre["kwargs"]["min_percentile"], pre["kwargs"]["max_percentile"]) == (2.0, 99.8)
    dois = {c["doi"] for c in rdf["cite"]}
    assert dois == {"10.1038/s41592-018-0216-7", "10.1038/s42003-023-04886-z"} == {c["doi"] for c in CITATIONS}
    assert any("luminescence" in c["text"] for c in rdf["cite"])
    assert rdf["authors"] == [{"name": "A. Tester", "affiliation": "lumicare"}]
    assert [a["type"] for a in rdf["inputs"][0]["axes"]] == ["batch", "space", "space", "space", "channel"]
    assert rdf["outputs"][0]["axes"][-1]["channel_names"] == ["restored"]
    readme = _read(packages["p3"], "README.md").decode()
    for words in ("scale_range", "luminescence", "normalised scale", "CSBDeep", "10.1038/s41592-018-0216-7"):
        assert words in readme
    assert _read(packages["p3"], "cover.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_weights_zip_is_the_csbdeep_fiji_export(packages):
    inner = _read(packages["p3"], "weights_tf_saved_model_bundle.zip")
    import io

    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        assert {"saved_model.pb", "variables/", "meta.json"} <= set(zf.namelist())
        meta = json.loads(zf.read("meta.json"))
    assert meta["output"] == "mean" and meta["n_channel_out"] == 1


def test_packages_validate_offline_with_bioimageio_spec(packages):
    # In a fresh interpreter whose sockets refuse to connect: validation must not need the network.
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from lumicare_ij.export.bioimageio import validate_bioimageio\n"
        "problems = [validate_bioimageio(p) for p in sys.argv[1:]]\n"
        "print(repr(problems)); sys.exit(1 if any(problems) else 0)\n")
    done = subprocess.run([sys.executable, "-c", code, str(packages["p3"]), str(packages["p2"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def test_test_output_is_what_tf_java_gives_for_the_normalised_test_input(packages):
    outputs = {}
    jobs = []
    for key in ("p3", "p2"):
        x = _npy(packages[key], "test_input.npy")
        inner = packages["base"] / f"{key}_weights.zip"
        inner.write_bytes(_read(packages[key], "weights_tf_saved_model_bundle.zip"))
        rdf = _rdf(packages[key])
        kw = rdf["inputs"][0]["preprocessing"][0]["kwargs"]
        jobs.append((key, inner, scale_range(x, kw["min_percentile"], kw["max_percentile"], kw["eps"])))
    for key, inner, x in jobs:
        outputs[key] = (run_in_tfjava(inner, x), _npy(packages[key], "test_output.npy"))
    for key, (java, stored) in outputs.items():
        assert java.shape == stored.shape
        assert np.max(np.abs(java - stored)) / np.ptp(stored) <= RTOL, key


def test_test_input_is_the_given_image_cropped_to_allowed_sizes(packages):
    x = _npy(packages["p2"], "test_input.npy")
    assert x.shape == (1, 100, 108, 1) and x.dtype == np.float32    # multiples of 2**depth = 4, centred
    np.testing.assert_array_equal(x[0, ..., 0], packages["image2"][1:101, 1:109])
    y = _npy(packages["p2"], "test_output.npy")
    assert y.shape == (1, 100, 108, 2)
    rdf = _rdf(packages["p2"])
    assert rdf["name"] == "2D test model"
    assert rdf["outputs"][0]["axes"][-1]["channel_names"] == ["mean", "scale"]
    assert "onnx" not in rdf["weights"]
    default = _npy(packages["p3"], "test_input.npy")
    assert default.shape == (1, 16, 128, 128, 1) and default.max() > default.min()
    # The smallest allowed input exceeds twice the halo that tiling tools crop (Y and X only).
    rdf3 = _rdf(packages["p3"])
    for axis_in, axis_out in zip(rdf3["inputs"][0]["axes"][1:4], rdf3["outputs"][0]["axes"][1:4]):
        assert axis_in["size"]["min"] > 2 * axis_out.get("halo", 0)
        assert ("halo" in axis_out) == (axis_in["id"] != "z")


def test_onnx_weights_reproduce_the_test_output(packages):
    import onnxruntime

    rdf = _rdf(packages["p3"])
    kw = rdf["inputs"][0]["preprocessing"][0]["kwargs"]
    session = onnxruntime.InferenceSession(_read(packages["p3"], "weights.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["output"]
    x = scale_range(_npy(packages["p3"], "test_input.npy"), kw["min_percentile"], kw["max_percentile"], kw["eps"])
    got = session.run(None, {"input": x})[0]
    expected = _npy(packages["p3"], "test_output.npy")
    assert np.max(np.abs(got - expected)) / np.ptp(expected) <= RTOL


@pytest.mark.parametrize("weight_format", ["onnx", "tensorflow_saved_model_bundle"])
def test_bioimageio_core_test_run_passes(packages, weight_format, tmp_path, monkeypatch):
    from bioimageio.core import test_model

    monkeypatch.chdir(tmp_path)     # bioimageio.core unpacks TF weights into the working directory
    # test_model sets TF_ENABLE_ONEDNN_OPTS=0 in os.environ and leaves it: Dask workers started later in
    # this process inherited it and restored in the last bit differently (tests/test_cluster.py failed in CI).
    before = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    with mock.patch.dict(os.environ):
        summary = test_model(packages["p3"], weight_format=weight_format)
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == before
    failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details if d.status == "failed"]
    assert summary.status == "passed", failed


def test_existing_package_is_kept_unless_overwrite(packages, tmp_path):
    target = tmp_path / "model.zip"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_bioimageio(packages["care2"].logdir, target)
    assert target.read_bytes() == b"keep me"
    # The same export again (a rerun after an interruption) finds it done; other settings are refused.
    done = tmp_path / "done.zip"
    export_bioimageio(packages["care2"].logdir, done, onnx=False, validate=False)
    before = done.stat().st_mtime_ns
    assert export_bioimageio(packages["care2"].logdir, done, onnx=False, validate=False) == done
    assert done.stat().st_mtime_ns == before
    with pytest.raises(ExportError, match="other settings"):
        export_bioimageio(packages["care2"].logdir, done, onnx=False, validate=False, license="MIT")


@pytest.mark.parametrize("kwargs, message", [
    (dict(test_input=np.zeros((2, 40, 40))), r"shape \(2, 40, 40\)"),
    (dict(test_input=np.zeros((2, 3))), "smaller than 4 pixels"),
    (dict(test_input=np.zeros((40, 200))), "too small"),
    (dict(percentiles=(99.8, 2)), "0 <= low < high <= 100"),
    (dict(onnx="maybe"), "onnx must be"),
    (dict(output="scale"), "output must be one of"),
])
def test_bad_requests_fail_clearly_and_leave_no_file(packages, tmp_path, kwargs, message):
    target = tmp_path / "model.zip"
    with pytest.raises(ExportError, match=message):
        export_bioimageio(packages["care2"].logdir, target, **{"onnx": False, **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_not_a_model_folder_is_refused(tmp_path):
    with pytest.raises(ExportError, match="config.json"):
        export_bioimageio(tmp_path, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_validation_reports_a_broken_package(packages, tmp_path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(packages["p2"]) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if item.filename != "test_output.npy":
                dst.writestr(item, src.read(item.filename))
    assert validate_bioimageio(broken)          # bioimageio.spec's message for a missing file is terse
