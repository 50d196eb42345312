"""The napari plugin in a real napari viewer (pytest-qt's qtbot, napari's make_napari_viewer, Xvfb via pytest-xvfb).

Widgets are created through npe2 as napari's menu does; results must equal
the package's own functions (care.predict and predict_like_fiji, computed in
a child Python: see conftest.py; lumicare_ij.analysis), and the viewer must
stay responsive while they run. Run by tests/test_napari.py in a process of
its own.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

from napari.layers import Image, Labels  # napari is in the test extra: a missing one fails here, never skips

from lumicare_ij import analysis, io
from lumicare_ij.napari import restore_process, sample

from ..test_macros import tubules
from .conftest import care_predict, fiji_predict

PLUGIN = "lumicare-ij"


def _widget(viewer, name: str):
    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def _wait_done(qtbot, widget, timeout_ms=180_000):
    qtbot.waitUntil(lambda: not widget._panel.running, timeout=timeout_ms)


def test_the_manifest_is_found_and_valid():
    import npe2

    manager = npe2.PluginManager.instance()
    manager.discover()
    manifest = manager.get_manifest(PLUGIN)
    assert manifest.display_name == "LumiCARE"
    assert {w.display_name for w in manifest.contributions.widgets} == {"Restore with CARE", "Paper readouts"}
    assert [s.key for s in manifest.contributions.sample_data] == ["h2b_pair"]


def test_the_reader_keeps_the_calibration_as_scale_in_microns(make_napari_viewer, tmp_path):
    stack = np.arange(4 * 20 * 24, dtype=np.uint16).reshape(4, 20, 24)
    io.write_stack(tmp_path / "cal.tif", stack, pixel_size_um=0.325, z_step_um=0.8)
    tifffile.imwrite(tmp_path / "plain.tif", stack[0])  # no calibration at all
    viewer = make_napari_viewer()
    layers = viewer.open(tmp_path / "cal.tif", plugin=PLUGIN) + viewer.open(tmp_path / "plain.tif", plugin=PLUGIN)
    calibrated, plain = layers
    np.testing.assert_array_equal(calibrated.data, stack)
    assert tuple(calibrated.scale) == pytest.approx((0.8, 0.325, 0.325))
    assert calibrated.metadata["calibrated_um"] and not plain.metadata["calibrated_um"]
    assert tuple(plain.scale) == (1.0, 1.0)


def test_the_sample_is_a_simulated_h2b_pair_with_its_calibration(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "h2b_pair")
    short, long_ = viewer.layers
    assert (short.name, long_.name) == ("H2B 0.5s", "H2B 60s")
    assert short.data.shape == long_.data.shape == (16, 128, 128)
    assert long_.data.mean() > 10 * short.data.mean() - 1e3 and long_.data.mean() > short.data.mean()
    assert short.scale[1] == short.scale[2] < 1  # microns, from the simulated objective
    np.testing.assert_array_equal(short.data, sample.h2b_pair()[0][0])  # seeded: the same every time


def test_restoring_a_layer_adds_care_predicts_result_and_its_scale_map(make_napari_viewer, qtbot, tiny_model, tmp_path):
    image = io.read_array(next((tiny_model.parent / "data" / "short").glob("*.tif")))
    viewer = make_napari_viewer()
    viewer.add_image(image, name="short", scale=(0.57, 0.65, 0.65))
    widget = _widget(viewer, "Restore with CARE")
    widget._model.value = tiny_model
    widget._tiles.value = "1,2,2"
    ticks = []
    from qtpy.QtCore import QTimer
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    widget._panel.start_button.native.click()
    _wait_done(qtbot, widget)
    timer.stop()
    restored, scale = viewer.layers["short restored"], viewer.layers["short scale"]
    mean, expected_scale = care_predict(tiny_model, image, tmp_path / "expected", tiles=(1, 2, 2), return_scale=True)
    np.testing.assert_array_equal(restored.data, mean)
    np.testing.assert_array_equal(scale.data, expected_scale)
    assert tuple(restored.scale) == pytest.approx((0.57, 0.65, 0.65))
    assert widget._panel.progress.value == restore_process.N_STEPS and "Restored short" in widget._panel.status.value
    assert len(ticks) > 5, "the viewer's event loop did not run while the worker restored"


def test_restoring_with_an_exported_fiji_zip_gives_the_plugins_numbers(make_napari_viewer, qtbot, tiny_model, tmp_path):
    archive = tiny_model.parent / "model.zip"
    image = io.read_array(next((tiny_model.parent / "data" / "short").glob("*.tif")))
    viewer = make_napari_viewer()
    viewer.add_image(image, name="short")
    widget = _widget(viewer, "Restore with CARE")
    widget._zip.value = archive
    widget._panel.start_button.native.click()
    _wait_done(qtbot, widget, timeout_ms=300_000)
    np.testing.assert_array_equal(viewer.layers["short restored"].data, fiji_predict(archive, image, tmp_path / "e"))
    assert "short scale" not in viewer.layers


def test_cancel_adds_nothing(make_napari_viewer, qtbot, tiny_model):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 32, 32), np.float32), name="z")
    widget = _widget(viewer, "Restore with CARE")
    widget._model.value = tiny_model
    widget._panel.start_button.native.click()
    widget._panel.cancel_button.native.click()
    _wait_done(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["z"]
    assert "Cancelled" in widget._panel.status.value


@pytest.mark.parametrize("problem", ["no model", "not a model", "wrong tiles", "2D image"])
def test_mistakes_end_in_one_status_line_and_no_layer(make_napari_viewer, qtbot, tiny_model, tmp_path, problem):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32) if problem == "2D image" else (8, 32, 32), np.float32), name="x")
    widget = _widget(viewer, "Restore with CARE")
    if problem != "no model":
        widget._model.value = tmp_path if problem == "not a model" else tiny_model
    if problem == "wrong tiles":
        widget._tiles.value = "2,two"
    widget._panel.start_button.native.click()
    _wait_done(qtbot, widget)
    status = widget._panel.status.value
    assert status and "\n" not in status and "Traceback" not in status
    assert [layer.name for layer in viewer.layers] == ["x"]
    expected = {"no model": "Choose a model", "not a model": "config.json", "wrong tiles": "tiles",
                "2D image": "3D"}[problem]
    assert expected in status, status


def _readout(viewer, qtbot, kind: str):
    widget = _widget(viewer, "Paper readouts")
    widget._kind.value = kind
    widget._reference.value = viewer.layers[1]
    widget._test.value = viewer.layers[0]
    widget._panel.start_button.native.click()
    _wait_done(qtbot, widget)
    return widget, widget._table.value["data"]


def test_mask_mae_readout_equals_analysis_and_shows_both_masks(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "h2b_pair")
    short, long_ = (layer.data for layer in viewer.layers)
    widget, rows = _readout(viewer, qtbot, "mask MAE")
    assert rows[0][0] == "mask MAE" and rows[0][2] == float(analysis.mask_mae_between(long_, short, 100))
    cells = viewer.layers["cells: H2B 60s"]
    assert isinstance(cells, Labels) and tuple(cells.scale) == tuple(viewer.layers["H2B 60s"].scale)
    np.testing.assert_array_equal(cells.data > 0, analysis.cell_mask(long_) > 0)
    np.testing.assert_array_equal(viewer.layers["cells: H2B 0.5s"].data > 0, analysis.cell_mask(short) > 0)
    assert rows[1][3] == int(cells.data.max()) > 0


def test_nuclear_pearson_readout_equals_analysis(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "h2b_pair")
    short, long_ = (layer.data for layer in viewer.layers)
    _, rows = _readout(viewer, qtbot, "nuclear Pearson")
    assert rows[0][2] == float(analysis.nuclear_pearson(short, long_, 5))
    np.testing.assert_array_equal(viewer.layers["nuclei: H2B 60s"].data > 0, analysis.nuclear_mask(long_) > 0)


def test_mitochondrial_readout_equals_analysis_for_both_layers(make_napari_viewer, qtbot):
    rng = np.random.default_rng(7)
    test, reference = tubules((4, 64, 64), np.uint16, rng), tubules((4, 64, 64), np.uint16, rng)
    viewer = make_napari_viewer()
    viewer.add_image(test, name="test", scale=(0.5, 0.13, 0.13))
    viewer.add_image(reference, name="reference", scale=(0.5, 0.13, 0.13))
    _, rows = _readout(viewer, qtbot, "mitochondrial shapes")
    for name, img in (("reference", reference), ("test", test)):
        result = analysis.mito_morphology(img, min_size_px=20)
        got = {row[0]: row for row in rows if row[1] == name}
        assert got["mean circularity"][2] == float(result.mean_circularity)
        assert got["mean aspect ratio"][2] == float(result.mean_aspect_ratio)
        assert got["mean circularity"][3] == result.n_particles > 0
        labels = viewer.layers[f"mitochondria: {name}"]
        np.testing.assert_array_equal(labels.data > 0, result.mask > 0)
        assert tuple(labels.scale) == pytest.approx((0.13, 0.13))


def test_readouts_refuse_layers_of_different_sizes(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((10, 10)), name="a")
    viewer.add_image(np.zeros((12, 12)), name="b")
    widget, rows = _readout(viewer, qtbot, "mask MAE")
    assert "same size" in widget._panel.status.value and rows == []
    assert all(isinstance(layer, Image) for layer in viewer.layers)


def test_the_screenshot_script_shows_a_restoration_and_its_masks(tiny_model, tmp_path):
    """scripts/napari_screenshot.py, the README's picture, on the tests' tiny model (the README's uses the demo's)."""
    import sys
    from pathlib import Path

    from PIL import Image as Picture

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import napari_screenshot

    data = tiny_model.parent / "data"
    name = sorted(p.name for p in (data / "short").glob("*.tif"))[0]
    out = tmp_path / "viewer.png"
    numbers = napari_screenshot.make_screenshot(tiny_model, data / "short" / name, data / "long" / name, out)
    long_, short = io.read_array(data / "long" / name), io.read_array(data / "short" / name)
    assert numbers["mae_raw"] == float(analysis.mask_mae_between(long_, short, 100))
    for path in (out, tmp_path / "viewer_canvas.png"):
        pixels = np.asarray(Picture.open(path).convert("L"))
        assert pixels.shape[0] >= 400 and pixels.std() > 5, path  # a drawn viewer, not a blank frame
