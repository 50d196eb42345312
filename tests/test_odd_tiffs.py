"""Odd TIFFs a microscopist may hand over, each made on purpose: refused with one clear line, never misread.

Defects these tests found (fixed): a stack with NaN or infinite voxels was
restored into an all-NaN output without a word; an OME-TIFF whose OME-XML
declares more planes than the file holds was read with the missing planes
zero-filled (tifffile's choice).
"""

import os
import struct

import numpy as np
import pytest
import tifffile

from lumicare_ij import blocks, io, restore, training
from lumicare_ij.errors import LumicareError, SomeInputsFailed
from lumicare_ij.hardware import physical_memory_bytes

from .care import synth


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return synth.train_tiny_model(tmp_path_factory.mktemp("odd-model"))


def _with_nan_and_inf(shape=(8, 32, 32)):
    array = np.random.default_rng(0).random(shape).astype(np.float32) * 100
    array[2, 3, 4], array[3, 4, 5] = np.nan, np.inf
    return array


def test_a_stack_with_nan_or_infinite_voxels_is_refused_not_restored_as_nan(model, tmp_path):
    io.write_stack(tmp_path / "nan.tif", _with_nan_and_inf())
    with pytest.raises(SomeInputsFailed, match=r"nan.tif: 1 voxel\(s\) are NaN and 1 infinite.*Remove NaNs"):
        restore.restore_files(model, [tmp_path / "nan.tif"], tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "nan.tif").exists()


def test_training_pairs_with_nan_voxels_are_refused(tmp_path):
    synth.write_dataset(tmp_path / "data", n_stacks=2, shape=(8, 32, 32))
    io.write_stack(tmp_path / "data" / "short" / "cell00.tif", _with_nan_and_inf(), overwrite=True)
    with pytest.raises(LumicareError, match="cell00.tif: 1 voxel"):
        training.build_pairs(tmp_path / "data", "denoise", "short", "long")


def test_a_volume_with_nan_voxels_is_refused_while_its_percentiles_are_computed():
    with pytest.raises(io.StackError, match="NaN or infinite voxels"):
        blocks.volume_percentiles(_with_nan_and_inf((16, 64, 64)))


def test_ome_xml_declaring_more_planes_than_the_file_holds_is_refused_not_zero_filled(tmp_path):
    tifffile.imwrite(tmp_path / "two.ome.tif", np.ones((2, 16, 16), np.uint16), ome=True)
    assert io.read_array(tmp_path / "two.ome.tif").shape == (2, 16, 16)
    raw = (tmp_path / "two.ome.tif").read_bytes()
    assert b'SizeC="2" SizeZ="1"' in raw
    (tmp_path / "lie.ome.tif").write_bytes(raw.replace(b'SizeC="2" SizeZ="1"', b'SizeC="2" SizeZ="9"'))
    with pytest.raises(io.StackError, match="declare 18 planes but 16 of them are not in the file"):
        io.read_array(tmp_path / "lie.ome.tif")


def _declare(path, width, length):
    """Patch a one-page TIFF's ImageWidth and ImageLength tags in place."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        where = {name: (tags[name].valueoffset, tags[name].dtype) for name in ("ImageWidth", "ImageLength")}
    raw = bytearray(path.read_bytes())
    for name, value in (("ImageWidth", width), ("ImageLength", length)):
        offset, dtype = where[name]
        struct.pack_into("<I" if dtype == 4 else "<H", raw, offset, value)
    path.write_bytes(bytes(raw))


def test_a_header_declaring_more_pixels_than_memory_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint16))
    side = int((physical_memory_bytes() * 2 / 2) ** 0.5) + 1  # uint16: twice this machine's memory
    _declare(path, side, side)
    with pytest.raises(io.StackError, match="huge.tif: the file is truncated"):  # cut: its pixels are not there
        io.read_array(path)
    os.truncate(path, 2 * side * side + 4096)  # sparse: the pixels "are there", as on a big share
    with pytest.raises(io.StackError, match="more than this machine's memory; save it as OME-Zarr"):
        io.read_array(path)


def test_zero_sized_stacks_are_refused(tmp_path):
    with pytest.warns(UserWarning):
        tifffile.imwrite(tmp_path / "zero.tif", np.zeros((0, 16, 16), np.uint16))
    with pytest.raises(io.StackError, match="zero.tif"):
        io.read_array(tmp_path / "zero.tif")
