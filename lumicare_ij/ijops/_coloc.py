"""Coloc 2's Pearson formula, shared by both engines (they differ only in how they sum)."""

import numpy as np


def pearson_from_sums(sx, sy, sxx, syy, sxy, n) -> float:
    """Coloc 2 ``PearsonsCorrelation.fastPearsons`` from its five sums."""
    with np.errstate(all="ignore"):
        inv_count = np.float64(1.0) / np.float64(n)
        num = np.float64(sxy) - (np.float64(sx) * sy * inv_count)
        var_x = np.float64(sxx) - (np.float64(sx) * sx * inv_count)
        var_y = np.float64(syy) - (np.float64(sy) * sy * inv_count)
        r = num / np.sqrt(var_x * var_y)
    return float(r) if np.isfinite(r) else float("nan")
