"""Artefact check: objects a restoration invents or loses, counted per image.

The paper's Discussion: deep-learning restorations "are - like any restoration
method - prone to artefacts, which can be assessed computationally, as
outlined in the original CARE publication". Two checks are made here, both
for the raw input and for the restoration, against the ground truth:

- **Objects**: the image and its ground truth are segmented with the
  experiment's own segmentation (Figure 1: 16-bit, Mean dark, particles >=
  100 px, slice by slice; Figure 2a: Triangle dark, particles >= 5 px;
  Figure 2b: max projection, rolling ball 5 px, Default threshold, particles
  >= 20 px). Objects are counted plane by plane, as Fiji's Analyze Particles
  counts them (2D, edges and corners touching), over the ground truth's
  in-focus planes as the readout (:func:`.measure.focus_planes`), and summed
  (the mitochondria: their maximum projection). An object of the image is **spurious** when
  less than :data:`MIN_OVERLAP` of its voxels lie inside the ground truth's
  mask (it is present in the image, absent from the ground truth); a ground
  truth object is **missed** when less than :data:`MIN_OVERLAP` of its
  voxels lie inside the image's mask.
- **Uncertainty**: a probabilistic CARE network predicts, per pixel, a
  Laplace distribution; its scale map (``<stack>_scale.tif``) is shown beside
  each restoration, so that confident and doubtful regions can be told apart.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import analysis
from ..errors import UserInputError

#: An object counts as present in the other image when at least this fraction of it is covered.
MIN_OVERLAP = 0.2


def object_mask(readout: str, image, *, engine: str = "numpy") -> np.ndarray:
    """The experiment's segmentation of one image (bool), as its readout uses it."""
    image = np.asarray(image)
    if readout == "mask_mae":
        return analysis.cell_mask(image, engine=engine) > 0
    if readout == "nuclear_pearson":
        return analysis.nuclear_mask(image, engine=engine) > 0
    if readout == "mito_morphology":
        return analysis.mito_morphology(image, engine=engine).mask > 0
    raise UserInputError(f"unknown readout {readout!r}")


def _label(mask: np.ndarray):
    return ndimage.label(mask, structure=np.ones((3, 3), bool))


def _unmatched(labels: np.ndarray, n: int, other: np.ndarray, min_overlap: float) -> int:
    if n == 0:
        return 0
    index = np.arange(1, n + 1)
    sizes = ndimage.sum_labels(np.ones_like(labels, dtype=np.int64), labels, index)
    covered = ndimage.sum_labels(other.astype(np.int64), labels, index)
    return int(np.count_nonzero(covered < min_overlap * sizes))


def compare_objects(test_mask, reference_mask, min_overlap: float = MIN_OVERLAP) -> dict:
    """Objects of ``test_mask`` absent from ``reference_mask`` (spurious) and the reverse (missed).

    Returns
    -------
    dict
        ``n_objects`` (in the test image), ``n_reference_objects``,
        ``spurious``, ``missed``.
    """
    test = np.asarray(test_mask, bool)
    ref = np.asarray(reference_mask, bool)
    if test.shape != ref.shape:
        raise UserInputError(f"mask shapes differ: {test.shape} vs {ref.shape}")
    if test.ndim == 3:
        planes = [compare_objects(t, r, min_overlap) for t, r in zip(test, ref)]
        return {k: int(sum(p[k] for p in planes)) for k in planes[0]} if planes else \
            {"n_objects": 0, "n_reference_objects": 0, "spurious": 0, "missed": 0}
    test_labels, n_test = _label(test)
    ref_labels, n_ref = _label(ref)
    return {"n_objects": int(n_test), "n_reference_objects": int(n_ref),
            "spurious": _unmatched(test_labels, n_test, ref, min_overlap),
            "missed": _unmatched(ref_labels, n_ref, test, min_overlap)}


def overlay(test_mask, reference_mask) -> np.ndarray:
    """RGB picture of two 2D masks: white both, magenta only in the test image, green only in the reference."""
    test = np.asarray(test_mask, bool)
    ref = np.asarray(reference_mask, bool)
    rgb = np.zeros(test.shape + (3,), np.float32)
    both = test & ref
    rgb[both] = 1.0
    rgb[test & ~ref] = (1.0, 0.0, 1.0)
    rgb[ref & ~test] = (0.0, 0.85, 0.0)
    return rgb
