"""Numeric precision of CARE training and prediction: float32, bfloat16, float16, or auto.

float32 is the default and what csbdeep does. bfloat16 and float16 run the
network under Keras' mixed-precision policies (``mixed_bfloat16``,
``mixed_float16``): layers compute in 16 bits, weights and optimizer state
stay float32. As Keras' mixed-precision guide prescribes, the output heads
(the final 1x1 convolutions, the residual sum, the scale of a probabilistic
model) compute in float32, and so does the U-Net's last convolution (see
:func:`float32_heads`), so csbdeep's losses see a float32 prediction and
a model's restoration is float32 whatever it computed inside. Weights saved
from a mixed-precision run are float32: the same ``.h5`` files, the same
exports (TF Java 1.15 in Fiji runs float32 graphs).

``auto`` picks what the hardware runs natively (:func:`native_precision`):
bfloat16 on CPUs with AMX or AVX512-BF16 and on GPUs of compute capability
8.0 or newer, float16 (with Keras' loss scaling) on GPUs of 7.x, float32
otherwise. On a CPU without them 16-bit arithmetic is emulated and slower
than float32, so ``auto`` keeps float32 there.
"""

from __future__ import annotations

import contextlib
import re

from .errors import UserInputError

__all__ = ["PRECISIONS", "PRECISION_CHOICES", "native_precision", "resolve", "dtype_policy",
           "float32_heads", "float32_thin_levels", "model_precision", "difference_from_float32"]

#: Precisions a network can run in; the Keras dtype policy of each.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
PRECISIONS = tuple(POLICIES)
PRECISION_CHOICES = PRECISIONS + ("auto",)
#: CPU flags (/proc/cpuinfo names) with native bfloat16 arithmetic.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: Layer-name prefixes of csbdeep's U-Net body (csbdeep.internals.blocks.unet_block).
_UNET_PREFIXES = ("down_level_", "middle_", "up_level_")
#: U-Net level of a body layer's name: down_level_<l>_no_<i>, up_level_<l>_no_<i>; middle_<i> is the deepest.
_LEVEL_NAME = re.compile(r"(?:down|up)_level_(\d+)_no_\d+$")


def native_precision(cpu_flags=None, gpu_list=None) -> tuple[str, str]:
    """The fastest precision this hardware runs natively, and why.

    Parameters
    ----------
    cpu_flags : set of str, optional
        CPU flags; default: this machine's (:func:`lumicare_ij.hardware.cpu_model_and_flags`).
    gpu_list : list of dict, optional
        GPUs with ``name`` and ``compute_capability``; default: TensorFlow's
        (:func:`lumicare_ij.hardware.gpus`, imports TensorFlow).

    Returns
    -------
    precision : str
        "bfloat16", "float16" or "float32".
    reason : str
        One sentence for the user, e.g. "this CPU has amx_bf16".
    """
    from . import hardware

    if gpu_list is None:
        gpu_list = hardware.gpus()
    if gpu_list:
        gpu = gpu_list[0]
        major, minor = gpu["compute_capability"][:2]
        where = f"GPU {gpu['name']} (compute capability {major}.{minor})"
        if major >= 8:
            return "bfloat16", f"{where} computes bfloat16 natively"
        if major == 7:
            return "float16", f"{where} has float16 tensor cores but no bfloat16 (loss scaling on)"
        return "float32", f"{where} has no fast 16-bit arithmetic"
    if cpu_flags is None:
        cpu_flags = hardware.cpu_model_and_flags()[1]
    native = [f for f in CPU_BF16_FLAGS if f in cpu_flags]
    if native:
        return "bfloat16", f"this CPU has {' and '.join(native)}"
    return "float32", (f"this CPU has neither {' nor '.join(CPU_BF16_FLAGS)}: 16-bit arithmetic would be "
                       "emulated, slower than float32")


def resolve(requested: str | None, cpu_flags=None, gpu_list=None) -> dict:
    """Check a requested precision and say what will be used.

    Returns
    -------
    dict
        ``requested``, ``used`` (one of :data:`PRECISIONS`) and ``reason``
        (why ``auto`` chose it, or a warning that an explicit 16-bit choice is
        emulated on this hardware; None for plain float32). Stored in model
        records and restorations' provenance.

    Raises
    ------
    UserInputError
        Not one of :data:`PRECISION_CHOICES`, or float16 without a GPU.
    """
    requested = "float32" if requested is None else str(requested)
    if requested not in PRECISION_CHOICES:
        raise UserInputError(f"unknown precision {requested!r}; choose from {', '.join(PRECISION_CHOICES)}")
    if requested == "float32":
        return {"requested": requested, "used": "float32", "reason": None}
    from . import hardware

    if gpu_list is None:
        gpu_list = hardware.gpus()
    if requested == "float16" and not gpu_list:
        raise UserInputError("float16 runs only on a GPU (TensorFlow's CPU kernels have no float16 3D "
                             "pooling); on this machine use bfloat16 or float32")
    native, why = native_precision(cpu_flags, gpu_list)
    if requested == "auto":
        return {"requested": requested, "used": native, "reason": why}
    reason = None if native == requested else f"{requested} is not native here ({why})"
    return {"requested": requested, "used": requested, "reason": reason}


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Build Keras layers under ``precision``'s policy inside the block; the previous policy after it."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_heads(keras_model) -> list[str]:
    """Make the last layer of csbdeep's U-Net body and all after it compute in float32; returns their names.

    The layers after the body are the output heads (1x1 convolutions, the
    residual sum, the scale). The body's last convolution is kept too: its
    output is what the heads sum, and rounding it to bfloat16 alone cost
    about 9 dB of PSNR against float32 on a trained h2b model (48 -> 57 dB;
    ``benchmarks/precision_heads.py``, docs/benchmarks.md "Precision"), for
    about a sixth of the network's arithmetic. A no-op (apart from the names) for
    a float32 model.

    Raises
    ------
    ValueError
        The model is not csbdeep's U-Net (no layer named like its body).
    """
    names = [layer.name for layer in keras_model.layers]
    body = [i for i, name in enumerate(names) if name.startswith(_UNET_PREFIXES)]
    if not body:
        raise ValueError("not a csbdeep U-Net: no layers named " + ", ".join(p + "*" for p in _UNET_PREFIXES))
    kept = keras_model.layers[max(body):]
    for layer in kept:
        layer.dtype_policy = "float32"
    return [layer.name for layer in kept]


def float32_thin_levels(keras_model, patch_depth: int, kern_size: int, pool: int = 2) -> list[str]:
    """Train in float32 the U-Net levels whose patches are too thin for a correct bfloat16 kernel gradient.

    TensorFlow 2.21's oneDNN gradient of a bfloat16 Conv3D with respect to
    its kernel is wrong (values up to 1e38, or NaN) when the input's depth
    extent lies strictly between 1 and the kernel size: on every call with
    more than one patch in a batch, and for some sizes with one; float32,
    the forward pass and the gradient of the input are right (measured on
    an AVX512-BF16 CPU, ``benchmarks/bf16_conv3d_gradient.py``). In csbdeep's U-Net the depth
    extent at level ``l`` is ``patch_depth // pool**l``, so 8-plane patches
    meet it at the deepest level of a depth-2 network. Those levels' layers
    compute in float32; they are the smallest tensors, so it costs little.

    Returns
    -------
    list of str
        Names of the layers switched to float32 (empty when none is thin).
    """
    depth = 1 + max((int(m.group(1)) for m in map(_LEVEL_NAME.match, (lay.name for lay in keras_model.layers))
                     if m), default=-1)
    thin = {level for level in range(depth + 1) if 1 < patch_depth // pool ** level < kern_size}
    kept = []
    for layer in keras_model.layers:
        match = _LEVEL_NAME.match(layer.name)
        level = int(match.group(1)) if match else depth if layer.name.startswith("middle_") else None
        if level in thin:
            layer.dtype_policy = "float32"
            kept.append(layer.name)
    return kept


def model_precision(keras_model) -> str:
    """The precision a built Keras model computes in (by its dtype policy)."""
    name = keras_model.dtype_policy.name
    for precision, policy in POLICIES.items():
        if policy == name:
            return precision
    raise ValueError(f"unknown dtype policy {name!r}")


def difference_from_float32(test, reference) -> dict:
    """How far a reduced-precision restoration is from the float32 one of the same model.

    Returns
    -------
    dict
        ``max_diff_over_range`` (largest |test - reference| over the
        reference's range) and ``psnr_db`` (PSNR with that range; inf when equal).
    """
    import numpy as np

    reference = np.asarray(reference, np.float64)
    data_range = float(reference.max() - reference.min()) or 1.0
    err = np.asarray(test, np.float64) - reference
    mse = float(np.mean(err ** 2))
    return {"max_diff_over_range": float(np.abs(err).max()) / data_range,
            "psnr_db": float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))}
