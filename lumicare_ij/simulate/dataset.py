"""Write a simulated dataset: one folder per condition (CSBDeep layout) plus a manifest.

::

    out_dir/
      manifest.json               every condition, stack and physics parameter
      ground_truth/<stack>.tif    noise-free photons/s per pixel (CZYX when 2 channels)
      labels/<stack>.tif          object labels (uint16)
      lum_60s/<stack>.tif         uint16 ADU, one folder per condition,
      lum_0.5s/<stack>.tif        the same file names in every folder
      ...
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import io
from ..atomic import is_temporary, remove_stale_parts_under
from ..errors import InputNotFoundError, OutputExistsError, UserInputError
from ..provenance import package_version
from .acquisition import optical_image, record_conditions, rng_for
from .camera import IXON_ULTRA_888, CameraSettings
from .optics import OBJECTIVES, psf_sigmas_um
from .protocols import SpecimenProtocol
from .specimens import get_protocol, make_specimen

UNFINISHED_NAME = ".lumicare-simulate-unfinished.json"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "lumicare-simulated-dataset"
MANIFEST_VERSION = 1
GROUND_TRUTH_DIR = "ground_truth"
LABELS_DIR = "labels"


def stack_names(protocol: SpecimenProtocol, n_stacks: int) -> list[tuple[str, str | None]]:
    """``(name, phenotype)`` of each stack; phenotypes alternate (dmso, rotenone, dmso, ...)."""
    out = []
    for i in range(n_stacks):
        phenotype = protocol.phenotypes[i % len(protocol.phenotypes)] if protocol.phenotypes else None
        out.append((f"{protocol.name}_{i:03d}" + (f"_{phenotype}" if phenotype else ""), phenotype))
    return out


def simulate_dataset(specimen, out_dir, n_stacks: int | None = None, shape_zyx=None, small: bool = False,
                     seed: int = 0, overwrite: bool = False, progress: bool = True, *,
                     camera: CameraSettings | None = None) -> dict:
    """Simulate every condition of ``n_stacks`` specimens and write them as ImageJ TIFFs.

    Parameters
    ----------
    specimen : str or SpecimenProtocol
        "cytoplasmic", "h2b", "tomm20" (see :data:`SPECIMENS`), or a modified protocol
        (other photon fluxes or conditions).
    out_dir : str or Path
        Created if needed; must be empty or new unless ``overwrite``. A
        folder that already holds this very simulation (same settings) is
        left as it is and its manifest returned; one that holds an
        interrupted run of it (killed, no manifest yet) is completed.
    n_stacks : int, optional
        Default: the paper's count (8, 14, 90), or the small count with ``small``.
    shape_zyx : tuple of int, optional
        Stack size in voxels; default the paper's ROI (``small``: a CPU-friendly size).
    small : bool
        Small defaults for demos and tests.
    seed : int
        Same seed, same files. Each stack and condition has its own random
        stream, so more stacks or other conditions leave existing images as they were.
    overwrite : bool
        Replace the files of an earlier simulation in ``out_dir`` (files that
        its manifest listed and this one does not are removed).
    progress : bool
        Show a progress bar.
    camera : CameraSettings, optional
        Default: the paper's iXon Ultra 888 at EM gain 300.

    Returns
    -------
    dict
        The manifest, also written to ``out_dir/manifest.json``.
    """
    protocol = get_protocol(specimen)
    camera = camera or IXON_ULTRA_888
    shape = tuple(int(s) for s in (shape_zyx or (protocol.small_shape_zyx if small else protocol.shape_zyx)))
    n_stacks = int(n_stacks if n_stacks is not None else (protocol.small_n_stacks if small else protocol.n_stacks))
    _check_request(protocol, shape, n_stacks)
    out_dir = Path(out_dir)
    manifest = _manifest_header(protocol, camera, shape, n_stacks, seed, small)
    finished = None if overwrite else _finished_manifest(out_dir, manifest)
    if finished is not None:  # this very simulation is already there (a rerun, or killed while tidying up)
        (out_dir / UNFINISHED_NAME).unlink(missing_ok=True)
        remove_stale_parts_under(out_dir)
        return finished
    previous_files, resuming = _prepare_out_dir(out_dir, overwrite, manifest)
    # Written first, removed last: a killed run's folder says what it was making, so the same call continues it.
    io.atomic_write_text(out_dir / UNFINISHED_NAME, json.dumps(manifest, indent=2) + "\n", overwrite=True)
    overwrite = overwrite or resuming  # the same seeds make the same files: the killed run's are replaced
    common = {"specimen": protocol.name, "seed": int(seed), "objective": manifest["objective"]["name"],
              "simulated": True, "simulator": "lumicare_ij.simulate"}
    names = stack_names(protocol, n_stacks)
    files_per_stack = len(protocol.conditions) + 2
    written: set[str] = set()
    with tqdm(total=n_stacks * files_per_stack, desc=f"simulate {protocol.name}", unit="file",
              disable=not progress) as bar:
        for index, (name, phenotype) in enumerate(names):
            bar.set_postfix_str(name)
            sample = make_specimen(protocol, shape, rng=rng_for(seed, protocol.name, index, "specimen"),
                                   phenotype=phenotype)
            stack_meta = {**common, "stack": name, "stack_index": index}
            if phenotype:
                stack_meta["phenotype"] = phenotype
            optical = {ch.name: optical_image(sample, ch.name) for ch in protocol.channels}
            entry = {"name": name, "index": index, "phenotype": phenotype, **sample.info,
                     "files": {}, "ground_truth_photons_per_s": _flux_summary(optical, sample.labels)}

            truth = np.stack([optical[ch.name] for ch in protocol.channels]) if len(optical) > 1 \
                else optical[protocol.channels[0].name]
            entry["files"]["ground_truth"] = _write(
                out_dir, GROUND_TRUTH_DIR, name, truth, sample.pixel_size_um, sample.z_step_um,
                {**stack_meta, **manifest["ground_truth"]}, overwrite, written)
            bar.update()
            entry["files"]["labels"] = _write(
                out_dir, LABELS_DIR, name, sample.labels, sample.pixel_size_um, sample.z_step_um,
                {**stack_meta, **manifest["labels"]}, overwrite, written)
            bar.update()

            for condition, image in record_conditions(sample, protocol.conditions, seed=seed, stack_index=index,
                                                      camera=camera, optical=optical):
                meta = {**stack_meta, **_flat_condition(manifest["conditions"][condition.name]),
                        **{f"camera.{k}": v for k, v in camera.to_dict().items()}}
                entry["files"][condition.name] = _write(
                    out_dir, condition.name, name, image, sample.pixel_size_um * condition.binning,
                    sample.z_step_um, meta, overwrite, written)
                bar.update()
            manifest["stacks"].append(entry)

    io.atomic_write_text(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n", overwrite=overwrite)
    (out_dir / UNFINISHED_NAME).unlink()
    for stale in sorted(previous_files - written):
        (out_dir / stale).unlink(missing_ok=True)
    return manifest


def read_manifest(out_dir) -> dict:
    """The manifest of a simulated dataset folder."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no manifest; is {out_dir} a folder written by simulate_dataset?")
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------

def _check_request(protocol: SpecimenProtocol, shape, n_stacks: int) -> None:
    if len(shape) != 3 or min(shape) < 1:
        raise UserInputError(f"shape_zyx must be three positive sizes (Z, Y, X); got {shape}")
    if n_stacks < 1:
        raise UserInputError(f"n_stacks must be >= 1; got {n_stacks}")
    biggest = max((c.binning for c in protocol.conditions), default=1)
    if min(shape[1:]) < biggest:
        raise UserInputError(f"{protocol.name} records {biggest}x{biggest} binned images, so Y and X must be at "
                         f"least {biggest} pixels; got shape_zyx={shape}")


def _prepare_out_dir(out_dir: Path, overwrite: bool, header: dict) -> tuple[set[str], bool]:
    """Check that ``out_dir`` may be written; return the files an earlier manifest listed, and whether
    ``out_dir`` holds an interrupted run of this very simulation (to be continued)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} is a file; give a folder for the dataset.")
    previous: set[str] = set()
    if out_dir.is_dir() and any(not is_temporary(p) for p in out_dir.iterdir()):
        if not overwrite:
            if _unfinished_request(out_dir) == _identity(header):
                remove_stale_parts_under(out_dir)
                return previous, True
            raise OutputExistsError(f"{out_dir} already contains files; choose a new folder or pass overwrite=True "
                                    "(--force) to replace the simulated files in it.")
        manifest_path = out_dir / MANIFEST_NAME
        if manifest_path.is_file():
            try:
                old = json.loads(manifest_path.read_text(encoding="utf-8"))
                previous = {f for s in old.get("stacks", []) for f in s.get("files", {}).values()}
            except (json.JSONDecodeError, AttributeError):
                previous = set()
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts_under(out_dir)
    return previous, False


def _finished_manifest(out_dir: Path, header: dict) -> dict | None:
    """The manifest in ``out_dir`` if it describes this very simulation, else None."""
    manifest = _read_json_object(out_dir / MANIFEST_NAME)
    if manifest is None or _identity({k: manifest.get(k) for k in header}) != _identity(header):
        return None
    return manifest


def _unfinished_request(out_dir: Path) -> dict | None:
    """What an interrupted simulation in ``out_dir`` was making (None: no such run, or finished)."""
    if (out_dir / MANIFEST_NAME).exists():
        return None
    marker = _read_json_object(out_dir / UNFINISHED_NAME)
    return None if marker is None else _identity(marker)


def _read_json_object(path: Path) -> dict | None:
    """The JSON object in ``path``; None if there is none, it is damaged, or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _identity(header: dict) -> dict:
    """A manifest header without what differs between two runs of the same simulation (the version line)."""
    return {k: v for k, v in header.items() if k not in ("created_by", "stacks")}


def _write(out_dir: Path, folder: str, name: str, data, pixel_size_um, z_step_um, metadata, overwrite, written) -> str:
    relative = f"{folder}/{name}.tif"
    metadata = {k: v for k, v in metadata.items() if k != "dir"}
    io.write_stack(out_dir / relative, data, pixel_size_um=pixel_size_um, z_step_um=z_step_um,
                   metadata=metadata, overwrite=overwrite)
    written.add(relative)
    return relative


def _flat_condition(condition: dict) -> dict:
    """A manifest condition as file metadata: scalar values, ``condition`` for its name."""
    flat = {k: v for k, v in condition.items() if k != "name" and not isinstance(v, (dict, list))}
    return {"condition": condition["name"], **flat}


def _flux_summary(optical: dict, labels: np.ndarray) -> dict:
    """Photon fluxes inside objects, so that a reader sees how bright the stack is."""
    inside = labels > 0
    summary = {}
    for channel, image in optical.items():
        values = image[inside] if inside.any() else image.ravel()
        summary[channel] = {"objects_median": round(float(np.median(values)), 4),
                            "objects_p99": round(float(np.percentile(values, 99)), 4),
                            "max": round(float(image.max()), 4)}
    return summary


def _manifest_header(protocol: SpecimenProtocol, camera: CameraSettings, shape, n_stacks: int, seed: int,
                     small: bool) -> dict:
    objective = OBJECTIVES[protocol.objective]
    channels = {}
    for ch in protocol.channels:
        sigma_z, sigma_xy = psf_sigmas_um(objective.numerical_aperture, ch.emission_wavelength_nm,
                                          objective.immersion_refractive_index)
        channels[ch.name] = {**ch.to_dict(), "psf_model": "gaussian (Zhang et al. 2007, widefield paraxial)",
                             "psf_sigma_xy_um": round(sigma_xy, 5), "psf_sigma_z_um": round(sigma_z, 5)}
    conditions = {}
    for cond in protocol.conditions:
        ch = protocol.channel(cond.channel)
        k = cond.binning
        conditions[cond.name] = {
            **cond.to_dict(), "dir": cond.name, "reporter": ch.reporter,
            "emission_wavelength_nm": ch.emission_wavelength_nm,
            "em_gain": camera.em_gain, "objective": objective.name,
            "numerical_aperture": objective.numerical_aperture,
            "pixel_size_um": objective.pixel_size_um * k, "z_step_um": objective.z_step_um,
            "shape_zyx": [shape[0], shape[1] // k, shape[2] // k],
            "dtype": "uint16" if camera.bit_depth == 16 else "uint8", "value_unit": "ADU",
            "bright_photons_per_pixel": ch.bright_photons_per_s * cond.exposure_s
            * (k * k if cond.binning_kind == "hardware" else 1),
            "seed": int(seed),
        }
    axes = "CZYX" if len(protocol.channels) > 1 else "ZYX"
    return {
        "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
        "created_by": f"lumicare_ij.simulate (lumicare-ij {package_version()}, numpy {np.__version__})",
        "specimen": protocol.name, "description": protocol.description,
        "seed": int(seed), "small": bool(small), "shape_zyx": list(shape), "n_stacks": n_stacks,
        "objective": {**objective.to_dict(), "key": protocol.objective},
        "pixel_size_um": objective.pixel_size_um, "z_step_um": objective.z_step_um,
        "camera": camera.to_dict(),
        "camera_model": ("photoelectrons ~ Poisson(QE * flux * exposure_s + dark_current * exposure_s + CIC), "
                         "summed over k x k pixels for hardware binning; EM output ~ Gamma(n, em_gain) "
                         "(0 if n = 0); ADU = round(baseline + (EM output + Normal(0, read_noise_e)) / "
                         "sensitivity_e_per_adu), clipped to the bit depth. Software binning: Fiji Bin "
                         "(average) of the read-out image of derived_from."),
        "channels": channels,
        "conditions": conditions,
        "ground_truth": {"dir": GROUND_TRUTH_DIR, "axes": axes, "channels": [c.name for c in protocol.channels],
                         "value_unit": "photons/s per pixel at the sensor (after optics, before QE)",
                         "dtype": "float32"},
        "labels": {"dir": LABELS_DIR, "axes": "ZYX", "labels_of": protocol.labels_of, "dtype": "uint16",
                   "value_unit": "object id (0 = background)"},
        "random_streams": ("numpy SeedSequence(seed, spawn_key=(crc32(specimen), stack index, "
                           "crc32('specimen' or condition name))); software-binned conditions reuse the "
                           "image of derived_from"),
        "stacks": [],
    }
