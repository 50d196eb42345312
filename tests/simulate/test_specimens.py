"""Specimens: photon maps and labels, and the two mitochondrial phenotypes."""

import numpy as np
import pytest
from skimage import filters, measure

from lumicare_ij.simulate import SPECIMENS, make_specimen, optical_image


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_specimen_maps_and_labels_agree(name):
    shape = (12, 96, 96) if name != "tomm20" else (12, 160, 160)
    s = make_specimen(name, shape, rng=0)
    assert set(s.emission) == {c.name for c in SPECIMENS[name].channels}
    assert s.labels.shape == shape and s.labels.dtype == np.uint16 and s.labels.max() >= 1
    for channel, emission in s.emission.items():
        assert emission.shape == shape and emission.dtype == np.float32 and emission.min() >= 0
        # Photons come from the objects: most of the signal lies inside labelled voxels
        # (tomm20: thin tubes lose part of their anti-aliased edge, plus a faint cytosol;
        # h2b_dense: the haze of cells above and below belongs to no object).
        inside = emission[s.labels > 0].sum() / emission.sum()
        assert inside > {"tomm20": 0.5, "h2b_dense": 0.6}.get(name, 0.8)


def test_same_rng_same_specimen():
    a = make_specimen("cytoplasmic", (8, 96, 96), rng=3)
    b = make_specimen("cytoplasmic", (8, 96, 96), rng=3)
    c = make_specimen("cytoplasmic", (8, 96, 96), rng=4)
    np.testing.assert_array_equal(a.emission["luminescence"], b.emission["luminescence"])
    assert not np.array_equal(a.emission["luminescence"], c.emission["luminescence"])


def test_cytoplasmic_nuclei_are_darker_than_cytoplasm():
    s = make_specimen("cytoplasmic", (16, 256, 256), rng=1)
    e, labels = s.emission["luminescence"], s.labels
    # Per cell: the dimmest region inside a cell mid-height is its nucleus, well below the bright cytoplasm.
    mid = e[7]
    ratios = []
    for lab in np.unique(labels[7])[1:]:
        values = mid[labels[7] == lab]
        if values.size > 400:
            ratios.append(np.percentile(values, 5) / np.percentile(values, 90))
    assert len(ratios) >= 3 and np.median(ratios) < 0.7


def test_h2b_channels_share_structure_with_their_own_levels():
    s = make_specimen("h2b", (16, 256, 256), rng=2)
    lum, fluo, labels = s.emission["luminescence"], s.emission["fluorescence"], s.labels
    assert s.info["n_nuclei"] >= 10 and s.info["n_mitotic"] >= 1
    assert s.info["n_luminescence_only"] + s.info["n_fluorescence_only"] >= 1
    ratios, only_one = [], 0
    for lab in range(1, labels.max() + 1):
        inside = labels == lab
        if not inside.any():
            continue
        a, b = lum[inside], fluo[inside]
        if a.max() == 0 or b.max() == 0:
            only_one += 1
            continue
        assert np.corrcoef(a, b)[0, 1] > 0.99  # same chromatin, different brightness
        ratios.append(b.mean() / a.mean())
    assert only_one >= 1
    assert np.std(np.log(ratios)) > 0.1  # the eGFP/NanoLuc ratio varies between cells
    assert np.median(ratios) > 100  # fluorescence is far brighter per second


def _shape_stats(image):
    """Median circularity and aspect ratio of the objects of a thresholded 2D image."""
    mask = image > filters.threshold_otsu(image)
    props = [p for p in measure.regionprops(measure.label(mask, connectivity=2)) if p.area >= 20]
    circularity = [min(1.0, 4 * np.pi * p.area / p.perimeter**2) for p in props]
    aspect = [p.axis_major_length / max(p.axis_minor_length, 1e-6) for p in props]
    return np.median(circularity), np.median(aspect), len(props)


def test_mitochondrial_phenotypes_separate_by_shape():
    stats = {}
    for phenotype in ("dmso", "rotenone"):
        values = []
        for seed in (0, 1):
            s = make_specimen("tomm20", (16, 256, 256), rng=seed, phenotype=phenotype)
            assert s.info["phenotype"] == phenotype
            projection = optical_image(s, "fluorescence").max(axis=0)
            values.append(_shape_stats(projection))
        stats[phenotype] = np.array(values)
    dmso, rot = stats["dmso"], stats["rotenone"]
    # Every rotenone cell is rounder and less elongated than every DMSO cell.
    assert rot[:, 0].min() > dmso[:, 0].max() + 0.15, stats
    assert dmso[:, 1].min() > rot[:, 1].max() + 0.5, stats
    assert rot[:, 2].min() > dmso[:, 2].max()  # fragmentation: more, smaller objects


def test_unknown_names_are_explained():
    with pytest.raises(ValueError, match="choose one of"):
        make_specimen("golgi")
    with pytest.raises(ValueError, match="phenotype"):
        make_specimen("tomm20", (4, 64, 64), phenotype="oligomycin")


def _touching_pairs(labels_2d) -> int:
    """Pairs of different labels that are 4-neighbours somewhere in a plane."""
    pairs = set()
    for a, b in ((labels_2d[:, 1:], labels_2d[:, :-1]), (labels_2d[1:], labels_2d[:-1])):
        touch = (a != b) & (a > 0) & (b > 0)
        pairs |= {tuple(sorted(p)) for p in zip(a[touch].tolist(), b[touch].tolist())}
    return len(pairs)


def test_dense_nuclei_touch_at_several_heights_under_haze():
    sparse = make_specimen("h2b", small=True, rng=5)
    dense = make_specimen("h2b_dense", small=True, rng=5)
    assert dense.info["n_nuclei"] >= 4 * sparse.info["n_nuclei"]
    mid = dense.shape_zyx[0] // 2
    assert _touching_pairs(dense.labels[mid]) >= 5 and _touching_pairs(sparse.labels[mid]) == 0
    # Nuclei sit at different heights: their centres spread over more planes than in h2b.
    def centre_planes(s):
        zz = np.arange(s.shape_zyx[0])[:, None, None]
        return [float((zz * (s.labels == i)).sum() / (s.labels == i).sum()) for i in np.unique(s.labels)[1:]]
    assert np.ptp(centre_planes(dense)) > np.ptp(centre_planes(sparse)) + 2
    # Haze (the same nuclei drawn without it, subtracted): everywhere, strongest next to the layers
    # above and below, twice the middle plane's there, and at the set fraction of the nuclei's brightness.
    clear = make_specimen("h2b_dense", small=True, rng=5, haze_fraction=0.0)
    np.testing.assert_array_equal(clear.labels, dense.labels)
    haze = dense.emission["luminescence"] - clear.emission["luminescence"]
    per_plane = haze.mean(axis=(1, 2))
    assert haze.min() > 0
    np.testing.assert_allclose([per_plane[0], per_plane[-1]], 2 * per_plane[mid], rtol=0.1)
    level = clear.emission["luminescence"][clear.labels > 0].mean()
    np.testing.assert_allclose(haze[0].mean(), 0.15 * level, rtol=1e-3)
