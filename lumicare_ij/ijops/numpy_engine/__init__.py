"""The NumPy engine: ImageJ 1.53t reproduced in NumPy/SciPy, one module per topic."""

from .background import subtract_background
from .geometry import bin, convert_to_16bit, max_project, upsample_nearest
from .metrics import SOURCES, mask_mae, masked_pearson
from .particles import measure_particles, particle_mask
from .threshold import auto_threshold, threshold_mask

__all__ = ["bin", "upsample_nearest", "max_project", "convert_to_16bit", "auto_threshold",
           "threshold_mask", "particle_mask", "measure_particles", "subtract_background",
           "mask_mae", "masked_pearson", "SOURCES"]
