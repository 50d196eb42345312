"""The `lumicare` command: help a microscopist can read, and errors without tracebacks."""

import json
import subprocess
import sys

import pytest

from lumicare_ij import cli, io


def run(*args):
    return subprocess.run([sys.executable, "-m", "lumicare_ij.cli", *args], capture_output=True, text=True)


def test_help_lists_commands_and_explains():
    out = run("--help")
    assert out.returncode == 0
    assert "simulate" in out.stdout and "luminescence" in out.stdout
    sim = run("simulate", "--help")
    assert "EMCCD" in sim.stdout and "--specimen" in sim.stdout and "example:" in sim.stdout


def test_simulate_writes_dataset_and_prints_summary(tmp_path, capsys):
    out = tmp_path / "data"
    assert cli.main(["simulate", "--specimen", "h2b", "--small", "--stacks", "2", "--size", "8,48,48",
                     "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Simulated h2b: 2 stacks" in printed and "lum_0.5s" in printed and "fluo" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["conditions"]) >= {"lum_60s", "lum_60s_rep2", "lum_0.5s", "fluo"}
    names = sorted(p.name for p in (out / "lum_60s").iterdir())
    assert names == sorted(p.name for p in (out / "lum_0.5s").iterdir()) and len(names) == 2
    stack = io.read_stack(out / "lum_0.5s" / names[0])
    assert stack.shape == (8, 48, 48) and stack.attrs["metadata"]["exposure_s"] == 0.5


def test_simulate_refuses_to_overwrite_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("my notes")
    assert cli.main(["simulate", "--small", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already contains files" in err and "--force" in err and "Traceback" not in err
    assert (tmp_path / "mine.txt").read_text() == "my notes"


@pytest.mark.parametrize("args, message", [
    (["simulate", "--out", "x", "--size", "16,abc"], "Z,Y,X"),
    (["simulate", "--out", "x", "--stacks", "0"], ">= 1"),
    (["simulate", "--out", "x", "--specimen", "yeast"], "invalid choice"),
])
def test_bad_arguments_are_explained(args, message):
    out = run(*args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
