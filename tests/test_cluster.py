"""Many stacks on a real Dask cluster: a LocalCluster of worker processes, as a facility would run it.

Every distributed result is compared with the serial run of the same
function on the same files; a worker is killed with SIGKILL while it
restores, and the run must still end with every output complete.
"""

import os
import signal
import threading
import time

import distributed  # the cluster extra, part of .[test]: a missing one fails here, never skips
import numpy as np
import pytest

from lumicare_ij import care, cli, cluster, evaluation, restore
from lumicare_ij.errors import SomeInputsFailed
from lumicare_ij.io import read_array, read_stack, write_stack

from .care import synth

N_STACKS = 24
SHAPE = (16, 128, 128)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(root, model folder, folder of N_STACKS short exposures, folder of their long references)."""
    root = tmp_path_factory.mktemp("cluster")
    synth.write_dataset(root / "train", n_stacks=2, shape=(8, 32, 32))
    synth.prepare_tiny(root / "train", root / "train.npz")
    care.train(root / "train.npz", root / "model", epochs=1, progress=False, **synth.TINY)
    synth.write_dataset(root / "data", n_stacks=N_STACKS, shape=SHAPE, seed=3)
    return root, root / "model", root / "data" / "short", root / "data" / "long"


@pytest.fixture(scope="module")
def serial(setup):
    root, model, short, _ = setup
    care.restore_files(model, short, root / "serial", progress=False)
    return root / "serial"


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as lc, distributed.Client(lc) as client:
        yield lc, client


def _assert_same_outputs(folder, serial_folder):
    names = sorted(p.name for p in serial_folder.glob("*.tif"))
    assert sorted(p.name for p in folder.iterdir()) == names  # all there, nothing else (no temporary files)
    for name in names:
        np.testing.assert_array_equal(read_array(folder / name), read_array(serial_folder / name), err_msg=name)


def test_workers_restore_exactly_what_one_process_restores(setup, serial, local_cluster, tmp_path):
    _, model, short, _ = setup
    lc, client = local_cluster
    results = restore.restore_files(model, short, tmp_path / "out", scheduler=lc.scheduler_address, progress=False)
    assert [r["status"] for r in results] == ["done"] * N_STACKS
    assert [r["input"] for r in results] == [str(p) for p in sorted(short.glob("*.tif"))]
    _assert_same_outputs(tmp_path / "out", serial)
    # Each worker loaded the model once for all the stacks it restored.
    loads = client.run(cluster.loads_in_this_process)
    assert all(set(n.values()) <= {1} for n in loads.values()), loads
    assert sum(len(n) for n in loads.values()) >= 1
    # A re-run on the cluster skips everything (same model, input, settings) and rewrites nothing.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    again = restore.restore_files(model, short, tmp_path / "out", scheduler=lc.scheduler_address, progress=False)
    assert {r["status"] for r in again} == {"skipped"}
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()} == before


def test_a_worker_killed_while_restoring_loses_nothing(setup, serial, local_cluster, tmp_path):
    _, model, short, _ = setup
    lc, client = local_cluster
    out, outcome = tmp_path / "out", {}

    def run():
        try:
            outcome["results"] = restore.restore_files(model, short, out, scheduler=lc.scheduler_address,
                                                       progress=False)
        except BaseException as err:  # noqa: BLE001  (re-raised below, in the test's thread)
            outcome["error"] = err

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 180
    while not list(out.glob("*.tif")) and time.monotonic() < deadline:
        time.sleep(0.02)
    busy = {address: keys for address, keys in client.processing().items() if keys}
    assert busy, "every stack was restored before a worker could be killed: make the run longer"
    victim = next(iter(busy))
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=600)
    assert not worker.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    assert [r["status"] for r in outcome["results"]] == ["done"] * N_STACKS
    _assert_same_outputs(out, serial)
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the killed worker


def test_a_damaged_stack_fails_alone_and_the_exit_code_says_so(setup, local_cluster, tmp_path, capsys):
    _, model, short, _ = setup
    lc, _ = local_cluster
    inputs = tmp_path / "in"
    inputs.mkdir()
    for p in sorted(short.glob("*.tif"))[:3]:
        (inputs / p.name).write_bytes(p.read_bytes())
    (inputs / "broken.tif").write_bytes((inputs / "cell00.tif").read_bytes()[:5000])
    with pytest.raises(SomeInputsFailed) as failed:
        restore.restore_files(model, inputs, tmp_path / "out", scheduler=lc.scheduler_address, progress=False)
    statuses = {os.path.basename(r["input"]): r["status"] for r in failed.value.results}
    assert statuses == {"broken.tif": "failed", "cell00.tif": "done", "cell01.tif": "done", "cell02.tif": "done"}
    assert "broken.tif" in str(failed.value) and "truncated" in str(failed.value)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cell00.tif", "cell01.tif", "cell02.tif"]
    # The command line: the good stacks are there (skipped now), the bad one named, exit status 1.
    code = cli.main(["predict", "--model", str(model), str(inputs), "--out", str(tmp_path / "out"),
                     "--scheduler", lc.scheduler_address])
    captured = capsys.readouterr()
    assert code == 1
    assert "skipped 3 already done" in captured.out and "1 failed" in captured.out
    assert "broken.tif" in captured.err and "Traceback" not in captured.err


def test_workers_option_starts_its_own_local_cluster(setup, serial, tmp_path, capsys):
    _, model, short, _ = setup
    assert cli.main(["predict", "--model", str(model), str(short), "--out", str(tmp_path / "out"),
                     "--workers", "2"]) == 0
    assert f"restored {N_STACKS} stack(s)" in capsys.readouterr().out
    _assert_same_outputs(tmp_path / "out", serial)
    assert read_stack(tmp_path / "out" / "cell00.tif").attrs["metadata"]["restoration"]["identity"] == \
        read_stack(serial / "cell00.tif").attrs["metadata"]["restoration"]["identity"]


def test_evaluate_on_workers_equals_evaluate_in_one_process(setup, serial, local_cluster):
    _, _, short, long = setup
    lc, _ = local_cluster
    compare = {"raw": short, "restored": serial}
    readouts = ("mask_mae", "nuclear_pearson")
    here = evaluation.evaluate_folders(long, compare, readouts, progress=False)
    there = evaluation.evaluate_folders(long, compare, readouts, progress=False, scheduler=lc.scheduler_address)
    assert len(here) == 2 * N_STACKS
    assert there == here


def test_bad_cluster_settings_get_one_line(setup, tmp_path, capsys):
    _, model, short, _ = setup
    assert cli.main(["predict", "--model", str(model), str(short), "--out", str(tmp_path / "o"),
                     "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lumicare: error: cannot reach the Dask scheduler") and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_outputs_made_by_another_model_are_refused_on_the_cluster_too(setup, serial, local_cluster, tmp_path):
    _, model, short, _ = setup
    lc, _ = local_cluster
    out = tmp_path / "out"
    first = sorted(short.glob("*.tif"))[0]
    write_stack(out / first.name, np.zeros(SHAPE, np.float32))  # made by hand: no restoration record
    with pytest.raises(FileExistsError, match="1 output"):
        restore.restore_files(model, short, out, scheduler=lc.scheduler_address, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [first.name]


def _worker_environment(_):
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")}


def test_local_workers_keep_glibcs_malloc_defaults_and_get_their_thread_counts():
    """Regression: Dask's MALLOC_TRIM_THRESHOLD_=65536 made every readout 2.4x slower on a worker."""
    with cluster.dask_client(workers=1, threads_per_worker=2) as client:
        seen = client.submit(_worker_environment, 0, pure=False).result()
    assert seen == {"MALLOC_TRIM_THRESHOLD_": None, "TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"}
