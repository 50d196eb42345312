"""Export CARE models for Fiji, and prove them in Fiji's TensorFlow Java runtime.

- :func:`export_csbdeep_fiji`: csbdeep CARE model folder -> CSBDeep-Fiji ZIP.
- :func:`run_in_tfjava`: run an exported model in TensorFlow Java 1.15.
- :func:`check_graph_def`: the TF 1.x op and attribute check.
- :func:`export_bioimageio`: csbdeep CARE model folder -> bioimage.io model package (format 0.5).
- :func:`predict_like_fiji`, :func:`normalize_like_fiji`: Python predictions with the CSBDeep
  Fiji plugin's normalisation and tiling (the numbers Fiji shows).
"""

from .bioimageio import export_bioimageio, validate_bioimageio
from .csbdeep_fiji import export_csbdeep_fiji, load_care_model
from .errors import ExportError, TFJavaError
from .fiji_parity import (normalize_like_fiji, plan_fiji_tiling, predict_like_fiji, predict_like_fiji_in_java,
                          tile_like_fiji)
from .tf1_ops import ALLOWED_OPS, check_graph_def, find_graph_problems
from .tfjava import run_in_tfjava, run_many_in_tfjava, tfjava_registered_ops

__all__ = ["export_csbdeep_fiji", "export_bioimageio", "validate_bioimageio", "load_care_model",
           "normalize_like_fiji", "plan_fiji_tiling", "tile_like_fiji", "predict_like_fiji",
           "predict_like_fiji_in_java", "ExportError", "TFJavaError", "ALLOWED_OPS",
           "check_graph_def", "find_graph_problems", "run_in_tfjava", "run_many_in_tfjava",
           "tfjava_registered_ops"]
