"""Own data (--data): layouts, skip messages for missing conditions, and bad input explained."""

import json
import shutil

import pytest

from lumicare_ij import cli
from lumicare_ij.reproduce import DataError, ReproduceError, reproduce
from lumicare_ij.reproduce import runner
from lumicare_ij.reproduce.datasets import OwnData, parse_own_data
from lumicare_ij.simulate import simulate_dataset

from .conftest import tiny_settings


@pytest.fixture(scope="module")
def cyto(tmp_path_factory):
    """A simulated cytoplasmic dataset without lum_5s_rep2 and lum_0.5s (so 1b and 1c cannot run)."""
    out = tmp_path_factory.mktemp("own") / "cyto"
    simulate_dataset("cytoplasmic", out, n_stacks=3, shape_zyx=(4, 64, 64), seed=2, progress=False)
    for cond in ("lum_5s_rep2", "lum_0.5s"):
        shutil.rmtree(out / cond)
    return out


def plan(data, ids=("1a", "1b", "1c", "2a", "2b"), out=None):
    settings = tiny_settings()
    source = OwnData(data, (out or data.parent / "staging"))
    return runner.plan_run(data.parent / "nothing-here", source, list(ids), settings,
                           runner._request(settings, data))


def test_missing_conditions_skip_experiments_with_a_message(cyto):
    statuses, to_run = plan(cyto)
    assert statuses["1b"]["status"] == "skipped" and "lum_0.5s" in statuses["1b"]["message"]
    assert statuses["1c"]["status"] == "skipped" and "lum_5s_rep2" in statuses["1c"]["message"]
    assert statuses["2a"]["status"] == "skipped" and "no h2b data" in statuses["2a"]["message"]
    assert statuses["2b"]["status"] == "skipped" and "no tomm20 data" in statuses["2b"]["message"]
    # 1a runs with the exposures that exist, and says which one is missing.
    assert statuses["1a"]["status"] == "to run" and "0.5 s" in statuses["1a"]["message"]
    (exp, notes), = to_run
    assert [a.key for a in exp.arms] == ["1s", "2s", "5s", "10s"]
    assert "lum_0.5s" not in exp.networks[0].inputs


def test_cli_skips_everything_missing_and_still_writes_a_report(cyto, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["reproduce", "--quick", "--data", str(cyto), "--out", str(out),
                     "--experiment", "1b", "--experiment", "2a"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "1b: skipped: needs cytoplasmic condition(s) lum_0.5s" in printed.out
    assert "2a: skipped" in printed.out and "no h2b data" in printed.out
    html = (out / "report.html").read_text()
    assert 'id="claims"' in html and "skipped" in html
    assert json.loads((out / "run.json").read_text())["experiments"]["1b"]["status"] == "skipped"


def test_mapping_file_with_relative_folders_and_train_test(tmp_path):
    root = tmp_path / "acq"
    simulate_dataset("h2b", root / "h2b", n_stacks=2, shape_zyx=(4, 64, 64), seed=1, progress=False)
    mapping = {"h2b": {"train": {"lum_0.5s": "h2b/lum_0.5s", "fluo": "h2b/fluo", "lum_60s": "h2b/lum_60s"},
                       "test": {"lum_0.5s": "h2b/lum_0.5s", "fluo": "h2b/fluo", "lum_60s": "h2b/lum_60s"}}}
    spec = root / "conditions.json"
    spec.write_text(json.dumps(mapping))
    parsed = parse_own_data(spec)
    train, test = parsed["h2b"]
    assert set(train) == {"lum_0.5s", "fluo", "lum_60s"} and test["fluo"] == root / "h2b" / "fluo"
    statuses, to_run = plan(spec, ids=["2a", "1a"], out=tmp_path / "staging")
    assert statuses["2a"]["status"] == "to run"
    assert "lum_60s_rep2" in statuses["2a"]["message"]  # technical noise not measured, said so
    assert statuses["1a"]["status"] == "skipped" and "no cytoplasmic data" in statuses["1a"]["message"]


def test_yaml_mapping(tmp_path):
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the test extra (bioimageio)
    folder = tmp_path / "c" / "lum_60s"
    folder.mkdir(parents=True)
    simulate_dataset("cytoplasmic", tmp_path / "sim", n_stacks=1, shape_zyx=(2, 64, 64), progress=False)
    shutil.copy(tmp_path / "sim" / "lum_60s" / "cytoplasmic_000.tif", folder)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"cytoplasmic": {"lum_60s": "c/lum_60s"}}))
    assert set(parse_own_data(tmp_path / "m.yaml")["cytoplasmic"][0]) == {"lum_60s"}


def test_automatic_split_keeps_both_treatments_in_each_set(tmp_path):
    data = tmp_path / "tomm"
    simulate_dataset("tomm20", data, n_stacks=6, shape_zyx=(2, 64, 64), progress=False)
    (data / "manifest.json").unlink()  # treatments must then come from the names
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"tomm20": str(data)}))
    ds = OwnData(mapping, tmp_path / "staging").dataset("tomm20")
    test = ds.test_stacks("fluo")
    train = sorted(p.stem for p in (ds.train_dir / "fluo").glob("*.tif"))
    assert {ds.phenotypes[s] for s in test} == {"dmso", "rotenone"}
    assert {ds.phenotypes[s] for s in train} == {"dmso", "rotenone"}
    assert not set(test) & set(train) and len(test) + len(train) == 6
    assert (ds.test_dir / "fluo" / f"{test[0]}.tif").is_symlink()  # user files are linked, never written


def test_too_few_stacks_is_explained(tmp_path):
    data = tmp_path / "one"
    simulate_dataset("h2b", data, n_stacks=1, shape_zyx=(2, 64, 64), progress=False)
    with pytest.raises(DataError, match="at least 2 are needed"):
        OwnData(data, tmp_path / "staging").dataset("h2b")


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "no such file or folder"),
    (lambda p: _write(p / "x.txt", ""), ".json/.yaml"),
    (lambda p: _write(p / "bad.json", "{oops"), "not valid JSON"),
    (lambda p: _write(p / "sp.json", '{"yeast": "x"}'), "unknown specimen"),
    (lambda p: _write(p / "missing.json", '{"h2b": {"fluo": "no/such"}}'), "is not a folder"),
    (lambda p: (p / "plain").mkdir() or p / "plain", "cannot tell which specimen"),
])
def test_bad_data_is_explained(tmp_path, make, message):
    with pytest.raises(DataError, match=message):
        parse_own_data(make(tmp_path))


def test_bad_data_through_the_cli_has_no_traceback(tmp_path, capsys):
    assert cli.main(["reproduce", "--quick", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err


def test_empty_condition_folder_is_explained(tmp_path):
    (tmp_path / "h2b" / "fluo").mkdir(parents=True)
    (tmp_path / "m.json").write_text(json.dumps({"h2b": {"fluo": "h2b/fluo"}}))
    with pytest.raises(DataError, match="holds no .tif stacks"):
        parse_own_data(tmp_path / "m.json")


def test_unknown_experiment_and_out_file(tmp_path):
    with pytest.raises(ReproduceError, match="unknown experiment"):
        reproduce(tmp_path / "o", experiments=["3z"], settings=tiny_settings(), progress=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(ReproduceError, match="is a file"):
        reproduce(tmp_path / "file", settings=tiny_settings(), progress=False)
