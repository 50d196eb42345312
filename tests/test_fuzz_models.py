"""Damaged and wrong model folders, generated: predicting with one ends in the package's own error or works.

Starts from a real tiny CARE model folder and mutates it at seeded random:
config.json keys removed, values replaced by other JSON (wrong types,
zero, negative, huge numbers, strings), the file cut or not JSON at all;
the weights cut, bit-flipped, missing, or those of a network of another
shape. Every case must end in a LumicareError whose one-line message names
the model folder, or in a finite restoration of the input's shape; never a
traceback, a hang (30 s per case) or a file outside the output folder.
"""

import json
import os
import shutil
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from lumicare_ij import restore
from lumicare_ij.errors import LumicareError
from lumicare_ij.io import read_array, write_stack

from .care import synth

CONFIG_KEYS = ("n_dim", "axes", "n_channel_in", "n_channel_out", "unet_n_depth", "unet_n_first", "unet_kern_size",
               "unet_residual", "unet_last_activation", "probabilistic", "unet_input_shape", "train_loss")
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([10**6, 2**31, 10**12]),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                        st.lists(st.integers(-2, 64), max_size=5), st.dictionaries(st.text(max_size=3),
                                                                                   st.integers(), max_size=2))
CONFIG_CHANGES = st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), st.one_of(st.just("<delete>"), JSON_VALUES)),
                          max_size=2)
# Mostly one thing wrong at a time, so that every kind of damage also meets an otherwise loadable folder.
WHOLE_CONFIG = st.sampled_from([None] * 10 + ["cut", "not json", "a list", "a number", "empty"])
WEIGHTS = st.sampled_from([None] * 5 + ["cut", "flipped", "missing", "other network", "empty"])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-models")
    synth.train_tiny_model(root)
    synth.train_tiny_model(root, "other", unet_n_first=8)
    write_stack(root / "input" / "stack.tif", synth.poisson(synth.blobs((8, 32, 32)), 4.0, np.random.default_rng(1)))
    return root


def _mutate(folder, base, changes, whole_config, weights, cut_at):
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text())
    for key, value in changes:
        if value == "<delete>":
            config.pop(key, None)
        else:
            config[key] = value
    text = json.dumps(config)
    text = {None: text, "cut": text[: int(cut_at * len(text))], "not json": "{'n_dim': 3,", "a list": "[1, 2]",
            "a number": "3", "empty": ""}[whole_config]
    config_file.write_text(text)
    for name in ("weights_best.h5", "weights_last.h5"):
        path = folder / name
        data = bytearray(path.read_bytes())
        if weights == "cut":
            path.write_bytes(bytes(data[: int(cut_at * len(data))]))
        elif weights == "flipped":
            for i in range(8):
                data[int((cut_at + i / 8) % 1 * len(data))] ^= 0x5A
            path.write_bytes(bytes(data))
        elif weights == "missing":
            path.unlink()
        elif weights == "other network":
            shutil.copy(base / "other" / name, path)
        elif weights == "empty":
            path.write_bytes(b"")


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("a case ran past 30 s")


@settings(max_examples=int(os.environ.get("LUMICARE_FUZZ_MODEL_EXAMPLES", 120)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=CONFIG_CHANGES, whole_config=WHOLE_CONFIG, weights=WEIGHTS, cut_at=st.floats(0, 1, exclude_max=True))
def test_damaged_model_folders_end_in_one_clear_error_or_in_a_restoration(base, tmp_path_factory, changes,
                                                                         whole_config, weights, cut_at):
    case = tmp_path_factory.mktemp("case")
    folder = case / "model"
    shutil.copytree(base / "model", folder)
    _mutate(folder, base, changes, whole_config, weights, cut_at)
    out = case / "out"
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    try:
        results = restore.restore_files(folder, [base / "input" / "stack.tif"], out, progress=False)
    except LumicareError as err:
        message = str(err)
        event(f"refused: {message.split(':')[1].strip()[:40] if ':' in message else message[:40]}")
        assert str(folder) in message or "stack.tif" in message, message
        assert "Traceback" not in message
    else:
        event("restored")
        assert [r["status"] for r in results] == ["done"]
        restored = read_array(out / "stack.tif")
        assert restored.shape == (8, 32, 32) and np.isfinite(restored).all()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert {p.name for p in case.iterdir()} <= {"model", "out"}  # nothing written beside the output
