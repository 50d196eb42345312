"""Bin, nearest resize, Z max projection and 16-bit conversion: numpy engine == ImageJ 1.53t.

Every conformance test runs the same seeded images (all 290 of
``generated_images(n_per_kind=30)`` plus 3 float extras, and 24 stacks)
through both engines via the public API and requires identical arrays
(dtype, shape, every pixel, NaN positions, sign of zero): no tolerance.
Hand-computed cases pin the ImageJ quirks the engines share. Speed is
measured in ``benchmarks/bench_ijops.py``, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.ijops._checks import InputError

from ._conformance import array_mismatch, report, start_imagej
from .images import generated_images, generated_stacks

pytestmark = pytest.mark.imagej

IMAGES = list(generated_images(n_per_kind=30))          # 290 images
STACKS = list(generated_stacks(n_per_dtype=8))          # 24 stacks, depth 1..9
FLOAT_EXTRAS = [
    ("inf", np.array([[0, 1, np.inf], [2, -np.inf, 3]], np.float32)),
    ("all-nan", np.full((4, 5), np.nan, np.float32)),
    ("tiny-range", (1000.0 + np.arange(20, dtype=np.float32).reshape(4, 5) * 1e-4).astype(np.float32)),
]


@pytest.fixture(scope="module", autouse=True)
def imagej():
    return start_imagej()


def _compare(fn, cases, *args, **kwargs):
    failures = []
    for name, image in cases:
        out_np = fn(image, *args, **kwargs, engine="numpy")
        out_ij = fn(image, *args, **kwargs, engine="imagej")
        problem = array_mismatch(out_np, out_ij)
        if problem:
            failures.append(f"{name} {image.dtype} {image.shape}: {problem}")
    return failures


# ---------------------------------------------------------------------------
# Conformance with ImageJ
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ijops.BIN_METHODS)
@pytest.mark.parametrize("factor", [2, 3, 4, 7])
def test_bin_2d_matches_imagej(method, factor):
    cases = [(n, im) for n, im in IMAGES + FLOAT_EXTRAS if min(im.shape) >= factor]
    failures = _compare(ijops.bin, cases, factor, method=method)
    assert not failures, report(failures)


@pytest.mark.parametrize("method", ijops.BIN_METHODS)
@pytest.mark.parametrize("xy, z", [(1, 2), (2, 2), (3, 3), (2, 1), (1, 4)])
def test_bin_3d_matches_imagej(method, xy, z):
    cases = [(n, st) for n, st in STACKS if st.shape[0] >= z]
    failures = _compare(ijops.bin, cases, xy, z, method=method)
    assert not failures, report(failures)


def _target_shapes(shape):
    h, w = shape[-2:]
    return [(h * 2, w * 2), (h * 3, w), (h + 5, max(1, w - 3)), (7, 5), (2 * h + 1, 3 * w - 1)]


def test_upsample_nearest_2d_matches_imagej():
    failures = []
    for name, image in IMAGES + FLOAT_EXTRAS:
        for shape in _target_shapes(image.shape):
            problem = array_mismatch(ijops.upsample_nearest(image, shape, engine="numpy"),
                                     ijops.upsample_nearest(image, shape, engine="imagej"))
            if problem:
                failures.append(f"{name} -> {shape}: {problem}")
    assert not failures, report(failures)


def test_upsample_nearest_3d_matches_imagej():
    failures = []
    for name, stack in STACKS:
        d, h, w = stack.shape
        for shape in [(2 * d, 2 * h, 2 * w), (d + 3, h, w), (max(1, d - 1), h + 1, w), (2 * d + 1, 7, 9)]:
            problem = array_mismatch(ijops.upsample_nearest(stack, shape, engine="numpy"),
                                     ijops.upsample_nearest(stack, shape, engine="imagej"))
            if problem:
                failures.append(f"{name} -> {shape}: {problem}")
    assert not failures, report(failures)


def test_max_project_matches_imagej():
    failures = _compare(ijops.max_project, STACKS)
    assert not failures, report(failures)


@pytest.mark.parametrize("display_range", [None, (0, 0), (10.3, 1000.7), (-5.0, 5.0), (1000.1, 1000.3)])
def test_convert_to_16bit_2d_matches_imagej(display_range):
    failures = _compare(ijops.convert_to_16bit, IMAGES + FLOAT_EXTRAS, display_range)
    assert not failures, report(failures)


@pytest.mark.parametrize("display_range", [None, (0, 0), (10.3, 1000.7)])
def test_convert_to_16bit_3d_matches_imagej(display_range):
    failures = _compare(ijops.convert_to_16bit, STACKS, display_range)
    assert not failures, report(failures)


# ---------------------------------------------------------------------------
# Hand-computed values (both engines)
# ---------------------------------------------------------------------------

ENGINES = pytest.mark.parametrize("engine", ijops.ENGINES)


@ENGINES
def test_bin_hand_computed(engine):
    img = np.array([[1, 2, 9], [3, 4, 9]], np.uint8)        # last column dropped
    assert ijops.bin(img, 2, engine=engine).tolist() == [[3]]       # 10/4 = 2.5 -> round half up
    assert ijops.bin(img, 2, method="sum", engine=engine).tolist() == [[10]]
    assert ijops.bin(img, 2, method="min", engine=engine).tolist() == [[1]]
    assert ijops.bin(img, 2, method="max", engine=engine).tolist() == [[4]]
    # 1.53t's median of a 2x2 bin is its minimum (sorted[n - n//2 - 2]).
    assert ijops.bin(img, 2, method="median", engine=engine).tolist() == [[1]]
    full = np.full((2, 2), 200, np.uint8)
    assert ijops.bin(full, 2, method="sum", engine=engine).tolist() == [[255]]  # clamped
    flt = np.array([[0.1, 0.2], [0.3, 0.4]], np.float32)
    expected = ((np.float32(0.1) + np.float32(0.2)) + np.float32(0.3) + np.float32(0.4)) / np.float32(4)
    out = ijops.bin(flt, 2, engine=engine)
    assert out.dtype == np.float32 and out[0, 0] == expected


@ENGINES
def test_bin_z_hand_computed(engine):
    stack = np.stack([np.full((2, 2), 1, np.uint16), np.full((2, 2), 2, np.uint16),
                      np.full((2, 2), 7, np.uint16)])
    out = ijops.bin(stack, 1, 2, engine=engine)                # third slice dropped
    assert out.shape == (1, 2, 2) and out.dtype == np.uint16
    assert (out == 2).all()                                       # 1.5 -> 2
    assert (ijops.bin(stack, 1, 2, method="max", engine=engine) == 2).all()


@ENGINES
def test_upsample_nearest_hand_computed(engine):
    img = np.array([[1, 2], [3, 4]], np.uint16)
    assert ijops.upsample_nearest(img, (4, 4), engine=engine).tolist() == np.repeat(
        np.repeat(img, 2, 0), 2, 1).tolist()
    row = np.array([[10, 20, 30]], np.uint8)
    # xs = (x - 2.5) / (5/3) + 1.5, truncated: 0, 0, 1, 1, 2
    assert ijops.upsample_nearest(row, (1, 5), engine=engine).tolist() == [[10, 10, 20, 20, 30]]
    stack = np.stack([img, img + 10]).astype(np.uint16)
    out = ijops.upsample_nearest(stack, (4, 2, 2), engine=engine)
    assert out[:, 0, 0].tolist() == [1, 1, 11, 11]
    # ImageJ divides by the scale: for 21 -> 91, x = 13 maps to source 2
    # ((13 - 45.5) / (91/21) + 10.5 = 3.0 - 1 ulp), where x * 21/91 would give 3.
    wide = np.arange(21, dtype=np.uint8)[np.newaxis]
    assert ijops.upsample_nearest(wide, (1, 91), engine=engine)[0, 13] == 2


@ENGINES
def test_max_project_hand_computed(engine):
    stack = np.array([[[1.0, np.nan]], [[np.nan, np.nan]], [[-2.0, np.nan]]], np.float32)
    out = ijops.max_project(stack, engine=engine)
    assert out.dtype == np.float32
    assert out[0, 0] == 1.0 and out[0, 1] == np.float32(-3.4028235e38)
    ints = np.array([[[3, 250]], [[7, 1]]], np.uint8)
    assert ijops.max_project(ints, engine=engine).tolist() == [[7, 250]]


@ENGINES
def test_convert_to_16bit_hand_computed(engine):
    img = np.array([[0.0, 0.5, 1.0, np.nan]], np.float32)
    # 0.5 * 65535 = 32767.5 -> 32768 (round half up); NaN -> 0.
    assert ijops.convert_to_16bit(img, engine=engine).tolist() == [[0, 32768, 65535, 0]]
    assert ijops.convert_to_16bit(np.array([[7, 255]], np.uint8), engine=engine).tolist() == [[7, 255]]
    # The range is stored in float32: 1000.1 and 1000.3 become 1000.0999755859375 and 1000.2999877929688.
    probe = np.array([[1000.2]], np.float32)
    lo, hi = float(np.float32(1000.1)), float(np.float32(1000.3))
    expected = int(np.floor((float(probe[0, 0]) - lo) * (65535.0 / (hi - lo)) + 0.5))
    assert ijops.convert_to_16bit(probe, (1000.1, 1000.3), engine=engine).tolist() == [[expected]]
    # A stack uses the whole stack's range by default.
    stack = np.array([[[0.0]], [[2.0]]], np.float32)
    assert ijops.convert_to_16bit(stack, engine=engine).ravel().tolist() == [0, 65535]


# ---------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------

def test_bin_rejects_bad_input():
    with pytest.raises(InputError, match=r"2D \(Y, X\) or 3D \(Z, Y, X\)"):
        ijops.bin(np.zeros(10, np.uint8), 2)
    with pytest.raises(InputError, match="method must be one of"):
        ijops.bin(np.zeros((4, 4), np.uint8), 2, method="mean")
    with pytest.raises(InputError, match="larger than the image"):
        ijops.bin(np.zeros((4, 4), np.uint8), 5)
    with pytest.raises(InputError, match="needs a 3D"):
        ijops.bin(np.zeros((4, 4), np.uint8), 2, z=2)
    with pytest.raises(InputError, match="whole numbers >= 1"):
        ijops.bin(np.zeros((4, 4), np.uint8), 1.5)
    with pytest.raises(ValueError, match="engine must be one of"):
        ijops.bin(np.zeros((4, 4), np.uint8), 2, engine="fiji")


def test_resize_and_convert_reject_bad_input():
    with pytest.raises(InputError, match="must have 2 positive sizes"):
        ijops.upsample_nearest(np.zeros((4, 4), np.uint8), (8, 8, 8))
    with pytest.raises(InputError, match="shape must be a tuple"):
        ijops.upsample_nearest(np.zeros((4, 4), np.uint8), 8)
    with pytest.raises(InputError, match="min <= max"):
        ijops.convert_to_16bit(np.zeros((4, 4), np.float32), (5, 1))
    with pytest.raises(InputError, match="ImageJ works on uint8, uint16 and float32"):
        ijops.convert_to_16bit(np.zeros((4, 4), np.complex64))
    with pytest.raises(InputError, match=r"must be 3D \(Z, Y, X\)"):
        ijops.max_project(np.zeros((4, 4), np.uint8))
