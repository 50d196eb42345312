"""Restore volumes larger than memory: blocks with a halo, on the grid an untiled prediction sees.

:func:`restore_volume` gives the restoration of a whole (Z, Y, X) volume as
a lazy Dask array, computed block by block (by Dask's local scheduler, or
by the workers of a distributed client) and equal to csbdeep's untiled
prediction of the same volume within rounding:

- **Normalisation over the whole volume, exactly**: the 2nd and 99.8th
  percentiles of all voxels (:mod:`lumicare_ij.percentiles`, equal to
  ``np.percentile``), then csbdeep's own ``normalize_mi_ma`` per block and
  its own mapping back.
- **The same pooling grid**: csbdeep pads a volume whose size is not a
  multiple of 2^depth by reflection, half before and half after. The volume
  is padded the same way here, then cut into blocks whose origins and
  halos are multiples of 2^depth, so every block's max-pooling windows fall
  where they fall in the untiled prediction.
- **A halo of at least the U-Net's receptive field** (csbdeep's
  ``tile_overlap`` for its depth and kernel, rounded up to 2^depth) around
  each block, cut off after prediction: a block's interior never sees that
  it was cut out. Axes short enough to be a single block get no halo.

Memory per task is bounded by one block with its halo and the network's
activations on it, never by the volume.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np

from . import cluster
from .care import PREDICT_PERCENTILES, check_model_folder, load_model
from .errors import UserInputError
from .io import StackError
from .percentiles import exact_percentiles
from .precision import resolve as resolve_precision

#: Largest block (Z, Y, X) before the halo; :func:`block_for_memory` shrinks it to fit a worker.
BLOCK_ZYX = (64, 256, 256)
#: Resident bytes one prediction needs per voxel of its block (halo included) and per first-level filter
#: of the U-Net, and a TensorFlow process's own footprint. Measured with the quick preset (16 filters):
#: 391-431 B per voxel above 0.66 GiB at 16x304x304 and 16x560x560 (benchmarks/block_memory.py); rounded up.
BYTES_PER_VOXEL_PER_FILTER = 28
PROCESS_BYTES = 0.75 * 2 ** 30
#: Share of a worker's memory limit one block may use (Dask pauses a worker at 80 %, kills it at 95 %).
MEMORY_SHARE = 0.5


def iter_blocks(data):
    """A callable giving the blocks of a Dask or NumPy array as NumPy arrays, one fresh pass per call."""
    import dask.array as da

    data = data if isinstance(data, da.Array) else da.from_array(data, chunks=(1, *data.shape[1:]))

    def blocks():
        for index in np.ndindex(*data.numblocks):
            yield np.asarray(data.blocks[index].compute())

    return blocks


def volume_percentiles(data, percents=PREDICT_PERCENTILES) -> list:
    """``np.percentile(data, percents)`` of a whole volume, exactly, reading it block by block."""
    blocks = iter_blocks(data)  # a callable: one pass over the blocks per call
    return exact_percentiles(lambda: _finite(blocks()), percents, dtype=data.dtype, n_values=int(np.prod(data.shape)))


def _finite(blocks):
    """The blocks, refusing the volume at the first NaN or infinite voxel (it would spread NaN in the output)."""
    for block in blocks:
        if block.dtype.kind == "f" and not np.isfinite(block).all():
            raise StackError("the volume holds NaN or infinite voxels; CARE needs numbers everywhere (they would "
                             "spread NaN through the restoration). Replace them and write the volume again.")
        yield block


def halo_and_grid(config: dict) -> tuple[int, int]:
    """(halo in voxels, 2^depth) of a CARE config: the receptive field rounded up to the pooling grid."""
    from csbdeep.internals.predict import tile_overlap

    div = 2 ** int(config["unet_n_depth"])
    halo = tile_overlap(int(config["unet_n_depth"]), int(config["unet_kern_size"]))
    return int(math.ceil(halo / div) * div), div


def block_for_memory(config: dict, memory_bytes: float, shape_zyx) -> tuple[int, int, int]:
    """The largest block (at most :data:`BLOCK_ZYX`) whose prediction fits in a worker of ``memory_bytes``.

    The prediction of a block with its halo needs about
    ``BYTES_PER_VOXEL_PER_FILTER * unet_n_first`` bytes per voxel on top of
    :data:`PROCESS_BYTES`; the block may use :data:`MEMORY_SHARE` of the
    worker's memory. Of the depths 64, 32 and 16 (or the volume's own, if
    thinner) the one giving the most voxels per block wins; Y and X shrink
    together on the 2^depth grid.

    Raises
    ------
    UserInputError
        Not even the smallest block fits: the message says how much memory a worker needs.
    """
    halo, div = halo_and_grid(config)
    per_voxel = BYTES_PER_VOXEL_PER_FILTER * int(config["unet_n_first"])
    budget_voxels = (MEMORY_SHARE * memory_bytes - PROCESS_BYTES) / per_voxel
    smallest = max(div, halo)
    best, needed = None, math.inf
    for z in {min(depth, int(math.ceil(shape_zyx[0] / div) * div)) for depth in (BLOCK_ZYX[0], 32, 16)}:
        z_with_halo = z + (2 * halo if shape_zyx[0] > z else 0)  # a thinner block than the volume has a Z halo
        side = int((math.sqrt(max(budget_voxels, 0) / z_with_halo) - 2 * halo) // div * div)
        side = min(side, BLOCK_ZYX[1])
        needed = min(needed, (PROCESS_BYTES + per_voxel * z_with_halo * (smallest + 2 * halo) ** 2) / MEMORY_SHARE)
        if side >= smallest and (best is None or z * side ** 2 > best[0] * best[1] ** 2):
            best = (z, side)
    if best is None:
        raise UserInputError(f"a worker memory limit of {memory_bytes / 2 ** 30:.1f} GiB is too small for this "
                             f"network's blocks; give each worker at least {needed / 2 ** 30:.1f} GiB "
                             "(--memory-limit).")
    return best[0], best[1], best[1]


def restore_volume(model_dir, data, *, block_zyx=BLOCK_ZYX, normalization=PREDICT_PERCENTILES,
                   precision: str = "float32"):
    """The restoration of a (Z, Y, X) volume, as a lazy float32 Dask array of its shape.

    Parameters
    ----------
    model_dir : str or Path
        A CARE model folder.
    data : dask.array.Array or array-like
        The volume (a Dask array from :func:`lumicare_ij.omezarr.open_volume`,
        a Zarr array, a NumPy memory map, ...).
    block_zyx : (int, int, int)
        Block size before the halo, rounded up to a multiple of 2^depth.
    normalization : (pmin, pmax)
        Percentiles of the whole volume mapped to 0 and 1, and back after.
    precision : str
        Arithmetic of the network in the workers (:mod:`lumicare_ij.precision`).

    Returns
    -------
    dask.array.Array
        Compute it, or store it (``lumicare_ij.omezarr.write_volume``); on a
        distributed client every block is one task on a worker that keeps the
        model loaded.
    """
    import dask.array as da

    model_dir = Path(model_dir)
    config = check_model_folder(model_dir)
    if config.get("n_dim") != 3:
        raise UserInputError(f"{model_dir} restores 2D images; block-wise restoration is for 3D volumes.")
    data = data if isinstance(data, da.Array) else da.from_array(data, chunks=(1, *data.shape[1:]))
    if data.ndim != 3:
        raise UserInputError(f"a volume is Z, Y, X; got shape {data.shape}.")
    resolve_precision(precision)
    mi, ma = volume_percentiles(data, normalization)
    halo, div = halo_and_grid(config)
    pad = [_split((div - s % div) % div) for s in data.shape]  # as csbdeep's PadAndCropResizer
    padded = da.pad(data, pad, mode="reflect") if any(sum(p) for p in pad) else data
    chunks = tuple(_axis_chunks(s, b, halo, div) for s, b in zip(padded.shape, block_zyx))
    depth = {axis: (0 if len(chunks[axis]) == 1 else halo) for axis in range(3)}
    padded = padded.rechunk(chunks)
    restored = padded.map_overlap(partial(_restore_block, str(model_dir), precision, float(mi), float(ma)),
                                  depth=depth, boundary="none", trim=True, dtype=np.float32)
    crop = tuple(slice(before, before + s) for (before, _), s in zip(pad, data.shape))
    return restored[crop]


def _axis_chunks(size: int, block: int, halo: int, div: int) -> tuple[int, ...]:
    """Block sizes along one (padded) axis: multiples of ``div``, none smaller than the halo."""
    block = max(div, halo, int(math.ceil(block / div) * div))
    if size <= block:
        return (size,)
    sizes = [block] * (size // block)
    rest = size - sum(sizes)
    if rest >= halo:
        sizes.append(rest)
    elif rest:
        sizes[-1] += rest  # too thin to carry a halo: the last block takes it
    return tuple(sizes)


def _split(total: int) -> tuple[int, int]:
    return total // 2, total - total // 2


def _restore_block(model_dir: str, precision: str, mi: float, ma: float, block: np.ndarray) -> np.ndarray:
    """One task: csbdeep's prediction of one block with its halo, normalised by the volume's percentiles."""
    model = cluster.worker_cache(("volume", model_dir, precision),
                                 lambda: load_model(model_dir, resolve_precision(precision)["used"]))
    with cluster.one_at_a_time():
        return model.predict(block, "ZYX", normalizer=_FixedPercentiles(mi, ma)).astype(np.float32, copy=False)


def _fixed_normalizer_class():
    from csbdeep.data import PercentileNormalizer

    class FixedPercentiles(PercentileNormalizer):
        """csbdeep's PercentileNormalizer with the percentiles' values given (of the whole volume)."""

        def __init__(self, mi: float, ma: float):
            super().__init__(do_after=True)
            self.fixed = (mi, ma)

        def before(self, x, axes):
            from csbdeep.data import normalize_mi_ma

            self.axes_before = axes
            self.mi = np.full((1,) * x.ndim, self.fixed[0]).astype(self.dtype, copy=False)
            self.ma = np.full((1,) * x.ndim, self.fixed[1]).astype(self.dtype, copy=False)
            return normalize_mi_ma(x, self.mi, self.ma, dtype=self.dtype, **self.kwargs)

    return FixedPercentiles


def _FixedPercentiles(mi: float, ma: float):  # noqa: N802  (a class, built on first use: csbdeep loads TF)
    return _fixed_normalizer_class()(mi, ma)


__all__ = ["BLOCK_ZYX", "restore_volume", "volume_percentiles", "halo_and_grid", "iter_blocks"]
