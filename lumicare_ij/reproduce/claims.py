"""The paper's claims, each with the measured value, a plainly stated rule and a computed verdict.

Nothing here is decided in advance: every verdict is computed from the
measured means of an experiment's results (:func:`evaluate_claims`), with the
rule stated in words next to it in the report. The thresholds are module
constants so that a reader can see (and change) them in one place.

Verdicts: ``met``, ``partly met``, ``not met``, ``not tested`` (the
experiment did not run, or lacked the data the rule needs).

Rules (mask MAE: lower is better; Pearson: higher is better):

1a  *exposure shortened up to 100-fold*: the shortest exposure tested that
    is at least 100-fold shorter than 60 s (0.5 s is 120-fold). **Met** when
    its restoration's mask MAE is at most :data:`NOISE_FACTOR` x the technical
    noise (two consecutive 60 s acquisitions; the paper: "similar to the
    technical noise") **and** at most :data:`RAW_FRACTION` x the raw input's.
    **Partly met** when only the second holds. Otherwise **not met**.
1b  *8x8 binning restorable*: the same rule for the 8x8-binned input.
1c  *noise2noise from 5 s comparable to 60 s targets*: **met** when the
    noise2noise restoration removes at least :data:`N2N_SHARE` of the error
    that the supervised (60 s) network removes from the raw 5 s input, i.e.
    (raw - n2n) >= 0.75 (raw - supervised). **Partly met** when it improves on
    the raw input by less. **Not met** when it does not improve on it.
2a  *fluorescence ground truth indistinguishable*: **met** when the nuclear
    Pearson's R of the eGFP-trained restoration is within
    :data:`PEARSON_TOLERANCE` of the 60 s-trained restoration's and above the
    raw input's. **Partly met** when it is above the raw input's but farther
    away. Otherwise **not met**.
2b  *treatment separation preserved*: (i) the leave-one-out linear
    classifier's ROC AUC on restorations is at least the fluorescence ground
    truth's minus :data:`AUC_TOLERANCE`; (ii) a straight line keeps all
    Rotenone cells on one side of the restorations' chart with no more DMSO
    cells on their side than on the ground truth's chart. **Met**: both;
    **partly met**: one; **not met**: neither.
"""

from __future__ import annotations

import math

#: "Similar to the technical noise": the restoration's mask MAE at most this many times the noise.
NOISE_FACTOR = 2.0
#: A restoration must at least halve the raw input's mask MAE.
RAW_FRACTION = 0.5
#: Noise2noise must remove at least this share of the error removed by supervised training.
N2N_SHARE = 0.75
#: Largest difference of mean Pearson's R still called indistinguishable.
PEARSON_TOLERANCE = 0.05
#: Largest loss of ROC AUC (restoration vs ground truth) still called equally well separated.
AUC_TOLERANCE = 0.05

MET, PARTLY, NOT_MET, NOT_TESTED = "met", "partly met", "not met", "not tested"
VERDICTS = (MET, PARTLY, NOT_MET, NOT_TESTED)


def _mean(results: dict, arm: str, kind: str, metric: str) -> float:
    try:
        value = results["summary"][arm][kind][metric]["mean"]
    except (KeyError, TypeError):
        return math.nan
    return float(value) if value is not None else math.nan


def _ok(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _fmt(value, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if _ok(value) else "n/a"


def _ratio(a, b) -> str:
    """a / b with three decimals, so that a value next to a threshold shows on which side it lies."""
    return f"{a / b:.3f}" if _ok(a, b) and b else "n/a"


def _claim(cid, experiment, figure, statement, rule, verdict, measured, values) -> dict:
    if verdict not in VERDICTS:  # a programming error in a claim rule, not a user's
        raise RuntimeError(f"claim {cid}: verdict {verdict!r} is not one of {VERDICTS}")
    return {"id": cid, "experiment": experiment, "figure": figure, "statement": statement, "rule": rule,
            "verdict": verdict, "measured": measured, "values": values}


def _noise_rule(raw, restored, noise) -> tuple[str, bool, bool]:
    """(verdict, near noise, halves raw) of the 1a/1b rule."""
    if not _ok(raw, restored):
        return NOT_TESTED, False, False
    halves = restored <= RAW_FRACTION * raw
    near = _ok(noise) and restored <= NOISE_FACTOR * noise
    if halves and near:
        return MET, near, halves
    return (PARTLY if halves else NOT_MET), near, halves


def claim_1a(results: dict | None) -> dict:
    statement = ("Exposure times can be shortened up to 100-fold: restorations of 0.5 s exposures reach a mask "
                 "MAE similar to the technical noise between two consecutive 60 s acquisitions.")
    rule = (f"Shortest exposure tested that is >= 100-fold shorter than 60 s: met when its restoration's mask MAE "
            f"<= {NOISE_FACTOR:g} x the technical noise and <= {RAW_FRACTION:g} x the raw input's; partly met "
            "when only the second holds; else not met.")
    if not results:
        return _claim("1a", "1a", "Figure 1a", statement, rule, NOT_TESTED, "experiment not run", {})
    noise = _mean(results, "technical noise", "technical noise", "mask_mae")
    arms = sorted(((60.0 / float(a["key"].rstrip("s")), a["key"]) for a in results["arms"]), reverse=True)
    eligible = [(fold, key) for fold, key in arms if fold >= 100]
    per_arm = {key: {"fold": fold, "raw": _mean(results, key, "raw", "mask_mae"),
                     "restored": _mean(results, key, "restored", "mask_mae")} for fold, key in arms}
    meeting = [per_arm[k]["fold"] for _, k in arms
               if _noise_rule(per_arm[k]["raw"], per_arm[k]["restored"], noise)[0] == MET]
    values = {"technical_noise": noise, "per_exposure": per_arm,
              "largest_fold_meeting_rule": max(meeting) if meeting else None}
    if not eligible:
        return _claim("1a", "1a", "Figure 1a", statement, rule, NOT_TESTED,
                      "no exposure >= 100-fold shorter than 60 s was tested", values)
    fold, key = max(eligible)  # the shortest exposure tested
    raw, restored = per_arm[key]["raw"], per_arm[key]["restored"]
    verdict, near, halves = _noise_rule(raw, restored, noise)
    if verdict == MET and not _ok(noise):
        verdict = PARTLY
    measured = (f"{key} ({fold:g}-fold shorter): restoration {_fmt(restored)}, raw {_fmt(raw)}, technical noise "
                f"{_fmt(noise)} (restoration = {_ratio(restored, noise)} x noise, "
                f"{_ratio(restored, raw)} x raw). Largest reduction meeting the "
                f"rule: {f'{max(meeting):g}-fold' if meeting else 'none'}.")
    values.update({"exposure": key, "fold": fold, "raw": raw, "restored": restored})
    return _claim("1a", "1a", "Figure 1a", statement, rule, verdict, measured, values)


def claim_1b(results: dict | None) -> dict:
    statement = "The resolution lost by pixel binning can be restored even from 8x8 binned recordings."
    rule = (f"8x8-binned 0.5 s input: met when its restoration's mask MAE (against unbinned 60 s) <= "
            f"{NOISE_FACTOR:g} x the technical noise and <= {RAW_FRACTION:g} x the raw (binned, upsampled) "
            "input's; partly met when only the second holds; else not met.")
    if not results or "8x8" not in results.get("summary", {}):
        return _claim("1b", "1b", "Figure 1b", statement, rule, NOT_TESTED,
                      "experiment not run" if not results else "no 8x8 input", {})
    noise = _mean(results, "technical noise", "technical noise", "mask_mae")
    raw, restored = _mean(results, "8x8", "raw", "mask_mae"), _mean(results, "8x8", "restored", "mask_mae")
    verdict, _, _ = _noise_rule(raw, restored, noise)
    if verdict == MET and not _ok(noise):
        verdict = PARTLY
    per_bin = {a["key"]: {"raw": _mean(results, a["key"], "raw", "mask_mae"),
                          "restored": _mean(results, a["key"], "restored", "mask_mae")} for a in results["arms"]}
    measured = (f"8x8: restoration {_fmt(restored)}, raw {_fmt(raw)}, technical noise {_fmt(noise)} "
                f"(restoration = {_ratio(restored, noise)} x noise, {_ratio(restored, raw)} x raw).")
    return _claim("1b", "1b", "Figure 1b", statement, rule, verdict, measured,
                  {"raw": raw, "restored": restored, "technical_noise": noise, "per_binning": per_bin})


def claim_1c(results: dict | None) -> dict:
    statement = ("Noise2noise training on pairs of 5 s exposures restores signal to a degree comparable to "
                 "training with 60 s targets.")
    rule = (f"Met when the noise2noise restoration removes >= {N2N_SHARE:.0%} of the mask MAE that the "
            "supervised (60 s) restoration removes from the raw 5 s input; partly met when it improves on the raw "
            "input by less; not met when it does not improve on it.")
    if not results:
        return _claim("1c", "1c", "Figure 1c", statement, rule, NOT_TESTED, "experiment not run", {})
    raw = _mean(results, "n2n", "raw", "mask_mae")
    n2n = _mean(results, "n2n", "restored", "mask_mae")
    sup = _mean(results, "supervised", "restored", "mask_mae")
    noise = _mean(results, "technical noise", "technical noise", "mask_mae")
    values = {"raw": raw, "n2n": n2n, "supervised": sup, "technical_noise": noise}
    if not _ok(raw, n2n, sup):
        return _claim("1c", "1c", "Figure 1c", statement, rule, NOT_TESTED, "values missing", values)
    if raw - sup <= 0:
        return _claim("1c", "1c", "Figure 1c", statement, rule, NOT_TESTED,
                      f"the supervised network did not improve on the raw input (raw {_fmt(raw)}, supervised "
                      f"{_fmt(sup)}): no reference to compare with", values)
    share = (raw - n2n) / (raw - sup)
    values["share_of_supervised_gain"] = share
    verdict = MET if share >= N2N_SHARE else (PARTLY if n2n < raw else NOT_MET)
    measured = (f"mask MAE: noise2noise {_fmt(n2n)}, supervised {_fmt(sup)}, raw 5 s {_fmt(raw)}, technical noise "
                f"{_fmt(noise)}; noise2noise removes {share:.0%} of the supervised network's improvement.")
    return _claim("1c", "1c", "Figure 1c", statement, rule, verdict, measured, values)


def claim_2a(results: dict | None) -> dict:
    statement = ("Restorations trained on fluorescence (eGFP) targets are virtually indistinguishable from those "
                 "trained on long-exposure luminescence targets.")
    rule = (f"Met when the nuclear Pearson's R (against 60 s luminescence) of the eGFP-trained restoration is within "
            f"{PEARSON_TOLERANCE:g} of the 60 s-trained restoration's and above the raw input's; partly met when it "
            "is above the raw input's but farther away; else not met.")
    if not results:
        return _claim("2a", "2a", "Figure 2a", statement, rule, NOT_TESTED, "experiment not run", {})
    fluo = _mean(results, "fluo-trained", "restored", "nuclear_pearson")
    lum = _mean(results, "lum-trained", "restored", "nuclear_pearson")
    raw = _mean(results, "fluo-trained", "raw", "nuclear_pearson")
    noise = _mean(results, "technical noise", "technical noise", "nuclear_pearson")
    values = {"fluo_trained": fluo, "lum_trained": lum, "raw": raw, "technical_noise": noise}
    if not _ok(fluo, lum, raw):
        return _claim("2a", "2a", "Figure 2a", statement, rule, NOT_TESTED, "values missing", values)
    diff = fluo - lum
    values["difference"] = diff
    verdict = MET if (abs(diff) <= PEARSON_TOLERANCE and fluo > raw) else (PARTLY if fluo > raw else NOT_MET)
    measured = (f"Pearson's R: eGFP-trained {fluo:.3f}, 60 s-trained {lum:.3f} (difference {diff:+.3f}), raw 0.5 s "
                f"{raw:.3f}, technical noise {_fmt(noise)}.")
    return _claim("2a", "2a", "Figure 2a", statement, rule, verdict, measured, values)


def claim_2b(results: dict | None) -> dict:
    statement = ("Restorations of 4 s TOMM20-NanoLuc separate Rotenone-treated from DMSO cells as well as the "
                 "fluorescence ground truth; a line delineates all Rotenone-treated cells.")
    rule = (f"(i) leave-one-out linear classifier (mean circularity, mean aspect ratio): ROC AUC on restorations >= "
            f"ground truth's - {AUC_TOLERANCE:g}; (ii) a straight line keeps all Rotenone cells on one side of the "
            "restorations' chart with no more DMSO cells on that side than on the ground truth's chart. Met: both; "
            "partly met: one; not met: neither.")
    sep = ((results or {}).get("morphology") or {}).get("separation") or {}
    if not results or "restored" not in sep or "ground truth" not in sep:
        return _claim("2b", "2b", "Figure 2b", statement, rule, NOT_TESTED,
                      "experiment not run" if not results else "no treatment labels (DMSO/Rotenone)", {})
    gt, rest, raw = sep["ground truth"], sep["restored"], sep.get("raw", {})
    auc_gt, auc_rest = gt["auc_linear_loo"], rest["auc_linear_loo"]
    if not _ok(auc_gt, auc_rest):
        return _claim("2b", "2b", "Figure 2b", statement, rule, NOT_TESTED,
                      "fewer than 2 cells per treatment: no classifier", {})
    first = auc_rest >= auc_gt - AUC_TOLERANCE
    mis_rest, mis_gt = rest["line"]["negatives_misplaced"], gt["line"]["negatives_misplaced"]
    second = mis_rest is not None and mis_gt is not None and mis_rest <= mis_gt
    verdict = MET if (first and second) else (PARTLY if (first or second) else NOT_MET)

    def auc_text(s):
        return (f"AUC linear {_fmt(s.get('auc_linear_loo'))}, circularity {_fmt(s.get('auc_circularity'))}, "
                f"aspect ratio {_fmt(s.get('auc_aspect_ratio'))}; line misplaces "
                f"{s.get('line', {}).get('negatives_misplaced', 'n/a')} of {s.get('n_dmso', '?')} DMSO")
    measured = (f"restoration: {auc_text(rest)}. Ground truth: {auc_text(gt)}."
                + (f" Raw 4 s: {auc_text(raw)}." if raw else ""))
    return _claim("2b", "2b", "Figure 2b", statement, rule, verdict, measured,
                  {"ground_truth": gt, "restored": rest, "raw": raw})


CLAIMS = {"1a": claim_1a, "1b": claim_1b, "1c": claim_1c, "2a": claim_2a, "2b": claim_2b}


def evaluate_claims(results_by_id: dict) -> list[dict]:
    """Every claim, computed from the finished experiments (missing ones give 'not tested')."""
    return [fn(results_by_id.get(eid)) for eid, fn in CLAIMS.items()]


def restoration_vs_raw(results: dict) -> list[dict]:
    """Per test input and readout metric: does the restoration beat the raw input (means over stacks)?"""
    out = []
    for arm in results.get("arms", []):
        for metric, higher in results["readout_metrics"].items():
            raw = _mean(results, arm["key"], "raw", metric)
            restored = _mean(results, arm["key"], "restored", metric)
            better = _ok(raw, restored) and (restored > raw if higher else restored < raw)
            out.append({"experiment": results["id"], "arm": arm["key"], "label": arm["label"], "metric": metric,
                        "higher_is_better": higher, "raw": raw, "restored": restored,
                        "verdict": "better" if better else ("not better" if _ok(raw, restored) else "not tested")})
    return out
