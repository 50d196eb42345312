"""Which layers of a trained model bfloat16 prediction must keep in float32.

For a trained CARE model and its held-out inputs, restores every input in
float32 and in bfloat16 with three choices of float32 layers:

- ``heads``: only the output heads (1x1 convolutions, residual sum, scale),
  Keras' mixed-precision recipe;
- ``heads+last``: also the U-Net body's last convolution (what
  :func:`lumicare_ij.precision.float32_heads` does);
- ``heads+level0``: also the whole full-resolution decoder level.

and prints per input the PSNR and largest difference against float32 and,
with ``--reference``, the mask MAE (Figure 1 readout) of each, plus the share
of the network's arithmetic that stays float32 (convolution multiply-adds
counted from the layers' kernels and output sizes). ``--per-slice`` adds,
for the package's choice (``heads+last``), each slice's fraction of pixels
where the bfloat16 and float32 cell masks differ, next to the float32 mask's
own error against the reference. Asserts nothing; the tables and the
commands are in docs/benchmarks.md ("Precision")::

    python benchmarks/precision_heads.py --model MODEL_DIR --inputs HELD_OUT_DIR --reference REFERENCE_DIR --per-slice
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import describe  # noqa: E402  (it puts the checkout on sys.path)

from lumicare_ij import analysis, care, precision  # noqa: E402
from lumicare_ij import io as lio  # noqa: E402

#: Layer-name prefixes kept in float32 besides the heads, per variant.
VARIANTS = {"heads": (), "heads+last": ("up_level_0_no_2",), "heads+level0": ("up_level_0",)}


def conv_macs(keras_model, probe_zyx=(16, 64, 64)) -> dict:
    """Multiply-adds of each convolution on a ``probe_zyx`` input, by layer name (their ratios are what counts)."""
    import keras

    convs = [layer for layer in keras_model.layers if getattr(layer, "kernel", None) is not None]
    probe = keras.Model(keras_model.inputs, [layer.output for layer in convs])
    n_channels = keras_model.inputs[0].shape[-1]
    outputs = probe.predict(np.zeros((1, *probe_zyx, n_channels), np.float32), verbose=0)
    return {layer.name: int(np.prod(layer.kernel.shape)) * int(np.prod(out.shape[1:-1]))
            for layer, out in zip(convs, outputs)}


def set_variant(keras_model, prefixes) -> float:
    """Put the body layers named by ``prefixes`` in float32 (others bfloat16); returns the float32 share of MACs."""
    macs = conv_macs(keras_model)
    heads = set(precision.float32_heads(keras_model)[1:])  # the layers after the body
    for layer in keras_model.layers:
        if layer.name in heads:
            continue
        layer.dtype_policy = "float32" if layer.name.startswith(prefixes) else "mixed_bfloat16"
    keras_model.predict_function = None  # retrace with the new policies
    kept = sum(n for name, n in macs.items() if name in heads or name.startswith(prefixes))
    return kept / sum(macs.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="trained CARE model folder")
    parser.add_argument("--inputs", type=Path, required=True, help="folder of held-out input .tif stacks")
    parser.add_argument("--reference", type=Path, help="folder of reference stacks (same names) for mask MAE")
    parser.add_argument("--noise-draws", type=int, default=4,
                        help="float32 restorations plus Gaussian noise of 0.01 %% and 0.1 %% of the range, "
                             "for how much any perturbation moves mask MAE (needs --reference) [4]")
    parser.add_argument("--per-slice", action="store_true", help="per-slice mask agreement (needs --reference)")
    args = parser.parse_args(argv)
    print(describe())
    names = sorted(p.name for p in args.inputs.glob("*.tif"))
    inputs = {n: lio.read_array(args.inputs / n) for n in names}
    full = care.load_model(args.model, "float32")
    f32 = {n: np.asarray(care.predict(full, x)) for n, x in inputs.items()}
    half, slices = care.load_model(args.model, "bfloat16"), {}
    print("\n| float32 layers | float32 share of MACs | stack | PSNR vs float32 (dB) | max diff / range "
          "| mask MAE bf16 | mask MAE f32 |\n|---|---|---|---|---|---|---|")
    for variant, prefixes in VARIANTS.items():
        share = set_variant(half.keras_model, prefixes)
        for n, x in inputs.items():
            restored = np.asarray(care.predict(half, x))
            diff = precision.difference_from_float32(restored, f32[n])
            mae = ("-", "-")
            if args.reference:
                ref = lio.read_array(args.reference / n)
                mae = tuple(f"{float(analysis.mask_mae_between(ref, y)):.3f}" for y in (restored, f32[n]))
            print(f"| {variant} | {share:.0%} | {n} | {diff['psnr_db']:.1f} | {diff['max_diff_over_range']:.4f} "
                  f"| {mae[0]} | {mae[1]} |", flush=True)
            if variant == "heads+last" and args.per_slice and args.reference:
                slices[n] = per_slice(lio.read_array(args.reference / n), restored, f32[n])
    if args.reference and args.noise_draws:
        print(noise_rows(args.reference, f32, args.noise_draws))
    for n, text in slices.items():
        print(f"\n{n}, heads+last, per slice:\n{text}")


def noise_rows(reference_dir, f32: dict, draws: int) -> str:
    """Mask MAE of float32 restorations plus seeded Gaussian noise: the readout's own sensitivity."""
    rng = np.random.default_rng(0)
    lines = ["\n| stack | noise (of range) | mask MAE, float32 + noise (each draw) | mask MAE float32 |", "|---|---|---|---|"]
    for n, full in f32.items():
        ref = lio.read_array(reference_dir / n)
        sigma_range = float(full.max() - full.min())
        for rel in (1e-4, 1e-3):
            maes = [float(analysis.mask_mae_between(ref, full + rng.normal(0, rel * sigma_range, full.shape)))
                    for _ in range(draws)]
            lines.append(f"| {n} | {rel:.2%} | {', '.join(f'{m:.2f}' for m in maes)} "
                         f"| {float(analysis.mask_mae_between(ref, full)):.2f} |")
    return "\n".join(lines)


def per_slice(reference, half, full) -> str:
    """A table: per slice, the float32 mask's error against the reference and the bf16/float32 disagreement."""
    ref_mask, half_mask, full_mask = (analysis.cell_mask(image) > 0 for image in (reference, half, full))
    lines = ["| slice | reference foreground | float32 mask error | bfloat16 mask error | bf16 vs f32 differ |",
             "|---|---|---|---|---|"]
    for z in range(ref_mask.shape[0]):
        lines.append(f"| {z} | {ref_mask[z].mean():.1%} | {(full_mask[z] ^ ref_mask[z]).mean():.2%} "
                     f"| {(half_mask[z] ^ ref_mask[z]).mean():.2%} | {(half_mask[z] ^ full_mask[z]).mean():.2%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
