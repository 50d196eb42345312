"""Does a restoration hold up on every training run? lumicare's preset vs csbdeep used directly, over seeds.

On the dense-nuclei simulation (``h2b_dense``: touching nuclei at several
heights under out-of-focus haze, the photon budget of ``h2b``), each regime
is trained once per seed with lumicare's preset (``prepare`` + ``train`` +
``restore_files``, as the CLI runs them) and with csbdeep's ``CARE`` used
directly as its documentation shows (``RawData.from_folder``,
``create_patches``, ``CARE.train``, ``CARE.predict``; probabilistic, depth 2,
16 first filters, 300 steps of 8 patches of 16x48x48). The held-out stacks
are restored and read out against the 60 s reference, next to the raw input
and a second 60 s acquisition (the technical noise):

- PSNR (dB, after CARE's normalisation and affine fit),
- Pearson's R under the nuclear mask (Figure 2a),
- mask MAE (Figure 1's Mean-threshold masks, all planes),
- merged / split nuclei per stack (Figure 1's segmentation, plane by plane,
  against the reference's mask split by the simulation's labels:
  :func:`lumicare_ij.evaluation.object_counts`).

The median and the range over seeds are printed (and written to
``OUT/seeds.md``, every run to ``OUT/runs/*.json``; finished runs are kept, so
an interrupted benchmark continues where it stopped). Usage::

    python benchmarks/seeds.py --out /tmp/seeds                       # docs/results.md
    python benchmarks/seeds.py --regimes denoise --seeds 0,1,2 --methods lumicare
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from machine import describe  # noqa: E402  (benchmarks/ is not a package)
from regimes import _upsampled_inputs  # noqa: E402

SPECIMEN = "h2b_dense"
REFERENCE, NOISE = "lum_60s", "lum_60s_rep2"
#: What each regime trains on (all on the dense specimen, all read out against the 60 s reference).
REGIMES = {
    "denoise": {"input": "lum_0.5s", "target": "lum_60s", "test_input": "lum_0.5s"},
    "upsample": {"input": "lum_0.5s", "target": "lum_60s", "bin_factor": 4, "test_input": "lum_0.5s_swbin4"},
    "n2n": {"input": "lum_5s", "target": "lum_5s_rep2", "test_input": "lum_5s"},
    "fluorescence": {"input": "lum_0.5s", "target": "fluo", "test_input": "lum_0.5s"},
}
READOUTS = ("nuclear_pearson", "mask_mae", "objects")
#: Columns of the table: key, name, True if higher is better.
COLUMNS = (("psnr", "PSNR (dB)", True), ("nuclear_pearson", "nuclear Pearson", True),
           ("mask_mae", "mask MAE", False), ("merged", "merged nucleus-planes / stack", False),
           ("split", "split nucleus-planes / stack", False))
#: csbdeep used directly: the settings of the issue's comparison (about the quick preset's CPU time).
CSBDEEP_DIRECT = {"patch_size": (16, 48, 48), "n_patches_per_image": 64, "probabilistic": True,
                  "unet_n_depth": 2, "unet_n_first": 16, "train_batch_size": 8, "train_steps_per_epoch": 30,
                  "train_epochs": 10}


def simulate(root: Path, n_train: int, n_test: int, seed: int) -> tuple[Path, Path]:
    """Training and held-out dense-nuclei data (kept when already there with the same settings)."""
    from lumicare_ij.simulate import simulate_dataset

    folders = []
    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1000)):
        folder = root / "data" / split
        manifest = folder / "manifest.json"
        done = json.loads(manifest.read_text()) if manifest.is_file() else {}
        if (done.get("n_stacks"), done.get("seed")) != (n, s):
            simulate_dataset(SPECIMEN, folder, n_stacks=n, small=True, seed=s, overwrite=True, progress=False)
        folders.append(folder)
    return folders[0], folders[1]


def train_lumicare(regime: str, train_dir: Path, work: Path, seed: int, preset: str) -> float:
    """lumicare's documented path; returns the training seconds."""
    from lumicare_ij import care, training

    spec = REGIMES[regime]
    training.prepare_training_data(train_dir, regime, spec["input"], spec["target"], work / "train.npz",
                                   preset=preset, seed=seed, bin_factor=spec.get("bin_factor"), overwrite=True,
                                   progress=False)
    started = time.perf_counter()
    care.train(work / "train.npz", work / "model", preset, seed=seed, overwrite=True, progress=False)
    return time.perf_counter() - started


def restore_lumicare(regime: str, test_dir: Path, work: Path) -> Path:
    from lumicare_ij import care

    care.restore_files(work / "model", test_dir / REGIMES[regime]["test_input"], work / "restored",
                       overwrite=True, progress=False)
    return work / "restored"


def train_csbdeep(regime: str, train_dir: Path, work: Path, seed: int) -> float:
    """csbdeep's CARE as its example notebooks use it; binned inputs upsampled first (as lumicare does)."""
    import keras
    from csbdeep.data import RawData, create_patches
    from csbdeep.io import load_training_data
    from csbdeep.models import CARE, Config

    spec = REGIMES[regime]
    source = spec["input"]
    if spec.get("bin_factor"):
        source = _binned_and_upsampled(train_dir, spec["input"], work / "train_inputs", spec["bin_factor"])
    base = work / "train_inputs" if spec.get("bin_factor") else train_dir
    keras.utils.set_random_seed(seed)
    c = CSBDEEP_DIRECT
    raw = RawData.from_folder(basepath=str(base), source_dirs=[source], target_dir=str(train_dir / spec["target"]),
                              axes="ZYX")
    create_patches(raw, patch_size=c["patch_size"], n_patches_per_image=c["n_patches_per_image"],
                   save_file=str(work / "csbdeep.npz"), verbose=False)
    (X, Y), (X_val, Y_val), axes = load_training_data(str(work / "csbdeep.npz"), validation_split=0.1, verbose=False)
    config = Config(axes, n_channel_in=1, n_channel_out=1, train_tensorboard=False,
                    **{k: c[k] for k in ("probabilistic", "unet_n_depth", "unet_n_first", "train_batch_size",
                                         "train_steps_per_epoch", "train_epochs")})
    model = CARE(config, "model", basedir=str(work))
    started = time.perf_counter()
    model.train(X, Y, validation_data=(X_val, Y_val))
    return time.perf_counter() - started


def restore_csbdeep(inputs: Path, work: Path) -> Path:
    from csbdeep.models import CARE

    from lumicare_ij import io as lio

    model = CARE(None, "model", basedir=str(work))
    out = work / "restored"
    out.mkdir(exist_ok=True)
    for f in lio.list_stacks(inputs):
        lio.write_stack(out / f.name, model.predict(lio.read_array(f), "ZYX").astype("float32"), overwrite=True)
    return out


def _binned_and_upsampled(train_dir: Path, condition: str, root: Path, k: int) -> str:
    """Software-binned (Fiji's Bin, average) and nearest-upsampled copies of the training inputs."""
    from lumicare_ij import ijops
    from lumicare_ij import io as lio

    name = f"{condition}_bin{k}_up"
    for f in lio.list_stacks(train_dir / condition):
        x = lio.read_array(f)
        binned = ijops.bin(x, k, 1, "average")
        lio.write_stack(root / name / f.name, ijops.upsample_nearest(binned, x.shape), overwrite=True)
    return name


def _test_inputs(regime: str, test_dir: Path, root: Path) -> Path:
    """The held-out inputs at the reference's size (binned ones upsampled without interpolation, once)."""
    spec = REGIMES[regime]
    if not spec.get("bin_factor"):
        return test_dir / spec["test_input"]
    return _upsampled_inputs(test_dir / spec["test_input"], root / "work" / regime / "raw_upsampled",
                             spec["bin_factor"])


def readouts(test_dir: Path, compare: dict) -> dict:
    """``{kind: {metric: mean over the held-out stacks}}`` against the 60 s reference."""
    from lumicare_ij import evaluation

    rows = evaluation.evaluate_folders(test_dir / REFERENCE, compare, READOUTS, labels_dir=test_dir / "labels",
                                       progress=False)
    return {s["kind"]: s for s in evaluation.summarize(rows)}


def run_one(regime: str, method: str, seed: int, root: Path, train_dir: Path, test_dir: Path, preset: str) -> dict:
    """One training run, restored and read out; cached in ``root/runs``."""
    record_path = root / "runs" / f"{regime}_{method}_seed{seed}.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    work = root / "work" / f"{regime}_{method}_seed{seed}"
    work.mkdir(parents=True, exist_ok=True)
    if method == "lumicare":
        seconds = train_lumicare(regime, train_dir, work, seed, preset)
        restored = restore_lumicare(regime, test_dir, work)
    else:
        seconds = train_csbdeep(regime, train_dir, work, seed)
        restored = restore_csbdeep(_test_inputs(regime, test_dir, root), work)
    values = readouts(test_dir, {"restored": restored})["restored"]
    record = {"regime": regime, "method": method, "seed": seed, "preset": preset if method == "lumicare" else None,
              "train_seconds": seconds, "values": values}
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2, default=float))
    return record


def _cell(values: list[float], fmt: str) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def table(regime: str, baseline: dict, runs: list[dict]) -> str:
    methods = sorted({r["method"] for r in runs}, key=["lumicare", "csbdeep"].index)
    n = {m: len([r for r in runs if r["method"] == m]) for m in methods}
    head = ["readout", "raw input"] + [f"{m} ({n[m]} seeds): median [range]" for m in methods] + ["60 s vs 60 s"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for key, name, higher in COLUMNS:
        fmt = ".2f" if key == "psnr" else (".1f" if key in ("mask_mae", "merged", "split") else ".3f")
        cells = [f"{name} {'↑' if higher else '↓'}", f"{baseline['raw'][key]:{fmt}}"]
        cells += [_cell([r["values"][key] for r in runs if r["method"] == m], fmt) for m in methods]
        cells.append(f"{baseline['technical noise'][key]:{fmt}}")
        lines.append("| " + " | ".join(cells) + " |")
    seconds = [f"{m}: {statistics.median([r['train_seconds'] for r in runs if r['method'] == m]):.0f} s"
               for m in methods]
    return f"{regime} (training time, median: {', '.join(seconds)})\n\n" + "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="seeds-benchmark", type=Path, help="work folder [./seeds-benchmark]")
    parser.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated [all four]")
    parser.add_argument("--methods", default="lumicare,csbdeep", help="lumicare and/or csbdeep [both]")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="training seeds [0,1,2,3,4]")
    parser.add_argument("--preset", default="quick", help="lumicare's preset [quick]")
    parser.add_argument("--n-train", type=int, default=4, help="training stacks [4]")
    parser.add_argument("--n-test", type=int, default=2, help="held-out stacks [2]")
    parser.add_argument("--data-seed", type=int, default=0, help="simulation seed (held out: +1000) [0]")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    seeds = [int(s) for s in args.seeds.split(",")]
    regimes = [r.strip() for r in args.regimes.split(",") if r.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(f"[seeds] {describe()}", flush=True)
    train_dir, test_dir = simulate(args.out, args.n_train, args.n_test, args.data_seed)
    sections = []
    for regime in regimes:
        baseline = readouts(test_dir, {"raw": _test_inputs(regime, test_dir, args.out),
                                       "technical noise": test_dir / NOISE})
        runs = []
        for seed in seeds:
            for method in methods:
                print(f"[seeds] {regime} {method} seed {seed} ...", flush=True)
                runs.append(run_one(regime, method, seed, args.out, train_dir, test_dir, args.preset))
        sections.append(table(regime, baseline, runs))
        print("\n" + sections[-1] + "\n", flush=True)
    head = (f"{SPECIMEN}: {args.n_train} training and {args.n_test} held-out stacks of 16x128x128, simulation seed "
            f"{args.data_seed}; training seeds {args.seeds}; lumicare preset {args.preset}; csbdeep direct "
            f"{CSBDEEP_DIRECT}. {describe()}")
    (args.out / "seeds.md").write_text("\n\n".join([head] + sections) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
