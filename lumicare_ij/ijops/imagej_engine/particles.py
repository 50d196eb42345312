"""Analyze Particles: size-filtered masks and shape measurements, by the real ImageJ.

The menu command (``IJ.run("Analyze Particles...")``) needs a display, so this
module drives ``ij.plugin.filter.ParticleAnalyzer`` through its Java API, the
way a plugin would: a threshold of 255-255 is set on the mask (so the
"black background" setting and the LUT cannot change which pixels are
particles), the analyzer runs with a private ``ResultsTable`` and a hidden
output image, and the table is read back column by column.
"""

from __future__ import annotations

import numpy as np

from ..jvm import imagej_classes, to_imageplus

#: Results-table headings of ImageJ 1.53t, in the order of ``measure_particles``' keys.
COLUMNS = {
    "area": "Area",
    "perimeter": "Perim.",
    "circularity": "Circ.",
    "aspect_ratio": "AR",
    "round": "Round",
    "solidity": "Solidity",
    "major": "Major",
    "minor": "Minor",
    "angle": "Angle",
    "x_centroid": "X",
    "y_centroid": "Y",
}




def _analyze(mask2d: np.ndarray, options: int, measurements: int, min_size: float, max_size: float):
    """Run one ParticleAnalyzer on a 2D 0/255 mask; return (analyzer, results table)."""
    ij = imagej_classes()
    # Static switches that would change the traced outlines (FREEROI instead of
    # TRACED_ROI, hence another perimeter) or the drawing: pin them.
    ij.Wand.setAllPoints(False)
    ij.ParticleAnalyzer.setLineWidth(1)
    # "Redirect to" in Set Measurements would measure another image.
    ij.Analyzer.setRedirectImage(None)
    imp = to_imageplus(mask2d, "mask")
    # Pixel units even if a global calibration (Image > Properties) was set.
    imp.setIgnoreGlobalCalibration(True)
    imp.setCalibration(None)
    ip = imp.getProcessor()
    ip.setThreshold(255.0, 255.0, ij.ImageProcessor.NO_LUT_UPDATE)
    rt = ij.ResultsTable()
    pa = ij.ParticleAnalyzer(int(options), int(measurements), rt, float(min_size), float(max_size))
    pa.setHideOutputImage(True)
    if not pa.analyze(imp, ip):
        raise RuntimeError("ImageJ's ParticleAnalyzer reported an error")
    return pa, rt


def particle_mask(mask, min_size, max_size, include_holes):
    """``ParticleAnalyzer`` with ``SHOW_MASKS`` (plus ``INCLUDE_HOLES``), slice by slice."""
    ij = imagej_classes()
    pa_cls = ij.ParticleAnalyzer
    options = pa_cls.SHOW_MASKS | (pa_cls.INCLUDE_HOLES if include_holes else 0)
    planes = mask if mask.ndim == 3 else mask[None]
    out = np.empty(planes.shape, np.uint8)
    for k, plane in enumerate(planes):
        pa, _ = _analyze(plane, options, ij.Measurements.AREA, min_size, max_size)
        result = pa.getOutputImage()
        # The output has an inverting LUT; its data are 255 for particles, 0 elsewhere.
        out[k] = np.asarray(result.getProcessor().getPixels(), dtype=np.int8).view(np.uint8).reshape(plane.shape)
    return out if mask.ndim == 3 else out[0]


def measure_particles(mask, min_size, max_size):
    """``ParticleAnalyzer`` with Area, Perimeter, Shape descriptors, Fit ellipse and Centroid."""
    ij = imagej_classes()
    m = ij.Measurements
    measurements = m.AREA | m.PERIMETER | m.SHAPE_DESCRIPTORS | m.ELLIPSE | m.CENTROID
    _, rt = _analyze(mask, 0, measurements, min_size, max_size)
    n = int(rt.size())
    result = {}
    for key, heading in COLUMNS.items():
        index = int(rt.getColumnIndex(heading))
        if n == 0 or index == ij.ResultsTable.COLUMN_NOT_FOUND:
            result[key] = np.zeros(0, np.float64)
        else:
            result[key] = np.asarray(rt.getColumnAsDoubles(index), dtype=np.float64)
    return result
