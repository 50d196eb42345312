"""The Java side under faults: a damaged or wrong ImageJ jar, and a JVM killed in the middle of its work.

Every case must end in the package's own error with a message that says
what happened, and the Python process must go on working (the next call
succeeds). ImageJ macros and TensorFlow Java run in JVMs of their own, so
a JVM killed there is survivable; the ImageJ engine's JVM lives inside the
Python process, where a JVM crash ends the process (docs/reliability.md).
"""

import subprocess
import sys
import textwrap
import threading
import time
import zipfile

import numpy as np
import psutil
import pytest

from lumicare_ij import macros
from lumicare_ij.errors import LumicareError
from lumicare_ij.ijops import jvm

from . import harness, scenarios


def _damaged_jars(folder):
    good = jvm.imagej_jar_path()
    cases = {"text": folder / "text.jar", "cut": folder / "cut.jar", "other": folder / "other.jar",
             "flipped": folder / "flipped.jar"}
    cases["text"].write_text("not a jar")
    cases["cut"].write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with zipfile.ZipFile(cases["other"], "w") as z:
        z.writestr("README.txt", "a jar without ImageJ")
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("ij/IJ.class")
    data[info.header_offset + 30 + len(info.filename) + 20] ^= 0xFF  # inside IJ.class's compressed bytes
    cases["flipped"].write_bytes(bytes(data))
    return cases


EXPECTED = {"text": "not a complete ZIP", "cut": "not a complete ZIP", "other": "holds no ij/IJ.class",
            "flipped": "is damaged"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_damaged_or_wrong_imagej_jar_is_named_and_the_process_goes_on(kind, tmp_path):
    jar = _damaged_jars(tmp_path)[kind]
    code = textwrap.dedent("""
        from lumicare_ij import ijops
        try:
            ijops.bin([[1, 2], [3, 4]], 2, engine="imagej")
        except ijops.jvm.ImageJUnavailableError as err:
            print("ERROR:", err)
        print("numpy engine after it:", ijops.bin([[1, 2], [3, 4]], 2, engine="numpy").tolist())
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**harness._env(), "LUMICARE_IJ_JAR": str(jar)})
    assert done.returncode == 0, done.stderr
    assert f"ERROR: {jar} is not a usable ImageJ jar" in done.stdout and EXPECTED[kind] in done.stdout, done.stdout
    assert "numpy engine after it: [[3]]" in done.stdout


def test_the_macro_launcher_names_a_damaged_jar_too(tmp_path, monkeypatch):
    monkeypatch.setenv("LUMICARE_IJ_JAR", str(_damaged_jars(tmp_path)["cut"]))
    with pytest.raises(LumicareError, match="not a complete ZIP"):
        macros.run_macro("bin_and_upsample", {"input": tmp_path, "output": tmp_path / "out"}, timeout=60)


def _kill_java_child_when_it_runs(started_after_s: float) -> threading.Thread:
    """SIGKILL the first java process this one starts, ``started_after_s`` after it appears."""
    def kill():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            javas = [c for c in psutil.Process().children(recursive=True) if "java" in c.name()]
            if javas:
                time.sleep(started_after_s)
                javas[0].kill()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_macro_whose_imagej_is_killed_is_a_clear_error_and_the_next_one_runs(tmp_path):
    slow = tmp_path / "slow.ijm"
    slow.write_text("wait(30000);\n")
    killer = _kill_java_child_when_it_runs(2.0)
    with pytest.raises(macros.MacroError, match="was killed \\(SIGKILL"):
        macros.run_macro(slow, timeout=120)
    killer.join()
    quick = tmp_path / "quick.ijm"
    quick.write_text('print("still here");\n')
    assert "still here" in macros.run_macro(quick, timeout=120).log


@pytest.fixture(scope="module")
def exported_zip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("java-faults")
    scenarios.make_inputs(folder)
    done = harness.run(harness.lumicare(["export", "--model", folder / "model", "--format", "csbdeep-fiji",
                                         "--out", folder / "model.zip"]))
    assert done.returncode == 0, done.stderr
    return folder / "model.zip"


def test_a_tensorflow_java_run_whose_jvm_is_killed_is_a_clear_error_and_the_next_one_runs(exported_zip):
    from lumicare_ij.export.tfjava import run_in_tfjava

    image = np.random.default_rng(0).random((1, 8, 32, 32, 1), dtype=np.float32)
    killer = _kill_java_child_when_it_runs(0.5)
    with pytest.raises(LumicareError, match="was killed \\(SIGKILL"):
        run_in_tfjava(exported_zip, image, timeout_s=120)
    killer.join()
    again = np.asarray(run_in_tfjava(exported_zip, image, timeout_s=120))
    assert again.shape[-4:-1] == (8, 32, 32) and np.isfinite(again).all()
