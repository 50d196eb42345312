"""Bin, nearest-neighbour resize, Z max projection and 16-bit conversion.

Each function calls the real ImageJ 1.53t classes, headless, through
:mod:`lumicare_ij.ijops.jvm`: ``ij.plugin.Binner``, ``ImageProcessor.resize``
with ``ij.plugin.Resizer``, ``ij.plugin.ZProjector`` and
``ij.process.ImageConverter`` / ``StackConverter``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import jvm

_BINNER_METHODS = {"average": "AVERAGE", "median": "MEDIAN", "min": "MIN", "max": "MAX", "sum": "SUM"}




def _result(imp, ndim: int) -> np.ndarray:
    """Copy an ImagePlus back, keeping a 3D shape for 3D input even with one slice."""
    out = jvm.from_imageplus(imp)
    if ndim == 3 and out.ndim == 2:
        out = out[np.newaxis]
    return out


def bin(image, xy, z, method):
    """``new Binner().shrink(imp, xy, xy, z, method)`` (ImageJ 1.53t).

    ``shrink(ImagePlus, ...)`` uses its argument for XY but the private field
    ``method`` (Average unless the dialog set it) for Z. The menu command
    sets that field from its dialog, so Z uses the chosen method too; we set
    the field by reflection to get the menu command's behaviour headless.
    """
    ij = jvm.imagej_classes()
    code = int(getattr(ij.Binner, _BINNER_METHODS[method]))
    binner = ij.Binner()
    field = binner.getClass().getDeclaredField("method")
    field.setAccessible(True)
    field.setInt(binner, code)
    imp = jvm.to_imageplus(image)
    out = binner.shrink(imp, int(xy), int(xy), int(z), code)
    return _result(out, image.ndim)


def upsample_nearest(image, shape):
    """``ImageProcessor.resize`` with interpolation NONE per slice, then
    ``Resizer.zScale`` (NONE, no averaging) for a new depth."""
    ij = jvm.imagej_classes()
    height, width = int(shape[-2]), int(shape[-1])
    planes = image if image.ndim == 3 else image[np.newaxis]
    stack = ij.ImageStack(width, height)
    for plane in planes:
        ip = jvm.to_processor(plane)
        ip.setInterpolationMethod(ij.ImageProcessor.NONE)
        stack.addSlice(ip.resize(width, height))
    imp = ij.ImagePlus("resized", stack)
    if image.ndim == 3 and int(shape[0]) != image.shape[0]:
        resizer = ij.Resizer()
        resizer.setAverageWhenDownsizing(False)
        imp = resizer.zScale(imp, int(shape[0]), int(ij.ImageProcessor.NONE))
    return _result(imp, image.ndim)


def max_project(stack):
    """``ZProjector.run(imp, "max")``."""
    ij = jvm.imagej_classes()
    imp = jvm.to_imageplus(stack)
    return jvm.from_imageplus(ij.ZProjector.run(imp, "max"))


def convert_to_16bit(image, display_range):
    """``ImagePlus.setDisplayRange`` then ``ImageConverter.convertToGray16``.

    With scaling on (``ImageConverter.setDoScaling(true)``). The default
    range of a stack is the min/max over all slices of
    ``FloatProcessor.getMin/getMax`` (NaN ignored, +-Inf included), set on the
    ImagePlus before ``StackConverter`` runs.
    """
    ij = jvm.imagej_classes()
    ij.ImageConverter.setDoScaling(True)
    imp = jvm.to_imageplus(image)
    if image.dtype == np.float32:
        if display_range is None:
            if image.ndim == 3:
                # A fresh FloatProcessor per slice computes its own min/max.
                mins, maxs = [], []
                for plane in image:
                    fp = jvm.to_processor(plane)
                    mins.append(float(fp.getMin()))
                    maxs.append(float(fp.getMax()))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN stack
                    display_range = (float(np.nanmin(mins)), float(np.nanmax(maxs)))
        if display_range is not None:
            imp.setDisplayRange(float(display_range[0]), float(display_range[1]))
    ij.ImageConverter(imp).convertToGray16()
    return _result(imp, image.ndim)

