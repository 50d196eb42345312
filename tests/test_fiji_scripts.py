"""lumicare_ij/fiji_scripts/*.groovy: they compile with Groovy, and everything but the CSBDeep plugin runs in
the real ImageJ 1.53t (folder loop, file handling, atomic saving, logs, the macros of the paper's
analysis). The plugin call is checked with stand-in SciJava services that record the command
and its inputs; running the plugin itself needs Fiji with the CSBDeep update site.

The checks live in tests/fiji_scripts_check.groovy, run in one JVM (Groovy 4 + ij-1.53t.jar)
under xvfb-run (ImageJ macros need a display). Missing Java, jars or Xvfb fail the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from lumicare_ij.javatools import jdk_tool, resolve_artifact

REPO = Path(__file__).resolve().parents[1]
#: Fiji ships Groovy 4 (older installs 2.5/3.0); the scripts use syntax all of them accept.
GROOVY_ARTIFACT = "org.apache.groovy:groovy:4.0.33"
IMAGEJ_ARTIFACT = "net.imagej:ij:1.53t"


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        pytest.fail("xvfb-run is required (ImageJ macros need a display): apt-get install xvfb", pytrace=False)
    jars = [resolve_artifact(GROOVY_ARTIFACT), resolve_artifact(IMAGEJ_ARTIFACT)]
    work = tmp_path_factory.mktemp("fiji_scripts")
    command = [xvfb, "-a", jdk_tool("java"), f"-Duser.home={work / 'home'}", "-cp",
               os.pathsep.join(str(j) for j in jars), "groovy.ui.GroovyMain",
               str(REPO / "tests" / "fiji_scripts_check.groovy"), str(REPO), str(work / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the Groovy checks failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    values = defaultdict(list)
    for line in done.stdout.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            values[key].append(value)
    assert values["done"] == ["yes"]
    return {k: v[0] if len(v) == 1 else v for k, v in values.items()}, work / "run"


def test_scripts_compile_and_declare_their_parameters(check):
    values, _ = check
    assert values["parsed"] == "restore_folder,paper_analysis"
    assert values["imagej_version"] == "1.53t"
    restore = (REPO / "lumicare_ij" / "fiji_scripts" / "restore_folder.groovy").read_text()
    for parameter in ("File (label", "modelFile", "inputDir", "outputDir", "nTiles", "overlap",
                      "CommandService command", "ConvertService convert"):
        assert any(line.startswith("#@") and parameter in line for line in restore.splitlines()), parameter
    analysis = (REPO / "lumicare_ij" / "fiji_scripts" / "paper_analysis.groovy").read_text()
    assert "#@ File (label" in analysis and "macroDir" in analysis


def test_restore_uses_the_csbdeep_command_with_the_papers_settings(check):
    values, _ = check
    assert values["plugin_command"] == "de.csbdresden.csbdeep.commands.GenericNetwork"
    expected = {"normalizeInput": "Boolean:true", "percentileBottom": "Float:3.0", "percentileTop": "Float:99.8",
                "clip": "Boolean:false", "nTiles": "Integer:8", "blockMultiple": "Integer:32",
                "overlap": "Integer:32", "batchSize": "Integer:1", "showProgressDialog": "Boolean:false"}
    for key, value in expected.items():
        assert values[f"plugin_input.{key}"] == value, key
    model_file = values["plugin_input.modelFile"]
    assert model_file.startswith("File:") and model_file.endswith("model.zip")
    assert values["network_command"] == "de.csbdresden.csbdeep.commands.GenericNetwork"
    assert values["network_process"] == "false"
    assert values["network_input"] == "DATASET-INPUT"
    assert values["network_keys"].split(",") == sorted(list(expected) + ["input", "modelFile"])
    assert values["network_result"] == "true"
    assert values["network_conversions"] == "ImagePlus->Object,DATASET-OUTPUT->ImagePlus"
    assert "returned no output" in values["no_output"]


def test_restore_folder_loop_with_real_imagej(check):
    values, run = check
    assert values["tiff_files"] == "a_stack.TIFF,b_stack.tif"            # no .txt, no hidden files
    assert values["output_name"] == "cell 1.tif"
    rows = values["restore_row"]
    assert [r.split("|")[:2] for r in rows] == [["a_stack.TIFF", "restored"], ["b_stack.tif", "restored"]]
    assert values["result_dims"] == "40,30,3,32"                           # 32-bit stack, same size
    pixel_width, pixel_depth, unit = values["result_calibration"].split(",")
    assert float(pixel_width) == pytest.approx(0.65, rel=1e-6) and float(pixel_depth) == 2.0 and unit == "micron"
    assert float(values["result_pixel_ratio"]) == pytest.approx(2.0)
    assert values["log_table"].startswith("file,status,seconds,message|\"a_stack.TIFF\",\"restored\"")
    assert values["second_run"] == "skipped (exists),skipped (exists)"
    assert values["failing_run"] == ("failed:network failed on a_stack.TIFF,failed:network failed on b_stack.tif")
    assert values["failing_outputs"] == "restore_log.csv"                  # no partial or temporary files
    assert "other than the input folder" in values["same_folder"]
    assert sorted(p.name for p in (run / "restored").iterdir()) == ["a_stack.tif", "b_stack.tif", "restore_log.csv"]


def test_paper_analysis_builds_the_macro_arguments(check):
    values, run = check
    base = str(run)
    assert values["analysis_names"].split("|") == ["mask MAE (Figure 1)", "nuclear Pearson (Figure 2a)",
                                                   "mitochondrial morphology (Figure 2b)"]
    assert values["macro_argument.mask_mae.ijm"] == (
        f"reference=[{base}/truth] test=[{base}/scored] table=[{base}/results/mask_mae.csv] "
        f"masks=[{base}/results/masks_mask_mae]")
    assert values["macro_argument.nuclear_pearson.ijm"].startswith(f"images=[{base}/scored] truth=[{base}/truth] ")
    assert f"particles=[{base}/results/mito_particles.csv]" in values["macro_argument.mito_morphology.ijm"]
    assert "masks=" not in values["macro_argument_no_masks"]
    assert "Unknown analysis 'Figure 3'" in values["unknown_choice"]
    assert values["problems_ok"] == ""
    assert "Macro not found" in values["problems_missing"] and "No ground truth" in values["problems_missing"]


def test_paper_analysis_runs_the_papers_macros_in_imagej(check):
    values, run = check
    rows = [r.split("|") for r in values["analysis_row"]]
    assert [r[1] for r in rows] == ["done", "done", "done"], rows
    assert values["table.mask_mae.csv"].startswith("3 lines; image,mae,")
    assert values["table.nuclear_pearson.csv"].startswith("3 lines; image,pearson_r,")
    assert values["table.mito_morphology.csv"].startswith("3 lines; image,n_particles,mean_circularity,")
    assert values["mask_folders"] == "masks_mask_mae,masks_mito_morphology,masks_nuclear_pearson"
    assert values["aborted_row"].startswith("mask MAE (Figure 1)|failed: [aborted]")
    mae = (run / "results" / "mask_mae.csv").read_text().splitlines()
    assert mae[1].startswith('cells_1.tif,') or mae[1].startswith('"cells_1.tif"')
