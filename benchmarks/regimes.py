"""Do the training regimes really restore? Raw input vs restoration vs technical noise.

For each regime of the paper, a small training set and a held-out test set
(different seeds) are simulated, training patches are prepared, a network
is trained with a preset (default ``quick``), the held-out inputs are
restored, and raw inputs, restorations and the technical noise (a second
reference acquisition) are evaluated against the reference with
:func:`lumicare_ij.evaluation.evaluate_folders`: PSNR / SSIM / NRMSE after
CARE's normalisation and the paper's readout for the specimen.

=============  ============  ===================================================  ==========================
regime         specimen      training pairs (input -> target)                     evaluated against, readout
=============  ============  ===================================================  ==========================
denoise        cytoplasmic   lum_0.5s -> lum_60s                                  lum_60s, mask MAE (Fig. 1)
upsample       cytoplasmic   lum_0.5s binned 4x4 (bin_factor=4) -> lum_60s;       lum_60s, mask MAE
                             test inputs: the 4x4 software-binned acquisitions
                             lum_0.5s_swbin4, upsampled by the model's factor
n2n            cytoplasmic   lum_5s <-> lum_5s_rep2 (both directions)             lum_60s, mask MAE
n2v            cytoplasmic   lum_0.5s alone (Noise2Void, self-supervised)         lum_60s, mask MAE
n2v2           cytoplasmic   lum_0.5s alone (N2V2 network, median replacement)    lum_60s, mask MAE
fluorescence   h2b           lum_0.5s -> fluo (H2B-eGFP)                          fluo (PSNR ...) and lum_60s
                                                                                  nuclear Pearson (Fig. 2a QC)
=============  ============  ===================================================  ==========================

Technical noise is ``lum_60s_rep2`` against ``lum_60s`` (the simulator
records no second fluorescence image, so the fluorescence reference has
none). Prints a Markdown table (and writes it, with every per-stack row,
to ``OUT/regimes.md`` and ``OUT/regimes.json``). Usage::

    python benchmarks/regimes.py --out /tmp/regimes            # as in docs/results.md
    python benchmarks/regimes.py --regimes denoise,n2n --n-train 8

:func:`run_regime` is also what ``tests/care/test_regimes_improve.py`` runs,
at a smaller scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

#: What each regime trains on and how it is evaluated.
REGIMES = {
    "denoise": {"specimen": "cytoplasmic", "input": "lum_0.5s", "target": "lum_60s",
                "test_input": "lum_0.5s", "readout": "mask_mae",
                "references": [("lum_60s", "lum_60s_rep2", ("mask_mae",))]},
    "upsample": {"specimen": "cytoplasmic", "input": "lum_0.5s", "target": "lum_60s", "bin_factor": 4,
                 "test_input": "lum_0.5s_swbin4", "readout": "mask_mae",
                 "references": [("lum_60s", "lum_60s_rep2", ("mask_mae",))]},
    "n2n": {"specimen": "cytoplasmic", "input": "lum_5s", "target": "lum_5s_rep2",
            "test_input": "lum_5s", "readout": "mask_mae",
            "references": [("lum_60s", "lum_60s_rep2", ("mask_mae",))]},
    # Noise2Void: the 0.5 s stacks alone, no target (issue 15); on the same held-out stacks as denoise.
    "n2v": {"specimen": "cytoplasmic", "input": "lum_0.5s", "target": None,
            "test_input": "lum_0.5s", "readout": "mask_mae",
            "references": [("lum_60s", "lum_60s_rep2", ("mask_mae",))]},
    "n2v2": {"specimen": "cytoplasmic", "input": "lum_0.5s", "target": None,
             "test_input": "lum_0.5s", "readout": "mask_mae",
             "references": [("lum_60s", "lum_60s_rep2", ("mask_mae",))]},
    "fluorescence": {"specimen": "h2b", "input": "lum_0.5s", "target": "fluo",
                     "test_input": "lum_0.5s", "readout": "nuclear_pearson",
                     "references": [("fluo", None, ()), ("lum_60s", "lum_60s_rep2", ("nuclear_pearson",))]},
}

#: Metrics shown in the table, with the direction that is better.
METRICS = {"psnr": ("PSNR (dB)", True), "ssim": ("SSIM", True), "nrmse": ("NRMSE", False),
           "mask_mae": ("mask MAE", False), "nuclear_pearson": ("nuclear Pearson", True)}


def simulate(specimen: str, root: Path, n_train: int, n_test: int, shape_zyx, seed: int, test_seed: int,
             progress: bool = False) -> tuple[Path, Path]:
    """Training and held-out datasets of one specimen (skipped if already there with the same settings)."""
    from lumicare_ij.simulate import simulate_dataset

    out = []
    for split, n, s in (("train", n_train, seed), ("test", n_test, test_seed)):
        folder = root / specimen / split
        manifest = folder / "manifest.json"
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            if (m.get("n_stacks"), m.get("seed"), m.get("shape_zyx")) == (n, s, list(shape_zyx)):
                out.append(folder)
                continue
        simulate_dataset(specimen, folder, n_stacks=n, shape_zyx=shape_zyx, small=True, seed=s,
                         overwrite=True, progress=progress)
        out.append(folder)
    return tuple(out)


def _upsampled_inputs(src: Path, dst: Path, factor: int) -> Path:
    """Binned acquisitions upsampled without interpolation: the raw input at the reference's size."""
    from lumicare_ij import ijops
    from lumicare_ij import io as lio

    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.tif")):
        x = lio.read_array(f)
        lio.write_stack(dst / f.name, ijops.upsample_nearest(x, (x.shape[0], x.shape[1] * factor,
                                                                 x.shape[2] * factor)), overwrite=True)
    return dst


def run_regime(regime: str, work: Path, *, n_train: int = 4, n_test: int = 2, shape_zyx=(16, 128, 128),
               seed: int = 0, test_seed: int = 1000, preset: str = "quick", data_root: Path | None = None,
               train_seed: int | None = 0, progress: bool = False, **overrides) -> dict:
    """Simulate, prepare, train, restore and evaluate one regime; return summary, rows and timings.

    ``overrides`` are preset fields for training (e.g. ``train_epochs=4``);
    ``n_patches_per_image`` and ``patch_size`` go to the preparation.
    ``train_seed`` is :func:`lumicare_ij.care.train`'s ``seed`` (initial
    weights and batch order), so a run repeats on the same machine and
    software; None lets training draw one.
    """
    from lumicare_ij import care, evaluation, training

    spec = REGIMES[regime]
    work = Path(work) / regime
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seconds = {}
    t0 = time.perf_counter()
    train_dir, test_dir = simulate(spec["specimen"], Path(data_root or work.parent / "data"), n_train, n_test,
                                   shape_zyx, seed, test_seed, progress)
    seconds["simulate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    prep = {k: overrides.pop(k) for k in ("n_patches_per_image", "patch_size") if k in overrides}
    record = training.prepare_training_data(train_dir, regime, spec["input"], spec["target"], work / "train.npz",
                                            preset=preset, seed=seed, bin_factor=spec.get("bin_factor"),
                                            progress=progress, **prep)
    seconds["prepare"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model_record = care.train(work / "train.npz", work / "model", preset, progress=progress, seed=train_seed,
                              **overrides)
    seconds["train"] = time.perf_counter() - t0
    seconds["train_epochs_only"] = sum(e["seconds"] for e in model_record["history"])

    t0 = time.perf_counter()
    test_input = test_dir / spec["test_input"]
    care.restore_files(work / "model", test_input, work / "restored", progress=progress)
    seconds["restore"] = time.perf_counter() - t0
    raw_dir = test_input
    if spec.get("bin_factor"):
        raw_dir = _upsampled_inputs(test_input, work / "raw_upsampled", spec["bin_factor"])

    t0 = time.perf_counter()
    rows, summaries = [], {}
    for reference, noise, readouts in spec["references"]:
        compare = {"raw": raw_dir, "restored": work / "restored"}
        if noise:
            compare["technical noise"] = test_dir / noise
        r = evaluation.evaluate_folders(test_dir / reference, compare, readouts=readouts, progress=False)
        for row in r:
            row["reference"] = reference
        rows.extend(r)
        summaries[reference] = {s["kind"]: s for s in evaluation.summarize(r)}
    seconds["evaluate"] = time.perf_counter() - t0
    by_plane = None
    if spec["readout"] == "mask_mae":
        by_plane = mask_mae_by_plane(test_dir / "lum_60s", {
            "raw": raw_dir, "restored": work / "restored", "technical noise": test_dir / "lum_60s_rep2",
            "noise-free ground truth": test_dir / "ground_truth"})
    ceiling = None
    if regime == "fluorescence":
        # How well would a perfect luminescence image predict the fluorescence? Expression of the two
        # reporters differs from nucleus to nucleus, so not perfectly: the PSNR of the noise-free
        # luminescence (ground truth, channel 0) against the fluorescence image bounds what any
        # restoration of luminescence can reach.
        import numpy as np

        from lumicare_ij import io as lio
        ceiling = float(np.mean([
            evaluation.image_quality(lio.read_array(test_dir / "ground_truth" / f.name)[0], lio.read_array(f))["psnr"]
            for f in sorted((test_dir / "fluo").glob("*.tif"))]))
    return {"regime": regime, **{k: v for k, v in spec.items() if k != "references"},
            "psnr_noise_free_luminescence_vs_fluo": ceiling,
            "references": [[r, n, list(m)] for r, n, m in spec["references"]],
            "summary": summaries, "rows": rows, "seconds": seconds, "mask_mae_by_plane": by_plane,
            "n_patches": record["n_patches"], "preset": model_record["preset"],
            "final_loss": model_record["history"][-1]["loss"],
            "final_val_loss": model_record["history"][-1]["val_loss"],
            "paths": {"model": str(work / "model"), "test_input": str(test_input),
                      "restored": str(work / "restored"), "test_dir": str(test_dir)}}


def mask_mae_by_plane(reference_dir, compare: dict) -> dict:
    """Each plane's share of the mask MAE, mean over the stacks: ``{label: [share of plane 0, ...]}``.

    A diagnostic of :func:`lumicare_ij.analysis.mask_mae_between` (not another
    metric): the masks are the same Mean-threshold cell masks, and the shares
    of one stack add up to its mask MAE (255 x the fraction of voxels whose
    masks differ, split by plane).
    """
    import numpy as np

    from lumicare_ij import analysis
    from lumicare_ij import io as lio

    refs = sorted(Path(reference_dir).glob("*.tif"))
    out = {}
    for label, folder in compare.items():
        per_stack = []
        for ref in refs:
            reference = lio.read_array(ref)
            test = lio.read_array(Path(folder) / ref.name)
            if test.ndim == 4:  # ground truth of a two-channel specimen: the luminescence channel
                test = test[0]
            a, b = analysis.cell_mask(reference), analysis.cell_mask(test)
            per_stack.append(255.0 * (a != b).mean(axis=(1, 2)) / a.shape[0])
        out[label] = np.mean(per_stack, axis=0).tolist()
    return out


def plane_table(result: dict, by_plane: dict) -> str:
    n = len(next(iter(by_plane.values())))
    lines = [f"{result['regime']}: share of the mask MAE by plane (z = 0 is the bottom, next to the glass)", "",
             "| | total | " + " | ".join(f"z{z}" for z in range(n)) + " |",
             "|---" * (n + 2) + "|"]
    for label, shares in by_plane.items():
        lines.append(f"| {label} | {sum(shares):.1f} | " + " | ".join(f"{v:.1f}" for v in shares) + " |")
    return "\n".join(lines)


def improvement(result: dict, reference: str, metric: str) -> float:
    """Restored minus raw (for metrics where lower is better: raw minus restored); > 0 is better."""
    s = result["summary"][reference]
    higher = METRICS[metric][1]
    diff = s["restored"][metric] - s["raw"][metric]
    return diff if higher else -diff


def markdown_table(results: list[dict], metrics=("psnr", "ssim", "nrmse", "mask_mae", "nuclear_pearson")) -> str:
    lines = ["| regime | specimen: input -> target | evaluated against | metric | raw input | restored | "
             "technical noise | restored better |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        pair = f"{res['specimen']}: {res['test_input']} -> {res['target']}"
        if res.get("bin_factor"):
            pair += f" (trained on {res['input']} binned {res['bin_factor']}x{res['bin_factor']})"
        for reference, noise, _ in res["references"]:
            s = res["summary"][reference]
            for metric in metrics:
                if metric not in s["raw"]:
                    continue
                name, higher = METRICS[metric]
                noise_cell = f"{s['technical noise'][metric]:.3g}" if "technical noise" in s else "n/a"
                better = improvement(res, reference, metric) > 0
                fmt = (lambda v: f"{v:.2f}") if metric == "psnr" else (lambda v: f"{v:.3g}")
                lines.append(f"| {res['regime']} | {pair} | {reference} | {name} {'↑' if higher else '↓'} | "
                             f"{fmt(s['raw'][metric])} | **{fmt(s['restored'][metric])}** | {noise_cell} | "
                             f"{'yes' if better else 'NO'} |")
    return "\n".join(lines)


def timing_table(results: list[dict]) -> str:
    lines = ["| regime | training patches | final loss / val loss | prepare s | train s (epochs only) | "
             "restore s | evaluate s |", "|---|---|---|---|---|---|---|"]
    for r in results:
        s = r["seconds"]
        lines.append(f"| {r['regime']} | {r['n_patches']} | {r['final_loss']:.4f} / {r['final_val_loss']:.4f} | "
                     f"{s['prepare']:.1f} | {s['train']:.0f} ({s['train_epochs_only']:.0f}) | {s['restore']:.1f} | "
                     f"{s['evaluate']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="regimes-benchmark", help="work folder (default ./regimes-benchmark)")
    parser.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated (default: all six)")
    parser.add_argument("--n-train", type=int, default=4, help="training stacks per specimen (default 4)")
    parser.add_argument("--n-test", type=int, default=2, help="held-out stacks per specimen (default 2)")
    parser.add_argument("--shape", default="16,128,128", help="stack size Z,Y,X (default 16,128,128)")
    parser.add_argument("--seed", type=int, default=0, help="training data, patches (default 0)")
    parser.add_argument("--test-seed", type=int, default=1000, help="held-out data (default 1000)")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--train-seed", type=int, default=0,
                        help="seed of the initial weights and batch order (default 0; -1: unseeded)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    out = Path(args.out)
    shape = tuple(int(s) for s in args.shape.split(","))
    overrides = {"train_epochs": args.epochs} if args.epochs else {}
    results = []
    started = time.perf_counter()
    for regime in [r.strip() for r in args.regimes.split(",") if r.strip()]:
        print(f"[regimes] {regime} ...", flush=True)
        results.append(run_regime(regime, out, n_train=args.n_train, n_test=args.n_test, shape_zyx=shape,
                                  seed=args.seed, test_seed=args.test_seed, preset=args.preset,
                                  train_seed=None if args.train_seed < 0 else args.train_seed, **overrides))
    total = time.perf_counter() - started

    import csbdeep
    import tensorflow as tf
    head = (f"{args.preset} preset; {args.n_train} training and {args.n_test} held-out stacks of "
            f"{'x'.join(map(str, shape))} (ZYX) per specimen, seeds {args.seed} / {args.test_seed}, training seed "
            f"{args.train_seed}; "
            f"means over the held-out stacks. {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"tensorflow {tf.__version__}, csbdeep {csbdeep.__version__}; total {total:.0f} s.")
    planes = [plane_table(r, r["mask_mae_by_plane"]) for r in results if r.get("mask_mae_by_plane")]
    planes += [f"{r['regime']}: PSNR of the noise-free luminescence (ground truth) against fluo: "
               f"{r['psnr_noise_free_luminescence_vs_fluo']:.2f} dB (the most a luminescence restoration can "
               "reach against this reference)" for r in results if r.get("psnr_noise_free_luminescence_vs_fluo")]
    text = "\n\n".join([head, markdown_table(results), timing_table(results), *planes])
    print()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "regimes.md").write_text(text + "\n", encoding="utf-8")
    (out / "regimes.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2, default=float),
                                      encoding="utf-8")


if __name__ == "__main__":
    main()
