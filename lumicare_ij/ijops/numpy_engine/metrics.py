"""The SNR plugin's MAE and Coloc 2's masked Pearson, in NumPy.

Neither plugin is part of ImageJ 1.53t itself; these are the published
formulas, evaluated in double with sequential (array-order) sums as a Java
loop over the pixels would do them.
"""

from __future__ import annotations

import numpy as np

from .._coloc import pearson_from_sums

SOURCES = {
    "mask_mae": ("lumicare_ij numpy: published SNR-plugin formula (BIG, EPFL): "
                 "mean |reference - test| over all pixels, in double"),
    "masked_pearson": ("lumicare_ij numpy: Coloc 2 'Fast' Pearson formula "
                       "(mask > 0.001, sums in double in array order)"),
}

_CHUNK = 1 << 20
_EXACT_LIMIT = 2 ** 53          # every integer up to here is a double
# Chunk for the exact integer sums: a chunk's sums of products of 16-bit
# values stay below 2**17 * 65535**2 < 2**49, so every partial sum that
# NumPy or BLAS forms inside a chunk (in any order, with or without FMA) is
# an exact integer.
_INT_CHUNK = 1 << 17


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


def _is_integral(*arrays) -> bool:
    return all(a.dtype in (np.uint8, np.uint16) for a in arrays)


def mask_mae(reference_mask, test_mask):
    """Mean absolute error ``(1/N) * sum |reference - test|``, the SNR plugin's MAE.

    Differences are taken in double (exact for 8/16-bit and, almost always,
    for float32 data); N counts every pixel. For 0/255 masks the result is
    255 times the fraction of pixels that disagree.
    """
    if _is_integral(reference_mask, test_mask):
        # 8/16-bit: each |reference - test| is an integer >= 0, so the running
        # double sum only grows; while the exact total is <= 2**53 every
        # partial sum is a representable integer and the sequential loop
        # returns the exact total. Computing that total in integers
        # (max - min never wraps in an unsigned type) gives the same double.
        common = np.promote_types(reference_mask.dtype, test_mask.dtype)
        ref, test = reference_mask.astype(common, copy=False), test_mask.astype(common, copy=False)
        diff = np.maximum(ref, test)
        diff -= np.minimum(ref, test)
        total = int(diff.sum(dtype=np.uint64))
        if total <= _EXACT_LIMIT:
            return float(total) / diff.size
    diff = np.abs(reference_mask.astype(np.float64) - test_mask.astype(np.float64))
    with np.errstate(invalid="ignore"):
        return _sequential_sum(diff) / diff.size


# The largest float32 <= 0.001: a float32 value is > 0.001 (compared in
# double) exactly when it is > this float32, so the test needs no double copy.
_BELOW_MASK_LEVEL = np.float32(0.001)
if float(_BELOW_MASK_LEVEL) > 0.001:
    _BELOW_MASK_LEVEL = np.nextafter(_BELOW_MASK_LEVEL, np.float32(0))


def _in_mask(mask: np.ndarray) -> np.ndarray:
    """Coloc 2's mask test ``value > 0.001`` (in double) for a uint8, uint16 or float32 mask."""
    if mask.dtype.kind == "u":
        return mask != 0                          # integers >= 0: > 0.001 means >= 1
    return mask > _BELOW_MASK_LEVEL               # float32 against float32; NaN is outside


def _exact_integer_sums(image_a, image_b, inside):
    """The five Pearson sums of 8/16-bit images under ``inside`` as exact Python ints.

    Pixels outside the mask are multiplied by 0 and add nothing. Each chunk
    is summed in double, exactly (see ``_INT_CHUNK``), and the chunk sums
    are added as Python ints. Stacks go plane by plane, so a reversed or
    sliced stack is not copied as a whole.
    """
    planes = zip(*((v if v.ndim == 3 else v[np.newaxis]) for v in (image_a, image_b, inside)))
    sums = [0, 0, 0, 0, 0]
    x = np.empty(min(_INT_CHUNK, inside.shape[-2] * inside.shape[-1]))
    y = np.empty_like(x)
    for plane_a, plane_b, plane_m in planes:
        a, b, m = np.ravel(plane_a), np.ravel(plane_b), np.ravel(plane_m)
        for start in range(0, a.size, _INT_CHUNK):
            stop = min(start + _INT_CHUNK, a.size)
            xs, ys, ms = x[:stop - start], y[:stop - start], m[start:stop]
            np.multiply(a[start:stop], ms, out=xs)
            np.multiply(b[start:stop], ms, out=ys)
            for i, value in enumerate((xs.sum(), ys.sum(), np.dot(xs, xs), np.dot(ys, ys), np.dot(xs, ys))):
                sums[i] += int(value)
    return sums


def masked_pearson(image_a, image_b, mask):
    """Coloc 2's Pearson's R ("no threshold", Fast implementation) under a mask.

    A pixel counts iff its mask value is > 0.001. With ``x, y, xx, xy, yy``
    the double sums over those pixels in array order and ``n`` their number::

        r = (xy - x*y/n) / sqrt((xx - x*x/n) * (yy - y*y/n))

    written as Coloc 2 does (``1/n`` first, products left to right). Coloc 2
    turns a NaN or infinite result (no pixels, a constant image, NaN data)
    into NaN.

    For 8/16-bit images every term is an integer >= 0, so (as for
    :func:`mask_mae`) a sequential double sum whose exact total is <= 2**53
    equals that exact total; the totals are computed exactly in integers and
    used whenever all five are within that limit. Otherwise (float data or
    huge sums) the sums are accumulated sequentially in double.
    """
    inside = _in_mask(mask)
    if _is_integral(image_a, image_b):
        sums = _exact_integer_sums(image_a, image_b, inside)
        if max(sums) <= _EXACT_LIMIT:
            sx, sy, sxx, syy, sxy = (float(s) for s in sums)
            return pearson_from_sums(sx, sy, sxx, syy, sxy, int(np.count_nonzero(inside)))
    x = image_a[inside].astype(np.float64)
    y = image_b[inside].astype(np.float64)
    with np.errstate(all="ignore"):
        sx, sy = _sequential_sum(x), _sequential_sum(y)
        sxx, syy, sxy = _sequential_sum(x * x), _sequential_sum(y * y), _sequential_sum(x * y)
        return pearson_from_sums(sx, sy, sxx, syy, sxy, int(x.size))
