"""The commands the kill-point tests interrupt, on inputs small enough to run many times.

A scenario is the command line of a clean run (writing into ``run``), and
the command line that continues it after a kill (``rerun``), which may
depend on what the killed run said it left (training: ``--resume`` once a
model folder exists). ``inputs`` are made once, outside the killed folders.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import harness

REPO = Path(__file__).resolve().parents[2]

#: A tiny reproduction of experiment 1c in a process of its own (the quick one takes minutes per run).
_TINY_REPRODUCE = """
import sys
sys.path.insert(0, {repo!r})
from tests.reproduce.conftest import tiny_settings
from lumicare_ij.reproduce import reproduce
summary = reproduce({out!r}, experiments=["1c"], settings=tiny_settings(), log=lambda line: None,
                    command="kill-point test")
sys.exit(1 if any(s["status"] == "failed" for s in summary["experiments"].values()) else 0)
"""


@dataclass
class Scenario:
    name: str
    command: list = field(default_factory=list)  # argv of the clean run, {run} and {inputs} filled in

    def argv(self, run: Path, inputs: Path) -> list[str]:
        return [str(a).format(run=run, inputs=inputs, repo=REPO) for a in self.command]

    def rerun_argv(self, run: Path, inputs: Path) -> list[str]:
        """After a kill: the same command (every command resumes or skips what is finished)."""
        return self.argv(run, inputs)


class TrainScenario(Scenario):
    def rerun_argv(self, run, inputs):
        argv = self.argv(run, inputs)
        model = run / "model"
        if (model / "config.json").is_file() and (model / "lumicare.json").is_file():
            return argv + ["--resume"]  # what its 'already holds a model' message tells a user to add
        return argv


def _cli(*args) -> list:
    return harness.lumicare(args)


SCENARIOS = {
    "simulate": Scenario("simulate", _cli("simulate", "--specimen", "h2b", "--stacks", "2", "--size", "8,64,64",
                                          "--out", "{run}/data")),
    "prepare": Scenario("prepare", _cli("prepare", "--data", "{inputs}/data", "--regime", "denoise", "--input",
                                        "short", "--target", "long", "--out", "{run}/train.npz",
                                        "--patch-size", "8,16,16", "--patches-per-stack", "4")),
    "train": TrainScenario("train", _cli("train", "--data", "{inputs}/train.npz", "--model", "{run}/model",
                                         "--epochs", "4", "--steps-per-epoch", "3", "--batch-size", "4",
                                         "--first-filters", "4", "--seed", "1")),
    "predict": Scenario("predict", _cli("predict", "--model", "{inputs}/model", "{inputs}/stacks",
                                        "--out", "{run}/restored")),
    "predict --workers": Scenario("predict --workers",
                                  _cli("predict", "--model", "{inputs}/model", "{inputs}/stacks",
                                       "--out", "{run}/restored", "--workers", "2", "--threads-per-worker", "1")),
    "evaluate": Scenario("evaluate", _cli("evaluate", "--reference", "{inputs}/more/long", "--restored",
                                          "{inputs}/stacks", "--readout", "nuclear_pearson", "--out",
                                          "{run}/evaluation")),
    "export": Scenario("export", _cli("export", "--model", "{inputs}/model", "--format", "csbdeep-fiji",
                                      "--out", "{run}/model.zip")),
    "reproduce (tiny 1c)": Scenario("reproduce (tiny 1c)",
                                    [sys.executable, "-c", _TINY_REPRODUCE.replace("{repo!r}", "'{repo}'")
                                     .replace("{out!r}", "'{run}/reproduce'")]),
    # The issue's own command; minutes per run, so only in the documented long run (benchmarks/kill_points.py).
    "reproduce --quick --experiment 1c": Scenario("reproduce --quick --experiment 1c",
                                                  _cli("reproduce", "--quick", "--experiment", "1c",
                                                       "--out", "{run}/reproduce")),
}

#: What CI runs (tests/faults/test_kill_points.py); the long run adds the quick reproduction.
IN_CI = [name for name in SCENARIOS if not name.startswith("reproduce --quick")]


def make_inputs(inputs: Path) -> None:
    """Training stacks, their training file, a tiny model and 6 stacks to restore."""
    sys.path.insert(0, str(REPO))
    from tests.care import synth

    synth.train_tiny_model(inputs)
    synth.write_dataset(inputs / "more", n_stacks=6, shape=(16, 64, 64), seed=5)
    (inputs / "more" / "short").rename(inputs / "stacks")
