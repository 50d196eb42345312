"""Evaluate restorations: the paper's readouts plus PSNR/SSIM/NRMSE, against references.

A typical evaluation compares, stack by stack, three things with the long
exposure (or fluorescence) reference:

- ``raw``: the short exposure the network was given,
- ``restored``: the network's output,
- ``technical noise``: a second reference acquisition of the same specimen
  (e.g. two consecutive 60 s images), the floor the paper compares against.

Image-quality metrics follow CARE's evaluation (Weigert et al. 2018): the
reference is percentile-normalized (csbdeep ``normalize``, 0.1/99.9), and each
test image is affinely rescaled to it with the least-squares fit
(csbdeep ``normalize_minmse``) before PSNR (data range 1), SSIM and NRMSE are
computed (SSIM is the mean over XY slices). The paper's readouts (mask MAE, nuclear Pearson, mitochondrial
shape) are computed on the raw values, as the paper did in Fiji: ImageJ 1.53t
operations (tested equal to the real jar) and the SNR plugin's and Coloc 2's
published formulas (not checked against the plugins).
"""

from __future__ import annotations

import csv
import io as _stringio
import json
import math
from pathlib import Path

import numpy as np

from . import analysis, cluster, objects
from . import io as lio
from .errors import InputNotFoundError, OutputExistsError, SomeInputsFailed, UserInputError

#: Readouts of the paper by specimen (the one each figure used).
READOUTS = {"cytoplasmic": "mask_mae", "h2b": "nuclear_pearson", "tomm20": "mito_morphology"}
#: Everything ``readouts`` may name: the paper's readouts and the object counts.
READOUT_CHOICES = ("mask_mae", "nuclear_pearson", "mito_morphology", "objects")
#: Particle size limit of the segmentation the object counts use (Figure 1's, px).
OBJECTS_MIN_SIZE_PX = 100
#: Whether a larger value of each metric is better (for summaries and verdicts).
HIGHER_IS_BETTER = {"mask_mae": False, "nuclear_pearson": True, "psnr": True, "ssim": True, "nrmse": False,
                    "mean_circularity": None, "mean_aspect_ratio": None, "merged": False, "split": False,
                    "spurious": False, "missed": False, "n_objects": None, "n_reference_objects": None}


def image_quality(test, reference) -> dict:
    """PSNR (dB), SSIM and NRMSE of ``test`` against ``reference`` after CARE's normalization."""
    from csbdeep.utils import normalize, normalize_minmse
    from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

    ref = normalize(np.asarray(reference, np.float32), 0.1, 99.9)
    fitted = normalize_minmse(np.asarray(test, np.float32), ref).astype(np.float32)
    return {
        "psnr": float(peak_signal_noise_ratio(ref, fitted, data_range=1.0)),
        # SSIM per XY slice, averaged: stacks of fewer than 7 slices have no 3D window.
        "ssim": float(np.mean([structural_similarity(r, f, data_range=1.0)
                               for r, f in zip(ref.reshape(-1, *ref.shape[-2:]),
                                               fitted.reshape(-1, *fitted.shape[-2:]))])),
        "nrmse": float(normalized_root_mse(ref, fitted)),
    }


def paper_readout(readout: str, test, reference, *, labels=None, engine: str = "numpy") -> dict:
    """One readout of ``test`` against ``reference`` (see :data:`READOUT_CHOICES`), as a dict of numbers.

    ``labels`` (the reference's object labels, e.g. a simulation's) are used
    by the ``objects`` readout only.
    """
    if readout == "mask_mae":
        value = analysis.mask_mae_between(reference, test, engine=engine)
        return {"mask_mae": float(value), "mask_mae_source": value.source}
    if readout == "nuclear_pearson":
        value = analysis.nuclear_pearson(test, reference, engine=engine)
        return {"nuclear_pearson": float(value), "nuclear_pearson_source": value.source}
    if readout == "mito_morphology":
        result = analysis.mito_morphology(test, engine=engine)
        return {"mean_circularity": result.mean_circularity, "mean_aspect_ratio": result.mean_aspect_ratio,
                "n_particles": result.n_particles}
    if readout == "objects":
        return object_counts(test, reference, labels, engine=engine)
    raise UserInputError(f"unknown readout {readout!r}; choose one of {', '.join(READOUT_CHOICES)}")


def object_counts(test, reference, labels=None, *, engine: str = "numpy") -> dict:
    """Merged, split, spurious and missed objects of ``test``, plane by plane (:mod:`lumicare_ij.objects`).

    Both images are segmented as in Figure 1 (16-bit, Mean dark threshold of
    each plane, particles >= :data:`OBJECTS_MIN_SIZE_PX`), the segmentation a
    Fiji user applies to a restoration. The reference's objects are its
    segmentation, split by ``labels`` where given (a simulation's object
    labels: touching nuclei stay two objects, so a restoration that joins
    them counts as merging). Counts are summed over the planes.
    """
    test_mask = analysis.cell_mask(test, OBJECTS_MIN_SIZE_PX, engine=engine) > 0
    ref_mask = analysis.cell_mask(reference, OBJECTS_MIN_SIZE_PX, engine=engine) > 0
    if labels is not None and np.shape(labels) != ref_mask.shape:
        raise lio.StackError(f"object labels of shape {np.shape(labels)} do not fit the reference "
                             f"{ref_mask.shape}; give the labels of the same stacks.")
    return objects.match_objects(test_mask, objects.reference_objects(ref_mask, labels),
                                 min_size_px=OBJECTS_MIN_SIZE_PX)


def evaluate_stack(test, reference, readouts=("mask_mae",), *, labels=None, engine: str = "numpy") -> dict:
    """All metrics of one test stack against its reference."""
    test = np.asarray(test)
    reference = np.asarray(reference)
    if test.shape != reference.shape:
        raise lio.StackError(f"test shape {test.shape} differs from reference shape {reference.shape}; "
                             "compare restorations with references of the same size.")
    row = image_quality(test, reference)
    for readout in readouts:
        row.update(paper_readout(readout, test, reference, labels=labels, engine=engine))
    return row


def evaluate_folders(reference_dir, compare: dict, readouts=("mask_mae",), *, labels_dir=None,
                     engine: str = "numpy", progress: bool = True, workers: int | None = None,
                     threads_per_worker: int = 1, scheduler: str | None = None,
                     memory_limit: str | None = "auto") -> list[dict]:
    """Evaluate several folders of stacks against a reference folder, matching file names.

    Parameters
    ----------
    reference_dir : path
        Reference stacks (e.g. ``lum_60s``).
    compare : dict
        ``{label: folder}``, e.g. ``{"raw": data/lum_0.5s, "restored": out/,
        "technical noise": data/lum_60s_rep2}``. Each folder must hold a file
        for every reference it is compared with (same name).
    readouts : tuple of str
        Any of :data:`READOUT_CHOICES`.
    labels_dir : path, optional
        Object labels of the reference stacks, same names (a simulation's
        ``labels/``), for the ``objects`` readout.
    workers, threads_per_worker, scheduler, memory_limit
        Evaluate as one Dask task per stack and label, on local worker
        processes or a running scheduler (see :func:`lumicare_ij.cluster.dask_client`).

    Returns
    -------
    list of dict rows: ``stack``, ``kind`` (the label) and the metrics, in
    the same order however they were computed.

    Raises
    ------
    SomeInputsFailed
        On workers: some stacks could not be evaluated (all others were);
        the message names each with its error. In one process the first
        such error is raised as it is.
    """
    from tqdm.auto import tqdm

    reference_dir = Path(reference_dir)
    refs = lio.list_stacks(reference_dir)
    if not refs:
        raise InputNotFoundError(f"no .tif files in the reference folder {reference_dir}")
    unknown = [r for r in readouts if r not in READOUT_CHOICES]
    if unknown:
        raise UserInputError(f"unknown readout {unknown[0]!r}; choose from {', '.join(READOUT_CHOICES)}")
    if labels_dir is not None and "objects" not in readouts:
        raise UserInputError("labels are used only by the 'objects' readout: add it (--readout objects) "
                             "or leave out the labels")
    label_files = _label_files(labels_dir, refs) if labels_dir is not None else {}
    jobs = []
    for label, folder in compare.items():
        folder = Path(folder)
        for ref in refs:
            test = _find_partner(folder, ref.stem)
            if test is None:
                raise InputNotFoundError(f"{folder} has no stack named like {ref.name} (looked for "
                                        f"{ref.stem}.tif and {ref.stem}*.tif); every compared folder "
                                        "needs one file per reference stack.")
            jobs.append({"input": str(test), "reference": str(ref), "kind": label, "readouts": list(readouts),
                         "labels": str(label_files[ref.stem]) if ref.stem in label_files else None,
                         "engine": engine})
    if cluster.wanted(workers, scheduler):
        with cluster.dask_client(workers, threads_per_worker, scheduler, memory_limit) as client:
            done = cluster.run_tasks(client, evaluate_job, jobs, desc="evaluate", progress=progress)
        if any(r["status"] == "failed" for r in done):
            raise SomeInputsFailed(done, "evaluations")
        return [r["row"] for r in done]
    rows = []
    with tqdm(jobs, desc="evaluate", unit="stack", disable=not progress) as bar:  # closed before any error shows
        for job in bar:
            rows.append(evaluate_job(job)["row"])
    return rows


def evaluate_job(job: dict) -> dict:
    """One stack against its reference (a Dask task, or a step of the serial loop): ``{"row": ...}``."""
    reference = lio.read_array(job["reference"])
    labels = lio.read_array(job["labels"]) if job["labels"] else None
    row = {"stack": Path(job["reference"]).stem, "kind": job["kind"]}
    row.update(evaluate_stack(lio.read_array(job["input"]), reference, tuple(job["readouts"]), labels=labels,
                              engine=job["engine"]))
    return {"input": job["input"], "status": "done", "row": row}


def _label_files(labels_dir, refs) -> dict:
    """``{stem: path}`` of the label image of every reference stack; one missing is an error."""
    labels_dir = Path(labels_dir)
    if not labels_dir.is_dir():
        raise InputNotFoundError(f"labels folder {labels_dir} does not exist; give the folder of the "
                                 "reference stacks' object labels (a simulation's labels/).")
    files = {}
    for ref in refs:
        # The exact name only: a prefix match could take cell10's labels for cell1.
        path = next((labels_dir / f"{ref.stem}{suffix}" for suffix in lio.TIFF_SUFFIXES
                     if (labels_dir / f"{ref.stem}{suffix}").is_file()), None)
        if path is None:
            raise InputNotFoundError(f"{labels_dir} has no labels for {ref.name}; every reference stack "
                                     "needs a label image of the same name.")
        files[ref.stem] = path
    return files


def _find_partner(folder: Path, stem: str) -> Path | None:
    exact = folder / f"{stem}.tif"
    if exact.is_file():
        return exact
    # Restorations are written as <stem>_restored.tif next to <stem>_scale.tif.
    candidates = [p for p in sorted(folder.glob(f"{stem}*.tif")) if not p.stem.endswith("_scale")]
    return candidates[0] if candidates else None


def summarize(rows: list[dict]) -> list[dict]:
    """Mean of every numeric metric per ``kind`` (raw, restored, technical noise, ...)."""
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    summary = []
    for kind in kinds:
        subset = [r for r in rows if r["kind"] == kind]
        entry = {"kind": kind, "n_stacks": len(subset)}
        for key, value in subset[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "n_particles":
                values = [r[key] for r in subset if isinstance(r.get(key), (int, float))]
                entry[key] = float(np.nanmean(values)) if values else math.nan
        summary.append(entry)
    return summary


def format_table(summary: list[dict]) -> str:
    """A plain-text table of :func:`summarize`'s rows, for the terminal."""
    if not summary:
        return "(nothing evaluated)"
    keys = [k for k in summary[0] if k not in ("kind",)]
    header = ["kind"] + keys
    lines = [header] + [[str(s["kind"])] + [_fmt(s.get(k)) for k in keys] for s in summary]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_results(rows: list[dict], out_dir, overwrite: bool = False) -> dict:
    """Write ``metrics.csv``, ``metrics.json`` (rows + summary) and ``summary.txt``; return paths."""
    out_dir = Path(out_dir)
    summary = summarize(rows)
    buffer = _stringio.StringIO()
    fields = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    texts = {"csv": (out_dir / "metrics.csv", buffer.getvalue()),
             "json": (out_dir / "metrics.json", json.dumps({"rows": rows, "summary": summary}, indent=2,
                                                           default=float)),
             "summary": (out_dir / "summary.txt", format_table(summary) + "\n")}
    if not overwrite:
        # The same evaluation again (a rerun, or one killed between its files) finds equal files: they count
        # as written. Anything else under these names is refused before a file is touched.
        differing = [str(path) for path, text in texts.values() if path.exists() and _text_of(path) != text]
        if differing:
            raise OutputExistsError(f"{', '.join(differing)} already exist(s) with other results; choose another "
                                    "folder or pass overwrite=True (--force on the command line) to replace them.")
    for path, text in texts.values():
        if overwrite or not path.exists():
            lio.atomic_write_text(path, text, overwrite=overwrite)
    return {key: path for key, (path, _) in texts.items()}


def _text_of(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")  # not read_text: it would turn the CSV's \r\n into \n
    except (OSError, UnicodeDecodeError):
        return None
