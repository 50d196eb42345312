"""Open the package's ImageJ TIFFs in napari with their calibration as the layer scale (microns)."""

from __future__ import annotations

from pathlib import Path

from ..errors import LumicareError
from ..io import read_stack


def get_reader(path):
    """npe2 reader hook: a reader function for one ``.tif``/``.tiff`` path (or a list of them), else None."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(str(p).lower().endswith((".tif", ".tiff")) for p in paths):
        return None
    return read_tiffs


def layer_scale_um(stack) -> tuple:
    """napari's ``scale`` of a stack from :func:`lumicare_ij.io.read_stack`: microns per pixel per axis (1 if unknown)."""
    xy = stack.attrs.get("pixel_size_um") or 1.0
    if stack.ndim == 2:
        return (xy, xy)
    return (stack.attrs.get("z_step_um") or 1.0, xy, xy)


def read_tiffs(path) -> list[tuple]:
    """One image layer per file: the pixels, the name, and the calibration as scale (with ``units`` kept in metadata)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers = []
    for p in paths:
        try:
            stack = read_stack(p)
        except LumicareError as err:  # napari shows a reader's error as a notification: say what is wrong
            raise ValueError(str(err)) from None
        calibrated = stack.attrs.get("pixel_size_um") is not None
        layers.append((stack.values, {"name": Path(p).stem, "scale": layer_scale_um(stack),
                                      "metadata": {"path": str(p), "calibrated_um": calibrated,
                                                   "pixel_size_um": stack.attrs.get("pixel_size_um"),
                                                   "z_step_um": stack.attrs.get("z_step_um")}}, "image"))
    return layers
