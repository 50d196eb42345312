"""Protocols: exposures, repeats and binning on a specimen; keyed random streams."""

import dataclasses

import numpy as np
import pytest

from lumicare_ij.simulate import (IXON_ULTRA_888, SPECIMENS, acquire, make_specimen, optical_image,
                                  record_conditions, software_bin)

SHAPE = (6, 128, 128)


@pytest.fixture(scope="module")
def cells():
    return make_specimen("cytoplasmic", SHAPE, rng=5)


def record(specimen, seed=0, conditions=None, stack_index=0):
    conditions = conditions or specimen.protocol.conditions
    return {c.name: img for c, img in record_conditions(specimen, conditions, seed=seed, stack_index=stack_index)}


def test_conditions_scale_with_exposure_and_binning(cells):
    images = record(cells)
    flux = optical_image(cells, "luminescence")
    g_over_s = IXON_ULTRA_888.em_gain / IXON_ULTRA_888.sensitivity_e_per_adu
    qe, cic = IXON_ULTRA_888.quantum_efficiency, IXON_ULTRA_888.cic_e_per_px_frame
    for name in ("lum_0.5s", "lum_1s", "lum_5s", "lum_60s"):
        cond = SPECIMENS["cytoplasmic"].condition(name)
        signal = images[name].astype(float).mean() - IXON_ULTRA_888.baseline_adu
        expected = g_over_s * (qe * flux.mean() * cond.exposure_s + cic)
        assert signal == pytest.approx(expected, rel=0.05 if cond.exposure_s < 1 else 0.02), name
    for k in (2, 4, 8):
        hw = images[f"lum_0.5s_hwbin{k}"]
        sw = images[f"lum_0.5s_swbin{k}"]
        assert hw.shape == sw.shape == (SHAPE[0], SHAPE[1] // k, SHAPE[2] // k)
        # Hardware: k^2 the charge per pixel; software: the average of the same read-out.
        hw_signal = hw.astype(float).mean() - IXON_ULTRA_888.baseline_adu
        assert hw_signal == pytest.approx(k * k * g_over_s * (qe * flux.mean() * 0.5 + cic), rel=0.05)
        np.testing.assert_array_equal(sw, software_bin(images["lum_0.5s"], k))


def test_60s_gives_tens_to_hundreds_of_photons_and_05s_about_one(cells):
    flux = optical_image(cells, "luminescence")
    bright = np.percentile(flux[cells.labels > 0], 90)  # photons/s in bright cell regions
    assert 20 < bright * 60 < 400
    assert 0.2 < bright * 0.5 < 3


def test_same_seed_same_images_and_repeats_are_independent(cells):
    a = record(cells, seed=7)
    b = record(cells, seed=7)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    c = record(cells, seed=8)
    assert not np.array_equal(a["lum_60s"], c["lum_60s"])
    # Repeats: same specimen and mean, independent noise (residuals uncorrelated).
    flux = optical_image(cells, "luminescence")
    for first, second in (("lum_60s", "lum_60s_rep2"), ("lum_5s", "lum_5s_rep2")):
        x, y = a[first].astype(float), a[second].astype(float)
        assert not np.array_equal(x, y)
        assert abs(x.mean() - y.mean()) < 5 * np.sqrt((x.var() + y.var()) / x.size)
        lit = flux > 0.3
        noise_x = x[lit] - _expected_adu(flux, first)[lit]
        noise_y = y[lit] - _expected_adu(flux, second)[lit]
        assert abs(np.corrcoef(noise_x, noise_y)[0, 1]) < 5 / np.sqrt(lit.sum())
        assert np.corrcoef(x[lit], y[lit])[0, 1] > 0.5  # the shared specimen


def _expected_adu(flux, name):
    cond = SPECIMENS["cytoplasmic"].condition(name)
    cam = IXON_ULTRA_888
    return cam.baseline_adu + cam.em_gain / cam.sensitivity_e_per_adu * (
        cam.quantum_efficiency * flux * cond.exposure_s + cam.cic_e_per_px_frame)


def test_adding_or_removing_conditions_changes_no_other_image(cells):
    full = record(cells, seed=3)
    protocol = SPECIMENS["cytoplasmic"]
    subset = [protocol.condition("lum_5s"), protocol.condition("lum_0.5s"), protocol.condition("lum_0.5s_swbin4")]
    part = record(cells, seed=3, conditions=subset)
    for name, image in part.items():
        np.testing.assert_array_equal(image, full[name])
    other_stack = record(cells, seed=3, conditions=subset, stack_index=1)
    assert not np.array_equal(other_stack["lum_5s"], full["lum_5s"])


def test_fluorescence_is_much_brighter_than_short_luminescence():
    s = make_specimen("h2b", (8, 128, 128), rng=1)
    protocol = s.protocol
    lum = acquire(optical_image(s, "luminescence"), protocol.condition("lum_0.5s"), rng=1)
    fluo = acquire(optical_image(s, "fluorescence"), protocol.condition("fluo"), rng=1)
    inside = s.labels > 0
    assert np.percentile(fluo[inside], 90) - 100 > 20 * (np.percentile(lum[inside], 90) - 100)
    assert fluo.max() < 65535  # no saturation at the default flux


def test_software_binned_condition_cannot_be_acquired_directly(cells):
    with pytest.raises(ValueError, match="software_bin"):
        acquire(np.ones((8, 8)), SPECIMENS["cytoplasmic"].condition("lum_0.5s_swbin2"))


def test_overridden_flux_scales_the_specimen():
    brighter = SPECIMENS["cytoplasmic"].with_channel("luminescence", bright_photons_per_s=6.0)
    a = make_specimen("cytoplasmic", (4, 64, 64), rng=2)
    b = make_specimen(brighter, (4, 64, 64), rng=2)
    np.testing.assert_allclose(b.emission["luminescence"], 2 * a.emission["luminescence"], rtol=1e-6)
    assert dataclasses.replace(brighter).channel("luminescence").bright_photons_per_s == 6.0
