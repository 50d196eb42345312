"""A full disk and a read-only output folder, for every command: one clear line, nothing corrupt left.

Real file systems, not mocks: each command runs in a mount namespace of its
own (``unshare``, as root or in a user namespace) whose output folder is a
tmpfs of a few kilobytes (full before the first file is finished), of half
what the command writes (full in the middle), or mounted read-only.
"""

import json
import shlex
import shutil
import subprocess
import sys

import pytest

from . import harness, scenarios

COMMANDS = ["simulate", "prepare", "train", "predict", "predict --workers", "export", "evaluate", "demo",
            "reproduce --quick --experiment 1c"]
EXTRA = {"demo": harness.lumicare(["demo", "--out", "{run}/demo", "--epochs", "1"])}
MESSAGES = {"full": "No space left on device", "read-only": "Read-only file system"}


def _argv(name, run, inputs):
    if name in EXTRA:
        return scenarios.Scenario(name, EXTRA[name]).argv(run, inputs)
    return scenarios.SCENARIOS[name].argv(run, inputs)


def _in_namespace(argv, mount_point, mount_options, report, timeout_s=900):
    """Run ``argv`` with ``mount_point`` a tmpfs mounted with ``mount_options``; inspect what it left."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for the full-disk tests; .ci/run installs it")
    inspect = [sys.executable, "-m", "tests.faults.inspect_tree", str(mount_point), str(report)]
    script = (f"mount -t tmpfs -o {mount_options} lumicare-test {shlex.quote(str(mount_point))} || exit 99; "
              f"{shlex.join(argv)}; code=$?; {shlex.join(inspect)}; exit $code")
    return subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True,
                          text=True, timeout=timeout_s, cwd=scenarios.REPO)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("disk-inputs")
    scenarios.make_inputs(folder)
    return folder


def _written_bytes(name, inputs, tmp_path) -> int:
    run = tmp_path / "clean"
    done = harness.run(_argv(name, run, inputs))
    assert done.returncode == 0, done.stderr
    return sum(p.stat().st_size for p in run.rglob("*") if p.is_file())


@pytest.mark.parametrize("case", ["full", "half", "read-only"])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_full_disk_or_a_read_only_folder_is_one_clear_line_and_leaves_nothing_corrupt(name, case, inputs,
                                                                                         tmp_path):
    if case == "half":
        if name.startswith("reproduce"):
            size = 4 << 20  # the simulated data alone are more: full while the experiment runs
        else:
            size = max(_written_bytes(name, inputs, tmp_path) // 2, 4096)
        options = f"size={size}"
    else:
        options = "size=4k" if case == "full" else "size=1m,ro"  # 4k: one page, less than any command writes
    run = tmp_path / "run"
    run.mkdir()
    report = tmp_path / "report.json"
    done = _in_namespace(_argv(name, run, inputs), run, options, report)
    assert done.returncode != 99, f"could not mount a tmpfs: {done.stderr}"
    left = json.loads(report.read_text())
    ours = [line for line in done.stderr.splitlines() if line.startswith("lumicare")]
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(ours) == 1 and "error:" in ours[0], done.stderr[-3000:]
    assert MESSAGES["read-only" if case == "read-only" else "full"] in ours[0], ours[0]
    assert left["incomplete"] == [] and left["temporaries"] == [], left
