"""Each training regime must really restore simulated held-out stacks.

``benchmarks/regimes.py`` at a CI-sized scale: the paper's specimens are
simulated (training and held-out stacks from different seeds), a ``quick``
network is trained for 160 seeded steps per regime, and the held-out
restorations must beat the raw inputs clearly on PSNR and on the paper's
readout (mask MAE for the cytoplasmic regimes, nuclear Pearson for the
fluorescence one). A broken pairing, binning, normalisation, training or
prediction step leaves the restoration no better than the input, and these
tests fail. docs/results.md has the full-scale numbers. The same held-out
stacks restored in bfloat16 must match the float32 restorations
(:mod:`tests.care.bf16_guard`: PSNR >= 50 dB, readouts within 1 %).
"""

import pytest

from ..benchmark_modules import load_benchmark
from .bf16_guard import check_bfloat16_matches_float32

# CI scale: 2 training stacks and 1 held-out stack of 16x128x128 per specimen; 160 training steps
# of the quick network per regime, seeded (225 s wall, 131 CPU-s for all four on 2 shared CPU cores).
SCALE = {"n_train": 2, "n_test": 1, "shape_zyx": (16, 128, 128), "seed": 0, "test_seed": 1000,
         "train_seed": 0, "n_patches_per_image": 16, "train_epochs": 4, "train_steps_per_epoch": 40}

# Required margins, restored vs raw input; docs/results.md has the values measured at this scale.
MIN_PSNR_GAIN_DB = 3.0
PSNR_REFERENCE = {"denoise": "lum_60s", "upsample": "lum_60s", "n2n": "lum_60s",
                  # against fluo even the noise-free luminescence gains only ~2.5 dB over the raw input
                  # (reporter expression differs between nuclei; docs/results.md), so PSNR is checked
                  # against lum_60s here, where the restoration must show it removed the noise.
                  "fluorescence": "lum_60s"}
READOUT_CHECKS = {
    # regime: (reference, readout, check(raw, restored), what the check means)
    "denoise": ("lum_60s", "mask_mae", lambda raw, restored: restored <= 0.6 * raw, "at most 0.6x raw"),
    "upsample": ("lum_60s", "mask_mae", lambda raw, restored: restored <= 0.9 * raw, "at most 0.9x raw"),
    "n2n": ("lum_60s", "mask_mae", lambda raw, restored: restored <= 0.9 * raw, "at most 0.9x raw"),
    "fluorescence": ("lum_60s", "nuclear_pearson", lambda raw, restored: restored >= raw + 0.15,
                     "at least raw + 0.15"),
}


@pytest.fixture(scope="module")
def regimes():
    return load_benchmark("regimes")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    # The three cytoplasmic regimes share one simulated dataset.
    return tmp_path_factory.mktemp("regime-data")


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["denoise", "upsample", "n2n", "fluorescence"])
def test_restoration_beats_raw_input(regime, regimes, data_root, tmp_path):
    result = regimes.run_regime(regime, tmp_path, data_root=data_root, **SCALE)
    summary = result["summary"]

    psnr_ref = PSNR_REFERENCE[regime]
    raw_psnr, restored_psnr = summary[psnr_ref]["raw"]["psnr"], summary[psnr_ref]["restored"]["psnr"]
    assert restored_psnr >= raw_psnr + MIN_PSNR_GAIN_DB, \
        f"{regime}: PSNR raw {raw_psnr:.2f} dB, restored {restored_psnr:.2f} dB; " \
        f"required a gain >= {MIN_PSNR_GAIN_DB} dB"

    reference, readout, check, meaning = READOUT_CHECKS[regime]
    raw_value, restored_value = summary[reference]["raw"][readout], summary[reference]["restored"][readout]
    assert check(raw_value, restored_value), \
        f"{regime}: {readout} raw {raw_value:.3f}, restored {restored_value:.3f}; required {meaning}"

    paths = result["paths"]
    references = [(f"{paths['test_dir']}/{reference}", readouts)
                  for reference, _, readouts in regimes.REGIMES[regime]["references"]]
    check_bfloat16_matches_float32(paths["model"], paths["test_input"], paths["restored"], references,
                                   tmp_path / "bf16")
