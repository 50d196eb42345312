"""Acquisition protocols: specimen -> optics -> camera, for every condition of a stack.

Random numbers are keyed, not sequential: each stack's specimen and each
(stack, condition) acquisition get their own generator from a
:class:`numpy.random.SeedSequence` whose spawn key holds the specimen name,
the stack index and the condition name. Adding or removing a condition, or
asking for more stacks, leaves every other image unchanged, and repeats
(``..._rep2``) are independent draws of the same specimen.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import UserInputError
from .camera import IXON_ULTRA_888, CameraSettings, emccd_readout, software_bin
from .optics import apply_psf
from .protocols import Condition
from .specimens import Specimen


def stable_key(text: str) -> int:
    """A 32-bit number for a name, the same on every machine and Python run (CRC-32)."""
    return zlib.crc32(text.encode("utf-8"))


def spawn_key(specimen: str, stack_index: int, purpose: str) -> tuple[int, int, int]:
    """The SeedSequence spawn key of one random stream (see module docstring)."""
    return (stable_key(specimen), int(stack_index), stable_key(purpose))


def rng_for(seed: int, specimen: str, stack_index: int, purpose: str) -> np.random.Generator:
    """The generator for ``purpose`` ("specimen" or a condition name) of one stack."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=spawn_key(specimen, stack_index, purpose)))


def optical_image(specimen: Specimen, channel: str) -> np.ndarray:
    """Photons/s per camera pixel in each focal plane: PSF-blurred emission + background.

    This noise-free image is the simulation's ground truth: what an ideal
    camera would record per second, before quantum efficiency.
    """
    ch = specimen.protocol.channel(channel)
    image = apply_psf(specimen.emission[channel], specimen.objective, ch.emission_wavelength_nm)
    if ch.background_photons_per_s:
        image += np.float32(ch.background_photons_per_s)
    return image


def acquire(photon_flux: np.ndarray, condition: Condition, camera: CameraSettings = IXON_ULTRA_888,
            rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Record a stack under one (hardware) condition.

    Parameters
    ----------
    photon_flux : (Z, Y, X) or (Y, X) array
        Photons/s per pixel reaching the sensor (:func:`optical_image`).
    condition : Condition
        Exposure and hardware binning; software-binned conditions are made
        from a recorded image with :func:`~.camera.software_bin` instead.
    camera : CameraSettings
    rng : numpy Generator or seed

    Returns
    -------
    uint16 array of ADU, smaller by ``condition.binning`` for hardware binning.
    """
    if condition.binning_kind == "software":
        raise UserInputError(f"{condition.name} is software-binned from {condition.derived_from}: record that "
                         "condition and apply software_bin() to its image.")
    photons = np.asarray(photon_flux, dtype=np.float64) * condition.exposure_s
    return emccd_readout(photons, condition.exposure_s, camera, binning=condition.binning, rng=rng)


def record_conditions(specimen: Specimen, conditions, *, seed: int, stack_index: int,
                      camera: CameraSettings = IXON_ULTRA_888, optical: dict | None = None):
    """Record every condition of one specimen, yielding ``(condition, uint16 image)`` in order.

    Parameters
    ----------
    specimen : Specimen
    conditions : iterable of Condition
        Software-binned conditions must come after the condition they bin.
    seed, stack_index : int
        Select the random streams (:func:`rng_for`).
    camera : CameraSettings
    optical : dict, optional
        Channel -> :func:`optical_image`, if already computed.

    Yields
    ------
    (Condition, ndarray)
    """
    optical = dict(optical or {})
    recorded = {}
    dependants = {c.derived_from for c in conditions if c.derived_from}
    for condition in conditions:
        if condition.binning_kind == "software":
            image = software_bin(recorded[condition.derived_from], condition.binning)
        else:
            if condition.channel not in optical:
                optical[condition.channel] = optical_image(specimen, condition.channel)
            rng = rng_for(seed, specimen.protocol.name, stack_index, condition.name)
            image = acquire(optical[condition.channel], condition, camera, rng)
        if condition.name in dependants:
            recorded[condition.name] = image  # kept only while a software-binned condition needs it
        yield condition, image
