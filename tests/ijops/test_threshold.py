"""Auto-threshold (all 16 AutoThresholder methods) and Convert to Mask: numpy == ImageJ 1.53t.

Thresholds must be identical numbers of the same type (ints for 8/16-bit,
floats for 32-bit, compared with ``==``) and masks identical arrays, on all
290 seeded images of ``generated_images(n_per_kind=30)`` (8, 16 and 32 bit,
with ImageJ's edge cases) plus 7 extra images, each with a dark and with a
light background, and on 18 seeded stacks. No tolerance anywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.ijops._checks import InputError

from ._conformance import array_mismatch, report, same_number, start_imagej
from .images import generated_images, generated_stacks

pytestmark = pytest.mark.imagej

IMAGES = list(generated_images(n_per_kind=30))          # 290 images
STACKS = list(generated_stacks(n_per_dtype=6))
EXTRAS = [
    ("inf", np.array([[0, 1, np.inf], [2, 3, 4]], np.float32)),
    ("minus-inf", np.array([[0, 1, -np.inf], [2, 3, 4]], np.float32)),
    ("all-nan", np.full((4, 5), np.nan, np.float32)),
    ("one-nan", np.array([[np.nan, 1.0], [2.0, 3.0]], np.float32)),
    ("uint16-full-range", np.array([[0, 65535], [65535, 30000]], np.uint16)),
    ("uint8-two-bins", np.array([[0, 255], [0, 255]], np.uint8)),
    ("uint16-narrow", (30000 + np.arange(12, dtype=np.uint16).reshape(3, 4))),
]


@pytest.fixture(scope="module", autouse=True)
def imagej():
    return start_imagej()


def _same_threshold(a, b) -> bool:
    return (type(a[0]) is type(b[0]) and type(a[1]) is type(b[1])
            and same_number(a[0], b[0]) and same_number(a[1], b[1]))


# ---------------------------------------------------------------------------
# Conformance with ImageJ
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ijops.THRESHOLD_METHODS)
def test_auto_threshold_matches_imagej(method):
    failures = []
    for name, image in IMAGES + EXTRAS:
        for dark in (True, False):
            t_np = ijops.auto_threshold(image, method, dark, engine="numpy")
            t_ij = ijops.auto_threshold(image, method, dark, engine="imagej")
            if not _same_threshold(t_np, t_ij):
                failures.append(f"{name} {image.dtype} dark={dark}: numpy {t_np} vs ImageJ {t_ij}")
    assert not failures, report(failures)


@pytest.mark.parametrize("method", ijops.THRESHOLD_METHODS)
def test_threshold_mask_matches_imagej(method):
    failures = []
    # Every image, with a dark and with a light background.
    cases = [(n, im, dark) for dark in (True, False) for n, im in IMAGES + EXTRAS]
    for name, image, dark in cases:
        problem = array_mismatch(ijops.threshold_mask(image, method, dark, engine="numpy"),
                                 ijops.threshold_mask(image, method, dark, engine="imagej"))
        if problem:
            failures.append(f"{name} {image.dtype} dark={dark}: {problem}")
    assert not failures, report(failures)


@pytest.mark.parametrize("method", ijops.THRESHOLD_METHODS)
def test_threshold_mask_stack_matches_imagej(method):
    failures = []
    for name, stack in STACKS:
        for dark in (True, False):
            problem = array_mismatch(ijops.threshold_mask(stack, method, dark, engine="numpy"),
                                     ijops.threshold_mask(stack, method, dark, engine="imagej"))
            if problem:
                failures.append(f"{name} dark={dark}: {problem}")
    assert not failures, report(failures)


# ---------------------------------------------------------------------------
# Hand-computed values (both engines)
# ---------------------------------------------------------------------------

ENGINES = pytest.mark.parametrize("engine", ijops.ENGINES)


@ENGINES
def test_constant_images(engine):
    # 16-bit constant: max == min, so the threshold collapses to (v, v): all 255.
    const16 = np.full((5, 6), 1234, np.uint16)
    assert ijops.auto_threshold(const16, "Mean", engine=engine) == (1234, 1234)
    assert (ijops.threshold_mask(const16, "Mean", engine=engine) == 255).all()
    # 8-bit constant 100: histogram has one bin, Mean = 100, dark -> (101, 255): empty mask.
    const8 = np.full((5, 6), 100, np.uint8)
    assert ijops.auto_threshold(const8, "Mean", engine=engine) == (101, 255)
    assert (ijops.threshold_mask(const8, "Mean", engine=engine) == 0).all()
    assert ijops.auto_threshold(const8, "Mean", dark=False, engine=engine) == (0, 100)


@ENGINES
def test_mean_hand_computed(engine):
    two = np.array([[10, 10], [90, 90]], np.uint8)
    assert ijops.auto_threshold(two, "Mean", engine=engine) == (51, 255)   # floor(50) + 1
    assert ijops.threshold_mask(two, "Mean", engine=engine).tolist() == [[0, 0], [255, 255]]
    # 16-bit: bins 0 and (int)(2000*256/2001 + 0.5) = 255; mean bin floor(127.5) = 127;
    # lower = 1000 + (128/255)*2000 = 2003.92 -> 2004; upper = 65535.
    img16 = np.array([[1000, 1000], [3000, 3000]], np.uint16)
    assert ijops.auto_threshold(img16, "Mean", engine=engine) == (2004, 65535)
    # light background: (0, t) with t = 1000 + (127/255)*2000 = 1996.08 -> 1996 (0 stays 0).
    assert ijops.auto_threshold(img16, "Mean", dark=False, engine=engine) == (0, 1996)
    # 32-bit: no upper limit is max(max, 1e30); no lower limit min(min, -1e30).
    img32 = img16.astype(np.float32)
    lower, upper = ijops.auto_threshold(img32, "Mean", engine=engine)
    assert isinstance(lower, float) and upper == 1e30
    assert lower == pytest.approx(1000 + 128 / 255 * 2000)
    assert ijops.auto_threshold(img32, "Mean", dark=False, engine=engine)[0] == -1e30


@ENGINES
def test_stack_thresholds_each_slice(engine):
    stack = np.stack([np.array([[10, 10], [90, 90]], np.uint8),
                      np.array([[0, 200], [200, 200]], np.uint8)])
    mask = ijops.threshold_mask(stack, "Mean", engine=engine)
    assert mask.shape == (2, 2, 2) and mask.dtype == np.uint8
    assert mask[0].tolist() == [[0, 0], [255, 255]]        # mean 50
    assert mask[1].tolist() == [[0, 255], [255, 255]]      # mean 150


# ---------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------

def test_threshold_rejects_bad_input():
    with pytest.raises(InputError, match="Unknown auto-threshold method 'Otsu2'; ImageJ offers Default"):
        ijops.auto_threshold(np.zeros((4, 4), np.uint8), "Otsu2")
    with pytest.raises(InputError, match=r"must be 2D \(Y, X\).*split the channels"):
        ijops.auto_threshold(np.zeros((4, 4, 3), np.uint8), "Otsu")
    with pytest.raises(InputError, match=r"must be 2D \(Y, X\) or 3D"):
        ijops.threshold_mask(np.zeros((2, 2, 2, 2), np.uint8), "Otsu")
    with pytest.raises(InputError, match="is empty"):
        ijops.auto_threshold(np.zeros((0, 4), np.uint8))
    with pytest.raises(InputError, match="outside ImageJ's 8/16-bit"):
        ijops.auto_threshold(np.array([[-1, 5]], np.int32))
    # Method names are matched case-insensitively.
    assert ijops.auto_threshold(np.array([[0, 9]], np.uint8), "otsu") == ijops.auto_threshold(
        np.array([[0, 9]], np.uint8), "Otsu")


@pytest.mark.imagej
def test_one_slice_stack_is_thresholded_like_a_single_image():
    rng = np.random.default_rng(4)
    for _ in range(5):
        img = (rng.random((40, 50)) * 60000).astype(np.uint16)
        for engine in ("numpy", "imagej"):
            single = ijops.threshold_mask(img, "Mean", engine=engine)
            np.testing.assert_array_equal(ijops.threshold_mask(img[None], "Mean", engine=engine), single[None])
