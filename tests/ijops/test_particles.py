"""Analyze Particles: the numpy engine must give ImageJ 1.53t's masks and measurements.

Every mask of the seeded generators (60 + 6 of ``generated_masks``, 51 of
``topology_masks``: 117) is analysed by both engines through the public API,
for 5 size ranges; masks must be pixel-identical and result tables equal
(same rows in the same order). Area, perimeter, circularity, solidity and
the centroid involve only +, -, *, / and sqrt (correctly rounded in Java and
C alike), so they must be identical doubles. Major, minor, angle, AR and
Round go through atan, sin and cos (see ``TRIG_RTOL``). These tests never
skip: if ImageJ cannot start, they fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.ijops import jvm
from lumicare_ij.ijops._checks import InputError

from .images import generated_masks, topology_masks

KEYS = ("area", "perimeter", "circularity", "aspect_ratio", "round", "solidity",
        "major", "minor", "angle", "x_centroid", "y_centroid")
# No sin/cos/atan involved (only +, -, *, / and sqrt, which IEEE 754 rounds
# correctly in Java and C alike): these must be identical doubles.
EXACT_KEYS = ("area", "perimeter", "circularity", "solidity", "x_centroid", "y_centroid")
# Major, minor, angle, AR and Round come from EllipseFitter's atan/sin/cos.
# Java's Math.atan/sin/cos may differ from C's libm (NumPy) in the last bit,
# and minor = sqrt(1/|a11 - z|) can amplify that by cancellation. Observed
# here: 72 of 7081 rows differ, by at most 3e-15 relative; the tolerance
# leaves room for another platform's libm.
TRIG_RTOL = 1e-12
SIZE_RANGES = [(0, math.inf), (1, 1), (5, 60), (20, math.inf), (0, 8)]
CORNER_CUT = 2 - math.sqrt(2)          # what each counted corner takes off the perimeter
MASKS = list(generated_masks()) + list(topology_masks())


def measure(mask, engine, lo=0, hi=math.inf):
    return ijops.measure_particles(mask, lo, hi, engine=engine)


def assert_same_table(a: dict, b: dict, context: str = "") -> None:
    assert tuple(a) == KEYS and tuple(b) == KEYS, context
    n = len(b["area"])
    for key in KEYS:
        assert a[key].dtype == np.float64 and a[key].shape == (n,), f"{context} {key}"
        if key in EXACT_KEYS:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{context} {key}")
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=TRIG_RTOL, atol=0, err_msg=f"{context} {key}")


def test_imagej_engine_runs_pinned_version():
    assert str(jvm.imagej_classes().IJ.getVersion()) == "1.53t"


# ---------------------------------------------------------------------------
# Conformance: numpy engine == real ImageJ
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,mask", MASKS, ids=[n for n, _ in MASKS])
def test_particle_masks_match_imagej(name, mask):
    for lo, hi in SIZE_RANGES:
        for include in (False, True):
            ours = ijops.particle_mask(mask, lo, hi, include, engine="numpy")
            theirs = ijops.particle_mask(mask, lo, hi, include, engine="imagej")
            assert ours.dtype == np.uint8 and ours.shape == mask.shape
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{name} size {lo}-{hi} include={include}")


@pytest.mark.parametrize("name,mask", MASKS, ids=[n for n, _ in MASKS])
def test_measurements_match_imagej(name, mask):
    for lo, hi in SIZE_RANGES:
        assert_same_table(measure(mask, "numpy", lo, hi), measure(mask, "imagej", lo, hi), f"{name} {lo}-{hi}")


def test_stack_is_processed_slice_by_slice():
    planes = [m for _, m in generated_masks(12) if m.shape == (64, 64)][:3]
    planes.append(np.zeros((64, 64), np.uint8))
    stack = np.stack(planes)
    for include in (False, True):
        ours = ijops.particle_mask(stack, 4, 200, include, engine="numpy")
        theirs = ijops.particle_mask(stack, 4, 200, include, engine="imagej")
        np.testing.assert_array_equal(ours, theirs)
        for k, plane in enumerate(planes):
            np.testing.assert_array_equal(ours[k], ijops.particle_mask(plane, 4, 200, include))


# ---------------------------------------------------------------------------
# Hand-computed values, checked on both engines
# ---------------------------------------------------------------------------

@pytest.fixture(params=["numpy", "imagej"])
def engine(request):
    return request.param


def test_single_pixel(engine):
    mask = np.zeros((7, 7), np.uint8)
    mask[3, 2] = 255
    t = measure(mask, engine)
    assert t["area"].tolist() == [1.0]
    assert t["perimeter"][0] == pytest.approx(2 * math.sqrt(2), rel=1e-15)   # 4 - 2 corners cut
    assert t["circularity"][0] == 1.0                                         # 4*pi/8 capped at 1
    assert t["major"][0] == t["minor"][0] == pytest.approx(2 / 1.772453851, rel=1e-15)
    assert t["solidity"][0] == 1.0
    assert (t["x_centroid"][0], t["y_centroid"][0]) == (2.5, 3.5)


def test_square(engine):
    mask = np.zeros((16, 15), np.uint8)
    mask[3:13, 2:12] = 255
    t = measure(mask, engine)
    perimeter = 40 - 4 * CORNER_CUT
    assert t["perimeter"][0] == pytest.approx(perimeter, rel=1e-15)
    assert t["circularity"][0] == pytest.approx(4 * math.pi * 100 / perimeter ** 2, rel=1e-14)
    assert t["major"][0] == pytest.approx(2 * math.sqrt(100 / math.pi), rel=1e-12)   # area-equalised
    assert t["aspect_ratio"][0] == pytest.approx(1.0, rel=1e-12)
    assert t["round"][0] == pytest.approx(1.0, rel=1e-12)
    assert t["solidity"][0] == 1.0
    assert (t["x_centroid"][0], t["y_centroid"][0]) == (7.0, 8.0)


def test_one_pixel_lines_corner_count_depends_on_start(engine):
    # getTracedPerimeter counts a vertex after a unit side only if the
    # previous vertex was not counted, starting from the Wand's first corner:
    # a horizontal 5x1 line loses 3 corners, a vertical one only 2.
    mask = np.zeros((9, 12), np.uint8)
    mask[1, 2:7] = 255
    mask[3:8, 9] = 255
    t = measure(mask, engine)
    assert t["perimeter"] == pytest.approx([12 - 3 * CORNER_CUT, 12 - 2 * CORNER_CUT], rel=1e-15)
    # no mask for one-pixel-wide particles: EllipseFitter describes the rectangle
    assert t["major"] == pytest.approx([10 / 1.772453851] * 2, rel=1e-15)
    assert t["minor"] == pytest.approx([2 / 1.772453851] * 2, rel=1e-15)
    assert t["angle"].tolist() == [0.0, 90.0]
    assert t["x_centroid"].tolist() == [4.5, 9.5]


def test_holes_are_excluded_from_area_but_not_from_outline(engine):
    # ImageJ 1.53t measures the flood-filled particle: holes do not count in
    # the area, centroid or ellipse, while the perimeter is the outer outline
    # only and solidity uses the hull of that outline.
    ring = np.zeros((21, 21), np.uint8)
    ring[3:18, 3:18] = 255
    ring[6:15, 6:15] = 0
    t = measure(ring, engine)
    assert t["area"].tolist() == [144.0]
    assert t["perimeter"][0] == pytest.approx(60 - 4 * CORNER_CUT, rel=1e-15)
    assert t["solidity"][0] == 144 / 225


def test_include_holes_swallows_particles_in_holes(engine):
    ring = dict(generated_masks(0))["particle-in-hole"]   # 144-pixel ring around a 9-pixel particle

    def count(lo, hi, include):
        return int((ijops.particle_mask(ring, lo, hi, include, engine=engine) == 255).sum())

    assert count(0, math.inf, False) == 153
    assert count(0, math.inf, True) == 225           # filled outline, inner particle inside it
    assert count(0, 200, True) == 0                  # the filled ring is too big; its content goes too
    assert count(10, math.inf, False) == 144
    assert count(9, 9, False) == 9                   # size limits are inclusive
    assert count(225, 225, True) == 225
    assert measure(ring, engine)["area"].tolist() == [144.0, 9.0]


def test_rows_follow_raster_order_of_first_pixel(engine):
    mask = np.zeros((12, 12), np.uint8)
    mask[4:11, 1:3] = 255      # tall particle, first pixel in row 4
    mask[2, 9:11] = 255        # small particle, first pixel in row 2
    mask[4, 6] = 255           # single pixel in row 4, right of the tall one
    assert measure(mask, engine)["area"].tolist() == [2.0, 14.0, 1.0]


def test_diagonal_pixels_form_one_particle(engine):
    mask = np.zeros((10, 10), np.uint8)
    mask[2, 2] = mask[3, 3] = mask[4, 4] = 255     # 8-connected chain
    mask[4, 6] = 255                                # two columns away: another particle
    assert measure(mask, engine)["area"].tolist() == [3.0, 1.0]
    # the chain's outline has 12 unit sides; every other vertex is a cut corner
    assert measure(mask, engine)["perimeter"][0] == pytest.approx(12 - 6 * CORNER_CUT, rel=1e-15)


def test_empty_and_full_masks(engine):
    empty = measure(np.zeros((9, 9), np.uint8), engine)
    assert all(v.shape == (0,) and v.dtype == np.float64 for v in empty.values())
    assert not ijops.particle_mask(np.zeros((9, 9), np.uint8), engine=engine).any()
    full = measure(np.full((9, 11), 255, np.uint8), engine)
    assert full["area"].tolist() == [99.0]
    assert full["perimeter"][0] == pytest.approx(40 - 4 * CORNER_CUT, rel=1e-15)
    assert (ijops.particle_mask(np.full((9, 11), 255, np.uint8), engine=engine) == 255).all()


def test_boolean_masks_are_accepted(engine):
    mask = np.zeros((8, 8), bool)
    mask[2:5, 2:6] = True
    assert measure(mask, engine)["area"].tolist() == [12.0]


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

def test_non_binary_mask_is_refused():
    mask = np.zeros((5, 5), np.uint8)
    mask[1, 1] = 1
    with pytest.raises(InputError, match="only 0 and 255"):
        ijops.particle_mask(mask)
    with pytest.raises(InputError, match="8-bit binary mask"):
        ijops.measure_particles(np.zeros((5, 5), np.uint16) + 300)


def test_measure_needs_a_2d_mask():
    with pytest.raises(InputError, match=r"2D \(Y, X\)"):
        ijops.measure_particles(np.zeros((2, 5, 5), np.uint8))


def test_bad_size_range_is_refused():
    with pytest.raises(InputError, match="min_size <= max_size"):
        ijops.particle_mask(np.zeros((5, 5), np.uint8), 10, 5)
    with pytest.raises(InputError, match="min_size"):
        ijops.measure_particles(np.zeros((5, 5), np.uint8), -1)


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be one of"):
        ijops.particle_mask(np.zeros((5, 5), np.uint8), engine="fiji")
