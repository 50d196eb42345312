"""Java's numeric conversions, reproduced for NumPy arrays and Python floats.

ImageJ's results depend on Java's casts as much as on its formulas: ``(int)``
truncates toward zero, maps NaN to 0 and saturates; ``Math.round`` rounds
half up; ``int`` arithmetic wraps at 32 bits. These helpers keep that
behaviour in one place.
"""

from __future__ import annotations

import math

import numpy as np

#: ``Float.MAX_VALUE``
FLOAT_MAX = np.float32(np.finfo(np.float32).max)
_INT_MIN, _INT_MAX = -(2 ** 31), 2 ** 31 - 1


def java_int(x: float) -> int:
    """``(int) x`` for a Java double: truncation, NaN -> 0, saturation."""
    if math.isnan(x):
        return 0
    if x >= _INT_MAX:
        return _INT_MAX
    if x <= _INT_MIN:
        return _INT_MIN
    return int(x)


def java_round(x: float) -> int:
    """``Math.round(double)``: the closest long, ties toward +Inf; NaN -> 0."""
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return 2 ** 63 - 1 if x > 0 else -(2 ** 63)
    floor = math.floor(x)
    # x - floor(x) is exact for doubles, so this is a true half-up test.
    return int(floor) + (1 if x - floor >= 0.5 else 0)


def wrap_int32(x: int) -> int:
    """Java ``int`` overflow: wrap a Python int to 32-bit two's complement."""
    return (x + 2 ** 31) % 2 ** 32 - 2 ** 31


def java_int_array(values: np.ndarray) -> np.ndarray:
    """``(int) v`` element-wise for doubles: truncation, NaN -> 0, saturation."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isnan(v), 0.0, v)
    v = np.clip(v, _INT_MIN, _INT_MAX)
    return np.trunc(v).astype(np.int64)
