"""Widefield Gaussian PSF from NA, wavelength and refractive index."""

import numpy as np
import pytest

from lumicare_ij.simulate import OBJECTIVES, apply_psf, gaussian_psf, psf_sigmas_px, psf_sigmas_um


def test_objectives_match_the_paper():
    low, high = OBJECTIVES["20x_NA0.8"], OBJECTIVES["100x_NA1.5_oil"]
    assert low.pixel_size_um == pytest.approx(0.65) and low.z_step_um == pytest.approx(0.57)
    assert high.pixel_size_um == pytest.approx(0.13) and high.z_step_um == pytest.approx(0.13)
    assert (low.numerical_aperture, high.numerical_aperture) == (0.8, 1.5)


def test_psf_sigmas_follow_zhang_2007():
    sigma_z, sigma_xy = psf_sigmas_um(1.5, 460.0, 1.518)
    assert sigma_xy == pytest.approx(0.21 * 0.46 / 1.5)
    assert sigma_z == pytest.approx(0.66 * 0.46 * 1.518 / 1.5**2)
    # The lateral FWHM is close to the Airy core's 0.51 lambda / NA.
    assert 2.3548 * sigma_xy == pytest.approx(0.51 * 0.46 / 1.5, rel=0.05)
    # Longer wavelength, wider PSF; higher NA, narrower (axially as 1/NA^2).
    assert psf_sigmas_um(1.5, 525.0, 1.518)[1] > sigma_xy
    assert psf_sigmas_um(0.8, 460.0)[0] / psf_sigmas_um(1.0, 460.0)[0] == pytest.approx((1.0 / 0.8) ** 2)
    with pytest.raises(ValueError, match="numerical_aperture"):
        psf_sigmas_um(1.6, 460.0, 1.518)


def test_psf_kernel_and_blur_keep_photons():
    objective = OBJECTIVES["100x_NA1.5_oil"]
    kernel = gaussian_psf(objective, 460.0)
    assert kernel.sum() == pytest.approx(1.0, rel=1e-5)
    volume = np.zeros((21, 41, 41), np.float32)
    volume[10, 20, 20] = 1000.0
    image = apply_psf(volume, objective, 460.0)
    assert image.sum() == pytest.approx(1000.0, rel=1e-4)
    # Second moments of the blurred point give back the sigmas (in pixels).
    sigma_z, sigma_xy = psf_sigmas_px(objective, 460.0)
    z, y, x = np.indices(image.shape)
    w = image / image.sum()
    assert np.sqrt((w * (x - 20) ** 2).sum()) == pytest.approx(sigma_xy, rel=0.1)
    assert np.sqrt((w * (z - 10) ** 2).sum()) == pytest.approx(sigma_z, rel=0.05)
