"""The SNR plugin's MAE and Coloc 2's masked Pearson, computed with ImageJ 1.53t core classes.

Plain ImageJ has neither the SNR plugin nor Coloc 2, so this engine computes
their published formulas in Java with ImageJ's own pixel operations
(``FloatProcessor.copyBits`` with ``ij.process.Blitter`` modes and
``multiply``) and sums (``ij.process.FloatStatistics``, a double,
raster-order sum), then combines the sums in Python.

The only subtlety is precision. ImageJ has no double images, and a float32
product or difference would round. So every per-pixel quantity handed to
``FloatStatistics`` is made exact in float32:

* ``|a - b| = max(a, b) - min(a, b)``: the sum of ``|a - b|`` is the sum of
  the (exact) per-pixel maxima minus the sum of the minima;
* ``a * b`` uses Veltkamp's split ``a = a_hi + a_lo`` (12 significant bits
  each, made with float32 ``multiply(4097)`` and subtractions), so that each
  partial product ``a_hi*b_hi``, ``a_hi*b_lo``, ... is exact in float32.

The sums then agree with a plain double loop to within double rounding
(about 1e-15 relative), far inside the conformance tolerance; for 8/16-bit
data they are exact integers and the results equal the numpy engine's bit
for bit. (The split needs |value| < ~8e34 to avoid float32 overflow, far
beyond any image data.)
"""

from __future__ import annotations

import math

import numpy as np

from .. import jvm
from .._coloc import pearson_from_sums

SOURCES = {
    "mask_mae": ("ImageJ 1.53t core (formula computed in Java, not the Fiji plugin): "
                 "SNR-plugin MAE, mean |reference - test| from ij.process.FloatStatistics "
                 "sums of Blitter MAX and MIN images"),
    "masked_pearson": ("ImageJ 1.53t core (formula computed in Java, not the Fiji plugin): "
                       "Coloc 2 'Fast' Pearson from masked ij.process.FloatStatistics sums "
                       "of exactly split float32 products, combined in Python"),
}

# Smallest float32 strictly above 0.001: "mask > 0.001" as an inclusive float threshold.
_MASK_LEVEL = float(np.nextafter(np.float32(0.001), np.float32(1))
                    if float(np.float32(0.001)) <= 0.001 else np.float32(0.001))




def _planes(image):
    return image if image.ndim == 3 else image[np.newaxis]


def _float_processor(plane):
    # 8/16-bit values are exact in float32.
    return jvm.to_processor(np.ascontiguousarray(plane, dtype=np.float32))


def _combine(ij, a, b, mode):
    out = a.duplicate()
    out.copyBits(b, 0, 0, mode)
    return out


_EXACT_INTEGER_SUM = 2.0 ** 50


def _masked_sum(ij, fp, mask, integral=False):
    """(sum, count) of the finite pixels of ``fp`` under ``mask`` (FloatStatistics).

    FloatStatistics keeps only values within +-Float.MAX_VALUE, so NaN and
    +-Inf drop out of both the sum and the count. It reports the mean; the
    sum is recovered as mean * count, which is within a few units in the last
    place. For integer data (``integral``) the exact sum is an integer, so
    rounding recovers it exactly while it stays below 2**50.
    """
    fp.setMask(mask)
    stats = ij.FloatStatistics(fp, int(ij.Measurements.MEAN), None)
    count = int(stats.pixelCount)
    total = float(stats.mean) * count if count else 0.0
    if integral and abs(total) < _EXACT_INTEGER_SUM:
        total = float(round(total))
    return total, count


def mask_mae(reference_mask, test_mask):
    """``(1/N) * sum |reference - test|`` with ImageJ's Blitter and FloatStatistics."""
    ij = jvm.imagej_classes()
    total, n_pixels, nonfinite = 0.0, 0, False
    for ref, test in zip(_planes(reference_mask), _planes(test_mask)):
        fa, fb = _float_processor(ref), _float_processor(test)
        size = int(fa.getPixelCount())
        n_pixels += size
        if _masked_sum(ij, fa, None)[1] < size or _masked_sum(ij, fb, None)[1] < size:
            # NaN or +-Inf in the data (FloatStatistics skips them): a double
            # loop would give NaN if some |a - b| is NaN, else +Inf.
            diff = _combine(ij, fa, fb, ij.Blitter.DIFFERENCE)
            if np.isnan(jvm.from_processor(diff)).any():
                return float("nan")
            nonfinite = True
            continue
        integral = ref.dtype != np.float32 and test.dtype != np.float32
        high, _ = _masked_sum(ij, _combine(ij, fa, fb, ij.Blitter.MAX), None, integral)
        low, _ = _masked_sum(ij, _combine(ij, fa, fb, ij.Blitter.MIN), None, integral)
        total += high - low
    if nonfinite:
        return float("inf")
    return total / n_pixels


def _split(ij, fp):
    """Veltkamp split in float32: returns (hi, lo) with fp == hi + lo exactly."""
    scaled = fp.duplicate()
    scaled.multiply(4097.0)                                   # c = fl(4097 * x)
    hi = _combine(ij, scaled, _combine(ij, scaled, fp, ij.Blitter.SUBTRACT), ij.Blitter.SUBTRACT)
    lo = _combine(ij, fp, hi, ij.Blitter.SUBTRACT)            # x - hi, exact
    return hi, lo


def _product_sum(ij, a_parts, b_parts, mask, integral):
    """Masked sum of a*b from split parts; every partial product is exact in float32.

    For integer images the parts are integers too, so each partial sum is
    recovered exactly (see :func:`_masked_sum`).
    """
    total = 0.0
    for pa in a_parts:
        for pb in b_parts:
            total += _masked_sum(ij, _combine(ij, pa, pb, ij.Blitter.MULTIPLY), mask, integral)[0]
    return total


def masked_pearson(image_a, image_b, mask):
    """Coloc 2's "Fast" Pearson's R under ``mask > 0.001``, sums from ImageJ.

    The mask is made with ``FloatProcessor.setThreshold`` + ``createMask``
    (values >= the smallest float above 0.001), then the five sums
    x, y, xx, yy, xy come from masked ``FloatStatistics``.
    """
    ij = jvm.imagej_classes()
    sx = sy = sxx = syy = sxy = 0.0
    n = 0
    for pa, pb, pm in zip(_planes(image_a), _planes(image_b), _planes(mask)):
        fm = _float_processor(pm)
        fm.setThreshold(_MASK_LEVEL, math.inf, int(ij.ImageProcessor.NO_LUT_UPDATE))
        region = fm.createMask()
        fa, fb = _float_processor(pa), _float_processor(pb)
        int_a, int_b = pa.dtype != np.float32, pb.dtype != np.float32
        sum_a, count_a = _masked_sum(ij, fa, region, int_a)
        sum_b, count_b = _masked_sum(ij, fb, region, int_b)
        in_mask = int(np.count_nonzero(jvm.from_processor(region)))
        if count_a < in_mask or count_b < in_mask:
            # NaN or +-Inf inside the mask: Coloc 2's sums become non-finite and
            # it reports NaN.
            return float("nan")
        a_parts, b_parts = _split(ij, fa), _split(ij, fb)   # a == a_hi + a_lo exactly
        sx += sum_a
        sy += sum_b
        sxx += _product_sum(ij, a_parts, a_parts, region, int_a)
        syy += _product_sum(ij, b_parts, b_parts, region, int_b)
        sxy += _product_sum(ij, a_parts, b_parts, region, int_a and int_b)
        n += in_mask
    return pearson_from_sums(sx, sy, sxx, syy, sxy, n)
