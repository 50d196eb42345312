"""The `lumicare` command: help a microscopist can read, and errors without tracebacks."""

import json
import zipfile
import subprocess
import sys

import numpy as np
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


def test_evaluate_offers_every_readout_of_evaluation():
    from lumicare_ij import cli, evaluation

    assert cli._READOUT_CHOICES == evaluation.READOUT_CHOICES
    assert "objects" in run("evaluate", "--help").stdout


def test_train_and_predict_offer_every_precision_and_feed():
    from lumicare_ij import cli, feed, precision

    assert cli._PRECISION_CHOICES == precision.PRECISION_CHOICES
    assert cli._FEED_CHOICES == feed.FEEDS
    for command in ("train", "predict"):
        assert "--precision {float32,bfloat16,float16,auto}" in run(command, "--help").stdout


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


@pytest.mark.slow
def test_prepare_train_predict_evaluate_export_through_the_cli(tmp_path, capsys):
    data, model = tmp_path / "data", tmp_path / "model"
    assert cli.main(["simulate", "--specimen", "h2b", "--stacks", "2", "--size", "8,64,64",
                     "--out", str(data)]) == 0
    assert cli.main(["prepare", "--data", str(data), "--regime", "denoise", "--input", "lum_0.5s",
                     "--target", "lum_60s", "--out", str(tmp_path / "train.npz"), "--patch-size", "8,32,32",
                     "--patches-per-stack", "4"]) == 0
    assert "64 patches from 2 stack pairs" in capsys.readouterr().out
    assert cli.main(["train", "--data", str(tmp_path / "train.npz"), "--model", str(model), "--epochs", "1",
                     "--steps-per-epoch", "2", "--batch-size", "4", "--first-filters", "8"]) == 0
    assert "Trained" in capsys.readouterr().out
    restored = tmp_path / "restored"
    assert cli.main(["predict", "--model", str(model), str(data / "lum_0.5s"), "--out", str(restored),
                     "--tiles", "1,2,2"]) == 0
    assert sorted(p.name for p in restored.glob("*.tif")) == ["h2b_000.tif", "h2b_001.tif"]
    fiji = tmp_path / "fiji"
    assert cli.main(["predict", "--model", str(model), str(data / "lum_0.5s" / "h2b_000.tif"), "--out", str(fiji),
                     "--normalize", "fiji"]) == 0
    from lumicare_ij.export import predict_like_fiji

    expected = predict_like_fiji(str(model), io.read_array(data / "lum_0.5s" / "h2b_000.tif"))
    np.testing.assert_array_equal(io.read_array(fiji / "h2b_000.tif"), expected)
    assert io.read_stack(fiji / "h2b_000.tif").attrs["metadata"]["restoration"]["normalization"]["pmin"] == 3.0
    assert cli.main(["evaluate", "--reference", str(data / "lum_60s"), "--restored", str(restored),
                     "--raw", str(data / "lum_0.5s"), "--readout", "nuclear_pearson",
                     "--out", str(tmp_path / "eval")]) == 0
    table = capsys.readouterr().out
    assert "nuclear_pearson" in table and "restored" in table and "raw" in table
    assert (tmp_path / "eval" / "metrics.csv").is_file()
    assert cli.main(["export", "--model", str(model), "--format", "csbdeep-fiji",
                     "--out", str(tmp_path / "m.zip")]) == 0
    assert (tmp_path / "m.zip").stat().st_size > 1000
    steps = capsys.readouterr().out  # how to run it in Fiji, with the settings --normalize fiji mirrors
    assert "Plugins > CSBDeep > Run your network" in steps and "percentiles 3 / 99.8" in steps
    assert "8 tiles" in steps and "--normalize fiji" in steps
    assert cli.main(["export", "--model", str(model), "--format", "bioimageio",
                     "--out", str(tmp_path / "bioimageio.zip")]) == 0
    assert "rdf.yaml" in zipfile.ZipFile(tmp_path / "bioimageio.zip").namelist()
    # The same export again has nothing to do; everything refuses to overwrite what else exists, with a
    # message and no traceback.
    before = (tmp_path / "m.zip").stat().st_mtime_ns
    assert cli.main(["export", "--model", str(model), "--format", "csbdeep-fiji",
                     "--out", str(tmp_path / "m.zip")]) == 0
    assert (tmp_path / "m.zip").stat().st_mtime_ns == before
    assert cli.main(["export", "--model", str(model), "--format", "bioimageio",
                     "--out", str(tmp_path / "m.zip")]) == 2
    assert cli.main(["predict", "--model", str(model), str(data / "lum_0.5s"), "--out", str(restored)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "exist" in err
    # The same restoration again (an interrupted run resumed) skips what is done.
    assert cli.main(["predict", "--model", str(model), str(data / "lum_0.5s"), "--out", str(restored),
                     "--tiles", "1,2,2"]) == 0
    assert "restored 0 stack(s), skipped 2 already done" in capsys.readouterr().out


def test_user_errors_of_the_pipeline_are_explained(tmp_path, capsys):
    assert cli.main(["prepare", "--data", str(tmp_path), "--regime", "denoise", "--input", "a",
                     "--target", "b", "--out", str(tmp_path / "t.npz")]) == 2
    assert cli.main(["predict", "--model", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert cli.main(["export", "--model", str(tmp_path), "--format", "csbdeep-fiji",
                     "--out", str(tmp_path / "m.zip")]) == 2
    assert cli.main(["presets", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.count("lumicare: error:") == 4 and "Traceback" not in err
    assert not (tmp_path / "m.zip").exists()


@pytest.mark.slow
def test_demo_runs_end_to_end_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "restored" in printed and "raw 0.5 s" in printed and "nuclear_pearson" in printed
    assert "merged" in printed and "split" in printed
    assert len(list((out / "restored").glob("*.tif"))) == 2
    assert json.loads((out / "metrics.json").read_text())["summary"]
    assert cli.main(["demo", "--out", str(out), "--epochs", "1"]) == 2
    assert "--force" in capsys.readouterr().err


def test_commands_that_load_tensorflow_print_no_start_up_lines(tmp_path):
    # TensorFlow 2.21 writes absl and oneDNN lines to stderr at import, whatever TF_CPP_MIN_LOG_LEVEL says.
    import os
    import subprocess
    import sys

    from .care import synth

    model = synth.train_tiny_model(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    done = subprocess.run([sys.executable, "-m", "lumicare_ij.cli", "predict", "--model", str(model),
                           str(tmp_path / "data" / "short"), "--out", str(tmp_path / "out"), "--workers", "1"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "InitializeLog" not in done.stderr and "oneDNN" not in done.stderr, done.stderr
    assert "restored 2 stack(s)" in done.stdout
