"""Input checks shared by every engine: plain messages that say what to do.

Engines receive arrays that passed these checks, so a mistake gets the same
message whichever engine runs, and no error surfaces from deep inside NumPy
or Java.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UserInputError

_SUPPORTED = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


class InputError(UserInputError):
    """A user-supplied array or parameter that an ImageJ operation cannot take."""


def image(value, name: str, ndims: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as an 8-bit, 16-bit or 32-bit float array of an allowed rank."""
    arr = np.asarray(value)
    if arr.ndim not in ndims:
        wanted = " or ".join({2: "2D (Y, X)", 3: "3D (Z, Y, X)"}[n] for n in ndims)
        hint = " For RGB images, split the channels first." if arr.ndim == 3 and arr.shape[-1] in (3, 4) and 3 not in ndims else ""
        raise InputError(f"{name} must be {wanted}; got an array of shape {arr.shape}.{hint}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape}).")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype in _SUPPORTED:
        return arr
    if arr.dtype.kind == "f":
        # ImageJ holds all real images as 32-bit float.
        return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        lo, hi = (int(arr.min()), int(arr.max()))
        if 0 <= lo and hi <= 255:
            return arr.astype(np.uint8)
        if 0 <= lo and hi <= 65535:
            return arr.astype(np.uint16)
        raise InputError(
            f"{name} has dtype {arr.dtype} with values {lo}..{hi}, outside ImageJ's 8/16-bit "
            "ranges; convert it to float32 (ImageJ's 32-bit) first.")
    raise InputError(f"{name} has dtype {arr.dtype}; ImageJ works on uint8, uint16 and float32.")


def binary_mask(value, name: str, ndims: tuple[int, ...]) -> np.ndarray:
    """Return a uint8 array of 0 and 255 (booleans are accepted and converted)."""
    arr = image(value, name, ndims)
    if arr.dtype != np.uint8:
        raise InputError(f"{name} must be an 8-bit binary mask (0 and 255); got dtype {arr.dtype}. "
                         "Make one with threshold_mask() first.")
    # Two vectorised comparisons are much cheaper than np.unique on a large
    # stack; the distinct values are only listed when the check fails.
    if np.count_nonzero(arr == 0) + np.count_nonzero(arr == 255) != arr.size:
        values = np.unique(arr)
        shown = ", ".join(str(v) for v in values[:6])
        raise InputError(f"{name} must contain only 0 and 255 (ImageJ binary mask); found values {shown}"
                         f"{'...' if len(values) > 6 else ''}. Use mask > 0 to make one from labels.")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise InputError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; "
                         "they must cover the same pixels (same size, same binning).")


def bin_factors(arr: np.ndarray, xy, z) -> tuple[int, int]:
    xy_i, z_i = int(xy), int(z)
    if xy_i != xy or z_i != z or xy_i < 1 or z_i < 1:
        raise InputError(f"bin factors must be whole numbers >= 1; got xy={xy!r}, z={z!r}.")
    if z_i > 1 and arr.ndim != 3:
        raise InputError(f"z={z_i} needs a 3D (Z, Y, X) stack; got shape {arr.shape}.")
    if xy_i > min(arr.shape[-2:]) or (arr.ndim == 3 and z_i > arr.shape[0]):
        raise InputError(f"bin factors xy={xy_i}, z={z_i} are larger than the image {arr.shape}.")
    return xy_i, z_i


def shape_like(arr: np.ndarray, shape) -> tuple[int, ...]:
    try:
        shape_t = tuple(int(s) for s in shape)
    except TypeError:
        raise InputError(f"shape must be a tuple of ints like (512, 512); got {shape!r}.") from None
    if len(shape_t) != arr.ndim or min(shape_t) < 1:
        raise InputError(f"shape {shape!r} must have {arr.ndim} positive sizes to match the image {arr.shape}.")
    return shape_t


def choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    lowered = str(value).lower()
    if lowered not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return lowered


def threshold_method(value: str, allowed: tuple[str, ...]) -> str:
    by_lower = {m.lower(): m for m in allowed}
    method = by_lower.get(str(value).lower())
    if method is None:
        raise InputError(f"Unknown auto-threshold method {value!r}; ImageJ offers {', '.join(allowed)}.")
    return method


def display_range(value) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"display_range must be (min, max); got {value!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise InputError(f"display_range must be finite with min <= max; got {value!r}.")
    return lo, hi


def size_range(min_size, max_size) -> tuple[float, float]:
    lo, hi = float(min_size), float(max_size)
    if lo < 0 or hi < lo or math.isnan(lo) or math.isnan(hi):
        raise InputError(f"particle sizes need 0 <= min_size <= max_size; got {min_size!r}, {max_size!r}.")
    return lo, hi


def positive(value, name: str) -> float:
    v = float(value)
    if not v > 0 or not math.isfinite(v):
        raise InputError(f"{name} must be a positive number of pixels; got {value!r}.")
    return v
