"""Prediction and training speed at each precision, against csbdeep in float32 and the machine's peak.

One run prints, for the machine it runs on:

1. the CPU (model, AVX2 / AVX-512 / AVX512-BF16 / AMX), threads, GPUs, and
   what ``precision="auto"`` picks here and why;
2. the measured matmul peak in float32 and bfloat16 (``tf.matmul`` of two
   N x N matrices, best of 5 after a warm-up): the roofline the networks are
   compared with;
3. per network (the ``quick`` and ``h2b`` presets; weights freshly
   initialised, shared by every row, since speed does not depend on them):
   FLOP per voxel (TensorFlow's profiler on the frozen forward graph), then
   csbdeep's ``CARE.predict`` in float32 next to :func:`lumicare_ij.care.predict`
   at each precision on one ``--shape`` stack (default 16x512x512, no tiles;
   best of ``--repeats`` after a warm-up on a small stack): voxels/s, ratio to
   csbdeep float32, GFLOP/s, fraction of that precision's matmul peak, output
   difference from csbdeep float32 (largest |difference| over the output's
   range, PSNR) and the resident memory the call added (sampled every 5 ms);
   and training steps (Keras ``train_on_batch`` with csbdeep's loss, median of
   ``--train-steps`` after one warm-up step) at the preset's patch size
   (and batch, or ``--train-batch``):
   training voxels/s and GFLOP/s (counted as 3x the forward FLOP: forward,
   and backward for activations and weights).

Asserts nothing (timings depend on the machine and its load); the table and
the command are in docs/benchmarks.md. Usage::

    python benchmarks/precision.py --repeats 1 --train-batch 4 --train-steps 2   # docs/benchmarks.md
    python benchmarks/precision.py --presets quick --shape 16,256,256 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from care_speed import step_seconds  # noqa: E402  (benchmarks/ is not a package)
from machine import describe  # noqa: E402  (it puts the checkout on sys.path)

PRECISIONS = ("float32", "bfloat16", "auto")


def _shape(text: str) -> tuple:
    return tuple(int(s) for s in text.replace("x", ",").split(","))


def matmul_peak_gflops(dtype: str, n: int) -> float:
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    tf.matmul(a, a).numpy()  # warm-up
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        tf.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def flop_per_voxel(keras_model, patch_zyx) -> float:
    """Forward FLOP per input voxel, counted by TensorFlow's profiler on the frozen graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    shape = (1, *patch_zyx, 1)
    fn = tf.function(lambda x: keras_model(x, training=False))
    graph = convert_variables_to_constants_v2(fn.get_concrete_function(tf.TensorSpec(shape, tf.float32))).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops / float(np.prod(patch_zyx))


def networks(preset_name: str, batch: int | None = None):
    """The preset's config and a float32 csbdeep CARE with fresh weights (the weights of every row)."""
    from csbdeep.models import Config

    from lumicare_ij import care
    from lumicare_ij.presets import care_config_kwargs, get_preset

    preset = get_preset(preset_name, train_batch_size=batch)
    config = Config("ZYX", n_channel_in=1, n_channel_out=1, train_tensorboard=False,
                    train_checkpoint_epoch=None, **care_config_kwargs(preset))
    return preset, config, care._build_care(config, None, "float32")


def at_precision(config, weights, precision: str):
    from lumicare_ij import care

    model = care._build_care(config, None, precision)
    model.keras_model.set_weights(weights)
    return model


def test_image(shape, seed=0) -> np.ndarray:
    """Sparse EMCCD-like counts: baseline 100 plus Poisson signal in a few blobs."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    signal = ndimage.gaussian_filter((rng.random(shape) > 0.999).astype(np.float32), (1, 6, 6)) * 2e4
    return (100 + rng.poisson(signal + 0.5)).astype(np.uint16)


def timed_with_memory(fn):
    """(result, seconds, MiB of resident memory the call added at its peak)."""
    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    peak, done = [before], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    return result, seconds, (peak[0] - before) / 2**20


def best_of(fn, repeats: int):
    runs = [timed_with_memory(fn) for _ in range(repeats)]
    result, seconds, _ = min(runs, key=lambda r: r[1])
    return result, seconds, max(r[2] for r in runs)


def prediction_rows(config, reference_model, image, repeats: int, precisions=PRECISIONS) -> list[dict]:
    from csbdeep.data import PercentileNormalizer

    from lumicare_ij import care, precision

    small = image[:, :64, :64]
    weights = reference_model.keras_model.get_weights()

    def csbdeep_float32(x):
        return reference_model.predict(x, "ZYX", normalizer=PercentileNormalizer(pmin=2.0, pmax=99.8,
                                                                                  do_after=True))

    csbdeep_float32(small)
    reference, seconds, memory = best_of(lambda: csbdeep_float32(image), repeats)
    rows = [{"path": "csbdeep CARE.predict", "precision": "float32", "seconds": seconds, "memory_mb": memory,
             "max_diff": 0.0, "psnr_db": float("inf")}]
    for requested in precisions:
        used = care.resolve_precision(requested)["used"]
        model = at_precision(config, weights, used)
        care.predict(model, small)
        out, seconds, memory = best_of(lambda: care.predict(model, image), repeats)
        diff = precision.difference_from_float32(out, reference)
        max_diff, psnr = diff["max_diff_over_range"], diff["psnr_db"]
        rows.append({"path": "lumicare predict", "precision": requested if requested == used else
                     f"{requested} ({used})", "used": used, "seconds": seconds, "memory_mb": memory,
                     "max_diff": max_diff, "psnr_db": psnr})
    for row in rows:
        row["voxels_per_s"] = image.size / row["seconds"]
        row["ratio"] = rows[0]["seconds"] / row["seconds"]
    return rows


def training_rows(config, preset, weights, steps: int, precisions=PRECISIONS) -> list[dict]:
    from lumicare_ij import care

    rng = np.random.default_rng(0)
    shape = (preset.train_batch_size, *preset.patch_size, 1)
    x = rng.random(shape, dtype=np.float32)
    y = x + 0.1 * rng.standard_normal(shape, dtype=np.float32)
    rows = []
    for label, requested in (("csbdeep (float32)", "float32"), *(("lumicare", p) for p in precisions)):
        used = care.resolve_precision(requested)["used"]
        model = at_precision(config, weights, used)
        with warnings.catch_warnings(), care._quiet():
            warnings.simplefilter("ignore")
            model.prepare_for_training()
        per_step = float(np.median(step_seconds(model.keras_model, x, y, steps)[1]))
        rows.append({"path": label, "precision": requested if requested == used else f"{requested} ({used})",
                     "used": used, "s_per_step": per_step, "voxels_per_s": x.size / per_step})
    for row in rows:
        row["ratio"] = rows[0]["s_per_step"] / row["s_per_step"]
    return rows


def prediction_table(name, rows, flop, peaks) -> str:
    lines = [f"Prediction, {name} network ({flop:,.0f} FLOP per voxel)", "",
             "| path | precision | voxels / s | vs csbdeep float32 | GFLOP/s | of the matmul peak | "
             "max diff / range | PSNR vs float32 | memory added |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        used = r.get("used", r["precision"])
        gflops = r["voxels_per_s"] * flop / 1e9
        lines.append(f"| {r['path']} | {r['precision']} | {r['voxels_per_s'] / 1e6:.3f} M | {r['ratio']:.2f}x | "
                     f"{gflops:.0f} | {gflops / peaks[used]:.0%} | {r['max_diff']:.1e} | {r['psnr_db']:.1f} dB | "
                     f"{r['memory_mb']:.0f} MiB |")
    return "\n".join(lines)


def training_table(name, preset, rows, flop, peaks) -> str:
    lines = [f"Training steps, {name} network (batch {preset.train_batch_size} of "
             f"{'x'.join(map(str, preset.patch_size))}; GFLOP/s counted as 3x the forward FLOP)", "",
             "| path | precision | s / step | training voxels / s | vs csbdeep float32 | GFLOP/s | "
             "of the matmul peak |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        gflops = 3 * r["voxels_per_s"] * flop / 1e9
        lines.append(f"| {r['path']} | {r['precision']} | {r['s_per_step']:.2f} | {r['voxels_per_s'] / 1e6:.3f} M | "
                     f"{r['ratio']:.2f}x | {gflops:.0f} | {gflops / peaks[r['used']]:.0%} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="quick,h2b", help="networks [quick,h2b]")
    parser.add_argument("--shape", default="16,512,512", type=_shape, help="prediction stack Z,Y,X [16,512,512]")
    parser.add_argument("--repeats", type=int, default=2, help="timed predictions per row, best kept [2]")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps per row [3]")
    parser.add_argument("--train-batch", type=int, default=None,
                        help="patches per training step [each preset's own; h2b's 128 of 16x64x64 take minutes "
                             "per step on a CPU]")
    parser.add_argument("--matmul-n", type=int, default=2048, help="matrix side of the peak measurement [2048]")
    parser.add_argument("--precisions", default=",".join(PRECISIONS),
                        help=f"this package's rows, next to csbdeep float32 [{','.join(PRECISIONS)}]")
    parser.add_argument("--json", help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import csbdeep
    import tensorflow as tf

    from lumicare_ij import hardware, precision

    auto = precision.resolve("auto")
    gpus = hardware.gpus()
    print(f"machine: {describe()}; TensorFlow {tf.__version__}, csbdeep {csbdeep.__version__}; threads: "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()} (intra-op); GPUs: "
          f"{', '.join(g['name'] for g in gpus) or 'none'}")
    print(f"precision auto -> {auto['used']} ({auto['reason']})")
    peaks = {p: matmul_peak_gflops(p, args.matmul_n) for p in ("float32", "bfloat16")}
    peaks["float16"] = peaks["float32"]  # not measured here: float16 runs only on a GPU
    print(f"matmul peak ({args.matmul_n}x{args.matmul_n}): float32 {peaks['float32']:.0f} GFLOP/s, "
          f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s\n")
    results = {"machine": describe(), "auto": auto, "matmul_gflops": peaks, "networks": {}}
    image = test_image(args.shape)
    for name in [p.strip() for p in args.presets.split(",") if p.strip()]:
        preset, config, reference = networks(name, args.train_batch)
        flop = flop_per_voxel(reference.keras_model, preset.patch_size)
        precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
        predict = prediction_rows(config, reference, image, args.repeats, precisions)
        print(prediction_table(name, predict, flop, peaks) + "\n", flush=True)
        train = training_rows(config, preset, reference.keras_model.get_weights(), args.train_steps, precisions)
        print(training_table(name, preset, train, flop, peaks) + "\n", flush=True)
        results["networks"][name] = {"flop_per_voxel": flop, "prediction": predict, "training": train}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
