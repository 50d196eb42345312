"""Volumes larger than memory: exact whole-volume percentiles, blocked prediction, OME-Zarr in and out.

Every blocked result is compared with csbdeep's untiled in-memory prediction
of the same volume (small enough to predict untiled), on shapes that are not
multiples of the pooling grid and with several blocks along every axis.
"""

import json

import dask.array as da
import distributed
import numpy as np
import pytest
from csbdeep.data import PercentileNormalizer

from lumicare_ij import blocks, care, cli, omezarr, restore
from lumicare_ij.io import read_stack, write_stack
from lumicare_ij.percentiles import exact_percentiles

from .care import synth

PERCENTS = (0.0, 2.0, 50.0, 99.8, 100.0, 37.123)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "int32", "float32", "float64"])
def test_exact_percentiles_equal_numpys_to_the_bit(dtype):
    rng = np.random.default_rng(abs(hash(dtype)) % 2**32)
    for trial in range(25):
        n = int(rng.integers(1, 4000))
        if dtype.startswith("float"):
            values = (rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 5))).astype(dtype)
            if trial % 4 == 0:  # many ties
                values = np.round(values).astype(dtype)
        else:
            info = np.iinfo(dtype)
            low, high = (100, 140) if trial % 3 == 0 else (info.min, info.max)
            values = rng.integers(low, high, n, endpoint=True).astype(dtype)
        pieces = np.array_split(values, int(rng.integers(1, 8)))
        got = exact_percentiles(lambda: iter(pieces), PERCENTS, dtype=values.dtype, n_values=values.size)
        for p, value in zip(PERCENTS, got):
            want = np.percentile(values, p)
            assert value == want and np.asarray(value).dtype == np.asarray(want).dtype, (dtype, n, p, value, want)


def test_volume_percentiles_of_a_chunked_volume_equal_numpy():
    rng = np.random.default_rng(5)
    volume = (100 + rng.poisson(rng.gamma(0.3, 40, (12, 70, 90)))).astype(np.uint16)
    chunked = da.from_array(volume, chunks=(5, 32, 40))
    assert blocks.volume_percentiles(chunked) == [np.percentile(volume, 2.0), np.percentile(volume, 99.8)]
    floats = chunked.astype(np.float32) / 7
    assert blocks.volume_percentiles(floats) == [np.percentile(volume.astype(np.float32) / 7, p)
                                                 for p in (2.0, 99.8)]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("volumes")
    synth.write_dataset(root / "train", n_stacks=2, shape=(8, 32, 32))
    synth.prepare_tiny(root / "train", root / "train.npz")
    care.train(root / "train.npz", root / "model", epochs=1, progress=False, **synth.TINY)
    return root / "model"


def _volume(shape, seed=1):
    return synth.poisson(synth.blobs(shape, n_blobs=40, seed=seed), 20.0, np.random.default_rng(seed))


def _untiled(model_dir, volume):
    return care.load_model(model_dir).predict(volume, "ZYX", normalizer=PercentileNormalizer(2, 99.8, do_after=True))


def _relative_difference(a, b) -> float:
    return float(np.abs(np.asarray(a) - b).max() / np.ptp(b))


@pytest.mark.parametrize("shape, block", [((16, 150, 130), (64, 64, 64)), ((58, 101, 90), (24, 48, 40))])
def test_blocked_prediction_equals_the_untiled_prediction(model, shape, block):
    volume = _volume(shape)
    restored = blocks.restore_volume(model, da.from_array(volume, chunks=(7, 50, 50)), block_zyx=block)
    assert all(len(c) > 1 for c in restored.chunks[1:]) and (shape[0] < 20 or len(restored.chunks[0]) > 1)
    with _synchronous():
        got = restored.compute()
    assert got.dtype == np.float32 and got.shape == shape
    assert _relative_difference(got, _untiled(model, volume)) <= 1e-4


def _synchronous():
    import dask

    return dask.config.set(scheduler="synchronous")  # one block at a time, in this process


def test_ome_zarr_keeps_calibration_records_and_an_optional_pyramid(tmp_path):
    volume = _volume((8, 64, 48))
    path = omezarr.write_volume(tmp_path / "v.ome.zarr", volume, pixel_size_um=0.65, z_step_um=0.57,
                                metadata={"exposure_s": 0.5}, chunks=(8, 32, 32), pyramid_levels=2)
    attrs = json.loads((path / "zarr.json").read_text())["attributes"]
    assert attrs["ome"]["version"] == "0.5"
    assert [d["path"] for d in attrs["ome"]["multiscales"][0]["datasets"]] == ["s0", "s1", "s2"]
    data, info = omezarr.open_volume(path)
    np.testing.assert_array_equal(data.compute(), volume)
    assert (info["pixel_size_um"], info["z_step_um"], info["metadata"]) == (0.65, 0.57, {"exposure_s": 0.5})
    with pytest.raises(FileExistsError):
        omezarr.write_volume(path, volume)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ome.zarr"]  # the refused write left nothing


def test_predict_restores_ome_zarr_and_plane_folders_block_by_block(model, tmp_path, capsys):
    volume = _volume((20, 90, 70))
    expected = _untiled(model, volume)
    omezarr.write_volume(tmp_path / "in" / "v.ome.zarr", volume, pixel_size_um=0.65, z_step_um=0.57,
                         chunks=(20, 32, 32))
    for z, plane in enumerate(volume):
        write_stack(tmp_path / "planes" / "v" / f"z{z:03d}.tif", plane, pixel_size_um=0.65)
    assert cli.main(["predict", "--model", str(model), str(tmp_path / "in" / "v.ome.zarr"), "--out",
                     str(tmp_path / "out"), "--block", "20,32,32"]) == 0
    data, info = omezarr.open_volume(tmp_path / "out" / "v.ome.zarr")
    assert _relative_difference(data.compute(), expected) <= 1e-4
    record = info["metadata"]["restoration"]
    assert record["blocks"]["block_zyx"] == [20, 32, 32] and record["identity"]["model_sha256"]
    assert (info["pixel_size_um"], info["z_step_um"]) == (0.65, 0.57)
    # Again: skipped, as stacks are (the folder holding the volume names it as well as its path) ...
    assert cli.main(["predict", "--model", str(model), str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                     "--block", "20,32,32"]) == 0
    assert "skipped 1" in capsys.readouterr().out
    # ... and other blocks are other settings: refused without --force.
    assert cli.main(["predict", "--model", str(model), str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    assert "made from another input, model or settings" in capsys.readouterr().err
    # One file per plane, into one TIFF (Fiji) and into OME-Zarr.
    assert cli.main(["predict", "--model", str(model), str(tmp_path / "planes" / "v"), "--planes", "--out",
                     str(tmp_path / "from_planes"), "--format", "tiff", "--block", "20,32,32"]) == 0
    assert _relative_difference(read_stack(tmp_path / "from_planes" / "v.tif").values, expected) <= 1e-4
    assert restore.restore_files(model, tmp_path / "planes" / "v", tmp_path / "zp", planes=True,
                                 progress=False)[0]["status"] == "done"
    assert _relative_difference(omezarr.open_volume(tmp_path / "zp" / "v.ome.zarr")[0].compute(), expected) <= 1e-4


def test_a_volumes_blocks_run_on_the_cluster_workers_with_a_progress_bar(model, tmp_path, capsys):
    volume = _volume((16, 96, 96))
    omezarr.write_volume(tmp_path / "v.ome.zarr", volume, chunks=(16, 32, 32))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as lc:
        restore.restore_files(model, tmp_path / "v.ome.zarr", tmp_path / "out", block_zyx=(16, 32, 32),
                              scheduler=lc.scheduler_address, progress=True)
        assert "100% Completed" in capsys.readouterr().out  # distributed's bar of the blocks' tasks
        with distributed.Client(lc) as client:
            from lumicare_ij import cluster

            loads = client.run(cluster.loads_in_this_process)
    assert sum(n.get(str(("volume", str(model), "float32")), 0) for n in loads.values()) >= 1
    got = omezarr.open_volume(tmp_path / "out" / "v.ome.zarr")[0].compute()
    assert _relative_difference(got, _untiled(model, volume)) <= 1e-4


def test_volume_mistakes_get_one_line(model, tmp_path, capsys):
    omezarr.write_volume(tmp_path / "v.ome.zarr", _volume((8, 32, 32)))
    write_stack(tmp_path / "stacks" / "s.tif", _volume((8, 32, 32)))
    cases = [
        (["--scale"], "scale (uncertainty) output"),
        (["--tiles", "1,2,2"], "block by block"),
    ]
    for extra, phrase in cases:
        code = cli.main(["predict", "--model", str(model), str(tmp_path / "v.ome.zarr"), "--out",
                         str(tmp_path / "o"), *extra])
        err = capsys.readouterr().err
        assert code == 2 and phrase in err and "Traceback" not in err, err
    assert cli.main(["predict", "--model", str(model), str(tmp_path / "stacks"), "--planes", "--out",
                     str(tmp_path / "o")]) == 2
    assert "2D image per file" in capsys.readouterr().err


def test_blocks_are_sized_to_the_workers_memory_and_fit_it():
    """The block chosen for a 3 GiB worker, predicted with its halo in a fresh process, stays in its share."""
    import subprocess
    import sys
    from pathlib import Path

    from lumicare_ij.errors import UserInputError
    from lumicare_ij.presets import care_config_kwargs, get_preset

    config = care_config_kwargs(get_preset("quick"))
    limit = 3 * 2 ** 30
    z, y, x = blocks.block_for_memory(config, limit, (16, 4096, 4096))
    halo, div = blocks.halo_and_grid(config)
    assert z == 16 and y == x and y % div == 0 and y >= halo  # the volume's own depth: no Z halo
    assert blocks.block_for_memory(config, 8 * limit, (16, 4096, 4096))[1] >= y  # more memory, no smaller block
    assert blocks.block_for_memory(config, limit, (200, 4096, 4096))[0] in (16, 32, 64)
    with pytest.raises(UserInputError, match="too small for this network's blocks; give each worker at least"):
        blocks.block_for_memory(config, 1 * 2 ** 30, (16, 4096, 4096))
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "block_memory.py"
    with_halo = f"{z}x{y + 2 * halo}x{x + 2 * halo}"
    out = subprocess.run([sys.executable, str(script), "--preset", "quick", "--one", with_halo],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    measured = json.loads(out.strip().splitlines()[-1])
    assert measured["peak_bytes"] <= blocks.MEMORY_SHARE * limit, measured
    assert measured["bytes_per_voxel_per_filter"] <= blocks.BYTES_PER_VOXEL_PER_FILTER, measured
