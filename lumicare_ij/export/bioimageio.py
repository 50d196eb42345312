"""Export a csbdeep CARE model as a bioimage.io model package (format 0.5).

The package is a ZIP with ``rdf.yaml`` and everything it names: the weights
(the TF1-compatible SavedModel ZIP of :func:`export_csbdeep_fiji`, declared
``tensorflow_saved_model_bundle`` for TensorFlow 1.15, and optionally the
same graph converted to ONNX), a test input and the output it gives
(``.npy``), a cover image and a README. deepImageJ 3 and JDLL (Fiji), napari,
ilastik and ``bioimageio.core`` read such packages; deepImageJ/JDLL run the
SavedModel in TensorFlow Java 1.15, the runtime of the CSBDeep plugin, so the
same weights serve both Fiji routes.

Normalisation is declared as the input's ``scale_range`` preprocessing
(percentiles of each channel of each image, csbdeep's prediction default
2 / 99.8). The bioimage.io format has no postprocessing that maps the output
back to the input's intensities (csbdeep does), so consumers of the package
get the output on the normalised scale, as the CSBDeep Fiji plugin does.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from .csbdeep_fiji import OUTPUTS, export_csbdeep_fiji, export_identity, unzip_model
from .errors import ExportError

#: Percentiles of the input's scale_range preprocessing: csbdeep's prediction default.
DEFAULT_PERCENTILES = (2.0, 99.8)
#: scale_range's epsilon: (x - lo) / (hi - lo + eps).
SCALE_RANGE_EPS = 1e-6
#: The format version written; bioimageio.spec 0.5.x reads every 0.5 patch version.
FORMAT_VERSION = "0.5.4"
#: TensorFlow version declared for the SavedModel (the CSBDeep plugin's and JDLL's TF 1 engine).
TENSORFLOW_VERSION = "1.15.0"
#: ONNX opset of the optional ONNX weights (opset <= 18 is what JDLL and older runtimes read).
ONNX_OPSET = 15
#: Largest difference (relative to the output's range) accepted between weight formats.
AGREEMENT_RTOL = 1e-4

CITATIONS = (
    {"text": "Weigert M, Schmidt U, Boothe T, et al. Content-aware image restoration: pushing the limits "
             "of fluorescence microscopy. Nat Methods 15, 1090-1097 (2018).",
     "doi": "10.1038/s41592-018-0216-7"},
    {"text": "Boothe T, Ivankovic M, Grohme MA, Rink JC. Content-aware image restoration improves "
             "spatiotemporal resolution in luminescence microscopy. Commun Biol (2023).",
     "doi": "10.1038/s42003-023-04886-z"},
)

_WEIGHTS_TF = "weights_tf_saved_model_bundle.zip"
_WEIGHTS_ONNX = "weights.onnx"
_TEST_INPUT = "test_input.npy"
_TEST_OUTPUT = "test_output.npy"
_SAMPLE_INPUT = "sample_input.tif"
_SAMPLE_OUTPUT = "sample_output.tif"
_COVER = "cover.png"
_README = "README.md"


def export_bioimageio(model_dir, out_zip, output: str = "mean", overwrite: bool = False, *,
                      weights: str | None = None, test_input=None, name: str | None = None,
                      description: str | None = None, authors=None, license: str = "CC-BY-4.0",
                      percentiles=DEFAULT_PERCENTILES, onnx: bool | str = "auto",
                      validate: bool = True) -> Path:
    """Write a csbdeep CARE model as a bioimage.io model package (ZIP, format 0.5).

    Parameters
    ----------
    model_dir : str or Path
        A csbdeep CARE model folder (``config.json`` and weights), as for
        :func:`export_csbdeep_fiji`.
    out_zip : str or Path
        The package to write (by convention ``*.bioimageio.zip`` or ``*.zip``).
    output : {"mean", "mean+scale"}
        What the network returns (see :func:`export_csbdeep_fiji`).
    overwrite : bool
        Replace an existing ``out_zip``; otherwise it is an error and the file stays.
    weights : str, optional
        Weights file inside ``model_dir`` (default ``weights_best.h5``, else ``weights_last.h5``).
    test_input : array or str or Path, optional
        A raw image, ``(Z, Y, X)`` / ``(Y, X)`` (channels last if the model has
        several), or a TIFF file holding one; it is cropped to sizes the network
        accepts (multiples of ``2**unet_n_depth``). Default: a simulated
        5 s H2B-NanoLuc luminescence stack, 16 x 64 x 64 (its middle plane for
        2D models). Use an image of your own data for a package you publish.
    name, description : str, optional
        Shown by bioimage.io tools; defaults name the model folder.
    authors : list of str or dict, optional
        Authors of the model (``{"name": ..., "affiliation": ..., "orcid": ...}``
        or plain names). Default: one placeholder author; set real ones before
        sharing the package.
    license : str
        SPDX identifier of the license of the weights (default CC-BY-4.0).
    percentiles : (float, float)
        Low and high percentile of the input's ``scale_range`` preprocessing.
    onnx : bool or "auto"
        Also convert the graph to ONNX (opset :data:`ONNX_OPSET`) with tf2onnx
        and check it with onnxruntime. "auto": only if those packages are
        installed (``pip install lumicare-ij[bioimageio]``).
    validate : bool
        Validate the finished package with ``bioimageio.spec`` (local checks
        only, no network) before it is moved into place.

    Returns
    -------
    Path
        The written package.

    Raises
    ------
    ExportError
        As :func:`export_csbdeep_fiji`, plus: an unusable test input, ONNX
        asked for but unavailable or disagreeing, bioimageio.spec missing or
        reporting the package invalid. No file is left at ``out_zip`` unless
        everything succeeded.

    Notes
    -----
    The test output is computed by running the exported SavedModel (the very
    bytes in the package) in TensorFlow's TF1 session API on the normalised
    test input; :func:`export_csbdeep_fiji` has already checked that graph
    against the Keras model, and the tests run it in TensorFlow Java 1.15.
    """
    if output not in OUTPUTS:
        raise ExportError(f"output must be one of {OUTPUTS}, not {output!r}.")
    out_zip = Path(out_zip)
    if out_zip.is_dir():
        raise ExportError(f"{out_zip} is a folder; give the path of the .zip file to write.")
    identity = json.loads(json.dumps({
        **export_identity(model_dir, output, weights), "format": "bioimage.io", "name": name,
        "description": description, "authors": authors, "license": license, "percentiles": percentiles,
        "onnx": onnx, "test_input_sha256": None if test_input is None else
        hashlib.sha256(np.ascontiguousarray(test_input).tobytes()).hexdigest()}, default=str))
    if out_zip.exists() and not overwrite:
        if _packaged_identity(out_zip) == identity:
            return out_zip  # this very package is already there (a rerun): nothing to do
        raise ExportError(f"{out_zip} already exists (another model or other settings); choose another file or "
                          "pass overwrite=True (--force on the command line) to replace it.")
    low, high = _check_percentiles(percentiles)
    if onnx not in (True, False, "auto"):
        raise ExportError(f"onnx must be True, False or 'auto', not {onnx!r}.")
    _require("yaml", "write rdf.yaml (PyYAML)")
    if validate:
        _require("bioimageio.spec", "validate the package")
    make_onnx = _onnx_available() if onnx == "auto" else bool(onnx)
    if make_onnx:
        for module in ("tf2onnx", "onnx", "onnxruntime"):
            _require(module, "write ONNX weights (or pass onnx=False)")

    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lumicare-bioimageio-") as tmp:
        tmp = Path(tmp)
        package = tmp / "package"
        package.mkdir()
        weights_zip = export_csbdeep_fiji(model_dir, package / _WEIGHTS_TF, output=output, weights=weights)
        saved_model = unzip_model(weights_zip, tmp / "saved_model")
        meta = json.loads((saved_model / "meta.json").read_text())
        config = json.loads((Path(model_dir) / "config.json").read_text())

        halos, min_sizes = _halos_and_min_sizes(config, meta)
        raw = _test_input(test_input, config, min_sizes)
        x = raw[np.newaxis]                                      # batch axis: (1, [Z,] Y, X, C)
        y = run_saved_model(saved_model, scale_range(x, low, high))
        np.save(package / _TEST_INPUT, x)
        np.save(package / _TEST_OUTPUT, y)
        _write_sample(x, package / _SAMPLE_INPUT)
        _write_sample(y, package / _SAMPLE_OUTPUT)

        onnx_opset = None
        if make_onnx:
            onnx_opset = _write_onnx(saved_model, package / _WEIGHTS_ONNX, scale_range(x, low, high), y)
        _write_cover(x, y, config, package / _COVER)
        rdf = _rdf(model_dir, config, meta, output, name, description, authors, license, (low, high),
                   onnx_opset, halos, min_sizes)
        rdf["config"]["lumicare"]["export_identity"] = identity
        (package / _README).write_text(_readme(rdf, config, meta, output, (low, high), onnx_opset, validate),
                                       encoding="utf-8")
        rdf["documentation"] = _README
        rdf = _with_hashes(rdf, package)
        _write_yaml(rdf, package / "rdf.yaml")

        def write_and_check(part):
            _zip_folder(package, Path(part))
            problems = validate_bioimageio(part) if validate else ""
            if problems:  # raised before the rename: nothing appears at out_zip
                raise ExportError("bioimageio.spec found the package invalid; this is a bug in "
                                  "lumicare_ij's bioimage.io export, please report it:\n" + problems)

        atomic_write(out_zip, write_and_check, overwrite=overwrite)
    return out_zip


def _packaged_identity(out_zip: Path) -> dict | None:
    """What an existing package records it was made of (None: nothing, or not readable)."""
    import yaml

    try:
        with zipfile.ZipFile(out_zip) as z:
            rdf = yaml.safe_load(z.read("rdf.yaml"))
        return rdf["config"]["lumicare"]["export_identity"]
    except (zipfile.BadZipFile, KeyError, OSError, TypeError, yaml.YAMLError):
        return None


# --------------------------------------------------------------------------
# Checks and helpers shared with the tests
# --------------------------------------------------------------------------

def validate_bioimageio(package) -> str:
    """Validate a package with bioimageio.spec, offline; return '' if valid, else the problems.

    Parameters
    ----------
    package : str or Path
        A package ZIP or an ``rdf.yaml``.

    Notes
    -----
    ``perform_io_checks=True`` checks that every file the rdf names is in the
    package with the declared SHA-256; all of them are local, so nothing is
    downloaded. bioimageio.spec's warnings (e.g. about style) are not errors.
    """
    _require("bioimageio.spec", "validate the package")
    from bioimageio.spec import load_description
    from bioimageio.spec.model.v0_5 import ModelDescr

    descr = load_description(Path(package), format_version="discover", perform_io_checks=True)
    summary = descr.validation_summary
    if isinstance(descr, ModelDescr) and summary.status in ("passed", "valid-format"):
        return ""
    errors = [f"- {'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in summary.errors]
    return "\n".join(errors) or f"status {summary.status!r} ({type(descr).__name__})"


def scale_range(x: np.ndarray, low: float, high: float, eps: float = SCALE_RANGE_EPS) -> np.ndarray:
    """bioimage.io's ``scale_range`` over the spatial axes of each channel of each image.

    ``(x - p_low) / (p_high - p_low + eps)`` with ``numpy.percentile``
    (linear interpolation) over all axes but the first (batch) and last
    (channel), as ``bioimageio.core`` computes it for ``axes: [z, y, x]``.
    """
    x = np.asarray(x, dtype=np.float32)
    axes = tuple(range(1, x.ndim - 1))
    lo = np.percentile(x, low, axis=axes, keepdims=True)
    hi = np.percentile(x, high, axis=axes, keepdims=True)
    return ((x - lo) / (hi - lo + eps)).astype(np.float32)


def run_saved_model(saved_model_dir, x: np.ndarray) -> np.ndarray:
    """Run an unpacked SavedModel on ``x`` with TensorFlow's TF1 session API, as TF 1.15 would."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        meta_graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(saved_model_dir))
        signature = meta_graph.signature_def["serving_default"]
        input_name = next(iter(signature.inputs.values())).name
        output_name = next(iter(signature.outputs.values())).name
        return np.asarray(sess.run(output_name, {input_name: np.asarray(x, np.float32)}), dtype=np.float32)


def _require(module: str, purpose: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
        raise ExportError(f"The package {module!r} is needed to {purpose}; install it with "
                          "'pip install \"lumicare-ij[bioimageio]\"'.")


def _onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("tf2onnx", "onnx", "onnxruntime"))


def _check_percentiles(percentiles) -> tuple[float, float]:
    try:
        low, high = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise ExportError(f"percentiles must be two numbers (low, high), not {percentiles!r}.") from None
    if not 0 <= low < high <= 100:
        raise ExportError(f"percentiles must satisfy 0 <= low < high <= 100; got ({low}, {high}).")
    return low, high


# --------------------------------------------------------------------------
# Test input
# --------------------------------------------------------------------------

def _halos_and_min_sizes(config: dict, meta: dict) -> tuple[dict, dict]:
    """Output halo and smallest input size per spatial axis id ("z", "y", "x").

    The halo (what a tiling tool crops from each side of a tile) is csbdeep's
    tile overlap for the network's depth and kernel size, in Y and X only: the
    format requires every allowed size to exceed twice the halo, and
    luminescence stacks have few planes (16 in the paper).
    """
    spatial = ["z", "y", "x"][-int(config["n_dim"]):]
    block = 2 ** int(config["unet_n_depth"])
    overlap = (meta.get("tile_overlap") or [None])[0]
    halos = {a: int(overlap) for a in spatial if overlap and a != "z"}
    min_sizes = {a: block * -(-(2 * halos[a] + 1) // block) if a in halos else block for a in spatial}
    return halos, min_sizes


def _test_input(test_input, config: dict, min_sizes: dict) -> np.ndarray:
    """The raw test image as float32 ``([Z,] Y, X, C)``, cropped to sizes the network accepts."""
    n_dim, n_channel = int(config["n_dim"]), int(config["n_channel_in"])
    if test_input is None:
        image = _simulated_input(n_dim, max(128, *min_sizes.values()))
    elif isinstance(test_input, (str, os.PathLike)):
        from ..io import read_stack

        try:
            image = np.asarray(read_stack(test_input))
        except Exception as err:
            raise ExportError(f"Could not read the test input {test_input}: {err}") from err
        image = np.squeeze(image)
    else:
        image = np.asarray(test_input)
    if image.ndim == n_dim and n_channel == 1:
        image = image[..., np.newaxis]
    if image.ndim != n_dim + 1 or image.shape[-1] != n_channel:
        expected = "(Z, Y, X)" if n_dim == 3 else "(Y, X)"
        raise ExportError(f"The test input has shape {image.shape}; the model takes {n_dim}D images "
                          f"{expected}" + (f" with {n_channel} channels last" if n_channel > 1 else "") + ".")
    if not np.issubdtype(image.dtype, np.number) or not np.all(np.isfinite(image)):
        raise ExportError("The test input must be a finite numeric image.")
    block = 2 ** int(config["unet_n_depth"])
    sizes = [s // block * block for s in image.shape[:-1]]
    if min(sizes) == 0:
        raise ExportError(f"The test input {image.shape[:-1]} is smaller than {block} pixels along some "
                          f"axis; give an image of at least {block} pixels per axis (2**unet_n_depth).")
    minimum = tuple(min_sizes.values())
    if any(s < m for s, m in zip(sizes, minimum)):
        raise ExportError(f"The test input {image.shape[:-1]} is too small: this model's package accepts "
                          f"images of at least {minimum} pixels ({', '.join(min_sizes)}), the halo that "
                          "tiling tools crop on each side, doubled, plus one, in multiples of "
                          f"{block}. Give a larger test image.")
    crop = tuple(slice((s - c) // 2, (s - c) // 2 + c) for s, c in zip(image.shape[:-1], sizes))
    return np.ascontiguousarray(image[crop], dtype=np.float32)


def _simulated_input(n_dim: int, size_yx: int) -> np.ndarray:
    """A 5 s H2B-NanoLuc luminescence stack from the project's EMCCD simulator (seeded)."""
    from ..simulate import emccd_readout, make_specimen, optical_image

    exposure_s = 5.0
    specimen = make_specimen("h2b", (16, size_yx, size_yx), rng=1)
    raw = emccd_readout(optical_image(specimen, "luminescence") * exposure_s, exposure_s, rng=2)
    return raw if n_dim == 3 else raw[raw.shape[0] // 2]


# --------------------------------------------------------------------------
# ONNX weights and the cover
# --------------------------------------------------------------------------

def _write_onnx(saved_model: Path, out: Path, x_normalized: np.ndarray, expected: np.ndarray) -> int:
    """Convert the SavedModel's graph (weights are constants: already frozen) to ONNX; check it."""
    import contextlib

    import onnx
    import onnxruntime
    import tf2onnx

    from .csbdeep_fiji import read_saved_model_graph_def

    graph_def = read_saved_model_graph_def(saved_model)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=["input:0"],
                                                      output_names=["output:0"], opset=ONNX_OPSET)
    except Exception as err:
        raise ExportError(f"tf2onnx could not convert the graph to ONNX ({type(err).__name__}: {err}); "
                          "export without ONNX (onnx=False).") from err
    _rename_onnx_io(proto, x_normalized.ndim)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x_normalized})[0]
    scale = max(float(np.ptp(expected)), 1e-12)
    error = float(np.max(np.abs(got - expected))) / scale if got.shape == expected.shape else np.inf
    if not error <= AGREEMENT_RTOL:
        raise ExportError(f"The ONNX conversion does not reproduce the SavedModel (max error {error:.3g} of "
                          "the output range); export without ONNX (onnx=False) and report this.")
    out.write_bytes(data)
    return ONNX_OPSET


def _rename_onnx_io(proto, ndim: int) -> None:
    """Name the ONNX input/output 'input'/'output' (as the tensors in rdf.yaml) and their axes."""
    renames = {"input:0": "input", "output:0": "output"}
    for value in list(proto.graph.input) + list(proto.graph.output):
        value.name = renames.get(value.name, value.name)
    for node in proto.graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renames.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renames.get(name, name)
    axis_names = ["batch"] + ["z", "y", "x"][-(ndim - 2):]
    for value in list(proto.graph.input) + list(proto.graph.output):
        for dim, axis in zip(value.type.tensor_type.shape.dim, axis_names):
            if not dim.HasField("dim_value"):
                dim.dim_param = axis


def _write_sample(array: np.ndarray, out: Path) -> None:
    """A sample tensor as an ImageJ TIFF (batch axis dropped, channels as ImageJ channels)."""
    import tifffile

    image = np.moveaxis(array[0], -1, -4 if array.ndim == 5 else -3)   # ([Z,] Y, X, C) -> ([Z,] C, Y, X)
    tifffile.imwrite(out, image.astype(np.float32), imagej=True,
                     metadata={"axes": "ZCYX" if array.ndim == 5 else "CYX"})


def _write_cover(x: np.ndarray, y: np.ndarray, config: dict, out: Path) -> None:
    """Input | output side by side (maximum projection along Z for 3D), 2:1 as bioimage.io asks."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    def view(a):
        a = a[0, ..., 0]
        return a.max(axis=0) if a.ndim == 3 else a

    fig, axes = plt.subplots(1, 2, figsize=(8, 4), dpi=100)
    projection = " (max. projection)" if int(config["n_dim"]) == 3 else ""
    for ax, image, title in zip(axes, (view(x), view(y)), ("input: short-exposure luminescence",
                                                             "CARE restoration")):
        lo, hi = np.percentile(image, (1, 99.8))
        ax.imshow(image, cmap="magma", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        ax.set_title(title + projection, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


# --------------------------------------------------------------------------
# rdf.yaml and README
# --------------------------------------------------------------------------

def _authors(authors) -> list[dict]:
    if authors is None:
        return [{"name": "lumicare-ij user (set authors= when exporting)"}]
    if isinstance(authors, (str, dict)):
        authors = [authors]
    result = []
    for a in authors:
        if isinstance(a, str):
            result.append({"name": a})
        elif isinstance(a, dict) and a.get("name"):
            result.append({k: v for k, v in a.items() if v is not None})
        else:
            raise ExportError(f"Each author must be a name or a dict with 'name'; got {a!r}.")
    return result


def _rdf(model_dir, config, meta, output, name, description, authors, license, percentiles,
         onnx_opset, halos: dict, min_sizes: dict) -> dict:
    from ..provenance import package_version

    n_dim = int(config["n_dim"])
    spatial = ["z", "y", "x"][-n_dim:]
    block = 2 ** int(config["unet_n_depth"])
    n_in, n_out = int(meta["n_channel_in"]), int(meta["n_channel_out"])
    model_name = Path(model_dir).resolve().name
    in_names = ["luminescence"] if n_in == 1 else [f"channel{i}" for i in range(n_in)]
    if output == "mean+scale":
        half = n_out // 2
        out_names = ([f"mean{i}" for i in range(half)] + [f"scale{i}" for i in range(half)]
                     if half > 1 else ["mean", "scale"])
    else:
        out_names = ["restored"] if n_out == 1 else [f"restored{i}" for i in range(n_out)]
    input_axes = [{"type": "batch"}]
    for a in spatial:
        input_axes.append({"type": "space", "id": a, "size": {"min": min_sizes[a], "step": block}})
    input_axes.append({"type": "channel", "channel_names": in_names})
    output_axes = [{"type": "batch"}]
    for a in spatial:
        axis = {"type": "space", "id": a, "size": {"tensor_id": "input", "axis_id": a}}
        if a in halos:
            axis["halo"] = halos[a]
        output_axes.append(axis)
    output_axes.append({"type": "channel", "channel_names": out_names})
    low, high = percentiles
    weights = {"tensorflow_saved_model_bundle": {
        "source": _WEIGHTS_TF, "tensorflow_version": TENSORFLOW_VERSION,
        "comment": "TF 1.12+ graph rebuilt from the Keras model by lumicare-ij: weights as constants, "
                   "default attributes stripped; the same ZIP runs in Fiji's CSBDeep plugin."}}
    if onnx_opset is not None:
        weights["onnx"] = {"source": _WEIGHTS_ONNX, "opset_version": int(onnx_opset),
                           "parent": "tensorflow_saved_model_bundle",
                           "comment": "converted from the SavedModel graph with tf2onnx"}
    kind = "3D" if n_dim == 3 else "2D"
    return {
        "type": "model",
        "format_version": FORMAT_VERSION,
        "name": name or f"CARE luminescence restoration ({model_name})",
        "description": description or (
            f"{kind} CARE network (csbdeep U-Net) restoring short-exposure luminescence microscopy "
            "(Boothe et al.), exported by lumicare-ij."),
        "authors": _authors(authors),
        "cite": [dict(c) for c in CITATIONS],
        "license": license,
        "tags": ["care", "csbdeep", "denoising", "image-restoration", "luminescence", "bioluminescence",
                 "unet", kind.lower(), "tensorflow", "fiji", "deepimagej"],
        "covers": [_COVER],
        "timestamp": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "inputs": [{
            "id": "input",
            "description": "raw stack (camera counts), normalised by scale_range",
            "axes": input_axes,
            "test_tensor": {"source": _TEST_INPUT},
            "sample_tensor": {"source": _SAMPLE_INPUT},
            "data": {"type": "float32"},
            "preprocessing": [{"id": "scale_range", "kwargs": {
                "axes": spatial, "min_percentile": low, "max_percentile": high, "eps": SCALE_RANGE_EPS}}],
        }],
        "outputs": [{
            "id": "output",
            "description": ("restored image on the normalised scale" + (
                "; Laplace scale (uncertainty) channels after the mean" if output == "mean+scale" else "")),
            "axes": output_axes,
            "test_tensor": {"source": _TEST_OUTPUT},
            "sample_tensor": {"source": _SAMPLE_OUTPUT},
            "data": {"type": "float32"},
        }],
        "weights": weights,
        "config": {"lumicare": {
            "exported_by": f"lumicare_ij {package_version()}",
            "output": output,
            "csbdeep_config": {k: config[k] for k in (
                "axes", "n_dim", "n_channel_in", "n_channel_out", "probabilistic", "unet_n_depth",
                "unet_kern_size", "unet_n_first", "unet_residual", "unet_last_activation") if k in config},
            "axes_div_by": block,
            "fiji_csbdeep_plugin": "weights_tf_saved_model_bundle.zip runs in Plugins > CSBDeep > "
                                   "Run your network (which normalises with 3/99.8 percentiles itself)",
        }},
    }


def _readme(rdf: dict, config: dict, meta: dict, output: str, percentiles, onnx_opset, validated: bool) -> str:
    low, high = percentiles
    n_dim = int(config["n_dim"])
    axes = "Z, Y, X" if n_dim == 3 else "Y, X"
    block = 2 ** int(config["unet_n_depth"])
    weights = ["- `weights_tf_saved_model_bundle.zip`: TensorFlow SavedModel, loadable by TensorFlow 1.12-1.15 "
               "(deepImageJ / JDLL in Fiji, TF Java) and by TensorFlow 2 through its TF1 API."]
    if onnx_opset:
        weights.append(f"- `weights.onnx`: the same graph in ONNX (opset {onnx_opset}), checked with "
                       "onnxruntime against the SavedModel.")
    scale = ("\nThe output has twice the channels: the restored image (mean of a Laplace distribution), "
             "then its scale (a per-pixel uncertainty).\n" if output == "mean+scale" else "")
    onnx_check = ", that the ONNX weights give the test output (same tolerance)" if onnx_opset else ""
    validated = (f", and validated the package with `bioimageio.spec` (format {FORMAT_VERSION})"
                 if validated else "")
    cites = "\n".join(f"- {c['text']} https://doi.org/{c['doi']}" for c in rdf["cite"])
    return f"""# {rdf['name']}

{rdf['description']}

## What the model does

A CARE network (content-aware image restoration; Weigert et al. 2018) trained
with csbdeep on pairs of short- and long-exposure (or repeated short-exposure,
noise2noise) luminescence recordings, as in Boothe et al.: it restores
{n_dim}D ({axes}) stacks taken with exposures up to ~100 times shorter than
usual, or from binned acquisitions upsampled to full size first.
Luminescence needs no excitation light (no phototoxicity, no
autofluorescence) but gives few photons; CARE trades the long exposures for
a learned restoration. Check restorations against long-exposure recordings
of your own specimens before trusting them quantitatively.
{scale}
## Input and normalisation

- Input `input`: axes batch, {axes}, channel; float32; each spatial size a
  multiple of {block} (2^depth of the U-Net; pad with mirroring and crop the
  result otherwise).
- Preprocessing `scale_range`: for each image and channel, the percentiles
  {low:g} and {high:g} (linear interpolation) are mapped to 0 and 1:
  `(x - p{low:g}) / (p{high:g} - p{low:g} + {SCALE_RANGE_EPS:g})`. This is csbdeep's
  prediction default; training used random percentiles in [1, 3] and [99.5, 99.9].
- Output `output`: the restoration **on the normalised scale** (bioimage.io has
  no postprocessing that maps back to the input's intensities; csbdeep in
  Python does, the CSBDeep Fiji plugin does not).

## Weights

{chr(10).join(weights)}

The SavedModel ZIP is also a CSBDeep-Fiji model: *Plugins > CSBDeep > Run your
network* runs it directly. That plugin normalises with the 3rd/99.8th
percentiles of the whole image (nearest rank) and clamps values below 0, so its
numbers differ slightly from this package's `scale_range`; see lumicare-ij's
`docs/fiji-export.md` for how to reproduce either in Python.

## Test data

`test_input.npy` (raw counts) and `test_output.npy` (what the SavedModel returns
for it after `scale_range`); `cover.png` shows both.

## Validation

Before this package was written, lumicare-ij checked that the SavedModel
reproduces the trained Keras model (max. difference below 1e-4 of the output
range on a random input){onnx_check}{validated}. To re-check it:
`bioimageio test <this package>` (needs `bioimageio.core`; it runs the test
input through the preprocessing and the weights and compares with the test
output).

## Cite

{cites}

Exported by lumicare-ij from a csbdeep model (config: {json.dumps(rdf['config']['lumicare']['csbdeep_config'])}).
"""


def _with_hashes(rdf: dict, package: Path) -> dict:
    """Add the SHA-256 of each local file to the weights and test tensors (checked by validators)."""
    def sha(name):
        return hashlib.sha256((package / name).read_bytes()).hexdigest()

    for entry in rdf["weights"].values():
        entry["sha256"] = sha(entry["source"])
    for tensor in rdf["inputs"] + rdf["outputs"]:
        for key in ("test_tensor", "sample_tensor"):
            tensor[key]["sha256"] = sha(tensor[key]["source"])
    return rdf


def _write_yaml(rdf: dict, out: Path) -> None:
    import yaml

    text = yaml.safe_dump(rdf, sort_keys=False, allow_unicode=True, width=100)
    out.write_text("# bioimage.io model description, written by lumicare-ij\n" + text, encoding="utf-8")


def _zip_folder(folder: Path, zip_path: Path) -> None:
    """Zip the package folder into ``zip_path``, ``rdf.yaml`` first."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(folder / "rdf.yaml", "rdf.yaml")
        for f in sorted(folder.iterdir()):
            if f.name != "rdf.yaml":
                # the weights ZIP is already compressed
                zf.write(f, f.name, compress_type=zipfile.ZIP_STORED if f.suffix == ".zip" else None)
