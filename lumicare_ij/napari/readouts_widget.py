"""napari widget *Paper readouts*: the paper's Fiji measurements between two layers, masks shown as labels.

Each readout is one call into :mod:`lumicare_ij.analysis` (the NumPy engine,
tested equal to ImageJ 1.53t): the numbers in the table are that function's.
The masks are added as label layers, each connected object its own label, so
a merged or split object shows at a glance.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Table
from scipy import ndimage as ndi

from .. import analysis
from ._worker import LayerChoices, WorkerPanel

#: Readout -> (default particle size limit in pixels, the paper's figure).
READOUTS = {
    "mask MAE": (100, "Figure 1: MAE between Mean-threshold cell masks, 0 = identical, 255 = all differ"),
    "nuclear Pearson": (5, "Figure 2a: Pearson's R of the pixels under the reference's nuclear mask"),
    "mitochondrial shapes": (20, "Figure 2b: mean circularity and aspect ratio of particles (max projection)"),
}
COLUMNS = ("readout", "layer", "value", "objects")


def objects(mask: np.ndarray) -> np.ndarray:
    """A 0/255 mask as labels: one number per connected object (8/26-connected, as ImageJ's particles in 2D)."""
    labels, _ = ndi.label(mask > 0, structure=np.ones((3,) * mask.ndim))
    return labels


def readout_steps(kind: str, reference: np.ndarray, test: np.ndarray, min_size_px: float,
                  names: tuple[str, str] = ("reference", "test")):
    """Measure ``kind`` between ``reference`` (ground truth) and ``test`` (raw or restored).

    Yields ``(steps done, message)``; returns ``{"rows": [...], "masks": [(layer name, labels, which input)]}``
    where each row is (readout, layer, value, objects) and ``which input`` is 0 (reference) or 1 (test).
    """
    ref_name, test_name = names
    if kind == "mask MAE":
        yield 0, "cell masks (16-bit, Mean threshold, particles)"
        masks = [analysis.cell_mask(img, min_size_px) for img in (reference, test)]
        yield 1, "MAE"
        mae = float(analysis.mask_mae_between(reference, test, min_size_px))
        labels = [objects(m) for m in masks]
        rows = [("mask MAE", f"{test_name} vs {ref_name}", mae, "")]
        rows += [("cell objects", name, "", int(lab.max())) for name, lab in zip(names, labels)]
        yield 2, "done"
        return {"rows": rows, "masks": [(f"cells: {name}", lab, i) for i, (name, lab) in enumerate(zip(names, labels))]}
    if kind == "nuclear Pearson":
        yield 0, "nuclear mask of the reference (Triangle threshold, particles)"
        mask = analysis.nuclear_mask(reference, min_size_px)
        yield 1, "Pearson's R under the mask"
        r = float(analysis.nuclear_pearson(test, reference, min_size_px))
        labels = objects(mask)
        yield 2, "done"
        return {"rows": [("nuclear Pearson", f"{test_name} vs {ref_name}", r, int(labels.max()))],
                "masks": [(f"nuclei: {ref_name}", labels, 0)]}
    if kind == "mitochondrial shapes":
        rows, masks = [], []
        for i, (name, img) in enumerate(zip(names, (reference, test))):
            yield i, f"mitochondria of {name}"
            result = analysis.mito_morphology(img, min_size_px=min_size_px)
            rows += [("mean circularity", name, float(result.mean_circularity), result.n_particles),
                     ("mean aspect ratio", name, float(result.mean_aspect_ratio), result.n_particles)]
            masks.append((f"mitochondria: {name}", objects(result.mask), i))
        yield 2, "done"
        return {"rows": rows, "masks": masks}
    raise ValueError(f"unknown readout {kind!r}; choose one of {', '.join(READOUTS)}")


class ReadoutsWidget(Container):
    """Choose a readout and two layers, press *Measure*: masks as label layers, numbers in the table."""

    def __init__(self, napari_viewer):
        self._viewer = napari_viewer
        choices = LayerChoices(napari_viewer, "Image")
        self._kind = ComboBox(label="Readout", choices=list(READOUTS), value="mask MAE")
        self._reference = ComboBox(label="Reference", choices=choices,
                                   tooltip="the ground truth: long exposure, or the fluorescent label")
        self._test = ComboBox(label="Test", choices=choices, tooltip="the raw short exposure, or its restoration")
        self._min_size = FloatSpinBox(label="Min size (px)", value=100, min=0, max=1e6, step=1,
                                      tooltip="particles smaller than this are dropped (inclusive limit)")
        self._table = Table(value={"data": [], "index": [], "columns": list(COLUMNS)})
        self._panel = WorkerPanel("Measure", 2)
        super().__init__(widgets=[self._kind, self._reference, self._test, self._min_size, *self._panel.widgets,
                                  self._table])
        self._kind.changed.connect(self._explain)
        self._panel.start_button.changed.connect(self._start)
        self._panel.watch_layers(napari_viewer, self._reference, self._test)
        self._explain()

    def _explain(self, *_) -> None:
        size, text = READOUTS[self._kind.value]
        self._min_size.value = size
        self._panel.say(text)

    def _start(self) -> None:
        ref, test = self._reference.value, self._test.value
        if ref is None or test is None:
            return self._panel.say("Open two image layers: a reference and a test.")
        if ref.data.shape != test.data.shape:
            return self._panel.say(f"{ref.name} is {ref.data.shape} and {test.name} {test.data.shape}: "
                                   "the readouts compare images of the same size.")
        job = readout_steps(self._kind.value, np.asarray(ref.data), np.asarray(test.data), self._min_size.value,
                            (ref.name, test.name))
        self._panel.run(job, lambda result: self._show(result, (ref, test)))

    def _show(self, result: dict, layers) -> None:
        for name, labels, which in result["masks"]:
            source = layers[which]
            scale = source.scale[-labels.ndim:]  # a projection keeps Y, X
            if name in self._viewer.layers:
                self._viewer.layers.remove(name)
            self._viewer.add_labels(labels, name=name, scale=scale, translate=source.translate[-labels.ndim:],
                                    opacity=0.5)
        rows = [list(row) for row in result["rows"]]
        self._table.value = {"data": rows, "index": list(range(1, len(rows) + 1)), "columns": list(COLUMNS)}
        self._panel.say("; ".join(f"{r[0]} {r[2]:.4g}" for r in result["rows"] if r[2] != ""))
