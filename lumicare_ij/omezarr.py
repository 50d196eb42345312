"""OME-Zarr volumes in and out, through ``ome-zarr`` and ``zarr`` (NGFF 0.5; 0.4 is read too).

A volume on disk is a folder (``name.ome.zarr``) holding a multiscale image:
level 0 at full resolution, optional downsampled levels for viewers
(napari, Fiji's MoBIE/BigDataViewer), the physical scale of each axis in
micrometres, and this package's records (acquisition metadata, how a
restoration was made) in the group attributes under ``"lumicare"``. Pixels
stay on disk: :func:`open_volume` returns a lazy Dask array, read block by
block by whatever computes on it.

Writes are atomic like every other write of this package: the volume is
written into a hidden folder next to the target and renamed into place when
complete, so an interrupted run leaves no half-written volume under the
final name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .atomic import atomic_write_folder
from .errors import InputNotFoundError, OutputExistsError, UserInputError

#: Where this package's records live in a volume's group attributes.
ATTRS_KEY = "lumicare"
SUFFIXES = (".zarr",)


def _require():
    try:
        import ome_zarr.writer  # noqa: F401
        import zarr  # noqa: F401
    except ImportError:
        raise UserInputError("OME-Zarr needs the ome-zarr and zarr packages: pip install "
                             "\"lumicare-ij[cluster]\"") from None


def is_ome_zarr(path) -> bool:
    """Whether ``path`` is a folder holding an OME-Zarr image (NGFF 0.4 ``.zattrs`` or 0.5 ``zarr.json``)."""
    path = Path(path)
    return path.is_dir() and ((path / "zarr.json").is_file() or (path / ".zattrs").is_file())


def open_volume(path):
    """Level 0 of an OME-Zarr image, lazily, with its calibration and records.

    Returns
    -------
    data : dask.array.Array
        (Z, Y, X), chunked as stored.
    attrs : dict
        ``pixel_size_um``, ``z_step_um`` (None when the axes carry no
        micrometre scale), ``metadata`` (this package's records; {} for
        volumes written elsewhere), ``source``, ``format`` ("ome-zarr").
    """
    _require()
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    path = Path(path)
    if not is_ome_zarr(path):
        raise InputNotFoundError(f"{path}: not an OME-Zarr image (no zarr.json or .zattrs in this folder).")
    location = parse_url(str(path), mode="r")
    nodes = list(Reader(location)()) if location is not None else []
    images = [n for n in nodes if n.data and "axes" in n.metadata]
    if not images:
        raise UserInputError(f"{path}: holds no OME-Zarr multiscale image; write one with ome-zarr or "
                             "'lumicare predict --format ome-zarr'.")
    node = images[0]
    axes = [a["name"] if isinstance(a, dict) else a for a in node.metadata["axes"]]
    data = node.data[0]
    squeeze = tuple(i for i, a in enumerate(axes) if a in ("t", "c") and data.shape[i] == 1)
    if squeeze:
        data = data.squeeze(axis=squeeze)
        axes = [a for i, a in enumerate(axes) if i not in squeeze]
    if axes != ["z", "y", "x"]:
        raise UserInputError(f"{path}: has axes {''.join(axes)}; this package restores single-channel ZYX "
                             "volumes (split channels and time points into separate images).")
    scale = _level0_scale(node.metadata, axes)
    return data, {"pixel_size_um": scale.get("x"), "z_step_um": scale.get("z"),
                  "metadata": dict(_group_attrs(path).get(ATTRS_KEY) or {}), "source": str(path),
                  "format": "ome-zarr"}


def _level0_scale(metadata: dict, axes: list[str]) -> dict:
    units = {a["name"]: a.get("unit") for a in metadata["axes"] if isinstance(a, dict)}
    transforms = (metadata.get("coordinateTransformations") or [[]])[0]
    scale = next((t["scale"] for t in transforms if t.get("type") == "scale"), None)
    if scale is None:
        return {}
    return {a: float(s) for a, s in zip(axes, scale[-len(axes):])
            if units.get(a) in ("micrometer", "micron", "um", "µm")}


def _group_attrs(path: Path) -> dict:
    import zarr

    return dict(zarr.open_group(str(path), mode="r").attrs)


def read_records(path) -> dict:
    """This package's records of a volume (``{}`` when it has none), without touching the pixels."""
    return dict(_group_attrs(Path(path)).get(ATTRS_KEY) or {})


def write_volume(path, data, *, pixel_size_um: float | None = None, z_step_um: float | None = None,
                 metadata: dict | None = None, chunks=None, pyramid_levels: int = 0,
                 overwrite: bool = False, progress: bool = False) -> Path:
    """Write a (Z, Y, X) NumPy or Dask array as an OME-Zarr image, atomically.

    Parameters
    ----------
    path : str or Path
        The volume folder to create (``name.ome.zarr``).
    data : ndarray or dask.array.Array
        Written block by block when a Dask array (computed on the active
        Dask client, if any): memory stays bounded by the blocks.
    pixel_size_um, z_step_um : float, optional
        Physical scale (micrometres); 1 when unknown, as NGFF requires one.
    metadata : dict, optional
        Stored in the group attributes under ``"lumicare"``.
    chunks : tuple, optional
        Chunk shape on disk [the Dask array's chunks, or 16x256x256].
    pyramid_levels : int
        Downsampled levels (2x in Y and X each) for viewers [0: full resolution only].
    overwrite : bool
        Replace an existing volume.
    progress : bool
        Show the blocks' progress (distributed's own bar on a distributed
        client, whose tasks run in other processes).
    """
    _require()
    import dask.array as da
    import zarr
    from ome_zarr.writer import write_image

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} already exists; choose another name or pass overwrite=True (--force).")
    if data.ndim != 3:
        raise UserInputError(f"an OME-Zarr volume here is Z, Y, X; got {data.ndim} dimensions.")
    if chunks is None:
        chunks = data.chunksize if isinstance(data, da.Array) else tuple(min(s, c) for s, c in
                                                                         zip(data.shape, (16, 256, 256)))
    scale = {"z": float(z_step_um or 1.0), "y": float(pixel_size_um or 1.0), "x": float(pixel_size_um or 1.0)}
    units = {a: "micrometer" for a, known in (("z", z_step_um), ("y", pixel_size_um), ("x", pixel_size_um))
             if known}
    def write(tmp):
        from .cluster import compute

        writes = write_image(data, tmp, scale_factors=[2 ** (i + 1) for i in range(pyramid_levels)], axes="zyx",
                             scale=scale, axes_units=units or None, storage_options={"chunks": tuple(chunks)},
                             compute=False)
        compute(list(writes or []), progress=progress)
        zarr.open_group(tmp, mode="a").attrs[ATTRS_KEY] = metadata or {}

    atomic_write_folder(path, write, overwrite=overwrite)
    return path


def tree_sha256(path) -> str:
    """SHA-256 over every file of a folder (relative names and contents), in name order."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


__all__ = ["ATTRS_KEY", "is_ome_zarr", "open_volume", "read_records", "write_volume", "tree_sha256"]
