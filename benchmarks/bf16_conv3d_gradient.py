"""Where TensorFlow's bfloat16 Conv3D kernel gradient goes wrong on this machine.

For inputs of depth extent Z (batch N, 8x8 in-plane, 16 channels in and out)
and kernels of size K, computes the gradient of a Conv3D ('same' padding)
with respect to its kernel in bfloat16, R times, and counts the calls whose
gradient is not within 5 % of the float32 one (of its largest value) or is
not finite. On TensorFlow 2.21 with oneDNN on an AVX512-BF16 CPU every call
with 1 < Z < K and N > 1 was wrong (and with N = 1 for K = 5, Z = 3); this is why
:func:`lumicare_ij.precision.float32_thin_levels` trains such U-Net levels in
float32. Asserts nothing; the table and the command are in docs/benchmarks.md
("Precision")::

    python benchmarks/bf16_conv3d_gradient.py --repeats 30
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import describe  # noqa: E402  (it puts the checkout on sys.path)


def wrong_calls(tf, depth_z: int, batch: int, kern: int, repeats: int, rng) -> int:
    """How many of ``repeats`` bfloat16 kernel gradients differ from float32's by more than 5 % of its maximum."""
    shape = (batch, depth_z, 8, 8, 16)
    x = tf.constant(rng.normal(size=shape).astype(np.float32))
    kernel = tf.Variable(0.1 * rng.normal(size=(kern,) * 3 + (16, 16)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=shape).astype(np.float32))

    def gradient(dtype):
        with tf.GradientTape() as tape:
            y = tf.nn.conv3d(tf.cast(x, dtype), tf.cast(kernel, dtype), [1] * 5, "SAME")
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
        return tape.gradient(loss, kernel).numpy()

    reference = gradient(tf.float32)
    tolerance = 0.05 * np.abs(reference).max()
    return sum(not (np.isfinite(g).all() and np.abs(g - reference).max() <= tolerance)
               for g in (gradient(tf.bfloat16) for _ in range(repeats)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="gradients per cell of the table")
    args = parser.parse_args(argv)
    import tensorflow as tf

    rng = np.random.default_rng(0)
    print(describe())
    print(f"TensorFlow {tf.__version__}; wrong bfloat16 kernel gradients of {args.repeats} calls")
    print("| kernel | depth Z | batch 1 | batch 2 | batch 4 |")
    print("|---|---|---|---|---|")
    for kern in (3, 5):
        for depth_z in range(1, kern + 2):
            counts = [wrong_calls(tf, depth_z, batch, kern, args.repeats, rng) for batch in (1, 2, 4)]
            print(f"| {kern} | {depth_z} | " + " | ".join(map(str, counts)) + " |", flush=True)


if __name__ == "__main__":
    main()
