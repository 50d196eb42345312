"""Subtract Background with the rolling ball, in NumPy.

Reproduces ``ij.plugin.filter.BackgroundSubtracter.rollingBallBackground``
of ImageJ 1.53t for a rolling ball (no sliding paraboloid, no "create
background"), bit for bit, for 8-bit, 16-bit and 32-bit images:

1. The image becomes float32; with "light background" it is negated.
2. Optional pre-smoothing (``filter3x3(MEAN)``): a 3-point mean along rows,
   then along columns, edge pixels replicated, computed in float32 as
   ``(left + centre + right) * 0.33333333f``.
3. For radius > 10 the image is shrunk by 2, 4 or 8 (``shrinkImage``): each
   small pixel is the minimum of its block (partial blocks at the right and
   bottom edges).
4. The background is the grey opening of the (small) image by the ball
   (``rollBall``): the ball's height at each centre position (also centres
   up to one ball radius outside the image) is the minimum of
   ``pixel - ball`` over the pixels under the patch; each pixel is then
   raised to the maximum of ``height + ball`` over the patches covering it.
   The ball (``RollingBall``) is a square patch of a sphere, trimmed by
   24/24/32/40 % for the four shrink factors.
5. A shrunken background is enlarged by ImageJ's bilinear inter/extrapolation
   (``enlargeImage`` / ``makeInterpolationArrays``) in float32.
6. Negated back for a light background, then subtracted: float images keep
   ``original - background``; 8/16-bit images store
   ``(int) clamp(original - background + 0.5, 0, max)`` (offset
   ``max + 0.5`` for a light background).

Every float32 operation is done in the same order as in ImageJ, so results
are identical. NaN pixels (32-bit) are skipped by ImageJ's minimum searches
(comparisons with NaN are false) and are treated as +inf here, with
ImageJ's start values (+-Float.MAX_VALUE) as bounds.

The opening is vectorised over the image: one shifted array operation per
ball element, so a radius-5 ball (9x9) costs 81 minima and 81 maxima over
the whole image. Subtraction of a constant is monotonic in IEEE arithmetic,
so ``min(a - v, b - v) == min(a, b) - v`` exactly; ball elements of equal
height therefore share one subtraction.
"""

from __future__ import annotations

import numpy as np

from .._checks import InputError

F32 = np.float32
FLOAT_MAX = F32(np.finfo(np.float32).max)
THIRD = F32(0.33333333)          # ImageJ's float literal 0.33333333f


class RadiusTooLargeError(InputError):
    """The image is too narrow for the shrink factor that ImageJ uses for this radius."""


def rolling_ball(radius: float):
    """``RollingBall(radius)``: the shrink factor and the float32 ball patch.

    Returns
    -------
    shrink : int
        1 for radius <= 10, 2 for <= 30, 4 for <= 100, else 8.
    ball : (w, w) float32 array
        Heights of the sphere above its centre plane, ``w = 2 * half + 1``.
    """
    if radius <= 10:
        shrink, trim = 1, 24
    elif radius <= 30:
        shrink, trim = 2, 24
    elif radius <= 100:
        shrink, trim = 4, 32
    else:
        shrink, trim = 8, 40
    small_radius = max(radius / shrink, 1.0)
    r_square = small_radius * small_radius
    x_trim = int(trim * small_radius) // 100           # (int)(trim*r)/100, non-negative
    half = int(np.floor(small_radius - x_trim + 0.5))  # Math.round
    offsets = np.arange(-half, half + 1)
    # (rsquare - x*x) - y*y in double, as ImageJ evaluates it
    temp = (r_square - (offsets[None, :] ** 2).astype(np.float64)) - (offsets[:, None] ** 2).astype(np.float64)
    ball = np.where(temp > 0, np.sqrt(np.maximum(temp, 0.0)), 0.0).astype(F32)
    return shrink, ball


def check_size(shape, radius: float) -> None:
    """Refuse images that ImageJ 1.53t cannot process with this radius.

    ``enlargeImage`` needs a shrunken image at least 2 pixels wide; a narrower
    one makes ImageJ read outside its array (ArrayIndexOutOfBoundsException).
    """
    shrink, _ = rolling_ball(radius)
    width = shape[-1]
    if shrink > 1 and (width + shrink - 1) // shrink < 2:
        largest = {2: 10, 4: 30, 8: 100}[shrink]
        raise RadiusTooLargeError(
            f"radius {radius:g} makes ImageJ shrink the image by {shrink}, but the image is only "
            f"{width} pixels wide; ImageJ 1.53t fails on images narrower than {shrink + 1} pixels "
            f"at this radius. Use a radius <= {largest} or a wider image.")


def subtract_background(image, radius, light_background, smoothing):
    """Rolling-ball background subtraction of a 2D image or, slice by slice, a 3D stack.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) uint8, uint16 or float32 array
    radius : float
        Rolling ball radius in pixels (> 0).
    light_background : bool
        Objects darker than the background.
    smoothing : bool
        3x3 mean pre-smoothing (ImageJ's default; "disable smoothing" = False).

    Returns
    -------
    Array of the input's shape and dtype.
    """
    check_size(image.shape, radius)
    shrink, ball = rolling_ball(radius)
    planes = image if image.ndim == 3 else image[None]
    out = np.empty(planes.shape, image.dtype)
    for k, plane in enumerate(planes):
        background = _background(plane, shrink, ball, light_background, smoothing)
        out[k] = _subtract(plane, background, light_background)
    return out if image.ndim == 3 else out[0]


def _background(plane, shrink, ball, invert, smoothing):
    """``rollingBallFloatBackground``: the float32 background of one plane."""
    with np.errstate(over="ignore", invalid="ignore"):
        values = plane.astype(F32)
        if invert:
            values = -values
        if smoothing:
            values = _mean3x3(values)
        if shrink > 1:
            small = _roll_ball(_shrink(values, shrink), ball)
            background = _enlarge(small, values.shape, shrink)
        else:
            background = _roll_ball(values, ball)
        if invert:
            background = -background
    return background


def _subtract(plane, background, invert):
    """Subtract and store as ImageJ does for each pixel type."""
    with np.errstate(over="ignore", invalid="ignore"):
        if plane.dtype == np.float32:
            return plane - background
        top = 255 if plane.dtype == np.uint8 else 65535
        offset = F32(top + 0.5) if invert else F32(0.5)
        value = (plane.astype(F32) - background) + offset
        value = np.clip(value, F32(0), F32(top))
        return value.astype(plane.dtype)                # (int) truncation of a value >= 0


def _mean3x3(a: np.ndarray) -> np.ndarray:
    """``filter3x3(fp, MEAN)``: rows first, then columns; edges replicated.

    Each output is ``((left + centre) + right) * 0.33333333f`` in float32,
    summed in that order, from the unfiltered line.
    """
    return _mean3(_mean3(a, axis=1), axis=0)


def _mean3(a: np.ndarray, axis: int) -> np.ndarray:
    """ImageJ's 3-point mean (``filter3``) along one axis."""
    out = np.empty_like(a)
    v, o = np.moveaxis(a, axis, 0), np.moveaxis(out, axis, 0)   # views: lines along axis 0
    if len(v) == 1:
        o[0] = ((v[0] + v[0]) + v[0]) * THIRD
        return out
    np.add(v[:-2], v[1:-1], out=o[1:-1])
    o[1:-1] += v[2:]
    o[0] = (v[0] + v[0]) + v[1]
    o[-1] = (v[-2] + v[-1]) + v[-1]
    o *= THIRD
    return out


def _shrink(a: np.ndarray, s: int) -> np.ndarray:
    """``shrinkImage``: minimum of each s x s block (NaN skipped, at most Float.MAX_VALUE).

    Blocks at the right and bottom edges are partial. ImageJ starts each
    search at Float.MAX_VALUE and keeps a pixel only if it is smaller, so
    NaN and +inf never win: ``fmin`` (which skips NaN) then ``fmin`` with
    the start value reproduce that.
    """
    h, w = a.shape
    sh, sw = -(-h // s), -(-w // s)
    padded = np.full((sh * s, sw * s), np.nan, F32)
    padded[:h, :w] = a
    small = np.fmin.reduce(padded.reshape(sh * s, sw, s), axis=2)
    small = np.fmin.reduce(small.reshape(sh, s, sw), axis=1)
    return np.fmin(small, FLOAT_MAX)


def _roll_ball(a: np.ndarray, ball: np.ndarray) -> np.ndarray:
    """``rollBall``: grey opening by the ball, centres allowed outside the image."""
    h, w = a.shape
    size = ball.shape[0]
    r = size // 2
    # Erosion: height of the ball centred at every position of the image
    # extended by r; pixels outside the image (and NaN) never lower it.
    src = np.full((h + 4 * r, w + 4 * r), np.inf, F32)
    src[2 * r:2 * r + h, 2 * r:2 * r + w] = np.where(np.isnan(a), np.inf, a)
    eh, ew = h + 2 * r, w + 2 * r
    height = np.full((eh, ew), np.inf, F32)
    part = np.empty((eh, ew), F32)
    for value, cells in _groups(ball):
        first = True
        for by, bx in cells:
            view = src[by:by + eh, bx:bx + ew]
            if first:
                part[...] = view
                first = False
            else:
                np.minimum(part, view, out=part)
        np.subtract(part, value, out=part)
        np.minimum(height, part, out=height)
    np.minimum(height, FLOAT_MAX, out=height)          # ImageJ starts from Float.MAX_VALUE
    # Dilation: each pixel is raised to the highest ball surface over it.
    out = np.full((h, w), -FLOAT_MAX, F32)             # unprocessed pixels start at -Float.MAX_VALUE
    part = np.empty((h, w), F32)
    for value, cells in _groups(ball):
        first = True
        for by, bx in cells:
            view = height[2 * r - by:2 * r - by + h, 2 * r - bx:2 * r - bx + w]
            if first:
                part[...] = view
                first = False
            else:
                np.maximum(part, view, out=part)
        np.add(part, value, out=part)
        np.maximum(out, part, out=out)
    return out


def _groups(ball: np.ndarray):
    """Ball elements grouped by height: [(height, [(row, col), ...]), ...]."""
    values = np.unique(ball)
    return [(F32(v), list(zip(*np.nonzero(ball == v)))) for v in values]


def _interpolation(length: int, small_length: int, s: int):
    """``makeInterpolationArrays``: left small index and its float32 weight per pixel."""
    i = np.arange(length)
    num = i - s // 2
    index = np.where(num < 0, -((-num) // s), num // s)   # Java integer division truncates
    index = np.minimum(index, small_length - 2)
    distance = (i.astype(F32) + F32(0.5)) / F32(s) - (index.astype(F32) + F32(0.5))
    return index, F32(1) - distance


def _enlarge(small: np.ndarray, shape, s: int) -> np.ndarray:
    """``enlargeImage``: bilinear inter/extrapolation of the small background, in float32."""
    h, w = shape
    sh, sw = small.shape
    xi, xw = _interpolation(w, sw, s)
    yi, yw = _interpolation(h, sh, s)
    # x-interpolation of every small line
    lines = small[:, xi] * xw + small[:, xi + 1] * (F32(1) - xw)
    # ImageJ keeps two interpolated lines; before the first it holds a line of
    # zeros, which a one-line small image (height <= s) combines with line 0.
    lines = np.concatenate([np.zeros((1, w), F32), lines])
    return lines[yi + 1] * yw[:, None] + lines[yi + 2] * (F32(1) - yw)[:, None]
