"""Bin, nearest-neighbour resize, Z max projection and 16-bit conversion.

NumPy re-implementations of ImageJ 1.53t:

* :func:`bin` - ``ij.plugin.Binner`` (Image > Transform > Bin);
* :func:`upsample_nearest` - ``ImageProcessor.resize`` with interpolation
  ``NONE`` and ``ij.plugin.Resizer.zScale`` for Z;
* :func:`max_project` - ``ij.plugin.ZProjector`` with ``MAX_METHOD``;
* :func:`convert_to_16bit` - ``ij.process.ImageConverter`` /
  ``StackConverter`` / ``TypeConverter`` with "Scale when converting" on.

Everything is vectorised over pixels. Where ImageJ accumulates sequentially
(float32 sums, running minima) the loops below run over the *k* positions of
a bin, never over pixels, and keep ImageJ's order so that float32 rounding is
the same.
"""

from __future__ import annotations

import numpy as np

from ._javamath import FLOAT_MAX

# Largest value of each integer type: Binner.getSum and ImageStack.setVoxel clamp to it.
_TYPE_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


# ---------------------------------------------------------------------------
# Bin
# ---------------------------------------------------------------------------

def _reduce_blocks(views: list, method: str, max_value: float, integral: bool) -> np.ndarray:
    """Reduce Binner blocks; ``views[j]`` holds element ``j`` of every block.

    The views are listed in the order ImageJ visits a block's pixels
    (``Binner.getAverage`` & co.: rows outer, columns inner; Z in order), so
    sequential float32 accumulation matches Java's. ``integral`` says the
    data are 8/16-bit values (no NaN, no negative zero), which allows faster
    exact shortcuts. Returns float32, the value Binner passes to ``setf``.
    """
    n = len(views)
    shape = views[0].shape
    if method in ("average", "sum"):
        # Binner sums in a Java float, one pixel at a time, starting from 0f.
        total = np.zeros(shape, np.float32)
        for v in views:
            np.add(total, v, out=total)
        return _finish_sum(total, method, n, max_value)
    if method in ("min", "max"):
        if integral:
            best = views[0].astype(np.float32)
            reduce = np.minimum if method == "min" else np.maximum
            for v in views[1:]:
                reduce(best, v, out=best)
            return best
        # Strict '<' / '>' against a running value started at +-Float.MAX_VALUE:
        # NaN never wins, an all-NaN block gives +-Float.MAX_VALUE, and of two
        # equal values (0.0 and -0.0) the first one stays.
        if method == "min":
            best = np.full(shape, FLOAT_MAX, np.float32)
            for v in views:
                best = np.where(v < best, v, best)
        else:
            best = np.full(shape, -FLOAT_MAX, np.float32)
            for v in views:
                best = np.where(v > best, v, best)
        return best
    if method == "median":
        kth = n - n // 2 - 2
        if kth == 0 and integral:
            # 2x2 bins: 1.53t's "median" is the minimum.
            return _reduce_blocks(views, "min", max_value, integral)
        blocks = np.stack(views, axis=-1)
        plain = integral or not (np.signbit(blocks).any() or np.isnan(blocks).any())
        if kth >= 0 and plain:
            # For data >= 0 (no NaN, no -0.0) the 1.53t algorithm returns
            # sorted(block)[kth]; see _binner_median_1_53t.
            return np.partition(blocks, kth, axis=-1)[..., kth].astype(np.float32)
        return _binner_median_1_53t(blocks)
    raise ValueError(f"unknown bin method {method!r}")  # pragma: no cover - checked upstream


def _finish_sum(total: np.ndarray, method: str, n: int, max_value: float) -> np.ndarray:
    """Binner's average (sum / n in float32) or clamped sum, from the float32 block sums."""
    if method == "average":
        # float / int in Java: the int is widened to float, the division is float32.
        total /= np.float32(n)
    elif max_value > 0:
        # Binner.getSum clamps to 255 / 65535 for 8/16-bit images.
        np.minimum(total, np.float32(max_value), out=total)
    return total


def _exact_block_sums(cropped: np.ndarray, xy: int) -> np.ndarray:
    """Block sums of 8/16-bit data in integers, returned as float32.

    Only used when ``xy * xy * type max < 2**24``: then every partial sum of
    Binner's float32 loop is an integer below 2**24, exactly representable,
    so that loop computes the exact block sum whatever the order; summing
    the columns of each block first (over contiguous rows) and then its
    rows, in uint32, gives the same numbers with far less strided access.
    """
    rows = cropped[..., 0::xy].astype(np.uint32)
    for dx in range(1, xy):
        rows += cropped[..., dx::xy]
    total = rows[..., 0::xy, :].copy()
    for dy in range(1, xy):
        total += rows[..., dy::xy, :]
    return total.astype(np.float32)


def _binner_median_1_53t(blocks: np.ndarray) -> np.ndarray:
    """ImageJ 1.53t's ``Binner.getMedian``, bug included.

    1.53t removes the current largest *positive* value ``n//2 + 1`` times
    (replacing it by 0; the first occurrence of the maximum goes first, and if
    no value is > 0 the first element is zeroed), then returns the largest
    value left (``-Float.MAX_VALUE`` if none compares greater). For
    non-negative data this is ``sorted(block)[n - n//2 - 2]``, so a 2x2 bin
    returns the minimum rather than a median.
    """
    work = np.array(blocks, dtype=np.float32, copy=True)
    flat = work.reshape(-1, work.shape[-1])
    rows = np.arange(flat.shape[0])
    n = flat.shape[1]
    for _ in range(n // 2 + 1):
        # Only values > 0 can replace the running maximum (it starts at 0f);
        # NaN compares false. argmax returns the first occurrence, as Java's '>' does.
        candidates = np.where(flat > 0, flat, -np.inf)
        flat[rows, np.argmax(candidates, axis=1)] = 0
    best = np.full(flat.shape[0], -FLOAT_MAX, np.float32)
    for j in range(n):
        v = flat[:, j]
        best = np.where(v > best, v, best)
    return best.reshape(work.shape[:-1])


def _round_f32_to(values: np.ndarray, dtype) -> np.ndarray:
    """``ByteProcessor/ShortProcessor.setf``: ``(int)(v + 0.5f)``, the sum in float32.

    Only used for 8/16-bit results, whose values are >= 0 and not NaN, so
    truncation is a floor.
    """
    values += np.float32(0.5)
    return values.astype(dtype)


def bin(image, xy, z, method):
    """Image > Transform > Bin as ``ij.plugin.Binner.shrink`` in ImageJ 1.53t.

    Parameters
    ----------
    image : ndarray (Y, X) or (Z, Y, X), uint8, uint16 or float32
    xy, z : int
        Bin factors (``z`` only for stacks).
    method : {"average", "sum", "min", "max", "median"}

    Returns
    -------
    ndarray of the input dtype.

    Notes
    -----
    * XY: each block is reduced in float32 in ImageJ's visiting order and
      stored with ``setf``: ``(int)(v + 0.5f)`` for 8/16-bit, as is for float.
      Leftover right columns and bottom rows are dropped.
    * Z (plain stacks): ``Binner.shrinkZ`` bins the already stored XY result
      along Z in float32 and writes it back with ``ImageStack.setVoxel``,
      which clamps to the type range and rounds ``(int)(v + 0.5)`` in double.
      The Z method is the XY method, as with the menu command.
    * ``sum`` clamps to 255 / 65535 (8/16-bit) in both passes.
    * ``median`` is 1.53t's: see :func:`_binner_median_1_53t`.
    """
    dtype = image.dtype
    integral = dtype != np.float32
    max_value = _TYPE_MAX.get(dtype, 0.0) if method == "sum" else 0.0
    height, width = image.shape[-2:]
    h2, w2 = height // xy, width // xy
    cropped = image[..., : h2 * xy, : w2 * xy]
    if integral and method in ("average", "sum") and xy * xy * _TYPE_MAX[dtype] < 2 ** 24:
        values = _finish_sum(_exact_block_sums(cropped, xy), method, xy * xy, max_value)
    else:
        views = [cropped[..., dy::xy, dx::xy] for dy in range(xy) for dx in range(xy)]
        values = _reduce_blocks(views, method, max_value, integral)
    out = _round_f32_to(values, dtype) if integral else values
    if image.ndim == 3 and z > 1:
        depth2 = out.shape[0] // z
        zviews = [out[j: depth2 * z: z] for j in range(z)]
        zvalues = _reduce_blocks(zviews, method, max_value, integral)
        if integral:
            # ImageStack.setVoxel: clamp to [0, max], then (int)(v + 0.5) in double.
            v = np.clip(zvalues.astype(np.float64), 0.0, _TYPE_MAX[dtype])
            v += 0.5
            out = v.astype(dtype)
        else:
            out = zvalues
    return np.ascontiguousarray(out)


# ---------------------------------------------------------------------------
# Nearest-neighbour resize
# ---------------------------------------------------------------------------

def _nearest_indices(src: int, dst: int) -> np.ndarray:
    """Source index per destination index, as ``ImageProcessor.resize`` (NONE).

    ImageJ maps ``xs = (x - dst/2.0) / (dst/src) + src/2.0`` in double and
    truncates with ``(int)``; for ``dst == src`` it returns a plain copy.
    """
    if dst == src:
        return np.arange(src)
    scale = float(dst) / float(src)
    xs = (np.arange(dst, dtype=np.float64) - dst / 2.0) / scale + src / 2.0
    return np.trunc(xs).astype(np.intp)


def upsample_nearest(image, shape):
    """Resize without interpolation, as ``ImageProcessor.resize`` with ``NONE``.

    Parameters
    ----------
    image : ndarray (Y, X) or (Z, Y, X)
    shape : tuple of int
        Target shape, same rank.

    Notes
    -----
    X and Y use ImageJ's resize mapping; Z follows ``ij.plugin.Resizer.zScale``
    (interpolation ``NONE``, no averaging), which resizes each XZ plane with
    the same mapping. For an integer factor this is ``np.repeat``, top-left
    aligned. Shrinking uses the same formula (no averaging).
    """
    out = image
    for axis, dst in enumerate(shape):
        src = image.shape[axis]
        if dst != src:
            out = np.take(out, _nearest_indices(src, dst), axis=axis)
    return np.ascontiguousarray(out)


# ---------------------------------------------------------------------------
# Z projection
# ---------------------------------------------------------------------------

def max_project(stack):
    """Z Project, Max Intensity, as ``ij.plugin.ZProjector`` (MAX_METHOD).

    The projection runs in a float32 buffer started at ``-Float.MAX_VALUE``
    and updated with a strict ``>`` (NaN skipped), then 8/16-bit results are
    written back with ``(int)(v + 0.5f)``. So float NaN is ignored, an
    all-NaN (or all -Inf) pixel gives ``-3.4028235e38``, and +Inf is kept.
    """
    if stack.dtype != np.float32:
        # 8/16-bit values are exact in the float buffer and come back unchanged
        # through (int)(v + 0.5f): a plain maximum.
        return np.max(stack, axis=0)
    best = np.full(stack.shape[1:], -FLOAT_MAX, np.float32)
    for plane in stack:
        best = np.where(plane > best, plane, best)
    return best


# ---------------------------------------------------------------------------
# 16-bit conversion
# ---------------------------------------------------------------------------

def _data_range(plane: np.ndarray) -> tuple[float, float]:
    """``FloatProcessor.findMinAndMax``: NaN ignored, +-Inf included.

    ``fmin``/``fmax`` skip NaN (and give NaN only when every value is NaN),
    so no NaN-free copy of the data is needed.
    """
    with np.errstate(invalid="ignore"):
        return float(np.fmin.reduce(plane, axis=None)), float(np.fmax.reduce(plane, axis=None))


def _set_min_and_max(lo: float, hi: float, plane: np.ndarray) -> tuple[float, float]:
    """``FloatProcessor.setMinAndMax``: stored in float32; (0, 0) means reset to data."""
    if lo == 0.0 and hi == 0.0:
        return _data_range(plane)
    return float(np.float32(lo)), float(np.float32(hi))


def _float_to_short(plane: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``TypeConverter.convertFloatToShort`` with scaling, on one plane."""
    with np.errstate(all="ignore"):
        span = hi - lo
        scale = 1.0 if span == 0.0 else 65535.0 / span
        value = plane.astype(np.float64)
        value -= lo
        value *= scale
        # Clip to [0, 65535]; (short)(value + 0.5) sends NaN to 0 through
        # Java's (int) cast, and fmax(NaN, 0) is 0, so one pass does both.
        np.fmax(value, 0.0, out=value)
        np.fmin(value, 65535.0, out=value)
        # value + 0.5 >= 0.5 here, so truncating it is the floor.
        value += 0.5
        return value.astype(np.uint16)


def convert_to_16bit(image, display_range):
    """Image > Type > 16-bit with "Scale when converting" (ImageJ 1.53t).

    Parameters
    ----------
    image : ndarray (Y, X) or (Z, Y, X)
        uint8 is widened, uint16 is returned unchanged (a copy), float32 is scaled.
    display_range : (min, max) or None
        None: the whole image's (whole stack's) min/max with NaN ignored and
        +-Inf included, as ``FloatProcessor.findMinAndMax`` gives per slice.

    Notes
    -----
    The range goes through ``setMinAndMax`` (float32 storage; ``(0, 0)``
    means "reset to the data range", which for a stack is the first slice's
    range, because ``ImagePlus.setDisplayRange`` acts on the current slice
    and ``StackConverter`` then hands that range to every slice). Each plane
    is converted with ``TypeConverter``:
    ``(int)(clip((p - min) * (65535/(max - min)), 0, 65535) + 0.5)``, NaN -> 0.
    """
    if image.dtype == np.uint16:
        return image.copy()
    if image.dtype == np.uint8:
        return image.astype(np.uint16)
    planes = image if image.ndim == 3 else image[np.newaxis]
    if display_range is None:
        with np.errstate(all="ignore"):
            lo, hi = _data_range(planes)
    else:
        lo, hi = display_range
    # The ImagePlus holds the range on its current (first) slice's processor.
    lo, hi = _set_min_and_max(lo, hi, planes[0])
    out = np.empty(planes.shape, np.uint16)
    for i, plane in enumerate(planes):
        # ImageStack.getProcessor passes the stack's range to each slice via
        # setMinAndMax again (so a (0, 0) range would reset per slice).
        slice_lo, slice_hi = _set_min_and_max(lo, hi, plane) if image.ndim == 3 else (lo, hi)
        out[i] = _float_to_short(plane, slice_lo, slice_hi)
    return out if image.ndim == 3 else out[0]
