"""Object-level counts: merged, split, spurious and missed objects against reference labels."""

import numpy as np
import pytest

from lumicare_ij import evaluation, objects
from lumicare_ij.errors import UserInputError


def _two_touching_nuclei():
    ref = np.zeros((30, 40), np.uint16)
    ref[5:25, 3:19] = 7      # labels need not be 1..n
    ref[5:25, 19:35] = 9     # touches 7: one component of a mask, two objects by label
    return ref


def test_one_blob_over_two_touching_objects_merges_both():
    ref = _two_touching_nuclei()
    counts = objects.match_objects(ref > 0, ref)
    assert counts == {"n_objects": 1, "n_reference_objects": 2, "merged": 2, "split": 0, "spurious": 0, "missed": 0}
    # Against the reference's mask alone the two are one object, and nothing is merged.
    assert objects.match_objects(ref > 0, ref > 0)["merged"] == 0


def test_separated_objects_are_neither_merged_nor_split():
    ref = _two_touching_nuclei()
    test = ref > 0
    test[:, 18:21] = False   # a gap where they touch
    assert objects.match_objects(test, ref) == {"n_objects": 2, "n_reference_objects": 2, "merged": 0, "split": 0,
                                                "spurious": 0, "missed": 0}


def test_an_object_cut_in_two_is_split_and_a_small_chip_is_not():
    ref = _two_touching_nuclei()
    test = ref > 0
    test[:, 17:21] = False      # the two apart
    test[14:16, 3:17] = False   # object 7 cut across: two halves of about half each
    test[8, 28:35] = False      # a corner chip of 9 (18 of its 256 px) cut off
    test[5:8, 28] = False
    counts = objects.match_objects(test, ref)
    assert counts == {"n_objects": 4, "n_reference_objects": 2, "merged": 0, "split": 1, "spurious": 0, "missed": 0}


def test_spurious_and_missed():
    ref = np.zeros((40, 40), np.uint16)
    ref[2:12, 2:12] = 1
    ref[25:35, 2:12] = 2
    test = np.zeros_like(ref, bool)
    test[2:12, 2:12] = True
    test[25:35, 25:35] = True
    counts = objects.match_objects(test, ref)
    assert (counts["spurious"], counts["missed"], counts["merged"], counts["split"]) == (1, 1, 0, 0)


def test_small_reference_pieces_are_not_counted_with_a_size_limit():
    ref = np.zeros((20, 20), np.uint16)
    ref[2:12, 2:12] = 1      # 100 px
    ref[15:17, 15:17] = 2    # 4 px: a cap of a nucleus in its top plane
    test = ref == 1
    assert objects.match_objects(test, ref, min_size_px=10)["missed"] == 0
    assert objects.match_objects(test, ref, min_size_px=1)["missed"] == 1


def test_stacks_are_counted_plane_by_plane_and_summed():
    ref = np.stack([_two_touching_nuclei()] * 3)
    test = ref > 0
    test[1, :, 18:21] = False    # separated in one plane only
    counts = objects.match_objects(test, ref)
    assert counts["merged"] == 4 and counts["n_reference_objects"] == 6 and counts["n_objects"] == 4


def test_reference_objects_split_a_mask_by_labels_and_ignore_labels_of_another_shape():
    ref = _two_touching_nuclei()
    mask = ref > 0
    mask[:, 30:] = False
    out = objects.reference_objects(mask, ref)
    assert set(np.unique(out)) == {0, 7, 9} and not out[:, 30:].any()
    assert objects.reference_objects(mask, ref[:, :10]).dtype == bool


def test_bad_inputs_are_explained():
    with pytest.raises(UserInputError, match="differ in shape"):
        objects.match_objects(np.zeros((4, 4), bool), np.zeros((4, 5), np.uint16))
    with pytest.raises(UserInputError, match="min_overlap"):
        objects.match_objects(np.zeros((4, 4), bool), np.zeros((4, 4), np.uint16), min_overlap=0)


def test_evaluate_counts_merged_nuclei_of_a_blurred_image_against_labels():
    """A Gaussian-blurred image of two close nuclei: Mean-thresholded masks join them."""
    from scipy import ndimage

    ref_labels = np.zeros((1, 64, 96), np.uint16)
    yy, xx = np.mgrid[:64, :96]
    ref_labels[0][(yy - 32) ** 2 + (xx - 30) ** 2 < 14 ** 2] = 1
    ref_labels[0][(yy - 32) ** 2 + (xx - 60) ** 2 < 14 ** 2] = 2
    sharp = (ref_labels > 0).astype(np.float32) * 1000 + 10
    blurred = ndimage.gaussian_filter(sharp, (0, 8, 8))
    sharp_counts = evaluation.object_counts(sharp, sharp, ref_labels)
    blurred_counts = evaluation.object_counts(blurred, sharp, ref_labels)
    assert sharp_counts["merged"] == 0 and sharp_counts["n_objects"] == 2
    assert blurred_counts["merged"] == 2 and blurred_counts["n_objects"] == 1
    # Without labels the reference's own mask is the truth; the sharp circles do not touch, so the same holds.
    assert evaluation.object_counts(blurred, sharp)["merged"] == 2
