"""Exact percentiles of volumes larger than memory, equal to :func:`numpy.percentile`.

csbdeep normalises a stack by the 2nd and 99.8th percentiles of *all* its
pixels (``np.percentile``, linear interpolation). A volume that does not fit
in memory cannot be sorted, and ``dask.array.percentile`` is approximate, so
the percentiles are found by a radix selection over the blocks instead:
every value is mapped to an unsigned key that sorts like it (integers by
flipping the sign bit, floats by IEEE-754's sign-magnitude trick), and each
pass over the data counts the next 16 bits of the keys of the values still
in the running. Two order statistics (the ranks either side of the
percentile's position) are pinned down exactly in one pass per 16 bits of
the dtype: one pass for 8- and 16-bit images, two for float32, four for
float64; memory is a 65,536-bin count per pass, whatever the volume. The
two values are then interpolated exactly as NumPy does.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from .errors import UserInputError

_DIGIT_BITS = 16


def _unsigned(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"u{dtype.itemsize}")


def sortable_keys(block: np.ndarray) -> np.ndarray:
    """Unsigned integers that sort exactly like ``block``'s values (same width as its dtype)."""
    dtype = block.dtype
    unsigned = _unsigned(dtype)
    if dtype.kind == "u":
        return block
    bits = unsigned.type(1) << unsigned.type(8 * dtype.itemsize - 1)
    raw = np.ascontiguousarray(block).view(unsigned)
    if dtype.kind == "i":
        return raw ^ bits
    if dtype.kind == "f":
        # Negative floats: all bits flipped (larger magnitude sorts lower); positive: sign bit set.
        return np.where(raw & bits, ~raw, raw | bits)
    raise UserInputError(f"percentiles of {dtype} data are not supported; give integer or float pixels.")


def _value_of_key(key: int, dtype: np.dtype):
    unsigned = _unsigned(dtype)
    bits = 1 << (8 * dtype.itemsize - 1)
    if dtype.kind == "u":
        raw = key
    elif dtype.kind == "i":
        raw = key ^ bits
    else:
        raw = key ^ bits if key & bits else ~key & ((1 << 8 * dtype.itemsize) - 1)
    return np.array(raw, dtype=unsigned).view(dtype)[()]


def _order_statistics(blocks: Callable[[], Iterable[np.ndarray]], dtype: np.dtype, ranks: list[int]) -> list:
    """The values at 0-based ``ranks`` of the sorted data, by radix selection (one pass per 16 bits)."""
    total_bits = 8 * dtype.itemsize
    digit_bits = min(_DIGIT_BITS, total_bits)
    prefixes = {r: 0 for r in ranks}      # the key bits found so far, per rank
    remaining = {r: r for r in ranks}     # the rank among the values that share that prefix
    for done_bits in range(0, total_bits, digit_bits):
        shift = total_bits - done_bits - digit_bits
        wanted = sorted(set(prefixes.values()))
        counts = {p: np.zeros(1 << digit_bits, np.int64) for p in wanted}
        for block in blocks():
            keys = sortable_keys(np.asarray(block).ravel())
            digits = (keys >> shift) & ((1 << digit_bits) - 1) if shift else keys & ((1 << digit_bits) - 1)
            high = keys >> (shift + digit_bits) if done_bits else None
            for p in wanted:
                chosen = digits if high is None else digits[high == p]
                counts[p] += np.bincount(chosen.astype(np.int64), minlength=1 << digit_bits)
        for r in ranks:
            cumulative = np.cumsum(counts[prefixes[r]])
            digit = int(np.searchsorted(cumulative, remaining[r], side="right"))
            remaining[r] -= int(cumulative[digit - 1]) if digit else 0
            prefixes[r] = (prefixes[r] << digit_bits) | digit
    return [_value_of_key(prefixes[r], dtype) for r in ranks]


def exact_percentiles(blocks: Callable[[], Iterable[np.ndarray]], percents, *, dtype, n_values: int) -> list:
    """``np.percentile(volume, percents)`` of a volume given as blocks, exactly.

    Parameters
    ----------
    blocks : callable
        Returns a fresh iterable over the volume's blocks (NumPy arrays; any
        split, any order) each time it is called: one call per pass.
    percents : sequence of float
        Percentiles in [0, 100] (csbdeep's 2 and 99.8).
    dtype : dtype
        The volume's dtype (integer or float; no NaN).
    n_values : int
        Number of values in the volume.

    Returns
    -------
    list of NumPy scalars, what ``np.percentile`` returns for each percent
    (float64 for integer data, the data's dtype for float data).
    """
    dtype = np.dtype(dtype)
    if n_values < 1:
        raise UserInputError("percentiles of an empty volume are undefined.")
    positions = []
    for p in percents:
        if not 0 <= p <= 100:
            raise UserInputError(f"percentiles lie in [0, 100], got {p}.")
        virtual = (n_values - 1) * np.true_divide(p, 100)  # as numpy's "linear" method computes it
        below = math.floor(virtual)
        positions.append((below, min(below + 1, n_values - 1), float(virtual - below)))
    ranks = sorted({r for below, above, _ in positions for r in (below, above)})
    values = dict(zip(ranks, _order_statistics(blocks, dtype, ranks)))
    if dtype.kind == "f" and any(np.isnan(v) for v in values.values()):
        raise UserInputError("the volume holds NaN pixels; replace them before restoring.")
    return [_lerp_like_numpy(values[below], values[above], t) for below, above, t in positions]


def _lerp_like_numpy(a, b, t: float):
    """NumPy's linear interpolation between two neighbours, with its own rounding (numpy's ``_lerp``)."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


__all__ = ["exact_percentiles", "sortable_keys"]
