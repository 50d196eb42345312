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
  voxels lie inside the image's mask. Ground-truth objects that one image
  object covers together are **merged**, those that two or more image
  objects share are **split** (:mod:`lumicare_ij.objects`).
- **Uncertainty**: a probabilistic CARE network predicts, per pixel, a
  Laplace distribution; its scale map (``<stack>_scale.tif``) is shown beside
  each restoration, so that confident and doubtful regions can be told apart.
"""

from __future__ import annotations

import numpy as np
from .. import analysis, objects
from ..errors import UserInputError

#: An object counts as present in the other image when at least this fraction of it is covered.
MIN_OVERLAP = objects.MIN_OVERLAP
#: Each readout's Analyze Particles lower size limit (px), as :func:`object_mask` segments.
PARTICLE_MIN_PX = {"mask_mae": 100, "nuclear_pearson": 5, "mito_morphology": 20}


def object_mask(readout: str, image, *, engine: str = "numpy") -> np.ndarray:
    """The experiment's segmentation of one image (bool), as its readout uses it."""
    image = np.asarray(image)
    if readout == "mask_mae":
        return analysis.cell_mask(image, PARTICLE_MIN_PX[readout], engine=engine) > 0
    if readout == "nuclear_pearson":
        return analysis.nuclear_mask(image, PARTICLE_MIN_PX[readout], engine=engine) > 0
    if readout == "mito_morphology":
        return analysis.mito_morphology(image, min_size_px=PARTICLE_MIN_PX[readout], engine=engine).mask > 0
    raise UserInputError(f"unknown readout {readout!r}")


def compare_objects(test_mask, reference_objects, min_overlap: float = MIN_OVERLAP, *,
                    min_size_px: float = 1) -> dict:
    """Objects of ``test_mask`` against the ground truth's, plane by plane.

    ``reference_objects`` is the ground truth's mask (bool) or its object
    labels restricted to that mask (touching objects kept apart); reference
    objects smaller than ``min_size_px`` in a plane are not counted there
    (:data:`PARTICLE_MIN_PX`: the segmentation's own particle limit).

    Returns
    -------
    dict
        ``n_objects`` (in the test image), ``n_reference_objects``,
        ``merged``, ``split``, ``spurious``, ``missed``
        (:func:`lumicare_ij.objects.match_objects`).
    """
    return objects.match_objects(test_mask, reference_objects, min_overlap=min_overlap, min_size_px=min_size_px)


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
