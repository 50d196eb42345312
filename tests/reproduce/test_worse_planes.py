"""Planes where a restoration is worse than the raw input: known synthetic cases, and the report's listing."""

import json

import numpy as np
import pytest

from lumicare_ij import analysis
from lumicare_ij.reproduce import measure


def _cells(shape=(6, 64, 64), bright_planes=4):
    """A square cell (1000 counts on 100) in every plane; the last planes dimmer (out of focus)."""
    stack = np.full(shape, 100, np.uint16)
    stack[:bright_planes, 20:40, 20:40] = 1000
    stack[bright_planes:, 20:40, 20:40] = 300
    return stack


def test_plane_readouts_split_the_stack_mask_mae():
    reference = _cells()
    test = reference.copy()
    test[1, 20:40, 25:45] = test[1, 20:40, 20:40]  # the cell shifted by 5 px in plane 1
    per_plane = measure.plane_readouts("mask_mae", test, reference)
    assert per_plane.shape == (6,)
    assert per_plane[1] > 0 and np.all(np.delete(per_plane, 1) == 0)
    # the mean over planes is the readout over every plane (the same masks)
    assert per_plane.mean() == pytest.approx(float(analysis.mask_mae_between(reference, test)))


def test_planes_worse_than_raw_mask_mae():
    reference = _cells()
    assert measure.focus_planes(reference).tolist() == [0, 1, 2, 3]
    raw = reference.copy()
    raw[0:2, 20:40, 26:46] = 1000       # planes 0-1: raw's cell shifted, restoration's right
    raw[0:2, 20:40, 20:26] = 100
    restored = reference.astype(np.float32)
    restored[3, 20:40, 27:47] = 1000    # plane 3 (in focus): restoration's cell shifted
    restored[3, 20:40, 20:27] = 100
    restored[4:6, 45:60, 45:60] = 300   # planes 4-5 (out of focus): a patch only the restoration has
    out = measure.planes_worse_than_raw("mask_mae", raw, restored, reference)
    assert out["planes"] == [3, 4, 5]          # planes 0-1 are better, plane 2 equal: not listed
    assert out["in_focus"] == [3] and out["focus_planes"] == [0, 1, 2, 3] and out["n_planes"] == 6
    assert out["raw"][0] > out["restored"][0] == 0 and out["restored"][4] > out["raw"][4] == 0
    # identical images are worse nowhere
    assert measure.planes_worse_than_raw("mask_mae", reference, reference, reference)["planes"] == []


def test_planes_worse_than_raw_nuclear_pearson_is_higher_is_better():
    rng = np.random.default_rng(0)
    reference = np.full((4, 48, 48), 100.0, np.float32)
    yy, xx = np.mgrid[:48, :48]
    for z in range(4):
        reference[z] += 900 * np.exp(-((yy - 24) ** 2 + (xx - 20 - 2 * z) ** 2) / 60)
    raw = reference + rng.normal(0, 40, reference.shape).astype(np.float32)   # mildly noisy everywhere
    restored = reference.copy()                                                # perfect ...
    restored[2] += rng.normal(0, 400, reference.shape[1:]).astype(np.float32)  # ... except plane 2
    out = measure.planes_worse_than_raw("nuclear_pearson", raw, restored, reference)
    assert out["planes"] == [2]
    assert out["restored"][0] == pytest.approx(1.0) and out["raw"][0] < 1.0
    with pytest.raises(ValueError):
        measure.plane_readouts("mito_morphology", raw, reference)


def test_report_lists_worse_planes_per_stack(tiny_run):
    out, _, _ = tiny_run
    html = (out / "report.html").read_text()
    assert html.count("<h3>Planes where the restoration is worse than the raw input</h3>") == 2  # 1c and 2a
    for eid, arms in (("1c", {"n2n", "supervised"}), ("2a", {"fluo-trained", "lum-trained"})):
        results = json.loads((out / "experiments" / eid / "results.json").read_text())
        entries = results["planes_worse_than_raw"]
        assert {(e["stack"], e["arm"]) for e in entries} == {(s, a) for s in results["stacks"] for a in arms}
        for e in entries:
            assert len(e["raw"]) == len(e["restored"]) == e["n_planes"] == 16
            assert set(e["in_focus"]) <= set(e["planes"]) and set(e["in_focus"]) <= set(e["focus_planes"])
            assert html.count(f"<td>{e['stack']}</td>") >= 1
    combined = json.loads((out / "metrics.json").read_text())
    assert set(combined["planes_worse_than_raw"]) == {"1c", "2a"}


def test_run_time_table_counts_the_total_once():
    from lumicare_ij.reproduce import report

    html = report.run_time_table({"train": 60.0, "measure": 30.0, "total": 95.0})
    assert html.count(">total<") == 1 and "1m 35s" in html
    assert "3m 05s" not in html   # 60 + 30 + 95, the total counted twice
    assert "1m 30s" in report.run_time_table({"train": 60.0, "measure": 30.0})   # no total: the sum
