"""CARE training and prediction speed, prediction overhead and peak memory.

Prints Markdown tables; asserts nothing (timings depend on the machine and its load).

1. Training: seconds per optimiser step of each preset's network (its patch
   size, batch size, U-Net and loss), measured with Keras ``train_on_batch``
   on random patches after one warm-up step (graph tracing), median of
   ``--train-steps`` steps. A paper preset's batch of 128 patches of
   16x64x64 is heavy on a CPU; ``--paper-batch`` measures it at a smaller
   batch instead (the table says which batch was used).
2. Prediction: voxels per second restoring one ``--shape`` stack (default
   16x512x512) with each network, through :func:`lumicare_ij.care.predict`
   and through csbdeep's ``CARE.predict`` called directly on the same model,
   image, normaliser and tiles in the same process. The two are run
   alternately, ``--repeats`` times each after a warm-up; the fastest runs
   are compared (ratio = csbdeep seconds / lumicare seconds: 1.0 means no
   overhead, the target is >= 0.95); medians are shown too. On a shared
   machine other jobs slow single runs at random, and the fastest run is the
   better estimate of each path's own cost. The time lumicare adds by itself
   is also measured directly: ``care.predict`` with the network call replaced
   by a stub that returns the stored result (mean of 200 calls).
3. Peak memory: each network restores a ``--memory-shape`` stack (default
   16x1024x1024) with ``--memory-tiles`` (default 2,2,2) in a fresh Python
   process, once through lumicare and once through csbdeep directly; the
   resident set size is sampled every 5 ms by a thread (psutil) and the
   kernel's ``ru_maxrss`` is read at the end. Reported: peak RSS, and peak
   minus the RSS just before the call (model and input already in memory).

Speed and memory do not depend on the weights, so the networks are freshly
initialised (no training data needed). Usage::

    python benchmarks/care_speed.py                      # quick + h2b, as in docs/benchmarks.md
    python benchmarks/care_speed.py --presets quick --repeats 5
    python benchmarks/care_speed.py --paper-batch 128    # the paper's true batch (slow on CPU)
    python benchmarks/care_speed.py --model-dir MODEL    # a trained model folder instead of fresh networks

This replaces ``benchmarks/care_predict_overhead.py`` (its ``MODEL [Z,Y,X]
[repeats]`` call is ``--model-dir MODEL --shape Z,Y,X --repeats N``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing


def _shape(text: str) -> tuple:
    return tuple(int(s) for s in text.replace("x", ",").split(","))


def _tiles(text: str):
    return None if text.lower() in ("none", "1,1,1") else _shape(text)


def _label(tiles) -> str:
    return "x".join(map(str, tiles)) if tiles else "none"


def build_model(preset_name: str, batch: int | None = None):
    """A freshly initialised csbdeep CARE network with the preset's settings (in memory only)."""
    from csbdeep.models import CARE, Config

    from lumicare_ij import care
    from lumicare_ij.presets import care_config_kwargs, get_preset

    preset = get_preset(preset_name, train_batch_size=batch)
    config = Config("ZYX", n_channel_in=1, n_channel_out=1, train_tensorboard=False,
                    train_checkpoint_epoch=None, **care_config_kwargs(preset))
    with care._quiet():
        model = CARE(config, name=None, basedir=None)
    return model, preset


def load_or_build(args, preset_name):
    if args.model_dir:
        from lumicare_ij import care
        return care.load_model(args.model_dir), None
    return build_model(preset_name)


def test_image(shape, seed=0) -> np.ndarray:
    """Sparse EMCCD-like counts: baseline 100 plus Poisson signal in a few blobs."""
    rng = np.random.default_rng(seed)
    from scipy import ndimage
    signal = ndimage.gaussian_filter((rng.random(shape) > 0.999).astype(np.float32), (1, 6, 6)) * 2e4
    return (100 + rng.poisson(signal + 0.5)).astype(np.uint16)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def time_training(preset_name: str, batch: int | None, steps: int) -> dict:
    model, preset = build_model(preset_name, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lumicare_ij import care
        with care._quiet():
            model.prepare_for_training()
    rng = np.random.default_rng(0)
    shape = (preset.train_batch_size, *preset.patch_size, 1)
    x = rng.random(shape, dtype=np.float32)
    y = x + 0.1 * rng.standard_normal(shape, dtype=np.float32)
    warmup, times = step_seconds(model.keras_model, x, y, steps)
    per_step = float(np.median(times))
    voxels = int(np.prod(shape))
    full_batch = get_preset_batch(preset_name)
    # A CPU step costs about linearly in the batch (checked with two batch sizes in docs/benchmarks.md).
    at_full = per_step * full_batch / preset.train_batch_size
    return {"preset": preset_name, "patch_zyx": "x".join(map(str, preset.patch_size)),
            "batch": preset.train_batch_size, "paper_batch": full_batch,
            "n_first": preset.unet_n_first, "probabilistic": preset.probabilistic, "steps": steps,
            "warmup_s": warmup, "s_per_step": per_step, "min_s": float(min(times)),
            "train_voxels_per_s": voxels / per_step,
            "s_per_step_preset_batch": at_full, "steps_per_epoch": preset.train_steps_per_epoch,
            "epochs": preset.train_epochs,
            "full_run_h": at_full * preset.train_steps_per_epoch * preset.train_epochs / 3600}


def step_seconds(keras_model, x, y, steps: int) -> tuple[float, list[float]]:
    """Seconds of one warm-up ``train_on_batch`` (graph tracing) and of each of ``steps`` timed ones."""
    t0 = time.perf_counter()
    keras_model.train_on_batch(x, y)
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        keras_model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    return warmup, times


def get_preset_batch(name: str) -> int:
    from lumicare_ij.presets import get_preset
    return get_preset(name).train_batch_size


# --------------------------------------------------------------------------
# Prediction speed and overhead
# --------------------------------------------------------------------------

def time_prediction(model, label: str, image: np.ndarray, tiles, repeats: int) -> dict:
    from csbdeep.data import PercentileNormalizer

    from lumicare_ij import care

    def csbdeep_direct():
        return model.predict(image, "ZYX", normalizer=PercentileNormalizer(pmin=2.0, pmax=99.8, do_after=True),
                             n_tiles=tiles)

    def lumicare():
        return care.predict(model, image, tiles=tiles)

    runs = {"csbdeep": [], "lumicare": []}
    outputs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in (("csbdeep", csbdeep_direct), ("lumicare", lumicare)):
            outputs[name] = fn()  # warm-up (graph tracing for this tile shape)
        for i in range(repeats):
            # alternate the order so that drifting machine load hits both alike
            order = (("csbdeep", csbdeep_direct), ("lumicare", lumicare))
            for name, fn in (order if i % 2 == 0 else order[::-1]):
                t0 = time.perf_counter()
                fn()
                runs[name].append(time.perf_counter() - t0)
    same = bool(np.allclose(outputs["csbdeep"], outputs["lumicare"], rtol=1e-5, atol=1e-3))
    # lumicare's own work per call, without the network: CARE.predict replaced by a stub that
    # returns the stored result (argument checks, normaliser set-up, dtype handling).
    stored = outputs["csbdeep"]
    model.predict = lambda *a, **k: stored
    try:
        n = 200
        t0 = time.perf_counter()
        for _ in range(n):
            care.predict(model, image, tiles=tiles)
        own = (time.perf_counter() - t0) / n
    finally:
        del model.predict  # the class's method again
    med = {k: float(np.median(v)) for k, v in runs.items()}
    best = {k: float(np.min(v)) for k, v in runs.items()}
    voxels = int(image.size)
    return {"network": label, "shape": "x".join(map(str, image.shape)), "tiles": _label(tiles),
            "repeats": repeats, "csbdeep_s": best["csbdeep"], "lumicare_s": best["lumicare"],
            "csbdeep_median_s": med["csbdeep"], "lumicare_median_s": med["lumicare"],
            "csbdeep_vox_s": voxels / best["csbdeep"], "lumicare_vox_s": voxels / best["lumicare"],
            "ratio": best["csbdeep"] / best["lumicare"], "ratio_median": med["csbdeep"] / med["lumicare"],
            "same_output": same, "lumicare_own_us": own * 1e6,
            "all_csbdeep_s": runs["csbdeep"], "all_lumicare_s": runs["lumicare"]}


# --------------------------------------------------------------------------
# Peak memory (child process)
# --------------------------------------------------------------------------

def _rss() -> int:
    import psutil
    return psutil.Process().memory_info().rss


def memory_child(preset_name: str, path: str, shape, tiles, model_dir: str | None) -> dict:
    """Runs in a fresh process: peak RSS of one prediction."""
    from csbdeep.data import PercentileNormalizer

    from lumicare_ij import care

    if model_dir:
        model = care.load_model(model_dir)
    else:
        model, _ = build_model(preset_name)
    image = test_image(shape, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Warm up TensorFlow on a small stack so that its one-off allocations are not counted.
        small = tuple(min(s, 32) for s in shape)
        care.predict(model, image[tuple(slice(0, s) for s in small)])
        before = _rss()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _rss())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        if path == "lumicare":
            out = care.predict(model, image, tiles=tiles)
        else:
            out = model.predict(image, "ZYX", normalizer=PercentileNormalizer(pmin=2.0, pmax=99.8, do_after=True),
                                n_tiles=tiles)
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    # ru_maxrss counts only if it rose during the call (before, it may hold the input's creation).
    peak_rss = max(peak[0], maxrss) if maxrss > maxrss_before else peak[0]
    return {"network": preset_name if not model_dir else model_dir, "path": path,
            "shape": "x".join(map(str, shape)), "tiles": _label(tiles), "seconds": seconds,
            "rss_before_mb": before / 2**20, "peak_rss_mb": peak_rss / 2**20,
            "peak_minus_before_mb": (peak_rss - before) / 2**20,
            "maxrss_grew_during_call": maxrss > maxrss_before,
            "input_mb": image.nbytes / 2**20, "output_mb": out.nbytes / 2**20}


def run_memory(preset_name, path, shape, tiles, model_dir) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", preset_name, path,
           "--memory-shape", ",".join(map(str, shape)), "--memory-tiles", ",".join(map(str, tiles or (1, 1, 1)))]
    if model_dir:
        cmd += ["--model-dir", model_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"memory child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


# --------------------------------------------------------------------------

def machine() -> str:
    import csbdeep
    import tensorflow as tf

    from lumicare_ij.hardware import describe

    return (f"{describe()}; tensorflow {tf.__version__}, csbdeep {csbdeep.__version__}; "
            f"GPU: {', '.join(d.name for d in tf.config.list_physical_devices('GPU')) or 'none'}")


# --------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="quick,h2b", help="networks to measure (default quick,h2b)")
    parser.add_argument("--model-dir", help="measure this trained model folder instead of fresh preset networks")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps per preset (default 3)")
    parser.add_argument("--paper-batch", default="8,16",
                        help="batch size(s) for the paper presets' training steps, comma-separated "
                             "(default 8,16; the paper used 128)")
    parser.add_argument("--shape", default="16,512,512", help="prediction stack Z,Y,X (default 16,512,512)")
    parser.add_argument("--tiles", default="2,2,2;none",
                        help="';'-separated tilings for the speed table (default '2,2,2;none')")
    parser.add_argument("--repeats", type=int, default=3, help="timed predictions per path (default 3)")
    parser.add_argument("--memory-shape", default="16,1024,1024")
    parser.add_argument("--memory-tiles", default="2,2,2")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: train,predict,memory")
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--memory-child", nargs=2, metavar=("PRESET", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    if args.memory_child:
        result = memory_child(args.memory_child[0], args.memory_child[1], _shape(args.memory_shape),
                              _tiles(args.memory_tiles), args.model_dir)
        print(json.dumps(result))
        return

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    names = [args.model_dir] if args.model_dir else [p.strip() for p in args.presets.split(",") if p.strip()]
    results = {"machine": machine(), "command": " ".join([os.path.relpath(__file__)] + sys.argv[1:])}
    print(f"machine: {results['machine']}\n")

    if "train" not in skip and not args.model_dir:
        rows = []
        for name in names:
            batches = [None] if name == "quick" else [int(b) for b in args.paper_batch.split(",")]
            for batch in batches:
                rows.append(time_training(name, batch, args.train_steps))
        results["training"] = rows
        print(f"Training, seconds per step (median of {args.train_steps} steps after one warm-up step)\n")
        print("| network | patch ZYX | U-Net first filters | loss | batch measured | s / step | "
              "training voxels / s | s / step at the preset's batch | preset's whole training, h |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            scaled = "" if r["batch"] == r["paper_batch"] else " (scaled linearly)"
            print(f"| {r['preset']} | {r['patch_zyx']} | {r['n_first']} | "
                  f"{'Laplace' if r['probabilistic'] else 'MAE'} | {r['batch']} | {r['s_per_step']:.3f} | "
                  f"{r['train_voxels_per_s']:,.0f} | {r['s_per_step_preset_batch']:.2f} at {r['paper_batch']}"
                  f"{scaled} | {r['full_run_h']:.2f} ({r['epochs']} x {r['steps_per_epoch']} steps) |")
        print()

    if "predict" not in skip:
        image = test_image(_shape(args.shape))
        tilings = [_tiles(t.strip()) for t in args.tiles.split(";") if t.strip()]
        rows = []
        for name in names:
            model, _ = load_or_build(args, name)
            for tiles in tilings:
                rows.append(time_prediction(model, name, image, tiles, args.repeats))
        results["prediction"] = rows
        print(f"Prediction of a {'x'.join(map(str, image.shape))} (ZYX) stack: fastest (and median) of "
              f"{args.repeats} runs per path, the two paths alternating\n")
        print("| network | tiles ZYX | csbdeep CARE.predict s | lumicare care.predict s | csbdeep voxels/s | "
              "lumicare voxels/s | ratio csbdeep s / lumicare s, fastest (median) | same output | "
              "lumicare's own µs per call |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['network']} | {r['tiles']} | {r['csbdeep_s']:.2f} ({r['csbdeep_median_s']:.2f}) | "
                  f"{r['lumicare_s']:.2f} ({r['lumicare_median_s']:.2f}) | "
                  f"{r['csbdeep_vox_s']:,.0f} | {r['lumicare_vox_s']:,.0f} | {r['ratio']:.3f} "
                  f"({r['ratio_median']:.3f}) | {'yes' if r['same_output'] else 'NO'} | "
                  f"{r['lumicare_own_us']:.1f} |")
        print()

    if "memory" not in skip:
        shape, tiles = _shape(args.memory_shape), _tiles(args.memory_tiles)
        rows = []
        for name in names:
            for path in ("lumicare", "csbdeep"):
                rows.append(run_memory(name, path, shape, tiles, args.model_dir))
        results["memory"] = rows
        print(f"Peak memory restoring a {_label(shape)} (ZYX) stack with {_label(tiles)} tiles, "
              "each in a fresh process\n")
        print("| network | path | seconds | RSS before MB | peak RSS MB | peak - before MB | input / output MB |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['network']} | {r['path']} | {r['seconds']:.1f} | {r['rss_before_mb']:.0f} | "
                  f"{r['peak_rss_mb']:.0f} | {r['peak_minus_before_mb']:.0f} | "
                  f"{r['input_mb']:.0f} / {r['output_mb']:.0f} |")
        print()

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
