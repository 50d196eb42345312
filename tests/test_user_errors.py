"""Every mistake a user can make on the command line gets one line that says what to do, never a traceback.

Each subcommand is driven with bad arguments and bad files. A mistake the
package recognises ends with exit code 2 and a single ``lumicare: error:``
line; a malformed argument gets argparse's usage and one error line (also
exit code 2). Either way no Python traceback reaches the user.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from lumicare_ij import care, cli
from lumicare_ij.io import write_stack

from .care import synth

SHAPE = (8, 32, 32)
TINY = dict(unet_n_first=4, train_steps_per_epoch=1, train_batch_size=4, probabilistic=False)


def truncated_stack(path, n_planes=16):
    """An ImageJ TIFF cut in half, as a copy from a network share that stopped: its page chain ends early."""
    write_stack(path, np.arange(n_planes * 32 * 32, dtype=np.uint16).reshape(n_planes, 32, 32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good data and a tiny model, plus every kind of bad file the cases below need."""
    root = tmp_path_factory.mktemp("user-errors")
    synth.write_dataset(root / "data", n_stacks=2, shape=SHAPE)
    npz = root / "train.npz"
    synth.prepare_tiny(root / "data", npz)
    care.train(npz, root / "model", epochs=1, progress=False, **TINY)

    bad = root / "bad"
    (bad / "short").mkdir(parents=True)
    (bad / "long").mkdir()
    truncated_stack(bad / "short" / "cell00.tif")
    write_stack(bad / "long" / "cell00.tif", np.zeros((16, 32, 32), np.uint16))
    (bad / "notes.txt").write_text("not an image")
    (bad / "garbage.tif").write_bytes(b"II*\x00" + os.urandom(200))
    tifffile.imwrite(bad / "rgb.tif", np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    write_stack(bad / "flat.tif", np.zeros((32, 32), np.uint16))
    write_stack(bad / "twochannels.tif", np.zeros((2, 8, 32, 32), np.uint16))
    (bad / "train.npz").write_bytes(b"not a zip")
    (bad / "mapping.json").write_text("{not json")
    (bad / "nonempty").mkdir()
    (bad / "nonempty" / "keep.txt").write_text("mine")
    (bad / "not_a_model").mkdir()
    (bad / "restored").mkdir()
    for name in ("cell00.tif", "cell01.tif"):
        truncated_stack(bad / "restored" / name, n_planes=8)
        write_stack(bad / "labels" / name, np.zeros((4, 32, 32), np.uint16))
    return root


# (argv with {root} placeholders, a phrase the message must contain)
CASES = {
    "simulate: --out is a file": (["simulate", "--out", "{root}/bad/notes.txt"], "is a file"),
    "simulate: --size of two numbers": (["simulate", "--out", "{root}/new", "--size", "8,48"], "3 whole numbers"),
    "simulate: --stacks 0": (["simulate", "--out", "{root}/new", "--stacks", "0"], "whole number >= 1"),
    "simulate: folder with files": (["simulate", "--out", "{root}/bad/nonempty"], "already contains files"),
    "simulate: images smaller than the binning": (
        ["simulate", "--specimen", "cytoplasmic", "--out", "{root}/new", "--size", "4,4,4", "--stacks", "1"],
        "at least"),
    "presets: unknown name": (["presets", "nosuch"], "nosuch"),
    "prepare: no data folder": (["prepare", "--data", "{root}/missing", "--regime", "denoise", "--input", "short",
                                 "--target", "long", "--out", "{root}/t.npz"], "no such folder"),
    "prepare: unknown condition": (["prepare", "--data", "{root}/data", "--regime", "denoise", "--input", "short",
                                    "--target", "lng", "--out", "{root}/t.npz"], "no such condition folder"),
    "prepare: truncated stack": (["prepare", "--data", "{root}/bad", "--regime", "denoise", "--input", "short",
                                  "--target", "long", "--out", "{root}/t.npz"], "truncated"),
    "prepare: patch larger than the stacks": (
        ["prepare", "--data", "{root}/data", "--regime", "denoise", "--input", "short", "--target", "long",
         "--out", "{root}/t.npz", "--patch-size", "16,64,64"], "does not fit"),
    "prepare: bad --patch-size": (["prepare", "--data", "{root}/data", "--regime", "denoise", "--input", "short",
                                   "--target", "long", "--out", "{root}/t.npz", "--patch-size", "16,a,64"],
                                  "3 whole numbers"),
    "prepare: output exists": (["prepare", "--data", "{root}/data", "--regime", "denoise", "--input", "short",
                                "--target", "long", "--out", "{root}/train.npz"], "already exists"),
    "train: no training file": (["train", "--data", "{root}/missing.npz", "--model", "{root}/m"],
                                "no such training file"),
    "train: not a training file": (["train", "--data", "{root}/bad/train.npz", "--model", "{root}/m"],
                                   "not a csbdeep training file"),
    "train: nothing to resume": (["train", "--data", "{root}/train.npz", "--model", "{root}/m", "--resume"],
                                 "nothing to resume"),
    "train: model exists": (["train", "--data", "{root}/train.npz", "--model", "{root}/model"], "already holds"),
    "train: negative learning rate": (["train", "--data", "{root}/train.npz", "--model", "{root}/m",
                                       "--learning-rate", "-1"], "train_learning_rate must be > 0"),
    "train: validation split of 2": (["train", "--data", "{root}/train.npz", "--model", "{root}/m",
                                      "--validation-split", "2"], "validation_split"),
    "train: negative seed": (["train", "--data", "{root}/train.npz", "--model", "{root}/m", "--seed", "-3"],
                             "whole number from 0"),
    "train: seed that is not a number": (["train", "--data", "{root}/train.npz", "--model", "{root}/m",
                                          "--seed", "one"], "whole number from 0"),
    "predict: not a .tif": (["predict", "--model", "{root}/model", "{root}/bad/notes.txt", "--out", "{root}/o"],
                            "not a .tif stack"),
    "predict: output would replace the input": (
        ["predict", "--model", "{root}/model", "{root}/data/short", "--out", "{root}/data/short"],
        "would replace an input"),
    "predict: no such input": (["predict", "--model", "{root}/model", "{root}/nothing.tif", "--out", "{root}/o"],
                               "no such file"),
    "predict: not a model folder": (["predict", "--model", "{root}/bad/not_a_model", "{root}/data/short",
                                     "--out", "{root}/o"], "not a CARE model folder"),
    "predict: a 2D image into a 3D model": (["predict", "--model", "{root}/model", "{root}/bad/flat.tif",
                                             "--out", "{root}/o"], "restores"),
    "predict: two channels into a one-channel model": (
        ["predict", "--model", "{root}/model", "{root}/bad/twochannels.tif", "--out", "{root}/o"], "restores"),
    "predict: damaged TIFF": (["predict", "--model", "{root}/model", "{root}/bad/garbage.tif", "--out", "{root}/o"],
                              "TIFF"),
    "predict: float16 without a GPU": (["predict", "--model", "{root}/model", "{root}/data/short", "--out",
                                        "{root}/o16", "--precision", "float16"], "float16 runs only on a GPU"),
    "predict: RGB image": (["predict", "--model", "{root}/model", "{root}/bad/rgb.tif", "--out", "{root}/o"], "RGB"),
    "predict: bad --tiles": (["predict", "--model", "{root}/model", "{root}/data/short", "--out", "{root}/o",
                              "--tiles", "2,2"], "3 whole numbers"),
    "evaluate: no reference stacks": (["evaluate", "--reference", "{root}/missing", "--restored", "{root}/data/long",
                                       "--out", "{root}/e"], "no .tif"),
    "evaluate: missing partner": (["evaluate", "--reference", "{root}/data/long", "--restored", "{root}/bad/nonempty",
                                   "--out", "{root}/e"], "has no stack named like"),
    "evaluate: truncated restoration": (["evaluate", "--reference", "{root}/data/long", "--restored",
                                         "{root}/bad/restored", "--out", "{root}/e"], "truncated"),
    "evaluate: no labels folder": (["evaluate", "--reference", "{root}/data/long", "--restored", "{root}/data/short",
                                    "--readout", "objects", "--labels", "{root}/missing", "--out", "{root}/e"],
                                   "labels folder"),
    "evaluate: labels missing for a stack": (["evaluate", "--reference", "{root}/data/long", "--restored",
                                              "{root}/data/short", "--readout", "objects", "--labels",
                                              "{root}/bad/nonempty", "--out", "{root}/e"], "has no labels for"),
    "evaluate: labels without the objects readout": (["evaluate", "--reference", "{root}/data/long", "--restored",
                                                     "{root}/data/short", "--labels", "{root}/bad/labels",
                                                     "--out", "{root}/e"], "only by the 'objects' readout"),
    "evaluate: labels of another size": (["evaluate", "--reference", "{root}/data/long", "--restored",
                                          "{root}/data/short", "--readout", "objects", "--labels",
                                          "{root}/bad/labels", "--out", "{root}/e"], "do not fit"),
    "export: not a model": (["export", "--model", "{root}/bad/not_a_model", "--format", "csbdeep-fiji",
                             "--out", "{root}/m.zip"], "config.json"),
    "export: --out is a folder": (["export", "--model", "{root}/model", "--format", "bioimageio",
                                   "--out", "{root}/bad"], "folder"),
    "reproduce: unreadable mapping": (["reproduce", "--quick", "--data", "{root}/bad/mapping.json",
                                       "--out", "{root}/r"], "mapping.json"),
    "demo: folder with files": (["demo", "--out", "{root}/bad/nonempty"], "already holds files"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mistake_gets_one_line_and_no_traceback(case, files, capsys):
    argv, phrase = CASES[case]
    argv = [a.format(root=files) for a in argv]
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: usage and one error line
        code = exit_.code
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1].startswith("lumicare ")
    else:
        err = capsys.readouterr().err
        # progress bars (tqdm writes them to stderr) may stand before the message
        message = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
        assert len(message) == 1 and message[0].startswith("lumicare: error: "), err
    assert code == 2
    assert "Traceback" not in err
    assert phrase in err, err
    assert (files / "bad" / "nonempty" / "keep.txt").read_text() == "mine"


def test_ijcheck_with_a_missing_jar_says_what_to_set():
    env = {**os.environ, "LUMICARE_IJ_JAR": "/nonexistent/ij.jar"}
    done = subprocess.run([sys.executable, "-m", "lumicare_ij.cli", "ijcheck"], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("lumicare: error: ImageJ jar not found") and "LUMICARE_IJ_JAR" in done.stderr


def test_no_user_facing_assert_statements():
    """assert vanishes under python -O: checks of user input must be real checks."""
    import ast
    from pathlib import Path

    import lumicare_ij

    found = []
    for path in Path(lumicare_ij.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
