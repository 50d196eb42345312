"""Peak resident memory of one process predicting one (Z, Y, X) block with a preset's network.

Backs :data:`lumicare_ij.blocks.BYTES_PER_VOXEL_PER_FILTER` and
:data:`~lumicare_ij.blocks.PROCESS_BYTES`, from which ``lumicare predict``
sizes the blocks of a volume to its workers' memory. Each block runs in a
fresh process (peak RSS only grows); the table and the command are in
docs/facility-scale.md::

    python benchmarks/block_memory.py --preset quick --blocks 16x304x304,16x560x560
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import describe  # noqa: E402  (it puts the checkout on sys.path)


def _peak_rss_bytes() -> int:
    """This process's peak resident memory since it started this program.

    Linux's VmHWM, not ``getrusage``'s ru_maxrss: the latter keeps the peak
    of the process image before ``exec`` (a child of a 2.5 GB pytest process
    reported 2.5 GB before loading anything).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(preset: str, shape_zyx) -> dict:
    """In this process: peak RSS after loading the network, and after predicting one block of ``shape_zyx``."""
    import numpy as np
    from csbdeep.models import Config

    from lumicare_ij import care
    from lumicare_ij.presets import care_config_kwargs, get_preset

    config = Config("ZYX", n_channel_in=1, n_channel_out=1, **care_config_kwargs(get_preset(preset)))
    model = care._build_care(config, None)
    model.keras_model.predict(np.zeros((1, 16, 32, 32, 1), np.float32), verbose=0)
    loaded = _peak_rss_bytes()
    block = np.random.default_rng(0).random(shape_zyx).astype(np.float32)
    model.predict(block, "ZYX", normalizer=None)
    peak = _peak_rss_bytes()
    voxels = int(np.prod(shape_zyx))
    return {"preset": preset, "block": list(shape_zyx), "unet_n_first": config.unet_n_first,
            "loaded_bytes": loaded, "peak_bytes": peak,
            "bytes_per_voxel_per_filter": (peak - loaded) / voxels / config.unet_n_first}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--blocks", default="16x304x304,16x560x560", help="blocks with their halo, ZxYxX,...")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one block, print JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.preset, tuple(int(s) for s in args.one.split("x")))))
        return
    print(describe())
    print("| preset | block with halo | after loading (GiB) | peak (GiB) | bytes / voxel / first-level filter |")
    print("|---|---|---|---|---|")
    for block in args.blocks.split(","):
        out = subprocess.run([sys.executable, __file__, "--preset", args.preset, "--one", block], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {r['preset']} | {block} | {r['loaded_bytes'] / 2**30:.2f} | {r['peak_bytes'] / 2**30:.2f} | "
              f"{r['bytes_per_voxel_per_filter']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
