"""The shipped ImageJ macros (``lumicare_ij/ijm/*.ijm``) run in the real ImageJ 1.53t give lumicare_ij's numbers.

Every macro is run once on a folder of generated images (2D and small 3D,
8/16/32-bit, calibrated and not, with edge cases) in ImageJ 1.53t under Xvfb
through :func:`lumicare_ij.macros.run_macro`; its images must be pixel-identical
and its tables equal (to 1e-12 relative; the macros print 17 significant
digits) to :mod:`lumicare_ij.analysis` / :mod:`lumicare_ij.ijops` with the
NumPy engine. Nothing here is skipped: without Java or xvfb-run the tests fail
with the message that says what to install.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from lumicare_ij import analysis, ijops, macros
from lumicare_ij.ijops import jvm
from lumicare_ij.io import read_array, write_stack

pytestmark = pytest.mark.imagej

REL = 1e-12


# --------------------------------------------------------------------------
# Test images
# --------------------------------------------------------------------------

def _as(dtype, field: np.ndarray) -> np.ndarray:
    if dtype == np.uint16:
        return np.clip(np.round(field), 0, 65535).astype(np.uint16)
    if dtype == np.uint8:
        return np.clip(np.round(field * 250.0 / field.max()), 0, 255).astype(np.uint8)
    return field.astype(np.float32)


def cells(shape, dtype, rng, noise=0.1, n=8):
    """Bright ellipses (cells or nuclei) on a dark background, plus noise; 2D or (Z, Y, X)."""
    h, w = shape[-2:]
    yy, xx = np.indices((h, w))
    planes = []
    for _ in range(int(np.prod(shape[:-2], dtype=int))):
        plane = np.zeros((h, w))
        for _ in range(n):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(2, 9), rng.uniform(2, 9)
            plane += rng.uniform(0.4, 1.0) * ((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) < 1)
        planes.append(ndi.gaussian_filter(plane, 1.0))
    field = np.reshape(planes, shape) + noise * rng.standard_normal(shape)
    return _as(dtype, 150 + 3000 * field)


def tubules(shape, dtype, rng, n=25):
    """Mitochondria-like tubules and dots over an uneven background; 2D or (Z, Y, X)."""
    h, w = shape[-2:]
    yy, xx = np.indices((h, w))
    planes = []
    for _ in range(int(np.prod(shape[:-2], dtype=int))):
        plane = np.zeros((h, w))
        for _ in range(n):
            cy, cx, angle = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, np.pi)
            length, width = rng.uniform(1.5, 9), rng.uniform(1.0, 2.2)
            u = (yy - cy) * np.cos(angle) + (xx - cx) * np.sin(angle)
            v = -(yy - cy) * np.sin(angle) + (xx - cx) * np.cos(angle)
            plane += rng.uniform(0.5, 1.0) * ((u / length) ** 2 + (v / width) ** 2 < 1)
        background = 0.3 * ndi.gaussian_filter(rng.random((h, w)), 8)
        planes.append(ndi.gaussian_filter(plane, 0.7) + background)
    field = np.reshape(planes, shape) + 0.1 * rng.standard_normal(shape)
    return _as(dtype, 300 + 2000 * field)


def squares(sizes, shape=(60, 70), dtype=np.uint16):
    """Flat bright rectangles of the given (height, width) on a flat background."""
    img = np.full(shape, 100, dtype=np.float64)
    x = 2
    for hgt, wid in sizes:
        img[5:5 + hgt, x:x + wid] = 4000
        x += wid + 3
    return _as(dtype, img)


def read_table(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def close(a, b) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=REL, abs=1e-14)


# --------------------------------------------------------------------------
# Environment and module
# --------------------------------------------------------------------------

def test_runs_imagej_1_53t_under_xvfb(tmp_path):
    macro = tmp_path / "version.ijm"
    macro.write_text('print("version=" + getVersion());\nprint("arg=" + getArgument());\n'
                     'newImage("t", "8-bit black", 8, 8, 1);\nrun("Invert");\nprint("mean=" + getValue("Mean"));\n')
    run = macros.run_macro(macro, {"folder": tmp_path / "a b", "k": 3}, timeout=120)
    assert "version=1.53t" in run.log
    assert f"arg=folder=[{tmp_path / 'a b'}] k=3" in run.log
    assert "mean=255" in run.log  # a run() command worked: a display was there
    assert run.returncode == 0 and not run.errors
    java = Path(shutil.which("java")).resolve()
    if (java.parent / "javac").is_file() or shutil.which("javac"):
        # With a JDK the dialog watchdog is in use, and it checked the version.
        assert "LumicareMacroRunner" in run.command
        assert run.imagej_version == "1.53t"


def test_other_imagej_versions_are_refused(tmp_path, monkeypatch):
    if "LumicareMacroRunner" not in macros.run_macro(_tiny_macro(tmp_path)).command:
        pytest.fail("no JDK compiler: the version check needs the launcher (install default-jdk)")
    monkeypatch.setattr(jvm, "IMAGEJ_VERSION", "1.99z")
    with pytest.raises(macros.MacroEnvironmentError, match="reproduces ImageJ 1.99z exactly"):
        macros.run_macro(_tiny_macro(tmp_path))
    assert "ran" in macros.run_macro(_tiny_macro(tmp_path), require_version=False).log


def _tiny_macro(tmp_path) -> Path:
    path = tmp_path / "tiny.ijm"
    path.write_text('print("ran");\n')
    return path


def test_macro_files_are_found_and_documented():
    for name in macros.MACRO_NAMES:
        path = macros.macro_path(name)
        assert path.is_file() and path.suffix == ".ijm"
        assert macros.macro_path(name + ".ijm") == path
        text = path.read_text()
        assert "getArgument()" in text and "setBatchMode(true)" in text
    assert macros.macro_dir() == macros.macro_path("mask_mae").parent
    assert (Path(__file__).resolve().parent.parent / "lumicare_ij" / "ijm") == macros.macro_dir()
    with pytest.raises(ValueError, match="shipped macros are"):
        macros.macro_path("nonexistent")


def _macro_default(name: str, variable: str):
    text = macros.macro_path(name).read_text()
    match = re.search(rf"^var {variable} = ([^;]+);", text, re.M)
    assert match, f"{name}.ijm has no parameter {variable}"
    return match.group(1).strip().strip('"')


def test_macro_defaults_are_the_analysis_defaults():
    """The numbers at the top of each macro are lumicare_ij.analysis's defaults."""
    def default(fn, arg):
        return inspect.signature(fn).parameters[arg].default

    assert float(_macro_default("mask_mae", "min_size")) == default(analysis.cell_mask, "min_size_px")
    assert float(_macro_default("mask_mae", "min_size")) == default(analysis.mask_mae_between, "min_size_px")
    assert _macro_default("mask_mae", "projection") == "none"
    assert default(analysis.mask_mae_between, "projection") is None
    assert float(_macro_default("nuclear_pearson", "min_size")) == default(analysis.nuclear_mask, "min_size_px")
    assert float(_macro_default("mito_morphology", "min_size")) == default(analysis.mito_morphology, "min_size_px")
    assert float(_macro_default("mito_morphology", "rolling")) == default(analysis.mito_morphology,
                                                                          "rolling_ball_radius_px")
    assert _macro_default("mito_morphology", "method") == default(analysis.mito_morphology, "segmentation")


def test_format_args():
    assert macros.format_args({"input": "/a b/c", "k": 4, "flag": True, "off": False, "empty": ""}) == \
        "input=[/a b/c] k=4 flag=true off=false empty=[]"
    assert macros.format_args({"p": Path("/x/y")}) == "p=/x/y"
    assert macros.format_args(None) == ""
    with pytest.raises(ValueError, match="cannot contain"):
        macros.format_args({"p": "/a[1]"})


def test_missing_xvfb_or_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(macros.MacroEnvironmentError, match="apt-get install xvfb"):
        macros.run_macro("mask_mae", {}, java="/usr/bin/true", jar=__file__)
    with pytest.raises(macros.MacroEnvironmentError, match="'java' was not found.*Install a JDK"):
        macros.run_macro("mask_mae", {})


def test_imagej_jar_is_the_engines_jar():
    jar = macros.imagej_jar()
    assert jar.is_file() and jar.suffix == ".jar"
    assert "1.53t" in jar.name or jar == Path(os.environ.get("LUMICARE_IJ_JAR", ""))


# --------------------------------------------------------------------------
# Errors reach Python quickly and clearly
# --------------------------------------------------------------------------

def test_macro_errors_become_macro_error(tmp_path):
    # A parameter the macro rejects: its ERROR: line.
    start = time.monotonic()
    with pytest.raises(macros.MacroError, match="not found"):
        macros.run_macro("mito_morphology", {"input": tmp_path / "missing"}, timeout=120)
    # An ImageJ macro error opens a dialog: the launcher stops ImageJ at once.
    bad = tmp_path / "bad.ijm"
    bad.write_text('x = 1;\ny = undefinedFunction(x);\n')
    with pytest.raises(macros.MacroError, match="dialog") as info:
        macros.run_macro(bad, timeout=120)
    assert "undefinedFunction" in str(info.value)
    # A wrong option in a run() command (Bin's choices are case-sensitive) opens a dialog too.
    wrong = tmp_path / "wrong.ijm"
    wrong.write_text('newImage("t", "16-bit ramp", 16, 16, 1);\nrun("Bin...", "x=2 y=2 bin=average");\n')
    with pytest.raises(macros.MacroError, match="dialog"):
        macros.run_macro(wrong, timeout=120)
    assert time.monotonic() - start < 60


def test_timeout_stops_imagej(tmp_path):
    endless = tmp_path / "endless.ijm"
    endless.write_text("while (true) wait(100);\n")
    start = time.monotonic()
    with pytest.raises(macros.MacroError, match="did not finish within 3 s"):
        macros.run_macro(endless, timeout=3)
    assert time.monotonic() - start < 30


# --------------------------------------------------------------------------
# bin_and_upsample.ijm
# --------------------------------------------------------------------------

def test_bin_and_upsample_matches_ijops(tmp_path):
    rng = np.random.default_rng(11)
    images = {
        "a_uint16_2d.tif": cells((37, 53), np.uint16, rng),           # sizes not multiples of 4
        "b_float32_2d.tif": cells((40, 48), np.float32, rng) - 500,   # negative values too
        "c_uint8_3d.tif": cells((3, 30, 31), np.uint8, rng),
        "d_uint16_3d.tif": cells((6, 24, 28), np.uint16, rng),
        "e noise.tif": rng.poisson(3.0, (33, 35)).astype(np.uint16),   # space in the name
    }
    for name, img in images.items():
        write_stack(tmp_path / "in" / name, img, pixel_size_um=0.25)
    for factor, zfactor in ((4, 1), (3, 3)):
        out = tmp_path / f"out{factor}{zfactor}"
        macros.run_macro("bin_and_upsample", {"input": tmp_path / "in", "output": out,
                                              "factor": factor, "zfactor": zfactor})
        for name, img in images.items():
            got = read_array(out / name)
            z = zfactor if img.ndim == 3 else 1  # 2D images in the folder: no Z to bin
            expected = ijops.upsample_nearest(ijops.bin(img, factor, z), img.shape)
            assert got.dtype == img.dtype and got.shape == img.shape, name
            np.testing.assert_array_equal(got, expected, err_msg=f"{name} factor={factor} z={zfactor}")


def test_bin_and_upsample_refuses_to_overwrite(tmp_path):
    write_stack(tmp_path / "in" / "a.tif", np.ones((8, 8), np.uint16))
    args = {"input": tmp_path / "in", "output": tmp_path / "out", "factor": 2}
    macros.run_macro("bin_and_upsample", args)
    with pytest.raises(macros.MacroError, match="already exists"):
        macros.run_macro("bin_and_upsample", args)
    macros.run_macro("bin_and_upsample", {**args, "overwrite": True})


# --------------------------------------------------------------------------
# mask_mae.ijm (Figure 1)
# --------------------------------------------------------------------------

def _mae_pairs(rng):
    pairs = {}
    for i, (dtype, shape) in enumerate([(np.uint16, (64, 80)), (np.float32, (64, 80)), (np.uint8, (50, 60)),
                                        (np.uint16, (3, 48, 56)), (np.float32, (4, 40, 44))]):
        pairs[f"p{i}_{np.dtype(dtype).name}_{len(shape)}d.tif"] = (
            cells(shape, dtype, rng, noise=0.05), cells(shape, dtype, rng, noise=0.3))
    # NaN and negative values in a 32-bit pair: whole-image range with NaN ignored, NaN -> 0.
    ref = cells((50, 52), np.float32, rng, noise=0.05) - 1000
    test = cells((50, 52), np.float32, rng, noise=0.2) - 1000
    ref[3:6, 10:14] = np.nan
    test[20:22, 1:30] = np.nan
    pairs["p5_nan.tif"] = (ref, test)
    # Size limit is inclusive: a 10x10 (100 px) cell is kept, a 9x11 (99 px) one is not.
    pairs["p6_sizes.tif"] = (squares([(10, 10), (9, 11), (12, 12)]), squares([(9, 11), (10, 10), (12, 12)]))
    return pairs


def test_mask_mae_matches_analysis(tmp_path):
    pairs = _mae_pairs(np.random.default_rng(21))
    for name, (ref, test) in pairs.items():
        calibration = 0.5 if "uint16" in name else None  # "pixel": sizes stay in pixels
        write_stack(tmp_path / "ref" / name, ref, pixel_size_um=calibration)
        write_stack(tmp_path / "test" / name, test, pixel_size_um=calibration)
    table = tmp_path / "mae.csv"
    macros.run_macro("mask_mae", {"reference": tmp_path / "ref", "test": tmp_path / "test",
                                  "table": table, "masks": tmp_path / "masks"})
    rows = read_table(table)
    assert [r["image"] for r in rows] == sorted(pairs)
    for row in rows:
        ref, test = pairs[row["image"]]
        stem = row["image"][:-4]
        for kind, img in (("reference", ref), ("test", test)):
            np.testing.assert_array_equal(read_array(tmp_path / "masks" / f"{stem}_{kind}.tif"),
                                          analysis.cell_mask(img), err_msg=f"{stem} {kind} mask")
        expected = analysis.mask_mae_between(ref, test)
        assert close(row["mae"], expected), (row["image"], row["mae"], float(expected))
        assert int(row["n_pixels"]) == ref.size
        assert "not the Fiji SNR plugin" in row["mae_source"]
    sizes = read_array(tmp_path / "masks" / "p6_sizes_reference.tif")
    assert sizes[5:15, 2:12].all() and not sizes[5:14, 15:26].any()  # 100 px kept, 99 px dropped
    assert float(rows[-1]["mae"]) == pytest.approx(255 * 200 / sizes.size, rel=REL)


def test_mask_mae_max_projection(tmp_path):
    rng = np.random.default_rng(22)
    pairs = {f"s{i}.tif": (cells(shape, dtype, rng, noise=0.05), cells(shape, dtype, rng, noise=0.3))
             for i, (dtype, shape) in enumerate([(np.uint16, (5, 40, 46)), (np.float32, (3, 36, 30))])}
    pairs["flat.tif"] = (cells((40, 40), np.uint16, rng), cells((40, 40), np.uint16, rng))  # 2D: unchanged
    for name, (ref, test) in pairs.items():
        write_stack(tmp_path / "ref" / name, ref)
        write_stack(tmp_path / "test" / name, test)
    macros.run_macro("mask_mae", {"reference": tmp_path / "ref", "test": tmp_path / "test",
                                  "table": tmp_path / "mae.csv", "projection": "max",
                                  "masks": tmp_path / "masks"})
    for row in read_table(tmp_path / "mae.csv"):
        ref, test = pairs[row["image"]]
        assert row["projection"] == "max"
        assert close(row["mae"], analysis.mask_mae_between(ref, test, projection="max")), row
        np.testing.assert_array_equal(read_array(tmp_path / "masks" / f"{row['image'][:-4]}_reference.tif"),
                                      analysis.cell_mask(ref, projection="max"))


def test_mask_mae_needs_every_partner(tmp_path):
    write_stack(tmp_path / "ref" / "a.tif", np.ones((8, 8), np.uint16))
    (tmp_path / "test").mkdir()
    with pytest.raises(macros.MacroError, match="no test image"):
        macros.run_macro("mask_mae", {"reference": tmp_path / "ref", "test": tmp_path / "test"})


# --------------------------------------------------------------------------
# nuclear_pearson.ijm (Figure 2a)
# --------------------------------------------------------------------------

def test_nuclear_pearson_matches_analysis(tmp_path):
    rng = np.random.default_rng(31)
    cases = {}
    for i, (gt_type, img_type, shape) in enumerate([
            (np.uint16, np.uint16, (64, 80)), (np.float32, np.float32, (64, 80)),
            (np.uint16, np.float32, (50, 60)), (np.uint8, np.uint8, (50, 60)),
            (np.uint16, np.uint16, (3, 48, 56)), (np.float32, np.uint16, (4, 40, 44))]):
        gt = cells(shape, gt_type, rng, noise=0.05)
        noisy = cells(shape, np.float32, rng, noise=0.4)
        img = _as(img_type, 0.5 * gt.astype(np.float64) + 0.5 * noisy)  # correlated with the truth
        cases[f"n{i}_{np.dtype(gt_type).name}_{np.dtype(img_type).name}_{len(shape)}d.tif"] = (img, gt)
    # Size limit is inclusive: a 5-pixel plus is a nucleus, a 2x2 square (4 px) is not.
    gt = np.full((30, 30), 10, np.uint16)
    gt[10:20, 10:20] = 3000
    gt[3, 24:27] = gt[2:5, 25] = 3000
    gt[25:27, 3:5] = 3000
    cases["n6_sizes.tif"] = (cells((30, 30), np.uint16, rng), gt)
    for name, (img, gt) in cases.items():
        write_stack(tmp_path / "images" / name, img)
        write_stack(tmp_path / "truth" / name, gt, pixel_size_um=0.3)
    # An empty nuclear mask (one bright pixel, below the size limit): the macro writes NaN
    # and a warning; analysis.nuclear_pearson raises instead.
    empty_gt = np.full((20, 20), 7, np.uint16)
    empty_gt[9, 9] = 5000
    empty_img = cells((20, 20), np.uint16, rng)
    write_stack(tmp_path / "images" / "z_empty.tif", empty_img)
    write_stack(tmp_path / "truth" / "z_empty.tif", empty_gt)

    table = tmp_path / "r.csv"
    run = macros.run_macro("nuclear_pearson", {"images": tmp_path / "images", "truth": tmp_path / "truth",
                                               "table": table, "masks": tmp_path / "masks"})
    rows = {r["image"]: r for r in read_table(table)}
    assert sorted(rows) == sorted([*cases, "z_empty.tif"])
    for name, (img, gt) in cases.items():
        row = rows[name]
        mask = read_array(tmp_path / "masks" / f"{name[:-4]}_nuclei.tif")
        np.testing.assert_array_equal(mask, analysis.nuclear_mask(gt), err_msg=name)
        expected = analysis.nuclear_pearson(img, gt)
        assert close(row["pearson_r"], expected), (name, row["pearson_r"], float(expected))
        assert int(row["n_mask_pixels"]) == int((mask > 0).sum())
        assert "not the Fiji Coloc 2 plugin" in row["pearson_source"]
    sizes = read_array(tmp_path / "masks" / "n6_sizes_nuclei.tif")
    assert sizes[3, 25] == 255 and sizes[25, 3] == 0
    assert math.isnan(float(rows["z_empty.tif"]["pearson_r"])) and rows["z_empty.tif"]["n_mask_pixels"] == "0"
    assert "WARNING: z_empty.tif" in run.log
    with pytest.raises(ValueError, match="empty nuclear mask"):
        analysis.nuclear_pearson(empty_img, empty_gt)


# --------------------------------------------------------------------------
# mito_morphology.ijm (Figure 2b)
# --------------------------------------------------------------------------

PARTICLE_COLUMNS = ("area", "perimeter", "circularity", "aspect_ratio", "round", "solidity",
                    "major", "minor", "angle", "x_centroid", "y_centroid")


def test_mito_morphology_matches_analysis(tmp_path):
    rng = np.random.default_rng(41)
    stacks = {f"m{i}_{np.dtype(dtype).name}_{len(shape)}d.tif": tubules(shape, dtype, rng)
              for i, (dtype, shape) in enumerate([(np.uint16, (5, 64, 80)), (np.float32, (4, 64, 72)),
                                                  (np.uint16, (70, 60)), (np.uint8, (3, 50, 60)),
                                                  (np.float32, (60, 64))])}
    stacks["m5_dots.tif"] = np.pad(np.full((2, 2), 900, np.uint16), 14, constant_values=100)  # no particle >= 20 px
    for name, stack in stacks.items():
        write_stack(tmp_path / "in" / name, stack, pixel_size_um=0.13, z_step_um=0.5)
    table = tmp_path / "mito.csv"
    macros.run_macro("mito_morphology", {"input": tmp_path / "in", "table": table, "masks": tmp_path / "masks"})
    per_image = {r["image"]: r for r in read_table(table)}
    per_particle = read_table(tmp_path / "mito_particles.csv")
    assert sorted(per_image) == sorted(stacks)
    for name, stack in stacks.items():
        result = analysis.mito_morphology(stack)
        row = per_image[name]
        assert int(row["n_particles"]) == result.n_particles, name
        assert close(row["mean_circularity"], result.mean_circularity), (name, row)
        assert close(row["mean_aspect_ratio"], result.mean_aspect_ratio), (name, row)
        np.testing.assert_array_equal(read_array(tmp_path / "masks" / f"{name[:-4]}_mito.tif"), result.mask,
                                      err_msg=name)
        rows = [r for r in per_particle if r["image"] == name]
        assert [int(r["particle"]) for r in rows] == list(range(1, result.n_particles + 1))
        for column in PARTICLE_COLUMNS:
            got = np.array([float(r[column]) for r in rows])
            np.testing.assert_allclose(got, result.particles[column], rtol=REL, atol=1e-12,
                                       err_msg=f"{name} {column}")
    assert per_image["m5_dots.tif"]["n_particles"] == "0"
    assert per_image["m5_dots.tif"]["mean_circularity"] == "NaN"
    assert sum(int(r["n_particles"]) for r in per_image.values()) > 30  # the comparison had substance


def test_mito_morphology_other_method_and_limits(tmp_path):
    rng = np.random.default_rng(42)
    stacks = {f"o{i}.tif": tubules((3, 50, 56), np.uint16, rng) for i in range(2)}
    for name, stack in stacks.items():
        write_stack(tmp_path / "in" / name, stack)
    macros.run_macro("mito_morphology", {"input": tmp_path / "in", "table": tmp_path / "t.csv",
                                         "method": "Otsu", "min_size": 12, "rolling": 8})
    for row in read_table(tmp_path / "t.csv"):
        result = analysis.mito_morphology(stacks[row["image"]], segmentation="Otsu", min_size_px=12,
                                          rolling_ball_radius_px=8)
        assert int(row["n_particles"]) == result.n_particles
        assert close(row["mean_circularity"], result.mean_circularity)
        assert close(row["mean_aspect_ratio"], result.mean_aspect_ratio)
    with pytest.raises(macros.MacroError, match="unknown threshold method"):
        macros.run_macro("mito_morphology", {"input": tmp_path / "in", "method": "Nonsense"})


# --------------------------------------------------------------------------
# Interactive use: parameters edited at the top, no macro argument
# --------------------------------------------------------------------------

def test_parameters_at_the_top_work_without_arguments(tmp_path):
    """As a Fiji user would run them: folders typed into the ``var`` lines, Run (tables shown)."""
    rng = np.random.default_rng(51)
    for folder in ("a", "b"):
        write_stack(tmp_path / folder / "x.tif", cells((40, 44), np.uint16, rng))
    edits = {
        "mask_mae": {"reference": tmp_path / "a", "test": tmp_path / "b", "table": tmp_path / "mae.csv"},
        "nuclear_pearson": {"images": tmp_path / "b", "truth": tmp_path / "a", "table": tmp_path / "r.csv"},
        "mito_morphology": {"input": tmp_path / "a", "table": tmp_path / "m.csv"},
    }
    for name, values in edits.items():
        text = macros.macro_path(name).read_text()
        for key, value in values.items():
            text, count = re.subn(rf"^var {key} = [^;]+;", f'var {key} = "{value}";', text, flags=re.M)
            assert count == 1, (name, key)
        edited = tmp_path / f"edited_{name}.ijm"
        edited.write_text(text)
        macros.run_macro(edited)
    a, b = read_array(tmp_path / "a" / "x.tif"), read_array(tmp_path / "b" / "x.tif")
    assert close(read_table(tmp_path / "mae.csv")[0]["mae"], analysis.mask_mae_between(a, b))
    assert close(read_table(tmp_path / "r.csv")[0]["pearson_r"], analysis.nuclear_pearson(b, a))
    assert close(read_table(tmp_path / "m.csv")[0]["mean_circularity"], analysis.mito_morphology(a).mean_circularity)


def test_coloc2_option_needs_fiji(tmp_path):
    write_stack(tmp_path / "i" / "x.tif", np.ones((8, 8), np.uint16))
    write_stack(tmp_path / "t" / "x.tif", np.ones((8, 8), np.uint16))
    with pytest.raises(macros.MacroError, match="needs Fiji's Coloc 2 plugin"):
        macros.run_macro("nuclear_pearson", {"images": tmp_path / "i", "truth": tmp_path / "t", "coloc2": True})
