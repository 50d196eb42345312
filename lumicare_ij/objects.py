"""Object-level agreement of a segmentation with reference objects, plane by plane.

PSNR and Pearson's R can stay high while a restoration fills the gaps
between touching nuclei, so that a threshold merges them into one blob. The
counts here say what a biologist sees in the masks. Objects are matched in
each XY plane, as Fiji's Analyze Particles finds them (2D, edges and corners
touching), and the counts are summed over the planes:

- a reference object is **missed** when the test objects cover less than
  :data:`MIN_OVERLAP` of it;
- a test object is **spurious** when the reference objects cover less than
  :data:`MIN_OVERLAP` of it;
- a reference object is **merged** when the test object that covers at
  least :data:`MIN_OVERLAP` of it covers that much of another reference
  object too (two touching nuclei in one blob: both count);
- a reference object is **split** when two or more test objects each cover
  at least :data:`MIN_OVERLAP` of it.

The reference is either a label image (simulated ground truth: touching
nuclei keep their own numbers) or a mask, whose 8-connected components are
the objects (then touching reference objects are one object already).

Examples
--------
>>> import numpy as np
>>> ref = np.zeros((1, 8, 12), np.uint16); ref[0, 2:6, 1:5] = 1; ref[0, 2:6, 6:10] = 2
>>> test = np.zeros((1, 8, 12), bool); test[0, 2:6, 1:10] = True   # one blob over both
>>> match_objects(test, ref, min_size_px=1)["merged"]
2
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import UserInputError

__all__ = ["MIN_OVERLAP", "OBJECT_COUNTS", "match_objects", "label_planes", "reference_objects"]

#: An object counts as covered by another image's objects when at least this fraction of it is.
MIN_OVERLAP = 0.2
#: The counts :func:`match_objects` returns, in table order.
OBJECT_COUNTS = ("n_objects", "n_reference_objects", "merged", "split", "spurious", "missed")

_EIGHT_CONNECTED = np.ones((3, 3), bool)


def label_planes(mask) -> np.ndarray:
    """Number the 8-connected objects of each XY plane of a (Y, X) or (Z, Y, X) mask (int32)."""
    mask = np.asarray(mask, bool)
    planes = mask[None] if mask.ndim == 2 else mask
    labels = np.zeros(planes.shape, np.int32)
    for z, plane in enumerate(planes):
        labels[z], _ = ndimage.label(plane, structure=_EIGHT_CONNECTED)
    return labels[0] if mask.ndim == 2 else labels


def reference_objects(reference_mask, labels=None) -> np.ndarray:
    """The reference's objects: its mask, split by object labels where they are known.

    Touching nuclei are one component of a thresholded mask; the simulation's
    labels keep them apart, so that a restoration that joins them counts as
    merging them. Without labels (or with labels of another shape, e.g. of a
    projection), the mask itself is returned (its components are the objects).
    """
    mask = np.asarray(reference_mask).astype(bool, copy=False)
    if labels is None:
        return mask
    labels = np.asarray(labels)
    if labels.shape != mask.shape:
        return mask
    return np.where(mask, labels, 0)


def match_objects(test_mask, reference, *, min_size_px: float = 1, min_overlap: float = MIN_OVERLAP) -> dict:
    """Count merged, split, spurious and missed objects of ``test_mask`` against ``reference``.

    Parameters
    ----------
    test_mask : (Y, X) or (Z, Y, X) bool array
        The segmentation of the image being judged.
    reference : array of the same shape
        Integer labels (0 background; a mask, bool or 0/1 or 0/255, is
        labelled into its 8-connected components per plane).
    min_size_px : float
        Reference objects smaller than this in a plane are not counted there
        (set it to the segmentation's particle size limit, so that the thin
        caps of nuclei in their top and bottom planes do not count as missed).
    min_overlap : float
        See :data:`MIN_OVERLAP`.

    Returns
    -------
    dict of int
        :data:`OBJECT_COUNTS`, summed over planes.
    """
    test = np.asarray(test_mask).astype(bool, copy=False)
    ref = np.asarray(reference)
    if test.shape != ref.shape:
        raise UserInputError(f"the segmentation ({test.shape}) and the reference objects ({ref.shape}) "
                             "differ in shape; give reference labels of the same stack.")
    if ref.dtype == bool or set(np.unique(ref).tolist()) <= {0, 1, 255}:
        # A mask (bool, 0/1 or 0/255): its components are the objects, not one object "1".
        ref = label_planes(ref > 0)
    if not (0 < min_overlap <= 1):
        raise UserInputError(f"min_overlap must be in (0, 1]; got {min_overlap!r}")
    test_labels = label_planes(test)
    if test.ndim == 2:
        return _match_plane(test_labels, ref, min_size_px, min_overlap)
    totals = dict.fromkeys(OBJECT_COUNTS, 0)
    for t_plane, r_plane in zip(test_labels, ref):
        for key, value in _match_plane(t_plane, r_plane, min_size_px, min_overlap).items():
            totals[key] += value
    return totals


def _match_plane(test_labels: np.ndarray, ref_labels: np.ndarray, min_size_px: float, min_overlap: float) -> dict:
    # Renumber the reference 1..n (label images number objects across the whole stack).
    ref_ids, ref_index = np.unique(ref_labels, return_inverse=True)
    ref_index = ref_index.reshape(ref_labels.shape)
    if ref_ids[0] != 0:
        ref_index = ref_index + 1
    n_ref = int(ref_index.max())
    n_test = int(test_labels.max())
    # overlap[t, r]: pixels of test object t on reference object r (row/column 0: background).
    overlap = np.bincount((test_labels.astype(np.int64) * (n_ref + 1) + ref_index).ravel(),
                          minlength=(n_test + 1) * (n_ref + 1)).reshape(n_test + 1, n_ref + 1)
    ref_size = overlap.sum(axis=0)[1:]
    test_size = overlap.sum(axis=1)[1:]
    counted = ref_size >= min_size_px
    inner = overlap[1:, 1:]
    # finds[t, r]: test object t covers at least min_overlap of reference object r.
    finds = (inner >= min_overlap * ref_size[None, :]) & counted[None, :]
    refs_per_test = finds.sum(axis=1)
    merged = finds[refs_per_test >= 2].any(axis=0)
    split = finds.sum(axis=0) >= 2
    covered_ref = inner.sum(axis=0)
    covered_test = inner.sum(axis=1)
    return {"n_objects": n_test, "n_reference_objects": int(counted.sum()),
            "merged": int(np.count_nonzero(merged)), "split": int(np.count_nonzero(split)),
            "spurious": int(np.count_nonzero(covered_test < min_overlap * test_size)),
            "missed": int(np.count_nonzero(counted & (covered_ref < min_overlap * ref_size)))}
