"""Export a csbdeep CARE model as a ZIP that the CSBDeep Fiji plugin can run.

csbdeep's own ``export_TF`` refuses to work under Keras 3, and graphs saved by
TensorFlow 2 do not load in Fiji's TensorFlow 1.15. Here the Keras network is
rebuilt as a plain TF1 graph (:mod:`.tf1_graph`), checked against the TF 1.x op
list (:mod:`.tf1_ops`) and against the Keras model's own prediction, and
written as a SavedModel ZIP: ``saved_model.pb`` and ``variables/`` at the ZIP
root, plus csbdeep's ``meta.json``. :mod:`.tfjava` proves the result in TF
Java 1.15, Fiji's runtime.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..archive import ArchiveError, safe_extract
from ..atomic import atomic_write
from ..n2v import care_class, network_of
from ..provenance import package_version
from .errors import ExportError
from .tf1_graph import build_graph, describe_keras_model
from .tf1_ops import check_graph_def

OUTPUTS = ("mean", "mean+scale")
WEIGHTS_FILES = ("weights_best.h5", "weights_last.h5")
#: What a SavedModel ZIP may hold (csbdeep's and this package's exports, TensorFlow's SavedModel layout).
MODEL_ZIP_ENTRIES = ("saved_model.pb", "saved_model.pbtxt", "fingerprint.pb", "meta.json", "variables/*",
                     "assets/*", "assets.extra/*")
#: Largest difference from Keras, relative to Keras' output range, accepted at export.
VERIFY_RTOL = 1e-4
#: Keys every csbdeep CARE config.json has; used to recognise a model folder.
_CARE_CONFIG_KEYS = ("axes", "n_dim", "n_channel_in", "n_channel_out", "probabilistic",
                     "unet_n_depth", "unet_kern_size", "unet_n_first", "unet_residual",
                     "unet_last_activation")


def export_csbdeep_fiji(model_dir, out_zip, output: str = "mean", overwrite: bool = False,
                        weights: str | None = None, verify: bool = True) -> Path:
    """Write a csbdeep CARE model as a CSBDeep-Fiji SavedModel ZIP.

    Parameters
    ----------
    model_dir : str or Path
        A csbdeep CARE model folder (``basedir/name`` of ``CARE(config, name,
        basedir)``) with ``config.json`` and trained weights. CARE,
        UpsamplingCARE and IsotropicCARE folders share the same network and all
        work; ProjectionCARE does not.
    out_zip : str or Path
        The ZIP to write (parent folders are created).
    output : {"mean", "mean+scale"}
        What the exported network returns. ``"mean"`` (default) gives the
        restored image only; for a probabilistic model ``"mean+scale"`` also
        returns the Laplace scale, appended after the mean channels (2*C
        channels, shown by Fiji as extra channels).
    overwrite : bool
        Replace an existing ``out_zip``; otherwise an existing file is an error
        and stays untouched.
    weights : str, optional
        Name of the weights file inside ``model_dir``; by default
        ``weights_best.h5``, else ``weights_last.h5``.
    verify : bool
        Run the rebuilt graph next to the Keras model on a random input and
        refuse to write a ZIP whose output differs by more than ``VERIFY_RTOL``
        of the Keras output's range.

    Returns
    -------
    Path
        The written ZIP.

    Raises
    ------
    ExportError
        The folder is not a CARE model, the weights are missing or do not fit,
        a layer cannot be translated, the output exists, or the check failed.
        No file is left at ``out_zip`` unless the export succeeded (an existing
        file is replaced only at the very end, atomically).

    Notes
    -----
    The graph holds weights as constants and uses only TF 1.12-era ops
    (:data:`lumicare_ij.export.tf1_ops.ALLOWED_OPS`); it is saved with
    ``strip_default_attrs=True`` so that no attribute newer than TF 1.x is
    written. Input shape ``[-1, (Z,) Y, X, C_in]`` with each spatial size a
    multiple of ``2**unet_n_depth`` (``axes_div_by`` in ``meta.json``); the
    Fiji plugin pads its tiles to such sizes itself.
    """
    if output not in OUTPUTS:
        raise ExportError(f"output must be one of {OUTPUTS}, not {output!r}.")
    out_zip = Path(out_zip)
    if out_zip.is_dir():
        raise ExportError(f"{out_zip} is a folder; give the path of the .zip file to write.")
    identity = export_identity(model_dir, output, weights)
    if out_zip.exists() and not overwrite:
        if _exported_identity(out_zip) == identity:
            return out_zip  # this very export is already there (a rerun): nothing to do
        raise ExportError(f"{out_zip} already exists (an export of another model or output); choose another "
                          "file or pass overwrite=True (--force on the command line) to replace it.")

    care = load_care_model(model_dir, weights)
    config = care.config
    if output == "mean+scale" and not config.probabilistic:
        raise ExportError(f"{model_dir} is not a probabilistic model, so it has no scale output; "
                          "use output='mean'.")
    output_tensor = _select_output(care.keras_model, config, output)
    steps, output_name = describe_keras_model(care.keras_model, output_tensor)
    graph, input_t, output_t = build_graph(steps, output_name)
    if verify:
        _verify_against_keras(care.keras_model, config, output, graph, input_t, output_t)

    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lumicare-export-") as tmp:
        saved_model_dir = Path(tmp) / "saved_model"
        _save_saved_model(graph, input_t, output_t, saved_model_dir)
        check_graph_def(read_saved_model_graph_def(saved_model_dir))
        meta = {**_meta(config, output), "lumicare_export": identity}
        _zip_atomically(saved_model_dir, meta, out_zip)
    return out_zip


def export_identity(model_dir, output: str, weights: str | None) -> dict:
    """What an export is made of: the model's files (their hashes), the output, the weights, the exporter."""
    from ..restore import model_fingerprint

    folder = Path(model_dir)
    return {"model_sha256": model_fingerprint(folder) if folder.is_dir() else None, "output": output,
            "weights": weights, "exporter": f"lumicare_ij {package_version()}"}


def _exported_identity(out_zip: Path) -> dict | None:
    """The identity recorded in an existing export's meta.json (None: none, or not readable)."""
    try:
        with zipfile.ZipFile(out_zip) as z:
            return json.loads(z.read("meta.json")).get("lumicare_export")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------
# Loading the model folder
# --------------------------------------------------------------------------

def load_care_model(model_dir, weights: str | None = None):
    """Load a csbdeep CARE model folder with clear errors for the usual mistakes.

    Parameters
    ----------
    model_dir : str or Path
        Folder with ``config.json`` and a weights file.
    weights : str, optional
        Weights file name; ``weights_best.h5``, else ``weights_last.h5``.

    Returns
    -------
    csbdeep.models.CARE
        With the chosen weights loaded.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ExportError(f"{model_dir} is not a folder. Give the csbdeep model folder "
                          "(basedir/name, the one holding config.json and weights_best.h5).")
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ExportError(f"{model_dir} is not a csbdeep model folder: it has no config.json. "
                          "Give the folder that CARE(config, name, basedir) created (basedir/name).")
    try:
        config = json.loads(config_file.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ExportError(f"{config_file} is not valid JSON ({err}); is this a csbdeep model folder?") from err
    missing = [k for k in _CARE_CONFIG_KEYS if not isinstance(config, dict) or k not in config]
    if missing:
        raise ExportError(f"{config_file} is not a csbdeep CARE config (missing {', '.join(missing)}). "
                          "Only CARE models (csbdeep.models.CARE, UpsamplingCARE, IsotropicCARE) "
                          "can be exported.")
    if any(k.startswith("proj_") for k in config):
        raise ExportError(f"{model_dir} is a ProjectionCARE model, whose network is not a plain "
                          "U-Net; only CARE, UpsamplingCARE and IsotropicCARE can be exported.")
    weights_file = _choose_weights(model_dir, weights)

    # csbdeep's CARE, or the N2V2 network a lumicare record names (lumicare_ij.n2v.care_class)

    # csbdeep prints which weights it loads and warns about other files: keep the CLI quiet.
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            care = care_class(network_of(model_dir))(None, name=model_dir.name, basedir=str(model_dir.parent))
            care.load_weights(weights_file.name)
    except Exception as err:
        raise ExportError(f"csbdeep could not load {model_dir} with {weights_file.name}: {err}. "
                          "Check that config.json and the weights come from the same training run.") from err
    return care


def _choose_weights(model_dir: Path, weights: str | None) -> Path:
    if weights is not None:
        candidates = (weights,)
    else:
        candidates = WEIGHTS_FILES
    for name in candidates:
        if (model_dir / name).is_file():
            return model_dir / name
    found = sorted(p.name for p in model_dir.glob("*.h5"))
    hint = f" Found {', '.join(found)}; pass weights=<name>." if found else " Train the model first."
    raise ExportError(f"No weights file {' or '.join(candidates)} in {model_dir}.{hint}")


def _select_output(keras_model, config, output: str):
    """The Keras tensor to export: the whole output, or the mean half of a probabilistic one."""
    final = keras_model.outputs[0]
    if not config.probabilistic or output == "mean+scale":
        return final
    # csbdeep ends a probabilistic net with Concatenate([mean, scale]): export the mean
    # branch alone, so the scale branch is not even computed in Fiji.
    layer = final._keras_history[0]
    if type(layer).__name__ != "Concatenate" or len(layer.input) != 2:
        raise ExportError("The probabilistic network does not end in Concatenate([mean, scale]) as "
                          "csbdeep's CARE does; export it with output='mean+scale'.")
    return layer.input[0]


# --------------------------------------------------------------------------
# Checking and saving
# --------------------------------------------------------------------------

def _verify_against_keras(keras_model, config, output, graph, input_t, output_t) -> None:
    import tensorflow as tf

    size = 2 ** config.unet_n_depth * (2 if config.n_dim == 3 else 4)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1,) + (size,) * config.n_dim + (config.n_channel_in,)).astype(np.float32)
    expected = np.asarray(keras_model.predict(x, verbose=0))
    if config.probabilistic and output == "mean":
        expected = expected[..., :config.n_channel_out]
    with tf.compat.v1.Session(graph=graph) as sess:
        got = sess.run(output_t, {input_t: x})
    scale = max(float(np.ptp(expected)), 1e-12)
    error = float(np.max(np.abs(got - expected))) / scale if got.shape == expected.shape else np.inf
    if not error <= VERIFY_RTOL:
        raise ExportError(f"The rebuilt graph does not reproduce the Keras model (shape {got.shape} vs "
                          f"{expected.shape}, max error {error:.3g} of the output range). "
                          "This is a bug in lumicare_ij's exporter; please report it with the config.json.")


def _save_saved_model(graph, input_t, output_t, export_dir: Path) -> None:
    import tensorflow as tf

    saved_model = tf.compat.v1.saved_model
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        signature = saved_model.predict_signature_def(inputs={"input": input_t}, outputs={"output": output_t})
        builder = saved_model.Builder(str(export_dir))
        # strip_default_attrs drops attributes newer than TF 1.x (explicit_paddings, ...)
        # whenever they hold their default; clear_devices drops device pins.
        builder.add_meta_graph_and_variables(
            sess, ["serve"], signature_def_map={"serving_default": signature},
            strip_default_attrs=True, clear_devices=True)
        builder.save()
    (export_dir / "variables").mkdir(exist_ok=True)


def read_saved_model_graph_def(saved_model_dir):
    """Return the GraphDef of the (single) MetaGraph in ``saved_model_dir/saved_model.pb``."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    if len(saved.meta_graphs) != 1:
        raise ExportError(f"expected one MetaGraph in {saved_model_dir}, found {len(saved.meta_graphs)}")
    return saved.meta_graphs[0].graph_def


def _meta(config, output: str) -> dict:
    from csbdeep import __version__ as csbdeep_version
    from csbdeep.internals.predict import tile_overlap


    spatial = [a for a in config.axes if a != "C"]
    try:
        overlap = tile_overlap(config.unet_n_depth, config.unet_kern_size)
    except (KeyError, ValueError):  # csbdeep tabulates common depth/kernel pairs only
        overlap = None
    return {
        # csbdeep's keys (read by csbdeep tools; the Fiji plugin ignores meta.json).
        "type": "CARE",
        "version": csbdeep_version,
        "probabilistic": output == "mean+scale",
        "axes": config.axes,
        "axes_div_by": [2 ** config.unet_n_depth if a in spatial else 1 for a in config.axes],
        "tile_overlap": [overlap if a in spatial else 0 for a in config.axes] if overlap else None,
        # lumicare's keys.
        "exported_by": f"lumicare_ij {package_version()}",
        "output": output,
        "model_probabilistic": bool(config.probabilistic),
        "n_channel_in": int(config.n_channel_in),
        "n_channel_out": int(config.n_channel_out) * (2 if output == "mean+scale" else 1),
        "tensorflow": "TF 1.12+ graph (Const weights, default attributes stripped)",
    }


def _zip_atomically(saved_model_dir: Path, meta: dict, out_zip: Path) -> None:
    """Zip the SavedModel (its contents at the ZIP root) and meta.json, then rename into place."""
    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(saved_model_dir / "saved_model.pb", "saved_model.pb")
            # The plugin unpacks the ZIP and loads its root: variables/ must be there,
            # even if empty (all weights are constants in the graph).
            zf.writestr(zipfile.ZipInfo("variables/"), b"")
            for f in sorted((saved_model_dir / "variables").rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(saved_model_dir).as_posix())
            zf.writestr("meta.json", json.dumps(meta, indent=2))

    # The caller has already refused an existing output unless asked to overwrite it.
    atomic_write(out_zip, write, overwrite=True)


def unzip_model(model_zip, dest_dir) -> Path:
    """Unpack an exported ZIP into the new folder ``dest_dir`` as the Fiji plugin does; return ``dest_dir``.

    Through :func:`lumicare_ij.archive.safe_extract`: only a SavedModel's
    files (:data:`MODEL_ZIP_ENTRIES`), nothing outside ``dest_dir``, within
    its size limit; anything else is an :class:`ExportError` naming the entry.
    """
    try:
        return safe_extract(model_zip, dest_dir, MODEL_ZIP_ENTRIES, required=("saved_model.pb",),
                            what="TensorFlow SavedModel ZIP")
    except ArchiveError as err:
        raise ExportError(str(err)) from None
