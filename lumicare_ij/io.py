"""Stacks on disk: ImageJ hyperstack TIFFs (and OME-TIFF) <-> xarray / NumPy.

Files are read and written only here (and in the CLI and export). A stack in
Python is an :class:`xarray.DataArray` with dims ``("z", "y", "x")`` (or
``("y", "x")``, or ``("c", "z", "y", "x")`` for several channels), coordinates
in micrometres, and ``attrs`` holding the calibration and the acquisition
metadata. Plain NumPy arrays are accepted wherever a stack is.

On disk the metadata go where Fiji shows them: calibration in the TIFF
resolution tags and ImageJ's ``spacing``/``unit``; acquisition metadata both
as ImageJ *Properties* (``Image > Show Info``, ``getMetadata`` /
``Property.get`` in macros) and as readable ``key = value`` lines in *Info*.
Property values are strings; numbers, lists and booleans are written as JSON
and parsed back, so ``exposure_s=0.5`` returns as the float 0.5.
"""

from __future__ import annotations

import contextlib
import json
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile
import xarray as xr

from .atomic import atomic_write, atomic_write_text  # noqa: F401  (atomic_write_text: also reached as io.atomic_write_text)
from .errors import InputNotFoundError, UserInputError
from .hardware import physical_memory_bytes

#: Dtypes ImageJ stores natively; others are converted on write (see write_stack).
IMAGEJ_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))

#: File name endings of the stacks this package reads and writes (compared in lower case).
TIFF_SUFFIXES = (".tif", ".tiff")

#: Metadata keys this package records for every acquisition (others are kept too).
ACQUISITION_KEYS = ("modality", "exposure_s", "binning", "em_gain", "objective",
                    "specimen", "seed", "channel", "condition")


class StackError(UserInputError):
    """A file that is not a stack this package can use, with what to do about it."""


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def write_stack(path, data, *, pixel_size_um: float | None = None, z_step_um: float | None = None,
                unit: str = "micron", metadata: dict | None = None, overwrite: bool = False) -> Path:
    """Write a stack as an ImageJ hyperstack TIFF, atomically.

    Parameters
    ----------
    path : str or Path
        Destination ``.tif``; parent folders are created.
    data : ndarray or xarray.DataArray
        ``(Y, X)``, ``(Z, Y, X)`` or ``(C, Z, Y, X)``. A DataArray's dims name the
        axes and its ``attrs`` supply calibration and metadata not given here.
        uint8, uint16 and float32 are written as is; bool becomes uint8 0/255,
        other integer types uint16 when their values fit, everything else float32.
    pixel_size_um, z_step_um : float, optional
        Calibration in micrometres per pixel and per slice.
    unit : str
        Calibration unit as ImageJ writes it ("micron").
    metadata : dict, optional
        Acquisition metadata (see :data:`ACQUISITION_KEYS`); values must be
        JSON-serialisable.
    overwrite : bool
        Refuse to replace an existing file unless True.

    Returns
    -------
    Path of the written file.

    Notes
    -----
    The TIFF is written to a temporary file in the same folder and renamed
    into place, so an interrupted write never leaves a partial file under the
    final name.
    """
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise StackError(f"{path}: stacks are written as ImageJ TIFF; give a name ending in .tif")
    array, dims, attrs = _split(data)
    meta = {**attrs.get("metadata", {}), **(metadata or {})}
    pixel_size_um = pixel_size_um if pixel_size_um is not None else attrs.get("pixel_size_um")
    z_step_um = z_step_um if z_step_um is not None else attrs.get("z_step_um")
    array = _imagej_dtype(array, path)
    array, axes = _imagej_axes(array, dims, path)

    ij_meta = {"axes": axes, "unit": unit}
    if z_step_um is not None:
        ij_meta["spacing"] = float(z_step_um)
    props = {k: _encode(v) for k, v in meta.items()}
    if pixel_size_um is not None:
        props["pixel_size_um"] = _encode(float(pixel_size_um))
    if z_step_um is not None:
        props["z_step_um"] = _encode(float(z_step_um))
    if props:
        ij_meta["Properties"] = props
        ij_meta["Info"] = "\n".join(f"{k} = {v}" for k, v in props.items())
    kwargs = {}
    if pixel_size_um is not None:
        kwargs["resolution"] = (1.0 / float(pixel_size_um), 1.0 / float(pixel_size_um))
        kwargs["resolutionunit"] = "NONE"  # ImageJ's convention with a unit in the description

    atomic_write(path, lambda tmp: tifffile.imwrite(tmp, array, imagej=True, metadata=ij_meta, **kwargs),
                 overwrite=overwrite)
    return path


def _split(data):
    if isinstance(data, xr.DataArray):
        return np.asarray(data.values), tuple(str(d) for d in data.dims), dict(data.attrs)
    array = np.asarray(data)
    default_dims = {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("c", "z", "y", "x")}
    if array.ndim not in default_dims:
        raise StackError(f"expected a 2D (Y, X), 3D (Z, Y, X) or 4D (C, Z, Y, X) array; got shape {array.shape}")
    return array, default_dims[array.ndim], {}


def _imagej_dtype(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype in IMAGEJ_DTYPES:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype.kind in "iu" and array.size and array.min() >= 0 and array.max() <= 65535:
        return array.astype(np.uint16)
    if array.dtype.kind in "iuf":
        return array.astype(np.float32)
    raise StackError(f"{path}: cannot store dtype {array.dtype} in an ImageJ TIFF (8/16/32-bit grey only)")


def _imagej_axes(array: np.ndarray, dims: tuple[str, ...], path: Path):
    dims = tuple(d.lower() for d in dims)
    if set(dims) - {"c", "z", "y", "x"} or dims[-2:] != ("y", "x"):
        raise StackError(f"{path}: dims must be some of (c, z, y, x) ending in (y, x); got {dims}")
    order = [d for d in ("z", "c", "y", "x") if d in dims]  # ImageJ stores Z outside C
    array = np.transpose(array, [dims.index(d) for d in order])
    return array, "".join(order).upper()


def _encode(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _decode(text: str):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def read_stack(path) -> xr.DataArray:
    """Read an ImageJ/Fiji TIFF, OME-TIFF or plain TIFF as a DataArray.

    Returns
    -------
    xarray.DataArray
        dims ``("y", "x")``, ``("z", "y", "x")`` or ``("c", "z", "y", "x")``;
        coords ``z``, ``y``, ``x`` in micrometres where calibrated, else in pixels;
        ``attrs``: ``pixel_size_um``, ``z_step_um`` (None when uncalibrated),
        ``unit``, ``metadata`` (dict), ``source`` (the file), ``format``.

    Raises
    ------
    StackError
        Not a TIFF, truncated, RGB, or axes this package cannot use (time
        series, more than one series). The message names the file.
    InputNotFoundError
        No such file.
    """
    path = Path(path)
    with open_stack(path) as (tif, series):
        array = _read_pixels(series, path)
        fmt, pixel_um, z_um, unit, meta = _read_calibration(tif, series)
    array, dims = _named_dims(array, series.axes, path)
    return _to_dataarray(array, dims, pixel_um, z_um, unit, meta, path, fmt)


def read_array(path) -> np.ndarray:
    """The pixels of :func:`read_stack` as a plain NumPy array."""
    return read_stack(path).values


def list_stacks(folder) -> list[Path]:
    """The ``.tif``/``.tiff`` files in a folder (any case; hidden files skipped), sorted by name.

    A folder that does not exist holds no stacks (an empty list).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in TIFF_SUFFIXES and p.is_file() and not p.name.startswith("."))


def stack_shape(path) -> tuple[int, ...]:
    """The shape :func:`read_stack` would return, from the header alone (no pixels are read).

    The file gets the same checks as :func:`read_stack` (complete, not RGB,
    usable axes), so a cut copy is reported as truncated here too.
    """
    path = Path(path)
    with open_stack(path) as (_, series):
        shape = tuple(series.shape)
    placeholder = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape, [0] * len(shape))
    return _named_dims(placeholder, series.axes, path)[0].shape


def open_planes(folder):
    """A folder of 2D TIFF planes (one file per plane, in name order) as one lazy (Z, Y, X) Dask volume.

    Returns ``(data, attrs)`` like :func:`lumicare_ij.omezarr.open_volume`:
    every plane is read when a block needs it, and checked as
    :func:`read_stack` checks a file; the calibration is the first plane's
    (its ``z_step_um`` metadata, if any, gives the spacing).
    """
    import dask
    import dask.array as da

    folder = Path(folder)
    files = list_stacks(folder)
    if not files:
        raise InputNotFoundError(f"{folder}: no .tif planes in this folder.")
    first = read_stack(files[0])
    if first.ndim != 2:
        raise StackError(f"{files[0]}: has dims {first.dims}; a folder of planes holds one 2D image per file "
                         "(drop --planes to restore each file as a stack).")
    planes = [da.from_delayed(dask.delayed(_read_plane)(str(f), first.shape), first.shape, first.dtype)
              for f in files]
    attrs = {"pixel_size_um": first.attrs.get("pixel_size_um"),
             "z_step_um": (first.attrs.get("metadata") or {}).get("z_step_um") or first.attrs.get("z_step_um"),
             "metadata": dict(first.attrs.get("metadata") or {}), "source": str(folder), "format": "planes"}
    return da.stack(planes), attrs


def _read_plane(path: str, shape: tuple) -> np.ndarray:
    plane = read_array(path)
    if plane.shape != tuple(shape):
        raise StackError(f"{path}: a plane of shape {plane.shape} among planes of shape {tuple(shape)}; "
                         "every file of the folder must be one plane of the same size.")
    return plane


def read_metadata(path) -> dict:
    """The acquisition metadata :func:`read_stack` would return in ``attrs["metadata"]``, without the pixels."""
    path = Path(path)
    with open_stack(path) as (tif, series):
        return _read_calibration(tif, series)[4]


#: What tifffile and its codecs raise on damaged bytes (found by tests/test_fuzz_tiff.py: tag values of the
#: wrong type give TypeError, corrupt deflate data imagecodecs' RuntimeError subclasses, a pixel type it
#: cannot decode trips its own assert, ...).
_DAMAGED_TIFF_ERRORS = (ValueError, OSError, EOFError, IndexError, TypeError, KeyError, AttributeError,
                        RuntimeError, OverflowError, AssertionError, struct.error, zlib.error)


@contextlib.contextmanager
def open_stack(path: Path):
    """Open a TIFF and check it is a complete grey-level stack; yield ``(TiffFile, series)``.

    Every read of a stack in this package goes through here, so every reader
    refuses a damaged, truncated or RGB file with the same message.
    """
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such file")
    try:
        with _quiet_tifffile(), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            _check_complete(tif, series, path)
            _check_grey(series, path)
            yield tif, series
    except tifffile.TiffFileError as err:
        raise StackError(f"{path}: not a readable TIFF ({err}). Save it from Fiji as TIFF "
                         "(File > Save As > Tiff...) and try again.") from None
    except StackError:
        raise
    except _DAMAGED_TIFF_ERRORS as err:
        if not isinstance(err, (ValueError, OSError, EOFError, IndexError)) and not _raised_by_the_reader(err):
            raise  # our own bug, not the file's: keep its traceback
        raise StackError(f"{path}: the TIFF is damaged or truncated ({type(err).__name__}: {err}); copy it "
                         "again or re-save it from Fiji.") from None


def _read_pixels(series, path: Path) -> np.ndarray:
    if not series.size:
        raise StackError(f"{path}: the TIFF declares no pixels (shape {series.shape}); copy it again or "
                         "re-save it from Fiji.")
    if series.nbytes > physical_memory_bytes():
        raise StackError(f"{path}: the TIFF declares {series.nbytes / 1e9:.1f} GB of pixels (shape "
                         f"{series.shape}), more than this machine's memory; save it as OME-Zarr or as a folder "
                         "of 2D planes, which lumicare predict restores block by block.")
    array = series.asarray()
    if array.shape != tuple(series.shape):  # tifffile returns what it could read of a damaged file
        raise StackError(f"{path}: the TIFF is damaged or truncated (its header declares {series.shape}, "
                         f"{array.shape} could be read); copy it again or re-save it from Fiji.")
    return array


def require_finite(array, path) -> None:
    """Refuse a stack with NaN or infinite voxels: CARE's percentile normalisation and network would turn
    the whole restoration into NaN, silently."""
    array = np.asarray(array)
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return
    n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    raise StackError(f"{path}: {n_nan} voxel(s) are NaN and {n_inf} infinite; CARE needs numbers everywhere "
                     "(they would make the whole restoration NaN). In Fiji, Process > Math > Remove NaNs... "
                     "(and Process > Math > Set... for infinite values), then save again.")


def _check_grey(series, path: Path) -> None:
    if "S" in series.axes or series.keyframe.photometric == tifffile.PHOTOMETRIC.RGB:
        raise StackError(f"{path}: this is an RGB image; CARE needs grey-level data. In Fiji use "
                         "Image > Type > 16-bit (or split the channels) and save again.")


def _raised_by_the_reader(err: BaseException) -> bool:
    """Whether tifffile or imagecodecs raised ``err`` (somewhere in its traceback)."""
    tb = err.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name.startswith(("tifffile", "imagecodecs")):
            return True
        tb = tb.tb_next
    return False


@contextlib.contextmanager
def _quiet_tifffile():
    """Silence tifffile's log lines: damaged files get one clear StackError instead."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_complete(tif: tifffile.TiffFile, series, path: Path) -> None:
    """Refuse a file whose pixel data end beyond the end of the file (a cut copy)."""
    size = tif.filehandle.size
    expected_planes = (tif.imagej_metadata or {}).get("images", 1) if tif.is_imagej else 1
    found_planes = int(np.prod(series.shape[:-2])) if len(series.shape) > 2 else 1
    if expected_planes > found_planes:
        raise StackError(f"{path}: the file is truncated or damaged: ImageJ wrote {expected_planes} "
                         f"planes but only {found_planes} can be read; copy it again or re-save it from Fiji.")
    missing = sum(page is None for page in series.pages)
    if missing:  # metadata (OME-XML) that declare more planes than the file holds: tifffile would zero-fill them
        raise StackError(f"{path}: the file is truncated or damaged: its metadata declare {len(series.pages)} "
                         f"planes but {missing} of them are not in the file; copy it again or re-save it from "
                         "Fiji.")
    if series.dataoffset is not None:
        end = series.dataoffset + series.nbytes
    else:
        end = max((o + n for page in series.pages if page is not None
                   for o, n in zip(page.dataoffsets, page.databytecounts)), default=0)
    if end > size:
        raise StackError(f"{path}: the file is truncated ({size} bytes, but its pixels need {end}); "
                         "copy it again or re-save it from Fiji.")


def _named_dims(array: np.ndarray, axes: str, path: Path):
    axes = axes.upper()
    # Drop length-1 axes that carry no information (T=1, singleton Q, ...).
    for ax in [a for a in axes if a not in "CZYX"]:
        i = axes.index(ax)
        if array.shape[i] != 1:
            what = "time points" if ax == "T" else f"axis {ax!r}"
            raise StackError(f"{path}: has {array.shape[i]} {what} (axes {axes}, shape {array.shape}); "
                             "lumicare_ij works on single z-stacks. Split it in Fiji "
                             "(Image > Stacks > Tools > Reduce / Make Substack) first.")
        array = np.take(array, 0, axis=i)
        axes = axes.replace(ax, "")
    if axes.endswith("I") or "I" in axes:
        axes = axes.replace("I", "Z")  # plain multi-page TIFF: pages are slices
    dims = [a.lower() for a in axes]
    if dims[-2:] != ["y", "x"]:
        raise StackError(f"{path}: unexpected axes {axes} (shape {array.shape}); expected ..YX")
    order = [d for d in ("c", "z", "y", "x") if d in dims]
    array = np.transpose(array, [dims.index(d) for d in order])
    if "c" in order and array.shape[0] == 1:
        array, order = array[0], order[1:]
    return array, tuple(order)


def _read_calibration(tif: tifffile.TiffFile, series):
    meta, unit, pixel_um, z_um = {}, "pixel", None, None
    page = series.keyframe
    if tif.is_imagej:
        fmt = "imagej"
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit", "pixel")
        if "spacing" in ij:
            z_um = float(ij["spacing"])
        props = ij.get("Properties") or {}
        meta = {k: _decode(v) for k, v in props.items()}
        if "XResolution" in page.tags:
            num, den = page.tags["XResolution"].value
            if num and den and unit != "pixel":
                pixel_um = den / num
    elif tif.is_ome:
        fmt = "ome"
        pixel_um, z_um, unit = _ome_calibration(tif.ome_metadata)
    else:
        fmt = "tiff"
    # Exact values recorded by this package beat the rational approximation of the tags.
    pixel_um = meta.pop("pixel_size_um", pixel_um)
    z_um = meta.pop("z_step_um", z_um)
    if unit in ("um", "µm", "\\u00B5m", "micrometer"):
        unit = "micron"
    return fmt, pixel_um, z_um, unit, meta


def _ome_calibration(ome_xml: str | None):
    if not ome_xml:
        return None, None, "pixel"
    import xml.etree.ElementTree as ET

    root = ET.fromstring(ome_xml)
    pixels = next((el for el in root.iter() if el.tag.endswith("Pixels")), None)
    if pixels is None:
        return None, None, "pixel"
    to_um = {"µm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3}
    unit = pixels.get("PhysicalSizeXUnit", "µm")
    scale = to_um.get(unit)
    if scale is None:
        return None, None, "pixel"
    px = pixels.get("PhysicalSizeX")
    pz = pixels.get("PhysicalSizeZ")
    return (float(px) * scale if px else None, float(pz) * scale if pz else None,
            "micron" if px else "pixel")


def _to_dataarray(array, dims, pixel_um, z_um, unit, meta, path, fmt) -> xr.DataArray:
    coords = {}
    for d in dims:
        n = array.shape[dims.index(d)]
        if d in ("y", "x"):
            coords[d] = np.arange(n) * (pixel_um if pixel_um else 1.0)
        elif d == "z":
            coords[d] = np.arange(n) * (z_um if z_um else 1.0)
    attrs = {"pixel_size_um": pixel_um, "z_step_um": z_um, "unit": unit, "metadata": meta,
             "source": str(path), "format": fmt}
    return xr.DataArray(array, dims=dims, coords=coords, attrs=attrs, name=path.stem)


def as_dataarray(data, *, pixel_size_um: float | None = None, z_step_um: float | None = None,
                 metadata: dict | None = None) -> xr.DataArray:
    """Wrap a NumPy array (YX, ZYX or CZYX) as a calibrated DataArray like :func:`read_stack`'s."""
    if isinstance(data, xr.DataArray):
        return data
    array, dims, _ = _split(data)
    return _to_dataarray(array, dims, pixel_size_um, z_step_um, "micron" if pixel_size_um else "pixel",
                         dict(metadata or {}), Path("<array>"), "array")


def check_pair(input_path, target_path) -> tuple[xr.DataArray, xr.DataArray]:
    """Read two stacks that must cover the same voxels (an input and its target)."""
    a, b = read_stack(input_path), read_stack(target_path)
    if a.shape != b.shape:
        raise StackError(f"{input_path} has shape {a.shape} but its partner {target_path} has shape "
                         f"{b.shape}; paired stacks must have the same size. Upsample binned "
                         "inputs first (lumicare_ij.ijops.upsample_nearest) or fix the pairing.")
    return a, b
