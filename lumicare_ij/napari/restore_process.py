"""The restoration behind napari's *Restore with CARE*, run in a Python process of its own.

Why a process: TensorFlow and an OpenGL context cannot share a Linux process
when the GL driver is Mesa (software rendering under Xvfb, and the Intel and
AMD drivers): both carry LLVM, and loading the second crashes the process in
LLVM's start-up code (measured here: a segmentation fault in
``libtensorflow_framework.so`` importing TensorFlow after a napari viewer,
``free(): invalid pointer`` the other way round). napari always holds a GL
context, so TensorFlow is only ever loaded here, in a child that napari's
worker thread starts and reads. A child can also really be stopped: *Cancel*
kills it.

Protocol: ``python -m lumicare_ij.napari.restore_process FOLDER`` reads
``FOLDER/request.json`` and ``FOLDER/image.npy``, prints ``STEP <n> <message>``
lines as it goes, and writes ``mean.npy`` (and ``scale.npy``) and
``result.json``; an error becomes ``result.json`` with ``error`` (one line)
and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

#: Steps reported, for the progress bar: started, model loaded, restored, written.
N_STEPS = 4


def restore(image: np.ndarray, model_path, tiles=None, precision: str = "float32", scale_map: bool = True,
            step=lambda n, message: None) -> dict:
    """Restore ``image`` with a model folder or an exported CSBDeep-Fiji ZIP.

    Parameters
    ----------
    image : array
        The layer's pixels, as the model's dimensions (ZYX or YX).
    model_path : path
        A model folder (``lumicare train`` or any csbdeep CARE model):
        :func:`lumicare_ij.care.predict`, csbdeep's percentiles, counts out.
        Or a ZIP from ``lumicare export --format csbdeep-fiji``:
        :func:`lumicare_ij.export.fiji_parity.predict_like_fiji`, the Fiji
        plugin's numbers (normalised scale), in TensorFlow Java.
    tiles : (z, y, x), optional
        Tiles per axis for a folder model (None: one piece).
    precision : {"float32", "bfloat16", "float16", "auto"}
        Arithmetic of a folder model (:mod:`lumicare_ij.precision`).
    scale_map : bool
        Also return a probabilistic model's scale (uncertainty) map.
    step : callable
        Called with (steps done, message) as the work advances.

    Returns
    -------
    dict with ``mean``, ``scale`` (None if not asked for or not probabilistic)
    and ``how`` (one line for the layer's metadata and the status).
    """
    path = Path(model_path)
    if path.suffix.lower() == ".zip":
        from ..export.fiji_parity import predict_like_fiji

        step(2, "running the ZIP in TensorFlow Java, as Fiji's CSBDeep plugin does")
        mean = predict_like_fiji(str(path), image)
        return {"mean": mean, "scale": None,
                "how": f"{path.name} in TensorFlow Java with the CSBDeep plugin's settings (normalised scale)"}
    from .. import care

    model = care.load_model(path, precision)
    with_scale = bool(scale_map and model.config.probabilistic)
    step(2, "restoring with csbdeep")
    result = care.predict(model, image, tiles=tiles, return_scale=with_scale)
    mean, scale = result if with_scale else (result, None)
    note = "" if with_scale or not scale_map else " (no scale map: the model is not probabilistic)"
    return {"mean": mean, "scale": scale, "how": f"{path.name}, care.predict, {precision}, tiles {tiles}{note}"}


def _step(n: int, message: str) -> None:
    print(f"STEP {n} {message}", flush=True)


def main(argv=None) -> int:
    from ..errors import LumicareError
    from ..tfquiet import import_tensorflow_quietly

    folder = Path((argv or sys.argv[1:])[0])
    request = json.loads((folder / "request.json").read_text())
    _step(1, "loading TensorFlow and the model")
    try:
        import_tensorflow_quietly()
        result = restore(np.load(folder / "image.npy", allow_pickle=False), request["model"],
                         None if request["tiles"] is None else tuple(request["tiles"]), request["precision"],
                         request["scale_map"], _step)
    except (LumicareError, ValueError, OSError, MemoryError) as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        (folder / "result.json").write_text(json.dumps({"error": text}))
        return 2
    _step(3, "handing the result to napari")
    np.save(folder / "mean.npy", result["mean"])
    if result["scale"] is not None:
        np.save(folder / "scale.npy", result["scale"])
    (folder / "result.json").write_text(json.dumps({"how": result["how"], "scale": result["scale"] is not None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
