"""Export CARE models for Fiji, and prove them in Fiji's TensorFlow Java runtime.

- :func:`export_csbdeep_fiji`: csbdeep CARE model folder -> CSBDeep-Fiji ZIP.
- :func:`run_in_tfjava`: run an exported model in TensorFlow Java 1.15.
- :func:`check_graph_def`: the TF 1.x op and attribute check.
"""

from .csbdeep_fiji import export_csbdeep_fiji, load_care_model
from .errors import ExportError, TFJavaError
from .tf1_ops import ALLOWED_OPS, check_graph_def, find_graph_problems
from .tfjava import run_in_tfjava, run_many_in_tfjava, tfjava_registered_ops

__all__ = ["export_csbdeep_fiji", "load_care_model", "ExportError", "TFJavaError", "ALLOWED_OPS",
           "check_graph_def", "find_graph_problems", "run_in_tfjava", "run_many_in_tfjava",
           "tfjava_registered_ops"]
