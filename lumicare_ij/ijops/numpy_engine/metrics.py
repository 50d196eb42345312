"""The SNR plugin's MAE and Coloc 2's masked Pearson, in NumPy.

Neither plugin is part of ImageJ 1.53t itself; these are the published
formulas, evaluated in double with sequential (array-order) sums as a Java
loop over the pixels would do them.
"""

from __future__ import annotations

import numpy as np

SOURCES = {
    "mask_mae": ("lumicare_ij numpy: published SNR-plugin formula (BIG, EPFL): "
                 "mean |reference - test| over all pixels, in double"),
    "masked_pearson": ("lumicare_ij numpy: Coloc 2 'Fast' Pearson formula "
                       "(mask > 0.001, sums in double in array order)"),
}

_CHUNK = 1 << 20


def _sequential_sum(values: np.ndarray) -> float:
    """Left-to-right double sum, as Java's ``s += v`` loop (not NumPy's pairwise sum).

    ``np.cumsum`` accumulates strictly in order; chunks carry the running
    total so that memory stays bounded for large stacks.
    """
    flat = np.ravel(values)
    total = np.float64(0.0)
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start:start + _CHUNK].astype(np.float64)
        chunk[0] = total + chunk[0]
        total = np.cumsum(chunk)[-1]
    return float(total)


def mask_mae(reference_mask, test_mask):
    """Mean absolute error ``(1/N) * sum |reference - test|``, the SNR plugin's MAE.

    Differences are taken in double (exact for 8/16-bit and, almost always,
    for float32 data); N counts every pixel. For 0/255 masks the result is
    255 times the fraction of pixels that disagree.
    """
    diff = np.abs(reference_mask.astype(np.float64) - test_mask.astype(np.float64))
    with np.errstate(invalid="ignore"):
        return _sequential_sum(diff) / diff.size


def masked_pearson(image_a, image_b, mask):
    """Coloc 2's Pearson's R ("no threshold", Fast implementation) under a mask.

    A pixel counts iff its mask value is > 0.001. With ``x, y, xx, xy, yy``
    the double sums over those pixels in array order and ``n`` their number::

        r = (xy - x*y/n) / sqrt((xx - x*x/n) * (yy - y*y/n))

    written as Coloc 2 does (``1/n`` first, products left to right). Coloc 2
    turns a NaN or infinite result (no pixels, a constant image, NaN data)
    into NaN.
    """
    inside = mask.astype(np.float64) > 0.001
    x = image_a[inside].astype(np.float64)
    y = image_b[inside].astype(np.float64)
    with np.errstate(all="ignore"):
        sx, sy = _sequential_sum(x), _sequential_sum(y)
        sxx, syy, sxy = _sequential_sum(x * x), _sequential_sum(y * y), _sequential_sum(x * y)
        return _pearson_from_sums(sx, sy, sxx, syy, sxy, int(x.size))


def _pearson_from_sums(sx, sy, sxx, syy, sxy, n) -> float:
    """Coloc 2 ``PearsonsCorrelation.fastPearsons`` from its five sums."""
    with np.errstate(all="ignore"):
        inv_count = np.float64(1.0) / np.float64(n)
        num = np.float64(sxy) - (np.float64(sx) * sy * inv_count)
        var_x = np.float64(sxx) - (np.float64(sx) * sx * inv_count)
        var_y = np.float64(syy) - (np.float64(sy) * sy * inv_count)
        r = num / np.sqrt(var_x * var_y)
    return float(r) if np.isfinite(r) else float("nan")
