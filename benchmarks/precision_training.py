"""Does mixed-precision training converge like float32? The same seeded run in each precision, per regime.

``benchmarks/regimes.py``'s run (simulate, prepare, train the ``quick``
network with a fixed seed, restore and read out the held-out stacks) once in
float32 over ``--seeds`` training seeds and in each other precision over
``--other-seeds``, same data, same steps. A single float32-vs-bfloat16 pair
says little: float32 runs differ among themselves by seed, so the float32
seeds' range is the yardstick. Printed per regime and run: final validation
loss, the regime's readout and PSNR of the held-out restorations, training
seconds; then per regime whether each reduced-precision run lies inside the
float32 range, and its distance from the float32 median. Asserts nothing.
Usage::

    python benchmarks/precision_training.py --out /tmp/prec-train --seeds 0,1,2   # docs/benchmarks.md
    python benchmarks/precision_training.py --regimes denoise --seeds 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import describe  # noqa: E402  (benchmarks/ is not a package)
from regimes import REGIMES, run_regime  # noqa: E402


def one_run(regime: str, out: Path, precision: str, steps: int, epochs: int, train_seed: int) -> dict:
    spec = REGIMES[regime]
    result = run_regime(regime, out / f"{precision}_seed{train_seed}", data_root=out / "data", n_train=2,
                        n_test=1, seed=0, test_seed=1000, train_seed=train_seed, n_patches_per_image=16, train_epochs=epochs,
                        train_steps_per_epoch=steps, precision=precision)
    reference = spec["references"][-1][0]
    restored = result["summary"][reference]["restored"]
    return {"val_loss": result["final_val_loss"], "readout": restored[spec["readout"]],
            "psnr": restored["psnr"], "train_s": result["seconds"]["train"]}


def _seeds(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def _row(regime: str, precision: str, seed: int, run: dict) -> str:
    return (f"| {regime} | {REGIMES[regime]['readout']} | {precision} | {seed} | {run['val_loss']:.4f} | "
            f"{run['readout']:.4f} | {run['psnr']:.2f} | {run['train_s']:.0f} |")


def _verdict(regime: str, precision: str, seed: int, run: dict, base: list[dict]) -> str:
    """Where ``run`` lies against the float32 runs: inside their range or not, distance from their median."""
    import numpy as np

    parts = []
    for key in ("val_loss", "readout", "psnr"):
        values = [b[key] for b in base]
        median, inside = float(np.median(values)), min(values) <= run[key] <= max(values)
        parts.append(f"{key} {run[key] - median:+.4g} vs median ({'inside' if inside else 'outside'} "
                     f"[{min(values):.4g}, {max(values):.4g}])")
    return f"- {regime}, {precision} seed {seed}: " + "; ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("precision-training"), help="work folder")
    parser.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated [all four]")
    parser.add_argument("--precisions", default="bfloat16", help="compared with float32 [bfloat16]")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="float32 training seeds [0,1,2]")
    parser.add_argument("--other-seeds", type=_seeds, default=[0], help="seeds of the other precisions [0]")
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch [40]")
    parser.add_argument("--epochs", type=int, default=4, help="epochs [4]")
    args = parser.parse_args(argv)
    print(f"[precision-training] {describe()}", flush=True)
    others = [p.strip() for p in args.precisions.split(",") if p.strip()]
    lines = ["| regime | readout | precision | seed | final val loss | readout value | PSNR (dB) | training s |",
             "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for regime in [r.strip() for r in args.regimes.split(",") if r.strip()]:
        base = []
        for seed in args.seeds:
            base.append(one_run(regime, args.out / regime, "float32", args.steps, args.epochs, seed))
            lines.append(_row(regime, "float32", seed, base[-1]))
            print(lines[-1], flush=True)
        for precision in others:
            for seed in args.other_seeds:
                run = one_run(regime, args.out / regime, precision, args.steps, args.epochs, seed)
                lines.append(_row(regime, precision, seed, run))
                verdicts.append(_verdict(regime, precision, seed, run, base))
                print(lines[-1] + "\n" + verdicts[-1], flush=True)
    print("\n" + "\n".join(lines) + "\n\n" + "\n".join(verdicts))


if __name__ == "__main__":
    main()
