"""SIGKILL at seeded moments during every command: nothing half-written, the rerun finishes, results equal.

CI tries LUMICARE_KILL_POINTS (default 2) moments per command; the
documented long run (benchmarks/kill_points.py, docs/reliability.md) tries 20.
"""

import os
import zlib

import pytest

from . import harness, scenarios

N_POINTS = int(os.environ.get("LUMICARE_KILL_POINTS", "2"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill-inputs")
    scenarios.make_inputs(folder)
    return folder


@pytest.mark.parametrize("name", scenarios.IN_CI)
def test_a_killed_command_leaves_only_complete_files_and_its_rerun_equals_a_clean_run(name, inputs, tmp_path):
    seed = zlib.crc32(name.encode())  # each command its own moments, the same on every run
    stats = harness.exercise(scenarios.SCENARIOS[name], inputs, tmp_path / "work", N_POINTS, seed)
    assert stats["problems"] == []
    assert stats["killed"] + stats["finished_before_kill"] == N_POINTS


def test_a_rerun_killed_again_and_again_still_ends_equal_to_a_clean_run(inputs, tmp_path):
    # The chained mode the long run uses for the quick reproduction: training killed, resumed, killed
    # while resuming, resumed again, ... must still end in bit-equal weights.
    stats = harness.exercise_chained(scenarios.SCENARIOS["train"], inputs, tmp_path / "work", n_chains=1,
                                     kills_per_chain=3, seed=7)
    assert stats["problems"] == []
    assert stats["killed"] + stats["finished_before_kill"] >= 1
    assert stats["reruns"] + stats["finished_before_kill"] == 1
