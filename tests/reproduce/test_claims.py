"""Verdicts are computed from the measured values by the stated rules; none is fixed in advance."""

import math

import pytest

from lumicare_ij.reproduce import claims
from lumicare_ij.reproduce.claims import MET, NOT_MET, NOT_TESTED, PARTLY


def results(eid, metric, arms, values, noise=None, higher=False):
    """A minimal results dict: ``values`` = {arm: (raw, restored)}."""
    summary = {arm: {"raw": {metric: {"mean": raw}}, "restored": {metric: {"mean": restored}}}
               for arm, (raw, restored) in values.items()}
    if noise is not None:
        summary["technical noise"] = {"technical noise": {metric: {"mean": noise}}}
    return {"id": eid, "arms": [{"key": a, "label": a} for a in arms], "readout_metrics": {metric: higher},
            "summary": summary}


EXPOSURES = ["0.5s", "1s", "2s", "5s", "10s"]


def exposure_results(restored_05, raw_05=40.0, noise=7.0):
    values = {a: (30.0, 9.0) for a in EXPOSURES}
    values["0.5s"] = (raw_05, restored_05)
    return results("1a", "mask_mae", EXPOSURES, values, noise)


@pytest.mark.parametrize("restored, verdict", [
    (10.0, MET),        # <= 2 x 7 and <= 0.5 x 40
    (18.0, PARTLY),     # halves the raw error but 18 > 14
    (25.0, NOT_MET),    # does not halve the raw error
])
def test_1a_rule(restored, verdict):
    c = claims.claim_1a(exposure_results(restored))
    assert c["verdict"] == verdict
    assert c["values"]["exposure"] == "0.5s" and c["values"]["fold"] == 120
    assert f"{restored:.3g}" in c["measured"] and "technical noise 7" in c["measured"]


def test_1a_without_technical_noise_cannot_be_fully_met():
    r = exposure_results(5.0)
    del r["summary"]["technical noise"]
    assert claims.claim_1a(r)["verdict"] == PARTLY


def test_1a_needs_a_100_fold_shorter_exposure():
    r = results("1a", "mask_mae", ["5s", "10s"], {"5s": (30.0, 5.0), "10s": (20.0, 4.0)}, 7.0)
    c = claims.claim_1a(r)
    assert c["verdict"] == NOT_TESTED and "100-fold" in c["measured"]
    assert c["values"]["largest_fold_meeting_rule"] == 12


def test_missing_experiments_are_not_tested():
    for c in claims.evaluate_claims({}):
        assert c["verdict"] == NOT_TESTED and c["measured"] == "experiment not run"
        assert c["rule"] and c["statement"]


@pytest.mark.parametrize("restored, verdict", [(12.0, MET), (16.0, PARTLY), (30.0, NOT_MET)])
def test_1b_rule_on_8x8(restored, verdict):
    r = results("1b", "mask_mae", ["2x2", "4x4", "8x8"],
                {"2x2": (20.0, 8.0), "4x4": (25.0, 10.0), "8x8": (40.0, restored)}, 7.0)
    assert claims.claim_1b(r)["verdict"] == verdict


@pytest.mark.parametrize("n2n, verdict", [(12.0, MET), (9.0, MET), (20.0, PARTLY), (42.0, NOT_MET)])
def test_1c_share_of_supervised_gain(n2n, verdict):
    # raw 40, supervised 10: 75 % of the gain is reached at n2n <= 17.5
    r = results("1c", "mask_mae", ["n2n", "supervised"], {"n2n": (40.0, n2n), "supervised": (40.0, 10.0)}, 7.0)
    c = claims.claim_1c(r)
    assert c["verdict"] == verdict
    assert math.isclose(c["values"]["share_of_supervised_gain"], (40 - n2n) / 30)


def test_1c_without_supervised_gain_is_not_tested():
    r = results("1c", "mask_mae", ["n2n", "supervised"], {"n2n": (40.0, 30.0), "supervised": (40.0, 45.0)}, 7.0)
    assert claims.claim_1c(r)["verdict"] == NOT_TESTED


@pytest.mark.parametrize("fluo, lum, raw, verdict", [
    (0.93, 0.95, 0.5, MET), (0.80, 0.95, 0.5, PARTLY), (0.45, 0.95, 0.5, NOT_MET), (0.99, 0.95, 0.5, MET)])
def test_2a_rule(fluo, lum, raw, verdict):
    r = results("2a", "nuclear_pearson", ["fluo-trained", "lum-trained"],
                {"fluo-trained": (raw, fluo), "lum-trained": (raw, lum)}, 0.97, higher=True)
    c = claims.claim_2a(r)
    assert c["verdict"] == verdict
    assert math.isclose(c["values"]["difference"], fluo - lum)


def separation(auc, misplaced):
    return {"auc_linear_loo": auc, "auc_circularity": auc, "auc_aspect_ratio": auc, "n_dmso": 4, "n_rotenone": 4,
            "line": {"negatives_misplaced": misplaced, "separates_all": misplaced == 0}}


@pytest.mark.parametrize("rest_auc, rest_mis, verdict", [
    (1.0, 0, MET), (0.97, 0, MET), (0.7, 0, PARTLY), (1.0, 2, PARTLY), (0.6, 3, NOT_MET)])
def test_2b_rule(rest_auc, rest_mis, verdict):
    r = {"id": "2b", "morphology": {"separation": {"ground truth": separation(1.0, 0),
                                                   "restored": separation(rest_auc, rest_mis),
                                                   "raw": separation(0.9, 1)}}}
    assert claims.claim_2b(r)["verdict"] == verdict


def test_2b_without_treatments_is_not_tested():
    assert claims.claim_2b({"id": "2b", "morphology": None})["verdict"] == NOT_TESTED


def test_restoration_vs_raw_follows_the_metric_direction():
    r = results("2a", "nuclear_pearson", ["a", "b"], {"a": (0.5, 0.9), "b": (0.5, 0.4)}, higher=True)
    rows = {row["arm"]: row["verdict"] for row in claims.restoration_vs_raw(r)}
    assert rows == {"a": "better", "b": "not better"}
    r = results("1a", "mask_mae", ["a", "b"], {"a": (40.0, 10.0), "b": (40.0, math.nan)})
    rows = {row["arm"]: row["verdict"] for row in claims.restoration_vs_raw(r)}
    assert rows == {"a": "better", "b": "not tested"}
