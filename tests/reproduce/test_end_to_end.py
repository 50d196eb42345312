"""A real tiny reproduction (1c and 2a: simulate, train, restore, measure, report) and what it writes."""

import csv
import json
import re

from lumicare_ij import io


def test_tiny_reproduction_writes_report_metrics_and_tiffs(tiny_run):
    out, summary, lines = tiny_run
    assert summary["experiments"]["1c"]["status"] == "finished"
    assert summary["experiments"]["2a"]["status"] == "finished"
    for name in ("report.html", "metrics.csv", "metrics.json", "claims.json", "claims.csv", "run.json"):
        assert (out / name).is_file(), name
    # progress display: numbered steps with elapsed time, then the claims
    assert any(re.match(r"\[1/\d+ \d+m\d\ds\] 1c: network 1/2", line) for line in lines)
    assert any("Claims of the paper" in line for line in lines)

    for eid, arms in (("1c", ("n2n", "supervised")), ("2a", ("fluo-trained", "lum-trained"))):
        exp = out / "experiments" / eid
        assert (exp / "DONE.json").is_file()
        results = json.loads((exp / "results.json").read_text())
        assert set(results["summary"]) == set(arms) | {"technical noise"}
        for arm in arms:
            restored = sorted((exp / "restored" / arm).glob("*.tif"))
            assert len([p for p in restored if not p.stem.endswith("_scale")]) == 2  # two held-out stacks
            assert any(p.stem.endswith("_scale") for p in restored)  # probabilistic: scale maps
            stack = io.read_stack(restored[0])
            assert stack.shape == (16, 64, 64) and stack.attrs["metadata"]["restoration"]["model_dir"]
        for fig in results["figures"]:
            assert (exp / fig["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert {f["file"] for f in results["figures"]} == {"figures/panels.png", "figures/readout.png",
                                                          "figures/artefacts.png"}
        assert all(n["probabilistic"] and n["epochs_done"] == 2 for n in results["networks"])
        rows = list(csv.DictReader((exp / "metrics.csv").open()))
        # 2 stacks x (technical noise + 2 arms x (raw, restored))
        assert len(rows) == 2 * 5 and {r["kind"] for r in rows} == {"raw", "restored", "technical noise"}
        artefacts = list(csv.DictReader((exp / "artefacts.csv").open()))
        assert len(artefacts) == 2 * 4 and all(int(r["spurious"]) >= 0 for r in artefacts)

    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert [c["id"] for c in claims] == ["1a", "1b", "1c", "2a", "2b"]
    by_id = {c["id"]: c for c in claims}
    assert by_id["1a"]["verdict"] == "not tested" and by_id["2b"]["verdict"] == "not tested"
    assert by_id["2a"]["values"]["fluo_trained"] is not None  # measured, whatever the verdict
    html = (out / "report.html").read_text()
    for c in claims:
        assert c["rule"].split(";")[0][:40] in html.replace("&gt;", ">").replace("&#x27;", "'")
    assert html.count("data:image/png;base64,") == 6 and "http://" not in html and "https://" not in html
    # the combined metrics hold every per-stack row of both experiments
    combined = json.loads((out / "metrics.json").read_text())
    assert {r["experiment"] for r in combined["rows"]} == {"1c", "2a"} and len(combined["rows"]) == 20
