"""A screenshot of napari with the LumiCARE plugin: a demo stack restored and measured, for the README.

The plugin is driven through its own widgets, as a user would: the 0.5 s and
60 s stacks are opened with its reader, *Restore with CARE* restores the
0.5 s stack, *Paper readouts* computes the mask MAE of the raw and of the
restored stack against 60 s; the grid shows each image with its cell masks,
the docks show the widgets and the table. Taken with napari's
``viewer.screenshot`` (under Xvfb on a machine without a display): the whole window, and
the canvas alone, larger (``<out>_canvas.png``).

    lumicare demo --out lumicare-demo            # trains the demo's model (minutes)
    xvfb-run -a -s "-screen 0 1920x1200x24" python scripts/napari_screenshot.py --demo lumicare-demo \\
        --out docs/images/napari/viewer.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

PLUGIN = "lumicare-ij"


def _wait(condition, timeout_s: float = 600.0) -> None:
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the plugin did not finish in time")
        QApplication.processEvents()
        time.sleep(0.02)


def _settle(seconds: float = 1.0) -> None:
    """Let Qt lay out and draw (the canvas learns its size only once shown)."""
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def _measure(viewer, widget, reference, test) -> list:
    widget._kind.value = "mask MAE"
    widget._reference.value, widget._test.value = reference, test
    widget._panel.start_button.native.click()
    _wait(lambda: not widget._panel.running)
    return widget._table.value["data"]


def make_screenshot(model, raw_tif, reference_tif, out_png, size=(1600, 1000)) -> dict:
    """Restore ``raw_tif`` with ``model`` in napari, measure it against ``reference_tif``, save the window."""
    import napari

    viewer = napari.Viewer(show=True)
    try:
        viewer.window.resize(*size)
        raw = viewer.open(raw_tif, plugin=PLUGIN)[0]
        raw.name = "0.5 s"
        reference = viewer.open(reference_tif, plugin=PLUGIN)[0]
        reference.name = "60 s"
        _, restore = viewer.window.add_plugin_dock_widget(PLUGIN, "Restore with CARE")
        restore._layer.value, restore._model.value, restore._scale.value = raw, Path(model), False
        restore._panel.start_button.native.click()
        _wait(lambda: not restore._panel.running)
        restored = viewer.layers[f"{raw.name} restored"]
        _, readouts = viewer.window.add_plugin_dock_widget(PLUGIN, "Paper readouts")
        raw_rows = _measure(viewer, readouts, reference, raw)
        rows = _measure(viewer, readouts, reference, restored)
        order = ["60 s", "cells: 60 s", "0.5 s restored", "cells: 0.5 s restored", "0.5 s", "cells: 0.5 s"]
        for i, name in enumerate(order):
            viewer.layers.move(viewer.layers.index(name), i)
        viewer.layers.selection.active = restored
        grid = viewer.canvas.grid
        grid.enabled, grid.stride, grid.shape = True, 2, (1, 3)  # each image under its masks, side by side
        middle = raw.data.shape[0] // 2
        viewer.dims.set_point(0, middle * raw.scale[0])  # the middle plane
        for layer in (raw, reference, restored):  # a display range that ignores a few hot pixels
            layer.contrast_limits = tuple(np.percentile(layer.data[middle], (0.5, 99.9)))
        _settle()
        viewer.reset_view()
        _settle()
        Path(out_png).parent.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(path=str(out_png), canvas_only=False)
        canvas_png = Path(out_png).with_name(Path(out_png).stem + "_canvas.png")
        viewer.camera.zoom *= 1.8  # reset_view leaves wide margins around a grid
        _settle()
        viewer.screenshot(path=str(canvas_png), canvas_only=True, size=(420, 1260), scale=1)
        return {"mae_raw": raw_rows[0][2], "mae_restored": rows[0][2]}
    finally:
        viewer.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("lumicare-demo"), help="a 'lumicare demo' folder")
    parser.add_argument("--stack", default="h2b_000.tif", help="which held-out stack [h2b_000.tif]")
    parser.add_argument("--out", type=Path, default=Path("docs/images/napari/viewer.png"))
    args = parser.parse_args(argv)
    test = args.demo / "data" / "test"
    if not (args.demo / "model" / "config.json").is_file():
        print(f"{args.demo} holds no demo model; run 'lumicare demo --out {args.demo}' first.", file=sys.stderr)
        return 2
    numbers = make_screenshot(args.demo / "model", test / "lum_0.5s" / args.stack, test / "lum_60s" / args.stack,
                              args.out)
    print(f"wrote {args.out}: mask MAE against 60 s, raw {numbers['mae_raw']:.1f}, "
          f"restored {numbers['mae_restored']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
