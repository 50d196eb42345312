"""Subtract Background (rolling ball): the numpy engine must equal ImageJ 1.53t bit for bit.

Both engines run through the public API on all 290 seeded images of
``generated_images(n_per_kind=30)`` (the set the other ijops tests use) in
8, 16 and 32 bits, for 5 radii (with and without shrinking), light
background and smoothing on and off; then 10 more radii on 29 other seeded
images, thin images, NaN images and stacks. Float results are compared as
bit patterns, so NaN positions and signed zeros must agree too: no
tolerance. These tests never skip: if ImageJ cannot start, they fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.ijops._checks import InputError
from lumicare_ij.ijops.numpy_engine.background import RadiusTooLargeError, rolling_ball

from .images import generated_images

RADII = (5, 2.5, 12, 25, 50)            # 5 is the paper's; 12-50 shrink the image by 2 and 4
IMAGES = list(generated_images(n_per_kind=30))          # 290 images


def assert_identical(a: np.ndarray, b: np.ndarray, context: str = "") -> None:
    assert a.dtype == b.dtype and a.shape == b.shape, context
    if not np.array_equal(a.view(np.uint8), b.view(np.uint8)):
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b))) if a.dtype == np.float32 else a != b
        raise AssertionError(f"{context}: {int(differ.sum())} of {a.size} pixels differ")


def both(image, radius, light=False, smoothing=True):
    ours = ijops.subtract_background(image, radius, light, smoothing, engine="numpy")
    theirs = ijops.subtract_background(image, radius, light, smoothing, engine="imagej")
    assert_identical(ours, theirs, f"radius={radius} light={light} smoothing={smoothing}")
    return ours


# ---------------------------------------------------------------------------
# Conformance: numpy engine == real ImageJ
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,image", IMAGES, ids=[n for n, _ in IMAGES])
def test_matches_imagej(name, image):
    for radius in RADII:
        for light in (False, True):
            for smoothing in (True, False):
                both(image, radius, light, smoothing)


@pytest.mark.parametrize("radius", [0.3, 1, 7.5, 10, 10.01, 30, 30.5, 100, 101, 150])
def test_other_radii_match_imagej(radius):
    for name, image in generated_images(n_per_kind=1, seed=11):
        if image.shape[1] > 8:             # radius > 100 needs 9+ pixel wide images (see below)
            both(image, radius, light=name.startswith("blobs"))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_stack_is_processed_slice_by_slice(dtype):
    planes = [img for _, img in generated_images(4, seed=5, dtypes=(dtype,)) if img.shape == (64, 64)][:3]
    stack = np.stack(planes)
    for radius in (5, 25):
        ours = both(stack, radius)
        for k, plane in enumerate(planes):
            assert_identical(ours[k], ijops.subtract_background(plane, radius))


@pytest.mark.parametrize("shape,radius", [((1, 1), 5), ((1, 7), 3), ((7, 1), 3), ((2, 30), 12),
                                          ((3, 40), 50), ((40, 3), 12), ((8, 50), 150)])
def test_thin_images_match_imagej(shape, radius):
    # Heights <= the shrink factor give a one-line small image, which ImageJ
    # interpolates against its initial all-zero line: reproduced too.
    rng = np.random.default_rng(4)
    for dtype in (np.uint8, np.uint16, np.float32):
        both((rng.random(shape) * 200).astype(dtype), radius)


def test_nan_pixels():
    image = dict(generated_images(0, dtypes=(np.float32,)))["nan-float32"]
    for radius in (5, 25):
        out = both(image, radius)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(image))
    all_nan = np.full((12, 12), np.nan, np.float32)
    both(all_nan, 5)


# ---------------------------------------------------------------------------
# Hand-computed values, checked on both engines
# ---------------------------------------------------------------------------

@pytest.fixture(params=["numpy", "imagej"])
def engine(request):
    return request.param


def test_ball_geometry():
    # (shrink factor, patch width): the ball is trimmed by 24/24/32/40 %
    assert [(s, b.shape) for s, b in map(rolling_ball, (5, 12, 25, 50, 150))] == [
        (1, (9, 9)), (2, (11, 11)), (2, (21, 21)), (4, (19, 19)), (8, (25, 25))]
    _, ball = rolling_ball(5)
    assert ball.dtype == np.float32
    assert (ball[4, 4], ball[4, 0], ball[0, 0]) == (5.0, 3.0, 0.0)   # sqrt(25 - x^2 - y^2), 0 outside


def test_isolated_peak_is_kept(engine):
    image = np.zeros((25, 25), np.uint8)
    image[12, 7] = 200
    out = ijops.subtract_background(image, 5, smoothing=False, engine=engine)
    np.testing.assert_array_equal(out, image)        # the ball cannot enter a 1-pixel peak


def test_light_background(engine):
    image = np.full((30, 30), 200, np.uint8)
    image[10:13, 10:13] = 50
    out = ijops.subtract_background(image, 5, light_background=True, smoothing=False, engine=engine)
    expected = np.full((30, 30), 255, np.uint8)      # 200 - 200 + 255.5, clamped
    expected[10:13, 10:13] = 105                     # 50 - 200 + 255.5, truncated
    np.testing.assert_array_equal(out, expected)


def test_constant_image(engine):
    # The 3-point mean multiplies by 0.33333333f, so the background of a
    # constant 100 is slightly below 100: 8-bit output 0, float output tiny.
    out8 = ijops.subtract_background(np.full((20, 30), 100, np.uint8), 5, engine=engine)
    assert not out8.any()
    out32 = ijops.subtract_background(np.full((20, 30), 100, np.float32), 5, engine=engine)
    assert np.all(np.abs(out32) < 1e-4)


def test_integer_input_is_converted_like_imagej(engine):
    image = (np.arange(30 * 40).reshape(30, 40) % 997).astype(np.int32)
    out = ijops.subtract_background(image, 5, engine=engine)
    assert out.dtype == np.uint16
    assert_identical(out, ijops.subtract_background(image.astype(np.uint16), 5, engine=engine))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("radius", [0, -5, float("nan"), float("inf")])
def test_bad_radius_is_refused(radius):
    with pytest.raises(InputError, match="radius must be a positive number"):
        ijops.subtract_background(np.zeros((10, 10), np.uint8), radius)


def test_radius_too_large_for_a_narrow_image(engine):
    # ImageJ 1.53t itself fails here (ArrayIndexOutOfBoundsException): both
    # engines refuse the input with the same message instead.
    with pytest.raises(RadiusTooLargeError, match="only 2 pixels wide"):
        ijops.subtract_background(np.zeros((40, 2), np.uint8), 12, engine=engine)
    assert issubclass(RadiusTooLargeError, InputError)


def test_wrong_rank_is_refused():
    with pytest.raises(InputError, match="must be 2D"):
        ijops.subtract_background(np.zeros((2, 2, 5, 5), np.uint8), 5)
    with pytest.raises(InputError, match="dtype"):
        ijops.subtract_background(np.zeros((5, 5), np.complex64), 5)
