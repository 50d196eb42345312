"""Two `lumicare predict` runs into the same folder at the same time share the work; nothing is corrupted."""

import subprocess
import sys

import numpy as np

from lumicare_ij import care
from lumicare_ij.io import read_array

from .care import synth

N_STACKS = 6


def _predict(model, inputs, out):
    return subprocess.Popen([sys.executable, "-m", "lumicare_ij.cli", "predict", "--model", str(model), str(inputs),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_runs_into_one_folder_both_finish_with_complete_equal_outputs(tmp_path):
    synth.write_dataset(tmp_path / "train", n_stacks=2, shape=(8, 32, 32))
    synth.prepare_tiny(tmp_path / "train", tmp_path / "train.npz")
    care.train(tmp_path / "train.npz", tmp_path / "model", epochs=1, progress=False, **synth.TINY)
    synth.write_dataset(tmp_path / "data", n_stacks=N_STACKS, shape=(16, 64, 64), seed=5)
    short = tmp_path / "data" / "short"

    runs = [_predict(tmp_path / "model", short, tmp_path / "shared") for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    alone = _predict(tmp_path / "model", short, tmp_path / "alone")
    assert alone.wait(timeout=600) == 0, alone.communicate()[0]

    names = sorted(p.name for p in (tmp_path / "alone").iterdir())
    assert len(names) == N_STACKS
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == names  # no temporary or extra files
    for name in names:
        np.testing.assert_array_equal(read_array(tmp_path / "shared" / name), read_array(tmp_path / "alone" / name))
