"""Damaged TIFFs, generated: reading one ends in the package's own error naming the file, or in the data.

Starts from real ImageJ hyperstacks written by tifffile (8/16/32-bit, a few
planes, optional channels), then flips bytes and truncates at seeded random
offsets. A result, when there is one, must have the shape the header
declares and be the written pixels wherever the flips missed them.
"""

import os

import numpy as np
import tifffile
from hypothesis import HealthCheck, example, given, settings, strategies as st

from lumicare_ij.errors import LumicareError
from lumicare_ij.io import read_array

DTYPES = (np.uint8, np.uint16, np.float32)


@settings(max_examples=int(os.environ.get("LUMICARE_FUZZ_EXAMPLES", 600)), deadline=5000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dtype=st.sampled_from(DTYPES), planes=st.integers(1, 4), channels=st.sampled_from([None, 2]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=4),
       cut=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)))
@example(dtype=np.uint8, planes=2, channels=2, flips=[(0.0326597184546491, 1)], cut=None)  # tifffile's assert
def test_damaged_tiffs_end_in_one_clear_error_or_in_their_pixels(tmp_path_factory, dtype, planes, channels, flips,
                                                                 cut):
    root = tmp_path_factory.mktemp("tiff")
    shape = (planes, 12, 10) if channels is None else (planes, channels, 12, 10)
    pixels = (np.arange(np.prod(shape)) % 200).reshape(shape).astype(dtype)
    path = root / "stack.tif"
    tifffile.imwrite(path, pixels, imagej=True, metadata={"axes": "ZYX" if channels is None else "ZCYX"})
    raw = bytearray(path.read_bytes())
    for where, mask in flips:
        raw[int(where * len(raw))] ^= mask
    if cut is not None:
        raw = raw[:int(cut * len(raw))]
    path.write_bytes(bytes(raw))
    try:
        got = read_array(path)
    except LumicareError as err:
        assert str(path) in str(err)
        assert "\n" not in str(err).strip()  # one line
        return
    assert isinstance(got, np.ndarray) and got.size > 0
    if not flips and cut is None:
        expected = pixels if channels is None else np.moveaxis(pixels, 1, 0)
        np.testing.assert_array_equal(np.squeeze(got), np.squeeze(expected))  # one plane reads as 2D
    assert [p.name for p in root.iterdir()] == ["stack.tif"]  # reading never writes
