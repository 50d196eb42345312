"""An EMCCD camera: photons in, 16-bit ADU out (Andor iXon Ultra 888 defaults).

Per pixel and frame, in the order the charge travels
(spec: ``shared/spec/luminescence-acquisition.md``):

1. photoelectrons: ``Poisson(QE * photons + dark current * exposure + CIC)``;
2. (hardware binning: the charge of k x k pixels is summed on the chip);
3. electron multiplication: ``Gamma(shape=n, scale=G)``, 0 for n = 0;
4. read noise: Gaussian, in electrons at the output amplifier;
5. digitisation: ``baseline + electrons / sensitivity``, rounded, clipped to 16 bit.

Software binning (Fiji's *Image > Transform > Bin*, average) acts on the
read-out image instead: :func:`software_bin`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import UserInputError


@dataclass(frozen=True)
class CameraSettings:
    """EMCCD parameters; the defaults describe the paper's Andor iXon Ultra 888.

    Override any of them with ``dataclasses.replace(camera, em_gain=100)`` or
    ``CameraSettings(em_gain=100)``; every simulated file records them all.

    Attributes
    ----------
    model : str
    quantum_efficiency : float
        Photons to photoelectrons. The back-illuminated 888 (BV) reaches
        about 0.9 between NanoLuc's 460 nm and eGFP's 510-525 nm.
    dark_current_e_per_px_s : float
        Thermal electrons per pixel per second at the set temperature
        (0.0001 e-/px/s at -85 C: negligible, kept for completeness).
    cic_e_per_px_frame : float
        Clock-induced charge: spurious electrons per pixel and frame, created
        before the gain register and multiplied like photoelectrons.
    em_gain : float
        Mean electron-multiplication gain G (the paper: 300).
    read_noise_e : float
        Read noise at the output amplifier, rms electrons (1 MHz EM amplifier).
        Divided by the gain it is below 0.1 e- referred to the input.
    sensitivity_e_per_adu : float
        Pre-amplifier sensitivity: output electrons per ADU. Typical for the
        1 MHz EM amplifier; use the value from the camera's performance sheet.
    baseline_adu : float
        Offset added before digitisation so that noise below zero is kept.
    bit_depth : int
        ADC depth; values are clipped to ``[0, 2**bit_depth - 1]``.
    pixel_full_well_e : float
        Image-area well depth: photoelectrons above it are lost (blooming is
        not modelled).
    gain_register_full_well_e : float
        Multiplied charge saturates here (the 888's gain register).
    temperature_c : float
        Sensor temperature; documents where ``dark_current_e_per_px_s`` holds.
    readout_rate_mhz : float
        Horizontal readout rate; documents which amplifier the noise values belong to.
    sensor_shape_yx : tuple of int
        Full sensor, 1024 x 1024 pixels of 13 um.
    """

    model: str = "Andor iXon Ultra 888 (EMCCD)"
    quantum_efficiency: float = 0.90
    dark_current_e_per_px_s: float = 1e-4
    cic_e_per_px_frame: float = 0.005
    em_gain: float = 300.0
    read_noise_e: float = 20.0
    sensitivity_e_per_adu: float = 16.0
    baseline_adu: float = 100.0
    bit_depth: int = 16
    pixel_full_well_e: float = 80_000.0
    gain_register_full_well_e: float = 730_000.0
    temperature_c: float = -85.0
    readout_rate_mhz: float = 1.0
    sensor_shape_yx: tuple[int, int] = (1024, 1024)

    def __post_init__(self):
        checks = {
            "quantum_efficiency": 0 < self.quantum_efficiency <= 1,
            "dark_current_e_per_px_s": self.dark_current_e_per_px_s >= 0,
            "cic_e_per_px_frame": self.cic_e_per_px_frame >= 0,
            "em_gain": self.em_gain >= 1,
            "read_noise_e": self.read_noise_e >= 0,
            "sensitivity_e_per_adu": self.sensitivity_e_per_adu > 0,
            "bit_depth": self.bit_depth in (8, 16),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise UserInputError(f"CameraSettings: invalid {values}. QE must be in (0, 1], gain >= 1, "
                             "noise and dark current >= 0, sensitivity > 0, bit_depth 8 or 16.")

    def replace(self, **changes) -> "CameraSettings":
        """A copy with some parameters changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """All parameters as JSON-ready values, for metadata and manifests."""
        d = asdict(self)
        d["sensor_shape_yx"] = list(d["sensor_shape_yx"])
        return d

    @property
    def max_adu(self) -> int:
        return 2**self.bit_depth - 1


#: The paper's camera with its documented settings.
IXON_ULTRA_888 = CameraSettings()


def hardware_bin(charge: np.ndarray, k: int) -> np.ndarray:
    """Sum the charge of k x k pixel blocks, as on-chip (hardware) binning does.

    Parameters
    ----------
    charge : (..., Y, X) array
        Expected charge or photon counts per pixel.
    k : int
        Binning factor (1 returns the input).

    Returns
    -------
    (..., Y // k, X // k) float64 array. Rows and columns beyond the last whole
    block are dropped, as the camera does when the ROI is not a multiple of k.
    """
    charge = np.asarray(charge, dtype=np.float64)
    k = _bin_factor(k, charge.shape)
    if k == 1:
        return charge
    *lead, ny, nx = charge.shape
    ny, nx = ny // k * k, nx // k * k
    blocks = charge[..., :ny, :nx].reshape(*lead, ny // k, k, nx // k, k)
    return blocks.sum(axis=(-3, -1))


def software_bin(image_adu: np.ndarray, k: int) -> np.ndarray:
    """Fiji's *Image > Transform > Bin* (average) of a read-out image.

    Parameters
    ----------
    image_adu : (Y, X) or (Z, Y, X) uint16 array
    k : int
        Bin factor in X and Y; Z is not binned.

    Returns
    -------
    Array of the input dtype, ``(Y // k, X // k)`` per plane; a uint16 average
    is rounded as ImageJ rounds it.

    Notes
    -----
    Delegates to :func:`lumicare_ij.ijops.bin` (``ij.plugin.Binner``), so the
    pixels are those Fiji would produce from the same image.
    """
    from .. import ijops

    k = _bin_factor(k, image_adu.shape)
    if k == 1:
        return np.asarray(image_adu).copy()
    return ijops.bin(image_adu, k, 1, method="average")


def expected_photoelectrons(photons: np.ndarray, exposure_s: float,
                            camera: CameraSettings = IXON_ULTRA_888, binning: int = 1) -> np.ndarray:
    """Mean charge per (binned) pixel before multiplication: QE*photons + dark + CIC.

    Parameters
    ----------
    photons : array
        Expected photons per pixel reaching the sensor during the exposure.
    exposure_s : float
    camera : CameraSettings
    binning : int
        Hardware binning factor; dark charge and CIC of all k*k pixels are summed.
    """
    per_pixel = (camera.quantum_efficiency * np.asarray(photons, dtype=np.float64)
                 + camera.dark_current_e_per_px_s * exposure_s + camera.cic_e_per_px_frame)
    return hardware_bin(per_pixel, binning)


def em_multiply(electrons: np.ndarray, em_gain: float, rng: np.random.Generator) -> np.ndarray:
    """Electron multiplication: Gamma(shape=n, scale=G) output electrons, 0 where n = 0.

    The Gamma distribution is the standard high-gain limit of the
    multiplication register's many stages; it has variance n*G**2, which
    gives the EMCCD excess noise factor of sqrt(2) on Poisson input.
    """
    electrons = np.asarray(electrons)
    out = np.zeros(electrons.shape, dtype=np.float64)
    lit = electrons > 0
    # Drawing only where charge exists keeps photon-starved frames cheap.
    out[lit] = rng.gamma(electrons[lit], em_gain)
    return out


def digitise(electrons: np.ndarray, camera: CameraSettings, rng: np.random.Generator) -> np.ndarray:
    """Output amplifier and ADC: read noise, sensitivity, baseline, rounding, clipping."""
    electrons = np.minimum(electrons, camera.gain_register_full_well_e)
    noise = rng.standard_normal(electrons.shape) * camera.read_noise_e
    adu = camera.baseline_adu + (electrons + noise) / camera.sensitivity_e_per_adu
    adu = np.clip(np.rint(adu), 0, camera.max_adu)
    return adu.astype(np.uint16 if camera.bit_depth == 16 else np.uint8)


def emccd_readout(photons: np.ndarray, exposure_s: float, camera: CameraSettings = IXON_ULTRA_888, *,
                  binning: int = 1, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Record one frame (or a stack of frames) on the EMCCD.

    Parameters
    ----------
    photons : (Y, X) or (Z, Y, X) array
        Expected photons per pixel reaching the sensor during the exposure
        (photon flux in photons/s times ``exposure_s``).
    exposure_s : float
        Exposure time; sets the dark charge.
    camera : CameraSettings
    binning : int
        Hardware binning factor k: charge summed before multiplication and
        readout, one read noise per binned pixel, image ``k`` times smaller.
    rng : numpy Generator or seed

    Returns
    -------
    uint16 array of ADU, ``(..., Y // k, X // k)``.

    Notes
    -----
    Mean ADU = baseline + G * mean_e / s and, at high gain,
    variance ~ 2 * G**2 * mean_e / s**2 + (read_noise_e / s)**2 + 1/12
    with ``mean_e`` from :func:`expected_photoelectrons` and ``s`` the
    sensitivity. Serial (in-register) CIC is not modelled.
    """
    if exposure_s < 0:
        raise UserInputError(f"exposure_s must be >= 0; got {exposure_s}")
    rng = np.random.default_rng(rng)
    photons = np.asarray(photons)
    if photons.ndim == 3:
        # One frame per plane, as the camera records a z-stack; also bounds memory.
        return np.stack([emccd_readout(plane, exposure_s, camera, binning=binning, rng=rng)
                         for plane in photons])
    mean_e = expected_photoelectrons(photons, exposure_s, camera, binning)
    # Binned charge is held in the larger serial-register wells; k*k pixel wells approximates that.
    well_e = camera.pixel_full_well_e * binning**2
    photoelectrons = np.minimum(rng.poisson(mean_e), well_e)
    multiplied = em_multiply(photoelectrons, camera.em_gain, rng)
    return digitise(multiplied, camera, rng)


def _bin_factor(k, shape) -> int:
    k_int = int(k)
    if k_int != k or k_int < 1:
        raise UserInputError(f"binning factor must be a whole number >= 1; got {k!r}")
    if k_int > 1 and (len(shape) < 2 or k_int > min(shape[-2:])):
        raise UserInputError(f"binning factor {k_int} is larger than the image ({shape[-2]} x {shape[-1]} pixels)")
    return k_int
