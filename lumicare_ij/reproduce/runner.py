"""Orchestration: plan, run (resumably), write results, claims and the report.

Output folder (``--out``, default ``lumicare-reproduce``)::

    report.html                 the self-contained report
    metrics.csv, metrics.json   every per-stack value of every finished experiment
    claims.json, claims.csv     the claims with measured values and verdicts
    run.json                    this run: command, settings, statuses, times
    data/<scale>/<specimen>/{train,test}/   simulated data (or data/own/: links to --data)
    experiments/<id>/
        DONE.json               written last: the experiment is finished
        results.json, metrics.csv, artefacts.csv
        restored/<input>/<stack>.tif (+ _scale.tif)   restorations (TIFF)
        figures/*.png           the report's figures
        models/<network>/       CARE models (network-done.json when finished)
        work/                   training patches (.npz) and links

Resuming: an experiment with ``DONE.json`` is never recomputed or
overwritten, unless ``force``; an unfinished one is redone, reusing the
networks it had finished (and continuing an interrupted training from its
last epoch). ``DONE.json`` records the settings; a finished experiment made
with other settings is an error (choose another ``--out`` or ``--force``).
Every file is written atomically, so a crash or a full disk never leaves a
half-written file under its final name.
"""

from __future__ import annotations

import csv
import datetime
import errno
import io as _stringio
import json
import os
import platform
import shutil
import time
import traceback
from pathlib import Path

from .. import io as lio
from ..errors import LumicareError
from . import claims as claims_mod
from . import experiments as ex
from . import settings as settings_mod
from .datasets import DataError, OwnData, SimulatedData

DONE_NAME = "DONE.json"


class ReproduceError(LumicareError):
    """A reproduction that cannot go on, with what to do about it."""


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s"


class Progress:
    """Numbered steps with elapsed time (training epochs get their own bar from care.train)."""

    def __init__(self, total: int, log=print, enabled: bool = True):
        self.total, self.log, self.enabled = total, log, enabled
        self.i = 0
        self.started = time.perf_counter()

    def step(self, text: str) -> None:
        self.i += 1
        if self.enabled:
            self.log(f"[{self.i}/{self.total} {_elapsed(time.perf_counter() - self.started)}] {text}")

    def note(self, text: str) -> None:
        if self.enabled:
            self.log(f"    {text}")


def is_disk_full(err: BaseException) -> bool:
    """True for 'No space left on device' (or quota exceeded) anywhere in an exception chain."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(err) or "Disk quota exceeded" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def _disk_full_message(out: Path, where: str, finished: list[str]) -> str:
    try:
        free = shutil.disk_usage(out if out.exists() else out.parent).free / 1e6
        free_text = f" ({free:.0f} MB free now)"
    except OSError:
        free_text = ""
    kept = f"Finished experiments ({', '.join(finished)}) are complete and kept. " if finished else ""
    return (f"the disk is full (No space left on device) while {where}{free_text}. {kept}Nothing half-written "
            f"was left under a final name; the unfinished experiment was not marked finished. Free space where "
            f"{out} lies and run the same command again: it resumes from the finished experiments and networks.")


def _csv_text(rows: list[dict]) -> str:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buffer = _stringio.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()})
    return buffer.getvalue()


def strict_json(obj):
    """``obj`` with NaN and infinities as None, so the JSON files are standard JSON."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _write_json(path: Path, obj) -> None:
    from ..training import to_json

    lio.atomic_write_text(path, to_json(strict_json(obj)), overwrite=True)


def _machine() -> str:
    gpus = _gpus()
    return (f"{platform.platform()}, {os.cpu_count()} CPU cores, "
            + (f"GPU: {', '.join(gpus)}" if gpus else "no GPU visible to TensorFlow"))


def _gpus() -> list[str]:
    try:
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - no TensorFlow, no GPU report
        return []


def _versions() -> str:
    from ..provenance import package_versions

    v = package_versions()
    return ", ".join(f"{k} {v[k]}" for k in ("lumicare_ij", "python", "tensorflow", "keras", "csbdeep", "numpy")
                     if k in v)


def _request(settings, data) -> dict:
    return {"settings": json.loads(settings.fingerprint()),
            "data": str(Path(data).expanduser().resolve()) if data else "simulated"}


def read_finished(out: Path, request: dict | None = None) -> dict:
    """``{id: results}`` of the finished experiments in ``out`` (made with ``request``, if given)."""
    found = {}
    for eid in ex.EXPERIMENT_IDS:
        exp_dir = out / "experiments" / eid
        done = exp_dir / DONE_NAME
        if not done.is_file():
            continue
        marker = json.loads(done.read_text(encoding="utf-8"))
        if request is not None and marker.get("request") != request:
            continue
        found[eid] = json.loads((exp_dir / "results.json").read_text(encoding="utf-8"))
    return found


def reproduce(out_dir="lumicare-reproduce", *, quick: bool = False, experiments=None, data=None,
              force: bool = False, engine: str = "numpy", progress: bool = True, log=print,
              settings: settings_mod.Settings | None = None, command: str | None = None) -> dict:
    """Run the paper's experiments and write the report.

    Parameters
    ----------
    out_dir : path
        Everything goes here (see the module docstring).
    quick : bool
        The ``quick`` scale (small data, 2 CPU cores, under 30 minutes); else the paper's (a GPU).
    experiments : list of str, optional
        Some of ``1a 1b 1c 2a 2b``; default all.
    data : path, optional
        Own data instead of simulated (a folder or a JSON/YAML mapping, see
        :mod:`lumicare_ij.reproduce.datasets`); experiments whose conditions
        are missing are skipped with a message.
    force : bool
        Redo the chosen experiments even if finished.
    engine : {"numpy", "imagej"}
        Who computes the Fiji steps of the readouts.
    settings : Settings, optional
        Custom scale (tests); overrides ``quick``.

    Returns
    -------
    dict
        ``report`` (path), ``claims``, ``experiments`` (status per id), ``seconds``.

    Raises
    ------
    ReproduceError
        Unknown experiment, unusable ``--data``, finished results made with
        other settings (without ``force``), or a full disk.
    """
    started, t_start = _now(), time.perf_counter()
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # Keras' retracing notes help nobody here
    settings = (settings or (settings_mod.quick() if quick else settings_mod.paper())).replace(engine=engine)
    ids = list(dict.fromkeys(experiments or ex.EXPERIMENT_IDS))
    unknown = [e for e in ids if e not in ex.EXPERIMENT_IDS]
    if unknown:
        raise ReproduceError(f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(ex.EXPERIMENT_IDS)}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReproduceError(f"--out {out} is a file; give a folder.")
    request = _request(settings, data)
    try:
        source = (OwnData(data, out / "data" / "own") if data is not None
                  else SimulatedData(out / "data" / settings.scale, settings, progress=progress))
    except DataError as err:
        raise ReproduceError(str(err)) from None

    statuses, to_run = plan_run(out, source, ids, settings, request, force)
    for eid, s in statuses.items():
        if progress and s["status"] != "to run":
            log(f"{eid}: {s['status']}{': ' + s['message'] if s['message'] else ''}")
    if progress and not quick and settings.scale == "paper" and to_run and not _gpus():
        log("note: the paper's presets are meant for a GPU (see docs/reproduce.md for the expected time); "
            "on a CPU use --quick.")
    total_steps = sum(len(e.networks) + 3 for e, _ in to_run)
    prog = Progress(total_steps, log, progress)

    finished_now = []
    current = None
    try:
        for exp, notes in to_run:
            current = exp.id
            exp_dir = out / "experiments" / exp.id
            if force and exp_dir.exists():
                shutil.rmtree(exp_dir)
            exp_dir.mkdir(parents=True, exist_ok=True)
            try:
                data_ = source.dataset(exp.specimen)
            except DataError as err:
                statuses[exp.id] = {"status": "skipped", "message": str(err)}
                log(f"{exp.id}: skipped: {err}")
                continue
            ctx = ex.Context(settings, data_, exp_dir, prog, show_bars=progress)
            t0 = time.perf_counter()
            try:
                results = ex.run_experiment(exp, ctx)
            except (KeyboardInterrupt, ReproduceError):
                raise
            except Exception as err:  # noqa: BLE001 - one failed experiment must not stop the others
                if is_disk_full(err):
                    raise
                statuses[exp.id] = {"status": "failed", "message": f"{type(err).__name__}: {err}"}
                lio.atomic_write_text(exp_dir / "error.txt", traceback.format_exc(), overwrite=True)
                log(f"{exp.id}: FAILED: {type(err).__name__}: {err} (details: {exp_dir / 'error.txt'})")
                continue
            t1 = time.perf_counter()
            results["planes_worse_than_raw"] = planes_worse_than_raw(exp, data_, exp_dir, results, settings.engine)
            results["seconds"]["planes worse than raw"] = round(time.perf_counter() - t1, 1)
            results["plan_notes"] = notes
            results["seconds"]["total"] = round(time.perf_counter() - t0, 1)
            _write_json(exp_dir / "results.json", results)
            lio.atomic_write_text(exp_dir / "metrics.csv", _csv_text(results["rows"]), overwrite=True)
            lio.atomic_write_text(exp_dir / "artefacts.csv", _csv_text(results["artefacts"]["rows"]), overwrite=True)
            _write_json(exp_dir / DONE_NAME, {"request": request, "finished": _now(),
                                              "seconds": results["seconds"]["total"]})  # last
            statuses[exp.id] = {"status": "finished", "message": f"in {_elapsed(results['seconds']['total'])}"}
            finished_now.append(exp.id)
            if progress:
                log(f"{exp.id}: finished in {_elapsed(results['seconds']['total'])}")
        current = None
        return _write_outputs(out, request, statuses, settings, data, started, t_start, command, log, progress)
    except Exception as err:
        if is_disk_full(err):
            where = f"running experiment {current}" if current else "writing the report"
            raise ReproduceError(_disk_full_message(out, where, finished_now)) from None
        raise


def planes_worse_than_raw(exp, data, exp_dir: Path, results: dict, engine: str = "numpy") -> list[dict] | None:
    """Per held-out stack and test input, the planes where the restoration is worse than the raw input.

    :func:`.measure.planes_worse_than_raw` of every stack the experiment
    measured, against its reference, the raw input brought to the
    reference's size as the readout has it. None for Figure 2b, whose
    readout is of the maximum projection (no planes).
    """
    from . import measure

    if exp.readout not in ("mask_mae", "nuclear_pearson"):
        return None
    out = []
    for stack in results["stacks"]:
        reference = lio.read_array(data.test_dir / exp.reference / f"{stack}.tif")
        if reference.ndim != 3:
            continue
        for arm in results["arms"]:
            raw = ex._raw_at_reference_size(lio.read_array(Path(arm["test_folder"]) / f"{stack}.tif"),
                                            reference.shape)
            restored = lio.read_array(exp_dir / "restored" / arm["key"] / f"{stack}.tif")
            out.append({"stack": stack, "arm": arm["key"],
                        **measure.planes_worse_than_raw(exp.readout, raw, restored, reference, engine=engine)})
    return out


def plan_run(out: Path, source, ids, settings, request: dict, force: bool = False):
    """``(statuses, to_run)``: which experiments can run on these data, which are finished already.

    ``statuses`` maps every id to ``{"status", "message"}`` (skipped with what is
    missing, finished earlier, or to run); ``to_run`` lists ``(Experiment, notes)``.
    Raises ReproduceError for a finished experiment made with other settings (unless ``force``).
    """
    statuses, to_run = {}, []
    for eid in ids:
        exp = ex.define(eid, settings)
        avail = source.available(exp.specimen)
        if avail.problem:
            statuses[eid] = {"status": "skipped", "message": avail.problem}
            continue
        p = ex.plan(exp, avail.train_conditions, avail.test_conditions)
        if p.experiment is None:
            statuses[eid] = {"status": "skipped", "message": f"{p.skipped}"
                             + (f" ({'; '.join(p.notes)})" if p.notes else "")}
            continue
        exp_dir = out / "experiments" / eid
        done = exp_dir / DONE_NAME
        if done.is_file() and not force:
            marker = json.loads(done.read_text(encoding="utf-8"))
            if marker.get("request") != request:
                raise ReproduceError(
                    f"{exp_dir} was finished with other settings or data ({marker.get('request', {}).get('data')}, "
                    f"scale {marker.get('request', {}).get('settings', {}).get('scale')}); it is not overwritten. "
                    "Use --force to redo it with these settings, or choose another --out.")
            statuses[eid] = {"status": "finished earlier (kept)", "message": f"finished {marker.get('finished')}"}
            continue
        to_run.append((p.experiment, p.notes))
        statuses[eid] = {"status": "to run", "message": "; ".join(p.notes)}
    return statuses, to_run


def _write_outputs(out, request, statuses, settings, data, started, t_start, command, log, progress) -> dict:
    from . import report

    finished = read_finished(out, request)
    claims = claims_mod.evaluate_claims(finished)
    vs_raw = [row for eid in finished for row in claims_mod.restoration_vs_raw(finished[eid])]
    run = {"command": command or "lumicare_ij.reproduce.reproduce(...)", "started": started, "finished": _now(),
           "seconds": round(time.perf_counter() - t_start, 1),
           "experiments_seconds": sum(r["seconds"].get("total", 0) for r in finished.values()),
           "settings": settings.as_dict(), "data": "simulated data (lumicare_ij.simulate)" if data is None
           else f"own data: {data}", "machine": _machine(), "versions": _versions(),
           "experiments": statuses}
    all_rows = [{"experiment": eid, **row} for eid, r in finished.items() for row in r["rows"]]
    _write_json(out / "metrics.json", {"rows": all_rows, "summary": {eid: r["summary"] for eid, r in finished.items()},
                                       "artefacts": {eid: r["artefacts"] for eid, r in finished.items()},
                                       "planes_worse_than_raw": {eid: r.get("planes_worse_than_raw")
                                                                 for eid, r in finished.items()},
                                       "morphology": {eid: r["morphology"] for eid, r in finished.items()
                                                      if r.get("morphology")}})
    lio.atomic_write_text(out / "metrics.csv", _csv_text(all_rows) if all_rows else "", overwrite=True)
    _write_json(out / "claims.json", {"claims": claims, "restoration_vs_raw": vs_raw,
                                      "rules": claims_mod.__doc__})
    lio.atomic_write_text(out / "claims.csv", _csv_text([{k: v for k, v in c.items() if k != "values"}
                                                          for c in claims]), overwrite=True)
    _write_json(out / "run.json", run)
    html = report.build_report(run, finished, claims, vs_raw, out)
    path = lio.atomic_write_text(out / "report.html", html, overwrite=True)
    if progress:
        log("")
        log(format_claims(claims))
        log(f"\nReport: {path}  (run time {_elapsed(run['seconds'])})")
    return {"report": str(path), "claims": claims, "restoration_vs_raw": vs_raw, "experiments": statuses,
            "seconds": run["seconds"]}


def format_claims(claims: list[dict]) -> str:
    """The claims as a few terminal lines."""
    lines = ["Claims of the paper (rules in the report):"]
    for c in claims:
        lines.append(f"  {c['id']:3s} {c['verdict'].upper():11s} {c['measured']}")
    return "\n".join(lines)

