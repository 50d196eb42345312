"""SNR-plugin MAE and Coloc 2 masked Pearson: the two engines agree on the published formulas.

Neither plugin is in ImageJ 1.53t nor on Maven Central, so nothing here is
compared with the SNR plugin or Coloc 2 themselves: both engines evaluate
the plugins' published formulas (the imagej engine with ImageJ's own pixel
operations and ``FloatStatistics`` sums; the Pearson formula itself is one
shared function, ``ijops._coloc.pearson_from_sums``). The mask rule
``mask > 0.001`` is Coloc 2's (``sc.fiji.coloc.gadgets.MaskFactory.createMask``
in github.com/fiji/Colocalisation_Analysis, read, not run). The engines
must agree exactly for 8/16-bit data, whose sums are exact integers, and to
``REL`` for float32 data (see there); each result must say where it came
from.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.ijops._checks import InputError

from ._conformance import report, same_number, start_imagej
from .images import SIZES, generated_images, generated_masks, generated_stacks

pytestmark = pytest.mark.imagej

IMAGES = list(generated_images(n_per_kind=30))
MASKS = list(generated_masks(n=60))
# float32 data only. Not a libm difference: the engines sum differently (the
# imagej engine recovers each sum as FloatStatistics' mean * count, a few ulps
# off a sequential double sum), and Pearson's numerator and variances are
# differences of nearly equal sums, which amplifies that (observed here: up
# to 9e-11 relative). An absolute 1e-12 covers results near 0.
REL = 1e-9


@pytest.fixture(scope="module", autouse=True)
def imagej():
    return start_imagej()


def _pairs():
    """(name, a, b, mask) cases: two images of one size and dtype, and a mask of that size."""
    by_key: dict = {}
    for name, image in IMAGES:
        by_key.setdefault((image.shape, image.dtype.str), []).append((name, image))
    masks = {shape: [m for _, m in MASKS if m.shape == shape] for shape in SIZES}
    rng = np.random.default_rng(5)
    cases = []
    for (shape, _), group in by_key.items():
        for i, (name, image) in enumerate(group):
            partner_name, partner = group[(i + 1) % len(group)]
            pool = masks.get(shape) or [np.where(rng.random(shape) < 0.5, 255, 0).astype(np.uint8)]
            mask = pool[i % len(pool)]
            if i % 5 == 3:
                mask = mask.astype(np.float32) / 255 * rng.uniform(0.0005, 2)  # float mask near 0.001
            elif i % 5 == 4:
                mask = mask.astype(np.uint16)
            cases.append((f"{name}~{partner_name}", image, partner, mask))
    return cases


PAIRS = _pairs()


def _check(fn, cases, exact_for_ints=True):
    failures = []
    for name, *args in cases:
        r_np = fn(*args, engine="numpy")
        r_ij = fn(*args, engine="imagej")
        ints = all(a.dtype != np.float32 for a in args[:2])
        rel = 0.0 if (exact_for_ints and ints) else REL
        if not same_number(r_np, r_ij, rel=rel, abs_tol=0.0 if rel == 0 else 1e-12):
            failures.append(f"{name}: numpy {float(r_np)!r} vs ImageJ {float(r_ij)!r}")
    return failures


# ---------------------------------------------------------------------------
# Conformance
# ---------------------------------------------------------------------------

def test_masked_pearson_matches_imagej():
    failures = _check(ijops.masked_pearson, PAIRS)
    assert not failures, report(failures)


def test_masked_pearson_of_an_image_with_itself_and_shifted():
    cases = []
    for name, image, _, mask in PAIRS[::4]:
        cases.append((f"{name} self", image, image, mask))
        cases.append((f"{name} shifted", image, np.roll(image, 2, axis=0), mask))
    failures = _check(ijops.masked_pearson, cases)
    assert not failures, report(failures)


def test_mask_mae_matches_imagej_on_masks():
    cases = []
    for i, (name, mask) in enumerate(MASKS):
        for other_name, other in MASKS[i + 1:]:
            if other.shape == mask.shape:
                cases.append((f"{name}~{other_name}", mask, other))
    failures = _check(ijops.mask_mae, cases)
    assert not failures, report(failures)


def test_mask_mae_matches_imagej_on_images():
    failures = _check(ijops.mask_mae, [(n, a, b) for n, a, b, _ in PAIRS])
    assert not failures, report(failures)


def test_metrics_on_stacks_match_imagej():
    stacks = [s for _, s in generated_stacks(n_per_dtype=4)]
    failures = []
    rng = np.random.default_rng(9)
    for i, stack in enumerate(stacks):
        other = np.roll(stack, 1, axis=-1)
        mask = np.where(rng.random(stack.shape) < 0.6, 255, 0).astype(np.uint8)
        for fn, args in ((ijops.masked_pearson, (stack, other, mask)), (ijops.mask_mae, (stack, other))):
            a, b = fn(*args, engine="numpy"), fn(*args, engine="imagej")
            exact = stack.dtype != np.float32
            if not same_number(a, b, rel=0.0 if exact else REL, abs_tol=0.0 if exact else 1e-12):
                failures.append(f"stack {i} {stack.dtype} {fn.__name__}: {float(a)!r} vs {float(b)!r}")
    assert not failures, report(failures)


# ---------------------------------------------------------------------------
# Hand-computed values and sources
# ---------------------------------------------------------------------------

ENGINES = pytest.mark.parametrize("engine", ijops.ENGINES)


@ENGINES
def test_mask_mae_hand_computed(engine):
    ref = np.zeros((4, 5), np.uint8)
    ref[:2] = 255
    test = ref.copy()
    test[0, :3] = 0                                   # 3 of 20 pixels disagree
    assert ijops.mask_mae(ref, test, engine=engine) == pytest.approx(255 * 3 / 20, rel=1e-15)
    assert ijops.mask_mae(255 - ref, 255 - test, engine=engine) == ijops.mask_mae(ref, test, engine=engine)
    assert ijops.mask_mae(ref, ref, engine=engine) == 0.0
    floats = np.array([[1.5, -2.0]], np.float32)
    assert ijops.mask_mae(floats, np.zeros_like(floats), engine=engine) == pytest.approx(1.75)
    assert math.isnan(ijops.mask_mae(np.array([[np.nan, 1]], np.float32),
                                     np.array([[0, 1]], np.float32), engine=engine))


@ENGINES
def test_masked_pearson_hand_computed(engine):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    mask = np.ones((3, 4), np.uint8)
    assert ijops.masked_pearson(a, 2 * a + 3, mask, engine=engine) == pytest.approx(1.0, abs=1e-12)
    assert ijops.masked_pearson(a, -a, mask, engine=engine) == pytest.approx(-1.0, abs=1e-12)
    # Only mask > 0.001 counts: 0.0009 is outside, 0.0011 inside. (float32(0.001)
    # is 0.0010000000475 > 0.001, so it counts too.)
    b = a.copy()
    b[0, 0] = 100.0                                   # an outlier hidden by the mask
    m = np.full((3, 4), 0.0011, np.float32)
    m[1, 1] = np.float32(0.001)
    m[0, 0] = 0.0009
    assert ijops.masked_pearson(a, b, m, engine=engine) == pytest.approx(1.0, abs=1e-12)
    m[1, 1] = 0.0                                     # 10 pixels instead of 11: same r
    assert ijops.masked_pearson(a, b, m, engine=engine) == pytest.approx(1.0, abs=1e-12)
    m[0, 0] = np.float32(0.001)                       # the outlier is now inside
    assert ijops.masked_pearson(a, b, m, engine=engine) < 0.9
    assert ijops.masked_pearson(a, b, mask, engine=engine) < 0.9
    # A constant channel or an empty mask: Coloc 2 reports NaN.
    assert math.isnan(ijops.masked_pearson(a, np.ones_like(a), mask, engine=engine))
    assert math.isnan(ijops.masked_pearson(a, b, np.zeros_like(mask), engine=engine))


def test_results_say_where_they_come_from():
    ref = np.array([[0, 255]], np.uint8)
    mae_np = ijops.mask_mae(ref, ref, engine="numpy")
    mae_ij = ijops.mask_mae(ref, ref, engine="imagej")
    assert isinstance(mae_np, ijops.Measurement) and isinstance(mae_ij, ijops.Measurement)
    assert "SNR" in mae_np.source and mae_np.source.startswith("lumicare_ij numpy")
    assert "ImageJ 1.53t core (formula computed in Java, not the Fiji plugin)" in mae_ij.source
    a = np.array([[1, 2, 3]], np.float32)
    r_ij = ijops.masked_pearson(a, a, np.ones_like(a), engine="imagej")
    r_np = ijops.masked_pearson(a, a, np.ones_like(a), engine="numpy")
    assert "Coloc 2" in r_np.source
    assert "ImageJ 1.53t core (formula computed in Java, not the Fiji plugin)" in r_ij.source
    assert "Fiji" not in r_np.source.replace("Fiji plugin", "")


# ---------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------

def test_metrics_reject_bad_input():
    a = np.zeros((4, 5), np.uint8)
    with pytest.raises(InputError, match=r"reference_mask has shape \(4, 5\) but test_mask has shape \(5, 4\)"):
        ijops.mask_mae(a, a.T)
    with pytest.raises(InputError, match="image_a has shape .* but mask has shape"):
        ijops.masked_pearson(a, a, np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match="image_a has shape .* but image_b has shape"):
        ijops.masked_pearson(a, np.zeros((4, 4), np.uint8), a)
    with pytest.raises(InputError, match=r"must be 2D \(Y, X\) or 3D"):
        ijops.mask_mae(np.zeros(5, np.uint8), np.zeros(5, np.uint8))
