"""The main job on embedded data: simulate, prepare, train, restore, evaluate.

``lumicare demo`` (or :func:`run_demo`) shows the whole method on a fresh
machine in a few minutes on a CPU: a small H2B dataset is simulated (training
and held-out stacks with different seeds), a ``quick`` CARE network learns
0.5 s -> 60 s luminescence (the ``denoise`` regime), restores the held-out
0.5 s stacks, and the restorations are evaluated against the 60 s ground
truth next to the raw 0.5 s input and the technical noise (a second 60 s
acquisition).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from . import care, evaluation
from . import io as lio
from . import training
from .errors import OutputExistsError
from .simulate import simulate_dataset

DEMO_SHAPE_ZYX = (16, 128, 128)
INPUT_CONDITION = "lum_0.5s"
TARGET_CONDITION = "lum_60s"
NOISE_CONDITION = "lum_60s_rep2"


def run_demo(out_dir="lumicare-demo", *, n_train_stacks: int = 4, n_test_stacks: int = 2,
             epochs: int | None = None, seed: int = 0, overwrite: bool = False, progress: bool = True,
             log=print) -> dict:
    """Run the demo; return the summary (also written to ``out_dir/metrics.json``).

    Parameters
    ----------
    out_dir : path
        Everything goes here: ``data/train``, ``data/test`` (simulated),
        ``train.npz``, ``model/``, ``restored/``, ``metrics.csv/json``, ``summary.txt``.
    n_train_stacks, n_test_stacks : int
        Stacks to simulate for training and for held-out evaluation.
    epochs : int, optional
        Override the ``quick`` preset's epochs (tests use fewer).
    overwrite : bool
        Replace the files of an earlier demo in ``out_dir``.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out} already holds files; choose another --out or add --force to redo the demo.")
    started = time.perf_counter()
    steps = {}

    def step(name, fn):
        log(f"[demo] {name} ...")
        t0 = time.perf_counter()
        result = fn()
        steps[name] = round(time.perf_counter() - t0, 1)
        return result

    step("simulate", lambda: (
        simulate_dataset("h2b", out / "data" / "train", n_stacks=n_train_stacks, shape_zyx=DEMO_SHAPE_ZYX,
                         small=True, seed=seed, overwrite=overwrite, progress=progress),
        simulate_dataset("h2b", out / "data" / "test", n_stacks=n_test_stacks, shape_zyx=DEMO_SHAPE_ZYX,
                         small=True, seed=seed + 1000, overwrite=overwrite, progress=progress)))
    step("prepare", lambda: training.prepare_training_data(
        out / "data" / "train", "denoise", INPUT_CONDITION, TARGET_CONDITION, out / "train.npz",
        preset="quick", seed=seed, overwrite=overwrite, progress=progress))
    step("train", lambda: care.train(out / "train.npz", out / "model", "quick", epochs=epochs, seed=seed,
                                     overwrite=overwrite, progress=progress))
    step("restore", lambda: care.restore_files(out / "model", out / "data" / "test" / INPUT_CONDITION,
                                               out / "restored", overwrite=overwrite, progress=progress))
    test_dir = out / "data" / "test"
    rows = step("evaluate", lambda: evaluation.evaluate_folders(
        test_dir / TARGET_CONDITION,
        {"raw 0.5 s": test_dir / INPUT_CONDITION, "restored": out / "restored",
         "technical noise (60 s vs 60 s)": test_dir / NOISE_CONDITION},
        # H2B is read out as the paper did (Figure 2a, Pearson under nuclear masks), and the nuclei as
        # objects: merged or split neighbours show in masks, not in PSNR or Pearson.
        readouts=("nuclear_pearson", "objects"), labels_dir=test_dir / "labels", progress=progress))
    paths = evaluation.write_results(rows, out, overwrite=overwrite)
    summary = evaluation.summarize(rows)
    record = {"summary": summary, "seconds": steps, "total_seconds": round(time.perf_counter() - started, 1),
              "input": INPUT_CONDITION, "target": TARGET_CONDITION, "files": {k: str(v) for k, v in paths.items()}}
    lio.atomic_write_text(out / "demo.json", json.dumps(record, indent=2, default=float), overwrite=True)
    return record
