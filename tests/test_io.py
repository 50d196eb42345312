"""Stack I/O: round trips through this package and through the real ImageJ 1.53t."""

import os

import numpy as np
import pytest
import tifffile
import xarray as xr

from lumicare_ij import io
from lumicare_ij.ijops import jvm

META = {"modality": "luminescence", "exposure_s": 0.5, "binning": [4, 4], "em_gain": 300,
        "objective": "20x NA 0.8", "specimen": "h2b", "seed": 7, "condition": "lum_0.5s_bin4"}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(16, 20), (3, 16, 20), (2, 3, 16, 20)])
def test_roundtrip_keeps_pixels_calibration_and_metadata(tmp_path, dtype, shape):
    data = (np.random.default_rng(0).random(shape) * 200).astype(dtype)
    path = io.write_stack(tmp_path / "s.tif", data, pixel_size_um=0.13, z_step_um=0.13, metadata=META)
    stack = io.read_stack(path)
    assert stack.dims == {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("c", "z", "y", "x")}[len(shape)]
    np.testing.assert_array_equal(stack.values, data)
    assert stack.dtype == data.dtype
    assert stack.attrs["pixel_size_um"] == 0.13 and stack.attrs["z_step_um"] == 0.13
    assert stack.attrs["metadata"] == META
    np.testing.assert_allclose(stack.x.values[:3], [0, 0.13, 0.26])


def test_dataarray_in_keeps_its_attrs(tmp_path):
    arr = io.as_dataarray(np.zeros((2, 4, 5), np.uint16), pixel_size_um=0.65, z_step_um=0.57,
                          metadata={"exposure_s": 60})
    io.write_stack(tmp_path / "a.tif", arr)
    back = io.read_stack(tmp_path / "a.tif")
    assert back.attrs["pixel_size_um"] == 0.65 and back.attrs["metadata"] == {"exposure_s": 60}
    assert isinstance(back, xr.DataArray)


def test_other_dtypes_are_converted_to_imagej_types(tmp_path):
    io.write_stack(tmp_path / "b.tif", np.ones((4, 4), bool))
    io.write_stack(tmp_path / "i.tif", np.arange(16, dtype=np.int64).reshape(4, 4))
    io.write_stack(tmp_path / "f.tif", np.ones((4, 4)) * 0.5)
    assert io.read_array(tmp_path / "b.tif").max() == 255
    assert io.read_array(tmp_path / "i.tif").dtype == np.uint16
    assert io.read_array(tmp_path / "f.tif").dtype == np.float32


def test_never_overwrites_unless_asked(tmp_path):
    path = io.write_stack(tmp_path / "a.tif", np.zeros((4, 4), np.uint16))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        io.write_stack(path, np.ones((4, 4), np.uint16))
    np.testing.assert_array_equal(io.read_array(path), 0)
    io.write_stack(path, np.ones((4, 4), np.uint16), overwrite=True)
    np.testing.assert_array_equal(io.read_array(path), 1)


def test_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(io.StackError):
        io.write_stack(tmp_path / "x.tif", np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(TypeError):
        io.write_stack(tmp_path / "y.tif", np.zeros((4, 4), np.uint16), metadata={"bad": object()})
    assert os.listdir(tmp_path) == []


def test_written_file_has_normal_permissions(tmp_path):
    path = io.write_stack(tmp_path / "a.tif", np.zeros((4, 4), np.uint16))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_bad_inputs_name_the_file_and_say_what_to_do(tmp_path):
    not_tiff = tmp_path / "notes.tif"
    not_tiff.write_text("hello")
    with pytest.raises(io.StackError, match="notes.tif: not a readable TIFF"):
        io.read_stack(not_tiff)

    good = io.write_stack(tmp_path / "good.tif", np.zeros((4, 16, 16), np.uint16))
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(io.StackError, match="cut.tif: .*truncated"):
        io.read_stack(cut)

    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(io.StackError, match="rgb.tif: this is an RGB image.*16-bit"):
        io.read_stack(rgb)

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.zeros((3, 2, 8, 8), np.uint16), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(io.StackError, match="movie.tif: has 3 time points"):
        io.read_stack(movie)

    with pytest.raises(FileNotFoundError, match="missing.tif"):
        io.read_stack(tmp_path / "missing.tif")
    with pytest.raises(io.StackError, match="name ending in .tif"):
        io.write_stack(tmp_path / "a.png", np.zeros((4, 4)))


def test_check_pair_refuses_mismatched_shapes(tmp_path):
    a = io.write_stack(tmp_path / "in" / "s1.tif", np.zeros((4, 8, 8), np.uint16))
    b = io.write_stack(tmp_path / "gt" / "s1.tif", np.zeros((4, 16, 16), np.uint16))
    with pytest.raises(io.StackError, match="same size"):
        io.check_pair(a, b)


def test_ome_tiff_calibration(tmp_path):
    data = np.arange(3 * 8 * 9, dtype=np.uint16).reshape(3, 8, 9)
    tifffile.imwrite(tmp_path / "s.ome.tif", data, ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 130, "PhysicalSizeXUnit": "nm",
                               "PhysicalSizeZ": 0.5})
    stack = io.read_stack(tmp_path / "s.ome.tif")
    assert stack.attrs["format"] == "ome"
    assert stack.attrs["pixel_size_um"] == pytest.approx(0.13)
    np.testing.assert_array_equal(stack.values, data)


# ---------------------------------------------------------------- real ImageJ

@pytest.mark.imagej
def test_imagej_reads_our_calibration_and_properties(tmp_path):
    path = io.write_stack(tmp_path / "ours.tif", np.arange(3 * 10 * 12, dtype=np.uint16).reshape(3, 10, 12),
                          pixel_size_um=0.65, z_step_um=0.57, metadata=META)
    ij = jvm.imagej_classes()
    imp = ij.jimport("ij.io.Opener")().openImage(str(path))
    cal = imp.getCalibration()
    assert imp.getNSlices() == 3 and imp.getBitDepth() == 16
    assert cal.pixelWidth == pytest.approx(0.65, rel=1e-9) and cal.pixelDepth == pytest.approx(0.57)
    assert str(cal.getUnit()) == "micron"
    assert str(imp.getProp("exposure_s")) == "0.5"
    assert str(imp.getProp("condition")) == "lum_0.5s_bin4"
    assert "em_gain = 300" in str(imp.getInfoProperty())


@pytest.mark.imagej
@pytest.mark.parametrize("bit_depth", [16, 32])
@pytest.mark.parametrize("calibrated", [True, False])
def test_we_read_what_imagej_wrote(tmp_path, bit_depth, calibrated):
    ij = jvm.imagej_classes()
    data = (np.random.default_rng(1).random((4, 9, 11)) * 1000).astype(
        np.uint16 if bit_depth == 16 else np.float32)
    imp = jvm.to_imageplus(data, "fiji")
    if calibrated:
        cal = imp.getCalibration()
        cal.pixelWidth = cal.pixelHeight = 0.13
        cal.pixelDepth = 0.2
        cal.setUnit("micron")
        imp.setProp("exposure_s", "4")
    out = tmp_path / "fiji.tif"
    assert ij.jimport("ij.io.FileSaver")(imp).saveAsTiff(str(out))
    stack = io.read_stack(out)
    np.testing.assert_array_equal(stack.values, data)
    if calibrated:
        assert stack.attrs["pixel_size_um"] == pytest.approx(0.13, rel=1e-6)
        assert stack.attrs["z_step_um"] == pytest.approx(0.2)
        assert stack.attrs["metadata"]["exposure_s"] == 4
    else:
        assert stack.attrs["pixel_size_um"] is None and stack.attrs["unit"] == "pixel"


@pytest.mark.imagej
def test_metadata_survive_a_save_in_imagej(tmp_path):
    path = io.write_stack(tmp_path / "ours.tif", np.zeros((2, 5, 6), np.float32),
                          pixel_size_um=0.65, z_step_um=0.57, metadata=META)
    ij = jvm.imagej_classes()
    imp = ij.jimport("ij.io.Opener")().openImage(str(path))
    assert ij.jimport("ij.io.FileSaver")(imp).saveAsTiff(str(tmp_path / "resaved.tif"))
    back = io.read_stack(tmp_path / "resaved.tif")
    assert back.attrs["metadata"] == META
    assert back.attrs["pixel_size_um"] == pytest.approx(0.65) and back.attrs["z_step_um"] == 0.57
