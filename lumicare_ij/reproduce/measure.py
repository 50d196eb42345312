"""Per-stack readouts of the paper and the treatment separation of Figure 2b.

The readouts themselves are :mod:`lumicare_ij.analysis` (Fiji-exact); this
module applies them to (test, reference) pairs, summarises over stacks and
measures how well mitochondrial shape separates DMSO from Rotenone cells.

Directions
----------
- mask MAE (Figure 1): lower is better (0 = identical masks, 255 = all differ).
- nuclear Pearson (Figure 2a): higher is better.
- mitochondrial shape (Figure 2b): a restoration is better when its per-image
  mean circularity and aspect ratio are closer to those of the fluorescence
  ground truth of the same cell (absolute difference, lower is better).
- Rotenone fragments mitochondria: rounder (higher circularity) and less
  elongated (lower aspect ratio) objects. Scores keep that direction
  (circularity, and minus the aspect ratio), so an AUC below 0.5 means the
  features point the wrong way; it is never flipped to look better.
"""

from __future__ import annotations

import math

import numpy as np

from .. import analysis
from ..errors import UserInputError
from ..evaluation import image_quality

#: Readout of each experiment: metric names, and whether higher is better.
READOUT_METRICS = {
    "mask_mae": {"mask_mae": False},
    "nuclear_pearson": {"nuclear_pearson": True},
    "mito_morphology": {"circularity_error": False, "aspect_ratio_error": False},
}
READOUT_LABELS = {"mask_mae": "mask MAE (Figure 1 method, in-focus planes; lower is better)",
                  "nuclear_pearson": "Pearson's R under nuclear masks (Figure 2a method, in-focus planes; "
                                     "higher is better)",
                  "mask_mae_all_planes": "mask MAE over every plane of the stack (lower is better)",
                  "nuclear_pearson_all_planes": "Pearson's R over every plane of the stack (higher is better)",
                  "circularity_error": "|mean circularity - ground truth's| per image (lower is better)",
                  "aspect_ratio_error": "|mean aspect ratio - ground truth's| per image (lower is better)",
                  "mito_mask_mae": "MAE between mitochondria masks (lower is better)"}


#: A plane is in focus when its mean rises above the dimmest plane's by at least this fraction
#: of the brightest plane's rise: the full width at half maximum of the axial intensity profile.
FOCUS_FRACTION = 0.5


def focus_planes(reference) -> np.ndarray:
    """Indices of the ground truth's in-focus planes (FWHM of its axial intensity profile).

    Figures 1 and 2a show, and measure, micrographs: planes through the cells.
    The planes above and below the cells hold almost no signal; a per-slice
    auto-threshold there splits background, whose masks say nothing about
    cells. The selection depends on the ground truth alone, never on the
    image tested. A 2D image is its own single plane.
    """
    reference = np.asarray(reference)
    if reference.ndim == 2:
        return np.array([0])
    profile = reference.reshape(reference.shape[0], -1).astype(np.float64).mean(axis=1)
    rise = profile - profile.min()
    if rise.max() <= 0:
        return np.arange(reference.shape[0])
    return np.flatnonzero(rise >= FOCUS_FRACTION * rise.max())


def planes_text(planes) -> str:
    """Plane indices as text, runs as ranges: ``[2, 3, 4, 9]`` -> ``"2-4,9"``."""
    runs = []
    for z in (int(z) for z in planes):
        if runs and z == runs[-1][1] + 1:
            runs[-1][1] = z
        else:
            runs.append([z, z])
    return ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def readout_values(readout: str, test, reference, *, engine: str = "numpy", quality: bool = True,
                   planes=None) -> dict:
    """The experiment's readout of one test stack against its reference stack (plus PSNR/SSIM).

    ``planes``: for Figure 1 and 2a readouts of stacks, the planes measured
    (default :func:`focus_planes` of the reference); the value over every
    plane is added as ``<metric>_all_planes``. PSNR/SSIM use the whole stack.
    """
    test = np.asarray(test)
    reference = np.asarray(reference)
    row = image_quality(test, reference) if quality else {}
    if readout in ("mask_mae", "nuclear_pearson") and reference.ndim == 3:
        planes = focus_planes(reference) if planes is None else np.asarray(planes)
        whole = _readout(readout, test, reference, engine)
        row.update(_readout(readout, test[planes], reference[planes], engine) if len(planes) < len(reference)
                   else whole)
        row[f"{readout}_all_planes"] = whole[readout]
        row["planes"] = planes_text(planes)
        return row
    row.update(_readout(readout, test, reference, engine))
    return row


def plane_readouts(readout: str, test, reference, *, engine: str = "numpy") -> np.ndarray:
    """The Figure 1 or 2a readout of each plane of a (Z, Y, X) stack: one value per plane.

    The masks are the stack readout's own, made once for the whole stack
    (:func:`lumicare_ij.analysis.cell_mask`: 16-bit conversion over the
    stack, Mean threshold per slice; :func:`lumicare_ij.analysis.nuclear_mask`
    of the reference), then compared plane by plane: ``mask_mae`` gives each
    plane's mask MAE (their mean is the stack's mask MAE over every plane),
    ``nuclear_pearson`` each plane's Pearson's R under its nuclear mask (NaN
    where the plane has none).
    """
    test = np.asarray(test)
    reference = np.asarray(reference)
    if test.shape != reference.shape or reference.ndim != 3:
        raise UserInputError(f"plane_readouts needs two (Z, Y, X) stacks of one shape; got {test.shape} and "
                         f"{reference.shape}")
    from .. import ijops

    if readout == "mask_mae":
        ref_mask = analysis.cell_mask(reference, engine=engine)
        test_mask = analysis.cell_mask(test, engine=engine)
        return np.array([float(ijops.mask_mae(r, t, engine=engine)) for r, t in zip(ref_mask, test_mask)])
    if readout == "nuclear_pearson":
        mask = analysis.nuclear_mask(reference, engine=engine)
        if engine != "numpy":
            test, reference = test.astype(np.float32), reference.astype(np.float32)
        return np.array([float(ijops.masked_pearson(t, r, m, engine=engine)) if m.any() else math.nan
                         for t, r, m in zip(test, reference, mask)])
    raise UserInputError(f"plane_readouts: {readout!r} is not measured per plane (mask_mae or nuclear_pearson)")


def planes_worse_than_raw(readout: str, raw, restored, reference, *, engine: str = "numpy") -> dict:
    """The planes of one stack where the restoration's readout is worse than the raw input's.

    Both are measured per plane against the same reference
    (:func:`plane_readouts`); "worse" is strictly worse in the readout's own
    direction (mask MAE higher, nuclear Pearson lower; a plane without a
    value on either side is not counted).

    Returns
    -------
    dict
        ``planes`` (the worse planes, z = 0 first), ``focus_planes`` (the
        reference's :func:`focus_planes`, where the readout is measured),
        ``in_focus`` (the worse planes among them), ``raw`` and ``restored``
        (every plane's value) and ``n_planes``.
    """
    raw_values = plane_readouts(readout, raw, reference, engine=engine)
    restored_values = plane_readouts(readout, restored, reference, engine=engine)
    higher = READOUT_METRICS[readout][readout]
    with np.errstate(invalid="ignore"):
        worse = restored_values < raw_values if higher else restored_values > raw_values
    planes = [int(z) for z in np.flatnonzero(worse)]
    focus = [int(z) for z in focus_planes(reference)]
    return {"planes": planes, "focus_planes": focus, "in_focus": [z for z in planes if z in focus],
            "n_planes": int(len(raw_values)), "raw": raw_values.tolist(), "restored": restored_values.tolist()}


def _readout(readout: str, test, reference, engine: str) -> dict:
    if readout == "mask_mae":
        return {"mask_mae": float(analysis.mask_mae_between(reference, test, engine=engine))}
    if readout == "nuclear_pearson":
        return {"nuclear_pearson": float(analysis.nuclear_pearson(test, reference, engine=engine))}
    if readout == "mito_morphology":
        from .. import ijops

        t = analysis.mito_morphology(test, engine=engine)
        r = analysis.mito_morphology(reference, engine=engine)
        return {"mean_circularity": t.mean_circularity, "mean_aspect_ratio": t.mean_aspect_ratio,
                "n_particles": t.n_particles,
                "circularity_error": abs(t.mean_circularity - r.mean_circularity),
                "aspect_ratio_error": abs(t.mean_aspect_ratio - r.mean_aspect_ratio),
                "mito_mask_mae": float(ijops.mask_mae(r.mask, t.mask, engine=engine))}
    raise UserInputError(f"unknown readout {readout!r}")


def morphology_features(image, *, engine: str = "numpy") -> dict:
    """Figure 2b's per-image means of one stack (or 2D image)."""
    m = analysis.mito_morphology(np.asarray(image), engine=engine)
    return {"mean_circularity": m.mean_circularity, "mean_aspect_ratio": m.mean_aspect_ratio,
            "n_particles": m.n_particles}


def summarize_rows(rows: list[dict], metrics) -> dict:
    """``{arm: {kind: {metric: {mean, sd, n, values}}}}`` over stacks."""
    out: dict = {}
    for row in rows:
        arm = out.setdefault(row["arm"], {})
        kind = arm.setdefault(row["kind"], {})
        for metric in metrics:
            value = row.get(metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                kind.setdefault(metric, []).append(float(value))
    for arm in out.values():
        for kind, metrics_ in arm.items():
            for metric, values in list(metrics_.items()):
                finite = [v for v in values if math.isfinite(v)]
                metrics_[metric] = {"mean": float(np.mean(finite)) if finite else math.nan,
                                    "sd": float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0,
                                    "n": len(finite), "values": values}
    return out


# --------------------------------------------------------------------------
# Treatment separation (Figure 2b)
# --------------------------------------------------------------------------

def roc_auc(scores, positive) -> float:
    """ROC AUC of ``scores`` for the positive class (ties count half); NaN without both classes."""
    scores = np.asarray(scores, float)
    positive = np.asarray(positive, bool)
    ok = np.isfinite(scores)
    scores, positive = scores[ok], positive[ok]
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return math.nan
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def loo_linear_auc(features, positive) -> float:
    """Leave-one-out ROC AUC of a linear classifier (logistic regression on standardised features).

    Each image is scored by a model fitted to all the other images, so the
    AUC is not inflated by testing on training images. NaN if a class has
    fewer than 2 images.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, float)
    y = np.asarray(positive, bool)
    ok = np.all(np.isfinite(x), axis=1)
    x, y = x[ok], y[ok]
    if y.sum() < 2 or (~y).sum() < 2:
        return math.nan
    scores = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
        model.fit(x[keep], y[keep])
        scores[i] = model.decision_function(x[i:i + 1])[0]
    return roc_auc(scores, y)


def best_line(features, positive, n_angles: int = 720) -> dict:
    """The straight line that keeps all positive (Rotenone) images on one side with fewest negatives.

    Searches directions in the standardised feature plane; for each, the
    threshold sits at the lowest positive projection, and negatives at or
    above it are counted as misplaced. Among the best directions the one with
    the widest gap is kept, and the line is drawn in the middle of the gap.

    Returns
    -------
    dict
        ``n_positive``, ``n_negative``, ``negatives_misplaced``,
        ``separates_all`` (True when no negative is misplaced: one line
        separates the two groups), and the line ``a * x + b * y = c`` in the
        original feature units (``a``, ``b``, ``c``), or NaNs when it cannot
        be drawn.
    """
    x = np.asarray(features, float)
    y = np.asarray(positive, bool)
    ok = np.all(np.isfinite(x), axis=1)
    x, y = x[ok], y[ok]
    result = {"n_positive": int(y.sum()), "n_negative": int((~y).sum()), "negatives_misplaced": None,
              "separates_all": False, "a": math.nan, "b": math.nan, "c": math.nan}
    if not y.any() or y.all():
        return result
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mean) / sd
    best = None
    angles = np.linspace(0, 2 * np.pi, n_angles, endpoint=False)
    for theta in angles:
        direction = np.array([math.cos(theta), math.sin(theta)])
        p = z @ direction
        t = p[y].min()
        misplaced = int((p[~y] >= t).sum())
        below = p[~y][p[~y] < t]
        gap = float(t - below.max()) if len(below) else float("inf")
        key = (misplaced, -gap)
        if best is None or key < best[0]:
            middle = t - (gap / 2 if math.isfinite(gap) else 0.5)
            best = (key, direction, middle)
    (misplaced, _), direction, middle = best
    # z = (x - mean) / sd; direction . z = middle  ->  a x + b y = c in feature units
    a, b = direction / sd
    c = middle + float(direction @ (mean / sd))
    result.update({"negatives_misplaced": misplaced, "separates_all": misplaced == 0,
                   "a": float(a), "b": float(b), "c": float(c)})
    return result


def separation(circularity, aspect_ratio, rotenone) -> dict:
    """How well per-image shape separates Rotenone from DMSO images (one set of images)."""
    circularity = np.asarray(circularity, float)
    aspect_ratio = np.asarray(aspect_ratio, float)
    rotenone = np.asarray(rotenone, bool)
    features = np.column_stack([circularity, aspect_ratio])
    line = best_line(features, rotenone)
    return {"auc_circularity": roc_auc(circularity, rotenone),
            "auc_aspect_ratio": roc_auc(-aspect_ratio, rotenone),
            "auc_linear_loo": loo_linear_auc(features, rotenone),
            "line": line,
            "n_dmso": int((~rotenone).sum()), "n_rotenone": int(rotenone.sum())}
