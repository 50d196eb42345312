"""What this machine computes with: CPU model and vector features, GPUs.

One place that reads them, for ``precision="auto"`` (which precision runs
natively) and for every benchmark's first line (the machines this package is
measured on differ: AMD EPYC with AVX2, Intel Xeon with AVX-512 and AMX have
both appeared, and a speed ratio means little without them).
"""

from __future__ import annotations

import os
import platform

__all__ = ["FEATURES", "cpu_model_and_flags", "gpus", "describe"]

#: CPU flags (as /proc/cpuinfo names them) that decide how fast NumPy and TensorFlow run.
FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name and its flags (empty where the system does not say, e.g. not Linux)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:  # not Linux: the model as platform knows it, features unknown
        pass
    return model, flags


def physical_memory_bytes() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def gpus() -> list[dict]:
    """TensorFlow's GPUs: ``[{"name": ..., "compute_capability": (8, 0)}]`` (empty on a CPU-only machine).

    Imports TensorFlow; call it only where TensorFlow is needed anyway.
    """
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        found.append({"name": details.get("device_name", device.name),
                      "compute_capability": tuple(details.get("compute_capability") or (0, 0))})
    return found


def describe() -> str:
    """``"AMD EPYC, 2 cores, features avx2 fma (no avx512f ...), load 0.4; Python 3.11.7"``."""
    model, flags = cpu_model_and_flags()
    have = [f for f in FEATURES if f in flags]
    lacking = [f for f in FEATURES if f not in flags]
    features = (f"features {' '.join(have) or 'none of ' + ' '.join(FEATURES)}"
                + (f" (no {' '.join(lacking)})" if have and lacking else "")) if flags else "features unknown"
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{model}, {os.cpu_count()} cores, {features}{load}; Python {platform.python_version()}"
