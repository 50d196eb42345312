"""ImageJ 1.53t operations and two Fiji plugins' published formulas, behind one API and two engines.

Every public function takes ``engine=``:

``"numpy"`` (default)
    Pure NumPy/SciPy code written to give the same pixels, thresholds and
    measurements as ImageJ 1.53t (see ``numpy_engine/``).
``"imagej"``
    The real ImageJ 1.53t jar in a JVM started once per process through
    scyjava (see ``imagej_engine/`` and :mod:`lumicare_ij.ijops.jvm`).

Both engines receive inputs already checked by :mod:`._checks`, so a user's
mistake gets the same plain message whichever engine runs. The conformance
tests (``tests/ijops/``) run both engines on seeded images and require equal
results: exact everywhere except the ellipse-fit measurements (trigonometry;
1e-12 relative) and the 32-bit MAE and Pearson's R (1e-9 relative). The SNR
plugin's MAE and Coloc 2's Pearson's R are those plugins' published formulas
in both engines, never compared with the plugins themselves (Fiji plugins,
not on Maven Central). The README's table "What is verified" lists what is
compared, how, on how many inputs, and by which test.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from ..errors import UserInputError
from . import _checks
from .jvm import ImageJUnavailableError, configure  # noqa: F401  (public)

ENGINES = ("numpy", "imagej")
THRESHOLD_METHODS = (
    "Default", "Huang", "Intermodes", "IsoData", "Li", "MaxEntropy", "Mean", "MinError",
    "Minimum", "Moments", "Otsu", "Percentile", "RenyiEntropy", "Shanbhag", "Triangle", "Yen",
)
BIN_METHODS = ("average", "sum", "min", "max", "median")

__all__ = [
    "bin", "upsample_nearest", "convert_to_16bit", "auto_threshold", "threshold_mask",
    "particle_mask", "measure_particles", "subtract_background", "max_project",
    "mask_mae", "masked_pearson", "Measurement", "configure", "ImageJUnavailableError",
    "ENGINES", "THRESHOLD_METHODS", "BIN_METHODS",
]


class Measurement(float):
    """A float that records which implementation computed it (``.source``).

    Fiji-only plugins (the SNR plugin, Coloc 2) are not in plain ImageJ; a
    number computed by this package's own formula must never pass as Fiji's,
    so every such result says where it came from.
    """

    def __new__(cls, value, source: str):
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    def __repr__(self):
        return f"Measurement({float(self)!r}, source={self.source!r})"


def _engine(engine: str):
    if engine not in ENGINES:
        raise UserInputError(f"engine must be one of {ENGINES}, got {engine!r}")
    return importlib.import_module(f"{__name__}.{engine}_engine")


def bin(image, xy: int, z: int = 1, method: str = "average", *, engine: str = "numpy") -> np.ndarray:
    """Shrink an image by integer factors, as Image > Transform > Bin.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array, uint8, uint16 or float32
    xy : int
        Bin factor in X and Y (>= 1).
    z : int
        Bin factor in Z (>= 1; 3D input only).
    method : {"average", "sum", "min", "max", "median"}
    engine : {"numpy", "imagej"}

    Returns
    -------
    ndarray of the input dtype, shape ``(Y // xy, X // xy)`` (and ``Z // z``).

    Notes
    -----
    Reproduces ``ij.plugin.Binner`` 1.53t: leftover rows/columns are dropped,
    sums are accumulated in float32, integer results are ``(int)(v + 0.5f)``,
    sums clamp to the type maximum. ``median`` reproduces 1.53t's off-by-one
    median. Z binning follows XY binning with a second rounding; the Z method
    is the same as the XY method.
    """
    arr = _checks.image(image, "image", ndims=(2, 3))
    xy, z = _checks.bin_factors(arr, xy, z)
    method = _checks.choice(method, BIN_METHODS, "method")
    return _engine(engine).bin(arr, xy, z, method)


def upsample_nearest(image, shape, *, engine: str = "numpy") -> np.ndarray:
    """Resize without interpolation to ``shape``, as Image > Adjust > Size (None).

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
    shape : tuple of int
        Target (Y, X) or (Z, Y, X); Z is resampled the same way.
    engine : {"numpy", "imagej"}

    Notes
    -----
    ``ij.process.ImageProcessor.resize`` with interpolation None: source index
    ``(int)((x - dst/2.0) / (dst/src) + src/2.0)`` in double (dividing by the
    scale, not multiplying by its inverse, which differs for e.g. 21 -> 91).
    For integer factors this is ``np.repeat``, top-left aligned.
    """
    arr = _checks.image(image, "image", ndims=(2, 3))
    shape = _checks.shape_like(arr, shape)
    return _engine(engine).upsample_nearest(arr, shape)


def convert_to_16bit(image, display_range=None, *, engine: str = "numpy") -> np.ndarray:
    """Image > Type > 16-bit with "Scale when converting" on.

    Parameters
    ----------
    image : 2D or 3D array (float32 is scaled; uint8 is widened; uint16 unchanged)
    display_range : (min, max), optional
        Defaults to the whole image's min/max, NaN ignored.

    Notes
    -----
    ``ij.process.TypeConverter``: ``(int)(clip((p - min) * 65535/(max - min), 0, 65535) + 0.5)``,
    NaN -> 0; the range is stored in float32 as ``setMinAndMax`` does.
    """
    arr = _checks.image(image, "image", ndims=(2, 3))
    if display_range is not None:
        display_range = _checks.display_range(display_range)
    return _engine(engine).convert_to_16bit(arr, display_range)


def auto_threshold(image, method: str = "Default", dark: bool = True, *, engine: str = "numpy"):
    """``setAutoThreshold("<method> [dark]")``: the (lower, upper) threshold in pixel values.

    Parameters
    ----------
    image : 2D array, uint8, uint16 or float32
    method : one of :data:`THRESHOLD_METHODS`
    dark : bool
        Objects brighter than the background ("dark" background).

    Returns
    -------
    (lower, upper) : numbers in the image's units, ints for integer images.

    Notes
    -----
    ``ij.process.ImageProcessor.setAutoThreshold(String)`` with
    ``ij.process.AutoThresholder``: 16-bit and float images are binned into
    256 bins over their min/max first.
    """
    arr = _checks.image(image, "image", ndims=(2,))
    method = _checks.threshold_method(method, THRESHOLD_METHODS)
    return _engine(engine).auto_threshold(arr, method, bool(dark))


def threshold_mask(image, method: str = "Default", dark: bool = True, *, engine: str = "numpy") -> np.ndarray:
    """setAutoThreshold then Convert to Mask: uint8, 255 inside [lower, upper], else 0.

    A 3D stack is thresholded slice by slice, each slice with its own threshold
    (Convert to Mask's "Calculate threshold for each image"), which is the
    default for stacks in this package. A stack of one slice is treated as a
    single image, as ImageJ does when it opens such a file.
    """
    arr = _checks.image(image, "image", ndims=(2, 3))
    method = _checks.threshold_method(method, THRESHOLD_METHODS)
    if arr.ndim == 3 and arr.shape[0] == 1:
        # ImageJ opens a one-slice file as a single image, not a stack, and the
        # stack path bins 16/32-bit slices differently: follow the single image.
        return _engine(engine).threshold_mask(arr[0], method, bool(dark))[np.newaxis]
    return _engine(engine).threshold_mask(arr, method, bool(dark))


def particle_mask(mask, min_size: float = 0, max_size: float = math.inf,
                  include_holes: bool = False, *, engine: str = "numpy") -> np.ndarray:
    """Analyze Particles with show=Masks: keep 8-connected particles by size.

    Parameters
    ----------
    mask : 2D (or 3D, slice by slice) uint8 array of 0 and 255
    min_size, max_size : float
        Inclusive size limits in pixels.
    include_holes : bool
        ImageJ's "include": a particle is its filled outer outline.

    Returns
    -------
    uint8 array, 255 for pixels of kept particles, else 0.

    Notes
    -----
    ``ij.plugin.filter.ParticleAnalyzer`` with the threshold set to 255-255.
    """
    arr = _checks.binary_mask(mask, "mask", ndims=(2, 3))
    min_size, max_size = _checks.size_range(min_size, max_size)
    return _engine(engine).particle_mask(arr, min_size, max_size, bool(include_holes))


def measure_particles(mask, min_size: float = 0, max_size: float = math.inf, *, engine: str = "numpy"):
    """Analyze Particles with Area, Perimeter, Shape descriptors and Fit ellipse.

    Returns
    -------
    dict of 1D float64 arrays, one entry per particle in ImageJ's order (the
    raster order of each particle's first pixel): ``area``, ``perimeter``,
    ``circularity``, ``aspect_ratio``, ``round``, ``solidity``, ``major``,
    ``minor``, ``angle``, ``x_centroid``, ``y_centroid``.

    Notes
    -----
    ``ij.plugin.filter.Analyzer``, ``ij.gui.PolygonRoi.getTracedPerimeter``,
    ``ij.process.EllipseFitter``; uncalibrated (pixel units).
    """
    arr = _checks.binary_mask(mask, "mask", ndims=(2,))
    min_size, max_size = _checks.size_range(min_size, max_size)
    return _engine(engine).measure_particles(arr, min_size, max_size)


def subtract_background(image, radius: float, light_background: bool = False,
                        smoothing: bool = True, *, engine: str = "numpy") -> np.ndarray:
    """Process > Subtract Background, rolling ball (no sliding paraboloid).

    Notes
    -----
    ``ij.plugin.filter.BackgroundSubtracter.rollingBallBackground`` 1.53t:
    shrinking for radius > 10, a trimmed ball, optional 3x3 pre-smoothing.
    A 3D stack is processed slice by slice.
    """
    arr = _checks.image(image, "image", ndims=(2, 3))
    radius = _checks.positive(radius, "radius")
    return _engine(engine).subtract_background(arr, radius, bool(light_background), bool(smoothing))


def max_project(stack, *, engine: str = "numpy") -> np.ndarray:
    """Image > Stacks > Z Project, Max Intensity, of a (Z, Y, X) stack.

    Notes
    -----
    ``ij.plugin.ZProjector``: keeps the type; float ignores NaN and an all-NaN
    pixel gives -3.4028235e38.
    """
    arr = _checks.image(stack, "stack", ndims=(3,))
    return _engine(engine).max_project(arr)


def mask_mae(reference_mask, test_mask, *, engine: str = "numpy") -> float:
    """Mean absolute error of two images, as the SNR plugin (BIG, EPFL) reports it.

    For 0/255 masks this is 255 times the fraction of pixels that disagree.
    Both engines compute the plugin's published formula, mean
    ``|reference - test|`` over all pixels; the imagej engine does it in Java
    from the pixel arrays (the SNR plugin is a Fiji plugin that plain ImageJ
    lacks). The result is never compared with the plugin itself (not on
    Maven Central); its ``.source`` says who computed it.
    """
    ref = _checks.image(reference_mask, "reference_mask", ndims=(2, 3))
    test = _checks.image(test_mask, "test_mask", ndims=(2, 3))
    _checks.same_shape(ref, test, "reference_mask", "test_mask")
    module = _engine(engine)
    return Measurement(module.mask_mae(ref, test), module.SOURCES["mask_mae"])


def masked_pearson(image_a, image_b, mask, *, engine: str = "numpy") -> float:
    """Coloc 2's Pearson's R (no threshold) of two images under a mask.

    A pixel is in the mask iff its value is > 0.001, Coloc 2's rule
    (``sc.fiji.coloc.gadgets.MaskFactory.createMask`` in
    fiji/Colocalisation_Analysis); all mask pixels count. Sums in double,
    accumulated in array order (Coloc 2's "Fast" implementation). Both engines
    compute this published formula (one shared final step,
    :func:`._coloc.pearson_from_sums`); the result is never compared with
    Coloc 2 itself (a Fiji plugin, not on Maven Central); its ``.source``
    says who computed it.
    """
    a = _checks.image(image_a, "image_a", ndims=(2, 3))
    b = _checks.image(image_b, "image_b", ndims=(2, 3))
    m = _checks.image(mask, "mask", ndims=(2, 3))
    _checks.same_shape(a, b, "image_a", "image_b")
    _checks.same_shape(a, m, "image_a", "mask")
    module = _engine(engine)
    return Measurement(module.masked_pearson(a, b, m), module.SOURCES["masked_pearson"])
