"""Time every ijops operation in both engines on a 1024x1024x16 uint16 stack.

Prints a Markdown table: seconds per call for the NumPy engine and the real
ImageJ 1.53t (Java time includes copying in and out), and their ratio
numpy/imagej measured in the same run (< 1 means NumPy is faster). Then the
per-image paper analysis (mask MAE of one pair, Figure 1) with the NumPy
engine. Run on one core for the README's numbers:

    taskset -c 0 python3 benchmarks/bench_ijops.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from lumicare_ij import analysis, ijops
from lumicare_ij.simulate import simulate_dataset


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_inputs(shape_zyx, seed=0):
    rng = np.random.default_rng(seed)
    from scipy import ndimage as ndi

    field = ndi.gaussian_filter(rng.standard_normal(shape_zyx[1:]), 8)
    stack = np.stack([np.clip(3000 + 20000 * field + rng.normal(0, 300, field.shape), 0, 65535)
                      for _ in range(shape_zyx[0])]).astype(np.uint16)
    plane = stack[shape_zyx[0] // 2]
    mask = ijops.threshold_mask(plane, "Mean")
    return stack, plane, mask


def operations(stack, plane, mask):
    f32 = stack.astype(np.float32)
    return {
        "bin 4x4 average (stack)": lambda e: ijops.bin(stack, 4, engine=e),
        "upsample_nearest x4 (stack)": lambda e: ijops.upsample_nearest(stack[:, ::4, ::4], stack.shape, engine=e),
        "convert_to_16bit (float stack)": lambda e: ijops.convert_to_16bit(f32, engine=e),
        "auto_threshold Mean (plane)": lambda e: ijops.auto_threshold(plane, "Mean", engine=e),
        "auto_threshold Triangle (plane)": lambda e: ijops.auto_threshold(plane, "Triangle", engine=e),
        "threshold_mask Mean (stack)": lambda e: ijops.threshold_mask(stack, "Mean", engine=e),
        "particle_mask >=100 px (plane)": lambda e: ijops.particle_mask(mask, 100, engine=e),
        "measure_particles (plane)": lambda e: ijops.measure_particles(mask, 20, engine=e),
        "subtract_background r=5 (stack)": lambda e: ijops.subtract_background(stack, 5, engine=e),
        "max_project (stack)": lambda e: ijops.max_project(stack, engine=e),
        "mask_mae (plane)": lambda e: ijops.mask_mae(mask, mask[::-1], engine=e),
        "masked_pearson (stack)": lambda e: ijops.masked_pearson(stack, stack[::-1], stack > 3000, engine=e),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="16,1024,1024", help="Z,Y,X of the benchmark stack")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    stack, plane, mask = make_inputs(shape)
    with threadpool_limits(1):
        ops = operations(stack, plane, mask)
        for fn in ops.values():  # warm-up: JVM start, class loading, JIT
            fn("imagej")
            fn("numpy")
        print(f"ijops on a {'x'.join(map(str, shape))} uint16 stack, best of {args.repeats}\n")
        print("| operation | numpy s | imagej s | numpy/imagej |")
        print("|---|---:|---:|---:|")
        for name, fn in ops.items():
            t_np = best_of(lambda: fn("numpy"), args.repeats)
            t_ij = best_of(lambda: fn("imagej"), args.repeats)
            print(f"| {name} | {t_np:.4f} | {t_ij:.4f} | {t_np / t_ij:.2f} |")

        import tempfile
        from pathlib import Path

        from lumicare_ij import io

        with tempfile.TemporaryDirectory() as tmp:
            simulate_dataset("cytoplasmic", tmp, n_stacks=1, shape_zyx=(16, 1024, 1024), seed=1, progress=False)
            ref = io.read_array(next(Path(tmp, "lum_60s").glob("*.tif")))
            test = io.read_array(next(Path(tmp, "lum_0.5s").glob("*.tif")))
        for engine in ("numpy", "imagej"):
            t = best_of(lambda: analysis.mask_mae_between(ref, test, engine=engine), args.repeats)
            print(f"\nPaper analysis, mask MAE of one 1024x1024x16 pair (Figure 1), {engine}: {t:.3f} s")


if __name__ == "__main__":
    main()
