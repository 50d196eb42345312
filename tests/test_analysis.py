"""The paper's readouts: both engines agree, and the numbers behave as the paper's do."""

import numpy as np
import pytest

from lumicare_ij import analysis, ijops
from lumicare_ij.ijops._checks import InputError
from lumicare_ij.simulate import simulate_dataset


@pytest.fixture(scope="module")
def cyto(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyto")
    simulate_dataset("cytoplasmic", out, n_stacks=2, shape_zyx=(4, 96, 96), small=True, seed=5, progress=False)
    return out


@pytest.fixture(scope="module")
def mito(tmp_path_factory):
    out = tmp_path_factory.mktemp("mito")
    simulate_dataset("tomm20", out, n_stacks=4, shape_zyx=(6, 128, 128), small=True, seed=2, progress=False)
    return out


def _stack(folder, condition, i=0):
    from lumicare_ij import io

    return io.read_array(sorted((folder / condition).glob("*.tif"))[i])


@pytest.mark.imagej
@pytest.mark.parametrize("condition", ["lum_60s_rep2", "lum_0.5s", "lum_5s"])
def test_mask_mae_same_in_both_engines_and_falls_with_exposure(cyto, condition):
    ref = _stack(cyto, "lum_60s")
    test = _stack(cyto, condition)
    mae = {e: analysis.mask_mae_between(ref, test, engine=e) for e in ("numpy", "imagej")}
    assert float(mae["numpy"]) == float(mae["imagej"])
    assert "ImageJ 1.53t" in mae["imagej"].source and "Fiji plugin" in mae["imagej"].source


def test_mask_mae_orders_exposures_like_figure_1(cyto):
    ref = _stack(cyto, "lum_60s")
    mae = {c: analysis.mask_mae_between(ref, _stack(cyto, c)) for c in ("lum_60s_rep2", "lum_5s", "lum_0.5s")}
    # Technical noise (two 60 s images) < 5 s < 0.5 s, as the paper's premise.
    assert mae["lum_60s_rep2"] < mae["lum_5s"] < mae["lum_0.5s"]
    assert 0 <= mae["lum_60s_rep2"] <= 255


def test_mask_mae_is_255_times_disagreeing_fraction():
    ref = np.zeros((40, 40), np.uint16)
    ref[5:25, 5:25] = 1000  # 400-pixel cell
    test = ref.copy()
    test[5:25, 5:15] = 0  # half of it lost
    assert analysis.mask_mae_between(ref, test) == pytest.approx(255 * 200 / 1600)


@pytest.mark.imagej
def test_nuclear_pearson_same_in_both_engines(tmp_path):
    simulate_dataset("h2b", tmp_path, n_stacks=1, shape_zyx=(4, 96, 96), small=True, seed=1, progress=False)
    gt, short = _stack(tmp_path, "lum_60s"), _stack(tmp_path, "lum_0.5s")
    r = {e: analysis.nuclear_pearson(short, gt, engine=e) for e in ("numpy", "imagej")}
    assert float(r["numpy"]) == pytest.approx(float(r["imagej"]), rel=1e-9)
    rep = analysis.nuclear_pearson(_stack(tmp_path, "lum_60s_rep2"), gt)
    assert rep > r["numpy"]  # a second long exposure correlates better than a 0.5 s one


@pytest.mark.imagej
def test_mito_morphology_same_in_both_engines_and_separates_phenotypes(mito):
    from lumicare_ij import io

    results = {}
    for path in sorted((mito / "fluo").glob("*.tif")):
        stack = io.read_array(path)
        numpy_r = analysis.mito_morphology(stack)
        ij_r = analysis.mito_morphology(stack, engine="imagej")
        for key in ("area", "circularity", "aspect_ratio"):
            np.testing.assert_allclose(numpy_r.particles[key], ij_r.particles[key], rtol=1e-9)
        np.testing.assert_array_equal(numpy_r.mask, ij_r.mask)
        results[path.stem] = numpy_r
    dmso = [r.mean_circularity for n, r in results.items() if "dmso" in n]
    rot = [r.mean_circularity for n, r in results.items() if "rotenone" in n]
    assert dmso and rot and max(dmso) < min(rot)


def test_pixel_classifier_learns_mitochondria_from_masks(mito):
    stack = _stack(mito, "fluo", 0)
    image = ijops.max_project(stack)
    truth = analysis.mito_morphology(stack).mask
    clf = analysis.PixelClassifier(n_estimators=20).fit_masks([image], [truth])
    pred = clf.predict_mask(_stack(mito, "fluo", 1).max(axis=0))
    other_truth = analysis.mito_morphology(_stack(mito, "fluo", 1)).mask
    agreement = (pred == other_truth).mean()
    assert agreement > 0.9
    result = analysis.mito_morphology(_stack(mito, "fluo", 1), segmentation=clf)
    assert result.n_particles > 0


def test_readouts_explain_bad_input():
    with pytest.raises(InputError, match="shape"):
        analysis.mask_mae_between(np.zeros((10, 10)), np.zeros((10, 12)))
    speck = np.zeros((10, 10), np.float32)
    speck[4, 4] = 100  # one bright pixel: a 1-px particle, below the 5-px limit
    with pytest.raises(InputError, match="empty nuclear mask"):
        analysis.nuclear_pearson(speck, speck)
    with pytest.raises(InputError, match="both classes"):
        analysis.PixelClassifier().fit([np.zeros((8, 8))], [np.ones((8, 8), int)])
