"""Auto-thresholds (ij.process.AutoThresholder) and Convert to Mask.

Real ImageJ 1.53t calls, headless: ``ImageProcessor.setAutoThreshold(String
method, boolean darkBackground, NO_LUT_UPDATE)``, ``getMinThreshold`` /
``getMaxThreshold``, ``ImageProcessor.createMask`` and, for stacks,
``ij.plugin.Thresholder.convertStackToBinary``.
"""

from __future__ import annotations

import numpy as np

from .. import jvm




def _thresholded_processor(image, method, dark):
    ij = jvm.imagej_classes()
    ip = jvm.to_processor(image)
    ip.setAutoThreshold(str(method), bool(dark), int(ij.ImageProcessor.NO_LUT_UPDATE))
    return ip


def auto_threshold(image, method, dark):
    """``ip.setAutoThreshold(method, dark, NO_LUT_UPDATE)`` then the stored levels."""
    ip = _thresholded_processor(image, method, dark)
    lower, upper = float(ip.getMinThreshold()), float(ip.getMaxThreshold())
    if image.dtype == np.float32:
        return lower, upper
    return int(lower), int(upper)


def threshold_mask(image, method, dark):
    """Convert to Mask.

    2D: ``setAutoThreshold`` + ``ImageProcessor.createMask()``, which tests
    ``lower <= v <= upper`` with the same (int / float) levels that
    ``Thresholder.applyThreshold`` uses for Convert to Mask.

    3D: ``Thresholder.convertStackToBinary`` ("Calculate threshold for each
    image"), called by reflection with the plugin's private ``method`` and
    ``background`` fields set as its dialog would set them, because the
    plugin's ``run`` needs a dialog and cannot run headless.
    """
    ij = jvm.imagej_classes()
    if image.ndim == 2:
        return jvm.from_processor(_thresholded_processor(image, method, dark).createMask())
    imp = jvm.to_imageplus(image)
    thresholder = ij.Thresholder()
    cls = thresholder.getClass()
    for name, value in (("method", str(method)), ("background", "Dark" if dark else "Light")):
        field = cls.getDeclaredField(name)
        field.setAccessible(True)
        field.set(thresholder, value)
    convert = cls.getDeclaredMethod("convertStackToBinary", ij.ImagePlus)
    convert.setAccessible(True)
    convert.invoke(thresholder, imp)
    out = jvm.from_imageplus(imp)
    return out[np.newaxis] if out.ndim == 2 else out
