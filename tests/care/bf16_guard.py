"""The accuracy guard of bfloat16 prediction, shared by the slow restoration tests.

A bfloat16 restoration of held-out stacks, against the float32 restoration
of the same model, must have PSNR >= :data:`MIN_PSNR_DB` on every stack and
the paper's readouts within :data:`MAX_READOUT_CHANGE` of the float32 values
(issue "Throughput past the float32 roofline"). On a CPU without native
bfloat16 the arithmetic is emulated but rounds the same way, so the guard
is tested here too.

Readouts named in ``no_worse`` are held to one side only: bfloat16 may not
be more than 1 % *worse* than float32. That is for mask MAE on stacks whose
top and bottom slices hold no cells: there the Mean threshold segments
noise, and any perturbation of the restoration (bfloat16, or float32 plus
Gaussian noise of 0.01 % of its range) moves the stack's mask MAE by
per cents either way, while in the slices with cells the two masks differ on
under 0.5 % of pixels (docs/benchmarks.md, "Precision";
``benchmarks/precision_heads.py --per-slice`` prints it per slice).
"""

from pathlib import Path

from lumicare_ij import care, evaluation, precision
from lumicare_ij import io as lio

MIN_PSNR_DB = 50.0
MAX_READOUT_CHANGE = 0.01  # relative
#: The readouts' numbers that are compared (the objects counts are integers: one object is more than 1 %).
READOUT_KEYS = {"mask_mae": ("mask_mae",), "nuclear_pearson": ("nuclear_pearson",),
                "mito_morphology": ("mean_circularity", "mean_aspect_ratio")}


def _readout_failure(key: str, full: float, half: float, one_sided: bool) -> str | None:
    change = (half - full) / abs(full)
    if one_sided:
        worse = -change if evaluation.HIGHER_IS_BETTER[key] else change
        if worse > MAX_READOUT_CHANGE:
            return f"{key}: float32 {full:.4g}, bfloat16 {half:.4g} (worse by more than {MAX_READOUT_CHANGE:.0%})"
    elif abs(change) > MAX_READOUT_CHANGE:
        return f"{key}: float32 {full:.4g}, bfloat16 {half:.4g} (more than {MAX_READOUT_CHANGE:.0%} apart)"
    return None


def check_bfloat16_matches_float32(model_dir, inputs, float32_dir, references, out_dir,
                                   no_worse=("mask_mae",)) -> dict:
    """Restore ``inputs`` in bfloat16 into ``out_dir`` and assert the guard; returns what was measured.

    ``references``: ``[(reference_dir, readouts), ...]``, the readouts compared against each reference.
    ``no_worse``: readout keys checked on one side only (module docstring).
    """
    float32_dir, out_dir = Path(float32_dir), Path(out_dir)
    care.restore_files(model_dir, inputs, out_dir, precision="bfloat16", progress=False)
    measured, failures = {"psnr_db": {}}, []
    for f32 in sorted(float32_dir.glob("*.tif")):
        if f32.stem.endswith("_scale"):
            continue
        diff = precision.difference_from_float32(lio.read_array(out_dir / f32.name), lio.read_array(f32))
        measured["psnr_db"][f32.stem] = diff["psnr_db"]
        if diff["psnr_db"] < MIN_PSNR_DB:
            failures.append(f"{f32.name}: bfloat16 vs float32 PSNR {diff['psnr_db']:.1f} dB")
    for reference_dir, readouts in references:
        if not readouts:
            continue
        rows = evaluation.evaluate_folders(reference_dir, {"float32": float32_dir, "bfloat16": out_dir},
                                           tuple(readouts), progress=False)
        summary = {s["kind"]: s for s in evaluation.summarize(rows)}
        for key in (k for readout in readouts for k in READOUT_KEYS[readout]):
            full, half = summary["float32"][key], summary["bfloat16"][key]
            measured[key] = (full, half)
            failures.append(_readout_failure(key, full, half, key in no_worse))
    failures = [f for f in failures if f]
    print("bfloat16 guard measured:", measured)
    assert not failures, "; ".join(failures) + f" (measured: {measured})"
    return measured
