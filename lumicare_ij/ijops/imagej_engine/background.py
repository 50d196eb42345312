"""Subtract Background with the rolling ball, by the real ImageJ.

``ij.plugin.filter.BackgroundSubtracter.rollingBallBackground`` is public and
works headless; it is called with the menu command's choices for a rolling
ball (no sliding paraboloid, no "create background", corner correction on,
which only the paraboloid uses).
"""

from __future__ import annotations

import numpy as np

from ..jvm import from_processor, imagej_classes, to_processor
from ..numpy_engine.background import check_size


def subtract_background(image, radius, light_background, smoothing):
    """Rolling-ball background subtraction of a 2D image or, slice by slice, a 3D stack."""
    # ImageJ 1.53t throws ArrayIndexOutOfBoundsException when the shrunken
    # image is one pixel wide; refuse such input with the numpy engine's message.
    check_size(image.shape, radius)
    ij = imagej_classes()
    subtracter_cls = ij.BackgroundSubtracter
    planes = image if image.ndim == 3 else image[None]
    out = np.empty(planes.shape, image.dtype)
    for k, plane in enumerate(planes):
        ip = to_processor(plane)
        # A fresh instance per slice: the filter keeps per-run state (progress passes).
        subtracter_cls().rollingBallBackground(
            ip, float(radius), False, bool(light_background), False, bool(smoothing), True)
        out[k] = from_processor(ip)
    return out if image.ndim == 3 else out[0]
