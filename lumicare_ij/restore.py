"""Restore TIFF stacks with a trained model: plan the outputs, restore each stack, resume by record.

One plan, one per-stack function, two ways to run them: in this process, one
stack after another, or as one Dask task per stack (:mod:`lumicare_ij.cluster`).
Either way every output is written atomically with its provenance record,
and a re-run skips the outputs whose record says they were made from the
same input (its SHA-256), the same model (SHA-256 of ``config.json`` and its
weights) and the same settings; it refuses to replace an output made
differently unless ``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from . import cluster, omezarr
from .atomic import is_storage_failure, remove_stale_parts
from .care import (PREDICT_PERCENTILES, ModelError, _n_tiles, _now, check_model_folder, load_model, predict,
                   read_model_record)
from .shapes import parse_sizes
from .errors import InputNotFoundError, LumicareError, OutputExistsError, SomeInputsFailed, UserInputError
from .tfquiet import import_tensorflow_quietly
from .io import TIFF_SUFFIXES, list_stacks, read_metadata, read_stack, require_finite, write_stack
from .precision import resolve as resolve_precision
from .provenance import file_sha256, package_versions


def restore_files(model_dir, inputs, out_dir, tiles=None, save_scale: bool = False, overwrite: bool = False,
                  progress: bool = True, normalization=PREDICT_PERCENTILES,
                  upsample_factor: int | None = None, precision: str = "float32", *,
                  output_format: str | None = None, planes: bool = False, block_zyx=None,
                  pyramid_levels: int = 0, workers: int | None = None, threads_per_worker: int = 1,
                  scheduler: str | None = None, memory_limit: str | None = "auto") -> list[dict]:
    """Restore TIFF stacks with a trained model and write float32 ImageJ TIFFs.

    Parameters
    ----------
    model_dir : str or Path
        Model folder from :func:`lumicare_ij.care.train` (or any csbdeep CARE folder).
    inputs : str, Path or list of them
        Stacks (.tif), OME-Zarr volumes (folders ``name.ome.zarr``) and/or
        folders of them; with ``planes``, folders of 2D planes.
    out_dir : str or Path
        Where ``<name>.tif`` (the restoration, the mean of a probabilistic
        model) and, with ``save_scale``, ``<name>_scale.tif`` are written.
    tiles : None, "auto" or (z, y, x)
        See :func:`lumicare_ij.care.predict`; the paper tiled 2x2x2.
    save_scale : bool
        Also write the per-pixel scale (uncertainty) of a probabilistic model.
    overwrite : bool
        Replace existing outputs made differently (another model, input or
        settings). Outputs made the same way are skipped either way; inputs
        are never replaced.
    progress : bool
        Progress bar over the stacks (done / all, stacks per second).
    normalization : (pmin, pmax), None or "fiji"
        See :func:`lumicare_ij.care.predict`. ``"fiji"``: reproduce the CSBDeep
        Fiji plugin's defaults (3/99.8 nearest-rank percentiles, clamp below 0,
        no mapping back, its tiling; ``tiles`` is then ignored).
    upsample_factor : int, optional
        For models of the upsample regime: the XY binning of the inputs,
        which are upsampled without interpolation by this factor before
        restoration (and their pixel size divided by it). Default: the
        model's recorded bin factor; pass 1 for inputs already at full size.
    precision : {"float32", "bfloat16", "float16", "auto"}
        Arithmetic of the network (:mod:`lumicare_ij.precision`), resolved
        where the stack is restored; recorded in each output's provenance.
    output_format : {"tiff", "ome-zarr"}, optional
        Format of the outputs [TIFF for TIFF stacks, OME-Zarr for volumes].
    planes : bool
        Each input folder is one volume stored as one 2D TIFF per plane.
    block_zyx : (int, int, int), optional
        Volumes (OME-Zarr, planes) are restored block by block
        (:mod:`lumicare_ij.blocks`) with this block size [:data:`lumicare_ij.blocks.BLOCK_ZYX`].
    pyramid_levels : int
        OME-Zarr outputs: downsampled levels for viewers [0].
    workers : int, optional
        Restore on this many local Dask worker processes (one task per stack).
    threads_per_worker : int
        Threads of each local worker (TensorFlow uses as many) [1].
    scheduler : str, optional
        Address of a running Dask scheduler to restore on instead.
    memory_limit : str, optional
        Memory limit of each local worker ("4GB"; "auto" shares the machine's).

    Returns
    -------
    list of dict
        Per input: ``input``, ``status`` ("done" or "skipped"), ``output``,
        ``scale`` (path or None), ``shape``, ``precision`` (requested, used,
        why), ``seconds``.

    Raises
    ------
    OutputExistsError
        An output exists that was made differently (and ``overwrite`` is
        False); nothing is written.
    UserInputError
        An output would replace an input, or two inputs share a name.
    SomeInputsFailed
        Some stacks could not be restored (damaged, wrong dimensions); all
        others were. Its ``results`` hold every input's entry.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    files = input_files(inputs, planes)
    config = check_model_folder(model_dir)
    if save_scale and not config.get("probabilistic"):
        raise ModelError(f"{model_dir} is not probabilistic; it predicts no scale (uncertainty).")
    settings = _settings(model_dir, tiles, save_scale, normalization, upsample_factor, precision)
    if block_zyx is not None:
        settings["block_zyx"] = list(parse_sizes(block_zyx, "block", n_axes=3, axes="Z,Y,X",
                                                 example="64,256,256"))
    jobs = _plan(files, out_dir, save_scale, output_format, pyramid_levels)
    model_sha256 = model_fingerprint(model_dir)
    record = read_model_record(model_dir) or {}
    for job in jobs:
        job.update(model_dir=str(model_dir), model_sha256=model_sha256, settings=settings,
                   regime=record.get("regime"), preset=(record.get("preset") or {}).get("name"))
    skipped = _resume(jobs, overwrite)
    todo = [job for job in jobs if job["input"] not in skipped]
    stacks = [job for job in todo if job["kind"] == "tiff"]
    volumes = [job for job in todo if job["kind"] != "tiff"]
    try:
        if cluster.wanted(workers, scheduler):
            with cluster.dask_client(workers, threads_per_worker, scheduler, memory_limit) as client:
                done = cluster.run_tasks(client, restore_task, stacks, desc="restoring", progress=progress)
                done += [_attempt(None, job, progress) for job in volumes]  # their blocks run on the workers
        else:
            done = _restore_here(model_dir, stacks, settings, progress)
            done += [_attempt(None, job, progress) for job in volumes]
    finally:
        for job in todo:
            for target in (job["output"], job["scale"]):
                if target:
                    remove_stale_parts(target)  # files and partial OME-Zarr folders alike
    by_input = {r["input"]: r for r in done} | skipped
    results = [by_input[job["input"]] for job in jobs]
    if any(r["status"] == "failed" for r in results):
        raise SomeInputsFailed(results)
    return results


# --------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------

def input_files(inputs, planes: bool = False) -> list[tuple[Path, str]]:
    """``(path, kind)`` of every input: "tiff" stacks, "ome-zarr" volumes, "planes" folders; checked to exist."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found = []
    for item in inputs:
        path = Path(item)
        if omezarr.is_ome_zarr(path):
            found.append((path, "ome-zarr"))
        elif path.is_dir() and planes:
            found.append((path, "planes"))
        elif path.is_dir():
            inside = [(p, "tiff") for p in list_stacks(path)] + \
                     [(p, "ome-zarr") for p in sorted(path.glob("*.zarr")) if omezarr.is_ome_zarr(p)]
            if not inside:
                raise InputNotFoundError(f"{path}: no .tif stacks or OME-Zarr volumes in this folder (a folder "
                                         "of 2D planes forming one volume: add --planes).")
            found.extend(sorted(inside))
        elif path.is_file():
            if path.suffix.lower() not in TIFF_SUFFIXES:
                raise UserInputError(f"{path}: not a .tif stack; give ImageJ TIFF files (.tif), OME-Zarr "
                                     "volumes or folders of them. In Fiji: File > Save As > Tiff...")
            found.append((path, "tiff"))
        else:
            raise InputNotFoundError(f"{path}: no such file or folder.")
    return found


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".ome.zarr", ".zarr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem if path.is_file() else name


def _settings(model_dir: Path, tiles, save_scale: bool, normalization, upsample_factor, precision: str) -> dict:
    """Everything besides input and model that decides an output's pixels, as JSON-able data."""
    record = read_model_record(model_dir) or {}
    if upsample_factor is None:
        upsample_factor = record.get("bin_factor") if record.get("regime") == "upsample" else 1
    upsample_factor = int(upsample_factor or 1)
    if upsample_factor < 1:
        raise UserInputError(f"upsample_factor must be >= 1, got {upsample_factor}")
    if normalization == "fiji":
        if save_scale:
            raise ModelError("the Fiji plugin's mode restores the mean only; drop the scale output "
                             "(--scale) or use the csbdeep normalization.")
        tiles = "fiji"
    elif normalization is not None:
        normalization = [float(normalization[0]), float(normalization[1])]
    resolve_precision(precision)  # a bad name is refused here, before any work
    if tiles not in (None, "auto", "fiji"):
        tiles = list(_n_tiles(tiles, 3))
    return {"tiles": tiles, "save_scale": bool(save_scale), "normalization": normalization,
            "upsample_xy": upsample_factor, "precision": precision}


def _plan(files: list[tuple[Path, str]], out_dir: Path, save_scale: bool, output_format: str | None,
          pyramid_levels: int) -> list[dict]:
    """One job per input: its output names, checked against each other and against the inputs."""
    if output_format not in (None, "tiff", "ome-zarr"):
        raise UserInputError(f"output format {output_format!r}: choose tiff or ome-zarr.")
    jobs, seen = [], {}
    input_set = {f.resolve() for f, _ in files}
    for f, kind in files:
        fmt = output_format or ("tiff" if kind == "tiff" else "ome-zarr")
        if save_scale and (fmt != "tiff" or kind != "tiff"):
            raise UserInputError(f"{f}: the scale (uncertainty) output is written for TIFF stacks into TIFF "
                                 "only; drop --scale for OME-Zarr volumes and outputs.")
        suffix = ".tif" if fmt == "tiff" else ".ome.zarr"
        stem = _stem(f)
        out = out_dir / f"{stem}{suffix}"
        scale = out_dir / f"{stem}_scale.tif" if save_scale else None
        if stem in seen:
            raise UserInputError(f"{f} and {seen[stem]} would both be written to {out}; restore them into "
                                 "different folders.")
        seen[stem] = f
        for target in (out, scale):
            if target is not None and (target.resolve() in input_set or (target.exists() and any(
                    os.path.samefile(target, g) for g, _ in files))):
                raise UserInputError(f"{target} would replace an input stack; choose another output folder.")
        jobs.append({"input": str(f), "kind": kind, "format": fmt, "pyramid_levels": int(pyramid_levels),
                     "output": str(out), "scale": str(scale) if scale else None})
    return jobs


def model_fingerprint(model_dir) -> str:
    """SHA-256 over a model folder's ``config.json`` and weights (``*.h5``), names included."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for path in [model_dir / "config.json", *sorted(model_dir.glob("*.h5"))]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + file_sha256(path).encode())
    return digest.hexdigest()


def identity(job: dict, input_sha256: str) -> dict:
    """What an output was made from: recorded with it, compared on a re-run."""
    return {"input_sha256": input_sha256, "model_sha256": job["model_sha256"], "settings": job["settings"]}


def input_sha256(job: dict) -> str:
    """SHA-256 of an input: of the file for a stack, of every file for a volume folder."""
    return file_sha256(job["input"]) if job["kind"] == "tiff" else omezarr.tree_sha256(job["input"])


def _recorded_identity(path: str | None):
    if path is None or not Path(path).exists():
        return None
    try:
        records = omezarr.read_records(path) if omezarr.is_ome_zarr(path) else read_metadata(path)
        return (records.get("restoration") or {}).get("identity", "unknown")
    except (LumicareError, OSError, ValueError):
        return "unreadable"


def _resume(jobs: list[dict], overwrite: bool) -> dict:
    """Skip the jobs whose outputs all exist with this job's identity; refuse differing outputs.

    Returns ``{input: result}`` of the skipped jobs. Without ``overwrite``, an
    existing output made from anything else stops the run before any write.
    """
    skipped, conflicts = {}, []
    for job in jobs:
        targets = [t for t in (job["output"], job["scale"]) if t]
        recorded = [_recorded_identity(t) for t in targets]
        if all(r is None for r in recorded):
            continue
        wanted = identity(job, input_sha256(job))
        if all(r == wanted for r in recorded):
            skipped[job["input"]] = {"input": job["input"], "status": "skipped", "output": job["output"],
                                     "scale": job["scale"], "seconds": 0.0}
        elif not overwrite:
            conflicts += [t for t, r in zip(targets, recorded) if r is not None and r != wanted]
        job["overwrite"] = True  # outputs made the same way (or with overwrite) may be replaced
    if conflicts:
        raise OutputExistsError(f"{len(conflicts)} output(s) already exist, made from another input, model or "
                                f"settings ({', '.join(conflicts[:3])}{' ...' if len(conflicts) > 3 else ''}); "
                                "choose another folder or pass overwrite=True (--force).")
    return skipped


# --------------------------------------------------------------------------
# One stack
# --------------------------------------------------------------------------

def _restore_here(model_dir: Path, jobs: list[dict], settings: dict, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    if not jobs:
        return []
    model = _load(model_dir, settings)
    with tqdm(jobs, desc="restoring", unit="stack", disable=not progress) as bar:
        return [_attempt(model, job) for job in bar]


def restore_task(job: dict) -> dict:
    """One Dask task: restore ``job``'s stack with this worker's cached model."""
    import_tensorflow_quietly()  # the worker's first task: without TensorFlow's start-up lines
    model = cluster.worker_cache((job["model_dir"], job["model_sha256"], job["settings"]["precision"]),
                                 lambda: _load(Path(job["model_dir"]), job["settings"]))
    return _attempt(model, job)


def _load(model_dir: Path, settings: dict):
    return load_model(model_dir, resolve_precision(settings["precision"])["used"])


def _attempt(model, job: dict, progress: bool = False) -> dict:
    """:func:`restore_one` (a volume: :func:`restore_volume_job`), with a mistake in this input reported, not raised."""
    try:
        return restore_volume_job(job, progress) if job["kind"] != "tiff" else restore_one(model, job)
    except (LumicareError, OSError) as err:
        if is_storage_failure(err):
            raise  # a full or read-only disk fails every later stack too: stop the run with one message
        message = str(err) if isinstance(err, LumicareError) else f"{err.strerror or err}: {err.filename or ''}"
        return {"input": job["input"], "status": "failed", "error": message}


def restore_one(model, job: dict) -> dict:
    """Restore one planned TIFF stack in memory and write its output(s) with their provenance."""
    t0 = time.perf_counter()
    settings, f = job["settings"], Path(job["input"])
    sha = input_sha256(job)
    if _made_already(job, sha):
        return {"input": job["input"], "status": "done", "output": job["output"], "scale": job["scale"],
                "seconds": 0.0}
    stack = read_stack(f)
    if stack.ndim != model.config.n_dim:
        raise UserInputError(f"{f}: has dims {stack.dims} (shape {stack.shape}); the model restores "
                             f"{model.config.n_dim}D single-channel stacks (Z, Y, X).")
    require_finite(stack.values, f)
    array, pixel_size_um = _upsampled(stack, settings["upsample_xy"])
    with cluster.one_at_a_time():
        mean, scale = _predict(model, array, settings)
    precision_record = resolve_precision(settings["precision"])
    try:
        _write(job, mean, scale, dict(stack.attrs.get("metadata") or {}), pixel_size_um,
               stack.attrs.get("z_step_um"), _provenance(job, sha, precision_record))
    except OutputExistsError:
        if not _made_already(job, sha):
            raise
        # Another run into the same folder restored this stack meanwhile, from the same input, model and
        # settings: its output is this one's, so the work is shared rather than refused.
    return {"input": job["input"], "status": "done", "output": job["output"], "scale": job["scale"],
            "shape": list(mean.shape), "precision": precision_record,
            "seconds": round(time.perf_counter() - t0, 3)}


def restore_volume_job(job: dict, progress: bool = False) -> dict:
    """Restore one volume (OME-Zarr or a folder of planes) block by block; its blocks are Dask tasks."""
    from . import blocks
    from .io import open_planes

    t0 = time.perf_counter()
    settings = job["settings"]
    if settings["upsample_xy"] != 1 or settings["normalization"] in (None, "fiji") or \
            settings["tiles"] not in (None, "auto"):
        raise UserInputError(f"{job['input']}: volumes are restored block by block with csbdeep's "
                             "normalization; --tiles, --normalize fiji and upsampling are for TIFF stacks.")
    sha = input_sha256(job)
    if _made_already(job, sha):
        return {"input": job["input"], "status": "done", "output": job["output"], "scale": None, "seconds": 0.0}
    data, attrs = open_planes(job["input"]) if job["kind"] == "planes" else omezarr.open_volume(job["input"])
    config = json.loads((Path(job["model_dir"]) / "config.json").read_text())
    block_zyx = tuple(settings.get("block_zyx") or blocks.block_for_memory(config, cluster.worker_memory_bytes(),
                                                                           data.shape))
    restored = blocks.restore_volume(job["model_dir"], data, block_zyx=block_zyx,
                                     normalization=tuple(settings["normalization"]),
                                     precision=settings["precision"])
    precision_record = resolve_precision(settings["precision"])
    provenance = _provenance(job, sha, precision_record)
    provenance["blocks"] = {"block_zyx": list(block_zyx), "halo_and_grid": list(blocks.halo_and_grid(config)),
                            "percentiles": "exact, whole volume"}
    _write(job, restored, None, attrs["metadata"], attrs["pixel_size_um"], attrs["z_step_um"], provenance,
           progress=progress)
    return {"input": job["input"], "status": "done", "output": job["output"], "scale": None,
            "shape": list(data.shape), "precision": precision_record,
            "seconds": round(time.perf_counter() - t0, 3)}


def _made_already(job: dict, sha: str) -> bool:
    """Whether every output of ``job`` exists with its identity, written after this run planned it.

    Dask runs a task again when its worker died after writing but before
    reporting; the rerun then finds the finished outputs and is done.
    """
    targets = [t for t in (job["output"], job["scale"]) if t]
    wanted = identity(job, sha)
    return all(_recorded_identity(t) == wanted for t in targets) and not job.get("overwrite")


def _provenance(job: dict, sha: str, precision_record: dict) -> dict:
    settings, versions = job["settings"], package_versions()
    return {
        "software": f"lumicare_ij {versions.get('lumicare_ij', '?')}", "created": _now(),
        "model_dir": str(Path(job["model_dir"]).resolve()), "regime": job.get("regime"),
        "preset": job.get("preset"), "input_file": str(Path(job["input"]).resolve()),
        "tiles_zyx": settings["tiles"], "normalization": _normalization_record(settings["normalization"]),
        "upsampled_xy": settings["upsample_xy"], "precision": precision_record, "versions": versions,
        "identity": identity(job, sha),
    }


def _write(job: dict, mean, scale, meta: dict, pixel_size_um, z_step_um, provenance: dict,
           progress: bool = False) -> None:
    """Write the mean (and scale) in the job's format, each with the provenance, atomically."""
    overwrite = bool(job.get("overwrite"))
    if job["format"] == "ome-zarr":
        omezarr.write_volume(job["output"], mean, pixel_size_um=pixel_size_um, z_step_um=z_step_um,
                             metadata={**meta, "restoration": {**provenance, "output": "mean"}},
                             pyramid_levels=job["pyramid_levels"], overwrite=overwrite, progress=progress)
        return
    common = {"pixel_size_um": pixel_size_um, "z_step_um": z_step_um, "overwrite": overwrite}
    if hasattr(mean, "compute"):  # a volume into one TIFF: held in memory
        mean = cluster.compute([mean], progress=progress)[0]
    write_stack(job["output"], mean, metadata={**meta, "restoration": {**provenance, "output": "mean"}}, **common)
    if scale is not None:
        write_stack(job["scale"], scale, metadata={**meta, "restoration": {**provenance, "output": "scale"}},
                    **common)


def _upsampled(stack, factor: int):
    """The stack's pixels (nearest-neighbour upsampled in XY by ``factor``) and their pixel size."""
    array, pixel_size_um = stack.values, stack.attrs.get("pixel_size_um")
    if factor > 1:
        from . import ijops

        array = ijops.upsample_nearest(array, (array.shape[0], array.shape[1] * factor, array.shape[2] * factor))
        pixel_size_um = pixel_size_um / factor if pixel_size_um else pixel_size_um
    return array, pixel_size_um


def _predict(model, array, settings: dict):
    if settings["normalization"] == "fiji":
        from .export.fiji_parity import predict_like_fiji

        return predict_like_fiji(model, array), None
    tiles = settings["tiles"]
    result = predict(model, array, tiles=tuple(tiles) if isinstance(tiles, list) else tiles,
                     normalization=settings["normalization"], return_scale=settings["save_scale"])
    return result if settings["save_scale"] else (result, None)


def _normalization_record(normalization) -> dict | None:
    if normalization == "fiji":
        return {"function": "CSBDeep Fiji plugin defaults (lumicare_ij.export.fiji_parity)",
                "pmin": 3.0, "pmax": 99.8, "percentiles": "nearest rank, whole image", "clamp_below_0": True,
                "undone_after_prediction": False, "tiling": "8 tiles, multiples of 32, overlap 32, mirror"}
    if normalization is None:
        return None
    return {"function": "csbdeep.data.PercentileNormalizer", "pmin": normalization[0],
            "pmax": normalization[1], "undone_after_prediction": True}


__all__ = ["restore_files", "input_files", "model_fingerprint", "identity", "restore_one", "restore_task"]
