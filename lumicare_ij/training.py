"""Training data: regimes -> stack pairs -> 8-fold augmentation -> patches (.npz).

The data folder has csbdeep's layout: one sub-folder per acquisition
condition, the same file names in each::

    DATA/short_0.5s/cell01.tif   DATA/long_60s/cell01.tif
    DATA/short_0.5s/cell02.tif   DATA/long_60s/cell02.tif

A *regime* says which conditions form (input, target) pairs and how inputs
are made, as in the paper:

``denoise``
    short-exposure luminescence -> long-exposure luminescence (0.5 s -> 60 s).
``upsample``
    binned short exposure -> unbinned long exposure. Unbinned inputs are
    binned with Fiji's Bin (average) and upsampled without interpolation to
    the target size; inputs binned on the camera chip are only upsampled.
``n2n``
    one short exposure -> a second, identical short exposure (noise2noise);
    each pair is used in both directions.
``fluorescence``
    short-exposure luminescence -> fluorescence of the same structures.
``n2v``
    the short exposures alone (Noise2Void, self-supervised): input and target
    are the same noisy stack; the blind-spot masking happens per batch at
    training time (:mod:`lumicare_ij.n2v`).
``n2v2``
    as ``n2v``, with N2V2's median replacement and network (blur-pool, no
    skip connection at full resolution).

:func:`prepare_training_data` turns the pairs into csbdeep's training file:
each stack pair is rotated in 90 degree steps in XY and each rotation is
mirrored (8-fold, :func:`augment_8fold`), random patches are sampled from
every augmented pair and normalised with csbdeep's percentile normalisation,
and the patches are shuffled and written with a JSON record of how they were
made. The validation split happens at training time (csbdeep holds out the
last ``validation_split`` of the shuffled patches).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import ijops
from .atomic import atomic_write, atomic_write_text, create_temporary, remove_stale_parts
from .errors import OutputExistsError, UserInputError
from .io import check_pair, list_stacks, read_stack, require_finite, stack_shape
from .presets import Preset, get_preset
from .provenance import file_sha256, package_versions

__all__ = ["REGIMES", "TRAINING_PERCENTILES", "PATCH_FILTER", "StackPair", "TrainingDataError",
           "find_pairs", "denoise_pairs", "upsample_pairs", "n2n_pairs", "fluorescence_pairs", "n2v_pairs",
           "build_pairs", "binned_input", "augment_8fold", "augment_8fold_transform",
           "prepare_training_data", "training_record_path", "read_training_record", "check_split",
           "to_json"]

REGIMES = ("denoise", "upsample", "n2n", "fluorescence", "n2v", "n2v2")

#: Percentile normalisation of training patches: csbdeep's default
#: (``norm_percentiles(sample_percentiles())``). For every patch a low
#: percentile is drawn uniformly from ``pmin`` and a high one from ``pmax``;
#: the input patch is mapped so that these percentiles *of its whole
#: (augmented) input stack* become 0 and 1, the target patch likewise with
#: the target stack's percentiles. Prediction uses 2 and 99.8 of the input
#: stack (csbdeep's PercentileNormalizer default), inside these ranges.
TRAINING_PERCENTILES = {"pmin": (1.0, 3.0), "pmax": (99.5, 99.9)}

#: csbdeep's default patch filter: sample only where the target (max-filtered
#: with half the patch size) exceeds ``threshold`` x its ``percentile``-th
#: percentile, so patches are not drawn from empty background.
PATCH_FILTER = {"threshold": 0.4, "percentile": 99.9}


class TrainingDataError(UserInputError):
    """Training data that cannot be used as asked, with what to do about it."""


class StackPair(NamedTuple):
    """One (input, target) training pair of (Z, Y, X) stacks of equal shape."""

    input: np.ndarray
    target: np.ndarray
    name: str
    input_file: str
    target_file: str
    note: str = ""
    bin_factor: int | None = None  # upsample regime: XY binning of the input before upsampling


# --------------------------------------------------------------------------
# Finding pairs
# --------------------------------------------------------------------------

def find_pairs(data_dir, input_condition: str, target_condition: str, *,
               check_shapes: bool = True) -> list[tuple[Path, Path]]:
    """Match ``DATA/<input_condition>/<name>.tif`` with ``DATA/<target_condition>/<name>.tif``.

    Parameters
    ----------
    data_dir : str or Path
        Folder with one sub-folder per condition.
    input_condition, target_condition : str
        Sub-folder names.
    check_shapes : bool
        Also compare the stack shapes recorded in the TIFF headers (no pixels
        are read). Off for regimes whose inputs are smaller (binned on chip).

    Returns
    -------
    list of (input_path, target_path), sorted by file name.

    Raises
    ------
    TrainingDataError
        Missing folders, empty folders, stacks without a partner of the same
        name, or (with ``check_shapes``) partners of different shapes. The
        message names the files.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise TrainingDataError(f"{data_dir}: no such folder. Give the folder that holds one sub-folder "
                                "per condition (e.g. DATA/short/, DATA/long/).")
    if input_condition == target_condition:
        raise TrainingDataError(f"input and target condition are both {input_condition!r}; "
                                "a network needs two different acquisitions of the same specimen.")
    conditions = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
    for cond in (input_condition, target_condition):
        if not (data_dir / cond).is_dir():
            raise TrainingDataError(f"{data_dir / cond}: no such condition folder; {data_dir} has "
                                    f"{', '.join(conditions) if conditions else 'no sub-folders'}.")
    inputs, targets = _stacks_by_name(data_dir / input_condition), _stacks_by_name(data_dir / target_condition)
    if not inputs:
        raise TrainingDataError(f"{data_dir / input_condition}: no .tif stacks found.")
    no_target = sorted(set(inputs) - set(targets))
    no_input = sorted(set(targets) - set(inputs))
    if no_target or no_input:
        parts = []
        if no_target:
            parts.append(f"in {input_condition}/ but not in {target_condition}/: {_some(no_target)}")
        if no_input:
            parts.append(f"in {target_condition}/ but not in {input_condition}/: {_some(no_input)}")
        raise TrainingDataError(f"{data_dir}: every stack needs a partner of the same name in both conditions; "
                                f"missing partners ({'; '.join(parts)}). Add or remove those files.")
    pairs = [(inputs[name], targets[name]) for name in sorted(inputs)]
    if check_shapes:
        for a, b in pairs:
            sa, sb = stack_shape(a), stack_shape(b)
            if sa != sb:
                raise TrainingDataError(
                    f"{a} has shape {sa} but its partner {b} has shape {sb}; paired stacks must cover the "
                    "same voxels. For binned inputs use the upsample regime; otherwise fix the pairing.")
    return pairs


def _stacks_by_name(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in list_stacks(folder)}


def _some(names, limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --------------------------------------------------------------------------
# Regimes
# --------------------------------------------------------------------------

def _stack3d(data, path) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim != 3:
        raise TrainingDataError(f"{path}: has dims {tuple(getattr(data, 'dims', ()))} (shape {array.shape}); "
                                "training uses single-channel 3D stacks (Z, Y, X), as the paper did. "
                                "Split channels or save the z-stack alone in Fiji.")
    require_finite(array, path)
    return array


def _same_shape_pairs(data_dir, input_condition, target_condition, note=""):
    pairs = []
    for a, b in find_pairs(data_dir, input_condition, target_condition):
        x, y = check_pair(a, b)
        pairs.append(StackPair(_stack3d(x, a), _stack3d(y, b), a.name, str(a), str(b), note))
        _warn_exposures(x, y, a, b)
    return pairs


def _warn_exposures(x, y, a, b, same: bool = False) -> None:
    ex = x.attrs.get("metadata", {}).get("exposure_s")
    ey = y.attrs.get("metadata", {}).get("exposure_s")
    if not isinstance(ex, (int, float)) or not isinstance(ey, (int, float)):
        return
    if same and ex != ey:
        warnings.warn(f"noise2noise pairs should have identical exposures, but {a.name} has "
                      f"{ex} s in one condition and {ey} s in the other.", stacklevel=3)
    elif not same and ex > ey and y.attrs.get("metadata", {}).get("modality") != "fluorescence":
        warnings.warn(f"{a} ({ex} s) is a longer exposure than its target {b} ({ey} s); "
                      "are input and target conditions swapped?", stacklevel=3)


def denoise_pairs(data_dir, input_condition: str, target_condition: str) -> list[StackPair]:
    """Short-exposure -> long-exposure luminescence pairs (e.g. 0.5 s -> 60 s).

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``<condition>/<name>.tif`` stacks.
    input_condition : str
        Low-signal (short exposure) condition.
    target_condition : str
        High-signal (long exposure) condition, recorded plane by plane
        alternating with the input as in the paper.

    Returns
    -------
    list of StackPair
        One pair per stack name; arrays keep their file dtype.
    """
    return _same_shape_pairs(data_dir, input_condition, target_condition)


def fluorescence_pairs(data_dir, input_condition: str, target_condition: str) -> list[StackPair]:
    """Short-exposure luminescence -> fluorescence of the same structures.

    The fluorescence channel (e.g. H2B-eGFP, Tomm20-mNeonGreen) is the target;
    the two modalities have different intensity scales, which the per-stack
    percentile normalisation removes.

    Parameters and Returns as :func:`denoise_pairs`.
    """
    return _same_shape_pairs(data_dir, input_condition, target_condition, note="luminescence -> fluorescence")


def n2n_pairs(data_dir, first_condition: str, second_condition: str) -> list[StackPair]:
    """Noise2noise pairs: two consecutive short exposures with identical settings.

    Each stack pair is used in both directions (first -> second and
    second -> first), doubling the pairs; neither is a clean target, and
    the network learns the expectation both share.

    Parameters
    ----------
    data_dir : str or Path
    first_condition, second_condition : str
        The two repeats (e.g. ``short_a`` and ``short_b``).

    Returns
    -------
    list of StackPair
        Two pairs per stack name, ``<name> (a->b)`` and ``<name> (b->a)``.
    """
    pairs = []
    for a, b in find_pairs(data_dir, first_condition, second_condition):
        x, y = check_pair(a, b)
        _warn_exposures(x, y, a, b, same=True)
        xa, yb = _stack3d(x, a), _stack3d(y, b)
        pairs.append(StackPair(xa, yb, f"{a.name} ({first_condition}->{second_condition})", str(a), str(b),
                               "noise2noise"))
        pairs.append(StackPair(yb, xa, f"{a.name} ({second_condition}->{first_condition})", str(b), str(a),
                               "noise2noise, reversed"))
    return pairs


def binned_input(stack, bin_factor: int, shape) -> np.ndarray:
    """Bin a stack in XY as Fiji's Bin (average), then upsample without interpolation.

    Parameters
    ----------
    stack : (Z, Y, X) array
        Unbinned short exposure.
    bin_factor : int
        XY bin factor (Z is not binned: the camera bins pixels, not planes).
    shape : tuple of int
        Size to upsample to (the ground truth's (Z, Y, X)).

    Returns
    -------
    ndarray of ``shape`` and the input dtype.

    Notes
    -----
    :func:`lumicare_ij.ijops.bin` (``ij.plugin.Binner``, average) followed by
    :func:`lumicare_ij.ijops.upsample_nearest` (Image > Adjust > Size,
    interpolation None): how the paper made its upsampling training inputs.
    """
    return ijops.upsample_nearest(ijops.bin(stack, int(bin_factor), 1, method="average"), tuple(shape))


def upsample_pairs(data_dir, input_condition: str, target_condition: str,
                   bin_factor: int | None = None) -> list[StackPair]:
    """Binned short exposure -> unbinned long exposure pairs.

    Parameters
    ----------
    data_dir : str or Path
    input_condition : str
        Short exposures, either unbinned (same size as the targets: binned
        here by ``bin_factor``) or binned on the camera chip (smaller in X and
        Y by an integer factor: only upsampled).
    target_condition : str
        Unbinned long exposures.
    bin_factor : int, optional
        XY bin factor. Required for unbinned inputs; for chip-binned inputs
        it is read from the sizes and, if given, must agree.

    Returns
    -------
    list of StackPair
        Inputs at the target size (see :func:`binned_input`).

    Raises
    ------
    TrainingDataError
        Unbinned inputs without ``bin_factor``, or sizes that are no integer
        binning of the target.
    """
    if bin_factor is not None and (isinstance(bin_factor, bool) or int(bin_factor) != bin_factor or bin_factor < 1):
        raise TrainingDataError(f"bin_factor must be a whole number >= 1, got {bin_factor!r}")
    pairs = []
    for a, b in find_pairs(data_dir, input_condition, target_condition, check_shapes=False):
        x = _stack3d(read_stack(a), a)
        y = _stack3d(read_stack(b), b)
        if x.shape == y.shape:
            if bin_factor is None:
                raise TrainingDataError(
                    f"{a} has the same size as its target {b.name} {y.shape}: it is unbinned. Give bin_factor "
                    "(--bin) to bin it as Fiji's Bin (average) does, or supply chip-binned stacks.")
            factor = int(bin_factor)
            x = binned_input(x, factor, y.shape)
            note = f"software binned {factor}x{factor} (ijops.bin average) + upsample_nearest"
        else:
            factor = _chip_bin_factor(x.shape, y.shape, a, b)
            if bin_factor is not None and factor != int(bin_factor):
                raise TrainingDataError(f"{a} {x.shape} is binned {factor}x{factor} relative to {b.name} {y.shape}, "
                                        f"but bin_factor={bin_factor} was given.")
            x = ijops.upsample_nearest(x, y.shape)
            note = f"binned {factor}x{factor} on chip + upsample_nearest"
        pairs.append(StackPair(x, y, a.name, str(a), str(b), note, factor))
    return pairs


def _chip_bin_factor(xs, ys, a, b) -> int:
    ratios = (ys[1] / xs[1], ys[2] / xs[2])
    factor = int(round(ratios[0]))
    # The camera drops leftover pixels, as Fiji's Bin does: Y // f and X // f.
    if xs[0] != ys[0] or factor < 2 or (ys[1] // factor, ys[2] // factor) != xs[1:]:
        raise TrainingDataError(f"{a} has shape {xs} but its target {b} has shape {ys}; a binned input must have "
                                "the same number of planes and Y and X smaller by one whole factor.")
    return factor


def n2v_pairs(data_dir, condition: str, target_condition: str | None = None) -> list[StackPair]:
    """Noise2Void "pairs": every stack of one condition as its own input and target (no second acquisition).

    Parameters
    ----------
    data_dir : str or Path
    condition : str
        The noisy condition to learn from (e.g. ``lum_0.5s``).
    target_condition : None
        Must be None (or the same condition): blind-spot training has no target.
    """
    if target_condition not in (None, "", condition):
        raise TrainingDataError(f"the n2v regime learns from {condition!r} alone; leave out the target "
                                f"condition (got {target_condition!r}).")
    folder = Path(data_dir) / condition
    files = list_stacks(folder) if folder.is_dir() else []
    if not files:
        raise TrainingDataError(f"no .tif stacks in {folder}; n2v needs the noisy condition's stacks there.")
    pairs = []
    for path in files:
        stack = _stack3d(read_stack(path), path)
        pairs.append(StackPair(stack, stack, path.name, str(path), str(path), "noise2void (self-supervised)"))
    return pairs


def build_pairs(data_dir, regime: str, input_condition: str, target_condition: str,
                bin_factor: int | None = None) -> list[StackPair]:
    """The pairs of one regime (dispatch to :func:`denoise_pairs` and friends)."""
    if regime not in REGIMES:
        raise TrainingDataError(f"unknown regime {regime!r}; choose one of {', '.join(REGIMES)}.")
    if bin_factor is not None and regime != "upsample":
        raise TrainingDataError(f"bin_factor applies to the upsample regime only, not {regime!r}.")
    if regime == "upsample":
        return upsample_pairs(data_dir, input_condition, target_condition, bin_factor)
    return {"denoise": denoise_pairs, "n2n": n2n_pairs, "fluorescence": fluorescence_pairs,
            "n2v": n2v_pairs, "n2v2": n2v_pairs}[regime](data_dir, input_condition, target_condition)


# --------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------

def augment_8fold(stack) -> list[np.ndarray]:
    """The 8 orientations of a stack: 4 rotations in XY, each also mirrored.

    Parameters
    ----------
    stack : (..., Y, X) array

    Returns
    -------
    list of 8 arrays (views): rotations by 0, 90, 180, 270 degrees in the
    YX plane (``np.rot90``), each followed by its horizontal mirror (X
    flipped). The first is the stack itself. Rotations by 90 and 270 degrees
    swap the Y and X sizes.

    Notes
    -----
    The paper: "each raw stack was rotated 3 times in 90 degree increments
    and subsequently each of the resulting stacks was mirrored horizontally
    resulting in an 8-fold increase of available training data."
    """
    stack = np.asarray(stack)
    out = []
    for k in range(4):
        rotated = np.rot90(stack, k, axes=(-2, -1))
        out.extend((rotated, rotated[..., ::-1]))
    return out


def augment_8fold_transform():
    """:func:`augment_8fold` as a csbdeep ``Transform`` for ``create_patches``.

    Input and target (and mask) of each pair get the same orientation.
    """
    from csbdeep.data import Transform

    def _generator(inputs):
        for x, y, axes, mask in inputs:
            if not axes.upper().endswith("YX"):
                raise TrainingDataError(f"8-fold augmentation needs axes ending in YX, got {axes!r}")
            masks = augment_8fold(mask) if mask is not None else [None] * 8
            for xa, ya, ma in zip(augment_8fold(x), augment_8fold(y), masks):
                yield xa, ya, axes, ma

    return Transform("8-fold: 4 rotations in XY x horizontal mirror", _generator, 8)


# --------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------

def training_record_path(npz) -> Path:
    """Where :func:`prepare_training_data` writes the record of ``npz`` (``x.npz`` -> ``x.json``)."""
    return Path(npz).with_suffix(".json")


def read_training_record(npz) -> dict | None:
    """The JSON record written next to a training file, or None if there is none."""
    path = training_record_path(npz)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _npz_path(out_npz) -> Path:
    out = Path(out_npz)
    return out if out.suffix == ".npz" else out.with_name(out.name + ".npz")


@contextlib.contextmanager
def _seeded(seed):
    """Seed NumPy's global generator (csbdeep samples with it) and restore it afterwards."""
    state = np.random.get_state()
    if seed is not None:
        np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _check_patch_fits(pairs, patch_size) -> None:
    pz, py, px = patch_size
    for p in pairs:
        z, y, x = p.input.shape
        # 90 degree rotations swap Y and X, so the patch's Y and X must fit both sides.
        if pz > z or max(py, px) > min(y, x):
            raise TrainingDataError(
                f"patch_size (Z, Y, X) = {tuple(patch_size)} does not fit stack {p.input_file} of shape "
                f"{p.input.shape} (Z must be <= {z}; Y and X <= {min(y, x)}, as rotation swaps them). "
                "Use a smaller patch_size (--patch-size Z,Y,X) or a preset sized for your data.")


def check_split(n_patches: int, validation_split: float, what: str) -> tuple[int, int]:
    n_val = int(round(n_patches * validation_split))
    n_train = n_patches - n_val
    if n_val < 1 or n_train < 1:
        raise TrainingDataError(
            f"{what}: {n_patches} patches cannot be split {1 - validation_split:g}/{validation_split:g} into "
            f"training and validation (would give {n_train} training and {n_val} validation patches). "
            "Sample more patches per stack (n_patches_per_image), add stacks, or change validation_split.")
    return n_train, n_val


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def to_json(record: dict) -> str:
    """A record as indented JSON (NumPy scalars, tuples and paths converted)."""
    return json.dumps(record, indent=2, default=_json_default) + "\n"


def prepare_training_data(data_dir, regime: str, input_condition: str, target_condition: str, out_npz,
                          preset: str | Preset = "quick", patch_size=None, n_patches_per_image: int | None = None,
                          seed: int | None = 0, bin_factor: int | None = None, overwrite: bool = False,
                          progress: bool = True) -> dict:
    """Make csbdeep's training file from a folder of paired stacks.

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``<condition>/<name>.tif`` stacks (3D, Z Y X).
    regime : {"denoise", "upsample", "n2n", "fluorescence", "n2v", "n2v2"}
        How pairs are formed (see the module docstring).
    input_condition, target_condition : str
        Condition sub-folders (for n2n: the two repeats; for n2v the target is None).
    out_npz : str or Path
        Training file to write (``.npz`` is appended if missing); the record
        goes next to it as ``<name>.json``.
    preset : str or Preset
        Supplies ``patch_size``, ``n_patches_per_image`` and the
        ``validation_split`` checked here (default, or None: ``"quick"``).
    patch_size : tuple of int or str, optional
        Patch shape (Z, Y, X), overriding the preset.
    n_patches_per_image : int, optional
        Patches per augmented stack, overriding the preset.
    seed : int or None
        Seed for patch positions, normalisation percentiles and shuffling;
        the same seed and data give the same file. None: not seeded.
    bin_factor : int, optional
        Upsample regime only: XY bin factor for unbinned inputs.
    overwrite : bool
        Replace an existing training file and record.
    progress : bool
        Print csbdeep's summary and progress bar.

    Returns
    -------
    dict
        The record written to ``<name>.json``: regime, conditions, files,
        preset, augmentation, normalisation, patch filter, seed, patch
        counts and shapes, package versions.

    Raises
    ------
    TrainingDataError
        Missing or unpaired files, shape mismatches, a patch larger than a
        stack, or too few patches for the validation split.
    FileExistsError
        The output exists and ``overwrite`` is False.

    Notes
    -----
    Uses csbdeep's ``RawData.from_arrays`` and ``create_patches`` with
    :func:`augment_8fold_transform`, csbdeep's default patch filter
    (:data:`PATCH_FILTER`) and percentile normalisation
    (:data:`TRAINING_PERCENTILES`). Each of the 8 orientations of every stack
    gets ``n_patches_per_image`` patches, so a file holds
    ``n_pairs x 8 x n_patches_per_image`` patches, shuffled, with axes
    ``SCZYX``.
    """
    from csbdeep.data import RawData, create_patches, no_background_patches, norm_percentiles, sample_percentiles

    settings = get_preset(preset or "quick", patch_size=patch_size, n_patches_per_image=n_patches_per_image)
    npz = _npz_path(out_npz)
    record_path = training_record_path(npz)
    request = {"regime": regime, "data_dir": str(Path(data_dir).resolve()), "input_condition": input_condition,
               "target_condition": target_condition, "preset": settings.as_dict(), "seed": seed}
    if not overwrite and record_path.exists() and (not npz.exists() or not _same_request(record_path, request)):
        raise OutputExistsError(f"{record_path} already exists (made with other data or settings); choose another "
                                "name or pass overwrite=True (--force) to replace it.")
    # An existing training file of this request (finished, or left without its record by a killed run) is made
    # again below and counts as done if it is the same file (prepare is seeded); another one is refused there.
    for path in (npz, record_path):
        remove_stale_parts(path)  # temporaries of a killed run of this command
    pairs = build_pairs(data_dir, regime, input_condition, target_condition, bin_factor)
    # The effective XY binning of the inputs (given, or read from chip-binned sizes);
    # prediction upsamples binned acquisitions by it.
    effective_bin = _effective_bin_factor(pairs)
    _check_patch_fits(pairs, settings.patch_size)
    n_images = len(pairs) * 8
    n_patches = n_images * settings.n_patches_per_image
    n_train, n_val = check_split(n_patches, settings.validation_split, "training data")

    raw = RawData.from_arrays([p.input for p in pairs], [p.target for p in pairs], axes="ZYX")
    normalization = norm_percentiles(sample_percentiles(**TRAINING_PERCENTILES))
    with _seeded(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            X, Y, axes = create_patches(raw, patch_size=settings.patch_size,
                                        n_patches_per_image=settings.n_patches_per_image,
                                        transforms=[augment_8fold_transform()],
                                        patch_filter=no_background_patches(**PATCH_FILTER),
                                        normalization=normalization, shuffle=True, verbose=progress)
        except ValueError as err:
            if "patch_filter" in str(err):
                raise TrainingDataError(
                    "a target stack has no signal above background to sample patches from (csbdeep's patch "
                    f"filter found no region brighter than {PATCH_FILTER['threshold']} x its "
                    f"{PATCH_FILTER['percentile']}th percentile). Remove empty stacks.") from None
            raise

    record = {
        "format": "lumicare-training-data/1",
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "npz": str(npz.resolve()),
        "regime": regime,
        "data_dir": str(Path(data_dir).resolve()),
        "input_condition": input_condition,
        "target_condition": target_condition,
        "bin_factor": effective_bin,
        "pairs": [{"name": p.name, "input_file": p.input_file, "target_file": p.target_file,
                   "shape_zyx": list(p.input.shape), "note": p.note} for p in pairs],
        "preset": settings.as_dict(),
        "patch_size_zyx": list(settings.patch_size),
        "n_patches_per_image": settings.n_patches_per_image,
        "augmentation": {"name": "8-fold", "rotations_deg": [0, 90, 180, 270], "mirror": "horizontal (X)",
                         "factor": 8},
        "patch_filter": {"function": "csbdeep.data.no_background_patches", **PATCH_FILTER},
        "normalization": {"function": "csbdeep.data.norm_percentiles",
                          "pmin_range": list(TRAINING_PERCENTILES["pmin"]),
                          "pmax_range": list(TRAINING_PERCENTILES["pmax"]),
                          "of": "whole augmented stack, input and target separately", "relu_last": False},
        "seed": seed,
        "n_stack_pairs": len(pairs),
        "n_images": n_images,
        "n_patches": int(X.shape[0]),
        "validation_split": settings.validation_split,
        "n_train_patches": n_train,
        "n_validation_patches": n_val,
        "axes": axes,
        "X_shape": list(X.shape),
        "Y_shape": list(Y.shape),
        "versions": package_versions(),
    }
    def write_npz(tmp):
        _save_npz(tmp, X, Y, axes)
        record["npz_sha256"] = file_sha256(tmp)  # what 'train --resume' checks the file against

    if overwrite or not npz.exists():
        atomic_write(npz, write_npz, overwrite=overwrite)
    else:
        _adopt_same_npz(npz, write_npz)
        if record_path.exists():  # this very file and its record: nothing to do
            return json.loads(record_path.read_text(encoding="utf-8"))
    atomic_write_text(record_path, to_json(record), overwrite=overwrite)
    return record


def _same_request(record_path: Path, request: dict) -> bool:
    """True if the record at ``record_path`` was written for ``request`` (same data, regime, settings, seed)."""
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and all(json.loads(to_json(record.get(k))) == json.loads(to_json(v))
                                            for k, v in request.items())


def _adopt_same_npz(npz: Path, write_npz) -> None:
    """Accept the training file already at ``npz`` if it equals the one just made, else refuse."""
    tmp = create_temporary(npz)
    try:
        write_npz(str(tmp))
        same = file_sha256(tmp) == file_sha256(npz)
    finally:
        tmp.unlink(missing_ok=True)
    if not same:
        raise OutputExistsError(f"{npz} already exists and holds other patches (made from other data or "
                                "settings); choose another name or pass overwrite=True (--force) to replace it.")


def _effective_bin_factor(pairs):
    factors = sorted({p.bin_factor for p in pairs if p.bin_factor is not None})
    if len(factors) > 1:
        raise TrainingDataError(f"the inputs are binned by different factors {factors}; train one network per "
                                "binning (put each binning in its own condition folder).")
    return factors[0] if factors else None


def _save_npz(path, X, Y, axes) -> None:
    # csbdeep.io.save_training_data's format (np.savez of X, Y, axes); an open file keeps
    # NumPy from appending ".npz" to the temporary name.
    with open(path, "wb") as f:
        np.savez(f, X=X, Y=Y, axes=axes)
