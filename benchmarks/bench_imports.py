"""How long ``import`` takes for the parts an analyst uses without TensorFlow, and for the ones that load it.

Each import runs in a fresh interpreter (``python -c "import X"``), several
times; the table gives the median wall time and whether TensorFlow was
loaded. Run: ``python benchmarks/bench_imports.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from machine import describe

MODULES = ("lumicare_ij.io", "lumicare_ij.ijops", "lumicare_ij.analysis", "lumicare_ij.evaluation",
           "lumicare_ij.cli", "lumicare_ij.care", "tensorflow")


def time_import(module: str) -> tuple[float, bool]:
    probe = f"import {module}, sys; print('tensorflow' in sys.modules)"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout.strip().endswith("True")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per module (default 5)")
    args = parser.parse_args(argv)
    baseline = statistics.median(time_import("sys")[0] for _ in range(args.repeat))
    print(describe())
    print(f"empty interpreter start: {baseline:.2f} s (included below)\n")
    print("| import | median wall time (s) | loads TensorFlow |")
    print("|---|---|---|")
    for module in MODULES:
        runs = [time_import(module) for _ in range(args.repeat)]
        print(f"| `{module}` | {statistics.median(t for t, _ in runs):.2f} | {'yes' if runs[0][1] else 'no'} |")


if __name__ == "__main__":
    main()
