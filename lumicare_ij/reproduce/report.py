"""One self-contained HTML report: claims, figures (PNG data URIs), tables, settings, run times.

The page loads nothing from elsewhere (styles inline, figures embedded), so
it can be mailed or archived as one file. Links to the metrics and restored
TIFFs are relative to the report's folder.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from . import claims as claims_mod
from . import measure

VERDICT_CLASS = {"met": "met", "partly met": "partly", "not met": "notmet", "not tested": "nottested",
                 "better": "met", "not better": "notmet"}

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .88em; }
th, td { border: 1px solid #ccc; padding: .3em .55em; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.verdict { font-weight: bold; white-space: nowrap; padding: .15em .5em; border-radius: .3em; }
.met { background: #d8f0d8; color: #135c13; } .partly { background: #fff1c7; color: #7a5a00; }
.notmet { background: #f8d7d7; color: #8a1414; } .nottested { background: #e8e8e8; color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #444; margin-top: .3em; }
.note { background: #f6f8fa; border-left: 4px solid #9ab; padding: .4em .8em; margin: .6em 0; font-size: .92em; }
code { background: #f2f2f2; padding: 0 .25em; }
.small { font-size: .85em; color: #555; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "n/a"
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    return str(value)


def seconds_text(s) -> str:
    if not isinstance(s, (int, float)) or not math.isfinite(s):
        return "n/a"
    s = int(round(s))
    return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def verdict_html(verdict: str) -> str:
    return f'<span class="verdict {VERDICT_CLASS.get(verdict, "nottested")}">{esc(verdict)}</span>'


def _table(header, rows, table_id=None, numeric_from: int = 1) -> str:
    tid = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header) if header else ""
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if isinstance(cell, tuple) and cell and cell[0] == "html":
                cells.append(f"<td>{cell[1]}</td>")
            elif isinstance(cell, (int, float)) and not isinstance(cell, bool) and i >= numeric_from:
                cells.append(f'<td class="num">{esc(fmt(cell))}</td>')
            else:
                cells.append(f"<td>{esc(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table{tid}>{thead}<tbody>{''.join(body)}</tbody></table>"


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def claims_table(claims: list[dict]) -> str:
    rows = [[c["id"], c["figure"], c["statement"], c["rule"], c["measured"], ("html", verdict_html(c["verdict"]))]
            for c in claims]
    return _table(["", "figure", "the paper's claim", "rule for the verdict", "measured in this run", "verdict"],
                  rows, "claims", numeric_from=99)


def vs_raw_table(rows: list[dict]) -> str:
    out = []
    for r in rows:
        arrow = "higher" if r["higher_is_better"] else "lower"
        out.append([r["experiment"], r["label"], f"{r['metric']} ({arrow} is better)", r["raw"], r["restored"],
                    ("html", verdict_html(r["verdict"]))])
    return _table(["experiment", "test input", "readout", "raw input", "restoration", "restoration vs raw"], out,
                  "vs-raw", numeric_from=3)


def _summary_table(results: dict) -> str:
    metrics = list(results["readout_metrics"]) + ["psnr", "ssim"]
    if results["readout"] == "mito_morphology":
        metrics.insert(2, "mito_mask_mae")
    else:
        metrics.insert(1, f"{results['readout']}_all_planes")
    labels = {a["key"]: a["label"] for a in results["arms"]}
    rows = []
    for arm, kinds in results["summary"].items():
        for kind, values in kinds.items():
            row = [labels.get(arm, arm), kind]
            for m in metrics:
                v = values.get(m)
                row.append(f"{fmt(v['mean'])} ± {fmt(v['sd'], 2)} (n={v['n']})" if v else "n/a")
            rows.append(row)
    return _table(["test input", "image"] + metrics, rows, numeric_from=99)


def _artefact_table(results: dict) -> str:
    labels = {a["key"]: a["label"] for a in results["arms"]}
    rows = []
    for arm, kinds in results["artefacts"]["summary"].items():
        for kind, values in kinds.items():
            get = (lambda k: values.get(k, {}).get("mean", math.nan))
            rows.append([labels.get(arm, arm), kind, get("merged"), get("split"), get("spurious"), get("missed"),
                         get("n_objects"), get("n_reference_objects")])
    return _table(["test input", "image", "merged ground-truth objects / image", "split ground-truth objects / image",
                   "spurious objects / image", "missed objects / image", "objects / image",
                   "ground-truth objects / image"], rows, numeric_from=2)


def _worse_planes_table(results: dict) -> str:
    """Per held-out stack and test input: the planes where the restoration is worse than the raw input."""
    entries = results.get("planes_worse_than_raw")
    if results["readout"] == "mito_morphology":
        return ("<p>Not listed per plane: this readout is of each stack's maximum projection, which has no "
                "planes.</p>")
    if entries is None:
        return ("<p>Not listed: this experiment was finished by an earlier version, which did not compare planes "
                "(run it again with <code>--force</code> to list them).</p>")
    labels = {a["key"]: a["label"] for a in results["arms"]}
    rows = []
    for e in entries:
        values = "; ".join(f"z{z}: {fmt(e['raw'][z])} -> {fmt(e['restored'][z])}" for z in e["planes"])
        rows.append([e["stack"], labels.get(e["arm"], e["arm"]), measure.planes_text(e["focus_planes"]),
                     measure.planes_text(e["planes"]) if e["planes"] else "none",
                     measure.planes_text(e["in_focus"]) if e["in_focus"] else "none", values or "-"])
    metric = measure.READOUT_LABELS[results["readout"]].split(" (")[0]
    return (f"<p>Each plane's {esc(metric)} against {esc(results['reference'])}, with the masks of the whole stack "
            "(as the readout makes them), for the raw input and the restoration; listed are the planes where the "
            "restoration's value is worse than the raw input's (z = 0 is the first plane). The readout is "
            "measured on the in-focus planes; worse planes outside them do not enter it but are real "
            "differences of the restoration.</p>"
            + _table(["stack", "test input", "in-focus planes (measured)",
                      "planes where the restoration is worse than the raw input", "of them in focus",
                      "raw -> restoration in those planes"], rows, numeric_from=99))


def _morphology_tables(results: dict) -> str:
    morph = results.get("morphology")
    if not morph:
        return ""
    rows = [[r["stack"], r.get("phenotype") or "?", r["kind"], r["mean_circularity"], r["mean_aspect_ratio"],
             r["n_particles"]] for r in morph["rows"]]
    per_image = _table(["image", "treatment", "from", "mean circularity", "mean aspect ratio", "objects"], rows,
                       numeric_from=3)
    sep_rows = []
    for kind, s in morph["separation"].items():
        line = s["line"]
        sep_rows.append([kind, s["n_dmso"], s["n_rotenone"], s["auc_circularity"], s["auc_aspect_ratio"],
                         s["auc_linear_loo"], "yes" if line["separates_all"] else "no",
                         line["negatives_misplaced"] if line["negatives_misplaced"] is not None else "n/a"])
    separation = _table(["images from", "DMSO", "Rotenone", "ROC AUC circularity", "ROC AUC aspect ratio (lower = "
                         "Rotenone)", "ROC AUC linear (leave-one-out)", "one line separates all",
                         "DMSO on the Rotenone side of the best line"], sep_rows, numeric_from=1)
    return ("<h3>Per-image morphology</h3>" + per_image + "<h3>Treatment separation</h3>" + separation)


def _networks_table(results: dict) -> str:
    rows = [[n["key"], n["regime"], " + ".join(n["inputs"]) + " -> " + n["target"]
             + (f" (binned {n['bin_factor']}x{n['bin_factor']})" if n.get("bin_factor") else ""),
             n["n_patches"], n["epochs_done"], "yes" if n["probabilistic"] else "no", n.get("final_val_loss"),
             seconds_text(n["train_seconds"])] for n in results["networks"]]
    return _table(["network", "regime", "input -> target", "training patches", "epochs", "probabilistic",
                   "final validation loss", "training time"], rows, numeric_from=3)


def _settings_table(results: dict) -> str:
    preset = results["preset"]
    s = results["settings"]
    sp = results["specimen"]
    rows = [["scale", s["scale"]], ["data", results["data"]["origin"]],
            ["training stacks / held-out stacks", f"{s['n_train'][sp]} / {len(results['stacks'])}"
             if "simulated" in results["data"]["origin"] else f"held-out: {len(results['stacks'])}"],
            ["simulated stack size (Z, Y, X)", "x".join(map(str, s["shapes"][sp]))
             if "simulated" in results["data"]["origin"] else "as recorded"],
            ["preset", f"{preset['name']} ({preset.get('source', '')})"],
            ["patch size (Z, Y, X)", "x".join(map(str, preset["patch_size"]))],
            ["patches per stack (after 8-fold augmentation)", preset["n_patches_per_image"]],
            ["epochs x steps x batch", f"{preset['train_epochs']} x {preset['train_steps_per_epoch']} x "
                                       f"{preset['train_batch_size']}"],
            ["U-Net depth / first filters / kernel", f"{preset['unet_n_depth']} / {preset['unet_n_first']} / "
                                                     f"{preset['unet_kern_size']}"],
            ["probabilistic", preset["probabilistic"]], ["learning rate", preset["train_learning_rate"]],
            ["validation split", preset["validation_split"]],
            ["prediction tiles", "x".join(map(str, s["tiles"])) if s.get("tiles") else "none"],
            ["seeds (training / held-out data)", f"{s['seed']} / {s['test_seed']}"],
            ["Fiji steps computed by", s["engine"]]]
    return _table(["setting", "value"], rows, numeric_from=99)


def run_time_table(seconds: dict) -> str:
    """Each step's time and the experiment's total (the runner's wall time ``"total"``, not added again)."""
    steps = {k: v for k, v in seconds.items() if k != "total"}
    total = seconds.get("total", sum(steps.values()))
    return _table(["step", "time"], [[k, seconds_text(v)] for k, v in steps.items()]
                  + [["total", seconds_text(total)]], numeric_from=99)


def experiment_section(results: dict, exp_dir: Path, rel_dir: str) -> str:
    parts = [f'<h2 id="exp-{esc(results["id"])}">{esc(results["id"])} &mdash; {esc(results["title"])} '
             f'<span class="small">({esc(results["figure"])})</span></h2>',
             f"<p>{esc(results['description'])}</p>"]
    for note in results.get("notes", []) + results.get("plan_notes", []):
        parts.append(f'<div class="note">{esc(note)}</div>')
    for fig in results.get("figures", []):
        path = exp_dir / fig["file"]
        parts.append(f'<figure><img alt="{esc(results["id"])}: {esc(fig["title"])}" src="{_img(path)}">'
                     f"<figcaption><b>{esc(fig['title'])}.</b> {esc(fig['caption'])}</figcaption></figure>")
    parts.append(f"<h3>Readout (means ± SD over held-out stacks, against {esc(results['reference'])})</h3>")
    parts.append(_summary_table(results))
    parts.append("<h3>Artefact check (objects per image)</h3>")
    parts.append(_artefact_table(results))
    parts.append("<h3>Planes where the restoration is worse than the raw input</h3>")
    parts.append(_worse_planes_table(results))
    parts.append(_morphology_tables(results))
    parts.append("<h3>Networks</h3>" + _networks_table(results))
    parts.append("<h3>Settings</h3>" + _settings_table(results))
    parts.append("<h3>Run time</h3>" + run_time_table(results.get("seconds", {})))
    parts.append(f'<p class="small">Files: <a href="{esc(rel_dir)}/metrics.csv">metrics.csv</a>, '
                 f'<a href="{esc(rel_dir)}/results.json">results.json</a>, '
                 f'<a href="{esc(rel_dir)}/artefacts.csv">artefacts.csv</a>, restored stacks (TIFF) in '
                 f'<code>{esc(rel_dir)}/restored/</code>.</p>')
    return "\n".join(parts)


def build_report(run: dict, finished: dict, claims: list[dict], vs_raw: list[dict], out_dir: Path) -> str:
    """The whole HTML page as a string."""
    info_rows = [["command", run["command"]], ["started / finished", f"{run['started']} / {run['finished']}"],
                 ["this run's time", seconds_text(run["seconds"])],
                 ["time of all experiments in this report", seconds_text(run["experiments_seconds"])],
                 ["scale", run["settings"]["scale"]], ["data", run["data"]],
                 ["Fiji steps computed by", run["settings"]["engine"]],
                 ["machine", run["machine"]], ["versions", run["versions"]]]
    status_rows = [[eid, s["status"], s.get("message", "")] for eid, s in run["experiments"].items()]
    sections = [experiment_section(finished[eid], out_dir / "experiments" / eid, f"experiments/{eid}")
                for eid in finished]
    toc = " · ".join(f'<a href="#exp-{esc(eid)}">{esc(eid)} {esc(finished[eid]["title"])}</a>' for eid in finished)
    counts = {v: sum(1 for c in claims if c["verdict"] == v) for v in claims_mod.VERDICTS}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lumicare reproduce: CARE for luminescence microscopy</title>
<style>{STYLE}</style></head>
<body>
<h1>Reproduction: content-aware image restoration in luminescence microscopy</h1>
<p>Boothe, Ivanković, Grohme &amp; Rink, <i>Content-aware image restoration improves spatiotemporal resolution in
luminescence microscopy</i>: each experiment of Figures 1 and 2 run again with <code>lumicare reproduce</code> on
{esc(run['data'])}, measured with the paper's Fiji readouts (lumicare_ij.analysis). Verdicts are computed from the
numbers below by the rules stated next to them; none is decided in advance.</p>
{_table(None, info_rows, numeric_from=99)}
<h2 id="claims-section">The paper's claims</h2>
<p>{counts['met']} met, {counts['partly met']} partly met, {counts['not met']} not met, {counts['not tested']} not
tested.</p>
{claims_table(claims)}
<h2>Restoration versus raw input</h2>
<p>For every test input, the experiment's readout of the restoration and of the raw input (means over held-out
stacks; binned inputs upsampled without interpolation).</p>
{vs_raw_table(vs_raw)}
<h2>Experiments in this run</h2>
{_table(["experiment", "status", "message"], status_rows, numeric_from=99)}
<p>{toc}</p>
{''.join(sections)}
<h2>Files</h2>
<p><a href="metrics.csv">metrics.csv</a> and <a href="metrics.json">metrics.json</a> (every per-stack value of every
experiment), <a href="claims.json">claims.json</a> / <a href="claims.csv">claims.csv</a>, and per experiment
<code>experiments/&lt;id&gt;/</code>: results.json, metrics.csv, artefacts.csv, restored/ (TIFF restorations and
scale maps), figures/ (PNG), models/ (CARE model folders).</p>
<p class="small">Readouts: {esc('; '.join(f'{k}: {v}' for k, v in measure.READOUT_LABELS.items()))}.</p>
</body></html>
"""
