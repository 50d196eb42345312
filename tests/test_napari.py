"""The napari plugin's tests (tests/napari/), run in a Python process of their own.

TensorFlow and an OpenGL context cannot share a process where the GL driver
is Mesa (Xvfb's software rendering here; Intel and AMD drivers too): both
carry LLVM, and whichever loads second crashes the process (a segmentation
fault in libtensorflow_framework.so, or "free(): invalid pointer"). The rest
of the suite loads TensorFlow, and napari always holds a GL context, so the
viewer tests get a fresh process with napari's pytest plugins and a virtual
display (pytest-xvfb). The plugin itself keeps TensorFlow out of napari's
process the same way (lumicare_ij/napari/restore_process.py).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_napari_plugin_in_a_real_viewer():
    env = {**os.environ, "LUMICARE_NAPARI_PROCESS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=-ra --strict-markers",
                           "tests/napari"],  # pytest-qt and pytest-xvfb load by their entry points
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 15 and "skipped" not in summary, summary
    print(summary)
