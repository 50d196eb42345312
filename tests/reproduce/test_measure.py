"""Treatment separation, artefact counting and readouts on small known inputs."""

import math

import numpy as np
import pytest

from lumicare_ij.reproduce import artefacts, measure


def test_roc_auc_counts_ties_half_and_keeps_direction():
    assert measure.roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert measure.roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0  # never flipped
    assert measure.roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert math.isnan(measure.roc_auc([0.5, 0.6], [True, True]))


def test_best_line_separates_two_clouds_and_reports_misplaced():
    rng = np.random.default_rng(0)
    dmso = np.column_stack([rng.normal(0.35, 0.03, 6), rng.normal(2.6, 0.2, 6)])
    rot = np.column_stack([rng.normal(0.82, 0.03, 6), rng.normal(1.6, 0.1, 6)])
    x = np.vstack([dmso, rot])
    y = np.array([False] * 6 + [True] * 6)
    line = measure.best_line(x, y)
    assert line["separates_all"] and line["negatives_misplaced"] == 0
    side = line["a"] * x[:, 0] + line["b"] * x[:, 1] - line["c"]
    assert (np.sign(side[y]) == np.sign(side[y][0])).all() and (np.sign(side[~y]) != np.sign(side[y][0])).all()
    # One DMSO cell inside the Rotenone cloud: the best line keeps all Rotenone cells and misplaces it.
    x2 = np.vstack([x, [[0.82, 1.6]]])
    y2 = np.append(y, False)
    line2 = measure.best_line(x2, y2)
    assert not line2["separates_all"] and line2["negatives_misplaced"] == 1


def test_separation_of_perfect_features():
    circ = [0.3, 0.35, 0.4, 0.8, 0.85, 0.9]
    ar = [2.8, 2.5, 2.4, 1.6, 1.5, 1.4]
    rot = [False, False, False, True, True, True]
    s = measure.separation(circ, ar, rot)
    assert s["auc_circularity"] == 1.0 and s["auc_aspect_ratio"] == 1.0 and s["auc_linear_loo"] == 1.0
    assert s["line"]["separates_all"] and s["n_dmso"] == 3 and s["n_rotenone"] == 3


def test_loo_auc_needs_two_images_per_treatment():
    assert math.isnan(measure.loo_linear_auc([[0.3, 2.0], [0.8, 1.5], [0.4, 2.1]], [False, True, False]))


def test_compare_objects_counts_spurious_and_missed():
    ref = np.zeros((40, 40), bool)
    ref[5:15, 5:15] = True      # found
    ref[25:35, 5:15] = True     # missed
    test = np.zeros_like(ref)
    test[6:16, 6:16] = True     # overlaps the first
    test[25:35, 25:35] = True   # spurious
    counts = artefacts.compare_objects(test, ref)
    assert counts == {"n_objects": 2, "n_reference_objects": 2, "merged": 0, "split": 0, "spurious": 1, "missed": 1}
    assert artefacts.compare_objects(ref, ref)["spurious"] == 0


def test_compare_objects_counts_stacks_plane_by_plane():
    ref = np.zeros((3, 20, 20), bool)
    ref[:, 2:8, 2:8] = True
    test = ref.copy()
    test[1, 12:18, 12:18] = True
    counts = artefacts.compare_objects(test, ref)
    assert counts == {"n_objects": 4, "n_reference_objects": 3, "merged": 0, "split": 0, "spurious": 1, "missed": 0}


def test_overlay_colours():
    rgb = artefacts.overlay(np.array([[1, 1, 0]], bool), np.array([[1, 0, 1]], bool))
    assert rgb[0, 0].tolist() == [1, 1, 1] and rgb[0, 1].tolist() == [1, 0, 1]
    assert rgb[0, 2].tolist() == [0, pytest.approx(0.85), 0]


@pytest.fixture(scope="module")
def tomm20(tmp_path_factory):
    from lumicare_ij.simulate import simulate_dataset

    out = tmp_path_factory.mktemp("tomm20")
    simulate_dataset("tomm20", out, n_stacks=2, shape_zyx=(8, 128, 128), seed=3, progress=False)
    return out


def test_morphology_readout_against_fluorescence(tomm20):
    from lumicare_ij import io

    fluo = io.read_array(tomm20 / "fluo" / "tomm20_000_dmso.tif")
    lum = io.read_array(tomm20 / "lum_4s" / "tomm20_000_dmso.tif")
    same = measure.readout_values("mito_morphology", fluo, fluo, quality=False)
    assert same["circularity_error"] == 0 and same["aspect_ratio_error"] == 0 and same["mito_mask_mae"] == 0
    row = measure.readout_values("mito_morphology", lum, fluo)
    assert row["n_particles"] > 0 and row["circularity_error"] >= 0 and "psnr" in row


def test_summarize_rows_means_and_sd():
    rows = [{"arm": "a", "kind": "raw", "m": 1.0}, {"arm": "a", "kind": "raw", "m": 3.0},
            {"arm": "a", "kind": "restored", "m": float("nan")}]
    s = measure.summarize_rows(rows, ["m"])
    assert s["a"]["raw"]["m"]["mean"] == 2.0 and s["a"]["raw"]["m"]["n"] == 2
    assert math.isnan(s["a"]["restored"]["m"]["mean"])


@pytest.mark.imagej
def test_readouts_and_artefacts_are_the_same_in_the_real_imagej(tomm20):
    from lumicare_ij import io

    fluo = io.read_array(tomm20 / "fluo" / "tomm20_000_dmso.tif")
    lum = io.read_array(tomm20 / "lum_4s" / "tomm20_000_dmso.tif")
    stack_ref, stack_test = fluo, lum
    for readout in ("mask_mae", "mito_morphology"):
        a = measure.readout_values(readout, stack_test, stack_ref, engine="numpy", quality=False)
        b = measure.readout_values(readout, stack_test, stack_ref, engine="imagej", quality=False)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12) if isinstance(a[key], float) else a[key] == b[key]
        counts = [artefacts.compare_objects(artefacts.object_mask(readout, stack_test, engine=e),
                                            artefacts.object_mask(readout, stack_ref, engine=e))
                  for e in ("numpy", "imagej")]
        assert counts[0] == counts[1]
