"""napari widget *Restore with CARE*: the selected image layer through a CARE model, off the viewer's thread.

The restoration runs in a Python process of its own
(:mod:`lumicare_ij.napari.restore_process`: TensorFlow and napari's OpenGL
cannot share a process on Mesa); a napari worker thread starts it, passes the
layer's pixels through a temporary folder, and turns its ``STEP`` lines into
the progress bar. *Cancel* kills that process; nothing is added.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, LineEdit

from ..errors import LumicareError
from ..javatools import exit_description
from ..precision import PRECISION_CHOICES
from ..shapes import parse_sizes
from ._worker import LayerChoices, WorkerPanel
from .restore_process import N_STEPS


class RestorationFailed(LumicareError):
    """The restoration process reported an error (its one line), or stopped without a result."""


class ChildRestoration:
    """One restoration in a child Python: :meth:`steps` runs it (a generator for napari's worker), :meth:`kill` stops it."""

    def __init__(self, image: np.ndarray, model, tiles=None, precision: str = "float32", scale_map: bool = True):
        self.request = {"model": str(model), "tiles": None if tiles is None else list(tiles),
                        "precision": precision, "scale_map": bool(scale_map)}
        self.image = image
        self.process = None
        self.cancelled = False

    def kill(self) -> None:
        """Stop the restoration (*Cancel*): the child is killed, :meth:`steps` ends without a result."""
        self.cancelled = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def steps(self):
        """Yields ``(steps done, message)`` (or None, a moment to cancel); returns the result's arrays."""
        with tempfile.TemporaryDirectory(prefix="lumicare-napari-") as tmp:
            folder = Path(tmp)
            np.save(folder / "image.npy", np.ascontiguousarray(self.image))
            (folder / "request.json").write_text(json.dumps(self.request))
            yield 0, "starting a Python process for TensorFlow"
            with open(folder / "stderr.txt", "w") as err:
                self.process = subprocess.Popen([sys.executable, "-m", "lumicare_ij.napari.restore_process", tmp],
                                                stdout=subprocess.PIPE, stderr=err, text=True)
                try:
                    yield from self._progress()
                finally:
                    if self.process.poll() is None:
                        self.process.kill()
            if self.cancelled:
                yield None  # where napari's worker stops a cancelled job
                return None
            result = self._result(folder)
        yield N_STEPS, "done"
        return result

    def _progress(self):
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        while self.process.poll() is None or not lines.empty():
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                yield None
                continue
            if line.startswith("STEP "):
                _, done, message = line.rstrip("\n").split(" ", 2)
                yield int(done), message

    def _result(self, folder: Path) -> dict:
        try:
            record = json.loads((folder / "result.json").read_text())
        except FileNotFoundError:
            last = (folder / "stderr.txt").read_text().strip().splitlines()[-1:] or [""]
            raise RestorationFailed(f"the restoration process stopped ({exit_description(self.process.returncode)})"
                                    f"{': ' + last[0] if last[0] else ''}") from None
        if "error" in record:
            raise RestorationFailed(record["error"])
        scale = np.load(folder / "scale.npy", allow_pickle=False) if record["scale"] else None
        return {"mean": np.load(folder / "mean.npy", allow_pickle=False), "scale": scale, "how": record["how"]}


class RestoreWidget(Container):
    """Pick an image layer and a model, press *Restore*; the restoration (and scale map) come back as layers."""

    def __init__(self, napari_viewer):
        self._viewer = napari_viewer
        self._layer = ComboBox(label="Image", choices=LayerChoices(napari_viewer, "Image"),
                               tooltip="the image layer to restore")
        self._model = FileEdit(label="Model folder", mode="d",
                               tooltip="a folder from 'lumicare train' (or any csbdeep CARE model)")
        self._zip = FileEdit(label="or Fiji ZIP", mode="r", filter="*.zip", value="",
                             tooltip="a ZIP from 'lumicare export --format csbdeep-fiji' (run in TensorFlow "
                                     "Java as in Fiji; needs a JDK); used instead of the folder when set")
        self._tiles = LineEdit(label="Tiles Z,Y,X", value="",
                               tooltip="tiles per axis, e.g. 2,2,2 as in the paper; empty: one piece")
        self._precision = ComboBox(label="Precision", choices=list(PRECISION_CHOICES), value="float32",
                                   tooltip="float32 = csbdeep; auto = bfloat16 where the CPU/GPU runs it natively")
        self._scale = CheckBox(text="Scale map as a second layer (probabilistic models)", value=True)
        self._panel = WorkerPanel("Restore", N_STEPS)
        super().__init__(widgets=[self._layer, self._model, self._zip, self._tiles, self._precision, self._scale,
                                  *self._panel.widgets])
        self._panel.start_button.changed.connect(self._start)
        self._panel.watch_layers(napari_viewer, self._layer)

    def _start(self) -> None:
        layer = self._layer.value
        if layer is None:
            return self._panel.say("Open or select an image layer first.")
        zip_text = str(self._zip.value) if self._zip.value and str(self._zip.value) not in ("", ".") else ""
        model = Path(zip_text) if zip_text else Path(self._model.value)
        if not model.exists() or str(model) in ("", "."):
            return self._panel.say("Choose a model folder (lumicare train) or an exported Fiji ZIP.")
        try:
            tiles = (parse_sizes(self._tiles.value, "tiles", n_axes=layer.ndim, axes="Z,Y,X"[-2 * layer.ndim + 1:],
                                 example="2,2,2") if self._tiles.value.strip() else None)
        except ValueError as err:
            return self._panel.say(str(err))
        job = ChildRestoration(np.asarray(layer.data), model, tiles, self._precision.value, self._scale.value)
        self._panel.run(job.steps(), lambda result: self._add_layers(layer, result), on_cancel=job.kill)

    def _add_layers(self, layer, result: dict) -> None:
        place = {"scale": layer.scale, "translate": layer.translate}
        self._viewer.add_image(result["mean"], name=f"{layer.name} restored", metadata={"restored": result["how"]},
                               **place)
        if result["scale"] is not None:
            self._viewer.add_image(result["scale"], name=f"{layer.name} scale", colormap="magma",
                                   metadata={"scale map of": f"{layer.name} restored"}, visible=False, **place)
        self._panel.say(f"Restored {layer.name}: {result['how']}.")
