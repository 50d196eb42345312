"""Screenshots of the LumiCARE commands in the real ImageJ 1.53t, for docs/fiji.md.

Simulates a small H2B data set, installs the macros into a scratch ImageJ
folder with `lumicare fiji install`, starts ImageJ 1.53t under Xvfb and lets
scripts/FijiScreenshots.java open each command's settings dialog (captured,
then cancelled), run Mask MAE on the 60 s vs 0.5 s stacks and open two of its
masks; every picture is captured from the screen with java.awt.Robot.

    python scripts/fiji_screenshots.py --out docs/images/fiji
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lumicare_ij import fiji_install, macros
from lumicare_ij.javatools import compile_java
from lumicare_ij.simulate import simulate_dataset

HERE = Path(__file__).resolve().parent
DIALOGS = ("Mask MAE", "Nuclear Pearson", "Mito Morphology", "Bin and Upsample")


def jobs(work: Path) -> list[str]:
    """The screenshot jobs (kind, what, png) for FijiScreenshots.java."""
    out = []
    for command in DIALOGS:
        out += ["dialog", command, f"{command.lower().replace(' ', '_')}_dialog.png"]
    options = (f"reference=[{work / 'data' / 'lum_60s'}] test=[{work / 'data' / 'lum_0.5s'}] "
               f"table=[{work / 'mae.csv'}] masks=[{work / 'masks'}]")
    out += ["run", f"Mask MAE|{options}|MAE between cell masks", "mask_mae_result.png"]
    out += ["open", str(work / "masks" / "h2b_000_reference.tif"), "mask_60s.png"]
    out += ["open", str(work / "masks" / "h2b_000_test.tif"), "mask_0.5s.png"]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/fiji"), help="folder for the PNGs")
    args = parser.parse_args(argv)
    jar = macros.imagej_jar()
    classes = compile_java({"FijiScreenshots.java": (HERE / "FijiScreenshots.java").read_text()}, [jar],
                           "FijiScreenshots")
    with tempfile.TemporaryDirectory(prefix="lumicare-shots-") as tmp:
        work = Path(tmp)
        simulate_dataset("h2b", work / "data", small=True, progress=False)
        app = work / "ImageJ"
        app.mkdir()
        shutil.copy(jar, app / "ij.jar")
        fiji_install.install(app)
        (work / "png").mkdir()
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "java", f"-Duser.home={work}",
                   f"-Dplugins.dir={app}", "-cp", f"{jar}:{classes}", "FijiScreenshots", str(work / "png"),
                   *jobs(work)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, start_new_session=True)
        print(done.stdout.strip())
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        args.out.mkdir(parents=True, exist_ok=True)
        for png in sorted((work / "png").glob("*.png")):
            shutil.copy(png, args.out / png.name)
    print(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
