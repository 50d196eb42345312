"""lumicare-ij: CARE restoration of luminescence microscopy, measured with the paper's Fiji readouts.

The ImageJ steps are tested equal to ImageJ 1.53t; the SNR plugin's MAE and
Coloc 2's Pearson's R are their published formulas, not checked against the
plugins (see the README's table "What is verified").

Submodules (imported on first use, so that ``import lumicare_ij`` stays fast
and does not load TensorFlow or start Java):

- :mod:`lumicare_ij.io` - ImageJ/OME TIFF stacks <-> xarray, calibration, metadata
- :mod:`lumicare_ij.simulate` - physical simulation of luminescence acquisitions
- :mod:`lumicare_ij.ijops` - ImageJ 1.53t operations (NumPy engine + the real ImageJ)
- :mod:`lumicare_ij.analysis` - the paper's readouts (mask MAE, nuclear Pearson, mitochondria)
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("io", "simulate", "ijops", "analysis", "presets", "training", "care", "restore", "cluster", "export")
__all__ = list(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
