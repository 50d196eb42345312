"""CARE on csbdeep: train, resume, load, predict, restore files.

Models are csbdeep model folders (``config.json``, ``weights_best.h5``,
``weights_last.h5``) that any csbdeep installation (and CSBDeep in Fiji,
after export) can load, plus this package's record ``lumicare.json``
(regime, preset, training data and their record, normalisation, package
versions, per-epoch history, epochs done) and ``optimizer_last.npz`` (the
Adam state, so a resumed run continues exactly where it stopped).

TensorFlow is imported inside the functions that need it: importing this
module (and ``lumicare presets``/``prepare``) stays fast.

Normalisation
-------------
Training patches are normalised by csbdeep's ``norm_percentiles`` (random low
percentile in [1, 3], high in [99.5, 99.9] of each stack; see
:data:`lumicare_ij.training.TRAINING_PERCENTILES`). Prediction normalises the
input by its own 2nd and 99.8th percentiles (:data:`PREDICT_PERCENTILES`,
csbdeep's ``PercentileNormalizer`` default, inside the training ranges) and
maps the output back with the same affine transform, so restorations come
out on the input's intensity scale, as csbdeep does by default.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io as _stdio
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from .atomic import atomic_write, atomic_write_text, remove_stale_parts
from . import feed as feed_batches
from . import n2v
from .errors import OutputExistsError, UserInputError
from .precision import dtype_policy, float32_heads, float32_thin_levels, model_precision, resolve as resolve_precision
from .presets import Preset, care_config_kwargs, get_preset
from .provenance import file_sha256, package_versions
from .shapes import parse_sizes
from .training import TRAINING_PERCENTILES, check_split, read_training_record, to_json, training_record_path

__all__ = ["PREDICT_PERCENTILES", "RECORD_NAME", "ModelError", "tensorboard_available", "train",
           "load_model", "read_model_record", "predict", "restore_files"]

#: Input percentiles mapped to 0 and 1 before prediction (csbdeep's default).
PREDICT_PERCENTILES = (2.0, 99.8)
#: This package's record in a model folder.
RECORD_NAME = "lumicare.json"
_WEIGHTS_LAST = "weights_last.h5"
_WEIGHTS_BEST = "weights_best.h5"
_OPTIMIZER_LAST = "optimizer_last.npz"


class ModelError(UserInputError):
    """A model folder or training request that cannot be used, with what to do about it."""


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package is installed (csbdeep's TensorBoard callback needs it)."""
    return importlib.util.find_spec("tensorboard") is not None


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def _quiet():
    """Hide csbdeep's prints and warnings that this module reports in its own words."""
    with contextlib.redirect_stdout(_stdio.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------

def read_model_record(model_dir) -> dict | None:
    """The ``lumicare.json`` record of a model folder, or None (plain csbdeep folder)."""
    path = Path(model_dir) / RECORD_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _write_record(model_dir: Path, record: dict) -> None:
    record["updated"] = _now()
    atomic_write_text(model_dir / RECORD_NAME, to_json(record), overwrite=True)


def _npz_info(npz: Path):
    """Shapes of X and Y and the axes of a training file, without loading the patches."""
    import zipfile

    if not npz.is_file():
        raise ModelError(f"{npz}: no such training file; make one with 'lumicare prepare' "
                         "(lumicare_ij.training.prepare_training_data).")
    shapes = {}
    try:
        with zipfile.ZipFile(npz) as zf:
            for key in ("X", "Y"):
                with zf.open(f"{key}.npy") as f:
                    version = np.lib.format.read_magic(f)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shapes[key] = read(f)[0]
        with np.load(npz, allow_pickle=False) as data:
            axes = str(data["axes"])
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise ModelError(f"{npz}: not a csbdeep training file with X, Y and axes ({err}); "
                         "make one with 'lumicare prepare'.") from None
    return shapes["X"], shapes["Y"], axes


def _check_data(npz: Path, unet_n_depth: int, validation_split: float):
    """Check a training file against the network before anything is built; returns its patch facts."""
    x_shape, y_shape, axes = _npz_info(npz)
    if axes.upper() != "SCZYX" or len(x_shape) != 5:
        raise ModelError(f"{npz}: patches have axes {axes!r} and shape {x_shape}; this package trains 3D "
                         "networks on patches with axes SCZYX (from 'lumicare prepare').")
    if x_shape[0] != y_shape[0] or x_shape[2:] != y_shape[2:]:
        raise ModelError(f"{npz}: input patches {x_shape} and target patches {y_shape} do not match; "
                         "the file is damaged or not from 'lumicare prepare'.")
    div = 2 ** unet_n_depth
    spatial = tuple(int(s) for s in x_shape[2:])
    if any(s % div for s in spatial):
        raise ModelError(f"{npz}: patch size (Z, Y, X) = {spatial} is not divisible by 2**unet_n_depth = {div}; "
                         "prepare patches with sides divisible by it or lower unet_n_depth.")
    try:
        n_train, n_val = check_split(int(x_shape[0]), validation_split, str(npz))
    except ValueError as err:
        raise ModelError(str(err)) from None
    return spatial, n_train, n_val


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def train(npz, model_dir, preset: str | Preset | None = None, *, epochs: int | None = None,
          resume: bool = False, overwrite: bool = False, progress: bool = True,
          callbacks=None, seed: int | None = None, precision: str | None = None, feed: str = "auto",
          **overrides) -> dict:
    """Train a 3D CARE network (csbdeep) on a training file; resumable.

    Parameters
    ----------
    npz : str or Path
        Training file from :func:`lumicare_ij.training.prepare_training_data`
        (its ``.json`` record, when present, is copied into the model record).
    model_dir : str or Path
        Model folder to create (csbdeep layout: ``basedir/name``).
    preset : str or Preset, optional
        Network and training settings. Default: the preset recorded with the
        training data, else ``"quick"``.
    epochs : int, optional
        Total number of epochs (overrides the preset's ``train_epochs``). With
        ``resume`` it may exceed the original total to train longer.
    resume : bool
        Continue an interrupted (or finished, with a larger ``epochs``) run in
        ``model_dir`` from its last finished epoch: loads ``weights_last.h5``
        and the optimizer state, keeps the best-so-far checkpoint and history.
    overwrite : bool
        Start again in an existing model folder (its weights and record are replaced).
    progress : bool
        Show a progress bar with epoch, loss and validation loss.
    callbacks : list of keras.callbacks.Callback, optional
        Extra Keras callbacks (run after this module's).
    seed : int, optional
        Seeds weight initialisation and the batch order (Python's, NumPy's
        global and TensorFlow's generators, by ``keras.utils.set_random_seed``,
        which also reseeds them for the calling process; csbdeep's validation
        split is the last patches, not random). None: a random seed is drawn. Either
        way it is recorded (``seed`` in the model record), so any run can be
        repeated; a resumed run continues the recorded seed's batch sequence
        where it stopped, so an interrupted and resumed training ends with the
        weights of an uninterrupted one (bit-equal on the same machine and
        thread count; a different ``seed`` given on resume starts another
        batch sequence instead). Same seed, same data: same batches and initial
        weights; the trained weights may still differ slightly with another
        thread count or CPU, because TensorFlow's multi-threaded sums need not
        add in a fixed order (docs/training-and-restoration.md, "Seeds").
    precision : {"float32", "bfloat16", "float16", "auto"}, optional
        Arithmetic of training (:mod:`lumicare_ij.precision`): float32 (the
        default, csbdeep's), or mixed precision with float32 weights,
        optimizer state, output heads and losses. Recorded as ``precision``
        (requested, used, why). A resumed run keeps the recorded precision.
    feed : {"auto", "csbdeep", "tf.data"}
        How batches reach the network (:mod:`lumicare_ij.feed`): csbdeep's
        data wrapper through Keras, or the same batches in the same order
        gathered by ``tf.data`` (a second copy of the patches in memory);
        ``auto``: tf.data with a GPU, else csbdeep's. Recorded as ``feed``.
    **overrides
        Preset fields (e.g. ``train_steps_per_epoch=50``, ``unet_n_first=16``).

    Returns
    -------
    dict
        The model record (also written to ``model_dir/lumicare.json``), with
        ``status`` ("finished" or "stopped"), ``epochs_done`` and ``history``
        (one dict per epoch: ``epoch``, ``loss``, ``val_loss``, metrics,
        ``learning_rate``, ``seconds``).

    Raises
    ------
    ModelError
        Unusable training data (wrong axes, patch sides not divisible by
        ``2**unet_n_depth``, too few patches for the validation split),
        nothing to resume, or resuming with different data or settings.
    FileExistsError
        ``model_dir`` holds a model and neither ``resume`` nor ``overwrite`` is set.
    KeyboardInterrupt
        Re-raised after recording the finished epochs (status "interrupted");
        call again with ``resume=True`` to continue.

    Notes
    -----
    csbdeep's ``CARE.train`` is followed step by step (same data wrapper,
    callbacks, checkpoints and end-of-training handling), but Keras' ``fit``
    is called here so that it can start at ``initial_epoch`` and report to
    this module's progress bar. TensorBoard logging is on only if
    ``tensorboard`` is installed (csbdeep's default would fail without it).
    """
    npz = Path(npz)
    model_dir = Path(model_dir)
    feed_used = feed_batches.resolve(feed)
    if epochs is not None:
        overrides["train_epochs"] = epochs
    epochs = overrides.get("train_epochs")
    existing = read_model_record(model_dir)
    has_model = (model_dir / "config.json").is_file()

    if resume:
        if not has_model or existing is None:
            raise ModelError(f"{model_dir}: nothing to resume (no config.json and {RECORD_NAME}); "
                             "train without resume to start a new model.")
        # The command that started the model, repeated with --resume, names its own settings again: those
        # equal to the record are no change.
        recorded = existing["preset"]
        arch = sorted(k for k, v in overrides.items()
                      if v is not None and k != "train_epochs" and recorded.get(k) != v)
        if arch or preset not in (None, recorded.get("name")):
            changed = ([f"preset={preset!r}"] if preset not in (None, recorded.get("name")) else []) + \
                [f"{k}={overrides[k]!r} (recorded {recorded.get(k)!r})" for k in arch]
            raise ModelError(f"resume continues {model_dir} with its recorded settings; only epochs may be "
                             f"changed (got {', '.join(changed)}). Start a new model to change them.")
        settings = get_preset(Preset(**{**existing["preset"], "patch_size": tuple(existing["preset"]["patch_size"])}),
                              train_epochs=epochs)
        precision_record = existing.get("precision") or resolve_precision("float32")
        if precision is not None and resolve_precision(precision)["used"] != precision_record["used"]:
            raise ModelError(f"{model_dir} was trained in {precision_record['used']}; resume continues in it "
                             f"(got precision={precision!r}). Start a new model to change it.")
        _check_same_data(npz, existing, model_dir)
        initial_epoch = int(existing["epochs_done"])
        if initial_epoch == settings.train_epochs:  # every epoch is saved (a rerun, or killed while finishing)
            _remove_stale_parts(model_dir)
            return _finish(model_dir, existing, settings.train_epochs)
        if initial_epoch > settings.train_epochs:
            raise ModelError(f"{model_dir} has already trained {initial_epoch} of {settings.train_epochs} epochs; "
                             "pass a larger epochs to train longer.")
    else:
        if (has_model or existing is not None) and not overwrite:
            raise OutputExistsError(f"{model_dir} already holds a model; pass resume=True (--resume) to continue it, "
                                  "overwrite=True (--force) to start again, or choose another folder.")
        data_record = read_training_record(npz)
        settings = get_preset(preset if preset is not None else (_preset_from_record(data_record) or "quick"))
        if overrides.get("patch_size") is not None:
            raise ModelError("patch_size is fixed when the training data are prepared ('lumicare prepare'); "
                             "it cannot be changed for training.")
        precision_record = resolve_precision(precision)
        initial_epoch = 0

    depth = overrides.get("unet_n_depth") or settings.unet_n_depth
    split = overrides.get("validation_split") or settings.validation_split
    patch, n_train, n_val = _check_data(npz, int(depth), float(split))
    if not resume:
        npz_sha256 = _npz_identity(npz, data_record)
        seed = _check_seed(seed)
    else:
        seed = _check_seed(existing.get("seed") if seed is None else seed)
    # The record states the patch size actually trained on, whatever the preset said.
    settings = get_preset(settings, **{**overrides, "patch_size": patch})
    regime = ((existing or {}) if resume else (data_record or {})).get("regime")
    blind_spot = regime in n2v.BLIND_SPOT_REGIMES
    masking = n2v.describe(regime) if blind_spot else {}
    if blind_spot:
        # Noise2Void predicts a pixel's value, not a distribution over it: one output, no residual input
        # (the input at a masked pixel is a neighbour's value), Python-side masking per batch.
        settings = get_preset(settings, probabilistic=False)
        feed_used = "csbdeep"

    from csbdeep.io import load_training_data
    from csbdeep.models import Config
    from csbdeep.utils.tf import keras_import

    # Before anything random: csbdeep shuffles with NumPy, Keras initialises weights with its seed generator.
    keras_import("utils").set_random_seed(seed)
    (X, Y), (X_val, Y_val), axes = load_training_data(str(npz), validation_split=settings.validation_split,
                                                      verbose=False)
    tensorboard = tensorboard_available()
    if resume:
        model = _build_care(None, model_dir, precision_record["used"])
        with _quiet():
            if (model_dir / _WEIGHTS_LAST).is_file():
                model.load_weights(_WEIGHTS_LAST)
            elif initial_epoch > 0:
                raise ModelError(f"{model_dir / _WEIGHTS_LAST} is missing; cannot resume after epoch "
                                 f"{initial_epoch}. Train a new model (overwrite=True).")
        model.config.train_epochs = settings.train_epochs
        record = existing
        record.setdefault("resumed_at_epochs", []).append(initial_epoch)
        record.setdefault("resumed_with_seeds", []).append(seed)
        record.setdefault("seed", seed)  # models trained before seeds were recorded
    else:
        if overwrite:
            _clear_model_folder(model_dir)
        extra = {"unet_residual": False, "train_loss": "mse"} if blind_spot else {}
        config = Config(axes, n_channel_in=X.shape[-1], n_channel_out=Y.shape[-1],
                        train_tensorboard=tensorboard,
                        # this module saves weights_last.h5 after every epoch instead of weights_now.h5
                        train_checkpoint_epoch=None, **care_config_kwargs(settings), **extra)
        model = _build_care(config, model_dir, precision_record["used"], masking.get("network", "care"))
        record = _new_record(model_dir, npz, npz_sha256, data_record, settings, model, n_train, n_val, tensorboard)
        record["seed"] = seed
        record["precision"] = precision_record
        if blind_spot:
            record["n2v"] = masking
    if precision_record["used"] == "bfloat16":
        record["precision"]["float32_layers"] = float32_thin_levels(model.keras_model, patch[0],
                                                                     model.config.unet_kern_size)
    _remove_stale_parts(model_dir)
    # Keep config.json's epoch count in step with the record (it changes when a resume trains longer).
    atomic_write_text(model_dir / "config.json", to_json(vars(model.config)), overwrite=True)

    with _quiet():
        model.prepare_for_training()
    if blind_spot:
        model.keras_model.compile(optimizer=model.keras_model.optimizer, loss=n2v.n2v_loss)
        X_val, Y_val = n2v.masked_batch(X_val, np.random.default_rng([seed, n2v.VALIDATION_STREAM]),
                                        strategy=masking["replacement"])
    # csbdeep's ModelCheckpoint writes weights_best.h5 in place; the recorder writes it atomically instead.
    model.callbacks = [cb for cb in model.callbacks if type(cb).__name__ != "ModelCheckpoint"]
    if resume:
        _load_optimizer_state(model, model_dir)
    record["status"] = "running"
    record["epochs_total"] = settings.train_epochs
    record["preset"]["train_epochs"] = settings.train_epochs
    _write_record(model_dir, record)

    steps = settings.train_steps_per_epoch
    remaining = settings.train_epochs - initial_epoch
    recorder = _make_recorder(model, model_dir, record)
    ours = [recorder]
    bar = None
    if progress:
        bar = _make_progress(settings.train_epochs, initial_epoch, steps)
        ours.append(bar)
        _silence_reduce_lr(model.callbacks)
    record["feed"] = feed_used
    data = feed_batches.training_batches(X, Y, settings.train_batch_size, remaining * steps, record["feed"],
                                         first_batch=initial_epoch * steps)
    if blind_spot:
        data = n2v.masked_batches(data, seed, first_batch=initial_epoch * steps, strategy=masking["replacement"])
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Keras 3.15 converts variables with np.array(copy=False), which NumPy 2 deprecates; not ours to fix.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"keras\.")
            model.keras_model.fit(data, validation_data=(X_val, Y_val), epochs=settings.train_epochs,
                                  initial_epoch=initial_epoch, steps_per_epoch=steps,
                                  shuffle=False,  # the batches come shuffled (csbdeep's order, lumicare_ij.feed)
                                  callbacks=list(model.callbacks) + ours + list(callbacks or []), verbose=0)
    except BaseException as err:
        # Every finished epoch is already on disk; say why the run ended and hand the error on.
        record["training_seconds"] = record.get("training_seconds", 0.0) + time.perf_counter() - started
        record["status"] = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        if not isinstance(err, KeyboardInterrupt):
            record["error"] = f"{type(err).__name__}: {err}"
        _write_record(model_dir, record)
        raise
    finally:
        if bar is not None:
            bar.close()
    record["training_seconds"] = record.get("training_seconds", 0.0) + time.perf_counter() - started
    record = _finish(model_dir, record, settings.train_epochs)
    if record["status"] == "stopped":
        warnings.warn(f"training stopped after {record['epochs_done']} of {settings.train_epochs} epochs (loss "
                      f"became NaN?); see {model_dir / RECORD_NAME}.", stacklevel=2)
    return record


def _remove_stale_parts(model_dir: Path) -> None:
    for name in ("config.json", RECORD_NAME, _WEIGHTS_BEST, _WEIGHTS_LAST, _OPTIMIZER_LAST):
        remove_stale_parts(model_dir / name)  # what a killed run of this model was writing


def _finish(model_dir: Path, record: dict, total_epochs: int) -> dict:
    """Mark the record finished (or stopped short), with its best validation loss, and write it.

    Prediction loads ``weights_best.h5`` itself, so nothing else is left to
    do once every epoch is on disk.
    """
    record.pop("error", None)
    record["status"] = "finished" if record["epochs_done"] >= total_epochs else "stopped"
    vals = [h["val_loss"] for h in record["history"] if h.get("val_loss") is not None]
    record["best_val_loss"] = min(vals) if vals else None
    _write_record(model_dir, record)
    return record


def _preset_from_record(data_record):
    if not data_record or "preset" not in data_record:
        return None
    p = dict(data_record["preset"])
    p["patch_size"] = tuple(p["patch_size"])
    return Preset(**p)


def _npz_identity(npz: Path, data_record: dict | None) -> str:
    """The training file's SHA-256, checked against the one 'prepare' recorded next to it."""
    sha = file_sha256(npz)
    recorded = (data_record or {}).get("npz_sha256")
    if recorded and recorded != sha:
        raise ModelError(f"{npz} is not the file its record {training_record_path(npz).name} describes (its content "
                         "changed after 'lumicare prepare' wrote them). Run 'lumicare prepare' again to write "
                         "both anew.")
    return sha


def _check_same_data(npz: Path, record: dict, model_dir: Path) -> None:
    """Refuse to resume on a training file whose content differs from the one trained on."""
    data = record.get("data", {})
    trained_on = data.get("npz_sha256")
    if not npz.is_file():
        raise ModelError(f"{npz}: no such training file; resume {model_dir} with {data.get('npz')}.")
    if trained_on is None:
        raise ModelError(f"{model_dir} records no content hash of its training data (made by an older "
                         "lumicare-ij), so resuming cannot check that the data are the same. Start a new model "
                         "(--force), or train another model folder.")
    if file_sha256(npz) != trained_on:
        raise ModelError(f"{npz} is not the training data {model_dir} was trained on (same name, different "
                         f"content: re-made by 'lumicare prepare' with other data or another seed?). Resume with "
                         f"the original file, or start a new model: lumicare train --data {npz} --model "
                         f"{model_dir} --force")


def _clear_model_folder(model_dir: Path) -> None:
    """Remove what a previous training left (only files this module or csbdeep write)."""
    for name in ("config.json", _WEIGHTS_BEST, _WEIGHTS_LAST, "weights_now.h5", _OPTIMIZER_LAST, RECORD_NAME):
        with contextlib.suppress(FileNotFoundError):
            (model_dir / name).unlink()


def _check_seed(seed) -> int:
    """A usable seed: the given whole number, or a fresh random one when None."""
    if seed is None:
        return int.from_bytes(os.urandom(4), "little") >> 1
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**31:
        raise ModelError(f"seed must be a whole number from 0 to {2**31 - 1}; got {seed!r}")
    return int(seed)


def _new_record(model_dir, npz, npz_sha256, data_record, settings, model, n_train, n_val, tensorboard) -> dict:
    training_norm = (data_record or {}).get("normalization") or {
        "function": "csbdeep.data.norm_percentiles", "pmin_range": list(TRAINING_PERCENTILES["pmin"]),
        "pmax_range": list(TRAINING_PERCENTILES["pmax"])}
    return {
        "format": "lumicare-model/1",
        "created": _now(),
        "model_dir": str(model_dir.resolve()),
        "regime": (data_record or {}).get("regime"),
        "bin_factor": (data_record or {}).get("bin_factor"),
        "preset": settings.as_dict(),
        "data": {"npz": str(npz.resolve()), "npz_bytes": npz.stat().st_size,
                 "npz_sha256": npz_sha256, "n_train_patches": n_train,
                 "n_validation_patches": n_val, "record": data_record},
        "normalization": {
            "training": training_norm,
            "prediction": {"function": "csbdeep.data.PercentileNormalizer", "pmin": PREDICT_PERCENTILES[0],
                           "pmax": PREDICT_PERCENTILES[1], "of": "whole input stack",
                           "undone_after_prediction": True},
        },
        "csbdeep_config": {k: v for k, v in vars(model.config).items()},
        "tensorboard": tensorboard,
        "versions": package_versions(),
        "epochs_total": settings.train_epochs,
        "epochs_done": 0,
        "history": [],
        "weights": {"best": _WEIGHTS_BEST, "last": _WEIGHTS_LAST, "optimizer_last": _OPTIMIZER_LAST},
    }


def _callback_base():
    from csbdeep.utils.tf import keras_import

    return keras_import("callbacks", "Callback")


def _make_recorder(model, model_dir: Path, record: dict):
    """A Keras callback that makes every finished epoch resumable.

    After each epoch: the weights to ``weights_best.h5`` if the validation
    loss is the lowest so far (csbdeep's ``ModelCheckpoint`` rule), to
    ``weights_last.h5``, the optimizer state to ``optimizer_last.npz``, then
    the epoch count and history to the record, each replaced atomically, in
    that order (the record never claims an epoch whose weights are not on disk).
    """
    Callback = _callback_base()

    class _EpochRecorder(Callback):
        def on_train_begin(self, logs=None):
            # Keras resets these on train begin; a resumed run continues their state.
            history = record["history"]
            vals = [h["val_loss"] for h in history if h.get("val_loss") is not None]
            if not vals:
                return
            best = min(vals)
            since_best = len(history) - 1 - max(i for i, h in enumerate(history) if h.get("val_loss") == best)
            for cb in model.callbacks:
                if type(cb).__name__ == "ReduceLROnPlateau":
                    cb.best = best
                    cb.wait = since_best % max(1, cb.patience)

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            entry = {"epoch": epoch + 1}
            entry.update({k: float(v) for k, v in logs.items() if np.isscalar(v) or np.ndim(v) == 0})
            if "learning_rate" not in entry:
                entry["learning_rate"] = float(np.asarray(model.keras_model.optimizer.learning_rate))
            entry["seconds"] = round(time.perf_counter() - self._t0, 3)
            _check_finite_weights(model.keras_model, epoch + 1, model_dir)
            write_weights = _weights_writer(model.keras_model)
            if _is_best(entry.get("val_loss"), record["history"]):
                atomic_write(model_dir / _WEIGHTS_BEST, write_weights, overwrite=True)
            atomic_write(model_dir / _WEIGHTS_LAST, write_weights, overwrite=True)
            store = {}
            model.keras_model.optimizer.save_own_variables(store)
            atomic_write(model_dir / _OPTIMIZER_LAST, lambda tmp: _save_store(tmp, store), overwrite=True)
            record["history"].append(entry)
            record["epochs_done"] = epoch + 1
            _write_record(model_dir, record)

    return _EpochRecorder()


def _weights_writer(keras_model):
    """Write ``keras_model``'s weights as csbdeep's ``save_weights`` does, built in memory first.

    HDF5 does not fail cleanly when the disk fills while it writes a file:
    h5py prints a stream of errors and the process then dies of a
    segmentation fault. Built in memory and written by Python, a full disk
    is an ordinary ``OSError`` (ENOSPC).
    """
    def write(tmp: str) -> None:
        import io as _io

        import h5py
        from csbdeep.models.base_model import save_weights_to_hdf5_group

        buffer = _io.BytesIO()
        with h5py.File(buffer, "w") as f:
            save_weights_to_hdf5_group(f, keras_model)
        with open(tmp, "wb") as f:
            f.write(buffer.getbuffer())

    return write


def _check_finite_weights(keras_model, epoch: int, model_dir: Path) -> None:
    """Refuse to save an epoch whose weights hold NaN or infinity (the loss may still look fine)."""
    broken = [w.path for w in keras_model.weights if not np.isfinite(np.asarray(w)).all()]
    if broken:
        raise ModelError(f"epoch {epoch} left non-finite weights in {', '.join(broken[:3])}"
                         f"{' and others' if len(broken) > 3 else ''}; nothing of it was saved and {model_dir} "
                         "keeps the epochs before it. Resume with a lower learning rate, or train in float32.")


def _is_best(val_loss, history) -> bool:
    """True if ``val_loss`` is lower than every earlier epoch's (the first epoch is always best)."""
    if val_loss is None or not np.isfinite(val_loss):
        return False
    earlier = [h["val_loss"] for h in history if h.get("val_loss") is not None]
    return not earlier or val_loss < min(earlier)


def _save_store(path, store: dict) -> None:
    with open(path, "wb") as f:
        np.savez(f, **store)


def _load_optimizer_state(model, model_dir: Path) -> None:
    path = model_dir / _OPTIMIZER_LAST
    if not path.is_file():
        warnings.warn(f"{path} is missing; resuming with a fresh optimizer state.", stacklevel=3)
        return
    optimizer = model.keras_model.optimizer
    optimizer.build(model.keras_model.trainable_variables)
    with np.load(path, allow_pickle=False) as data:
        store = {k: data[k] for k in data.files}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer.load_own_variables(store)
    if caught:
        warnings.warn(f"{path} does not match this network; resuming with a fresh optimizer state.", stacklevel=3)


def _silence_reduce_lr(callbacks) -> None:
    # The progress bar shows the learning rate; ReduceLROnPlateau's own prints would break the bar.
    for cb in callbacks:
        if type(cb).__name__ == "ReduceLROnPlateau":
            cb.verbose = 0


def _make_progress(total_epochs: int, initial_epoch: int, steps: int):
    """A Keras callback driving one tqdm bar: steps, epoch k/N, loss, val_loss, lr."""
    from tqdm.auto import tqdm

    Callback = _callback_base()

    class _Progress(Callback):
        def __init__(self):
            super().__init__()
            self.bar = tqdm(total=(total_epochs - initial_epoch) * steps, unit="step", dynamic_ncols=True,
                            desc=f"epoch {initial_epoch + 1}/{total_epochs}")
            self.postfix = {}

        def on_epoch_begin(self, epoch, logs=None):
            self.bar.set_description(f"epoch {epoch + 1}/{total_epochs}")

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs and "loss" in logs:
                self.postfix["loss"] = f"{float(logs['loss']):.4g}"
                self.bar.set_postfix(self.postfix, refresh=False)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            for key in ("loss", "val_loss", "learning_rate"):
                if key in logs:
                    self.postfix["lr" if key == "learning_rate" else key] = f"{float(logs[key]):.4g}"
            self.bar.set_postfix(self.postfix)

        def close(self):
            self.bar.close()

    return _Progress()


# --------------------------------------------------------------------------
# Loading and prediction
# --------------------------------------------------------------------------

def _build_care(config, model_dir: Path | None, precision: str = "float32", network: str | None = None):
    """csbdeep's CARE (new from ``config``, or loaded when None) computing in ``precision``, heads in float32.

    ``model_dir`` None: in memory only (csbdeep's ``basedir=None``; benchmarks). ``network``: "care"
    (csbdeep's U-Net) or "n2v2" (:func:`lumicare_ij.n2v.n2v2_unet`); None: as the folder's record says.
    """
    if network is None:
        network = n2v.network_of(model_dir) if model_dir is not None else "care"
    CARE = n2v.care_class(network)  # noqa: N806 - a class

    where = {"name": None, "basedir": None} if model_dir is None else \
        {"name": model_dir.name, "basedir": str(model_dir.parent)}
    with _quiet(), dtype_policy(precision):
        model = CARE(config, **where)
    float32_heads(model.keras_model)
    return model


def check_model_folder(model_dir) -> dict:
    """A model folder's csbdeep ``config.json``, after checking the folder holds a CARE network and weights.

    Raises
    ------
    ModelError
        Not a folder, no ``config.json``, a config that is not a CARE
        network's, or no weights; the message says what to give instead.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model folder; train one with 'lumicare train'.")
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ModelError(f"{model_dir}: not a CARE model folder (no config.json). Give the folder "
                         "'lumicare train' wrote (it holds config.json and weights_*.h5).")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{config_file}: damaged ({err}).") from None
    if not isinstance(config, dict) or not {"unet_n_depth", "probabilistic", "n_dim", "axes"} <= set(config):
        raise ModelError(f"{model_dir}: config.json is not a CSBDeep CARE network's (no U-Net settings).")
    problem = _config_problem(config)
    if problem:
        raise ModelError(f"{config_file}: {problem}; this is not a network lumicare_ij (or csbdeep) can build. "
                         "Give the folder as 'lumicare train' wrote it.")
    weights = sorted(p.name for p in model_dir.glob("*.h5"))
    if not weights:
        raise ModelError(f"{model_dir}: has no weights (*.h5); training stopped before its first epoch "
                         "finished. Train again (or resume).")
    return config


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _config_problem(config: dict) -> str | None:
    """What is wrong with a CARE config's network settings (None: nothing), checked before anything is built:
    a damaged or edited number could otherwise ask for an impossibly large network."""
    n_dim = config.get("n_dim")
    if not _whole(n_dim, 2, 3):
        return f"n_dim is {n_dim!r}, not 2 or 3"
    axes = config.get("axes")
    if not (isinstance(axes, str) and len(axes) == n_dim + 1 and "C" in axes and set(axes) <= set("ZYXC")):
        return f"axes is {axes!r}, not {n_dim} of Z, Y, X plus C"
    limits = {"n_channel_in": (1, 64), "n_channel_out": (1, 64), "unet_n_depth": (1, 6), "unet_n_first": (1, 1024),
              "unet_kern_size": (1, 15)}
    for key, (low, high) in limits.items():
        if key in config and not _whole(config[key], low, high):
            return f"{key} is {config[key]!r}, not a whole number from {low} to {high}"
    for key in ("probabilistic", "unet_residual"):
        if key in config and not isinstance(config[key], bool):
            return f"{key} is {config[key]!r}, not true or false"
    shape = config.get("unet_input_shape")
    if shape is not None and not (isinstance(shape, list) and len(shape) == n_dim + 1
                                  and all(v is None or _whole(v, 1, 2**20) for v in shape)):
        return f"unet_input_shape is {shape!r}, not {n_dim + 1} sizes"
    return None


def load_model(model_dir, precision: str = "float32"):
    """Load a trained CARE model folder.

    Parameters
    ----------
    model_dir : str or Path
        Folder with csbdeep's ``config.json`` and weights (``weights_best.h5``
        preferred, as csbdeep does).
    precision : {"float32", "bfloat16", "float16", "auto"}
        Arithmetic of its predictions (:mod:`lumicare_ij.precision`); the
        weights are float32 whatever the model was trained in.

    Returns
    -------
    csbdeep.models.CARE

    Raises
    ------
    ModelError
        Not a folder, no ``config.json``, a config that is not a CARE
        network's, or no weights.
    """
    model_dir = Path(model_dir)
    check_model_folder(model_dir)
    used = resolve_precision(precision)["used"]
    try:
        return _build_care(None, model_dir, used)
    except (ValueError, OSError, RuntimeError, KeyError) as err:  # h5py reports damaged HDF5 with all of these
        raise ModelError(f"{model_dir}: cannot load the CARE model ({str(err).splitlines()[0] if str(err) else type(err).__name__}). "
                         "If the folder was copied, copy it again: config.json and weights_*.h5 must be whole "
                         "and from the same training.") from None


def _as_model(model, precision: str | None = None):
    if isinstance(model, (str, os.PathLike)):
        return load_model(model, precision or "float32")
    if precision is not None:
        want, have = resolve_precision(precision)["used"], model_precision(model.keras_model)
        if want != have:
            raise UserInputError(f"the model was loaded to compute in {have}, not {want}; load it with "
                                 f"load_model(folder, precision={precision!r}) or pass its folder.")
    return model


def _n_tiles(tiles, ndim: int):
    if tiles is None or (isinstance(tiles, str) and tiles == "auto"):
        return None
    return parse_sizes(tiles, "tiles", n_axes=ndim, axes="Z,Y,X" if ndim == 3 else "Y,X",
                       example="2,2,2 or 'auto'" if ndim == 3 else "2,2 or 'auto'")


def predict(model, image, tiles=None, normalization=PREDICT_PERCENTILES, return_scale: bool = False,
            precision: str | None = None):
    """Restore one stack with a CARE model.

    Parameters
    ----------
    model : csbdeep.models.CARE or str or Path
        A loaded model (:func:`load_model`) or its folder.
    image : (Z, Y, X) array or DataArray
        Raw input at the size the network was trained on (binned
        acquisitions for upsampling models must be upsampled first; see
        :func:`restore_files`).
    tiles : None, "auto", or (z, y, x)
        None: one piece. (z, y, x): tiles per axis, e.g. (2, 2, 2) as the
        paper. "auto": start with one piece and double the tiles along the
        largest axis while memory runs out (a ``MemoryError`` or TensorFlow's
        ``ResourceExhaustedError``). With any setting csbdeep itself doubles
        tiles when TensorFlow runs out of (GPU) memory.
    normalization : (pmin, pmax) or None
        Input percentiles mapped to 0 and 1 before prediction and back after
        (default (2, 99.8), csbdeep's). None: the image is already normalised.
    return_scale : bool
        Also return the per-pixel scale (uncertainty) of a probabilistic model.
    precision : {"float32", "bfloat16", "float16", "auto"}, optional
        Arithmetic of the network (:mod:`lumicare_ij.precision`); applies when
        ``model`` is a folder (default float32). A loaded model computes in the
        precision it was loaded with; a different one given here is an error.

    Returns
    -------
    mean : float32 array, the input's shape
        The restoration (for probabilistic models the Laplace mean).
    scale : float32 array
        Only with ``return_scale``: the Laplace scale, in the same intensity units.

    Notes
    -----
    One call of csbdeep's ``CARE.predict`` (``predict_probabilistic`` with
    ``return_scale``); nothing else touches the pixels.
    """
    import tensorflow as tf
    from csbdeep.data import NoNormalizer, PercentileNormalizer

    model = _as_model(model, precision)
    array = np.asarray(image)
    ndim = model.config.n_dim
    if array.ndim != ndim:
        raise UserInputError(f"the model restores {ndim}D stacks ({'ZYX' if ndim == 3 else 'YX'}), "
                         f"got an array of shape {array.shape}.")
    if return_scale and not model.config.probabilistic:
        raise ModelError("return_scale needs a probabilistic model (trained with probabilistic=True).")
    axes = "ZYX"[-ndim:]
    if normalization is None:
        normalizer = NoNormalizer()
    else:
        pmin, pmax = normalization
        normalizer = PercentileNormalizer(pmin=float(pmin), pmax=float(pmax), do_after=True)
    n_tiles = _n_tiles(tiles, ndim)
    auto = isinstance(tiles, str) and tiles == "auto"
    for _ in range(9):
        try:
            if return_scale:
                prediction = model.predict_probabilistic(array, axes, normalizer=normalizer, n_tiles=n_tiles)
                return prediction.mean().astype(np.float32, copy=False), \
                    prediction.scale().astype(np.float32, copy=False)
            return model.predict(array, axes, normalizer=normalizer, n_tiles=n_tiles).astype(np.float32, copy=False)
        except (MemoryError, tf.errors.ResourceExhaustedError):
            if not auto:
                raise
            n_tiles = _more_tiles(array.shape, n_tiles)
    raise MemoryError(f"out of memory even with {n_tiles} tiles; free memory or use a smaller stack.")


def _more_tiles(shape, n_tiles):
    """Double the tiles along the axis with the largest tiles (as csbdeep does on GPU out-of-memory)."""
    n_tiles = list(n_tiles or [1] * len(shape))
    sizes = np.array(shape) / np.array(n_tiles)
    n_tiles[int(np.argmax(sizes))] *= 2
    return tuple(n_tiles)


# --------------------------------------------------------------------------
# Restoring files
# --------------------------------------------------------------------------

def restore_files(model_dir, inputs, out_dir, *args, **kwargs) -> list[dict]:
    """Restore TIFF stacks and write ImageJ TIFFs: :func:`lumicare_ij.restore.restore_files`, reached from here too."""
    from .restore import restore_files as restore

    return restore(model_dir, inputs, out_dir, *args, **kwargs)
