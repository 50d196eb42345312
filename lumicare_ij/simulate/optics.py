"""Widefield optics: the paper's objectives and a Gaussian 3D point spread function.

The simulator images a specimen's photon-emission map through a widefield
microscope by convolving it with a 3D Gaussian approximation of the
widefield PSF, computed from the objective's numerical aperture, the
immersion refractive index and the emission wavelength.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

from ..errors import UserInputError

#: Pixel pitch of the Andor iXon Ultra 888 sensor (13 um square pixels).
CAMERA_PIXEL_PITCH_UM = 13.0


@dataclass(frozen=True)
class Objective:
    """An objective on the Olympus LV200 with the camera behind it.

    Attributes
    ----------
    name : str
        Catalogue name.
    magnification : float
        Total magnification onto the camera.
    numerical_aperture : float
    immersion_refractive_index : float
        1.0 for air, 1.518 for immersion oil.
    z_step_um : float
        The z step the paper used with this objective.
    """

    name: str
    magnification: float
    numerical_aperture: float
    immersion_refractive_index: float
    z_step_um: float

    @property
    def pixel_size_um(self) -> float:
        """Camera pixel size in the sample plane (13 um / magnification)."""
        return CAMERA_PIXEL_PITCH_UM / self.magnification

    def to_dict(self) -> dict:
        return {**asdict(self), "pixel_size_um": self.pixel_size_um}


#: The paper's two objectives (Online Methods, "Microscopy"; z steps from its table).
OBJECTIVES = {
    "20x_NA0.8": Objective("Olympus UPLXAPO 20x NA 0.8 (air)", 20.0, 0.8, 1.0, 0.57),
    "100x_NA1.5_oil": Objective("Olympus UPLAPO100XOHR 100x NA 1.5 (oil)", 100.0, 1.5, 1.518, 0.13),
}


def psf_sigmas_um(numerical_aperture: float, emission_wavelength_nm: float,
                  refractive_index: float = 1.0) -> tuple[float, float]:
    """Standard deviations of the Gaussian approximation of a widefield PSF.

    Parameters
    ----------
    numerical_aperture : float
    emission_wavelength_nm : float
    refractive_index : float
        Refractive index of the immersion medium.

    Returns
    -------
    (sigma_z_um, sigma_xy_um) : tuple of float

    Notes
    -----
    Zhang, Zerubia & Olivo-Marin (2007), *Gaussian approximations of
    fluorescence microscope point-spread function models*, Appl. Opt. 46,
    1819, Table 1, widefield, paraxial:
    ``sigma_xy = 0.21 * lambda / NA`` and ``sigma_z = 0.66 * lambda * n / NA**2``.
    The lateral width matches the Airy core (FWHM 0.51 lambda/NA) within a few
    percent. The Gaussian keeps the in-focus core only: a real widefield PSF
    spreads a small part of the light into wide out-of-focus rings, so
    simulated stacks show less out-of-focus haze than real ones. At 20x NA 0.8
    the PSF (sigma_xy 0.12 um) is far below the 0.65 um pixel: the camera, not
    the optics, limits the lateral resolution there, as on the real system.
    """
    if not 0 < numerical_aperture <= refractive_index:
        raise UserInputError(f"numerical_aperture must be in (0, refractive_index={refractive_index}]; "
                         f"got {numerical_aperture}")
    if emission_wavelength_nm <= 0:
        raise UserInputError(f"emission_wavelength_nm must be positive; got {emission_wavelength_nm}")
    wavelength_um = emission_wavelength_nm / 1000.0
    sigma_xy_um = 0.21 * wavelength_um / numerical_aperture
    sigma_z_um = 0.66 * wavelength_um * refractive_index / numerical_aperture**2
    return sigma_z_um, sigma_xy_um


def psf_sigmas_px(objective: Objective, emission_wavelength_nm: float) -> tuple[float, float]:
    """PSF standard deviations in voxels, ``(sigma_z_px, sigma_xy_px)``, for ``objective``."""
    sigma_z_um, sigma_xy_um = psf_sigmas_um(objective.numerical_aperture, emission_wavelength_nm,
                                            objective.immersion_refractive_index)
    return sigma_z_um / objective.z_step_um, sigma_xy_um / objective.pixel_size_um


def gaussian_psf(objective: Objective, emission_wavelength_nm: float, truncate: float = 4.0) -> np.ndarray:
    """The PSF as a (Z, Y, X) kernel that sums to 1, for display and checks.

    :func:`apply_psf` does not use this kernel: it filters separably, which
    is the same convolution and much faster.
    """
    sigma_z, sigma_xy = psf_sigmas_px(objective, emission_wavelength_nm)
    rz, rxy = (max(1, int(truncate * s + 0.5)) for s in (sigma_z, sigma_xy))
    z = np.arange(-rz, rz + 1)[:, None, None]
    y = np.arange(-rxy, rxy + 1)[None, :, None]
    x = np.arange(-rxy, rxy + 1)[None, None, :]
    kernel = np.exp(-0.5 * ((z / sigma_z) ** 2 + (y / sigma_xy) ** 2 + (x / sigma_xy) ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def apply_psf(emission: np.ndarray, objective: Objective, emission_wavelength_nm: float) -> np.ndarray:
    """Image a (Z, Y, X) emission map through the widefield microscope.

    Parameters
    ----------
    emission : (Z, Y, X) float array
        Photons/s per voxel that the objective collects from each voxel.
    objective : Objective
    emission_wavelength_nm : float

    Returns
    -------
    (Z, Y, X) float32 array, photons/s per camera pixel in each focal plane.

    Notes
    -----
    Separable Gaussian convolution (``scipy.ndimage.gaussian_filter``), which
    keeps the total photon count. Borders are mirrored because the specimen
    continues beyond the camera's region of interest.
    """
    sigma_z, sigma_xy = psf_sigmas_px(objective, emission_wavelength_nm)
    emission = np.asarray(emission, dtype=np.float32)
    sigmas = (sigma_z, sigma_xy, sigma_xy)[-emission.ndim:]
    return ndi.gaussian_filter(emission, sigmas, mode="reflect", truncate=4.0)
