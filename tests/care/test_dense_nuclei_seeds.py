"""On touching nuclei, the quick preset must restore on every training run, not on a lucky one.

``benchmarks/seeds.py`` at CI scale: the dense-nuclei simulation
(``h2b_dense``: touching nuclei at several heights under out-of-focus haze,
``h2b``'s photon budget), the ``denoise`` regime (0.5 s -> 60 s) trained
with the ``quick`` preset as ``lumicare prepare`` / ``train`` / ``predict``
run it, once per seed. In every run the restoration must beat the raw input
on PSNR, nuclear Pearson and mask MAE, and its Mean-threshold masks must
merge or split no more nuclei than a second 60 s acquisition's masks do,
plus :data:`MARGIN_NUCLEI_PER_STACK`. A network that fills the gaps between
nuclei with signal fails the merge check although its PSNR and Pearson look
fine (the failure reported on other data; not reproduced by this simulation,
where every measured setting stays about 12 nucleus-planes above the 60 s
acquisition).
"""


import pytest

from ..benchmark_modules import load_benchmark
from .bf16_guard import check_bfloat16_matches_float32

SEEDS = (0, 1, 2)
#: Merged + split nucleus-planes per held-out stack (counted per plane, summed over 16 planes; about
#: 200 reference nucleus-planes) allowed beyond the second 60 s acquisition's: measured 10-14 for
#: these seeds (docs/results.md, "Dense nuclei over seeds").
MARGIN_NUCLEI_PER_STACK = 20


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("seeds")


@pytest.fixture(scope="module")
def dense(bench, tmp_path_factory):
    root = tmp_path_factory.mktemp("dense-seeds")
    train_dir, test_dir = bench.simulate(root, n_train=4, n_test=2, seed=0)
    baseline = bench.readouts(test_dir, {"raw": test_dir / "lum_0.5s", "technical noise": test_dir / bench.NOISE})
    return root, train_dir, test_dir, baseline


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_quick_preset_separates_touching_nuclei_in_every_run(seed, bench, dense):
    root, train_dir, test_dir, baseline = dense
    restored = bench.run_one("denoise", "lumicare", seed, root, train_dir, test_dir, "quick")["values"]
    raw, noise = baseline["raw"], baseline["technical noise"]
    shown = {k: (round(raw[k], 3), round(restored[k], 3), round(noise[k], 3))
             for k in ("psnr", "nuclear_pearson", "mask_mae", "merged", "split")}
    assert restored["psnr"] > raw["psnr"] and restored["nuclear_pearson"] > raw["nuclear_pearson"] \
        and restored["mask_mae"] < raw["mask_mae"], f"seed {seed}: (raw, restored, 60 s vs 60 s) {shown}"
    allowed = noise["merged"] + noise["split"] + MARGIN_NUCLEI_PER_STACK
    assert restored["merged"] + restored["split"] <= allowed, \
        f"seed {seed}: merged + split nuclei {restored['merged'] + restored['split']:.1f} per stack, " \
        f"allowed {allowed:.1f} (second 60 s acquisition + {MARGIN_NUCLEI_PER_STACK}); {shown}"


@pytest.mark.slow
def test_bfloat16_restoration_of_touching_nuclei_matches_float32(bench, dense):
    root, train_dir, test_dir, _ = dense
    bench.run_one("denoise", "lumicare", SEEDS[0], root, train_dir, test_dir, "quick")  # cached after the test above
    work = root / "work" / f"denoise_lumicare_seed{SEEDS[0]}"
    check_bfloat16_matches_float32(work / "model", test_dir / "lum_0.5s", work / "restored",
                                   [(test_dir / bench.REFERENCE, ("mask_mae", "nuclear_pearson"))], root / "bf16",
                                   no_worse=())  # measured within 0.5 % both ways here (docs/benchmarks.md, "Precision")
