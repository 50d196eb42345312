"""Time lumicare_ij.care.predict against csbdeep's CARE.predict on the same model and stack.

Prints a table; asserts nothing. Usage:

    python benchmarks/care_predict_overhead.py MODEL_DIR [Z,Y,X] [repeats]

MODEL_DIR is any model from 'lumicare train' (e.g. the quick preset).
"""

import sys
import time

import numpy as np


def main():
    from csbdeep.data import PercentileNormalizer

    from lumicare_ij import care

    model_dir = sys.argv[1]
    shape = tuple(int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "32,128,128").split(","))
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    model = care.load_model(model_dir)
    image = np.random.default_rng(0).poisson(5.0, shape).astype(np.uint16)

    def csbdeep_direct(tiles):
        return model.predict(image, "ZYX", normalizer=PercentileNormalizer(2, 99.8), n_tiles=tiles)

    def lumicare(tiles):
        return care.predict(model, image, tiles=tiles)

    print(f"stack {shape}, {repeats} repeats, median seconds")
    print(f"{'tiles':>10}  {'csbdeep':>8}  {'lumicare':>8}  {'ratio':>6}")
    for tiles in (None, (2, 2, 2)):
        times = {}
        for name, fn in (("csbdeep", csbdeep_direct), ("lumicare", lumicare)):
            fn(tiles)  # warm-up (graph tracing)
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn(tiles)
                runs.append(time.perf_counter() - t0)
            times[name] = float(np.median(runs))
        label = "x".join(map(str, tiles)) if tiles else "none"
        print(f"{label:>10}  {times['csbdeep']:8.3f}  {times['lumicare']:8.3f}  "
              f"{times['lumicare'] / times['csbdeep']:6.2f}")


if __name__ == "__main__":
    main()
