"""Resuming: finished experiments are never recomputed or overwritten without --force; faults leave no corrupt output."""

import errno
import json
import shutil
from pathlib import Path

import pytest

from lumicare_ij import care, cli
from lumicare_ij import io as lio
from lumicare_ij.reproduce import ReproduceError, experiments, figures, reproduce, runner

from .conftest import tiny_settings


@pytest.fixture
def copy(tiny_run, tmp_path):
    """A private copy of the tiny run's output folder (tests here change it)."""
    out, _, _ = tiny_run
    dst = tmp_path / "out"
    shutil.copytree(out, dst, symlinks=True)
    # the simulated data live in the copy too; nothing points back except recorded paths
    return dst


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(out, **kw):
    lines = []
    summary = reproduce(out, settings=kw.pop("settings", tiny_settings()), log=lines.append, **kw)
    return summary, lines


def never(*args, **kwargs):
    raise AssertionError("must not be called")


def test_rerun_keeps_finished_results_untouched(copy, monkeypatch):
    before = {eid: snapshot(copy / "experiments" / eid) for eid in ("1c", "2a")}
    monkeypatch.setattr(experiments, "run_experiment", never)
    summary, lines = run(copy, experiments=["1c", "2a"])
    assert {s["status"] for s in summary["experiments"].values()} == {"finished earlier (kept)"}
    assert any("1c: finished earlier (kept)" in line for line in lines)
    for eid in ("1c", "2a"):
        assert snapshot(copy / "experiments" / eid) == before[eid]
    assert 'id="claims"' in (copy / "report.html").read_text()


def test_other_settings_are_refused_without_force(copy, monkeypatch):
    before = snapshot(copy / "experiments" / "1c")
    monkeypatch.setattr(experiments, "run_experiment", never)
    with pytest.raises(ReproduceError, match="finished with other settings.*--force"):
        run(copy, experiments=["1c"], settings=tiny_settings(seed=7))
    assert snapshot(copy / "experiments" / "1c") == before


def test_force_redoes_the_chosen_experiment_only(copy, monkeypatch):
    calls = []
    real = experiments.run_experiment

    def counting(exp, ctx):
        calls.append(exp.id)
        return real(exp, ctx)

    monkeypatch.setattr(experiments, "run_experiment", counting)
    kept = snapshot(copy / "experiments" / "2a")
    old = json.loads((copy / "experiments" / "1c" / "DONE.json").read_text())["finished"]
    summary, _ = run(copy, experiments=["1c"], force=True)
    assert calls == ["1c"] and summary["experiments"]["1c"]["status"] == "finished"
    assert (copy / "experiments" / "1c" / "DONE.json").is_file()
    assert json.loads((copy / "experiments" / "1c" / "DONE.json").read_text())["finished"] >= old
    assert snapshot(copy / "experiments" / "2a") == kept
    # the report still holds both experiments (2a finished earlier with the same settings)
    html = (copy / "report.html").read_text()
    assert 'id="exp-1c"' in html and 'id="exp-2a"' in html


def test_interrupted_run_resumes_reusing_finished_networks(copy, monkeypatch):
    exp_dir = copy / "experiments" / "2a"
    (exp_dir / "DONE.json").unlink()  # as if stopped before the experiment finished

    def interrupt(exp, ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run_experiment", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(copy, experiments=["1c", "2a"])
    assert not (exp_dir / "DONE.json").exists() and (copy / "experiments" / "1c" / "DONE.json").is_file()
    monkeypatch.undo()
    monkeypatch.setattr(care, "train", never)  # its two networks were finished: no training again
    summary, lines = run(copy, experiments=["1c", "2a"])
    assert summary["experiments"]["2a"]["status"] == "finished"
    assert summary["experiments"]["1c"]["status"] == "finished earlier (kept)"
    assert sum("finished earlier, reused" in line for line in lines) == 2
    assert (exp_dir / "DONE.json").is_file()


def test_full_disk_during_an_experiment_is_explained_and_leaves_nothing_corrupt(copy, monkeypatch):
    exp_dir = copy / "experiments" / "2a"
    (exp_dir / "DONE.json").unlink()
    report_before = (copy / "report.html").read_bytes()

    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(figures, "save_png", full)
    with pytest.raises(ReproduceError) as info:
        run(copy, experiments=["2a"])
    message = str(info.value)
    assert "disk is full" in message and "experiment 2a" in message and "run the same command again" in message
    assert not (exp_dir / "DONE.json").exists()
    assert (copy / "report.html").read_bytes() == report_before
    assert not list(copy.rglob("*.part"))


def test_full_disk_while_writing_the_report_keeps_the_old_report(copy, monkeypatch):
    report_before = (copy / "report.html").read_bytes()
    real = lio.atomic_write_text

    def half_then_full(path, text, overwrite=False):
        if Path(path).name == "report.html":
            def write(tmp):
                Path(tmp).write_text(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
            lio.atomic_write(Path(path), write, overwrite=True)
        return real(path, text, overwrite=overwrite)

    monkeypatch.setattr(runner.lio, "atomic_write_text", half_then_full)
    with pytest.raises(ReproduceError, match="disk is full.*writing the report"):
        run(copy, experiments=["1c"])
    assert (copy / "report.html").read_bytes() == report_before
    assert not list(copy.rglob("*.part")) and not list(copy.rglob(".report.html.*"))


def test_ctrl_c_in_the_cli_says_how_to_resume(tmp_path, monkeypatch, capsys):
    import lumicare_ij.reproduce as rp

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rp, "reproduce", interrupt)
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path / "o")]) == 130
    assert "Run the same command again to resume" in capsys.readouterr().err
