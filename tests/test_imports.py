"""Analysts who only want Fiji-exact readouts never wait for TensorFlow: these imports and
``lumicare evaluate`` run without loading it (nor Keras, csbdeep's models or a JVM)."""

import subprocess
import sys

import numpy as np
import pytest

from lumicare_ij.io import write_stack

HEAVY = ("tensorflow", "keras", "csbdeep.models", "jpype")


def loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return which heavy modules it loaded."""
    probe = code + f"\nimport sys\nprint('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = [line for line in done.stdout.splitlines() if line.startswith("HEAVY:")][-1]
    return [m for m in report[len("HEAVY:"):].split(",") if m]


@pytest.mark.parametrize("module", ["lumicare_ij", "lumicare_ij.ijops", "lumicare_ij.analysis", "lumicare_ij.io",
                                    "lumicare_ij.evaluation", "lumicare_ij.cli"])
def test_import_does_not_load_tensorflow(module):
    assert loaded_after(f"import {module}") == []


def test_lumicare_evaluate_does_not_load_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    for folder in ("ref", "restored"):
        write_stack(tmp_path / folder / "s.tif", rng.poisson(50, (4, 64, 64)).astype(np.uint16))
    argv = ["evaluate", "--reference", str(tmp_path / "ref"), "--restored", str(tmp_path / "restored"),
            "--out", str(tmp_path / "eval"), "--readout", "mask_mae", "--readout", "nuclear_pearson"]
    assert loaded_after(f"from lumicare_ij import cli\nassert cli.main({argv!r}) == 0") == []
    assert (tmp_path / "eval" / "metrics.csv").is_file()
