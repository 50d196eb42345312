"""Reproduce the paper's experiments end to end, with a figure-by-figure HTML report.

``lumicare reproduce`` (or :func:`reproduce`) simulates the paper's
acquisitions (or reads your own), trains the CARE networks of each
experiment, restores held-out stacks, measures them with the paper's Fiji
readouts, checks for artefacts, states each claim of the paper with the
measured value and a computed verdict, and writes one self-contained HTML
report plus the metrics (JSON/CSV) and the restorations (TIFF).

Experiments (each runnable alone): ``1a`` shorter exposures, ``1b`` binning,
``1c`` noise2noise, ``2a`` fluorescence as ground truth, ``2b`` mitochondrial
morphology (DMSO vs Rotenone). See :mod:`.experiments` for what each trains
and measures, :mod:`.claims` for the verdict rules, :mod:`.settings` for the
``quick`` and ``paper`` scales, :mod:`.datasets` for own data.

Example
-------
>>> from lumicare_ij.reproduce import reproduce
>>> summary = reproduce("lumicare-reproduce", quick=True, experiments=["1a"])  # doctest: +SKIP
>>> summary["report"]                                                          # doctest: +SKIP
'lumicare-reproduce/report.html'
"""

from .claims import evaluate_claims
from .datasets import DataError
from .experiments import EXPERIMENT_IDS, define
from .runner import ReproduceError, format_claims, read_finished, reproduce
from .settings import Settings, paper, quick

__all__ = ["reproduce", "ReproduceError", "DataError", "EXPERIMENT_IDS", "Settings", "quick", "paper", "define",
           "evaluate_claims", "read_finished", "format_claims"]
