"""Auto-thresholds (ij.process.AutoThresholder) and Convert to Mask.

NumPy re-implementation of ImageJ 1.53t's
``ImageProcessor.setAutoThreshold(method, darkBackground, NO_LUT_UPDATE)``
followed by ``getMinThreshold()/getMaxThreshold()``, and of Convert to Mask
(``ij.plugin.Thresholder``) for single images and stacks.
"""

from __future__ import annotations

import numpy as np

from ._autothreshold import get_threshold
from ._javamath import java_int_array, java_round


class _ByteConversion:
    """The 8-bit image ImageJ thresholds a plane on, and the range it used.

    ``setAutoThreshold`` first resets the display range of a 16/32-bit image
    to its data range and converts it with ``convertToByte(true)``:

    * 16-bit (``TypeConverter.convertShortToByte``): with integer ``min/max``,
      ``min(255, (int)((v - min) * (256.0/(max - min + 1)) + 0.5))``;
    * 32-bit (``FloatProcessor.create8BitImage``): ``min/max`` ignore NaN,
      ``(int)(max(v - min, 0) * (255.0/(max - min)) + 0.5)`` capped at 255,
      where Java's ``(int)`` sends NaN (NaN pixels, or 0 * Inf for a constant
      image) to bin 0.

    Integer planes are handled through a per-value lookup table (``lut``,
    the bin of every raw value from ``lut_start`` to the plane's maximum)
    and a full-resolution histogram, which is cheaper than converting every
    pixel; float planes get per-pixel ``bins``.

    Attributes
    ----------
    histogram : (256,) int64 array, ImageStatistics' histogram of the 8-bit image
    lo, hi : float, the display range (``getMin()``, ``getMax()``)
    """

    def __init__(self, plane: np.ndarray):
        self.plane = plane
        self.lut = self.bins = None
        self.lut_start = 0
        if plane.dtype == np.uint8:
            self.lo, self.hi = 0.0, 255.0
            self.lut = np.arange(256, dtype=np.uint8)
            self.histogram = np.bincount(plane.ravel(), minlength=256)
        elif plane.dtype == np.uint16:
            lo, hi = int(plane.min()), int(plane.max())
            counts = np.bincount(plane.ravel(), minlength=hi + 1)
            self.lo, self.hi = float(lo), float(hi)
            scale = 256.0 / (hi - lo + 1)
            # Only values lo..hi occur, so the table covers just those (lut_start = lo).
            offsets = np.arange(hi - lo + 1, dtype=np.int64)
            self.lut = np.minimum((offsets * scale + 0.5).astype(np.int64), 255).astype(np.uint8)
            self.lut_start = lo
            self.histogram = np.bincount(self.lut, weights=counts[lo:hi + 1], minlength=256).astype(np.int64)
        else:
            kept = plane[~np.isnan(plane)]
            if kept.size:
                self.lo, self.hi = float(kept.min()), float(kept.max())
            else:
                self.lo = self.hi = float("nan")
            with np.errstate(all="ignore"):
                scale = np.float64(255.0) / np.float64(self.hi - self.lo)
                value = plane.astype(np.float64) - self.lo
                value = np.where(value < 0.0, 0.0, value)
                bins = java_int_array(value * scale + 0.5)
            self.bins = np.minimum(bins, 255).astype(np.uint8)
            self.histogram = np.bincount(self.bins.ravel(), minlength=256)

    def mask_of_bins(self, lower: float, upper: float) -> np.ndarray:
        """255 where the pixel's 8-bit bin lies in [lower, upper], else 0."""
        keep = np.zeros(256, bool)
        keep[int(max(lower, 0)):int(upper) + 1] = True
        # The kept bins form one slice, and the bin of a raw value (``lut``)
        # never decreases as the value grows, so the pixels in kept bins
        # are exactly those in one range of raw values [first, last]: two
        # comparisons on the plane instead of a table lookup per pixel.
        kept = np.flatnonzero(keep)
        if kept.size == 0:
            return np.zeros(self.plane.shape, np.uint8)
        if self.lut is not None:
            source = self.plane
            first = self.lut_start + int(np.searchsorted(self.lut, kept[0], side="left"))
            last = self.lut_start + int(np.searchsorted(self.lut, kept[-1], side="right")) - 1
        else:
            source, first, last = self.bins, int(kept[0]), int(kept[-1])
        if first > last:                              # no raw value falls in the kept bins
            return np.zeros(self.plane.shape, np.uint8)
        inside = source >= first
        if last < np.iinfo(source.dtype).max:
            inside &= source <= last
        # A bool array holds 0/1 bytes: viewed as uint8 and times 255 it is the mask.
        return inside.view(np.uint8) * np.uint8(255)


def _bin_threshold(histogram: np.ndarray, method: str, dark: bool) -> tuple[float, float]:
    """Threshold levels on the 0-255 scale (before ``scaleAndSetThreshold``)."""
    t = get_threshold(method, histogram)
    # Normal (non-inverted) LUT: "dark" keeps the bins above t.
    lower, upper = (t + 1.0, 255.0) if dark else (0.0, float(t))
    return min(lower, 255.0), upper


def _byte_levels(lower: float, upper: float) -> tuple[float, float]:
    """``ByteProcessor.setThreshold``: clamp to 0..255."""
    return max(lower, 0.0), min(upper, 255.0)


def _scale_and_set(dtype, lower: float, upper: float, lo: float, hi: float):
    """``ImageProcessor.scaleAndSetThreshold`` + the type's ``setThreshold``.

    Returns the values ``getMinThreshold()/getMaxThreshold()`` would give.
    """
    if dtype == np.uint8:
        return _byte_levels(lower, upper)
    if hi > lo:
        if lower == 0.0:
            if dtype == np.float32:
                lower = min(lo, -1e30)
        else:
            lower = lo + (lower / 255.0) * (hi - lo)
        if upper == 255.0:
            upper = 65535.0 if dtype == np.uint16 else max(hi, 1e30)
        else:
            upper = lo + (upper / 255.0) * (hi - lo)
    else:
        lower = upper = lo
    if dtype == np.uint16:
        # ShortProcessor.setThreshold clamps to 0..65535 and stores Math.round.
        lower = max(lower, 0.0)
        upper = min(upper, 65535.0)
        return float(java_round(lower)), float(java_round(upper))
    return lower, upper


def auto_threshold(image, method, dark):
    """``setAutoThreshold(method, dark, NO_LUT_UPDATE)``: (lower, upper) in pixel values.

    Parameters
    ----------
    image : 2D ndarray, uint8, uint16 or float32
    method : one of the 16 ``AutoThresholder.Method`` names
    dark : bool

    Returns
    -------
    (lower, upper) : ints for 8/16-bit images, floats for 32-bit ones.

    Notes
    -----
    16/32-bit images are thresholded on their 8-bit conversion (256 bins over
    the data range); the levels are mapped back with
    ``min + (level/255)*(max - min)``, where level 0 means "no lower limit"
    (0 for 16-bit, ``min(min, -1e30)`` for float) and 255 "no upper limit"
    (65535, ``max(max, 1e30)``). A constant 16/32-bit image gives
    ``(v, v)``; a constant 8-bit one is thresholded on its histogram as is.
    """
    converted = _ByteConversion(image)
    lower, upper = _bin_threshold(converted.histogram, method, dark)
    lower, upper = _scale_and_set(image.dtype, lower, upper, converted.lo, converted.hi)
    if image.dtype == np.float32:
        return float(lower), float(upper)
    return int(lower), int(upper)


def _mask_2d(image, method, dark) -> np.ndarray:
    """Convert to Mask of a single image: 255 where lower <= v <= upper."""
    lower, upper = auto_threshold(image, method, dark)
    if image.dtype == np.float32:
        # Thresholder/createMask compare the float pixels with (float) levels.
        with np.errstate(over="ignore"):
            lo32, hi32 = np.float32(lower), np.float32(upper)
        inside = (image >= lo32) & (image <= hi32)
    else:
        inside = (image >= int(lower)) & (image <= int(upper))
    return np.where(inside, np.uint8(255), np.uint8(0))


def _mask_stack_slice(plane, method, dark) -> np.ndarray:
    """One slice of Convert to Mask with "Calculate threshold for each image".

    ``Thresholder.convertStackToBinary`` converts each 16/32-bit slice to
    8-bit over its own range first and thresholds the 8-bit slice, so the
    comparison happens on the 0-255 bins, not on the original values.
    """
    converted = _ByteConversion(plane)
    lower, upper = _byte_levels(*_bin_threshold(converted.histogram, method, dark))
    return converted.mask_of_bins(lower, upper)


def threshold_mask(image, method, dark):
    """setAutoThreshold then Convert to Mask: uint8 0/255.

    Notes
    -----
    A 2D image follows ``Thresholder.applyThreshold`` (levels in pixel
    values, as :func:`auto_threshold` returns them). A 3D stack follows
    ``Thresholder.convertStackToBinary`` ("Calculate threshold for each
    image"): each slice gets its own threshold on its own 8-bit conversion.
    For 16/32-bit data the stack result can therefore differ slightly from
    thresholding the same slice as a single image, exactly as in ImageJ.
    """
    if image.ndim == 2:
        return _mask_2d(image, method, dark)
    out = np.empty(image.shape, np.uint8)
    for k, plane in enumerate(image):
        out[k] = _mask_stack_slice(plane, method, dark)
    return out
