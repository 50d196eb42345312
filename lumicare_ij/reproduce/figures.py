"""Figures like the paper's panels (matplotlib, PNG), one set per experiment.

- ``panels``: for one held-out stack, input | restoration | ground truth (and,
  for 2a, the eGFP image) with the binary masks of the experiment's
  segmentation below each, one row per test input (Figure 1a-c, 2a) or per
  treatment (Figure 2b). Stacks show the plane where the ground truth is
  brightest (in focus); mitochondria show the maximum projection, as analysed.
- ``readout``: bars of the readout (means over held-out stacks, dots per
  stack) for raw inputs and restorations, the technical noise as a line.
- ``classification`` (2b): mean circularity vs aspect ratio per image, DMSO
  and Rotenone, for ground truth, restoration and raw input, with the line
  that keeps all Rotenone cells on one side.
- ``artefacts``: restoration, the probabilistic network's scale map and the
  ground truth, and where their masks disagree (magenta: only in the
  restoration; green: only in the ground truth; white: both).

Each figure is written as PNG under ``<experiment>/figures/``; the report
embeds the same bytes as data URIs.
"""

from __future__ import annotations

import io as _bytesio
from pathlib import Path

import numpy as np

from .. import io as lio
from . import artefacts as art
from . import measure

DPI = 90
RAW_COLOUR = "#9a9a9a"
RESTORED_COLOUR = "#1f77b4"
NOISE_COLOUR = "#d62728"
DMSO_COLOUR = "#1f77b4"
ROTENONE_COLOUR = "#d62728"
#: Scale bars of the paper's figures.
SCALE_BAR_UM = {"cytoplasmic": 10.0, "h2b": 10.0, "tomm20": 5.0}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> Path:
    """Write a figure as PNG atomically (never a half-written file)."""
    buffer = _bytesio.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    _plt().close(fig)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    lio.atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), overwrite=True)
    return path


def _tight(fig) -> None:
    """Constrained layout: panels, their titles and the figure title without overlap or wasted space."""
    fig.set_layout_engine("constrained")


def _contrast(image: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(image, (0.5, 99.8))
    return float(lo), float(hi if hi > lo else lo + 1)


def _show(ax, image, title=None, cmap="gray", scale=None, vrange=None):
    if image.ndim == 2:
        lo, hi = vrange or _contrast(image)
        ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    if scale:
        um, px_size = scale
        if px_size:
            length = um / px_size
            h, w = image.shape[:2]
            if length < 0.6 * w:
                y = h - 0.06 * h
                ax.plot([w - 0.05 * w - length, w - 0.05 * w], [y, y], color="white", lw=2.5,
                        solid_capstyle="butt")


def _plane(readout: str, reference: np.ndarray) -> int | None:
    """The plane shown for stacks: where the ground truth is brightest; None: max projection."""
    if readout == "mito_morphology" or reference.ndim == 2:
        return None
    return int(np.argmax(reference.reshape(reference.shape[0], -1).mean(axis=1)))


def _view(image: np.ndarray, plane):
    image = np.asarray(image)
    if image.ndim == 2:
        return image
    return image.max(axis=0) if plane is None else image[plane]


def _example_rows(exp, results, data) -> list[tuple[str, str, object]]:
    """(row label, stack, arm) of the panels: one per arm, or per treatment for 2b."""
    stacks = results["stacks"]
    if exp.readout == "mito_morphology":
        rows = []
        for phenotype in ("dmso", "rotenone"):
            chosen = [s for s in stacks if data.phenotypes.get(s) == phenotype]
            if chosen:
                rows.append((phenotype.upper() if phenotype == "dmso" else "Rotenone", chosen[0], exp.arms[0]))
        return rows or [(stacks[0], stacks[0], exp.arms[0])]
    return [(arm.label, stacks[0], arm) for arm in exp.arms]


def _read(folder: Path, stack: str) -> np.ndarray:
    return lio.read_array(Path(folder) / f"{stack}.tif")


def _raw(results, arm, stack, shape) -> np.ndarray:
    from .experiments import _raw_at_reference_size

    folder = next(a["test_folder"] for a in results["arms"] if a["key"] == arm.key)
    return _raw_at_reference_size(_read(folder, stack), shape)


def draw_experiment(exp, results: dict, ctx) -> list[dict]:
    """Draw every figure of one experiment; return ``[{file, title, caption}]`` (paths relative to the experiment)."""
    out = ctx.exp_dir / "figures"
    figs = [_panels(exp, results, ctx, out / "panels.png"), _readout(exp, results, out / "readout.png")]
    if results.get("morphology"):
        figs.append(_classification(exp, results, out / "classification.png"))
    figs.append(_artefacts(exp, results, ctx, out / "artefacts.png"))
    return [f for f in figs if f]


def _panels(exp, results, ctx, path: Path) -> dict:
    plt = _plt()
    data, engine = ctx.data, ctx.settings.engine
    rows = _example_rows(exp, results, data)
    ref_stack = lio.read_stack(data.test_dir / exp.reference / f"{rows[0][1]}.tif")
    scale = (SCALE_BAR_UM.get(exp.specimen, 10.0), ref_stack.attrs.get("pixel_size_um"))
    extra = list(exp.show_also)
    n_img = 3 + len(extra)
    fig, axes = plt.subplots(2 * len(rows), n_img, figsize=(2.0 * n_img, 4.1 * len(rows)), squeeze=False)
    for r, (label, stack, arm) in enumerate(rows):
        reference = _read(data.test_dir / exp.reference, stack)
        plane = _plane(exp.readout, reference)
        raw = _raw(results, arm, stack, reference.shape)
        restored = _read(ctx.exp_dir / "restored" / arm.key, stack)
        images = [(f"input ({arm.test_input})", raw), ("restoration", restored),
                  (f"ground truth ({exp.reference})", reference)]
        images += [(cond, _read(data.test_dir / cond, stack)) for cond in extra]
        for c, (title, image) in enumerate(images):
            _show(axes[2 * r, c], _view(image, plane), title if r == 0 or exp.readout == "mito_morphology" else None,
                  scale=scale)
            mask = art.object_mask(exp.readout, image, engine=engine)
            _show(axes[2 * r + 1, c], _view(mask, plane).astype(np.float32), None, vrange=(0, 1))
        axes[2 * r, 0].set_ylabel(f"{label}\n{stack}", fontsize=8)
        axes[2 * r + 1, 0].set_ylabel("binary masks", fontsize=8)
    where = "maximum projection" if _plane(exp.readout, reference) is None else "brightest plane of the ground truth"
    fig.suptitle(f"{exp.figure}: {exp.title} ({where})", fontsize=10)
    _tight(fig)
    save_png(fig, path)
    bar = f"Scale bar {scale[0]:g} µm." if scale[1] else "No calibration: no scale bar."
    return {"file": f"figures/{path.name}", "title": "Input, restoration, ground truth and their masks",
            "caption": f"Held-out stacks. Binary images: the experiment's segmentation of each image "
                       f"({measure.READOUT_LABELS.get(exp.readout, exp.readout).split(';')[0]}). {bar}"}


def _bar_metric(ax, results, metric: str, label: str):
    summary = results["summary"]
    arms = results["arms"]
    x = np.arange(len(arms))
    for offset, kind, colour in ((-0.2, "raw", RAW_COLOUR), (0.2, "restored", RESTORED_COLOUR)):
        means = [summary.get(a["key"], {}).get(kind, {}).get(metric, {}).get("mean", np.nan) for a in arms]
        ax.bar(x + offset, means, width=0.38, color=colour, label="raw input" if kind == "raw" else "restoration")
        for i, a in enumerate(arms):
            values = summary.get(a["key"], {}).get(kind, {}).get(metric, {}).get("values", [])
            ax.scatter(np.full(len(values), x[i] + offset), values, s=10, color="black", zorder=3)
    noise = summary.get("technical noise", {}).get("technical noise", {}).get(metric)
    if noise:
        ax.axhline(noise["mean"], color=NOISE_COLOUR, ls="--", lw=1.2, label="technical noise (60 s vs 60 s)")
    ax.set_xticks(x)
    ax.set_xticklabels([a["label"] for a in arms], fontsize=7, rotation=15)
    ax.set_ylabel(label, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)


def _readout(exp, results, path: Path) -> dict:
    plt = _plt()
    metrics = list(results["readout_metrics"])
    if f"{exp.readout}_all_planes" in measure.READOUT_LABELS:
        metrics.append(f"{exp.readout}_all_planes")
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.5, 1.3 * len(results["arms"]) + 2.5) * len(metrics), 3.4),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _bar_metric(ax, results, metric, measure.READOUT_LABELS[metric].split(" (")[0]
                    + (" (in-focus planes)" if metric == exp.readout and metric != "mito_morphology" else ""))
    title = ("shape agreement with the fluorescence ground truth" if exp.readout == "mito_morphology"
             else measure.READOUT_LABELS[metrics[0]])
    fig.suptitle(f"{exp.figure}: {title}", fontsize=9)
    _tight(fig)
    save_png(fig, path)
    return {"file": f"figures/{path.name}", "title": "Readout",
            "caption": f"Means over {len(results['stacks'])} held-out stacks (dots: single stacks) against "
                       f"{exp.reference}."}


def _classification(exp, results, path: Path) -> dict:
    plt = _plt()
    morph = results["morphology"]
    kinds = [k for k in ("ground truth", "restored", "raw") if k in morph["separation"]]
    titles = {"ground truth": "fluorescence ground truth", "restored": "restoration", "raw": "raw 4 s input"}
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.6 * len(kinds), 3.4), squeeze=False, sharex=True, sharey=True)
    all_rows = [r for r in morph["rows"] if np.isfinite(r["mean_circularity"]) and np.isfinite(r["mean_aspect_ratio"])]
    xs = [r["mean_circularity"] for r in all_rows] or [0, 1]
    ys = [r["mean_aspect_ratio"] for r in all_rows] or [1, 3]
    xlim = (min(xs) - 0.05, max(xs) + 0.05)
    ylim = (min(ys) - 0.2, max(ys) + 0.2)
    for ax, kind in zip(axes[0], kinds):
        rows = [r for r in morph["rows"] if r["kind"] == kind]
        for phenotype, colour, label in (("dmso", DMSO_COLOUR, "DMSO"), ("rotenone", ROTENONE_COLOUR, "Rotenone")):
            sel = [r for r in rows if r.get("phenotype") == phenotype]
            ax.scatter([r["mean_circularity"] for r in sel], [r["mean_aspect_ratio"] for r in sel], s=22,
                       color=colour, label=label, edgecolor="black", linewidth=0.4)
        sep = morph["separation"][kind]
        line = sep["line"]
        if np.isfinite(line.get("a", np.nan)):
            gx = np.linspace(*xlim, 50)
            if abs(line["b"]) > 1e-12:
                ax.plot(gx, (line["c"] - line["a"] * gx) / line["b"], "k--", lw=1)
            else:
                ax.axvline(line["c"] / line["a"], color="black", ls="--", lw=1)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        mis = line.get("negatives_misplaced")
        ax.set_title(f"{titles[kind]}\nAUC linear (LOO) {sep['auc_linear_loo']:.2f}; "
                     f"line: {mis if mis is not None else '-'} DMSO misplaced", fontsize=8)
        ax.set_xlabel("mean circularity per image", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("mean aspect ratio per image", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Figure 2b: phenotype classification (dashed: the line keeping all Rotenone cells on one side)",
                 fontsize=9)
    _tight(fig)
    save_png(fig, path)
    return {"file": f"figures/{path.name}", "title": "Classification charts",
            "caption": "Each dot is one held-out cell (image). The dashed line is the straight line that keeps "
                       "every Rotenone cell on one side with the fewest DMSO cells on that side."}


def _artefacts(exp, results, ctx, path: Path) -> dict:
    plt = _plt()
    data, engine = ctx.data, ctx.settings.engine
    rows = _example_rows(exp, results, data)
    has_scale = bool(results["networks"]) and all(n.get("probabilistic") for n in results["networks"])
    cols = ["restoration", "scale (uncertainty)", "ground truth", "restoration vs ground truth masks"]
    if not has_scale:
        cols.remove("scale (uncertainty)")
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.3 * len(cols), 2.5 * len(rows)), squeeze=False)
    ref_stack = lio.read_stack(data.test_dir / exp.reference / f"{rows[0][1]}.tif")
    scale = (SCALE_BAR_UM.get(exp.specimen, 10.0), ref_stack.attrs.get("pixel_size_um"))
    counts = {(r["stack"], r["arm"], r["kind"]): r for r in results["artefacts"]["rows"]}
    for r, (label, stack, arm) in enumerate(rows):
        reference = _read(data.test_dir / exp.reference, stack)
        plane = _plane(exp.readout, reference)
        restored = _read(ctx.exp_dir / "restored" / arm.key, stack)
        images = {"restoration": restored, "ground truth": reference}
        scale_file = ctx.exp_dir / "restored" / arm.key / f"{stack}_scale.tif"
        if has_scale and scale_file.is_file():
            images["scale (uncertainty)"] = lio.read_array(scale_file)
        for c, col in enumerate(cols):
            ax = axes[r, c]
            if col == "restoration vs ground truth masks":
                m_test = _view(art.object_mask(exp.readout, restored, engine=engine), plane)
                m_ref = _view(art.object_mask(exp.readout, reference, engine=engine), plane)
                _show(ax, art.overlay(m_test, m_ref), col if r == 0 else None)
            elif col in images:
                _show(ax, _view(images[col], plane), col if r == 0 else None,
                      cmap="magma" if col.startswith("scale") else "gray", scale=scale)
            else:
                ax.axis("off")
        c = counts.get((stack, arm.key, "restored"), {})
        axes[r, 0].set_ylabel(f"{label}\n{stack}\nmerged {c.get('merged', '-')}, split {c.get('split', '-')}\n"
                              f"spurious {c.get('spurious', '-')}, missed {c.get('missed', '-')}",
                              fontsize=7)
    fig.suptitle(f"{exp.figure}: artefact check (magenta: only in restoration, green: only in ground truth)",
                 fontsize=9)
    _tight(fig)
    save_png(fig, path)
    note = ("The scale map is the per-pixel Laplace scale of the probabilistic network (brighter: less certain)."
            if has_scale else "The networks were not probabilistic: no scale map.")
    return {"file": f"figures/{path.name}", "title": "Artefact check",
            "caption": f"Spurious: objects of the restoration with less than {art.MIN_OVERLAP:.0%} of their pixels "
                       f"inside the ground truth's mask; missed: ground-truth objects with less than "
                       f"{art.MIN_OVERLAP:.0%} inside the restoration's mask; merged: ground-truth objects "
                       f"that one object of the restoration covers together (each by at least {art.MIN_OVERLAP:.0%}); "
                       f"split: ground-truth objects that two or more objects of the restoration cover so (2D objects counted plane by plane over the in-focus planes and summed; mitochondria: the projection). {note}"}
