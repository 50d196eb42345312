"""Evaluation: CARE-style image quality, the paper's readouts per folder, tables and files."""

import json

import numpy as np
import pytest

from lumicare_ij import evaluation, io
from lumicare_ij.simulate import simulate_dataset


def test_image_quality_is_scale_invariant_and_ranks_noise():
    rng = np.random.default_rng(0)
    ref = np.kron(rng.random((4, 8, 8)), np.ones((1, 4, 4))).astype(np.float32) * 100
    noisy = ref + rng.normal(0, 10, ref.shape).astype(np.float32)
    noisier = ref + rng.normal(0, 30, ref.shape).astype(np.float32)
    q1, q2 = evaluation.image_quality(noisy, ref), evaluation.image_quality(noisier, ref)
    assert q1["psnr"] > q2["psnr"] and q1["ssim"] > q2["ssim"] and q1["nrmse"] < q2["nrmse"]
    # An affine change of the test image's intensities does not change the metrics (normalize_minmse).
    scaled = evaluation.image_quality(noisy * 3 + 50, ref)
    assert scaled["psnr"] == pytest.approx(q1["psnr"], abs=1e-3)


def test_evaluate_folders_writes_tables(tmp_path):
    data = tmp_path / "data"
    simulate_dataset("cytoplasmic", data, n_stacks=2, shape_zyx=(4, 96, 96), small=True, seed=2, progress=False)
    rows = evaluation.evaluate_folders(data / "lum_60s", {"raw": data / "lum_0.5s",
                                                          "technical noise": data / "lum_60s_rep2"},
                                       progress=False)
    assert [r["kind"] for r in rows] == ["raw", "raw", "technical noise", "technical noise"]
    summary = {s["kind"]: s for s in evaluation.summarize(rows)}
    assert summary["technical noise"]["psnr"] > summary["raw"]["psnr"]
    assert summary["technical noise"]["mask_mae"] < summary["raw"]["mask_mae"]
    paths = evaluation.write_results(rows, tmp_path / "eval")
    assert json.loads(paths["json"].read_text())["summary"][0]["kind"] == "raw"
    assert "technical noise" in paths["summary"].read_text()
    # The same results again (a rerun; or one killed between its files) are already there: nothing rewritten.
    before = {p: p.stat().st_mtime_ns for p in paths.values()}
    paths["summary"].unlink()
    evaluation.write_results(rows, tmp_path / "eval")
    assert {p: p.stat().st_mtime_ns for p in paths.values() if p != paths["summary"]} == \
        {p: t for p, t in before.items() if p != paths["summary"]} and paths["summary"].is_file()
    # Other results under these names are refused, and nothing is touched.
    with pytest.raises(FileExistsError, match="other results"):
        evaluation.write_results(rows[:1], tmp_path / "eval")
    assert {p: p.stat().st_mtime_ns for p in paths.values() if p != paths["summary"]} == \
        {p: t for p, t in before.items() if p != paths["summary"]}


def test_evaluate_folders_names_missing_partners(tmp_path):
    io.write_stack(tmp_path / "ref" / "a.tif", np.zeros((2, 8, 8), np.uint16))
    (tmp_path / "restored").mkdir()
    with pytest.raises(FileNotFoundError, match="has no stack named like a.tif"):
        evaluation.evaluate_folders(tmp_path / "ref", {"restored": tmp_path / "restored"}, progress=False)
    with pytest.raises(FileNotFoundError, match="no .tif files"):
        evaluation.evaluate_folders(tmp_path / "restored", {}, progress=False)
