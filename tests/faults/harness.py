"""Kill a `lumicare` command at seeded moments, check what it left, rerun it, compare with a clean run.

Each command runs in a fresh process, in the same absolute folder every
time (records name their paths, so a run elsewhere would differ in them).
After a kill every file under a final name must read back whole; hidden
``.XXXXXXXX.part.NAME`` files are the atomic writer's unfinished
temporaries and may remain until the rerun.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from lumicare_ij.atomic import is_temporary

#: Record keys whose values differ between two runs of the same job by nature (clock, process, resumption).
VOLATILE_KEY = re.compile(r"(second|time|date|created|started|finished_at|elapsed|duration|host|pid|resumed|"
                          r"wall|cpu_percent|load|^finished$|^message$)", re.I)
#: What a run record says the run itself did, not what it produced: a rerun reuses finished work.
RERUN_WORDS = {"finished earlier (kept)": "finished"}
#: Clock readings inside text ("in 0m14s", ISO times).
VOLATILE_TEXT = re.compile(r"\d+m\d+s|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ ,;'\"]*")
#: Files that hold a clock or a renderer's bytes: checked for validity only.
VALIDITY_ONLY = {".html", ".png", ".svg", ".md", ".txt", ".log", ".pb", ""}


def lumicare(args) -> list[str]:
    """The argv of ``lumicare ARGS`` in this Python."""
    return [sys.executable, "-m", "lumicare_ij.cli", *map(str, args)]


def run(argv, timeout_s=1800) -> subprocess.CompletedProcess:
    """Run a command to its end."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=_env())


def run_and_kill(argv, delay_s: float) -> int | None:
    """Start the command, SIGKILL its whole process group after ``delay_s``; None if it was killed, else its exit code."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                            start_new_session=True)  # its own group: Dask's worker processes die with it
    try:
        return proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_for_group_gone(proc.pid)
        return None


def _wait_for_group_gone(pgid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive {timeout_s} s after SIGKILL")


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def final_files(root: Path) -> list[Path]:
    """Every file under ``root`` not inside or named as a temporary."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(is_temporary(part) for part in rel.parts):
            continue
        if path.is_file():
            out.append(path)
    return out


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if is_temporary(p))


def check_complete(path: Path) -> None:
    """Read ``path`` back in full by its type; raises if it is truncated or damaged."""
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        from lumicare_ij.io import read_array
        assert read_array(path).size > 0
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                data[key].tobytes()  # reads the whole member
    elif suffix == ".h5":
        import h5py
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
    elif suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None, f"{path}: damaged member"
    elif suffix == ".csv":
        list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    elif suffix in (".yaml", ".yml"):
        import yaml
        yaml.safe_load(path.read_text(encoding="utf-8"))
    elif suffix == ".png":
        from PIL import Image
        with Image.open(path) as im:
            im.load()
    elif suffix in (".html", ".md", ".txt", ".ijm", ".py", ".groovy"):
        assert path.read_text(encoding="utf-8")
    else:
        assert path.stat().st_size > 0 or path.name in (".zgroup", ".zattrs", "zarr.json"), f"{path} is empty"


def check_tree(root: Path) -> int:
    """Check every final file under ``root``; return how many were checked."""
    files = final_files(root) if root.exists() else []
    for path in files:
        try:
            check_complete(path)
        except Exception as err:  # noqa: BLE001 - any failure to read back is the finding
            raise AssertionError(f"{path} is under a final name but incomplete: {type(err).__name__}: {err}") from err
    return len(files)


def strip_volatile(value):
    """A record without what two runs of one job differ in by nature: clock times, durations, process facts,
    and whether this run computed a part or found it finished (its status words and messages)."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if not VOLATILE_KEY.search(k)}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    if isinstance(value, str):
        return RERUN_WORDS.get(value, VOLATILE_TEXT.sub("<clock>", value))
    return value


def _same_content(a: Path, b: Path) -> str | None:
    """None if ``a`` and ``b`` hold the same result, else what differs."""
    suffix = a.suffix.lower()
    if suffix in (".tif", ".tiff"):
        from lumicare_ij.io import read_array
        if not np.array_equal(read_array(a), read_array(b), equal_nan=True):
            return "pixels differ"
    elif suffix == ".json":
        if strip_volatile(json.loads(a.read_text())) != strip_volatile(json.loads(b.read_text())):
            return "records differ"
    elif suffix == ".npz":
        with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
            if x.files != y.files or any(not np.array_equal(x[k], y[k]) for k in x.files):
                return "arrays differ"
    elif suffix == ".h5":
        import h5py
        with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
            if _h5_arrays(x) != _h5_arrays(y):
                return "weights differ"
    elif suffix == ".csv":
        if _csv_rows(a) != _csv_rows(b):
            return "tables differ"
    elif suffix == ".zip":
        with zipfile.ZipFile(a) as x, zipfile.ZipFile(b) as y:
            if sorted(x.namelist()) != sorted(y.namelist()):
                return "archive members differ"
    elif suffix not in VALIDITY_ONLY and a.read_bytes() != b.read_bytes():
        return "bytes differ"
    return None


def _h5_arrays(f) -> list:
    """Weights in the network's order (Keras' legacy HDF5 lists them): two processes may number the same
    layers differently (Keras names them from a per-process counter)."""
    if "layer_names" not in f.attrs:
        out = {}
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()].tobytes()) if hasattr(obj, "shape") else None)
        return sorted(out.items())
    arrays = []
    for layer in f.attrs["layer_names"]:
        group = f[layer]
        arrays += [(group[name][()].shape, group[name][()].tobytes()) for name in group.attrs["weight_names"]]
    return arrays


def _csv_rows(path: Path) -> list[dict]:
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    return [{k: VOLATILE_TEXT.sub("<clock>", v or "") for k, v in row.items() if not VOLATILE_KEY.search(k or "")}
            for row in rows]


def compare_trees(reference: Path, result: Path) -> list[str]:
    """What differs between a clean run's folder and a killed-then-rerun one (empty list: equal)."""
    ref = {p.relative_to(reference) for p in final_files(reference)}
    got = {p.relative_to(result) for p in final_files(result)}
    problems = [f"missing {p}" for p in sorted(ref - got)] + [f"extra {p}" for p in sorted(got - ref)]
    for rel in sorted(ref & got):
        diff = _same_content(reference / rel, result / rel)
        if diff:
            problems.append(f"{rel}: {diff}")
    return problems


def kill_delays(seed: int, n: int, duration_s: float, first_write_s: float | None) -> list[float]:
    """``n`` seeded moments: half anywhere in 5-110 % of the clean run (start-up, work, the very end), half
    while it writes (from its first file to its end), since start-up dominates these short runs."""
    rng = np.random.default_rng(seed)
    anywhere = rng.uniform(0.05, 1.1, n - n // 2) * duration_s
    start = first_write_s if first_write_s is not None else 0.05 * duration_s
    writing = rng.uniform(start, duration_s, n // 2)
    return sorted(float(t) for t in np.concatenate([anywhere, writing]))


def timed_clean_run(argv, run_dir: Path, timeout_s=1800) -> tuple[subprocess.CompletedProcess, float, float | None]:
    """Run to the end; return the result, its duration and when its first file appeared under ``run_dir``.

    Its output goes to files, not pipes: a pipe nobody reads while polling
    fills after 64 KiB (a long command's progress bars) and then blocks the
    command for good."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=_env())
        first_write_s = None
        while proc.poll() is None:
            if first_write_s is None and run_dir.exists() and any(p.is_file() for p in run_dir.rglob("*")):
                first_write_s = time.perf_counter() - started
            if time.perf_counter() - started > timeout_s:
                proc.kill()
            time.sleep(0.02)
        duration_s = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read()), duration_s, first_write_s


def move_away(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    if src.exists():
        src.rename(dst)


def _new_stats(name: str, duration_s: float, first_write_s: float | None, n_points: int) -> dict:
    return {"command": name, "clean_run_s": round(duration_s, 1),
            "first_write_s": None if first_write_s is None else round(first_write_s, 1), "kill_points": n_points,
            "killed": 0, "killed_after_writing_began": 0, "finished_before_kill": 0, "files_checked_after_kill": 0,
            "temporaries_left_by_kill": 0, "reruns": 0, "results_lost": 0, "problems": []}


def _clean_reference(scenario, inputs: Path, work: Path) -> tuple[Path, float, float | None]:
    """Run the command once without a kill; its folder becomes the reference every rerun must equal."""
    run_dir = work / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    clean, duration_s, first_write_s = timed_clean_run(scenario.argv(run_dir, inputs), run_dir)
    assert clean.returncode == 0, f"clean run of {scenario.name} failed:\n{clean.stdout}\n{clean.stderr}"
    reference = work / "reference"
    move_away(run_dir, reference)
    return reference, duration_s, first_write_s


def _kill_and_check(argv, run_dir: Path, delay_s: float, stats: dict, where: str) -> int | None | str:
    """Run ``argv`` and kill it after ``delay_s``; count the kill and check what it left.

    Returns None if it was killed and left only complete files, 0 if it
    finished first, or "problem" (recorded in ``stats``)."""
    code = run_and_kill(argv, delay_s)
    stats["killed" if code is None else "finished_before_kill"] += 1
    if code not in (None, 0):
        stats["problems"].append(f"{where}: exited {code} before the kill")
        return "problem"
    try:
        stats["files_checked_after_kill"] += check_tree(run_dir)
    except AssertionError as err:
        stats["problems"].append(f"{where}: {err}")
        return "problem"
    stats["temporaries_left_by_kill"] += len(temporaries(run_dir)) if run_dir.exists() else 0
    if code is None and run_dir.exists() and any(p.is_file() for p in run_dir.rglob("*")):
        stats["killed_after_writing_began"] += 1
    return code


def _rerun_and_compare(scenario, inputs: Path, run_dir: Path, reference: Path, stats: dict, where: str) -> bool:
    """Continue the killed run to its end and compare with the clean run; False (recorded) if it failed or differs."""
    again = run(scenario.rerun_argv(run_dir, inputs))
    stats["reruns"] += 1
    if again.returncode != 0:
        stats["problems"].append(f"{where}: the rerun exited {again.returncode}: "
                                 f"{(again.stderr or again.stdout).strip()[-800:]}")
        stats["results_lost"] += 1
        return False
    return _compare(reference, run_dir, stats, where)


def _compare(reference: Path, run_dir: Path, stats: dict, where: str) -> bool:
    differences = compare_trees(reference, run_dir) + [f"temporary left after the rerun: {p.name}"
                                                       for p in temporaries(run_dir)]
    if differences:
        stats["problems"].append(f"{where}: " + "; ".join(differences[:5]))
        stats["results_lost"] += 1
    return not differences


def exercise(scenario, inputs: Path, work: Path, n_points: int, seed: int, log=print) -> dict:
    """A clean run, then ``n_points`` runs killed at seeded moments, each checked, rerun and compared.

    Returns counts for the reliability table and ``problems``: every file
    found incomplete, rerun that failed, or result that differs from the
    clean run's (empty when all is well).
    """
    reference, duration_s, first_write_s = _clean_reference(scenario, inputs, work)
    run_dir = work / "run"
    stats = _new_stats(scenario.name, duration_s, first_write_s, n_points)
    for i, delay_s in enumerate(kill_delays(seed, n_points, duration_s, first_write_s)):
        shutil.rmtree(run_dir, ignore_errors=True)
        where = f"{scenario.name}, kill point {i} at {delay_s:.2f} s"
        code = _kill_and_check(scenario.argv(run_dir, inputs), run_dir, delay_s, stats, where)
        if code == "problem":
            continue
        equal = (_rerun_and_compare(scenario, inputs, run_dir, reference, stats, where) if code is None
                 else _compare(reference, run_dir, stats, where))
        log(f"{where}: {'killed' if code is None else 'finished first'}, "
            f"{'equal to the clean run' if equal else 'differs'}")
    return stats


def exercise_chained(scenario, inputs: Path, work: Path, n_chains: int, kills_per_chain: int, seed: int,
                     log=print) -> dict:
    """For commands too long to rerun from scratch per kill: ``n_chains`` times, start the command, kill it,
    check every final file, start it again (the rerun after a kill) and kill that too, ``kills_per_chain``
    times; then let the last rerun finish and compare with the clean run.

    Each kill lands on a run that itself continues a killed one, so this
    also proves resuming from a resumption. The moments are seeded: each
    kill comes 5-60 % of the clean run's duration after that run started.
    """
    reference, duration_s, first_write_s = _clean_reference(scenario, inputs, work)
    run_dir = work / "run"
    stats = _new_stats(scenario.name, duration_s, first_write_s, n_chains * kills_per_chain)
    rng = np.random.default_rng(seed)
    for chain in range(n_chains):
        shutil.rmtree(run_dir, ignore_errors=True)
        argv, finished, broken = scenario.argv(run_dir, inputs), False, False
        for link, delay_s in enumerate(rng.uniform(0.05, 0.6, kills_per_chain) * duration_s):
            where = f"{scenario.name}, chain {chain} kill {link} at {delay_s:.1f} s"
            code = _kill_and_check(argv, run_dir, float(delay_s), stats, where)
            log(f"{where}: {'killed' if code is None else 'finished first' if code == 0 else 'PROBLEM'}")
            if code == "problem":
                broken = True
                break
            if code == 0:
                finished = True
                break
            argv = scenario.rerun_argv(run_dir, inputs)
        if broken:
            continue
        where = f"{scenario.name}, chain {chain}"
        equal = (_compare(reference, run_dir, stats, where) if finished
                 else _rerun_and_compare(scenario, inputs, run_dir, reference, stats, where))
        log(f"{where}: {'equal to the clean run' if equal else 'differs'}")
    return stats
