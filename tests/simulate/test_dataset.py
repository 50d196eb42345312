"""simulate_dataset: folder layout, manifest, metadata, determinism and overwrite rules."""

import json

import numpy as np
import pytest

from lumicare_ij.io import read_stack
from lumicare_ij.simulate import SPECIMENS, read_manifest, simulate_dataset

SHAPE = (4, 64, 64)


@pytest.fixture(scope="module")
def h2b_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("h2b")
    manifest = simulate_dataset("h2b", out, n_stacks=2, shape_zyx=SHAPE, seed=3, progress=False)
    return out, manifest


def test_layout_is_one_folder_per_condition_with_the_same_names(h2b_dir):
    out, manifest = h2b_dir
    protocol = SPECIMENS["h2b"]
    names = [s["name"] for s in manifest["stacks"]]
    assert names == ["h2b_000", "h2b_001"]
    for folder in [c.name for c in protocol.conditions] + ["ground_truth", "labels"]:
        assert sorted(p.stem for p in (out / folder).glob("*.tif")) == names
    assert read_manifest(out) == json.loads(json.dumps(manifest))


def test_manifest_describes_conditions_and_physics(h2b_dir):
    _, manifest = h2b_dir
    assert manifest["specimen"] == "h2b" and manifest["seed"] == 3 and manifest["n_stacks"] == 2
    assert manifest["camera"]["em_gain"] == 300 and manifest["camera"]["cic_e_per_px_frame"] == 0.005
    assert manifest["pixel_size_um"] == pytest.approx(0.65) and manifest["z_step_um"] == pytest.approx(0.57)
    lum = manifest["conditions"]["lum_0.5s"]
    assert (lum["modality"], lum["exposure_s"], lum["binning"], lum["binning_kind"], lum["repeat"]) == \
        ("luminescence", 0.5, 1, None, 1)
    assert manifest["conditions"]["lum_60s_rep2"]["repeat"] == 2
    fluo = manifest["conditions"]["fluo"]
    assert fluo["modality"] == "fluorescence" and fluo["reporter"] == "H2B-eGFP"
    channels = manifest["channels"]
    assert channels["fluorescence"]["psf_sigma_xy_um"] > channels["luminescence"]["psf_sigma_xy_um"]
    assert manifest["ground_truth"]["axes"] == "CZYX"
    assert manifest["ground_truth"]["channels"] == ["luminescence", "fluorescence"]
    stack = manifest["stacks"][0]
    assert {"n_nuclei", "n_mitotic", "files", "ground_truth_photons_per_s"} <= set(stack)


def test_files_carry_calibration_and_metadata(h2b_dir):
    out, manifest = h2b_dir
    image = read_stack(out / "lum_0.5s" / "h2b_000.tif")
    assert image.dtype == np.uint16 and image.shape == SHAPE
    assert image.attrs["pixel_size_um"] == pytest.approx(0.65) and image.attrs["z_step_um"] == pytest.approx(0.57)
    meta = image.attrs["metadata"]
    assert meta["condition"] == "lum_0.5s" and meta["exposure_s"] == 0.5 and meta["em_gain"] == 300
    assert meta["specimen"] == "h2b" and meta["seed"] == 3 and meta["camera.read_noise_e"] == 20.0
    truth = read_stack(out / "ground_truth" / "h2b_000.tif")
    assert truth.dims == ("c", "z", "y", "x") and truth.dtype == np.float32
    labels = read_stack(out / "labels" / "h2b_000.tif")
    assert labels.dtype == np.uint16 and labels.shape == SHAPE


def test_binned_conditions_are_smaller_with_larger_pixels(tmp_path):
    manifest = simulate_dataset("cytoplasmic", tmp_path, n_stacks=1, shape_zyx=SHAPE, progress=False)
    for kind in ("hw", "sw"):
        cond = manifest["conditions"][f"lum_0.5s_{kind}bin4"]
        assert cond["binning"] == 4 and cond["binning_kind"] == ("hardware" if kind == "hw" else "software")
        assert cond["shape_zyx"] == [4, 16, 16] and cond["pixel_size_um"] == pytest.approx(2.6)
        image = read_stack(tmp_path / f"lum_0.5s_{kind}bin4" / "cytoplasmic_000.tif")
        assert image.shape == (4, 16, 16) and image.attrs["pixel_size_um"] == pytest.approx(2.6)
    assert manifest["conditions"]["lum_0.5s_swbin4"]["derived_from"] == "lum_0.5s"


def test_same_seed_same_files_and_more_stacks_keep_the_first(tmp_path, h2b_dir):
    out, _ = h2b_dir
    again = simulate_dataset("h2b", tmp_path / "a", n_stacks=3, shape_zyx=SHAPE, seed=3, progress=False)
    for name in ("lum_0.5s", "fluo", "ground_truth", "labels"):
        for stack in ("h2b_000", "h2b_001"):
            np.testing.assert_array_equal(read_stack(tmp_path / "a" / name / f"{stack}.tif").values,
                                          read_stack(out / name / f"{stack}.tif").values)
    assert again["stacks"][2]["name"] == "h2b_002"
    other = read_stack(tmp_path / "a" / "lum_60s" / "h2b_000.tif").values
    rep2 = read_stack(tmp_path / "a" / "lum_60s_rep2" / "h2b_000.tif").values
    assert not np.array_equal(other, rep2)


def test_tomm20_stacks_alternate_phenotypes(tmp_path):
    manifest = simulate_dataset("tomm20", tmp_path, n_stacks=2, shape_zyx=(4, 96, 96), progress=False)
    assert [s["phenotype"] for s in manifest["stacks"]] == ["dmso", "rotenone"]
    assert [s["name"] for s in manifest["stacks"]] == ["tomm20_000_dmso", "tomm20_001_rotenone"]
    assert set(manifest["conditions"]) == {"lum_4s", "lum_4s_rep2", "fluo"}
    meta = read_stack(tmp_path / "lum_4s" / "tomm20_001_rotenone.tif").attrs["metadata"]
    assert meta["phenotype"] == "rotenone" and meta["exposure_s"] == 4


def test_refuses_to_overwrite_and_cleans_up_when_asked(tmp_path):
    simulate_dataset("cytoplasmic", tmp_path, n_stacks=2, shape_zyx=SHAPE, progress=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        simulate_dataset("cytoplasmic", tmp_path, n_stacks=1, shape_zyx=SHAPE, progress=False)
    simulate_dataset("cytoplasmic", tmp_path, n_stacks=1, shape_zyx=SHAPE, overwrite=True, progress=False)
    assert sorted(p.name for p in (tmp_path / "lum_60s").iterdir()) == ["cytoplasmic_000.tif"]
    assert len(read_manifest(tmp_path)["stacks"]) == 1


def test_small_defaults_and_bad_requests(tmp_path):
    with pytest.raises(ValueError, match="at least 8"):
        simulate_dataset("cytoplasmic", tmp_path / "x", shape_zyx=(2, 4, 4), progress=False)
    with pytest.raises(ValueError, match="choose one of"):
        simulate_dataset("golgi", tmp_path / "y", progress=False)
    assert SPECIMENS["h2b"].small_shape_zyx == (16, 128, 128) and SPECIMENS["h2b"].shape_zyx == (16, 512, 512)


def test_small_dataset_uses_small_defaults(tmp_path):
    manifest = simulate_dataset("h2b", tmp_path, n_stacks=1, small=True, progress=False)
    assert manifest["shape_zyx"] == [16, 128, 128] and manifest["small"] is True
    assert read_stack(tmp_path / "lum_60s" / "h2b_000.tif").shape == (16, 128, 128)


def test_an_interrupted_simulation_is_completed_by_the_same_call_and_a_finished_one_left_alone(tmp_path, monkeypatch):
    from lumicare_ij.simulate import dataset

    kwargs = dict(n_stacks=2, shape_zyx=(4, 32, 32), seed=3, progress=False)
    clean = simulate_dataset("h2b", tmp_path / "clean", **kwargs)
    real_write, calls = dataset._write, []

    def killed_on_the_fifth_file(*args, **kw):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_write(*args, **kw)

    monkeypatch.setattr(dataset, "_write", killed_on_the_fifth_file)
    with pytest.raises(KeyboardInterrupt):
        simulate_dataset("h2b", tmp_path / "run", **kwargs)
    monkeypatch.setattr(dataset, "_write", real_write)
    assert not (tmp_path / "run" / "manifest.json").exists()
    with pytest.raises(FileExistsError, match="already contains files"):  # another simulation: refused
        simulate_dataset("h2b", tmp_path / "run", **{**kwargs, "seed": 4})
    resumed = simulate_dataset("h2b", tmp_path / "run", **kwargs)
    assert resumed["stacks"] == clean["stacks"]
    names = sorted(str(p.relative_to(tmp_path / "clean")) for p in (tmp_path / "clean").rglob("*"))
    assert sorted(str(p.relative_to(tmp_path / "run")) for p in (tmp_path / "run").rglob("*")) == names
    for name in names:
        if name.endswith(".tif"):
            np.testing.assert_array_equal(read_stack(tmp_path / "run" / name).values,
                                          read_stack(tmp_path / "clean" / name).values)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*.tif")}
    assert simulate_dataset("h2b", tmp_path / "run", **kwargs)["stacks"] == clean["stacks"]  # already done
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*.tif")} == before
