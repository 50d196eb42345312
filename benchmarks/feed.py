"""Does csbdeep's data feeding keep training busy at the paper's batch of 128 patches of 16x64x64?

:func:`lumicare_ij.care.train` feeds csbdeep's ``DataWrapper`` (a shuffled
NumPy fancy-index per batch, no augmentation) to Keras' ``fit``, which wraps
a Python iterator in ``tf.data.Dataset.from_generator(...).prefetch(AUTOTUNE)``
(Keras 3's generator adapter): the next batch is assembled on another thread
while the current step computes. Feeding stalls training only if one batch
takes longer to assemble than one step takes to compute.

One run prints, for the machine it runs on:

1. ``DataWrapper`` alone: milliseconds to assemble one batch (median of
   ``--batches``) from ``--patches`` random float32 patch pairs;
2. the same batches through ``tf.data.Dataset.from_generator`` with
   ``prefetch(AUTOTUNE)``, as Keras builds it, and through the package's
   ``feed="tf.data"`` (:mod:`lumicare_ij.feed`: the same batches gathered
   in TensorFlow), each iterated without a model: the pipelines' own ceilings
   in batches/s, side by side;
3. one training step of the ``h2b`` network (csbdeep's loss,
   ``train_on_batch``, median of ``--steps`` after a warm-up) at
   ``--step-batch`` patches, scaled linearly to ``--batch`` (a CPU step costs
   about linearly in the batch; docs/benchmarks.md, "CARE training");

and the ratio feed / step: the share of a step that feeding would cost if
it were not overlapped, and the step time below which a faster device (a
GPU) would wait for data. Asserts nothing; table and command in
docs/benchmarks.md ("Training input pipeline")::

    python benchmarks/feed.py                       # docs/benchmarks.md
    python benchmarks/feed.py --patches 512 --steps 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from care_speed import build_model, step_seconds  # noqa: E402  (benchmarks/ is not a package)
from machine import describe  # noqa: E402  (it puts the checkout on sys.path)

PATCH_ZYX = (16, 64, 64)


def patch_pairs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, *PATCH_ZYX, 1), dtype=np.float32)
    return x, x + 0.1 * rng.standard_normal(x.shape, dtype=np.float32)


def feed_ms(x, y, batch: int, batches: int) -> float:
    """Median milliseconds for csbdeep's DataWrapper to hand out one batch."""
    from csbdeep.internals.train import DataWrapper

    data = iter(DataWrapper(x, y, batch, length=batches))
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        next(data)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def pipeline_batches_per_s(x, y, batch: int, batches: int, how: str) -> float:
    """Batches/s of a feed iterated without a model: ``keras`` (from_generator + prefetch) or ``tf.data``."""
    import tensorflow as tf
    from csbdeep.internals.train import DataWrapper

    from lumicare_ij import feed

    if how == "keras":  # what Keras 3's generator adapter builds from csbdeep's iterator
        spec = tf.TensorSpec((batch, *PATCH_ZYX, 1), tf.float32)
        dataset = tf.data.Dataset.from_generator(lambda: iter(DataWrapper(x, y, batch, length=batches + 1)),
                                                 output_signature=(spec, spec)).prefetch(tf.data.AUTOTUNE)
    else:
        dataset = feed.training_batches(x, y, batch, batches + 1, "tf.data")
    it = iter(dataset)
    next(it)  # start-up (thread, first batch) is not what a long run sees
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches / (time.perf_counter() - t0)


def step_s(step_batch: int, steps: int) -> float:
    """Median seconds of one h2b training step at ``step_batch`` patches."""
    from lumicare_ij import care

    model, _ = build_model("h2b", step_batch)
    with care._quiet():
        model.prepare_for_training()
    x, y = patch_pairs(step_batch, seed=1)
    _, times = step_seconds(model.keras_model, x, y, steps)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patches", type=int, default=2048, help="patch pairs held in memory [2048]")
    parser.add_argument("--batch", type=int, default=128, help="training batch, the paper's [128]")
    parser.add_argument("--batches", type=int, default=20, help="batches timed [20]")
    parser.add_argument("--step-batch", type=int, default=8, help="batch of the timed h2b step [8]")
    parser.add_argument("--steps", type=int, default=3, help="timed h2b steps [3]")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    x, y = patch_pairs(args.patches)
    feed = feed_ms(x, y, args.batch, args.batches)
    keras = pipeline_batches_per_s(x, y, args.batch, args.batches, "keras")
    ours = pipeline_batches_per_s(x, y, args.batch, args.batches, "tf.data")
    step = step_s(args.step_batch, args.steps) * args.batch / args.step_batch
    print(f"\n| batch | DataWrapper ms / batch | Keras from_generator, batches / s | feed=tf.data, batches / s "
          f"| tf.data vs Keras | h2b step s (measured at {args.step_batch}, scaled) | Keras feed / step |\n"
          f"|---|---|---|---|---|---|---|\n"
          f"| {args.batch} of {'x'.join(map(str, PATCH_ZYX))} | {feed:.1f} | {keras:.1f} | {ours:.1f} "
          f"| {ours / keras:.1f}x | {step:.1f} | {1 / keras / step:.2%} |")
    print(f"\nA device would wait for csbdeep's feed if it ran an h2b step of {args.batch} patches in under "
          f"{1e3 / keras:.0f} ms ({step * keras:.0f}x faster than this machine), for feed=tf.data in under "
          f"{1e3 / ours:.0f} ms.")

if __name__ == "__main__":
    main()
