"""`lumicare fiji install`: the macros under Plugins > LumiCARE, proven in the real ImageJ 1.53t.

The ImageJ 1.x layout is run for real: ImageJ 1.53t under Xvfb with the
installed folder as its plugins folder; the commands must be in its command
table and, run by name with options as a user's macro would, give the masks
and tables of :mod:`lumicare_ij.analysis` / :mod:`lumicare_ij.ijops`. The
Fiji.app layout (``scripts/Plugins/``) is read by ImageJ2, which is not on
Maven Central: only the files' placement is checked for it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lumicare_ij import analysis, fiji_install, ijops, macros
from lumicare_ij.cli import main
from lumicare_ij.errors import UserInputError
from lumicare_ij.io import read_array, write_stack

from .test_macros import cells, close, read_table, tubules

ALL_MENU_NAMES = sorted(fiji_install.menu_command(n) for n in fiji_install.MACROS)


def _imagej_folder(tmp_path) -> Path:
    folder = tmp_path / "ImageJ"
    folder.mkdir()
    os.symlink(macros.imagej_jar(), folder / "ij.jar")
    return folder


def _fiji_folder(tmp_path) -> Path:
    folder = tmp_path / "Fiji.app"
    (folder / "jars").mkdir(parents=True)
    os.symlink(macros.imagej_jar(), folder / "jars" / "ij-1.53t.jar")
    return folder


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------
# Placement, idempotence, user changes, uninstall
# --------------------------------------------------------------------------

def test_fiji_layout_gets_macros_and_scripts_under_scripts_plugins(tmp_path):
    app = _fiji_folder(tmp_path)
    report = fiji_install.install(app)
    folder = app / "scripts" / "Plugins" / "LumiCARE"
    assert report.layout.kind == "fiji" and report.layout.folder == folder
    assert sorted(report.written) == sorted([*fiji_install.MACROS, *fiji_install.FIJI_SCRIPTS])
    assert (folder / "Mask_MAE.ijm").read_bytes() == macros.macro_path("mask_mae").read_bytes()
    assert (folder / "Restore_Folder_with_CARE.groovy").read_text().startswith("#@ File")
    manifest = json.loads((folder / fiji_install.MANIFEST).read_text())
    assert manifest["layout"] == "fiji" and set(manifest["files"]) == set(report.written)


def test_imagej_layout_gets_the_macros_only(tmp_path):
    app = _imagej_folder(tmp_path)
    report = fiji_install.install(app)
    assert report.layout.folder == app / "plugins" / "LumiCARE"
    assert sorted(report.written) == sorted(fiji_install.MACROS)
    assert "Groovy scripts need Fiji" in fiji_install.describe(report)
    assert not list(app.rglob("*.groovy"))


def test_rerunning_is_idempotent(tmp_path):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    before = _tree(app)
    report = fiji_install.install(app)
    assert report.written == [] and sorted(report.unchanged) == sorted(fiji_install.MACROS)
    assert _tree(app) == before


def test_a_file_the_user_changed_is_kept_unless_forced(tmp_path, capsys):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    edited = app / "plugins" / "LumiCARE" / "Mask_MAE.ijm"
    edited.write_text(edited.read_text() + "\n// my change\n")
    before = _tree(app)
    assert main(["fiji", "install", "--fiji", str(app)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Mask_MAE.ijm" in err and "--force" in err and "Nothing was installed" in err
    assert _tree(app) == before  # nothing at all was written
    assert main(["fiji", "install", "--fiji", str(app), "--uninstall"]) == 2
    assert _tree(app) == before
    assert main(["fiji", "install", "--fiji", str(app), "--force"]) == 0
    assert edited.read_bytes() == macros.macro_path("mask_mae").read_bytes()


def test_a_same_named_file_not_installed_by_lumicare_is_not_replaced(tmp_path):
    app = _imagej_folder(tmp_path)
    own = app / "plugins" / "LumiCARE" / "Mask_MAE.ijm"
    own.parent.mkdir(parents=True)
    own.write_text("// the user's own macro\n")
    with pytest.raises(UserInputError, match="not installed by it: Mask_MAE.ijm"):
        fiji_install.install(app)
    assert own.read_text() == "// the user's own macro\n" and not (own.parent / fiji_install.MANIFEST).exists()


def test_uninstall_removes_exactly_what_was_installed(tmp_path):
    app = _fiji_folder(tmp_path)
    mine = app / "scripts" / "Plugins" / "LumiCARE" / "My_Own.ijm"
    mine.parent.mkdir(parents=True)
    mine.write_text("print(1);\n")
    before = _tree(app)
    fiji_install.install(app)
    report = fiji_install.uninstall(app)
    assert sorted(report.removed) == sorted([*fiji_install.MACROS, *fiji_install.FIJI_SCRIPTS])
    assert _tree(app) == before  # the user's file stays, and with it the folder
    with pytest.raises(UserInputError, match="installed nothing"):
        fiji_install.uninstall(app)


def test_uninstall_leaves_no_empty_menu_folder(tmp_path):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    fiji_install.uninstall(app)
    assert not (app / "plugins" / "LumiCARE").exists()


def test_an_upgrade_removes_files_an_older_version_installed(tmp_path):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    folder = app / "plugins" / "LumiCARE"
    old = folder / "Old_Command.ijm"
    old.write_text("// shipped by an older version\n")
    manifest = json.loads((folder / fiji_install.MANIFEST).read_text())
    manifest["files"]["Old_Command.ijm"] = fiji_install._sha256(old.read_bytes())
    (folder / fiji_install.MANIFEST).write_text(json.dumps(manifest))
    report = fiji_install.install(app)
    assert report.removed == ["Old_Command.ijm"] and not old.exists()


@pytest.mark.parametrize("make", ["empty", "missing", "file"])
def test_a_folder_that_is_neither_fiji_nor_imagej_is_one_clear_line(tmp_path, capsys, make):
    target = tmp_path / "somewhere"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("x")
    assert main(["fiji", "install", "--fiji", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lumicare: error: --fiji ")
    assert "Fiji.app" in err and "ij.jar" in err
    assert not target.is_dir() or list(target.iterdir()) == []


def test_a_damaged_manifest_is_one_clear_line(tmp_path, capsys):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    (app / "plugins" / "LumiCARE" / fiji_install.MANIFEST).write_text("{not json")
    assert main(["fiji", "install", "--fiji", str(app)]) == 2
    assert "is damaged" in capsys.readouterr().err


def test_the_analysis_script_knows_the_installed_macro_names():
    script = (Path(fiji_install.__file__).parent / fiji_install.FIJI_SCRIPTS["Paper_Analysis.groovy"]).read_text()
    named = dict(re.findall(r'macro: "(\w+\.ijm)", installed: "(\w+\.ijm)"', script))
    installed = {source.split("/")[-1]: name for name, source in fiji_install.MACROS.items()}
    assert named == {k: v for k, v in installed.items() if k in named} and len(named) == 3


def test_help_explains_both_layouts(capsys):
    with pytest.raises(SystemExit):
        main(["fiji", "install", "--help"])
    text = capsys.readouterr().out
    assert "scripts/Plugins/LumiCARE" in text and "plugins/LumiCARE" in text and "--uninstall" in text


# --------------------------------------------------------------------------
# In the real ImageJ 1.53t: the commands exist and give the Python results
# --------------------------------------------------------------------------

def _commands_macro(tmp_path, names) -> Path:
    path = tmp_path / "list_commands.ijm"
    lines = ["List.setCommands;"] + [f'print("COMMAND {n} = " + List.get("{n}"));' for n in names]
    path.write_text("\n".join(lines) + "\n")
    return path


def _commands(run) -> dict:
    return dict(re.findall(r"^COMMAND (.+?) = (.*)$", run.log, flags=re.M))


@pytest.mark.imagej
def test_installed_commands_appear_in_imagej_and_vanish_after_uninstall(tmp_path):
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    listing = _commands_macro(tmp_path, ALL_MENU_NAMES)
    found = _commands(macros.run_macro(listing, imagej_dir=app))
    for name in ALL_MENU_NAMES:
        assert re.fullmatch(r'ij\.plugin\.Macro_Runner\("LumiCARE/\w+\.ijm"\)', found[name]), (name, found)
    fiji_install.uninstall(app)
    assert set(_commands(macros.run_macro(listing, imagej_dir=app)).values()) == {""}


def _option(value) -> str:
    return f"[{value}]"


@pytest.mark.imagej
def test_each_installed_command_run_by_name_gives_the_python_results(tmp_path):
    """What a Fiji user's own macro (or the Macro Recorder) does: run("Mask MAE", "reference=[...] ...")."""
    rng = np.random.default_rng(61)
    ref = {f"c{i}.tif": cells(shape, np.uint16, rng, noise=0.05) for i, shape in enumerate([(48, 56), (3, 40, 44)])}
    test = {name: cells(img.shape, np.uint16, rng, noise=0.3) for name, img in ref.items()}
    mito = {f"m{i}.tif": tubules(shape, np.uint16, rng) for i, shape in enumerate([(4, 56, 64), (60, 60)])}
    for name in ref:
        write_stack(tmp_path / "ref" / name, ref[name], pixel_size_um=0.5)
        write_stack(tmp_path / "test" / name, test[name], pixel_size_um=0.5)
    for name, stack in mito.items():
        write_stack(tmp_path / "mito" / name, stack, pixel_size_um=0.13)
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    out = tmp_path / "out"
    driver = tmp_path / "driver.ijm"
    driver.write_text("\n".join([
        f'run("Mask MAE", "reference={_option(tmp_path / "ref")} test={_option(tmp_path / "test")} '
        f'table={_option(out / "mae.csv")} masks={_option(out / "mae_masks")} min_size=150 projection=none");',
        f'run("Nuclear Pearson", "images={_option(tmp_path / "test")} truth={_option(tmp_path / "ref")} '
        f'table={_option(out / "r.csv")} masks={_option(out / "nuclei")} min_size=7");',
        f'run("Mito Morphology", "input={_option(tmp_path / "mito")} table={_option(out / "mito.csv")} '
        f'masks={_option(out / "mito_masks")} method=Otsu min_size=25 rolling=6");',
        f'run("Bin and Upsample", "input={_option(tmp_path / "ref")} output={_option(out / "binned")} factor=3 zfactor=1");',
    ]) + "\n")
    out.mkdir()
    macros.run_macro(driver, imagej_dir=app)

    for row in read_table(out / "mae.csv"):
        name = row["image"]
        assert close(row["mae"], analysis.mask_mae_between(ref[name], test[name], min_size_px=150)), row
        assert row["min_size_px"] == "150"
        np.testing.assert_array_equal(read_array(out / "mae_masks" / f"{name[:-4]}_test.tif"),
                                      analysis.cell_mask(test[name], min_size_px=150))
    for row in read_table(out / "r.csv"):
        name = row["image"]
        assert close(row["pearson_r"], analysis.nuclear_pearson(test[name], ref[name], min_size_px=7)), row
        np.testing.assert_array_equal(read_array(out / "nuclei" / f"{name[:-4]}_nuclei.tif"),
                                      analysis.nuclear_mask(ref[name], min_size_px=7))
    rows = read_table(out / "mito.csv")
    assert sorted(r["image"] for r in rows) == sorted(mito)
    for row in rows:
        result = analysis.mito_morphology(mito[row["image"]], segmentation="Otsu", min_size_px=25,
                                          rolling_ball_radius_px=6)
        assert int(row["n_particles"]) == result.n_particles > 0
        assert close(row["mean_circularity"], result.mean_circularity), row
        np.testing.assert_array_equal(read_array(out / "mito_masks" / f"{row['image'][:-4]}_mito.tif"), result.mask)
    for name, img in ref.items():
        np.testing.assert_array_equal(read_array(out / "binned" / name),
                                      ijops.upsample_nearest(ijops.bin(img, 3, 1), img.shape))
    assert len(read_table(out / "mae.csv")) == len(read_table(out / "r.csv")) == len(ref)


DIALOGS = {  # command -> words its settings dialog must show
    "Mask MAE": ["Mask MAE between cell masks", "Mean threshold", "pixels (paper: 100"],
    "Nuclear Pearson": ["Pearson's R under nuclear masks", "Triangle threshold", "pixels (paper: 5"],
    "Mito Morphology": ["Mitochondrial morphology", "rolling-ball", "default 20"],
    "Bin and Upsample": ["Bin and upsample", "2x2 to 8x8", "paper: 2, 4 or 8"],
}


@pytest.mark.imagej
@pytest.mark.parametrize("command", sorted(DIALOGS))
def test_a_command_run_from_the_menu_opens_its_settings_dialog(tmp_path, command):
    """From the menu (no options) the dialog waits for the user; the dialog watchdog reports its text."""
    app = _imagej_folder(tmp_path)
    fiji_install.install(app)
    driver = tmp_path / "menu.ijm"
    driver.write_text(f'run("{command}");\n')
    run = macros.run_macro(driver, imagej_dir=app, check=False, timeout=120)
    text = " ".join(run.errors)
    assert "Macro Error" not in text, text
    for words in DIALOGS[command]:
        assert words in text, (words, text)
