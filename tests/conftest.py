"""Collection rules for the whole suite."""

import os

# tests/napari/ needs a process without TensorFlow (see tests/test_napari.py, which runs it in one).
collect_ignore = [] if os.environ.get("LUMICARE_NAPARI_PROCESS") == "1" else ["napari"]
