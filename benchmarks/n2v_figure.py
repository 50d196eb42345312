"""The held-out stack's middle plane: raw 0.5 s, N2V, N2V2, supervised denoise, 60 s (for docs/results.md).

Reads what ``benchmarks/regimes.py --regimes denoise,n2v,n2v2 --out DIR`` left in DIR:

    python benchmarks/n2v_figure.py --regimes-out DIR --out docs/images/n2v_compare.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lumicare_ij import io

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regimes-out", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    root = args.regimes_out
    test = root / "data" / "cytoplasmic" / "test"
    name = sorted((test / "lum_0.5s").glob("*.tif"))[0].name
    panels = {"raw 0.5 s": test / "lum_0.5s", "n2v (0.5 s alone)": root / "n2v" / "restored",
              "n2v2 (0.5 s alone)": root / "n2v2" / "restored", "denoise (60 s as target)": root / "denoise" / "restored",
              "60 s": test / "lum_60s"}
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.4))
    for ax, (title, folder) in zip(axes, panels.items()):
        stack = io.read_array(folder / name)
        plane = stack[stack.shape[0] // 2][32:96, 32:96]  # the middle plane, central 64 x 64 px
        ax.imshow(plane, cmap="gray", vmin=np.percentile(plane, 1), vmax=np.percentile(plane, 99.8),
                  interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"{name}, middle plane, central 64 x 64 px; each panel scaled to its 1-99.8 percentiles")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=70)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
