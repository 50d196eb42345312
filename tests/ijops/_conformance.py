"""Helpers shared by the geometry, threshold and metrics conformance tests.

The tests compare ``engine="numpy"`` with ``engine="imagej"`` (the real
ImageJ 1.53t jar) through the public API. ImageJ must start: a failure to
start is a test failure, never a skip.
"""

from __future__ import annotations

import math

import numpy as np

from lumicare_ij.ijops import jvm


def start_imagej():
    """Start the JVM with ImageJ 1.53t (raises ImageJUnavailableError if it can't)."""
    return jvm.imagej_classes()


def array_mismatch(a: np.ndarray, b: np.ndarray) -> str | None:
    """None if the arrays are identical (dtype, shape, values, NaN, sign of zero)."""
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != {b.dtype}"
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype.kind == "f":
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        differ = (nan_a != nan_b) | (~nan_a & ~nan_b & ((a != b) | (np.signbit(a) != np.signbit(b))))
    else:
        differ = a != b
    count = int(np.count_nonzero(differ))
    if count == 0:
        return None
    where = tuple(int(i[0]) for i in np.nonzero(differ))
    return f"{count} pixels differ, first at {where}: {a[where]!r} vs {b[where]!r}"


def same_number(a: float, b: float, rel: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Equal (NaN equals NaN); with tolerances when given."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_tol)


def report(failures: list[str], limit: int = 15) -> str:
    shown = "\n".join(failures[:limit])
    more = f"\n... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"{len(failures)} mismatches between engines:\n{shown}{more}"
