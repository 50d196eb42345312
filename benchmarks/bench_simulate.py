"""Time the simulator on one 512 x 512 x 16 stack pair, on one CPU core.

For each specimen: draw the specimen, image it through the PSF, record one
60 s and one 0.5 s luminescence acquisition (tomm20: the paper's 4 s and the
fluorescence ground truth instead of 60 s). Prints a table; no assertions.

    python benchmarks/bench_simulate.py [--repeats 3] [--shape 16,512,512]
"""

import os

# One core: keep BLAS/OpenMP pools (if any library uses them) to a single thread.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from lumicare_ij.simulate import SPECIMENS, acquire, make_specimen, optical_image  # noqa: E402

PAIRS = {"cytoplasmic": ("lum_60s", "lum_0.5s"), "h2b": ("lum_60s", "lum_0.5s"), "tomm20": ("fluo", "lum_4s")}


def time_pair(name, shape, seed):
    protocol = SPECIMENS[name]
    long_cond, short_cond = (protocol.condition(c) for c in PAIRS[name])
    t0 = time.perf_counter()
    specimen = make_specimen(name, shape, rng=seed)
    t1 = time.perf_counter()
    optical = {c: optical_image(specimen, protocol.condition(c).channel) for c in PAIRS[name]}
    t2 = time.perf_counter()
    acquire(optical[long_cond.name], long_cond, rng=seed + 1)
    t3 = time.perf_counter()
    acquire(optical[short_cond.name], short_cond, rng=seed + 2)
    t4 = time.perf_counter()
    return {"specimen": t1 - t0, "psf": t2 - t1, "long": t3 - t2, "short": t4 - t3, "total": t4 - t0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", default="16,512,512", help="Z,Y,X")
    args = parser.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    voxels = int(np.prod(shape))
    print(f"shape {shape} = {voxels:,} voxels; median of {args.repeats} runs; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    header = ("specimen", "pair", "specimen s", "psf s", "long acq s", "short acq s", "total s", "Mvoxel/s")
    rows = []
    for name in PAIRS:
        runs = [time_pair(name, shape, seed) for seed in range(args.repeats)]
        med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
        rows.append((name, " + ".join(PAIRS[name]), f"{med['specimen']:.2f}", f"{med['psf']:.2f}",
                     f"{med['long']:.2f}", f"{med['short']:.2f}", f"{med['total']:.2f}",
                     f"{voxels / med['total'] / 1e6:.1f}"))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
