"""Predict in Python exactly as Fiji's CSBDeep plugin ("Run your network") does.

The plugin normalises the whole image with its own percentile rule, cuts it
into padded tiles, runs each tile through the network (batch 1) and stitches
the tiles; it never maps the output back to the input's intensities. csbdeep
in Python does all of this differently (see ``docs/fiji-export.md``), so the
same model gives different numbers in Fiji and in Python. These functions
reproduce the plugin's path step by step:

- :func:`normalize_like_fiji`: ``PercentileNormalizer`` with
  ``HistogramPercentile`` (nearest rank on the sorted pixels), in float32
  arithmetic as Java does;
- :func:`plan_fiji_tiling`, :func:`tile_like_fiji`, :func:`merge_like_fiji`:
  ``DefaultTiling`` (tile count, sizes that are multiples of 32, overlap 32,
  mirror padding of ImgLib2's ``extendMirrorDouble`` views, stitching and
  cropping);
- :func:`predict_like_fiji`: all of it with a Keras model (csbdeep) or, for
  an exported ZIP, with TensorFlow Java 1.15 (the plugin's runtime).

Behaviour follows CSBDeep_fiji 0.6 (``de.csbdresden.csbdeep``); the defaults
are the plugin's (3.0 / 99.8 percentiles, 8 tiles, tile sizes a multiple of
32, overlap 32, batch size 1, no clipping).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..javatools import compile_java, read_sources, resolve_artifact, run_java_class
from .errors import TFJavaError

#: The plugin's defaults (GenericCoreNetwork).
PERCENTILE_BOTTOM = 3.0
PERCENTILE_TOP = 99.8
N_TILES = 8
BLOCK_MULTIPLE = 32
OVERLAP = 32

__all__ = ["PERCENTILE_BOTTOM", "PERCENTILE_TOP", "N_TILES", "BLOCK_MULTIPLE", "OVERLAP", "FijiTiling",
           "fiji_percentiles", "normalize_like_fiji", "plan_fiji_tiling", "tile_like_fiji",
           "merge_like_fiji", "predict_like_fiji", "predict_like_fiji_in_java", "compare_with_csbdeep"]


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

def fiji_percentiles(image, percentiles=(PERCENTILE_BOTTOM, PERCENTILE_TOP)) -> np.ndarray:
    """Percentiles of all pixels as the plugin computes them: nearest rank, float32.

    Parameters
    ----------
    image : array
        All pixels count (every channel, plane and time point together).
    percentiles : sequence of float
        In percent.

    Returns
    -------
    float32 array
        One value per percentile.

    Notes
    -----
    Reproduces ``de.csbdresden.csbdeep.normalize.HistogramPercentile``: the
    pixels, as float32, are sorted and the value at index
    ``Math.round((n - 1) * p / 100f)`` is taken, the index computed in float32
    (Java evaluates ``int * float / float`` in single precision) and rounded
    half up, then clamped to ``[0, n - 1]``.
    """
    values = np.sort(np.asarray(image, dtype=np.float32), axis=None)
    n = values.size
    if n == 0:
        raise UserInputError("cannot take percentiles of an empty image")
    result = []
    for p in percentiles:
        index_f = np.float32(np.float32(n - 1) * np.float32(p)) / np.float32(100)   # float32 throughout
        index = int(math.floor(float(index_f) + 0.5))                               # Math.round(float)
        result.append(values[min(n - 1, max(0, index))])
    return np.asarray(result, dtype=np.float32)


def normalize_like_fiji(image, percentile_bottom: float = PERCENTILE_BOTTOM,
                        percentile_top: float = PERCENTILE_TOP, clip: bool = False) -> np.ndarray:
    """Normalise an image as the CSBDeep Fiji plugin does before prediction.

    Parameters
    ----------
    image : array
        The whole image (any shape; all pixels share one pair of percentiles).
    percentile_bottom, percentile_top : float
        The plugin's "percentileBottom"/"percentileTop" (defaults 3.0 and 99.8).
    clip : bool
        The plugin's "Clip normalization" (default off).

    Returns
    -------
    float32 array
        ``max(0, (x - lo) * (1 / (hi - lo)))``; values above 1 are kept unless
        ``clip`` (then also ``min(1, ...)``). If ``hi - lo < 1e-7`` the factor is 1.

    Notes
    -----
    Reproduces ``de.csbdresden.csbdeep.normalize.PercentileNormalizer`` with
    destination range [0, 1], in float32 as Java computes it: values below 0
    are always set to 0 (even without ``clip``); there is no de-normalisation
    of the network's output afterwards.
    """
    x = np.asarray(image, dtype=np.float32)
    lo, hi = fiji_percentiles(x, (percentile_bottom, percentile_top))
    diff = np.float32(hi - lo)
    factor = np.float32(1) if float(diff) < 1e-7 else np.float32(np.float32(1) / diff)
    y = (x - lo) * factor
    if clip:
        y = np.minimum(np.float32(1), y)
    return np.maximum(np.float32(0), y).astype(np.float32, copy=False)


# --------------------------------------------------------------------------
# Tiling
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class FijiTiling:
    """Where the plugin's tiles lie, per spatial axis in NumPy order ([Z,] Y, X).

    Attributes
    ----------
    shape : tuple of int
        Spatial size of the image.
    grid : tuple of int
        Tiles per axis (their product is the tile count the plugin reports).
    tile_size : tuple of int
        Size of each tile without padding (a multiple of the block multiple).
    padding : tuple of int
        Overlap added on both sides of each tile (0 along untiled axes).
    expanded : tuple of int
        ``grid * tile_size``: the image is mirrored (or, see Notes, cut) to this size.
    """

    shape: tuple
    grid: tuple
    tile_size: tuple
    padding: tuple
    expanded: tuple

    @property
    def n_tiles(self) -> int:
        return int(np.prod(self.grid))

    def tile_origins(self):
        """Tile positions in the expanded image (before padding), in C order of the grid."""
        return [tuple(i * t for i, t in zip(index, self.tile_size)) for index in np.ndindex(*self.grid)]


def plan_fiji_tiling(shape, n_tiles: int = N_TILES, block_multiple: int = BLOCK_MULTIPLE,
                     overlap: int = OVERLAP) -> FijiTiling:
    """The plugin's tile layout for an image of spatial size ``shape`` ([Z,] Y, X).

    Notes
    -----
    Reproduces ``de.csbdresden.csbdeep.tiling.DefaultTiling``: starting from
    one tile per axis, add one tile to the axis whose tiles are largest until
    there are at least ``n_tiles`` (tiles of an axis whose tile is no larger
    than ``block_multiple`` are not split; ties go to the first axis in
    ImageJ's order X, Y, Z). The tile size of an axis of size ``n`` split in
    ``t`` is ``ceil((n // t) / block_multiple) * block_multiple`` (integer
    division first, as in the plugin), so ``t * tile`` may even be smaller
    than ``n``: the plugin then leaves the last pixels out of the prediction
    and fills them by mirroring the stitched output; this is reproduced.
    Tiled axes get ``overlap`` pixels of padding on each side.
    """
    shape = tuple(int(s) for s in shape)
    if not shape or min(shape) < 1:
        raise UserInputError(f"image shape must be positive sizes, got {shape}")
    if n_tiles < 1 or block_multiple < 1 or overlap < 0:
        raise UserInputError("n_tiles and block_multiple must be >= 1 and overlap >= 0")
    order = list(range(len(shape)))[::-1]          # ImageJ's axis order: X first

    def tile(axis, tiles):
        return math.ceil((shape[axis] // tiles[axis]) / block_multiple) * block_multiple

    grid = [1] * len(shape)
    while int(np.prod(grid)) < n_tiles:
        largest = None
        for axis in order:
            size = tile(axis, grid)
            if size > block_multiple and (largest is None or size > tile(largest, grid)):
                largest = axis
        if largest is None:
            break
        grid[largest] += 1
    tile_size = tuple(tile(a, grid) for a in range(len(shape)))
    padding = tuple(overlap if g > 1 else 0 for g in grid)
    expanded = tuple(g * t for g, t in zip(grid, tile_size))
    return FijiTiling(shape, tuple(grid), tile_size, padding, expanded)


def _mirror(positions: np.ndarray, size: int) -> np.ndarray:
    """ImgLib2's mirror-double boundary (edge pixel repeated): ... 1 0 | 0 1 ... n-1 | n-1 n-2 ..."""
    p = np.mod(positions, 2 * size)
    return np.where(p >= size, 2 * size - 1 - p, p)


def _source_index(axis: int, positions: np.ndarray, plan: FijiTiling) -> np.ndarray:
    """Which pixel of the original image the plugin reads at ``positions`` of the expanded image.

    The plugin expands one axis after the other (X, Y, then Z), each time
    wrapping the previous view in ``Views.extendMirrorDouble``; reads outside
    the final interval go through the outermost extension, which mirrors at
    the expanded size of the axes expanded before the last one and at the
    original size of the last one; inner views then mirror at the original size.
    """
    n, s = plan.shape[axis], plan.expanded[axis]
    last_expanded = axis == 0          # NumPy axis 0 is Z (3D) or Y (2D): ImageJ expands it last
    if not last_expanded:
        positions = _mirror(positions, s)
    return _mirror(positions, n)


def tile_like_fiji(image, n_tiles: int = N_TILES, block_multiple: int = BLOCK_MULTIPLE,
                   overlap: int = OVERLAP, channel_axis: bool | None = None):
    """Cut an (already normalised) image into the plugin's padded tiles.

    Parameters
    ----------
    image : array, ([Z,] Y, X) or ([Z,] Y, X, C)
        Spatial axes in NumPy order; channels last if ``channel_axis`` (default:
        a trailing axis is taken as channels only if ``channel_axis=True``).
    n_tiles, block_multiple, overlap : int
        The plugin's "Number of tiles", "Tile size has to be multiple of",
        "Overlap between tiles".
    channel_axis : bool, optional
        Whether the last axis holds channels.

    Returns
    -------
    tiles : list of float32 arrays, (1, [Z,] Y, X, C)
        Network inputs, batch 1, in the order of :meth:`FijiTiling.tile_origins`.
    plan : FijiTiling
    """
    x = np.asarray(image, dtype=np.float32)
    if not channel_axis:
        x = x[..., np.newaxis]
    spatial = x.shape[:-1]
    if len(spatial) not in (2, 3):
        raise UserInputError(f"expected a 2D or 3D image ([Z,] Y, X[, C]), got shape {np.shape(image)}")
    plan = plan_fiji_tiling(spatial, n_tiles, block_multiple, overlap)
    tiles = []
    for origin in plan.tile_origins():
        index = [_source_index(a, np.arange(o - p, o + t + p), plan)
                 for a, (o, t, p) in enumerate(zip(origin, plan.tile_size, plan.padding))]
        tiles.append(x[np.ix_(*index)][np.newaxis])
    return tiles, plan


def merge_like_fiji(outputs, plan: FijiTiling) -> np.ndarray:
    """Stitch the network's tile outputs as the plugin does; return ([Z,] Y, X, C).

    Each output loses its padding on both sides, the tiles are placed on the
    grid, and the result is cut (or, where the tiles fell short of the image,
    mirrored) back to the image size.
    """
    outputs = list(outputs)
    if len(outputs) != plan.n_tiles:
        raise UserInputError(f"expected {plan.n_tiles} tile outputs, got {len(outputs)}")
    channels = np.asarray(outputs[0]).shape[-1]
    merged = np.empty(plan.expanded + (channels,), dtype=np.float32)
    for origin, y in zip(plan.tile_origins(), outputs):
        y = np.asarray(y, dtype=np.float32)
        y = y[0] if y.ndim == len(plan.shape) + 2 else y
        expected = tuple(t + 2 * p for t, p in zip(plan.tile_size, plan.padding))
        if y.shape[:-1] != expected:
            raise UserInputError(f"a tile output has spatial shape {y.shape[:-1]}, expected {expected}: "
                             "the network must keep the size of its input")
        crop = tuple(slice(p, p + t) for t, p in zip(plan.tile_size, plan.padding))
        place = tuple(slice(o, o + t) for o, t in zip(origin, plan.tile_size))
        merged[place] = y[crop]
    index = [_mirror(np.arange(n), s) for n, s in zip(plan.shape, plan.expanded)]
    return merged[np.ix_(*index, np.arange(channels))]


# --------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------

def how_to_run_in_fiji(zip_path) -> str:
    """The steps to run an exported ZIP in Fiji, with the plugin settings ``--normalize fiji`` reproduces."""
    return "\n".join([
        f"To run {Path(zip_path).name} in Fiji (needs the CSBDeep update site: Help > Update... > "
        "Manage update sites > CSBDeep):",
        "  1. Open a stack, then Plugins > CSBDeep > Run your network; choose this file as "
        "'Import model (.zip)'.",
        f"  2. Keep the plugin's defaults - normalize input on, percentiles {PERCENTILE_BOTTOM:g} / "
        f"{PERCENTILE_TOP:g}, clip off, {N_TILES} tiles, tile size a multiple of {BLOCK_MULTIPLE}, overlap "
        f"{OVERLAP}, batch size 1; 'lumicare predict --normalize fiji' applies these same settings in Python.",
        "  3. The result is on the plugin's normalised scale (0 = the 3rd, 1 = the 99.8th percentile of the input), "
        "not in camera counts. For a whole folder: Plugins > LumiCARE > Restore Folder with CARE "
        "(after 'lumicare fiji install --fiji Fiji.app').",
    ])


def predict_like_fiji(model, image, n_tiles: int = N_TILES, *, normalize: bool = True,
                      percentile_bottom: float = PERCENTILE_BOTTOM, percentile_top: float = PERCENTILE_TOP,
                      clip: bool = False, block_multiple: int = BLOCK_MULTIPLE, overlap: int = OVERLAP,
                      output: str = "mean") -> np.ndarray:
    """Restore an image with the numbers Fiji's CSBDeep plugin would show.

    Parameters
    ----------
    model : csbdeep CARE, keras.Model, or str/Path
        A loaded csbdeep model, its Keras model, a csbdeep model folder, or an
        exported CSBDeep-Fiji ZIP (run in TensorFlow Java 1.15 in a separate
        process, as in Fiji: needs a JDK, see :func:`run_in_tfjava`).
    image : array, ([Z,] Y, X) or ([Z,] Y, X, C)
        Raw image, spatial axes as the model's; channels last for models with
        several input channels.
    n_tiles : int
        The plugin's "Number of tiles" (default 8).
    normalize, percentile_bottom, percentile_top, clip
        The plugin's normalisation settings (defaults: on, 3.0, 99.8, off).
    block_multiple, overlap : int
        The plugin's tile settings (defaults 32 and 32).
    output : {"mean", "all"}
        For a probabilistic Keras model: only the mean channels (what a ZIP
        exported with ``output="mean"`` returns), or mean and scale.

    Returns
    -------
    float32 array
        The image's spatial shape, plus a trailing channel axis if the network
        returns several channels. On the normalised scale (no de-normalisation),
        as in Fiji.

    Notes
    -----
    The plugin runs each tile on its own (batch size 1); so does this
    function. With a Keras model the result equals TensorFlow Java's on the
    exported ZIP to float32 rounding (about 1e-7 of the output range;
    ``tests/export/test_fiji_parity.py``).
    """
    if output not in ("mean", "all"):
        raise UserInputError(f"output must be 'mean' or 'all', not {output!r}")
    x = np.asarray(image)
    if normalize:
        x = normalize_like_fiji(x, percentile_bottom, percentile_top, clip)
    else:
        x = x.astype(np.float32)
    predict_tiles, n_dim, n_in, n_out = _tile_predictor(model, output)
    channel_axis = x.ndim == n_dim + 1
    if x.ndim not in (n_dim, n_dim + 1) or (channel_axis and x.shape[-1] != n_in) or (not channel_axis and n_in != 1):
        expected = ("(Z, Y, X)" if n_dim == 3 else "(Y, X)") + (f" with {n_in} channels last" if n_in > 1 else "")
        raise UserInputError(f"the model takes {expected} images; got shape {np.shape(image)}")
    tiles, plan = tile_like_fiji(x, n_tiles, block_multiple, overlap, channel_axis=channel_axis)
    result = merge_like_fiji(predict_tiles(tiles), plan)
    if n_out is not None and result.shape[-1] != n_out:
        result = result[..., :n_out]
    return result[..., 0] if result.shape[-1] == 1 else result


def _tile_predictor(model, output: str):
    """(predict(list of tiles) -> list of outputs, n_dim, n_channel_in, n_channel_out or None)."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if path.is_file() and path.suffix.lower() == ".zip":
            return _tfjava_predictor(path)
        from .csbdeep_fiji import load_care_model

        model = load_care_model(path)
    config = getattr(model, "config", None)
    keras_model = getattr(model, "keras_model", model)
    input_shape = tuple(keras_model.inputs[0].shape)
    n_dim, n_in = len(input_shape) - 2, int(input_shape[-1])
    n_out = None
    if config is not None and getattr(config, "probabilistic", False) and output == "mean":
        n_out = int(config.n_channel_out)

    def predict(tiles):
        # One tile at a time, batch 1, as the plugin does.
        return [np.asarray(keras_model(t, training=False), dtype=np.float32) for t in tiles]

    return predict, n_dim, n_in, n_out


def _tfjava_predictor(model_zip: Path):
    import json
    import zipfile

    from .tfjava import run_in_tfjava

    with zipfile.ZipFile(model_zip) as zf:
        try:
            meta = json.loads(zf.read("meta.json"))
            axes = meta["axes"]
            n_dim, n_in = len([a for a in axes if a in "ZYX"]), int(meta.get("n_channel_in", 1))
        except KeyError:
            raise UserInputError(f"{model_zip} has no lumicare/csbdeep meta.json (axes); predict with the model "
                             "folder instead, or export the ZIP with lumicare_ij.export.") from None

    def predict(tiles):
        return run_in_tfjava(model_zip, list(tiles), check_divisible=False)

    return predict, n_dim, n_in, None


# --------------------------------------------------------------------------
# The plugin's path rebuilt in Java (ImgLib2 views + TensorFlow Java), for checking
# --------------------------------------------------------------------------

#: The ImgLib2 of CSBDeep_fiji 0.6 (pom-scijava 29.2.1), from Maven Central.
IMGLIB2_ARTIFACT = "net.imglib2:imglib2:5.10.0"
FIJI_PIPELINE_SOURCE = Path(__file__).parent / "java" / "FijiPipeline.java"


def predict_like_fiji_in_java(model_zip, image, n_tiles: int = N_TILES, *, normalize: bool = True,
                              percentile_bottom: float = PERCENTILE_BOTTOM,
                              percentile_top: float = PERCENTILE_TOP, clip: bool = False,
                              block_multiple: int = BLOCK_MULTIPLE, overlap: int = OVERLAP,
                              tile_dir=None, timeout_s: float = 600) -> tuple[np.ndarray, dict]:
    """The plugin's normalisation, tiling and stitching rebuilt in Java, run in TensorFlow Java 1.15.

    An independent check of :func:`predict_like_fiji`: ``java/FijiPipeline.java``
    normalises with Java float arithmetic, builds the tiles with the ImgLib2
    5.10 views the plugin uses (``Views.extendMirrorDouble``/``interval``/
    ``zeroMin``), runs each tile (batch 1) in TensorFlow Java 1.15 and stitches
    the outputs with ImgLib2, in a separate ``java`` process.

    Parameters
    ----------
    model_zip : str or Path
        An exported CSBDeep-Fiji ZIP (or its unpacked folder).
    image : array, ([Z,] Y, X) or ([Z,] Y, X, C)
        Raw image; a trailing axis is channels only if the model has several.
    tile_dir : str or Path, optional
        Also write ``normalized.npy`` and each network input ``tile<i>.npy`` there.

    Returns
    -------
    output : float32 array
        As :func:`predict_like_fiji` returns it.
    tiling : dict
        ``grid``, ``tile`` and ``padding`` per spatial axis in NumPy order, as
        the Java side computed them.
    """
    import tempfile

    from . import tfjava

    x = np.asarray(image, dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="lumicare-fiji-") as tmp:
        tmp = Path(tmp)
        model_dir = tfjava.saved_model_folder(Path(model_zip), tmp / "model")
        if x.ndim == _n_dim(model_dir):        # no channel axis: one channel
            x = x[..., np.newaxis]
        np.save(tmp / "in.npy", np.ascontiguousarray(x, dtype="<f4"))
        jars = list(tfjava.tfjava_jars()) + [resolve_artifact(IMGLIB2_ARTIFACT, error=TFJavaError)]
        class_dir = compile_java(read_sources(tfjava.JAVA_SOURCE, FIJI_PIPELINE_SOURCE), jars, "FijiPipeline",
                                 error=TFJavaError)
        args = [str(model_dir), str(tmp / "in.npy"), str(tmp / "out.npy"), str(int(n_tiles)),
                str(int(block_multiple)), str(int(overlap)), repr(float(percentile_bottom)),
                repr(float(percentile_top)), str(bool(clip)).lower(), str(bool(normalize)).lower()]
        if tile_dir is not None:
            args.append(str(Path(tile_dir).resolve()))
        stdout = run_java_class(class_dir, jars, "FijiPipeline", args, timeout_s,
                                what="The Java Fiji pipeline", error=TFJavaError)
        result = np.load(tmp / "out.npy", allow_pickle=False)
    tiling = {}
    for line in stdout.splitlines():
        key, _, values = line.partition("\t")
        if key in ("grid", "tile", "padding"):
            tiling[key] = tuple(int(v) for v in values.split(","))[::-1]   # ImageJ X, Y, Z -> NumPy order
    return (result[..., 0] if result.shape[-1] == 1 else result), tiling


def _n_dim(model_dir: Path) -> int:
    import json

    meta = model_dir / "meta.json"
    if meta.is_file():
        return len([a for a in json.loads(meta.read_text())["axes"] if a in "ZYX"])
    return 3


# --------------------------------------------------------------------------
# How far apart are csbdeep's and Fiji's numbers?
# --------------------------------------------------------------------------

def compare_with_csbdeep(model, image, model_zip=None, n_tiles: int = N_TILES,
                         csbdeep_percentiles=(2.0, 99.8), csbdeep_tiles=None) -> dict:
    """Measure how csbdeep's default prediction and the Fiji plugin's differ on one image.

    Parameters
    ----------
    model : csbdeep CARE or str/Path
        The model (or its folder).
    image : array, ([Z,] Y, X)
        A raw image.
    model_zip : str or Path, optional
        The model exported with :func:`export_csbdeep_fiji`; if given, Fiji's
        numbers come from :func:`predict_like_fiji_in_java` (TensorFlow Java 1.15),
        else from :func:`predict_like_fiji` with Keras.
    n_tiles : int
        The plugin's number of tiles.
    csbdeep_percentiles : (float, float)
        csbdeep's normalisation (its default 2 / 99.8, as ``lumicare_ij.care.predict``).
    csbdeep_tiles : tuple of int, optional
        csbdeep's ``n_tiles`` (per axis).

    Returns
    -------
    dict
        ``csbdeep_range`` and ``fiji_range`` (min, max of each output);
        ``fiji_vs_csbdeep``: max |difference| / csbdeep's output range, as they come;
        ``fiji_rescaled_vs_csbdeep``: the same after mapping Fiji's output back to
        counts with Fiji's own percentiles (``y * (p99.8 - p3) + p3``; max and mean);
        ``fiji_normalisation_untiled_vs_fiji``: csbdeep's prediction (one piece,
        no de-normalisation) of the Fiji-normalised image vs Fiji's (tiling only);
        ``python_like_fiji_vs_fiji``: :func:`predict_like_fiji` (Keras) vs Fiji's numbers.
        Differences are relative to the range of the output they are compared with.
    """
    from csbdeep.data import NoNormalizer, PercentileNormalizer

    from .csbdeep_fiji import load_care_model

    care = load_care_model(model) if isinstance(model, (str, os.PathLike)) else model
    x = np.asarray(image)
    axes = "ZYX"[-x.ndim:]
    pmin, pmax = csbdeep_percentiles
    default = care.predict(x, axes, normalizer=PercentileNormalizer(pmin, pmax, do_after=True),
                           n_tiles=csbdeep_tiles).astype(np.float32)
    python_like_fiji = predict_like_fiji(care, x, n_tiles)
    if model_zip is not None:
        fiji, _ = predict_like_fiji_in_java(model_zip, x, n_tiles)
    else:
        fiji = python_like_fiji
    lo, hi = fiji_percentiles(x)
    rescaled = fiji * (hi - lo) + lo
    untiled = care.predict(normalize_like_fiji(x), axes, normalizer=NoNormalizer()).astype(np.float32)
    if untiled.ndim > x.ndim:                     # probabilistic: csbdeep returns the mean already
        untiled = untiled[..., 0]

    def rel(a, b):
        return float(np.max(np.abs(a - b)) / np.ptp(b))

    return {
        "csbdeep_range": (float(default.min()), float(default.max())),
        "fiji_range": (float(fiji.min()), float(fiji.max())),
        "fiji_percentiles": (float(lo), float(hi)),
        "csbdeep_percentiles_values": tuple(float(v) for v in np.percentile(x, csbdeep_percentiles)),
        "fiji_vs_csbdeep": rel(fiji, default),
        "fiji_rescaled_vs_csbdeep": (rel(rescaled, default),
                                     float(np.mean(np.abs(rescaled - default)) / np.ptp(default))),
        "fiji_normalisation_untiled_vs_fiji": rel(untiled, fiji),
        "python_like_fiji_vs_fiji": rel(python_like_fiji, fiji),
    }
