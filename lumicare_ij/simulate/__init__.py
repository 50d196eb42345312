"""Physical simulation of luminescence and fluorescence acquisitions.

No public luminescence data can be fetched, so the project's default data
are simulated from the instrument of the paper (Olympus LV200, widefield,
Andor iXon Ultra 888 EMCCD at EM gain 300) following
``shared/spec/luminescence-acquisition.md``:

specimen (:mod:`.specimens`, photons/s per voxel)
  -> widefield optics (:mod:`.optics`, Gaussian 3D PSF)
  -> EMCCD camera (:mod:`.camera`: shot noise, CIC, EM gain, read noise, ADC;
     hardware and software binning)
  -> protocols (:mod:`.protocols`, :mod:`.acquisition`: exposures, repeats,
     binnings, fluorescence)
  -> files (:mod:`.dataset`: one folder per condition, ground truth, labels, manifest).

Example
-------
>>> from lumicare_ij.simulate import simulate_dataset
>>> manifest = simulate_dataset("h2b", "data/h2b", small=True, seed=1)  # doctest: +SKIP
"""

from .acquisition import acquire, optical_image, record_conditions, rng_for
from .camera import (IXON_ULTRA_888, CameraSettings, digitise, em_multiply, emccd_readout,
                     expected_photoelectrons, hardware_bin, software_bin)
from .dataset import read_manifest, simulate_dataset, stack_names
from .optics import OBJECTIVES, Objective, apply_psf, gaussian_psf, psf_sigmas_px, psf_sigmas_um
from .protocols import SPECIMENS, Channel, Condition, SpecimenProtocol
from .specimens import GENERATORS, Specimen, make_specimen

#: The camera model under the name used in the design notes.
EMCCD = CameraSettings

__all__ = [
    "simulate_dataset", "read_manifest", "stack_names",
    "SPECIMENS", "SpecimenProtocol", "Channel", "Condition",
    "make_specimen", "Specimen", "GENERATORS",
    "OBJECTIVES", "Objective", "psf_sigmas_um", "psf_sigmas_px", "gaussian_psf", "apply_psf",
    "CameraSettings", "EMCCD", "IXON_ULTRA_888", "emccd_readout", "expected_photoelectrons",
    "em_multiply", "digitise", "hardware_bin", "software_bin",
    "acquire", "optical_image", "record_conditions", "rng_for",
]
