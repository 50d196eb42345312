"""EMCCD physics: the simulated pixels have the model's mean and variance."""

import numpy as np
import pytest

from lumicare_ij import ijops
from lumicare_ij.simulate import (IXON_ULTRA_888, CameraSettings, em_multiply, emccd_readout,
                                  expected_photoelectrons, hardware_bin, software_bin)

N = 400  # 400 x 400 = 160,000 pixels per test frame


def model_mean_var(photons, exposure_s, camera, binning=1):
    """Mean and variance in ADU that the EMCCD model predicts for uniform light."""
    m = float(expected_photoelectrons(np.full((binning, binning), photons), exposure_s, camera, binning)[0, 0])
    g, s = camera.em_gain, camera.sensitivity_e_per_adu
    mean = camera.baseline_adu + g * m / s
    var = 2 * g**2 * m / s**2 + (camera.read_noise_e / s) ** 2 + 1 / 12
    return mean, var, m


@pytest.mark.parametrize("photons", [0.5, 2.0, 10.0])
def test_mean_and_excess_noise_at_high_gain(photons):
    camera = IXON_ULTRA_888
    image = emccd_readout(np.full((N, N), photons), 1.0, camera, rng=1).astype(np.float64)
    mean, var, m = model_mean_var(photons, 1.0, camera)
    # Tolerances: 5 standard errors of the sample mean; 4% on the variance
    # (the gamma-Poisson tail makes the variance estimate spread ~1%).
    assert abs(image.mean() - mean) < 5 * np.sqrt(var / image.size)
    assert image.var() == pytest.approx(var, rel=0.04)
    # The excess noise factor: variance / (G^2/s^2 * mean electrons) ~ 2, not 1 (Poisson alone).
    signal_var = image.var() - (camera.read_noise_e / camera.sensitivity_e_per_adu) ** 2 - 1 / 12
    excess = signal_var / (camera.em_gain**2 * m / camera.sensitivity_e_per_adu**2)
    assert excess == pytest.approx(2.0, rel=0.05)


def test_dark_frame_holds_only_clock_induced_charge():
    camera = IXON_ULTRA_888
    image = emccd_readout(np.zeros((N, N)), 0.5, camera, rng=2).astype(np.float64)
    m = camera.cic_e_per_px_frame + camera.dark_current_e_per_px_s * 0.5
    # One multiplied electron is exponentially distributed with mean G: it exceeds
    # a threshold t (well above the 1.25 ADU read noise) with probability exp(-t/G).
    threshold_e = 6.5 * camera.sensitivity_e_per_adu
    events = (image - camera.baseline_adu) > 6
    assert events.mean() == pytest.approx((1 - np.exp(-m)) * np.exp(-threshold_e / camera.em_gain), rel=0.15)
    assert np.median(image) == camera.baseline_adu


def test_signal_scales_linearly_with_exposure():
    camera = IXON_ULTRA_888
    flux = np.full((N, N), 3.0)  # photons/s per pixel
    signal = {}
    for exposure_s in (0.5, 5.0, 60.0):
        image = emccd_readout(flux * exposure_s, exposure_s, camera, rng=3).astype(np.float64)
        signal[exposure_s] = image.mean() - camera.baseline_adu
        expected = camera.em_gain * float(expected_photoelectrons(3.0 * exposure_s, exposure_s, camera)) \
            / camera.sensitivity_e_per_adu
        assert signal[exposure_s] == pytest.approx(expected, rel=0.02)
    # Photon signal (without the exposure-independent CIC) is proportional to exposure.
    cic_adu = camera.em_gain * camera.cic_e_per_px_frame / camera.sensitivity_e_per_adu
    assert (signal[60.0] - cic_adu) / (signal[5.0] - cic_adu) == pytest.approx(12.0, rel=0.02)


@pytest.mark.parametrize("k", [2, 4, 8])
def test_hardware_binning_sums_charge_before_gain(k):
    camera = IXON_ULTRA_888
    photons = 0.5
    image = emccd_readout(np.full((N, N), photons), 0.5, camera, binning=k, rng=4).astype(np.float64)
    assert image.shape == (N // k, N // k)
    mean, var, m = model_mean_var(photons, 0.5, camera, binning=k)
    assert m == pytest.approx(k * k * (camera.quantum_efficiency * photons + camera.cic_e_per_px_frame
                                       + camera.dark_current_e_per_px_s * 0.5))
    assert abs(image.mean() - mean) < 5 * np.sqrt(var / image.size)
    assert image.var() == pytest.approx(var, rel=0.12 if k == 8 else 0.06)


def test_hardware_binning_adds_one_read_noise_per_binned_pixel():
    camera = CameraSettings(read_noise_e=160.0, cic_e_per_px_frame=0.0, dark_current_e_per_px_s=0.0)
    full = emccd_readout(np.zeros((N, N)), 1.0, camera, rng=5).astype(np.float64)
    binned = emccd_readout(np.zeros((N, N)), 1.0, camera, binning=4, rng=6).astype(np.float64)
    read_var = (camera.read_noise_e / camera.sensitivity_e_per_adu) ** 2 + 1 / 12
    assert full.var() == pytest.approx(read_var, rel=0.03)
    assert binned.var() == pytest.approx(read_var, rel=0.1)  # not 16x: one readout per binned pixel


def test_software_binning_is_fijis_bin_average():
    camera = IXON_ULTRA_888
    image = emccd_readout(np.full((N, N), 20.0), 1.0, camera, rng=7)
    for k in (2, 4, 8):
        binned = software_bin(image, k)
        np.testing.assert_array_equal(binned, ijops.bin(image, k, method="average"))
        assert binned.dtype == np.uint16 and binned.shape == (N // k, N // k)
        # Averaging k*k independent pixels divides the variance by k*k and keeps the mean.
        assert binned.astype(float).mean() == pytest.approx(image.astype(float).mean(), abs=1.0)
        assert binned.astype(float).var() == pytest.approx(image.astype(float).var() / k**2, rel=0.1)
    stack = np.stack([image[:64, :64], image[64:128, :64]])
    np.testing.assert_array_equal(software_bin(stack, 2), ijops.bin(stack, 2, 1, method="average"))


def test_hardware_bin_helper_sums_blocks_and_drops_leftovers():
    a = np.arange(7 * 9, dtype=float).reshape(7, 9)
    out = hardware_bin(a, 3)
    assert out.shape == (2, 3)
    assert out[0, 0] == a[:3, :3].sum() and out[1, 2] == a[3:6, 6:9].sum()


def test_em_multiply_gamma_statistics():
    rng = np.random.default_rng(8)
    n = np.repeat([0, 1, 5], 100_000)
    out = em_multiply(n, 300.0, rng)
    assert np.all(out[n == 0] == 0)
    for k in (1, 5):
        sel = out[n == k]
        assert sel.mean() == pytest.approx(300 * k, rel=0.01)
        assert sel.var() == pytest.approx(300**2 * k, rel=0.03)


def test_clipping_to_16_bit_and_gain_register_saturation():
    low_sens = CameraSettings(sensitivity_e_per_adu=4.0)
    image = emccd_readout(np.full((8, 8), 5000.0), 1.0, low_sens, rng=9)
    assert image.dtype == np.uint16 and image.max() == 65535
    default = emccd_readout(np.full((8, 8), 5000.0), 1.0, IXON_ULTRA_888, rng=9)
    full_well_adu = IXON_ULTRA_888.baseline_adu + IXON_ULTRA_888.gain_register_full_well_e / 16.0
    assert abs(float(default.mean()) - full_well_adu) < 5


def test_camera_settings_are_validated_and_recorded():
    with pytest.raises(ValueError, match="quantum_efficiency"):
        CameraSettings(quantum_efficiency=1.5)
    d = CameraSettings(em_gain=100).to_dict()
    assert d["em_gain"] == 100 and d["baseline_adu"] == 100 and d["cic_e_per_px_frame"] == 0.005
    assert IXON_ULTRA_888.replace(em_gain=50).em_gain == 50


def test_same_seed_same_frame():
    a = emccd_readout(np.full((64, 64), 1.0), 1.0, rng=10)
    b = emccd_readout(np.full((64, 64), 1.0), 1.0, rng=10)
    c = emccd_readout(np.full((64, 64), 1.0), 1.0, rng=11)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
